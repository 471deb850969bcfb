"""A screen's `since` from yesterday is never resumed with today's events: it gets today's snapshot."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from floor.clock import ManualClock
from floor.config import demo_clinic
from floor.core.commands import BookVisit
from floor.fanout import Hub
from floor.log.embedded import EmbeddedLog
from floor.runtime import ClinicRuntime
from floor.wire import Audience

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_since_at_the_end_of_yesterday_gets_a_snapshot_of_today(tmp_path) -> None:
    clock = ManualClock(dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC))  # 14:00 in Chicago
    runtime = ClinicRuntime(demo_clinic(), EmbeddedLog(tmp_path), clock, Hub())
    await runtime.start()
    await runtime.handle(BookVisit("Ann Lee", "kim", "follow", walk_in=True), "fd", "t1")
    yesterday_last = runtime.floor.seq
    clock.advance(hours=12)  # 08:00 the next day
    await runtime.handle(BookVisit("Bo Chen", "kim", "follow", walk_in=True), "fd", "t1")
    assert runtime.floor.seq == yesterday_last + 1

    (item,) = runtime.catch_up(yesterday_last, Audience.staff)
    message = json.loads(item[1])
    assert message["kind"] == "snapshot"
    assert message["board"]["day"] == "2026-11-24"
    assert [v["patient_name"] for v in message["board"]["visits"]] == ["Bo Chen"]

    # Within today, resuming still sends just the missed events.
    await runtime.handle(BookVisit("Cy Diaz", "kim", "follow", walk_in=True), "fd", "t1")
    items = runtime.catch_up(yesterday_last + 1, Audience.staff)
    assert [json.loads(text)["kind"] for _, text in items] == ["event"]
    assert [seq for seq, _ in items] == [yesterday_last + 2]


async def test_a_screen_drawn_with_another_clinic_set_up_gets_a_snapshot_not_a_heartbeat(tmp_path) -> None:
    """After a restart with a changed clinic file, a screen in step (the same seq and mark) drew rooms and
    providers the clinic no longer has: its `setup` differs from the server's, so it is sent a snapshot."""
    clock = ManualClock(dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC))
    runtime = ClinicRuntime(demo_clinic(), EmbeddedLog(tmp_path), clock, Hub())
    await runtime.start()
    await runtime.handle(BookVisit("Ann Lee", "kim", "follow", walk_in=True), "fd", "t1")
    seq, setup = runtime.floor.seq, runtime.feed.setup

    def kinds(items) -> list[str]:
        return [json.loads(text)["kind"] for _, text in items]

    assert kinds(runtime.catch_up(seq, Audience.staff, setup=setup)) == ["heartbeat"]
    assert kinds(runtime.catch_up(seq, Audience.staff, setup="0" * 16)) == ["snapshot"]
    (snapshot,) = runtime.catch_up(seq, Audience.display, setup="0" * 16)
    assert json.loads(snapshot[1])["setup"] == setup
    other = ClinicRuntime(demo_clinic(), EmbeddedLog(tmp_path / "other"), clock, Hub())
    assert other.feed.setup == setup  # the same clinic file, the same set-up
