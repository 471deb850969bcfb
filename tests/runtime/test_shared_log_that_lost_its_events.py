"""A Redis restarted without its data mid-week (appendonly off: its operator's mistake, which deploy.md warns of):
every server on it held the day's events, and the log now holds none. The servers start over from the log, as
they must (a floor the log does not hold would be tapped on), but all a server said was `clinic_reloaded`, a
warning, as after any reload: the morning's patients gone from every wall and tablet, and nothing in the log
naming the loss, how much was lost, or why (a review of a clinic's week). It is an error naming the events
folded and the events the log holds, and what to do."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from structlog.testing import capture_logs

from floor.clock import ManualClock
from floor.core.commands import BookVisit, TakeStep
from floor.core.errors import Refusal
from floor.core.journey import Stage
from floor.fanout import Hub
from floor.log.redis import RedisLog
from floor.runtime import ClinicRuntime
from tests.support.clinics import quiet_clinic
from tests.support.redis_server import forget_prefix

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_server_whose_shared_log_lost_every_event_says_so_as_an_error(redis_url: str) -> None:
    prefix = f"test-lost-{uuid.uuid4().hex[:12]}"
    event_log = RedisLog(redis_url, prefix=prefix)
    await event_log.open()
    clock = ManualClock(dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC))
    runtime = ClinicRuntime(quiet_clinic(), event_log, clock, Hub())
    try:
        await runtime.start()
        visits = []
        for name in ("Ann Lee", "Bo Chen", "Cy Diaz"):
            answer = await runtime.handle(BookVisit(name, "kim", "follow", walk_in=True), "desk-ana", "tablet-1")
            visits.append(answer.touched.visit.id)
        await forget_prefix(redis_url, prefix)  # Redis restarted, without its data

        clock.advance(minutes=2)
        with capture_logs() as logs, pytest.raises(Refusal):
            await runtime.handle(TakeStep(visits[0], Stage.roomed, "e1"), "ma-ben", "tablet-1")
        assert runtime.floor.seq == 0 and not runtime.floor.visits  # started over from the log, as it holds it
        (lost,) = [e for e in logs if e["event"] == "log_lost_events"]
        assert lost["log_level"] == "error"
        assert (lost["clinic"], lost["folded"], lost["log_holds"], lost["lost"]) == ("riverside", 3, 0, 3)
        assert "persistence" in lost["meaning"] and "backup" in lost["meaning"]
    finally:
        await event_log.close()
        await forget_prefix(redis_url, prefix)
