"""Floor on a three-node Redis Cluster, changed in nothing but its URL: clinics spread over the nodes, and
two server instances still make one floor per clinic. And the cluster the README tells an operator to start
keeps every acknowledged tap through an AOF rewrite and a kill -9 of a node."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
import redis
from redis.cluster import RedisCluster

from floor.log.redis import RedisLog
from tests.server.conftest import CLINICS, ServerProcess
from tests.server.test_shared_redis import (
    add_people,
    check_conflicting_taps_on_a_and_b_one_wins,
    check_taps_on_a_reach_sockets_on_b_in_order,
    sign_in_people,
)
from tests.support.redis_cluster import ReadmeCluster, readme_node_args

pytestmark = [pytest.mark.anyio, pytest.mark.server, pytest.mark.long]


#: Flags the tests add to the README's node command: a short node timeout, so a node's failure is noticed in
#: two seconds rather than fifteen (nothing about where or how the data is kept).
TEST_NODE_FLAGS = ("--cluster-node-timeout", "2000")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """Three nodes started as the README says; the URL of one of them."""
    with ReadmeCluster(tmp_path / "redis", count=3, extra=TEST_NODE_FLAGS).start() as nodes:
        yield nodes.url


async def test_two_instances_on_a_redis_cluster_make_one_floor_per_clinic(
    tmp_path: Path, cluster: str, clinic_dir: Path
) -> None:
    client = RedisCluster.from_url(cluster)
    nodes = {client.get_node_from_key(f"floor:{{{c}}}:log").name for c in CLINICS}
    assert len(nodes) >= 2, "the clinics should spread over several nodes"

    a = ServerProcess(tmp_path / "a", tmp_path / "a.log", "--redis", cluster, "--clinic", str(clinic_dir))
    b = ServerProcess(tmp_path / "b", tmp_path / "b.log", "--redis", cluster, "--clinic", str(clinic_dir))
    a.start()
    b.start()
    try:
        assert '"cluster": true' in a.log()
        # The staff directory sits on the cluster too (one hash tag, one node), shared by both instances.
        add_people(a)
        for clinic in CLINICS[:3]:
            # Each clinic's own tablets: signed in on one instance, good on both.
            desk, ma = sign_in_people(b if clinic == CLINICS[1] else a, clinic)
            await check_taps_on_a_reach_sockets_on_b_in_order(a, b, clinic, desk)
            check_conflicting_taps_on_a_and_b_one_wins(a, b, clinic, desk, ma)
        # Each clinic's keys sit on the node that owns its hash tag.
        for clinic in CLINICS[:3]:
            node = client.get_node_from_key(f"floor:{{{clinic}}}:log")
            assert redis.Redis(host=node.host, port=node.port).exists(f"floor:{{{clinic}}}:log")
        # And the staff directory's on the node that owns its own tag.
        node = client.get_node_from_key("floor:{directory}:staff")
        assert redis.Redis(host=node.host, port=node.port).hexists("floor:{directory}:staff", "desk-ana")
    finally:
        a.stop()
        b.stop()
        client.close()


def walk_in(server: ServerProcess, clinic: str, headers: dict[str, str], name: str) -> httpx.Response:
    """One walk-in tap, with its own Idempotency-Key, as a tablet sends it."""
    return httpx.post(
        f"{server.url}/api/clinics/{clinic}/visits",
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        json={"patient_name": name, "provider": "hart", "visit_type": "follow", "walk_in": True},
        timeout=10,
    )


async def stored_events(url: str, clinics: list[str]) -> dict[tuple[str, int], dict]:
    """Every event the cluster holds for the clinics, by (clinic, seq), read by a fresh Redis log."""
    fresh = RedisLog(url)
    await fresh.open()
    try:
        stored: dict[tuple[str, int], dict] = {}
        for clinic in clinics:
            for event in await fresh.read(clinic, 0) or []:
                stored[clinic, event.seq] = json.loads(msgspec.json.encode(event))
        return stored
    finally:
        await fresh.close()


def lost(acknowledged: dict[tuple[str, int], dict], stored: dict[tuple[str, int], dict]) -> list[tuple[str, int]]:
    """The acknowledged taps whose event is not stored as it was answered."""
    return [k for k, event in acknowledged.items() if stored.get(k) != event]


def test_the_readme_keeps_each_node_in_a_directory_of_its_own_with_every_write_fsynced() -> None:
    args = " ".join(readme_node_args())
    assert "--dir redis-$p" in args, "each node needs its own directory (its own appendonlydir/ and dump.rdb)"
    assert "--appendonly yes" in args and "--appendfsync always" in args
    assert "--cluster-config-file nodes.conf" in args


async def test_a_node_killed_after_an_aof_rewrite_comes_back_with_every_acknowledged_tap(
    tmp_path: Path, clinic_dir: Path
) -> None:
    cluster = ReadmeCluster(tmp_path / "redis", count=3, extra=TEST_NODE_FLAGS).start()
    server = ServerProcess(tmp_path / "a", tmp_path / "a.log", "--redis", cluster.url, "--clinic", str(clinic_dir))
    try:
        server.start()
        add_people(server)
        desk, _ = sign_in_people(server, "cluster")
        acknowledged: dict[tuple[str, int], dict] = {}

        def taps(round_: str) -> None:
            for i in range(2):
                for clinic in CLINICS:
                    r = walk_in(server, clinic, desk, f"{round_} {clinic} {i}")
                    assert r.status_code == 201, r.text
                    acknowledged[clinic, r.json()["seq"]] = r.json()["event"]
                    time.sleep(0.05)  # under the write throttle

        taps("Before")
        # The README's backup step, on every node; each must finish before the next taps.
        for node in cluster.nodes:
            node.wait_rewrite()
        taps("After")
        server.stop()

        # kill -9 the node holding the most clinics, and start it again with the same command.
        by_node: dict[int, list[str]] = {}
        for clinic in CLINICS:
            by_node.setdefault(cluster.master_of_key(f"floor:{{{clinic}}}:log").port, []).append(clinic)
        port, its_clinics = max(by_node.items(), key=lambda kv: len(kv[1]))
        victim = cluster.node(port)
        victim.kill9()
        victim.start()
        cluster.wait_ok()

        stored = await stored_events(cluster.url, CLINICS)
        assert lost(acknowledged, stored) == [], f"acknowledged taps lost on node {port} ({its_clinics})"
        fresh = RedisLog(cluster.url)
        await fresh.open()
        try:
            for clinic in its_clinics:
                assert await fresh.last_seq(clinic) == max(s for c, s in acknowledged if c == clinic)
        finally:
            await fresh.close()
    finally:
        server.stop()
        cluster.stop()
