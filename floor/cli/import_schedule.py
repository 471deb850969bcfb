"""`floor import`: import a day's schedule from a CSV file or a FHIR R4 Bundle, through a clinic runtime of its
own on the log a server uses (with the embedded log, only while no server runs on the data directory)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path

from floor import bootstrap
from floor.cli.common import always, clinic_named
from floor.clock import Clock
from floor.config import Clinic
from floor.settings import Settings, data_dir_flag, redis_flag, replica_ack_flags


def add(im: argparse.ArgumentParser) -> None:
    """Declares the subcommand's flags on its parser (its name and help: floor/cli/__init__.py)."""
    im.description = (
        "Books, moves and cancels today's visits to match the file, or keeps a "
        "later day's file to book when that day opens (README, Schedule import). "
        "With the embedded log it refuses while a server runs on the data "
        "directory: import through the server's endpoint then."
    )
    im.add_argument("file", help="the schedule: a .csv file, or a .json FHIR Bundle of Appointments")
    im.add_argument(
        "--clinic",
        required=True,
        metavar="FILE_OR_ID",
        help="the clinic's TOML file, or its id among $FLOOR_CLINICS (or the demo clinic)",
    )
    im.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        default=None,
        help="the clinic day, YYYY-MM-DD: today (the default, clinic time) or a day ahead",
    )
    im.add_argument("--format", choices=["csv", "fhir"], default=None, help="default: by the file's name or content")
    data_dir_flag(im)
    redis_flag(im)
    replica_ack_flags(im)
    im.set_defaults(run=run, writes_data_dir=always)


def run(args: argparse.Namespace, settings: Settings, clock: Clock) -> None:
    from floor.core.errors import Refusal
    from floor.schedule import Format, ScheduleRefused, format_of, import_schedule

    clinic = clinic_named(args.clinic, settings)
    try:
        body = Path(args.file).read_bytes()
    except OSError as e:
        raise SystemExit(f"floor: cannot read {args.file}: {e.strerror}") from None
    kind = Format(args.format) if args.format else format_of(None, args.file, body)
    assert kind is not None
    day = args.date or clock.now().astimezone(clinic.tz).date()
    owner = None
    if not settings.redis_url:
        from floor.log.owner import hold

        owner = hold(settings.data_dir)
        if owner is None:
            media = "text/csv" if kind is Format.csv else "application/fhir+json"
            raise SystemExit(
                f"floor: a Floor server is running on {Path(settings.data_dir).resolve()}; two processes must not "
                "append to one embedded log, so nothing was imported. Import through the server (as a manager):\n"
                f"  curl -X POST -H 'Authorization: Bearer TOKEN' -H 'Content-Type: {media}' --data-binary "
                f"@{args.file} 'http://HOST:PORT/api/clinics/{clinic.id}/schedule?date={day}'"
            )
    try:
        summary = asyncio.run(_import(clinic, settings, clock, body, kind, day, import_schedule))
    except ScheduleRefused as refused:
        for p in refused.problems:
            print(f"{args.file}: {p.where}: {p.field + ': ' if p.field else ''}{p.message}", file=sys.stderr)
        raise SystemExit(f"floor: {refused.count} problem(s); nothing was imported") from None
    except Refusal as refusal:
        raise SystemExit(f"floor: {refusal.message}") from None
    finally:
        if owner is not None:
            owner.close()
    for row in summary.rows:
        if row.outcome.value != "unchanged":
            reason = f" ({row.reason})" if row.reason else ""
            print(f"{row.where}: {row.external_id} {row.outcome.value.replace('_', ' ')} {row.visit or ''}{reason}")
    if summary.books_at is not None:
        print(
            f"{clinic.id} {day}: kept; it is booked when the day opens ({summary.books_at:%Y-%m-%d %H:%M %Z}): "
            f"{summary.added} to add, {summary.cancelled} cancelled, {summary.no_show} no-show, "
            f"{summary.not_applied} not applied"
        )
        return
    print(
        f"{clinic.id} {day}: {summary.added} added, {summary.updated} updated, {summary.cancelled} cancelled, "
        f"{summary.no_show} no-show, {summary.unchanged} unchanged, {summary.not_applied} not applied "
        f"(log at seq {summary.seq})"
    )


async def _import(clinic: Clinic, settings: Settings, clock: Clock, body: bytes, kind, day: dt.date, import_schedule):
    """The import through a clinic runtime of its own on the same log a server uses, so it is decided and
    stored exactly as the HTTP endpoint does (Floor itself is the actor: no role check)."""
    from floor.fanout import Hub
    from floor.runtime import ClinicRuntime

    event_log, upcoming = bootstrap.event_log(settings, clinics=1), bootstrap.upcoming(settings)
    await event_log.open()
    await upcoming.open()
    try:
        runtime = ClinicRuntime(clinic, event_log, clock, Hub())
        await runtime.start()
        summary = await import_schedule(runtime, body, kind, day, "floor import", "cli", upcoming=upcoming)
        await runtime.settle()  # the alert review the import triggered, if any, is stored before closing
        return summary
    finally:
        await upcoming.close()
        await event_log.close()
