"""`floor replay`: what alerts Floor would have raised on a recorded day."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import msgspec

from floor.clock import Clock
from floor.config import load_clinics
from floor.settings import Settings


def add(r: argparse.ArgumentParser) -> None:
    """Declares the subcommand's flags on its parser (its name and help: floor/cli/__init__.py)."""
    r.add_argument("file", help="an embedded log day file (DATA/<clinic>/<day>.log) or a JSON array of events")
    r.add_argument(
        "--clinic",
        action="append",
        metavar="PATH",
        help="the clinic's TOML file, or a folder of them (default: $FLOOR_CLINICS, else the demo clinic)",
    )
    r.add_argument(
        "--no-history",
        action="store_true",
        help="do not learn from the day files before it in the same folder (as the server does)",
    )
    r.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings, clock: Clock) -> None:
    from floor.core.learned import EMPTY
    from floor.core.learning import LEARN_DAYS, Tally
    from floor.days import fold_day
    from floor.replay import read_events, replay

    path = Path(args.file)
    # An embedded log keeps a clinic's days in a folder named after it (DATA/<clinic>/<day>.log).
    folder = path.resolve().parent.name if path.suffix == ".log" and _day_of(path) is not None else None
    # As every command: --clinic, else $FLOOR_CLINICS, else the demo clinic (settings.py); it took the demo's
    # with $FLOOR_CLINICS set (an ops review).
    clinics = load_clinics(args.clinic or list(settings.clinic_files))
    clinic = next((c for c in clinics if c.id == folder), clinics[0])
    learned = EMPTY
    if folder is not None and folder != clinic.id:
        # Another clinic's day replayed under this file folds (Floor keeps what the file lacks), but says what
        # this clinic would have said.
        print(
            f"warning: {path} is in a folder named {folder!r}, and the clinic file is for {clinic.id!r}; "
            "give that day's clinic file with --clinic",
            file=sys.stderr,
        )
    if not args.no_history:
        # A day file of an embedded log: learn from the days before it in the same folder, as the server
        # learned when that day opened.
        day = _day_of(path)
        if day is not None:
            past = sorted(p for p in path.parent.glob("*.log") if _day_of(p) is not None and _day_of(p) < day)
            tally = Tally(clinic)
            for p in past[-LEARN_DAYS:]:
                events = read_events(p)
                if events:
                    tally.add(fold_day(clinic, _day_of(p), events))
            learned = tally.learned()
            print(f"learned from {len(learned.days)} past days", file=sys.stderr)
    lines, _ = replay(clinic, read_events(args.file), learned=learned)
    for line in lines:
        c = line.change
        what = getattr(c, "kind", "") or ""
        who = " ".join(f"{k}={v}" for k in ("provider", "visit", "stage") if (v := getattr(c, k, None)))
        detail = getattr(c, "detail", None)
        facts = "" if detail is None else " " + msgspec.json.encode(_rounded(msgspec.to_builtins(detail))).decode()
        print(f"{line.at.astimezone(clinic.tz):%H:%M} {type(c).__struct_config__.tag:14} {c.alert} {what} {who}{facts}")
    print(f"{len(lines)} alert changes", file=sys.stderr)


def _day_of(path: Path) -> dt.date | None:
    try:
        return dt.date.fromisoformat(path.stem)
    except ValueError:
        return None


def _rounded(value: object) -> object:
    """Minutes to a tenth, as a person reads them (27.1, not 27.099999999999998)."""
    if isinstance(value, float):
        return round(value, 1)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value
