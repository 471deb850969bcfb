"""Floor on a three-node Redis Cluster, changed in nothing but its URL: clinics spread over the nodes, and
two server instances still make one floor per clinic."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

from floor.config import demo_clinic_path
from tests.server.conftest import ServerProcess
from tests.server.test_shared_redis import (
    add_people,
    check_conflicting_taps_on_a_and_b_one_wins,
    check_taps_on_a_reach_sockets_on_b_in_order,
    sign_in_people,
)
from tests.support.redis_server import RedisServer, free_cluster_port

pytestmark = [pytest.mark.anyio, pytest.mark.server]

CLINICS = ["north", "south", "harbor", "valley", "summit", "meadow"]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    nodes = [RedisServer(tmp_path / f"node{i}", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                         "--cluster-node-timeout", "2000", "--appendonly", "no", port=free_cluster_port()).start()
             for i in range(3)]
    try:
        subprocess.run(["redis-cli", "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in nodes),
                        "--cluster-replicas", "0", "--cluster-yes"], check=True, capture_output=True, timeout=60)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            infos = [redis.Redis(port=n.port).cluster("info") for n in nodes]
            if all(info["cluster_state"] == "ok" for info in infos):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("the cluster did not come up")
        yield f"redis://127.0.0.1:{nodes[0].port}"
    finally:
        for n in nodes:
            n.stop()


@pytest.fixture
def clinic_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "clinics"
    directory.mkdir()
    text = demo_clinic_path().read_text()
    for clinic in CLINICS:
        (directory / f"{clinic}.toml").write_text(text.replace('id = "riverside"', f'id = "{clinic}"', 1))
    return directory


async def test_two_instances_on_a_redis_cluster_make_one_floor_per_clinic(
        tmp_path: Path, cluster: str, clinic_dir: Path) -> None:
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
