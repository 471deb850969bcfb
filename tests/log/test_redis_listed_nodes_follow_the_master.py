"""Several Redis URLs without a cluster (a primary and its replica): the log's clients follow the master among the
listed nodes (floor/redis_client.py `ListedNodes`). Before, `connect` picked a node once and kept it for the
process's life: after a failover every tap was a 503 until a restart, the promoted node never tried; a server
started while the primary was down stayed on the replica, and /readyz said ready while every tap was refused
(a hostile review). Real redis-servers on free ports, stopped at the end; every wait is bounded."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from structlog.testing import capture_logs

import floor.redis_client as redis_client
from floor.clock import ManualClock
from floor.core.commands import BookVisit
from floor.fanout import Hub
from floor.log.base import LogUnavailable
from floor.log.redis import RedisLog
from floor.log.replicas import ReplicaAck
from floor.redis_client import LOOK_AGAIN_SECONDS, ListedNodes, call
from floor.runtime import ClinicRuntime
from tests.support.clinics import quiet_clinic
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.anyio

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # a fixed clinic time: nothing here reads the date
#: The longest a failover may take to be followed here: a look (at most one a second) and a probe of each node.
FOLLOWED_WITHIN = 8.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Pair:
    def __init__(self, primary: RedisServer, replica: RedisServer) -> None:
        self.primary, self.replica = primary, replica

    @property
    def urls(self) -> str:
        return f"{self.primary.url},{self.replica.url}"

    def promote_replica(self) -> None:
        """What Sentinel (or an operator) does once the primary is lost."""
        redis.Redis(port=self.replica.port).execute_command("REPLICAOF", "NO", "ONE")


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    primary = RedisServer(tmp_path / "primary", "--appendonly", "yes", "--repl-diskless-sync-delay", "0").start()
    replica = None
    try:
        replica = RedisServer(tmp_path / "replica", "--replicaof", "127.0.0.1", str(primary.port)).start()
        client = redis.Redis(port=primary.port)
        client.set("linked", 1)
        assert client.execute_command("WAIT", 1, 20000) == 1, "the replica did not link"
        yield Pair(primary, replica)
    finally:
        if replica is not None:
            replica.stop()
        primary.stop()


def _book(n: int) -> BookVisit:
    return BookVisit(f"P {n}", "kim", "follow", walk_in=True)


async def _tap(runtime: ClinicRuntime, n: int) -> str:
    try:
        await runtime.handle(_book(n), "desk", "t1")
        return "201"
    except LogUnavailable:
        return "503"


async def _tap_until_stored(runtime: ClinicRuntime, within: float) -> list[str]:
    """Taps, one every 0.3 s, until one is stored or `within` seconds pass: what each was answered."""
    outcomes: list[str] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and outcomes[-1:] != ["201"]:
        outcomes.append(await _tap(runtime, len(outcomes)))
        await asyncio.sleep(0.3)
    return outcomes


async def test_after_a_failover_taps_reach_the_promoted_replica_within_seconds(pair: Pair) -> None:
    log = RedisLog(pair.urls, prefix=f"test-{uuid.uuid4().hex[:8]}")
    await log.open()
    try:
        assert isinstance(log.redis, ListedNodes) and log.redis.node == pair.primary.url
        runtime = ClinicRuntime(quiet_clinic(), log, ManualClock(START), Hub())
        await runtime.start()
        await runtime.handle(_book(100), "desk", "t1")
        redis.Redis(port=pair.primary.port).execute_command("WAIT", 1, 5000)

        pair.primary.kill9()
        pair.promote_replica()

        outcomes = await _tap_until_stored(runtime, FOLLOWED_WITHIN)
        assert outcomes[-1:] == ["201"], f"no tap stored on the promoted replica: {outcomes}"
        assert log.redis.node == pair.replica.url
        assert await log.trouble(1.0) is None
        # The stored tap is on the promoted node, after the one booked before the failover.
        assert await log.last_seq(runtime.id) == runtime.floor.seq == 2
        assert int(redis.Redis(port=pair.replica.port).get(f"{log.prefix}:{{{runtime.id}}}:seq")) == 2
        # The followers' blocking reads moved too (they lost their node; /readyz nudges them as well).
        deadline = time.monotonic() + FOLLOWED_WITHIN
        while isinstance(log.followers, ListedNodes) and log.followers.node != pair.replica.url:
            assert time.monotonic() < deadline, "the followers stayed on the lost primary"
            await log.trouble(1.0)
            await asyncio.sleep(0.2)
    finally:
        await log.close()


async def test_a_server_started_on_the_replica_is_not_ready_and_moves_to_the_master_when_it_is_back(
    pair: Pair,
) -> None:
    pair.primary.kill9()  # the primary's host reboots while this server (re)starts
    log = RedisLog(pair.urls, prefix=f"test-{uuid.uuid4().hex[:8]}")
    await log.open()
    try:
        assert isinstance(log.redis, ListedNodes) and log.redis.node == pair.replica.url
        runtime = ClinicRuntime(quiet_clinic(), log, ManualClock(START), Hub())
        await runtime.start()  # reads work on the replica
        trouble = await log.trouble(1.0)
        assert trouble is not None and "is a slave, not the master" in trouble, trouble
        with pytest.raises(LogUnavailable):
            await runtime.handle(_book(0), "desk", "t1")

        pair.primary.start()  # back on its own files, the master still; the replica follows it again

        ready: list[bool] = []
        outcomes: list[str] = []
        deadline = time.monotonic() + FOLLOWED_WITHIN
        while time.monotonic() < deadline and outcomes[-1:] != ["201"]:
            ready.append(await log.trouble(1.0) is None)
            outcomes.append(await _tap(runtime, len(outcomes)))
            await asyncio.sleep(0.2)
        assert outcomes[-1:] == ["201"], f"never moved to the master: {outcomes}"
        # Never ready while taps were refused: ready only from the move on.
        assert not any(r and o == "503" for r, o in zip(ready, outcomes, strict=True)), (ready, outcomes)
        assert log.redis.node == pair.primary.url and await log.trouble(1.0) is None
    finally:
        await log.close()


async def test_failures_look_for_the_master_at_most_once_a_second(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every failing request asks for a look; the nodes are asked their role once a LOOK_AGAIN_SECONDS, not once
    per request (a burst of taps on a lost node must not become a burst of probes of every listed node)."""
    probes: list[str] = []
    probe = redis_client._role

    async def counted(url: str, make_pool: object) -> str | None:
        probes.append(url)
        return await probe(url, make_pool)  # type: ignore[arg-type]

    monkeypatch.setattr(redis_client, "_role", counted)
    log = RedisLog(pair.urls, prefix=f"test-{uuid.uuid4().hex[:8]}")
    await log.open()
    try:
        pair.primary.kill9()  # no replica promoted: there is no master to find, every look finds none
        started = time.monotonic()
        for _ in range(40):
            with pytest.raises(LogUnavailable):
                await call(log.redis, lambda: log.redis.get("x"), "the Redis log")
        looks = len(probes) // 2  # each look probes both listed nodes
        assert 1 <= looks <= 1 + (time.monotonic() - started) / LOOK_AGAIN_SECONDS
        assert log.redis.node == pair.primary.url  # no master found: it stays where it is
    finally:
        await log.close()


async def test_listed_nodes_without_a_replica_acknowledgement_are_warned_of_at_start(pair: Pair) -> None:
    """An old primary that restarts as a master on its own files is a second master; only `--redis-replicas 1`
    makes it refuse taps (README). A server started on listed nodes without it says so in its log, once."""
    for replicas, warned in ((0, True), (1, False)):
        log = RedisLog(pair.urls, prefix=f"test-{uuid.uuid4().hex[:8]}", replica_ack=ReplicaAck(replicas, 1000))
        with capture_logs() as logs:
            await log.open()
        await log.close()
        events = [e for e in logs if e["event"] == "redis_listed_nodes_without_replica_ack"]
        assert len(events) == (1 if warned else 0), (replicas, logs)
        if warned:
            assert events[0]["log_level"] == "warning" and "--redis-replicas 1" in events[0]["advice"]
    # One node alone is not a primary and replicas: nothing to warn of.
    log = RedisLog(pair.primary.url, prefix=f"test-{uuid.uuid4().hex[:8]}")
    with capture_logs() as logs:
        await log.open()
    await log.close()
    assert not [e for e in logs if e["event"] == "redis_listed_nodes_without_replica_ack"]


async def test_a_server_started_while_an_old_primary_is_back_as_a_master_takes_the_master_with_replicas(
    tmp_path: Path,
) -> None:
    """A primary and two replicas; the primary lost, one replica promoted and the other pointed at it (what
    Sentinel does), then the old primary restarted on its own files, a master again before anyone makes it a
    replica. A server started then took the first listed master, the old primary: its taps were written there,
    answered 503 under --redis-replicas 1, and it was not ready until the old primary was made a replica (a
    newcomer following the README). Now it takes the master with replicas, and says there are two."""
    primary = RedisServer(tmp_path / "primary", "--appendonly", "yes", "--repl-diskless-sync-delay", "0").start()
    servers = [primary]
    try:
        for name in ("r1", "r2"):
            servers.append(RedisServer(tmp_path / name, "--replicaof", "127.0.0.1", str(primary.port)).start())
        r1, r2 = servers[1], servers[2]
        redis.Redis(port=primary.port).set("linked", 1)
        assert redis.Redis(port=primary.port).execute_command("WAIT", 2, 20000) == 2, "the replicas did not link"
        urls = f"{primary.url},{r1.url},{r2.url}"
        prefix = f"test-{uuid.uuid4().hex[:8]}"
        before = RedisLog(urls, prefix=prefix, replica_ack=ReplicaAck(1, 1000))
        await before.open()
        try:
            runtime = ClinicRuntime(quiet_clinic(), before, ManualClock(START), Hub())
            await runtime.start()
            await runtime.handle(_book(0), "desk", "t1")
        finally:
            await before.close()

        primary.kill9()
        redis.Redis(port=r1.port).execute_command("REPLICAOF", "NO", "ONE")
        redis.Redis(port=r2.port).execute_command("REPLICAOF", "127.0.0.1", str(r1.port))
        deadline = time.monotonic() + 20
        while redis.Redis(port=r1.port).execute_command("WAIT", 1, 500) != 1:
            assert time.monotonic() < deadline, "r2 did not follow the promoted r1"
        primary.start()  # on its own files: a master, with no replica
        assert redis.Redis(port=primary.port).info("replication")["role"] == "master"
        stream = f"{prefix}:{{{runtime.id}}}:log"
        on_old = redis.Redis(port=primary.port).xlen(stream)

        log = RedisLog(urls, prefix=prefix, replica_ack=ReplicaAck(1, 1000))
        with capture_logs() as logs:
            await log.open()
        try:
            assert isinstance(log.redis, ListedNodes) and log.redis.node == r1.url
            several = [e for e in logs if e["event"] == "redis_several_masters"]
            # Said by each of the log's clients (its commands' and its followers'), both on r1.
            assert several and all(e["chosen"] == r1.url for e in several), logs
            assert isinstance(log.followers, ListedNodes) and log.followers.node == r1.url
            assert await log.trouble(1.0) is None
            runtime = ClinicRuntime(quiet_clinic(), log, ManualClock(START), Hub())
            await runtime.start()
            assert runtime.floor.seq == 1  # what the promoted r1 holds
            assert await _tap(runtime, 1) == "201"
            assert redis.Redis(port=primary.port).xlen(stream) == on_old  # nothing written on the old primary
            assert redis.Redis(port=r1.port).xlen(stream) == 2
        finally:
            await log.close()
    finally:
        for server in reversed(servers):
            server.stop()
