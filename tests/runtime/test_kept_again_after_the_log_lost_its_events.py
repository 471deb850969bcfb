"""A Redis restarted without its data (appendonly off) takes with it what each day keeps beside the log: the
clinic file the day runs on and what the day learned. The server noticed the log's loss (`log_lost_events`) but kept
neither again until the next day: that day, read as a past day, was measured by whatever clinic file was running
and charted with the configured minutes (a review of a clinic's week). Both are kept again once the loss is
noticed. On a Redis of the test's own (a prefix of its own on the machine's), ticking fast on a still clinic clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from structlog.testing import capture_logs

from floor.clock import ManualClock
from floor.core.commands import BookVisit, TakeStep
from floor.core.errors import Refusal
from floor.core.journey import Stage
from floor.floors import Floors
from floor.log.redis import RedisLog
from floor.schedule.upcoming import RedisUpcoming
from tests.support.clinics import quiet_clinic
from tests.support.redis_server import forget_prefix

pytestmark = pytest.mark.anyio

CLINIC = "riverside"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _kept(upcoming: RedisUpcoming, day: dt.date, within: float = 10.0) -> bool:
    """Whether the day's clinic file and learning are both kept beside the log, waiting up to `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if await upcoming.clinic_on(CLINIC, day) is not None and await upcoming.learned_on(CLINIC, day) is not None:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_the_clinic_file_and_learning_are_kept_again_once_the_log_is_found_to_have_lost_them(
    redis_url: str,
) -> None:
    prefix = f"test-kept-{uuid.uuid4().hex[:12]}"
    clock = ManualClock(dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC))  # 09:00 at the clinic
    upcoming = RedisUpcoming(redis_url, prefix=prefix)
    floors = Floors([quiet_clinic()], RedisLog(redis_url, prefix=prefix), clock, tick_seconds=0.05, upcoming=upcoming)
    await floors.start()
    try:
        runtime = floors.get(CLINIC)
        day = runtime.floor.day
        assert await _kept(upcoming, day), "not kept at start"
        answer = await runtime.handle(BookVisit("Ann Lee", "kim", "follow", walk_in=True), "desk-ana", "tablet-1")
        await forget_prefix(redis_url, prefix)  # Redis restarted, without its data
        assert await upcoming.clinic_on(CLINIC, day) is None and await upcoming.learned_on(CLINIC, day) is None

        with capture_logs() as logs, pytest.raises(Refusal):
            await runtime.handle(TakeStep(answer.touched.visit.id, Stage.roomed, "e1"), "ma-ben", "tablet-1")
        (lost,) = [e for e in logs if e["event"] == "log_lost_events"]
        # What went with it that the server cannot put back is said (a schedule sent ahead was found gone next day).
        assert "schedules kept for days ahead" in lost["also_lost"] and "staff directory" in lost["also_lost"]
        assert "set appendonly yes" in lost["meaning"]
        assert await _kept(upcoming, day), "the day's clinic file and learning were not kept again"
    finally:
        await floors.stop()
        await forget_prefix(redis_url, prefix)
