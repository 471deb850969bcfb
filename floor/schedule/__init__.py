"""Schedule import: the day's appointments from the clinic's EHR (a CSV file or a FHIR R4 Bundle) onto
today's floor, through the clinic's runtime, so the HTTP route and `floor import` store alike.

Reading checks the whole file against the clinic; planning (floor.core.schedule) decides every event on a
copy of the floor; only then is anything stored. A file with any problem is refused whole.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from enum import StrEnum

from floor.config import Clinic
from floor.core.access import Role
from floor.core.commands import Tap
from floor.core.events import Event
from floor.core.floor import Floor
from floor.core.schedule import (
    Appointment,
    Planned,
    RowResult,
    ScheduleRefused,
    Summary,
    check,
    check_day,
    plan,
)
from floor.runtime import ClinicRuntime


class Format(StrEnum):
    csv = "csv"
    fhir = "fhir"


def format_of(content_type: str | None = None, filename: str | None = None, body: bytes = b"") -> Format | None:
    """By the media type (text/csv; application/fhir+json or application/json), else the file's name, else a
    look at its first character."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("text/csv", "application/csv"):
        return Format.csv
    if media in ("application/fhir+json", "application/json"):
        return Format.fhir
    if media and media not in ("application/octet-stream", "text/plain"):
        return None
    name = (filename or "").lower()
    if name.endswith(".csv"):
        return Format.csv
    if name.endswith(".json"):
        return Format.fhir
    return Format.fhir if body.lstrip()[:1] == b"{" else Format.csv


def read(body: bytes, kind: Format, clinic: Clinic, day: dt.date) -> list[Appointment]:
    """The file's appointments, checked against the clinic and the day; ScheduleRefused lists every problem."""
    if kind is Format.csv:
        from floor.schedule.csv_file import read_csv

        appointments, problems = read_csv(body, clinic, day)
    else:
        from floor.schedule.fhir_bundle import read_bundle  # the FHIR models load only when a Bundle comes

        appointments, problems = read_bundle(body, clinic, day)
    try:
        check(clinic, day, appointments)
    except ScheduleRefused as refused:
        problems += refused.problems
    if problems:
        # In file order: CSV lines, or Bundle entries (problems of the file as a whole first).
        raise ScheduleRefused(sorted(problems, key=lambda p: p.line or (p.entry + 1 if p.entry is not None else 0)))
    return appointments


async def import_schedule(runtime: ClinicRuntime, body: bytes, kind: Format, day: dt.date, actor: str,
                          device: str, role: Role | None = None) -> Summary:
    """Bring today's floor in line with the file. Raises ScheduleRefused (nothing stored) or a Refusal (a
    day other than today)."""
    # Before reading: a file for another day gets the answer about the day, not a problem on every row.
    check_day(runtime.clinic.day_of(runtime.clock.now()), day)
    # Parsing and validating a large Bundle takes a second or more: not on the loop every clinic shares.
    appointments = await asyncio.to_thread(read, body, kind, runtime.clinic, day)
    rounds: list[Planned] = []

    def decide(floor: Floor, tap: Tap) -> list[Event]:
        rounds.append(plan(floor, day, appointments, tap))
        return rounds[-1].events

    stored = await runtime.handle_all(decide, actor, device, role)
    summary = rounds[-1].summary
    if len(rounds) > 1:
        # Another server appended mid-import and the rest was planned again: rows stored in an earlier round
        # keep what they did then (the last round saw them as unchanged).
        earlier: dict[str, RowResult] = {r.rows[e.seq].external_id: r.rows[e.seq]
                                         for r in rounds[:-1] for e in stored if e.seq in r.rows
                                         and e in r.events}
        final = Summary(day)
        for row in summary.rows:
            final.count(earlier.get(row.external_id, row))
        summary = final
    summary.seq = runtime.floor.seq
    return summary


__all__ = ["Format", "ScheduleRefused", "format_of", "import_schedule", "read"]
