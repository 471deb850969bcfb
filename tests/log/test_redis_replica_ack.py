"""With ReplicaAck, the Redis log acknowledges a write only once a replica has it (Redis WAIT on the connection
that wrote), and answers from what is stored already (a receipt, a retried append) only once a replica has
that too. A primary with one replica, the replica paused (SIGSTOP) to stand for a cut replication link."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from floor.clock import ManualClock
from floor.core.commands import BookVisit
from floor.fanout import Hub
from floor.log.base import KeyTaken, LogUnavailable, NotReplicated, SeqTaken
from floor.log.redis import NOT_REPLICATED, RedisLog, ReplicaAck, lag_bound
from floor.runtime import ClinicRuntime, Idempotency
from tests.support.clinics import quiet_clinic
from tests.support.records import record
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.anyio

CLINIC = "riverside"
ONE_REPLICA = ReplicaAck(replicas=1, timeout_ms=300)
START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in Chicago


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Pair:
    def __init__(self, primary: RedisServer, replica: RedisServer) -> None:
        self.primary = primary
        self.replica = replica

    def pause_replica(self) -> None:
        assert self.replica.proc is not None
        self.replica.proc.send_signal(signal.SIGSTOP)

    def resume_replica(self) -> None:
        assert self.replica.proc is not None
        self.replica.proc.send_signal(signal.SIGCONT)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    primary = RedisServer(tmp_path / "primary", "--appendonly", "yes", "--repl-diskless-sync-delay", "0").start()
    replica = RedisServer(tmp_path / "replica", "--replicaof", "127.0.0.1", str(primary.port)).start()
    pair = Pair(primary, replica)
    try:
        # Linked once a write is acknowledged (a replica just synced gets writes only after its first
        # acknowledgement, up to a second later: WAIT with a short timeout would miss it).
        client = redis.Redis(port=primary.port)
        client.set("linked", 1)
        assert client.execute_command("WAIT", 1, 20000) == 1, "the replica did not link"
        yield pair
    finally:
        pair.resume_replica()
        replica.stop()
        primary.stop()


async def open_log(pair: Pair, replica_ack: ReplicaAck) -> RedisLog:
    log = RedisLog(pair.primary.url, prefix=f"test-{uuid.uuid4().hex[:8]}", replica_ack=replica_ack)
    await log.open()
    return log


async def test_a_write_the_replica_has_is_acknowledged_and_one_it_lacks_is_unavailable(pair: Pair) -> None:
    log = await open_log(pair, ONE_REPLICA)
    try:
        await log.append(CLINIC, record(1, key="k1"))
        pair.pause_replica()
        with pytest.raises(NotReplicated, match="not yet confirmed by a replica") as unconfirmed:
            await log.append(CLINIC, record(2, key="k2"))
        # Stored on the primary: the 503 says so, and a retry is answered from it, not stored twice.
        assert unconfirmed.value.appended and unconfirmed.value.maybe_stored
        assert str(NOT_REPLICATED).startswith("stored on the primary")
        assert await log.last_seq(CLINIC) == 2
        # Taps queued behind it are answered at once for the timeout's length, storing nothing, rather than each
        # waiting the whole timeout in turn.
        with pytest.raises(LogUnavailable, match="did not confirm this clinic's last tap") as at_once:
            await log.append(CLINIC, record(3, key="k3"))
        assert not at_once.value.maybe_stored and not isinstance(at_once.value, NotReplicated)
        assert await log.last_seq(CLINIC) == 2
        await asyncio.sleep(ONE_REPLICA.timeout_ms / 1000)
        # While the replica still lacks it, a retry of that tap is not acknowledged either: not from its
        # receipt, not through the append script finding the key taken, not as its own event found stored.
        with pytest.raises(NotReplicated, match="not yet confirmed by a replica") as unconfirmed:
            await log.receipt(CLINIC, "k2")
        assert not unconfirmed.value.appended
        await asyncio.sleep(ONE_REPLICA.timeout_ms / 1000)
        with pytest.raises(NotReplicated, match="not yet confirmed by a replica") as unconfirmed:
            await log.append(CLINIC, record(3, key="k2"))
        assert not unconfirmed.value.appended
        await asyncio.sleep(ONE_REPLICA.timeout_ms / 1000)
        with pytest.raises(NotReplicated):
            await log.confirm(CLINIC)  # what the writer asks before answering its own event found stored
        # A refused append stored nothing and has nothing to wait for: it is refused as it is.
        await asyncio.sleep(ONE_REPLICA.timeout_ms / 1000)
        with pytest.raises(SeqTaken):
            await log.append(CLINIC, record(2))
        # A batch (a schedule import) too.
        await asyncio.sleep(ONE_REPLICA.timeout_ms / 1000)
        with pytest.raises(NotReplicated, match="not yet confirmed by a replica"):
            await log.append_all(CLINIC, [record(3), record(4)])
        pair.resume_replica()
        receipt = await log.receipt(CLINIC, "k2")
        assert receipt is not None and receipt.key == "k2"
        await log.confirm(CLINIC)
        with pytest.raises(KeyTaken):
            await log.append(CLINIC, record(5, key="k2"))
        with pytest.raises(SeqTaken):
            await log.append(CLINIC, record(2))
        await log.append(CLINIC, record(5, key="k5"))
        assert await log.last_seq(CLINIC) == 5
        replica = RedisLog(pair.replica.url, prefix=log.prefix)
        await replica.open()
        try:
            assert [e.seq for e in await replica.read(CLINIC, 0) or []] == [1, 2, 3, 4, 5]
        finally:
            await replica.close()
    finally:
        await log.close()


async def test_without_the_setting_a_write_the_replica_lacks_is_acknowledged(pair: Pair) -> None:
    log = await open_log(pair, ReplicaAck())
    try:
        pair.pause_replica()
        await log.append(CLINIC, record(1, key="k1"))
        assert await log.receipt(CLINIC, "k1") is not None
    finally:
        await log.close()


async def test_a_tap_stored_on_the_primary_and_not_yet_confirmed_is_on_the_floor_and_its_retry_answered(
    pair: Pair,
) -> None:
    """The log holds it, so the floor does: the next tap does not lose a race to it (each such race cost another
    WAIT under the clinic's lock), and the tablet's retry with the same key is answered as the tap it was."""
    log = await open_log(pair, ONE_REPLICA)
    runtime = ClinicRuntime(quiet_clinic(), log, ManualClock(START), Hub())
    try:
        await runtime.start()
        book = BookVisit("Ann Lee", "kim", "follow", walk_in=True)
        key = Idempotency("tablet-1:0001", "sha256:book-ann")
        pair.pause_replica()
        with pytest.raises(NotReplicated):
            await runtime.handle(book, "desk", "t1", key)
        assert runtime.floor.seq == 1 and [v.patient_name for v in runtime.floor.visits.values()] == ["Ann Lee"]
        pair.resume_replica()
        again = await runtime.handle(book, "desk", "t1", key)
        assert again.replayed and again.event.seq == 1
        other = await runtime.handle(BookVisit("Bo Chen", "kim", "follow", walk_in=True), "desk", "t1")
        assert other.event.seq == 2 and len(runtime.floor.visits) == 2
    finally:
        await runtime.settle()
        await log.close()


async def test_readiness_says_when_the_replicas_asked_for_are_not_connected(pair: Pair) -> None:
    """With --redis-replicas 1 and the replica gone, every tap was a 503 and /readyz said ready (an ops review)."""
    log = await open_log(pair, ONE_REPLICA)
    try:
        assert await log.trouble(2.0) is None
        redis.Redis(port=pair.replica.port).execute_command("REPLICAOF", "NO", "ONE")  # the replica gone
        for _ in range(50):  # the primary sees the link close at once; a moment for INFO to say so
            trouble = await log.trouble(2.0)
            if trouble:
                break
            await asyncio.sleep(0.1)
        assert trouble is not None and "has 0 replica(s) acknowledging within 2 s (0 connected)" in trouble
        assert "--redis-replicas asks 1" in trouble
    finally:
        await log.close()
    # Without the setting, replicas are not asked about.
    plain = await open_log(pair, ReplicaAck())
    try:
        assert await plain.trouble(2.0) is None
    finally:
        await plain.close()


async def test_readiness_says_when_a_paused_replica_stops_acknowledging(pair: Pair) -> None:
    """A paused replica (a hung host, a cut link TCP has not noticed) stays connected for the primary until
    repl-timeout (60 s): every tap was a 503 (WAIT in vain) while /readyz said ready (a hostile review). Counted
    only while its last acknowledgement is within `lag_bound` (a second, plus the WAIT timeout): a healthy
    replica always is, a paused one not after a few seconds."""
    log = await open_log(pair, ONE_REPLICA)
    bound = lag_bound(ONE_REPLICA)
    assert bound == 2
    try:
        for _ in range(25):  # a healthy replica acknowledges every second: ready throughout (2.5 s)
            assert await log.trouble(2.0) is None
            await asyncio.sleep(0.1)
        pair.pause_replica()
        paused = time.monotonic()
        trouble = None
        while trouble is None and time.monotonic() - paused < bound + 3:
            await asyncio.sleep(0.2)
            trouble = await log.trouble(2.0)
        assert trouble is not None, "ready while the paused replica confirms no tap"
        assert "has 0 replica(s) acknowledging within 2 s (1 connected)" in trouble
        with pytest.raises(NotReplicated):  # what a tap gets meanwhile
            await log.append(CLINIC, record(1, key="k1"))
        pair.resume_replica()
        resumed = time.monotonic()
        while trouble is not None and time.monotonic() - resumed < 5:
            await asyncio.sleep(0.2)
            trouble = await log.trouble(2.0)
        assert trouble is None, f"not ready again once the replica acknowledges: {trouble}"
    finally:
        pair.resume_replica()
        await log.close()
