"""One server on the embedded log, restarted mid-morning. It learns the clinic's past days beside its start
(`Floors._learn_forever`); until then its floor expects the clinic file's minutes. Where the clinic's visits take
much longer than the file says, the cascade raised before the restart was cleared by the first review after it, and
raised again once the server had learned (a review of the alerts: the same cascade twice, the wall's red flickering
off and on). A restarted server reviews no alert until it has learned its day, on any log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from floor.clock import ManualClock
from floor.config import demo_clinic
from floor.core.commands import BookVisit, TakeStep
from floor.core.journey import Stage
from floor.fanout import Hub
from floor.log.base import Record
from floor.log.embedded import EmbeddedLog
from floor.runtime import ClinicRuntime
from tests.support.history import PastDay

pytestmark = pytest.mark.anyio

CLINIC = demo_clinic()
TODAY = dt.date(2026, 11, 23)  # a fixed clinic day: nothing here reads the date


def _cascade_story(server: ClinicRuntime) -> list[str]:
    cascades = {e.change.alert for e in server.events if e.type == "alert_raised" and e.change.kind == "cascade"}
    return [e.type for e in server.events if e.type in ("alert_raised", "alert_cleared") and e.change.alert in cascades]


async def test_a_server_restarted_before_it_has_learned_keeps_the_cascade_it_raised(tmp_path: Path) -> None:
    # 10 past days: Dr. Kim's follow-ups (12 minutes in the clinic file) take 40.
    log = EmbeddedLog(tmp_path)
    await log.open()
    seq = 0
    for n in range(10, 0, -1):
        day = PastDay(CLINIC, TODAY - dt.timedelta(days=n), base_seq=seq)
        for _ in range(6):
            day.seen("kim", "follow", with_provider=40)
        await log.append_all(CLINIC.id, [Record(e) for e in day.events])
        seq = day.events[-1].seq

    clock = ManualClock(CLINIC.local(TODAY, dt.time(8, 55)))
    server = ClinicRuntime(CLINIC, log, clock, Hub())
    await server.start()
    await server.learn()
    # Six follow-ups every 15 minutes from 09:00, all here; Dr. Kim walks in to the first at 09:00.
    visits = []
    for i in range(6):
        start = CLINIC.local(TODAY, dt.time(9)) + dt.timedelta(minutes=15 * i)
        v = (await server.handle(BookVisit(f"P{i}", "kim", "follow", start), "desk", "t1")).touched.visit.id
        await server.handle(TakeStep(v, Stage.arrived), "desk", "t1")
        visits.append(v)
    clock.set(CLINIC.local(TODAY, dt.time(9)))
    await server.handle(TakeStep(visits[0], Stage.roomed, room="e1"), "ma", "t2")
    await server.handle(TakeStep(visits[0], Stage.prep_done), "ma", "t2")
    await server.handle(TakeStep(visits[0], Stage.provider_in), "kim", "t3")
    for minute in range(20, 33, 4):
        clock.set(CLINIC.local(TODAY, dt.time(9, minute)))
        await server.review_alerts()
    assert _cascade_story(server) == ["alert_raised"]
    await server.settle()
    await log.close()

    # The restart: the same log, learning not done yet; reviews go on meanwhile.
    log = EmbeddedLog(tmp_path)
    await log.open()
    restarted = ClinicRuntime(CLINIC, log, clock, Hub())
    await restarted.start()
    for minute in range(33, 41, 2):
        clock.set(CLINIC.local(TODAY, dt.time(9, minute)))
        await restarted.review_alerts()
    assert _cascade_story(restarted) == ["alert_raised"], _cascade_story(restarted)
    await restarted.learn()
    for minute in range(41, 56, 2):
        clock.set(CLINIC.local(TODAY, dt.time(9, minute)))
        await restarted.review_alerts()
    assert _cascade_story(restarted) == ["alert_raised"], _cascade_story(restarted)
    await restarted.settle()
    await log.close()
