"""A tap's fan-out is written a few sockets per turn of the event loop (floor.runtime.feed.FeedCache.send_soon):
a tap arriving while a large fan-out is under way is decided, stored and answered before that fan-out reaches
its last socket, and every socket still gets every update once and in seq order, a slow one resynced."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import floor.log.embedded
from floor.fanout import RESYNC, Hub, Written
from floor.wire import Audience
from tests.runtime.test_clinic_runtime import CLINIC, TakingWire, queued, started, walk_in
from tests.support.waiting import until as _until

pytestmark = pytest.mark.anyio

WALLS = 60
STEP = 2


def until(condition, what: str):
    """A turn of the loop at a time: what is awaited here needs no I/O."""
    return _until(condition, what, tries=10_000, pause=0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def instant_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The log's file writes run in the loop's thread, at once: a tap then takes a fixed number of loop turns,
    so where it falls among the fan-out's steps does not depend on how fast a thread is scheduled."""

    async def inline(function, *args):
        return function(*args)

    monkeypatch.setattr(floor.log.embedded, "_to_thread_to_the_end", inline)


class Wall(TakingWire):
    """A wall taking every frame at once, noting each update in the scene's one timeline, and the kind of every
    message it got."""

    def __init__(self, n: int, timeline: list) -> None:
        super().__init__()
        self.n, self.timeline = n, timeline
        self.kinds: list[str] = []

    def write(self, frame: bytes):
        message = json.loads(frame[4:] if frame[1] & 0x7F == 126 else frame[2:])
        self.kinds.append(message["kind"])
        if message["kind"] == "event":
            self.seqs.append(message["seq"])
            self.timeline.append(("frame", self.n, message["seq"]))
        return Written.sent


def in_fan_out_order(runtime) -> list[Wall]:
    return [sub.wire for sub in runtime.hub.subscribers(CLINIC) if isinstance(sub.wire, Wall)]


@pytest.mark.usefixtures("instant_disk")
async def test_a_tap_arriving_mid_fan_out_is_answered_before_that_fan_out_ends(tmp_path: Path) -> None:
    runtime = await started(tmp_path, hub=Hub(queue_limit=3))
    runtime.feed.step = STEP
    timeline: list = []
    walls = [Wall(n, timeline) for n in range(WALLS)]
    for wall in walls:
        runtime.hub.subscribe(CLINIC, Audience.staff, wire=wall)
    stuck = runtime.hub.subscribe(CLINIC, Audience.staff)  # queued only, and never read: a screen that hung
    walls = in_fan_out_order(runtime)

    first = await runtime.handle(walk_in("Ann Lee"), "ma", "t1")
    assert first.event.seq == 1 and timeline == []  # answered before any wall was written
    await until(lambda: walls[0].seqs == [1], "the first wall to get seq 1")
    assert walls[-1].seqs == [], "the whole fan-out ran in one turn of the loop"
    # A wall joining now, in step with seq 1, is not sent seq 1 again by the fan-out under way.
    late = Wall(WALLS, [])
    joined = runtime.hub.subscribe(CLINIC, Audience.staff, wire=late)
    runtime.join(joined, 1)
    assert [m["kind"] for _, m in queued(joined)] == ["heartbeat"]  # its sender sent that: the queue is empty

    second = await runtime.handle(walk_in("Bo Chen"), "ma", "t2")
    assert second.event.seq == 2
    timeline.append(("answer", 2))
    assert walls[-1].seqs == [], "the tap waited for the whole fan-out before it was answered"
    await until(lambda: all(w.seqs == [1, 2] for w in walls), "every wall to get seqs 1 and 2")
    # Seq 2 reached no wall before seq 1 had reached every wall.
    frames = [(n, seq) for kind, *entry in timeline if kind == "frame" for n, seq in [entry]]
    assert frames == [(w.n, 1) for w in walls] + [(w.n, 2) for w in walls]

    # Taps racing one another, each answered while others' fan-outs are under way: every wall gets every update
    # once, in order; the screen that stopped reading is resynced and holds nothing else.
    answers = await asyncio.gather(*(runtime.handle(walk_in(f"Pat {n}"), "ma", f"t{n}") for n in range(3, 8)))
    assert sorted(a.event.seq for a in answers) == [3, 4, 5, 6, 7]
    await until(lambda: all(len(w.seqs) == 7 for w in walls), "every wall to get every update")
    assert all(w.seqs == list(range(1, 8)) for w in walls)
    assert late.seqs == list(range(2, 8))
    assert stuck.resyncs == 1 and list(stuck.queue) == [RESYNC]


@pytest.mark.usefixtures("instant_disk")
async def test_anything_else_sent_to_the_screens_waits_for_the_fan_out_under_way(tmp_path: Path) -> None:
    runtime = await started(tmp_path)
    runtime.feed.step = STEP
    walls = [Wall(n, []) for n in range(WALLS)]
    for wall in walls:
        runtime.hub.subscribe(CLINIC, Audience.staff, wire=wall)
    walls = in_fan_out_order(runtime)
    await runtime.handle(walk_in("Ann Lee"), "ma", "t1")
    await until(lambda: walls[0].seqs == [1], "the fan-out to begin")
    assert walls[-1].seqs == []

    runtime.tick()  # a heartbeat and the delays: the rest of seq 1 goes out first, to every wall
    assert all(w.seqs == [1] for w in walls)
    assert all(w.kinds == ["event", "heartbeat", "delays"] for w in walls), walls[-1].kinds
