"""Clinics for tests."""

from __future__ import annotations

import msgspec

from floor.config import Clinic, Thresholds, demo_clinic


def quiet_clinic() -> Clinic:
    """The demo clinic with alert thresholds nobody reaches, for tests about taps and the log alone (alerts
    are events too, and would take sequence numbers in between)."""
    return msgspec.structs.replace(demo_clinic(), thresholds=Thresholds(600, 600, 600, 600, 50, 600))
