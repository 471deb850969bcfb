"""A visit's plan, and the lateness chart, across a change of the clocks (a hostile review of time).

Booked times given as clinic time (the API's `start` without an offset, a CSV's bare HH:MM) are kept in memory
with the clinic's zone (`ZoneInfo`); Python adds minutes to such a time on the wall clock, not in real time.
Across the night the clocks go back, a visit booked at 01:55 had its provider due at 02:04 CST, an hour and
nine minutes later, on the server that booked it; a server that read the same visit from the log (a restart,
another server on Redis) has the booked time with a fixed offset and plans it at 01:04 CST. The lateness
chart steps from the session's opening the same way: it repeats half an hour the night they go forward and
skips the repeated hour the night they go back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from pathlib import Path

import msgspec

from floor.clock import ManualClock
from floor.config import AppointmentTime, Session
from floor.core.commands import BookVisit
from floor.core.projection import lateness_over_day, visit_plan
from floor.fanout import Hub
from floor.log.embedded import EmbeddedLog
from floor.runtime import ClinicRuntime
from tests.support.clinics import quiet_clinic

#: An overnight clinic (urgent care's night session) in America/Chicago.
NIGHT = msgspec.structs.replace(quiet_clinic(), session=Session(dt.time(0, 0), dt.time(6, 0)))
TZ = NIGHT.tz
FALL_BACK = dt.date(2026, 11, 1)  # 02:00 CDT -> 01:00 CST
SPRING_FORWARD = dt.date(2026, 3, 8)  # 02:00 CST -> 03:00 CDT
#: The demo clinic's follow-up: the provider is due roomed + prep_done = 6 + 3 minutes after the booked time.
FOLLOW_MINUTES = 9


async def _plan(tmp_path: Path, clock: ManualClock, book: BookVisit | None, clinic=NIGHT):
    log = EmbeddedLog(tmp_path)
    await log.open()
    try:
        runtime = ClinicRuntime(clinic, log, clock, Hub())
        await runtime.start()
        if book is not None:
            await runtime.handle(book, "desk-ana", "tablet-1")
        (visit,) = runtime.floor.visits.values()
        return visit.start, visit_plan(visit, clinic)
    finally:
        await log.close()


def test_a_visit_booked_at_01_55_the_night_the_clocks_go_back_is_due_nine_real_minutes_later(tmp_path: Path) -> None:
    clock = ManualClock(dt.datetime(2026, 11, 1, 0, 30, tzinfo=TZ).astimezone(dt.UTC))
    # 01:55 clinic time, the first time round (CDT), as the API takes a start without an offset.
    book = BookVisit("Ann Lee", "kim", "follow", start=dt.datetime(2026, 11, 1, 1, 55))
    start, booked_here = asyncio.run(_plan(tmp_path, clock, book))
    _, read_back = asyncio.run(_plan(tmp_path, clock, None))  # the same visit, as a restarted server has it

    due = start.astimezone(dt.UTC) + dt.timedelta(minutes=FOLLOW_MINUTES)
    assert read_back.provider_in.astimezone(dt.UTC) == due
    # The server that booked it planned the provider in an hour late: every lateness of that visit is an hour
    # short there (and two servers on one Redis disagree about it).
    assert booked_here.provider_in.astimezone(dt.UTC) == due, (
        f"planned {booked_here.provider_in.astimezone(dt.UTC):%H:%M} UTC on the server that booked it, "
        f"{read_back.provider_in.astimezone(dt.UTC):%H:%M} UTC read back from the log"
    )


def test_provider_time_visit_the_night_the_clocks_go_forward_is_roomed_nine_real_minutes_before(
    tmp_path: Path,
) -> None:
    clinic = msgspec.structs.replace(
        NIGHT, session=Session(dt.time(0, 0), dt.time(6, 0), appointment_time=AppointmentTime.provider)
    )
    clock = ManualClock(dt.datetime(2026, 3, 8, 0, 30, tzinfo=TZ).astimezone(dt.UTC))
    book = BookVisit("Bo Chen", "kim", "follow", start=dt.datetime(2026, 3, 8, 3, 5))  # 03:05 CDT
    start, booked_here = asyncio.run(_plan(tmp_path, clock, book, clinic))
    roomed = start.astimezone(dt.UTC) - dt.timedelta(minutes=FOLLOW_MINUTES)  # 01:56 CST
    assert booked_here.roomed.astimezone(dt.UTC) == roomed, (
        f"due to be roomed at {booked_here.roomed.astimezone(TZ):%H:%M %Z}, not {roomed.astimezone(TZ):%H:%M %Z}"
    )


def _instants(day: dt.date) -> list[dt.datetime]:
    until = NIGHT.local(day, NIGHT.session.closes)
    points = lateness_over_day(NIGHT, day, 0, [], until, dt.timedelta(minutes=30))
    return [at.astimezone(dt.UTC) for at, _ in points]


def test_lateness_chart_points_are_half_an_hour_apart_the_night_the_clocks_go_forward() -> None:
    instants = _instants(SPRING_FORWARD)
    gaps = {b - a for a, b in itertools.pairwise(instants)}
    # 00:00 CST to 06:00 CDT is five real hours: eleven points, each 30 minutes after the one before.
    assert gaps == {dt.timedelta(minutes=30)}, [f"{at.astimezone(TZ):%H:%M %Z}" for at in instants]


def test_lateness_chart_points_are_half_an_hour_apart_the_night_the_clocks_go_back() -> None:
    instants = _instants(FALL_BACK)
    gaps = {b - a for a, b in itertools.pairwise(instants)}
    # 00:00 CDT to 06:00 CST is seven real hours; the repeated hour (01:00 to 02:00 CST) was left out.
    assert gaps == {dt.timedelta(minutes=30)}, [f"{at.astimezone(TZ):%H:%M %Z}" for at in instants]
