"""Two servers on one log as the clinic day turns over: one has opened the new day (its tick ran first, or its
clock is a little ahead), the other stores one more event of the day before (its clock a little behind, or a
tap or an alert review decided as the hour struck). Every server ends with the floor a server started now has
(`Writer.fold_stored`): the new day empty and beginning after that event. On each backend: the embedded log
shared in-process, and Redis with a log client per server."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import msgspec
import pytest

from floor.clock import ManualClock
from floor.core.commands import BookVisit, MarkRoom, TakeStep
from floor.core.events import AlertDetail, Event, RoomMarked
from floor.core.journey import Stage
from floor.core.rooms import RoomAction, RoomState
from floor.fanout import Hub
from floor.log.base import EventLog, Record
from floor.log.embedded import EmbeddedLog
from floor.log.redis import RedisLog
from floor.runtime import ClinicRuntime
from tests.support.clinics import quiet_clinic
from tests.support.redis_server import forget_prefix
from tests.support.waiting import until

pytestmark = pytest.mark.anyio

CLINIC = "riverside"
YESTERDAY, TODAY = dt.date(2026, 11, 23), dt.date(2026, 11, 24)
BEFORE_MIDNIGHT = dt.datetime(2026, 11, 24, 5, 59, 58, tzinfo=dt.UTC)  # 23:59:58 on the 23rd in Chicago
AFTER_MIDNIGHT = BEFORE_MIDNIGHT + dt.timedelta(seconds=3)  # 00:00:01 on the 24th
EVENING = BEFORE_MIDNIGHT - dt.timedelta(hours=6)

Logs = Callable[[], Awaitable[EventLog]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class SharedLog(EmbeddedLog):
    """One embedded log every server in the test writes to, as they share Redis."""

    shared = True


@pytest.fixture(params=["embedded", "redis"])
async def logs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Logs]:
    """Each call: the log as one more server sees it (the one shared log, or a Redis client of its own)."""
    opened: list[EventLog] = []
    prefix = f"test-midnight-{uuid.uuid4().hex[:10]}"
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    shared = SharedLog(tmp_path)

    async def one_more() -> EventLog:
        if request.param == "embedded":
            if not opened:
                await shared.open()
                opened.append(shared)
            return shared
        log = RedisLog(url, prefix=prefix)
        await log.open()
        opened.append(log)
        return log

    yield one_more
    for log in opened:
        await log.close()
    if request.param == "redis":
        await forget_prefix(url, prefix)


async def server(logs: Logs, now: dt.datetime) -> ClinicRuntime:
    runtime = ClinicRuntime(quiet_clinic(), await logs(), ManualClock(now), Hub())
    await runtime.start()
    return runtime


def state(runtime: ClinicRuntime) -> dict:
    """What a server's floor is, beside the clock: its day, where it begins and stands in the log, its board."""
    board = msgspec.to_builtins(runtime.board())
    del board["now"]
    return {"day": runtime.floor.day, "base": runtime.today.base, "seq": runtime.floor.seq, "board": board}


async def following(runtime: ClinicRuntime, done: Callable[[], bool], what: str) -> None:
    """Let `runtime` follow the log until `done`."""
    task = asyncio.create_task(runtime.follow(wait=0.05))
    try:
        await until(done, what, pause=0.01)
    finally:
        # Cancelled again until it ends: on Python 3.11 redis-py can lose a cancellation (floor.floors `_cancel`).
        while not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=0.1)


async def midnight_with_a_patient(logs: Logs) -> tuple[ClinicRuntime, ClinicRuntime, str]:
    """A and B serve the clinic in the evening, a walk-in waiting; then A's day turns over, B's not yet."""
    a, b = await server(logs, EVENING), await server(logs, EVENING)
    visit = (await b.handle(BookVisit("Ann Lee", "kim", "follow", walk_in=True), "desk", "t1")).touched.visit.id
    await following(a, lambda: a.floor.seq == 1, "A to fold the walk-in")
    b.clock.set(BEFORE_MIDNIGHT)
    a.clock.set(AFTER_MIDNIGHT)
    a.tick()
    assert a.floor.day == TODAY and b.floor.day == YESTERDAY
    return a, b, visit


async def test_a_step_stored_for_the_day_before_does_not_break_the_next_tap_of_a_server_past_midnight(
    logs: Logs,
) -> None:
    a, b, visit = await midnight_with_a_patient(logs)
    roomed = await b.handle(TakeStep(visit, Stage.roomed, room="e1", expected_version=1), "ma", "t2")
    assert (roomed.event.seq, roomed.event.day) == (2, YESTERDAY)

    # A, not following, is refused seq 2, takes in B's step and books the new day's first visit after it.
    first = await a.handle(BookVisit("Bo Chen", "kim", "follow", walk_in=True), "desk", "t3")
    assert (first.event.seq, first.event.day) == (3, TODAY)
    assert a.unfoldable == "" and [v.patient_name for v in a.floor.visits.values()] == ["Bo Chen"]
    assert a.floor.rooms["e1"].state is RoomState.ready
    assert await a.log.read_day(CLINIC, TODAY) == (2, a.events)
    fresh = await server(logs, AFTER_MIDNIGHT)
    assert state(a) == state(fresh)


async def test_a_follower_past_midnight_takes_in_a_step_of_the_day_before_and_stays_in_step(logs: Logs) -> None:
    a, b, visit = await midnight_with_a_patient(logs)
    a.learned_for = TODAY  # A learnt from its past days once its day opened (floor.floors), before B's step
    await b.handle(TakeStep(visit, Stage.roomed, room="e1", expected_version=1), "ma", "t2")
    await following(a, lambda: a.floor.seq == 2, "A to take in B's step")
    assert not a.stale and a.unfoldable == ""
    assert a.learned_for is None  # learnt again, with the day before as the log now holds it
    assert a.floor.day == TODAY and a.floor.visits == {} and a.today.base == 2
    fresh = await server(logs, AFTER_MIDNIGHT)
    assert state(a) == state(fresh)

    # The day before is read from the log as B stored it: the patient roomed in e1.
    assert (await a.board_on(YESTERDAY)).visits[0].room == "e1"
    # Both go on with the new day, each after the other (A's append is checked against B's step).
    await a.handle(BookVisit("Bo Chen", "kim", "follow", walk_in=True), "desk", "t3")
    b.clock.set(AFTER_MIDNIGHT)
    b.tick()
    await b.handle(BookVisit("Cy Diaz", "kim", "follow", walk_in=True), "desk", "t4")
    await following(a, lambda: a.floor.seq == 4, "A to fold B's walk-in")
    assert state(a) == state(b) == state(await server(logs, AFTER_MIDNIGHT))


async def test_a_room_blocked_just_before_midnight_is_not_kept_blocked_today_on_one_server_only(
    logs: Logs,
) -> None:
    a, b, _ = await midnight_with_a_patient(logs)
    await b.handle(MarkRoom("e2", RoomAction.blocked, reason="leak"), "ma", "t2")
    await following(a, lambda: a.floor.seq == 2, "A to take in B's room mark")
    b.clock.set(AFTER_MIDNIGHT)
    b.tick()
    c = await server(logs, AFTER_MIDNIGHT)
    # A new day opens with every room as the clinic file has it, on every server.
    assert {s.floor.rooms["e2"].state for s in (a, b, c)} == {RoomState.ready}
    assert state(a) == state(b) == state(c)
    assert next(r for r in (await c.board_on(YESTERDAY)).rooms if r.id == "e2").state is RoomState.blocked


async def test_an_alert_floor_stored_just_before_midnight_is_not_shown_today_on_one_server_only(logs: Logs) -> None:
    """Floor's own alert events are stored until midnight (a cascade kept up to date: floor/days.py), on any
    server: no clock need be off."""
    a, b, _ = await midnight_with_a_patient(logs)
    await b.raise_alert(b.floor.new_alert("schedule", AlertDetail(problems=["x"]), episode="schedule-x"))
    await following(a, lambda: a.floor.seq == 2, "A to take in B's alert")
    b.clock.set(AFTER_MIDNIGHT)
    b.tick()
    assert a.floor.alerts == b.floor.alerts == {}
    assert state(a) == state(b) == state(await server(logs, AFTER_MIDNIGHT))


async def test_an_event_of_the_day_before_stored_after_the_new_days_first_is_folded_into_the_new_day_everywhere(
    redis_url: str,
) -> None:
    """The log's order decides: a server loading the day reads the new day's stretch of the log (from its first
    event on), this event among them. Floor never stores one (a server that folded the new day's first event
    decides on it); a server following the log folds it where a fresh one does."""
    prefix = f"test-midnight-{uuid.uuid4().hex[:10]}"
    opened: list[RedisLog] = []

    async def one_more() -> EventLog:
        log = RedisLog(redis_url, prefix=prefix)
        await log.open()
        opened.append(log)
        return log

    try:
        a, b, _ = await midnight_with_a_patient(one_more)
        await a.handle(BookVisit("Bo Chen", "kim", "follow", walk_in=True), "desk", "t3")  # the new day's first
        late = Event(3, BEFORE_MIDNIGHT, YESTERDAY, "ma", "t2", 1, RoomMarked("e2", RoomAction.blocked, "leak"))
        await b.log.append(CLINIC, Record(late))  # written by hand, or by some other program
        await following(a, lambda: a.floor.seq == 3, "A to fold the late event")
        fresh = await server(one_more, AFTER_MIDNIGHT)
        assert a.floor.rooms["e2"].state is fresh.floor.rooms["e2"].state is RoomState.blocked
        assert state(a) == state(fresh)
    finally:
        for log in opened:
            await log.close()
        await forget_prefix(redis_url, prefix)
