"""`floor export`: a clinic day as FHIR (Encounters or a MeasureReport) or CSV, on stdout."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path

from floor import bootstrap
from floor.cli.common import clinic_named, say
from floor.clock import Clock
from floor.settings import Settings, data_dir_flag, redis_flag


def add(e: argparse.ArgumentParser) -> None:
    """Declares the subcommand's flags on its parser (its name and help: floor/cli/__init__.py)."""
    e.description = "Reads the log without changing it: safe beside a running server."
    e.add_argument(
        "--clinic",
        required=True,
        metavar="FILE_OR_ID",
        help="the clinic's TOML file, or its id among $FLOOR_CLINICS (or the demo clinic)",
    )
    e.add_argument("--day", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD (default: today, clinic time)")
    e.add_argument(
        "--what",
        choices=["encounters", "measures", "measures-csv"],
        default="encounters",
        help="encounters: a FHIR Bundle of Encounters (default); measures: a FHIR MeasureReport; "
        "measures-csv: the measures as CSV",
    )
    data_dir_flag(e)
    redis_flag(e)
    e.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings, clock: Clock) -> None:
    from floor import export
    from floor.days import day_measures

    clinic = clinic_named(args.clinic, settings)
    today = clock.now().astimezone(clinic.tz).date()
    day = args.day or today
    where = "Redis" if settings.redis_url else str(Path(settings.data_dir) / clinic.id)
    # As the API answers (a review: a wrong --data-dir or --day exported a "complete" day of zeros, exit 0).
    if day > today:
        raise SystemExit(f"floor: {day} has not begun yet in {clinic.name} (today is {today}).")
    held = asyncio.run(bootstrap.log_days(settings, clinic.id))
    if day < today and (not held or day < held[0]):
        begins = f"its log begins on {held[0]}" if held else "it holds no day of this clinic"
        raise SystemExit(f"floor: no record of {day} for {clinic.id} in {where}: {begins}.")
    events = asyncio.run(bootstrap.day_events(settings, clinic.id, day))
    if events is None:
        say(f"floor: no events for {clinic.id} on {day} in {where}")
        events = []
    if day < today:
        clinic = asyncio.run(bootstrap.clinic_on(settings, clinic, day))  # as the day ran
    if args.what == "encounters":
        closed = day < today
        sys.stdout.buffer.write(export.to_json(export.encounters(clinic, day, events, closed)) + b"\n")
        return
    # Today's measures as they stand now; a past day's as it closed.
    now = clock.now() if day == today else None
    measures = day_measures(clinic, day, events, now)
    if args.what == "measures-csv":
        sys.stdout.write(export.measures_csv(clinic, day, measures, day < today))
    else:
        sys.stdout.buffer.write(export.to_json(export.measure_report(clinic, day, measures, day < today)) + b"\n")
