"""What several commands share: a line for the operator, and a clinic named by its file or its id."""

from __future__ import annotations

import sys
from pathlib import Path

from floor.config import Clinic, load_clinics
from floor.logging_setup import LOST_LINES
from floor.settings import Settings


def say(text: str) -> None:
    """A line for the operator on stderr (stdout is the command's output: an export, a list). One that cannot be
    written (stderr's disk full) is left out: a server started so stopped with a traceback nobody could read."""
    try:
        print(text, file=sys.stderr, flush=True)
    except OSError:
        LOST_LINES.add()


def clinic_named(name: str, settings: Settings) -> Clinic:
    """A clinic by its file, or by its id among the settings' clinic files ($FLOOR_CLINICS, else the demo
    clinic)."""
    if Path(name).exists():
        found = load_clinics([name])
        if len(found) == 1:
            return found[0]
        raise SystemExit(f"floor: {name} holds {len(found)} clinics; name one file")
    for clinic in load_clinics(list(settings.clinic_files)):
        if clinic.id == name:
            return clinic
    raise SystemExit(f"floor: no clinic {name!r} (give its TOML file, or set FLOOR_CLINICS)")
