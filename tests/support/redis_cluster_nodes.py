"""A Redis Cluster of real `redis-server` processes for tests: each node on its own free port pair and in its own
directory (nodes that share a directory share `nodes.conf`, `appendonlydir/` and `dump.rdb`, and a restarted
node loads another's data), joined with `redis-cli --cluster create`, stopped at the end.

    with cluster_of(tmp_path, masters=3, node_timeout_ms=1000) as nodes:
        url = urls(nodes)                      # redis://127.0.0.1:p1,redis://127.0.0.1:p2,...
        node = owner(nodes, "floor:{north}:log")
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.support.redis_server import RedisServer, free_cluster_port


@contextlib.contextmanager
def cluster_of(directory: Path, *args: str, masters: int = 3, replicas: int = 0,
               node_timeout_ms: int = 1000) -> Iterator[list[RedisServer]]:
    """Start `masters * (1 + replicas)` nodes, each with `args`, and join them; the nodes, masters first as
    `redis-cli` assigned them."""
    nodes: list[RedisServer] = []
    try:
        for i in range(masters * (1 + replicas)):
            nodes.append(RedisServer(directory / f"node{i}", "--cluster-enabled", "yes", "--cluster-config-file",
                                     "nodes.conf", "--cluster-node-timeout", str(node_timeout_ms), *args,
                                     port=free_cluster_port()).start())
        subprocess.run(["redis-cli", "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in nodes),
                        "--cluster-replicas", str(replicas), "--cluster-yes"],
                       check=True, capture_output=True, timeout=60)
        wait_ok(nodes)
        if replicas:
            wait_replicas_in_sync(nodes)
        yield nodes
    finally:
        for n in nodes:
            n.stop()


def wait_ok(nodes: list[RedisServer], timeout: float = 30) -> None:
    """Until every running node says cluster_state:ok."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if all(redis.Redis(port=n.port, socket_timeout=1).cluster("info")["cluster_state"] == "ok"
                   for n in nodes if n.proc is not None):
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the cluster did not come up")


def wait_replicas_in_sync(nodes: list[RedisServer], timeout: float = 30) -> None:
    """Until every running replica's link to its master is up: one that never synced will not take over."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        infos = [redis.Redis(port=n.port).info("replication") for n in nodes if n.proc is not None]
        if all(i.get("master_link_status") == "up" for i in infos if i["role"] == "slave"):
            return
        time.sleep(0.1)
    raise RuntimeError("the replicas did not sync")


def urls(nodes: list[RedisServer]) -> str:
    """Every node's URL, comma-separated: what FLOOR_REDIS_URL may list."""
    return ",".join(f"redis://127.0.0.1:{n.port}" for n in nodes)


def owner(nodes: list[RedisServer], key: str) -> RedisServer:
    """The node that serves the key's slot (asked of any running node)."""
    client = next(redis.Redis(port=n.port) for n in nodes if n.proc is not None)
    slot = client.cluster("keyslot", key)
    for first, last, master, *_ in client.execute_command("CLUSTER", "SLOTS"):
        if first <= slot <= last:
            return next(n for n in nodes if n.port == master[1])
    raise RuntimeError(f"no node serves slot {slot}")
