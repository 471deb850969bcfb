"""The schedule kept for a day is booked when the day opens, on whichever server's floor opens it: one whose clock
is a second behind another's follows the new day onto its floor before its clock reaches midnight, and books
the day's file as today's (the day is the floor's: floor.schedule `_today`), not refused as "too far ahead",
raised as an alert and dropped (a hostile review). A file refused for its day rather than for what it holds is
kept for the next try."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from structlog.testing import capture_logs

import floor.schedule
from floor.clock import ManualClock
from floor.core.access import Role
from floor.core.commands import BookVisit
from floor.core.errors import Refusal
from floor.fanout import Hub
from floor.log.embedded import EmbeddedLog
from floor.runtime import ClinicRuntime
from floor.schedule import Format, book_upcoming, import_schedule, withdraw_upcoming
from floor.schedule.upcoming import FileUpcoming
from tests.support.clinics import quiet_clinic

pytestmark = pytest.mark.anyio

DATA = Path(__file__).resolve().parent.parent / "data"
EVENING = dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.UTC)  # 18:30 on the 23rd in Chicago
MIDNIGHT = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)  # 00:00 on the 24th in Chicago
TOMORROW = dt.date(2026, 11, 24)
BOOKED = ["EHR-1001", "EHR-1002", "EHR-1003", "EHR-1004", "EHR-1006"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class SharedLog(EmbeddedLog):
    """One log both servers write to, as they share Redis."""

    shared = True


async def _evening(tmp_path: Path) -> tuple[ClinicRuntime, ClinicRuntime, FileUpcoming]:
    """Two servers in the evening, tomorrow's file kept (one store of kept schedules, as Redis is for both)."""
    event_log, upcoming = SharedLog(tmp_path), FileUpcoming(None)
    await event_log.open()
    a = ClinicRuntime(quiet_clinic(), event_log, ManualClock(EVENING), Hub(), kept=upcoming)
    b = ClinicRuntime(quiet_clinic(), event_log, ManualClock(EVENING), Hub(), kept=upcoming)
    await a.start()
    await b.start()
    body = (DATA / "schedule-riverside.csv").read_bytes()
    await import_schedule(a, body, Format.csv, TOMORROW, "mgr-dana", "t1", Role.manager, upcoming)
    return a, b, upcoming


def _booked(runtime: ClinicRuntime) -> list[str]:
    return sorted(v.external_id for v in runtime.floor.visits.values() if v.external_id)


async def test_a_server_a_second_behind_books_the_kept_schedule_once_its_floor_is_on_the_day(tmp_path: Path) -> None:
    a, b, upcoming = await _evening(tmp_path)
    b.clock.set(MIDNIGHT + dt.timedelta(seconds=1))
    a.clock.set(MIDNIGHT - dt.timedelta(seconds=1))
    b.tick()
    await b.handle(BookVisit("Night Walk", "kim", "follow", walk_in=True), "desk", "t2")  # the day's first event
    async with a.writer.lock:
        await a.writer.catch_up()  # A follows it: its floor is on the new day, its clock not yet
    assert a.floor.day == TOMORROW

    # Opened on A's floor: the day's schedule is no longer waiting, to be withdrawn there.
    with pytest.raises(Refusal, match="has opened"):
        await withdraw_upcoming(a, upcoming, TOMORROW, "mgr-dana", "t1")
    await book_upcoming(a, upcoming)  # A's tick
    assert _booked(a) == BOOKED
    assert a.floor.alerts == {}, "a schedule alert was raised over a file that was booked"
    assert await upcoming.days(a.id) == []


async def test_a_kept_schedule_refused_for_its_day_rather_than_its_rows_is_kept_for_the_next_try(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _, upcoming = await _evening(tmp_path)
    a.clock.set(MIDNIGHT + dt.timedelta(seconds=1))
    a.tick()
    check_day = floor.schedule.check_day

    def not_yet(today: dt.date, day: dt.date, ahead: int = 0) -> None:
        check_day(today - dt.timedelta(days=1), day, ahead)  # as a server whose day is still the one before

    monkeypatch.setattr(floor.schedule, "check_day", not_yet)
    with capture_logs() as logs:
        await book_upcoming(a, upcoming)
    assert [line["event"] for line in logs if "upcoming" in line["event"]] == ["upcoming_schedule_put_off"]
    assert await upcoming.days(a.id) == [TOMORROW], "a file refused for its day was dropped"
    assert a.floor.alerts == {} and a.floor.visits == {}

    monkeypatch.setattr(floor.schedule, "check_day", check_day)
    await book_upcoming(a, upcoming)  # the next tick
    assert _booked(a) == BOOKED and await upcoming.days(a.id) == []
