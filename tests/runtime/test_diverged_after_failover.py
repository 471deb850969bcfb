"""Two servers on one Redis log, and a failover that loses the tail one of them had folded.

A replica promoted before it received seq n+1 (a walk-in server A stored and folded) takes another server's
event at n+1. Comparing seqs alone, A never noticed: it went on showing a patient the log does not hold, stored a
step on that patient at n+2 (201), and the other servers could no longer fold the log (a hostile review of the
Redis backend). Each stream entry now keeps its event's mark and the one before it: A's next append is refused
`diverged`, its follower and its catch-up find the same, and A starts over from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable

import msgspec
import pytest

from floor.clock import ManualClock
from floor.core.commands import BookVisit, TakeStep
from floor.core.errors import Refusal, Why
from floor.core.journey import Stage
from floor.fanout import Hub
from floor.log.base import NotReplicated, mark, wall_mark
from floor.log.replicas import ReplicaAck
from floor.runtime import ClinicRuntime, Idempotency
from floor.wire import Audience
from tests.runtime.test_ids_never_reused import LossyRedis, dwell_clinic

pytestmark = pytest.mark.anyio

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in Chicago


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def lossy(redis_url: str):
    log = LossyRedis(redis_url)
    try:
        yield log
    finally:
        await log.close()


async def _two_servers(lossy: LossyRedis, clock: ManualClock) -> tuple[ClinicRuntime, ClinicRuntime]:
    servers = []
    for _ in range(2):
        server = ClinicRuntime(dwell_clinic(), await lossy.open(), clock, Hub())
        await server.start()
        servers.append(server)
    return servers[0], servers[1]


async def _walk_in(server: ClinicRuntime, name: str) -> str:
    return (await server.handle(BookVisit(name, "kim", "follow", walk_in=True), "desk", "t1")).touched.visit.id


async def _follow_until(server: ClinicRuntime, done: Callable[[], bool]) -> None:
    """The server follows the log until `done` (at most five seconds)."""
    following = asyncio.create_task(server.follow(wait=0.1))
    try:
        for _ in range(100):
            if done():
                break
            await asyncio.sleep(0.05)
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following


async def _diverged(lossy: LossyRedis) -> tuple[ClinicRuntime, ClinicRuntime, str, str, int]:
    """Server A folded a walk-in at n+1 that a failover lost; server B stored another at n+1 since. Returns A, B,
    the lost visit, the one stored instead, and n + 1."""
    clock = ManualClock(START)
    a, b = await _two_servers(lossy, clock)
    await _walk_in(a, "Kept")
    await b.writer.catch_up()
    await lossy.keep()  # the replica has this much
    clock.advance(seconds=5)
    phantom = await _walk_in(a, "Phantom")  # acknowledged by the master, never replicated
    seq = a.floor.seq
    await lossy.lose()  # the failover
    clock.advance(seconds=5)
    real = await _walk_in(b, "Real")
    assert b.floor.seq == seq and a.floor.seq == seq  # the same seq, another event: seqs alone cannot tell
    assert phantom in a.floor.visits and real not in a.floor.visits
    return a, b, phantom, real, seq


async def test_a_server_holding_an_event_a_failover_lost_is_refused_and_starts_over_from_the_log(
    lossy: LossyRedis,
) -> None:
    a, b, phantom, real, seq = await _diverged(lossy)

    # A's next tap on the lost patient: the log is not A's floor; A starts over and finds no such visit.
    with pytest.raises(Refusal) as refused:
        await a.handle(TakeStep(phantom, Stage.roomed, room="e1"), "ma", "t2")
    assert refused.value.why is Why.not_found
    assert phantom not in a.floor.visits and real in a.floor.visits
    assert a.floor.seq == seq

    # A's taps go on, on top of the log, and B folds them as it should.
    await a.handle(TakeStep(real, Stage.roomed, room="e1"), "ma", "t2")
    await b.writer.catch_up()
    assert b.floor.visits[real].stage is Stage.roomed
    assert b.floor.seq == a.floor.seq == seq + 1


async def test_a_follower_that_meets_the_log_going_on_from_another_event_starts_over(lossy: LossyRedis) -> None:
    a, b, phantom, real, seq = await _diverged(lossy)
    await b.handle(TakeStep(real, Stage.roomed, room="e1"), "ma", "t2")  # seq n+2, on top of REAL

    await _follow_until(a, lambda: real in a.floor.visits)
    assert phantom not in a.floor.visits
    assert a.floor.visits[real].stage is Stage.roomed
    assert a.floor.seq == seq + 1 and not a.stale


async def test_catching_up_finds_it_too(lossy: LossyRedis) -> None:
    a, b, phantom, real, seq = await _diverged(lossy)
    await b.handle(TakeStep(real, Stage.roomed, room="e1"), "ma", "t2")
    await a.writer.catch_up()
    assert phantom not in a.floor.visits and a.floor.visits[real].stage is Stage.roomed
    assert a.floor.seq == seq + 1


async def test_the_retry_of_a_tap_answered_unconfirmed_that_a_failover_then_lost_is_stored(lossy: LossyRedis) -> None:
    """A tap stored on the primary and answered 503 (no replica confirmed it) is on this server's floor; the
    failover loses it. Its retry with the same Idempotency-Key was refused against that floor (the visit 'is
    roomed'), and the tap was lost. The floor starts over from the log first, and the retry is stored."""
    clock = ManualClock(START)
    a, b = await _two_servers(lossy, clock)
    visit = await _walk_in(a, "Ann Lee")
    await b.writer.catch_up()
    await lossy.keep()
    a.writer.log.replica_ack = ReplicaAck(replicas=1, timeout_ms=50)  # this Redis has no replica: never confirmed
    room = TakeStep(visit, Stage.roomed, room="e1")
    key = Idempotency("tablet-1:0001", "sha256:room-ann")
    with pytest.raises(NotReplicated):
        await a.handle(room, "ma", "t2", key)
    assert a.floor.visits[visit].stage is Stage.roomed and a.floor.seq == 2
    await lossy.lose()  # the failover: the log is at seq 1 again, the receipt gone
    a.writer.log.replica_ack = ReplicaAck()
    again = await a.handle(room, "ma", "t2", key)
    assert not again.replayed and again.event.seq == 2
    await b.writer.catch_up()
    assert b.floor.visits[visit].stage is Stage.roomed and b.floor.seq == 2


async def test_a_server_whose_folded_tap_the_log_lost_and_nobody_followed_starts_over_while_following(
    lossy: LossyRedis,
) -> None:
    """Nobody stores after the failover: the follower sees the log behind this floor and starts over."""
    clock = ManualClock(START)
    a, _ = await _two_servers(lossy, clock)
    await _walk_in(a, "Kept")
    await lossy.keep()
    phantom = await _walk_in(a, "Phantom")
    await lossy.lose()
    await _follow_until(a, lambda: phantom not in a.floor.visits)
    assert phantom not in a.floor.visits and a.floor.seq == 1


async def test_a_divergence_across_midnight_is_found_by_the_new_days_first_append(lossy: LossyRedis) -> None:
    """The failover loses the last day's last event; another server's first event of the new day is stored at its
    seq. The new day's floor carries the mark of the last day's last event, so this server's first append of the
    day is refused and it starts over (before, it stored on top and never showed the other server's first)."""
    clock = ManualClock(START + dt.timedelta(hours=8, minutes=30))  # 17:30 in Chicago
    a, b = await _two_servers(lossy, clock)
    await _walk_in(a, "Kept")
    await b.writer.catch_up()
    await lossy.keep()
    await _walk_in(a, "Phantom")
    await lossy.lose()
    clock.advance(hours=15)  # 08:30 the next morning
    a.tick()
    b.tick()
    morning = await _walk_in(b, "Morning")
    other = await _walk_in(a, "Other")
    assert set(a.floor.visits) == {morning, other} and a.floor.seq == 3
    await b.writer.catch_up()
    assert set(b.floor.visits) == {morning, other}


def _kinds(items: list[tuple[int, str]]) -> list[str]:
    return [msgspec.json.decode(text)["kind"] for _, text in items]


async def test_a_screen_that_saw_the_lost_event_resumes_from_a_snapshot_not_on_top_of_it(lossy: LossyRedis) -> None:
    """A screen on A applied the walk-in the failover lost (seq n+1), lost its socket, and comes back to B with
    since=n+1. By seq alone it was in step (a heartbeat, nothing more): the lost patient stayed on its board and
    the one B stored at n+1 never came. With the mark of the event it has there, it gets B's board."""
    a, b, phantom, real, seq = await _diverged(lossy)
    seen = a.today.held  # the mark of the update the screen applied last: the lost walk-in's
    assert seen != b.today.held

    items = b.catch_up(seq, Audience.staff, seen)
    assert _kinds(items) == ["snapshot"]
    snapshot = msgspec.json.decode(items[0][1])
    assert snapshot["mark"] == b.today.held and snapshot["seq"] == seq
    assert {v["id"] for v in snapshot["board"]["visits"]} >= {real} and phantom not in {
        v["id"] for v in snapshot["board"]["visits"]
    }
    assert _kinds(b.catch_up(seq, Audience.display, wall_mark(a.today.events[-1]))) == ["snapshot"]  # walls too
    assert _kinds(b.catch_up(seq, Audience.display, wall_mark(b.today.events[-1]))) == ["heartbeat"]

    # A screen that has B's event there is in step; one a seq earlier (an event both held) gets B's update.
    assert _kinds(b.catch_up(seq, Audience.staff, b.today.held)) == ["heartbeat"]
    before = b.today.events[-2]
    (update,) = b.catch_up(seq - 1, Audience.staff, mark(before))
    assert msgspec.json.decode(update[1])["visit"]["id"] == real
    assert msgspec.json.decode(update[1])["mark"] == b.today.held
    # Without a mark (an older page, a script), by seq alone as before.
    assert _kinds(b.catch_up(seq, Audience.staff)) == ["heartbeat"]
