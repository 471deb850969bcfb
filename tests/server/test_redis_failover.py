"""A failover on a six-node Redis Cluster (three masters, a replica each), started as the README says: with
`--redis-replicas 1` no acknowledged tap is lost when a master dies while its replica is cut off; without it,
the taps acknowledged while the replica was cut off are lost (Redis replicates asynchronously), which is what
the setting is for."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.server.conftest import CLINICS, ServerProcess
from tests.server.test_redis_cluster import TEST_NODE_FLAGS, lost, stored_events, walk_in
from tests.server.test_shared_redis import add_people, sign_in_people
from tests.support.redis_cluster import ReadmeCluster

pytestmark = [pytest.mark.anyio, pytest.mark.server]


#: The replica's initial sync at once (not after Redis's 5 s delay), so the cluster is ready sooner.
SYNC_AT_ONCE = ("--repl-diskless-sync-delay", "0")


@pytest.mark.parametrize("replicas", [1, 0], ids=["with-replica-ack", "without"])
async def test_a_master_killed_while_its_replica_is_cut_off(tmp_path: Path, clinic_dir: Path, replicas: int) -> None:
    cluster = ReadmeCluster(tmp_path / "redis", count=6, replicas=1, extra=(*TEST_NODE_FLAGS, *SYNC_AT_ONCE)).start()
    clinic = CLINICS[0]
    master = cluster.master_of_key(f"floor:{{{clinic}}}:log")
    replica = cluster.replica_of(master)
    # Floor starts from a node that stays up.
    url = f"redis://127.0.0.1:{next(n.port for n in cluster.nodes if n not in (master, replica))}"
    server = ServerProcess(
        tmp_path / "a",
        tmp_path / "a.log",
        "--redis",
        url,
        "--clinic",
        str(clinic_dir),
        "--redis-replicas",
        str(replicas),
        "--redis-replica-timeout",
        "500",
    )
    try:
        server.start()
        add_people(server)
        desk, _ = sign_in_people(server, "failover")
        acknowledged: dict[tuple[str, int], dict] = {}

        def tap(where: str, name: str) -> httpx.Response:
            r = walk_in(server, where, desk, name)
            if r.status_code == 201:
                acknowledged[where, r.json()["seq"]] = r.json()["event"]
            return r

        for i, c in enumerate(CLINICS):
            assert tap(c, f"Before {i}").status_code == 201
        for i in range(3):
            assert tap(clinic, f"Linked {i}").status_code == 201

        # The replication link is cut while taps go on: the replica is paused (SIGSTOP), so it cannot
        # reconnect, and the master drops its connection (alone, the pause would not do: what the master
        # writes waits in the paused replica's socket, and the replica reads it when it resumes).
        replica.pause()
        master.client.client_kill_filter(_type="replica")
        cut_off = [tap(clinic, f"Cut off {i}") for i in range(4)]
        if replicas:
            assert [r.status_code for r in cut_off] == [503] * 4
            assert all(r.headers.get("Retry-After") for r in cut_off)
            assert "not yet confirmed by a replica" in cut_off[0].text
        else:
            assert [r.status_code for r in cut_off] == [201] * 4

        # The master dies; the replica comes back and takes its slots over.
        master.kill9()
        replica.resume()
        cluster.take_over(replica)
        server.stop()

        stored = await stored_events(f"redis://127.0.0.1:{replica.port}", CLINICS)
        missing = lost(acknowledged, stored)
        if replicas:
            assert missing == [], "acknowledged taps lost in the failover"
        else:
            # Without the setting, the taps acknowledged while the replica was cut off are gone.
            assert sorted(missing) == sorted((clinic, r.json()["seq"]) for r in cut_off)
    finally:
        server.stop()
        cluster.stop()
