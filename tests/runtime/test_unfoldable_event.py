"""A shared log that holds an event this server cannot fold (a step on a visit never booked: written by hand, by a
newer Floor in a rolling upgrade, or by a server whose floor had diverged before marks were checked).

The floor's seq moved before the fold failed, so the next pass found nothing new and the clinic was live again,
its floor claiming a seq it never folded; a tap that met the event in its catch-up was a 500 (KeyError). Now the
floor stays where it was, the clinic stays stale with the reason (/readyz says it), and a tap is refused with it
(LogCorrupt: a 503 naming the event)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from floor.clock import ManualClock
from floor.core.commands import BookVisit
from floor.core.events import Event, StepTaken
from floor.core.journey import Stage
from floor.fanout import Hub
from floor.log.base import LogCorrupt, Record, mark
from floor.runtime import ClinicRuntime
from tests.runtime.test_ids_never_reused import LossyRedis, dwell_clinic

pytestmark = pytest.mark.anyio

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in Chicago


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def server(redis_url: str) -> AsyncIterator[ClinicRuntime]:
    """A server that folded a walk-in; another writer then stored a step on a visit never booked."""
    lossy = LossyRedis(redis_url)
    runtime = ClinicRuntime(dwell_clinic(), await lossy.open(), ManualClock(START), Hub())
    await runtime.start()
    await runtime.handle(BookVisit("Ann Lee", "kim", "follow", walk_in=True), "desk", "t1")
    other = await lossy.open()
    last = runtime.events[-1]
    unbooked = StepTaken("v-never-booked", Stage.roomed, Stage.arrived, room="e1")
    bad = Event(last.seq + 1, last.at + dt.timedelta(seconds=1), last.day, "ma", "t9", 1, unbooked)
    await other.append_all(runtime.id, [Record(bad)], mark(last))
    await other.close()
    try:
        yield runtime
    finally:
        await lossy.close()


def _whole(runtime: ClinicRuntime) -> bool:
    """The floor's seq is that of the last event it folded."""
    return runtime.floor.seq == runtime.today.base + len(runtime.events)


async def test_a_tap_that_meets_it_is_refused_naming_it_and_the_floor_stays_whole(server: ClinicRuntime) -> None:
    seq = server.floor.seq
    for _ in range(2):  # and again: the event is met again, not stepped over
        with pytest.raises(LogCorrupt) as refused:
            await server.handle(BookVisit("Bo Chen", "kim", "follow", walk_in=True), "desk", "t1")
        assert f"event at seq {seq + 1} (roomed" in str(refused.value) and "v-never-booked" in str(refused.value)
        assert _whole(server) and server.floor.seq == seq


async def test_a_follower_that_meets_it_keeps_the_clinic_stale_with_the_reason(server: ClinicRuntime) -> None:
    following = asyncio.create_task(server.follow(wait=0.1))
    try:
        await asyncio.sleep(1.0)  # several passes of the follower
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following
    assert _whole(server)
    assert server.stale and "cannot be folded" in server.today.unfoldable
