"""How long a server takes to load a clinic's day: 20,000 events, embedded log and Redis.

Writes a day of valid events (generated with the pure core), then times what a starting server does for
each clinic: read the day from the log, fold it, and re-render the retained tail for resuming screens.

    .venv/bin/python loadtests/startup_load.py --events 20000 --redis redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
import uuid

import redis.asyncio

from floor.clock import ManualClock
from floor.config import demo_clinic
from floor.core.commands import BookVisit, MarkRoom, TakeStep, Tap
from floor.core.events import Event
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.rooms import RoomAction
from floor.fanout import Hub
from floor.log.base import EventLog, Record
from floor.log.embedded import EmbeddedLog
from floor.log.files import OsFiles
from floor.log.redis import RedisLog
from floor.logging_setup import configure
from floor.runtime import ClinicRuntime

START = dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC)


def day_of_events(n: int) -> list[Event]:
    clinic = demo_clinic()
    floor = Floor(clinic, clinic.day_of(START), ids=Ids.seeded("startup-load"))
    clock = ManualClock(START)
    events: list[Event] = []
    rooms = [r.id for r in clinic.rooms]
    i = 0
    while len(events) < n:
        room = rooms[i % len(rooms)]
        tap = Tap("bench", "bench", clock.advance(seconds=1))
        steps = [BookVisit(f"P{i}", "kim", "follow", walk_in=True)]
        for command in steps:
            event = floor.decide(command, tap)
            floor.apply(event)
            events.append(event)
        visit = events[-1].change.visit
        for command in (
            TakeStep(visit, Stage.roomed, room),
            TakeStep(visit, Stage.prep_done),
            TakeStep(visit, Stage.provider_in),
            TakeStep(visit, Stage.teach_back_done),
            TakeStep(visit, Stage.checked_out),
            MarkRoom(room, RoomAction.ready),
        ):
            event = floor.decide(command, Tap("bench", "bench", clock.advance(seconds=1)))
            floor.apply(event)
            events.append(event)
        i += 1
    return events[:n]


class NoSync(OsFiles):
    """Bulk setup only: the benchmark measures loading, not writing."""

    def open_append(self, path):
        f = super().open_append(path)
        f.sync = lambda: None
        return f


async def measure(name: str, make, events: list[Event], runs: int) -> None:
    writer: EventLog = make(True)
    await writer.open()
    t0 = time.perf_counter()
    for event in events:
        await writer.append("riverside", Record(event))
    write_s = time.perf_counter() - t0
    await writer.close()
    times = []
    for _ in range(runs):
        log = make(False)
        await log.open()
        runtime = ClinicRuntime(demo_clinic(), log, ManualClock(START + dt.timedelta(hours=6)), Hub())
        t0 = time.perf_counter()
        await runtime.start()
        times.append(time.perf_counter() - t0)
        assert runtime.floor.seq == len(events), runtime.floor.seq
        await log.close()
    print(
        f"{name:9} {len(events)} events: load p50 {statistics.median(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms over {runs} starts  (setup write {write_s:.1f} s)"
    )


async def main(args: argparse.Namespace) -> None:
    configure("warning")
    events = day_of_events(args.events)
    with tempfile.TemporaryDirectory() as data:
        await measure("embedded", lambda setup: EmbeddedLog(data, NoSync() if setup else None), events, args.runs)
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        await measure("redis", lambda setup: RedisLog(args.redis, prefix=prefix), events, args.runs)
    finally:
        client = redis.asyncio.Redis.from_url(args.redis)
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    asyncio.run(main(parser.parse_args()))
