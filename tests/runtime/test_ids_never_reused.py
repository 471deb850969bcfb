"""Visit and alert ids are never given twice, whatever the log loses.

A Redis failover promotes a replica that had not yet received the last acknowledged writes: the log goes
back to an earlier moment and the seqs after it are given again. An id made from the seq (`v53`) then named
another patient, and a tablet still holding it tapped someone else. Here a log loses its tail exactly as
that replica would hold it (Redis: every key as it was, DUMP and RESTORE; embedded: the day file cut back),
and the server that goes on (and one started afresh) books new visits and raises new alerts: none of them
gets an id a lost one had.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
import redis.asyncio

from floor.clock import ManualClock
from floor.config import Clinic, Thresholds, demo_clinic
from floor.core.commands import BookVisit
from floor.core.events import AlertRaised
from floor.fanout import Hub
from floor.log.base import EventLog
from floor.log.embedded import EmbeddedLog
from floor.log.redis import RedisLog
from floor.runtime import ClinicRuntime
from tests.support.redis_server import forget_prefix

pytestmark = pytest.mark.anyio

CLINIC = "riverside"
START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in Chicago


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def dwell_clinic() -> Clinic:
    """Patients waiting 5 minutes to be roomed raise a dwell alert; no cascades."""
    return msgspec.structs.replace(demo_clinic(), thresholds=Thresholds(5, 600, 600, 600, 50, 600))


class LossyLog:
    """A log over storage that can go back to an earlier moment, as a replica promoted before it received the
    last writes holds it."""

    #: Whether a running server sees the loss through the log it has open (Redis: it is another process's),
    #: or only once it restarts (the embedded log is the server's own file).
    live = True
    #: Whether several servers share the log through logs of their own (Redis), or one log object (embedded).
    shared = True

    async def open(self) -> EventLog:
        raise NotImplementedError

    async def keep(self) -> None:
        """What the replica has: the log as it is now."""

    async def lose(self) -> None:
        """The failover: the log is what the replica had, everything after it gone."""


class LossyRedis(LossyLog):
    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"test-ids-{uuid.uuid4().hex[:12]}"
        self.client = redis.asyncio.Redis.from_url(url)
        self.kept: dict[bytes, bytes] = {}

    async def open(self) -> EventLog:
        log = RedisLog(self.url, prefix=self.prefix)
        await log.open()
        return log

    async def _keys(self) -> list[bytes]:
        return [k async for k in self.client.scan_iter(match=f"{self.prefix}:*")]

    async def keep(self) -> None:
        # DUMP keeps a stream's last id too: the replica's stream takes the lost seqs again, as it would.
        self.kept = {key: await self.client.dump(key) for key in await self._keys()}

    async def lose(self) -> None:
        if keys := await self._keys():
            await self.client.delete(*keys)
        for key, value in self.kept.items():
            await self.client.restore(key, 0, value, replace=True)

    async def close(self) -> None:
        await forget_prefix(self.url, self.prefix)
        await self.client.aclose()


class LossyFiles(LossyLog):
    live = shared = False

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.kept = data_dir.parent / f"{data_dir.name}-kept"

    async def open(self) -> EventLog:
        log = EmbeddedLog(self.data_dir)
        await log.open()
        return log

    async def keep(self) -> None:
        shutil.copytree(self.data_dir, self.kept)

    async def lose(self) -> None:
        # The day file cut back to the records it had then (a disk restored from a backup, a file truncated).
        for path in self.data_dir.rglob("*.log"):
            before = self.kept / path.relative_to(self.data_dir)
            size = before.stat().st_size if before.exists() else 0
            with path.open("r+b") as f:
                f.truncate(size)

    async def close(self) -> None:
        pass


@pytest.fixture(params=["redis", "embedded"])
async def lossy(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LossyLog]:
    log: LossyRedis | LossyFiles
    if request.param == "redis":
        log = LossyRedis(request.getfixturevalue("redis_url"))
    else:
        (tmp_path / "data").mkdir()
        log = LossyFiles(tmp_path / "data")
    try:
        yield log
    finally:
        await log.close()


async def _started(runtime: ClinicRuntime) -> None:
    """Started and learned, as `Floors` does beside the start: on a shared log a server reviews no alert before
    it has learned the day (floor/runtime/writer.py `review_alerts`)."""
    await runtime.start()
    await runtime.learn()


async def _walk_ins(runtime: ClinicRuntime, n: int, name: str) -> list[str]:
    visits = []
    for i in range(n):
        answer = await runtime.handle(BookVisit(f"{name} {i}", "kim", "follow", walk_in=True), "desk", "t1")
        assert not answer.replayed
        visits.append(answer.touched.visit.id)
    return visits


async def _raise_dwell_alerts(runtime: ClinicRuntime, clock: ManualClock) -> set[str]:
    """Time passes with the walk-ins waiting: each gets a dwell alert. Returns the ids raised."""
    before = set(runtime.floor.alerts)
    clock.advance(minutes=6)
    await runtime.review_alerts()
    return set(runtime.floor.alerts) - before


async def test_the_ids_of_visits_and_alerts_a_log_lost_are_never_given_again(lossy: LossyLog) -> None:
    clock = ManualClock(START)
    event_log = await lossy.open()
    server = ClinicRuntime(dwell_clinic(), event_log, clock, Hub())
    await _started(server)
    kept = await _walk_ins(server, 3, "Kept")
    await lossy.keep()  # the replica has these
    clock.advance(minutes=1)
    lost = await _walk_ins(server, 6, "Lost")
    lost_alerts = await _raise_dwell_alerts(server, clock)
    assert len(lost_alerts) == 9  # one per patient waiting, kept and lost
    lost_seq = server.floor.seq
    if not lossy.live:  # the loss is found at the next start
        await event_log.close()
    await lossy.lose()
    if not lossy.live:
        event_log = await lossy.open()
        server = ClinicRuntime(dwell_clinic(), event_log, clock, Hub())
        await _started(server)

    # The server that goes on finds the log behind it on its next tap, reloads, and books on top of it.
    clock.advance(minutes=1)
    after = await _walk_ins(server, 8, "After")
    assert server.floor.seq < lost_seq + 8, "the log did not lose its tail"
    assert set(server.floor.visits) == {*kept, *after}
    after_alerts = await _raise_dwell_alerts(server, clock)
    assert after_alerts

    # A server started afresh on what the log kept does the same.
    await event_log.close()
    event_log = await lossy.open()
    restarted = ClinicRuntime(dwell_clinic(), event_log, clock, Hub())
    await _started(restarted)
    assert set(restarted.floor.visits) == {*kept, *after}
    clock.advance(minutes=1)
    fresh = await _walk_ins(restarted, 8, "Fresh")
    fresh_alerts = await _raise_dwell_alerts(restarted, clock)
    await event_log.close()

    given = [*after, *fresh]
    assert not set(given) & set(lost), "a lost visit's id now names another patient"
    assert not (after_alerts | fresh_alerts) & lost_alerts, "a lost alert's id was raised again"
    assert len(set(kept + lost + given)) == len(kept + lost + given)
    # The alerts' ids carry no visit id (the wall shows them).
    for alert in restarted.floor.alerts.values():
        assert alert.visit is not None and alert.visit not in alert.id
    # The wall tokens of the day's visits are distinct, the lost ones aside.
    tokens = [v.token for v in restarted.floor.visits.values()]
    assert len(set(tokens)) == len(tokens) == len(kept + given)


async def test_two_servers_on_one_log_raise_one_alert_per_episode(lossy: LossyLog) -> None:
    """Alert ids are random, so the servers sharing a log agree on an alert by its episode instead."""
    clock = ManualClock(START)
    here_log = await lossy.open()
    there_log = await lossy.open() if lossy.shared else here_log
    here = ClinicRuntime(dwell_clinic(), here_log, clock, Hub())
    there = ClinicRuntime(dwell_clinic(), there_log, clock, Hub())
    await _started(here)
    await _started(there)
    waiting = await _walk_ins(here, 2, "Waiting")
    clock.advance(minutes=6)
    for _ in range(3):  # each reviews (the one behind is refused its append, catches up and sees the raise)
        await there.review_alerts()
        await here.review_alerts()
    await here.writer.catch_up()
    await there.writer.catch_up()
    events = (await here_log.read_day(CLINIC, here.floor.day))[1]
    raised = [e.change for e in events if isinstance(e.change, AlertRaised)]
    assert sorted(r.visit or "" for r in raised) == sorted(waiting)
    assert len({r.episode for r in raised}) == len(raised) == 2
    assert here.floor.alerts.keys() == there.floor.alerts.keys() == {r.alert for r in raised}
    await here_log.close()
    if there_log is not here_log:
        await there_log.close()
