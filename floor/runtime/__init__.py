"""The server's runtime around each clinic's pure floor (floor.core): see clinic.py for its parts."""

from floor.fanout import RESYNC
from floor.runtime.clinic import ClinicRuntime
from floor.runtime.writer import Answer, Idempotency

__all__ = ["RESYNC", "Answer", "ClinicRuntime", "Idempotency"]
