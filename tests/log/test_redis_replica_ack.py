"""With ReplicaAck, the Redis log acknowledges a write only once a replica has it (Redis WAIT on the connection
that wrote), and answers from what is stored already (a receipt, a retried append) only once a replica has
that too. A primary with one replica, the replica paused (SIGSTOP) to stand for a cut replication link."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from floor.log.base import KeyTaken, LogUnavailable, SeqTaken
from floor.log.redis import NOT_REPLICATED, RedisLog, ReplicaAck
from tests.support.records import record
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.anyio

CLINIC = "riverside"
ONE_REPLICA = ReplicaAck(replicas=1, timeout_ms=300)


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
        with pytest.raises(LogUnavailable, match="not yet confirmed by a replica"):
            await log.append(CLINIC, record(2, key="k2"))
        # Stored on the primary: the 503 says so, and a retry is answered from it, not stored twice.
        assert str(NOT_REPLICATED).startswith("stored on the primary")
        assert await log.last_seq(CLINIC) == 2
        # While the replica still lacks it, a retry of that tap is not acknowledged either: not from its
        # receipt, not through the append script finding the key taken, not as its own seq found stored.
        with pytest.raises(LogUnavailable, match="not yet confirmed by a replica"):
            await log.receipt(CLINIC, "k2")
        with pytest.raises(LogUnavailable, match="not yet confirmed by a replica"):
            await log.append(CLINIC, record(3, key="k2"))
        with pytest.raises(LogUnavailable, match="not yet confirmed by a replica"):
            await log.append(CLINIC, record(2))
        # A batch (a schedule import) too.
        with pytest.raises(LogUnavailable, match="not yet confirmed by a replica"):
            await log.append_all(CLINIC, [record(3), record(4)])
        pair.resume_replica()
        receipt = await log.receipt(CLINIC, "k2")
        assert receipt is not None and receipt.key == "k2"
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
