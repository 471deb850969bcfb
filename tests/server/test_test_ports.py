"""The tests' own Redis and Floor servers: a port taken between the pick and the bind is picked again, and a Redis
server never mistakes another process's Redis on its port for itself (a flake seen in CI: "Address already in
use")."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
import redis

from tests.server.conftest import ServerProcess
from tests.support import redis_server
from tests.support.redis_server import PortTaken, RedisServer, ephemeral_low, free_cluster_port


def test_a_port_taken_after_the_pick_is_picked_again(tmp_path: Path) -> None:
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    try:
        server = RedisServer(tmp_path / "redis")
        server.port = squatter.getsockname()[1]  # as if another process bound it after free_port chose it
        server.start()
        try:
            assert server.port != squatter.getsockname()[1]
            assert "Address already in use" in (tmp_path / "redis" / "redis.log").read_text()
        finally:
            server.stop()
    finally:
        squatter.close()


def test_a_port_the_test_gave_is_not_changed(tmp_path: Path) -> None:
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    try:
        with pytest.raises(PortTaken):
            RedisServer(tmp_path / "redis", port=squatter.getsockname()[1]).start()
    finally:
        squatter.close()


def test_another_redis_on_the_port_is_not_taken_for_this_one(tmp_path: Path) -> None:
    first = RedisServer(tmp_path / "first").start()
    try:
        second = RedisServer(tmp_path / "second")
        second.port = first.port
        second.start()
        try:
            assert second.port != first.port
        finally:
            second.stop()
    finally:
        first.stop()


def test_cluster_ports_and_their_bus_ports_lie_below_the_ephemeral_range() -> None:
    for _ in range(50):
        port = free_cluster_port()
        assert port >= 10000 and port + 10000 < ephemeral_low()


def test_a_floor_server_whose_port_was_taken_after_the_pick_starts_on_another(tmp_path: Path) -> None:
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log")
    server.port = squatter.getsockname()[1]
    try:
        server.start()
        assert server.port != squatter.getsockname()[1]
        assert "address already in use" in server.log().lower()
    finally:
        server.stop()
        squatter.close()


def test_a_floor_server_on_a_port_another_floor_server_holds_starts_on_another(tmp_path: Path) -> None:
    """The other server answers 401 too: only this process's own word that it listens counts (a review)."""
    first = ServerProcess(tmp_path / "a", tmp_path / "a.log")
    first.start()
    second = ServerProcess(tmp_path / "b", tmp_path / "b.log")
    second.port = first.port
    try:
        second.start()
        assert second.port != first.port and second.proc is not None and second.proc.poll() is None
        assert httpx.get(f"{second.url}/healthz", timeout=10).status_code == 200
    finally:
        second.stop()
        first.stop()


def test_a_restarted_redis_is_not_started_while_it_still_loads_its_data(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "r").start()
    client = redis.Redis(port=server.port, socket_timeout=5)
    try:
        client.mset({f"k{i}": "x" * 64 for i in range(4000)})
        client.save()
        server.kill9()
        # a data set that takes a moment to load (what a kill -9 after an AOF rewrite of a big log meets)
        server.args = ("--key-load-delay", "500", "--loading-process-events-interval-bytes", "1024")
        server.start()
        assert client.info("persistence")["loading"] == 0, "start() returned while the data set is still loading"
    finally:
        client.close()
        server.stop()


def test_cluster_ports_on_a_host_whose_ephemeral_range_starts_low(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_server, "ephemeral_low", lambda: 1024)  # net.ipv4.ip_local_port_range = 1024 65535
    held = []
    try:
        for _ in range(3):  # three cluster nodes, each keeping its port and bus port bound
            port = free_cluster_port()
            for p in (port, port + 10000):
                s = socket.socket()
                s.bind(("127.0.0.1", p))
                held.append(s)
    finally:
        for s in held:
            s.close()
