"""Two servers on one Redis log, one that has learned the clinic's past days and one just restarted that has not
yet (it learns beside its start, `Floors._learn_forever`). Both review the alerts and store what they decide in the
shared log: where the clinic's visits take much longer than its file says, the learned one raised Dr. Kim's
cascade and the unlearned one cleared it, again and again (a hostile review: raised 09:24, cleared 09:24, raised
09:34). A server reviews no alert on a shared log until it has learned the clinic's day."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest

from floor.clock import ManualClock
from floor.config import demo_clinic
from floor.core.commands import BookVisit, TakeStep
from floor.core.journey import Stage
from floor.fanout import Hub
from floor.log.base import Record
from floor.log.redis import RedisLog
from floor.runtime import ClinicRuntime
from tests.support.history import PastDay
from tests.support.redis_server import forget_prefix

pytestmark = pytest.mark.anyio

CLINIC = demo_clinic()
TODAY = dt.date(2026, 11, 23)  # a fixed clinic day: nothing here reads the date


@pytest.fixture
async def logs(redis_url: str) -> AsyncIterator[list[RedisLog]]:
    prefix = f"test-learn-{uuid.uuid4().hex[:8]}"
    opened = [RedisLog(redis_url, prefix=prefix) for _ in range(2)]
    for log in opened:
        await log.open()
    try:
        yield opened
    finally:
        for log in opened:
            await log.close()
        await forget_prefix(redis_url, prefix)


def _cascade_story(server: ClinicRuntime) -> list[str]:
    """The raises and clears of the cascade alerts, in the order the log holds them."""
    cascades = {e.change.alert for e in server.events if e.type == "alert_raised" and e.change.kind == "cascade"}
    return [e.type for e in server.events if e.type in ("alert_raised", "alert_cleared") and e.change.alert in cascades]


async def test_a_server_that_has_not_learned_the_day_leaves_the_alerts_to_one_that_has(logs: list[RedisLog]) -> None:
    # 10 past days: Dr. Kim's follow-ups (12 minutes in the clinic file) take 40.
    seq = 0
    for n in range(10, 0, -1):
        day = PastDay(CLINIC, TODAY - dt.timedelta(days=n), base_seq=seq)
        for _ in range(6):
            day.seen("kim", "follow", with_provider=40)
        await logs[0].append_all(CLINIC.id, [Record(e) for e in day.events])
        seq = day.events[-1].seq

    clock = ManualClock(CLINIC.local(TODAY, dt.time(8, 55)))
    learned = ClinicRuntime(CLINIC, logs[0], clock, Hub())
    restarted = ClinicRuntime(CLINIC, logs[1], clock, Hub())
    await learned.start()
    await restarted.start()
    await learned.learn()  # the other has not learned yet

    # Six follow-ups every 15 minutes from 09:00, all here; Dr. Kim walks in to the first at 09:00.
    visits = []
    for i in range(6):
        start = CLINIC.local(TODAY, dt.time(9)) + dt.timedelta(minutes=15 * i)
        v = (await learned.handle(BookVisit(f"P{i}", "kim", "follow", start), "desk", "t1")).touched.visit.id
        await learned.handle(TakeStep(v, Stage.arrived), "desk", "t1")
        visits.append(v)
    clock.set(CLINIC.local(TODAY, dt.time(9)))
    await learned.handle(TakeStep(visits[0], Stage.roomed, room="e1"), "ma", "t2")
    await learned.handle(TakeStep(visits[0], Stage.prep_done), "ma", "t2")
    await learned.handle(TakeStep(visits[0], Stage.provider_in), "kim", "t3")

    # Reviews on both, a few minutes apart, 09:20 to 09:40; each catches up with the other's before it reviews.
    for minute in range(20, 41, 4):
        clock.set(CLINIC.local(TODAY, dt.time(9, minute)))
        for server in (learned, restarted):
            await server.writer.catch_up()
            before = server.floor.seq
            await server.review_alerts()
            if server is restarted:
                assert server.floor.seq == before, "a server that has not learned the day stored an alert change"
    await restarted.writer.catch_up()
    assert _cascade_story(learned) == ["alert_raised"], _cascade_story(learned)

    # Once it has learned, it reviews again, and agrees.
    await restarted.learn()
    clock.set(CLINIC.local(TODAY, dt.time(9, 44)))
    await restarted.review_alerts()
    await learned.writer.catch_up()
    assert _cascade_story(learned) == _cascade_story(restarted) == ["alert_raised"]
