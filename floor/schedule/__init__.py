"""Schedule import: the day's appointments from the clinic's EHR (a CSV file or a FHIR R4 Bundle) onto
today's floor, through the clinic's runtime, so the HTTP route and `floor import` store alike. A file for a
later day is checked now, kept (floor.schedule.upcoming) and booked when its day opens (`book_upcoming`).

Reading checks the whole file against the clinic; planning (floor.core.schedule) decides every event on a
copy of the floor; only then is anything stored. A file with any problem is refused whole.
"""

from __future__ import annotations

import asyncio
import codecs
import datetime as dt
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any, TypeVar

import msgspec
import structlog

from floor.collector import collections_paused
from floor.config import Clinic
from floor.core.access import Role
from floor.core.commands import Tap
from floor.core.errors import Refusal, Why
from floor.core.events import AlertDetail, Event
from floor.core.floor import Floor
from floor.core.schedule import (
    Appointment,
    DayRefused,
    Outcome,
    Planned,
    Problem,
    ScheduleRefused,
    Summary,
    check,
    check_day,
    plan,
)
from floor.core.text import line_breaks_as_one
from floor.runtime import ClinicRuntime
from floor.schedule.upcoming import ANYTHING, Replaces, Upcoming, UpcomingSchedule

log = structlog.get_logger("floor.schedule")
T = TypeVar("T")


#: Appointments one file may hold (a day of 40 providers with 50 visits each is 2,000).
MAX_APPOINTMENTS = 5000


class Format(StrEnum):
    csv = "csv"
    fhir = "fhir"


def format_of(content_type: str | None = None, filename: str | None = None, body: bytes = b"") -> Format | None:
    """By the media type (text/csv; application/fhir+json or application/json), else the file's name, else a
    look at its first character (after a byte-order mark, which Windows tools write)."""
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
    return Format.fhir if _as_utf_8(body).removeprefix(codecs.BOM_UTF8).lstrip()[:1] == b"{" else Format.csv


def read(body: bytes, kind: Format, clinic: Clinic, day: dt.date) -> list[Appointment]:
    """The file's appointments, checked against the clinic and the day; ScheduleRefused lists every problem."""
    body = _as_utf_8(body)
    if (other := _the_other_format(body, kind)) is not None:
        raise ScheduleRefused([other])
    if kind is Format.csv:
        from floor.schedule.csv_file import read_csv

        appointments, problems = read_csv(body, clinic, day)
    else:
        from floor.schedule.fhir_bundle import read_bundle  # the FHIR models load only when a Bundle comes

        appointments, problems = read_bundle(body, clinic, day)
    # A note's line breaks however the file wrote them: a file saved again on Windows changed every note of two lines.
    appointments = [msgspec.structs.replace(a, notes=line_breaks_as_one(a.notes)) for a in appointments]
    if len(appointments) > MAX_APPOINTMENTS:
        # A day of a large clinic is a few hundred; tens of thousands is the wrong file (a month, every clinic).
        raise ScheduleRefused(
            [
                Problem(
                    "the file",
                    f"{len(appointments)} appointments is more than one clinic's day "
                    f"(at most {MAX_APPOINTMENTS}): send one clinic's schedule for {day}",
                )
            ]
        )
    try:
        check(clinic, day, appointments)
    except ScheduleRefused as refused:
        problems += refused.problems
    if problems:
        # In file order: CSV lines, or Bundle entries (problems of the file as a whole first).
        raise ScheduleRefused(
            _listed(sorted(problems, key=lambda p: p.line or (p.entry + 1 if p.entry is not None else 0))),
            len(problems),
        )
    return appointments


def _as_utf_8(body: bytes) -> bytes:
    """UTF-16 with its byte-order mark (Windows PowerShell's `>` and Out-File, Excel's "Unicode Text") as UTF-8:
    refused as "not UTF-8 (byte 0xFF)", a scripted export had to be converted by hand (a hostile review). Without
    a mark, or not UTF-16 after all, the body is read as it came (and refused as not UTF-8, naming where)."""
    if body[:2] not in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return body
    try:
        return body.decode("utf-16").encode()
    except UnicodeDecodeError:
        return body


def _the_other_format(body: bytes, kind: Format) -> Problem | None:
    """A file sent as the other format (README's curl line for day.csv reused for the Bundle, its `Content-Type`
    left as it was): the Bundle read as CSV was six messages about unknown and missing columns, the CSV read as
    JSON "invalid character (byte 0)"; neither said why (a hostile review)."""
    text = body.removeprefix(b"\xef\xbb\xbf").lstrip()
    if kind is Format.csv and text[:1] in (b"{", b"["):
        is_, sent, name, media = "JSON (a FHIR Bundle?)", "CSV", ".json", "application/fhir+json"
    elif kind is Format.fhir and text[:1] not in (b"{", b"[") and b"," in text.split(b"\n", 1)[0]:
        is_, sent, name, media = "CSV", "a FHIR Bundle", ".csv", "text/csv"
    else:
        return None
    why = f"the file is {is_}, sent as {sent}: name it {name}, or send it with Content-Type: {media}"
    return Problem("file", why, "Content-Type")


#: The most problems of a refused file listed one by one; the rest are counted. A month's export with 12-hour times
#: listed 69,726 alike, and 2 million bad lines made a 174 MB answer (a hostile review).
MAX_PROBLEMS_LISTED = 200


def _listed(problems: list[Problem]) -> list[Problem]:
    if len(problems) <= MAX_PROBLEMS_LISTED:
        return problems
    rest = len(problems) - MAX_PROBLEMS_LISTED
    return [
        *problems[:MAX_PROBLEMS_LISTED],
        Problem("the file", f"and {rest} more problems like these: fix the ones above and check the file again"),
    ]


#: How many days ahead a schedule is taken: it waits (floor.schedule.upcoming) until its day opens.
DAYS_AHEAD = 31
#: The type floor_taps counts imports under (one per file).
IMPORT = "schedule_import"
#: Problems a schedule alert lists (the first of them; the server's log has them all).
MAX_ALERT_PROBLEMS = 10


async def import_schedule(
    runtime: ClinicRuntime,
    body: bytes,
    kind: Format,
    day: dt.date,
    actor: str,
    device: str,
    role: Role | None = None,
    upcoming: Upcoming | None = None,
    check: bool = False,
    before_store: Callable[[], Awaitable[None]] | None = None,
    replaces: Replaces = ANYTHING,
) -> Summary:
    """Bring today's floor in line with the file, or (given `upcoming`) keep a later day's file for that day.
    Raises ScheduleRefused (nothing stored) or a Refusal (a past day, or too far ahead). With `check`, the file
    is read and planned exactly the same way but nothing is stored: the summary says what importing it would do
    (`checked` is true). `before_store`: awaited, under the clinic's lock, once today's file is planned and
    before it is stored (each try); raising, it stores nothing (`book_upcoming`: the file is still the one kept).
    """
    if check:
        return await _check(runtime, body, kind, day, actor, device, role, upcoming)
    with runtime.metrics.tap(IMPORT):
        summary = await _import(runtime, body, kind, day, actor, device, role, upcoming, before_store, replaces)
    runtime.metrics.answered(IMPORT)
    return summary


async def _import(
    runtime: ClinicRuntime,
    body: bytes,
    kind: Format,
    day: dt.date,
    actor: str,
    device: str,
    role: Role | None,
    upcoming: Upcoming | None,
    before_store: Callable[[], Awaitable[None]] | None,
    replaces: Replaces = ANYTHING,
) -> Summary:
    today, appointments = await _read(runtime, body, kind, day, upcoming)
    if day > today:
        assert upcoming is not None
        summary = await _plan_ahead(runtime, day, appointments, Tap(actor, device, runtime.clock.now(), role))
        kept = UpcomingSchedule(
            runtime.id, day, kind.value, body, len(appointments), runtime.clock.now(), actor, device
        )
        if not await upcoming.put(kept, replaces):
            # Another manager kept a file for the day (or withdrew the one seen) after this one was checked: the
            # check's "replaces it" was about a file no longer there, and keeping this one would throw theirs
            # away unseen (a review of the console).
            raise _changed_since(runtime, day, await upcoming.get(runtime.id, day), "replaces", "Nothing was kept")
        log.info(
            "schedule_kept_for_its_day",
            clinic=runtime.id,
            day=str(day),
            appointments=len(appointments),
            actor=actor,
            device=device,
        )
        summary.seq = runtime.floor.seq
        return summary
    rounds: list[Planned] = []

    def decide(floor: Floor, tap: Tap) -> list[Event]:
        with collections_paused():
            rounds.append(plan(floor, day, appointments, tap))
        return rounds[-1].events

    superseded = False

    async def supersede() -> None:
        # A file kept for today and not booked yet (the server was down at midnight, or its booking was put off)
        # is older than this one: booked after it, it moved patients back (a review). Forgotten once this one is
        # planned and before it is stored, so a booking of it that read it already (this server's tick, or
        # another server's) finds it gone when it comes to store, after planning on a floor that has this file's
        # events or before storing them (a hostile review: forgotten after storing, it was booked over this
        # one). This file failing to be stored then leaves neither: the manager, answered 503, sends it again.
        nonlocal superseded
        if upcoming is not None and not superseded:
            superseded = True
            if await upcoming.remove(runtime.id, day):
                log.info("upcoming_schedule_superseded", clinic=runtime.id, day=str(day), actor=actor, device=device)
        if before_store is not None:
            await before_store()

    # Planned again (against the floor as it then is) if another server appended first: only the last plan
    # was stored, and a plan from the floor makes every row's outcome what the file did to it.
    await runtime.handle_all(decide, actor, device, role, supersede)
    summary = rounds[-1].summary
    summary.seq = runtime.floor.seq
    return summary


async def _check(
    runtime: ClinicRuntime,
    body: bytes,
    kind: Format,
    day: dt.date,
    actor: str,
    device: str,
    role: Role | None,
    upcoming: Upcoming | None,
) -> Summary:
    today, appointments = await _read(runtime, body, kind, day, upcoming)
    if day > today:
        # A day ahead is planned on that day's empty floor.
        summary = await _plan_ahead(runtime, day, appointments, Tap(actor, device, runtime.clock.now(), role))
        summary.seq = runtime.floor.seq
    else:
        # Planned as an import plans it: in a thread, on today's floor held still under the clinic's lock (plan
        # decides on a copy, never changing the floor it is given). Planned on the loop, a 5,000-row file stalled
        # every clinic's taps and screens for half a second at each check (a hostile review).
        def decide(floor: Floor, tap: Tap) -> Summary:
            summary = _paused(plan)(floor, day, appointments, tap).summary
            summary.seq = floor.seq  # nothing stored: the seq of the floor it was checked against
            return summary

        summary = await runtime.consider(decide, actor, device, role)
    summary.checked = True
    return _no_ids_drawn_yet(summary)


async def _read(
    runtime: ClinicRuntime, body: bytes, kind: Format, day: dt.date, upcoming: Upcoming | None
) -> tuple[dt.date, list[Appointment]]:
    """Today, and the file's appointments for `day` (refused first if `day` is not one the file may be for)."""
    today = _today(runtime)
    # Before reading: a file for another day gets the answer about the day, not a problem on every row.
    check_day(today, day, DAYS_AHEAD if upcoming is not None else 0)
    # Parsing and validating a large Bundle takes a second or more: not on the loop every clinic shares.
    return today, await asyncio.to_thread(_paused(read), body, kind, runtime.clinic, day)


def _today(runtime: ClinicRuntime) -> dt.date:
    """The clinic day a file for today is booked on: the floor's, or the clock's once that is later (the floor
    opens it before booking: `Writer.roll_day`). Not the clock's alone: a server whose clock is a moment behind
    another's follows the new day onto its floor before its clock reaches it, and the day's kept schedule,
    booked as today's (`book_upcoming`), was refused there as too far ahead and dropped (a hostile review)."""
    return max(runtime.floor.day, runtime.clinic.day_of(runtime.clock.now()))


async def _plan_ahead(runtime: ClinicRuntime, day: dt.date, appointments: list[Appointment], tap: Tap) -> Summary:
    """What a later day's file will do on its day, planned on that day's empty floor (nobody can book ahead
    otherwise), and when it will be booked."""
    planned = await asyncio.to_thread(
        _paused(plan), Floor(runtime.clinic, day, ids=runtime.ids), day, appointments, tap
    )
    planned.summary.books_at = runtime.clinic.local(day, dt.time(0))
    return _no_ids_drawn_yet(planned.summary)


def _no_ids_drawn_yet(summary: Summary) -> Summary:
    """A plan that books nothing now (a check, a day kept ahead) names no visit it would add: a visit's id is
    drawn when it is booked, so the one its plan drew is never a visit's (the check of a file named v9jb... for a
    row its import then booked as vhc3..., and `floor import` of a day ahead printed ids no visit would have).
    The visits a row would move, cancel or leave as they are exist, and are named."""
    summary.rows = [
        msgspec.structs.replace(row, visit=None) if row.outcome is Outcome.added else row for row in summary.rows
    ]
    return summary


def _paused(work: Callable[..., T]) -> Callable[..., T]:
    def run(*args: Any) -> T:
        with collections_paused():
            return work(*args)

    return run


class _Superseded(Exception):
    """The kept file being booked is no longer the one kept: a file imported for its day since replaced it."""


async def book_upcoming(runtime: ClinicRuntime, upcoming: Upcoming) -> None:
    """The clinic day has opened: book the schedule kept for it, as the manager who sent it, and forget it.
    Schedules kept for days gone by (the server was down all day) are dropped, and said so. A file the
    clinic can no longer take (a provider removed since) is dropped, and raised as a `schedule` alert on the
    managers' screens; one the log cannot store now, or refused for its day rather than for what it holds (this
    server's clock and floor not yet there), stays for the next try."""
    today = _today(runtime)
    for day in await upcoming.days(runtime.id):
        if day < today:
            await upcoming.remove(runtime.id, day)
            log.error(
                "upcoming_schedule_expired",
                clinic=runtime.id,
                day=str(day),
                reason="its day passed before this server could book it",
            )
        elif day == today and (kept := await upcoming.get(runtime.id, day)) is not None:
            # Forgotten only once booked: a server stopping midway books it again at its start (the same file
            # again changes nothing). A manager cannot withdraw it once its day has opened (floor/web/schedule.py).
            problems: list[str] = []

            async def still_kept(day: dt.date = day, kept: UpcomingSchedule = kept) -> None:
                # Planning a day's file takes a while, and a file imported for today meanwhile (on any server)
                # forgets this one before storing its own: checked again once planned, just before storing.
                if await upcoming.get(runtime.id, day) != kept:
                    raise _Superseded

            try:
                summary = await import_schedule(
                    runtime,
                    kept.body,
                    Format(kept.format),
                    day,
                    kept.staged_by,
                    kept.device,
                    Role.manager,
                    before_store=still_kept,
                )
            except _Superseded:
                log.info(
                    "upcoming_schedule_not_booked",
                    clinic=runtime.id,
                    day=str(day),
                    reason="a file imported for the day since supersedes it",
                )
                continue
            except DayRefused as refusal:
                # About the day, not the file (it was checked when it came): kept, for the next tick.
                log.warning("upcoming_schedule_put_off", clinic=runtime.id, day=str(day), reason=refusal.message)
                continue
            except ScheduleRefused as refused:
                problems = [f"{p.where}: {p.field + ': ' if p.field else ''}{p.message}" for p in refused.problems]
            except Refusal as refusal:
                problems = [refusal.message]
            else:
                log.info(
                    "upcoming_schedule_booked",
                    clinic=runtime.id,
                    day=str(day),
                    added=summary.added,
                    updated=summary.updated,
                    cancelled=summary.cancelled,
                    seq=summary.seq,
                )
            if problems:
                log.error(
                    "upcoming_schedule_refused",
                    clinic=runtime.id,
                    day=str(day),
                    problems=problems,
                    staged_by=kept.staged_by,
                )
                # The managers see it on their screen the morning it matters, not only in a server log.
                detail = AlertDetail(problems=problems[:MAX_ALERT_PROBLEMS])
                # One alert for the day's schedule however many servers try: the day is the episode.
                await runtime.raise_alert(runtime.floor.new_alert("schedule", detail, episode=f"schedule-{day}"))
            await upcoming.remove(runtime.id, day)


async def withdraw_upcoming(
    runtime: ClinicRuntime,
    upcoming: Upcoming,
    day: dt.date,
    actor: str,
    device: str,
    kept_at: dt.datetime | None = None,
) -> None:
    """Forget the schedule kept for `day`, only while its day has not opened: once it has, the schedule is being
    booked or was (a withdrawal then was answered 204 while every visit was booked: a hostile review), and what
    is on the floor is changed there, or by importing a corrected file for today. `kept_at`: when the file the
    manager saw was kept (its `staged_at`); a file kept since, another manager's, is not withdrawn with it (a
    late Withdraw took the newer file away: a review of the console)."""
    if day <= _today(runtime):
        raise Refusal(
            Why.illegal_step,
            f"{day} has opened: its schedule is booked on the floor, not waiting; cancel visits there, or import "
            "a corrected file for today.",
            field="date",
        )
    if kept_at is None:
        removed = await upcoming.remove(runtime.id, day)
    else:
        seen = await upcoming.get(runtime.id, day)
        removed = seen is not None and seen.staged_at == kept_at and await upcoming.remove(runtime.id, day, only=seen)
        now = None if removed else await upcoming.get(runtime.id, day)
        if now is not None:
            raise _changed_since(runtime, day, now, "kept_at", "Nothing was withdrawn")
    if not removed:
        raise Refusal(Why.not_found, f"No schedule is waiting for {day} in {runtime.clinic.name}.", field="date")
    log.info("upcoming_schedule_withdrawn", clinic=runtime.id, day=str(day), actor=actor, device=device)


def _changed_since(
    runtime: ClinicRuntime, day: dt.date, now: UpcomingSchedule | None, field: str, nothing: str
) -> Refusal:
    """The file kept for `day` is not the one the manager saw: what is kept now, in words."""
    if now is None:
        what = "the file kept then was withdrawn and none is kept now"
    else:
        what = (
            f"it is now a file of {now.appointments} appointments kept at "
            f"{runtime.clinic.local_text(now.staged_at)} by {now.staged_by}"
        )
    return Refusal(
        Why.stale_version,
        f"The schedule kept for {day} changed since: {what}. {nothing}; look at it again first.",
        field=field,
    )


__all__ = [
    "DAYS_AHEAD",
    "Format",
    "ScheduleRefused",
    "book_upcoming",
    "format_of",
    "import_schedule",
    "read",
    "withdraw_upcoming",
]
