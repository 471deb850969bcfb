"""A Redis whose memory runs short, against a real `floor serve`.

Set to evict keys when full (`maxmemory-policy` other than `noeviction`, as most managed Redis services are by
default), Redis throws Floor's keys away: with `allkeys-lru` a full Redis evicted a clinic's whole log and its seq,
and the servers went on acknowledging taps from seq 1; with `volatile-lru` it evicted the idempotency receipts
and sign-ins, and a tablet's retry with its Idempotency-Key was stored as a second patient. Floor now refuses to
start on such a Redis, saying what to set, and /readyz says so when it is set while the servers run."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import redis

from floor.core.access import Role
from tests.server.conftest import ServerProcess
from tests.support.redis_server import RedisServer

pytestmark = [pytest.mark.server]


def _ready(server: ServerProcess) -> tuple[int, list[str]]:
    r = httpx.get(f"{server.url}/readyz", timeout=10)
    return r.status_code, r.json()["problems"]


@pytest.mark.parametrize("policy", ["volatile-lru", "allkeys-lru"])
def test_floor_does_not_start_on_a_redis_that_evicts_keys_when_full(tmp_path: Path, policy: str) -> None:
    store = RedisServer(tmp_path / "redis", "--maxmemory", "64mb", "--maxmemory-policy", policy).start()
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log", "--redis", store.url)
    try:
        with pytest.raises(RuntimeError, match="exited with 1"):
            server.start()
        said = server.log()
        assert f"floor: cannot start: Redis node 127.0.0.1:{store.port} evicts keys when full" in said
        assert f"maxmemory-policy {policy}" in said and "set maxmemory-policy noeviction" in said
    finally:
        server.stop()
        store.stop()


def test_readyz_says_so_when_redis_is_set_to_evict_while_floor_serves(tmp_path: Path) -> None:
    # Redis's own default: a memory limit, and nothing evicted (a write past it is refused).
    store = RedisServer(tmp_path / "redis", "--maxmemory", "64mb", "--maxmemory-policy", "noeviction").start()
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log", "--redis", store.url)
    client = redis.Redis.from_url(store.url)
    try:
        server.start()
        assert _ready(server) == (200, [])
        client.config_set("maxmemory-policy", "volatile-ttl")
        status, problems = _ready(server)
        assert status == 503
        assert problems == [
            f"Redis node 127.0.0.1:{store.port} evicts keys when full (maxmemory-policy volatile-ttl, maxmemory "
            f"{64 * 1024 * 1024} bytes): it would throw away acknowledged taps, idempotency receipts and sign-ins; "
            "set maxmemory-policy noeviction"
        ]
        # No limit: nothing is ever evicted, whatever the policy.
        client.config_set("maxmemory", 0)
        assert _ready(server) == (200, [])
    finally:
        client.close()
        server.stop()
        store.stop()


def test_readyz_says_so_while_a_full_redis_refuses_every_tap(tmp_path: Path) -> None:
    # A Redis that evicts nothing refuses every write once it is past its maxmemory (OOM): each tap was a 503, and
    # /readyz said ready the whole time (PING and INFO are no writes).
    store = RedisServer(tmp_path / "redis", "--maxmemory-policy", "noeviction").start()
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log", "--redis", store.url)
    client = redis.Redis.from_url(store.url)
    try:
        server.start()
        desk = server.signed_in(Role.front_desk)

        def walk_in(name: str) -> httpx.Response:
            return httpx.post(
                f"{server.url}/api/clinics/riverside/visits",
                headers={**desk, "Idempotency-Key": name},
                json={"patient_name": name, "provider": "kim", "visit_type": "follow", "walk_in": True},
                timeout=10,
            )

        assert walk_in("Ann Lee").status_code == 201
        limit = int(client.info("memory")["used_memory"]) // 2  # under what Redis holds already
        client.config_set("maxmemory", limit)
        refused = walk_in("Bo Chen")
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        status, problems = _ready(server)
        assert status == 503
        assert len(problems) == 1 and problems[0].startswith(f"Redis node 127.0.0.1:{store.port} is full (used_memory ")
        assert problems[0].endswith(
            f"maxmemory {limit}): it refuses every tap (503) until memory is freed or maxmemory raised"
        )
        client.config_set("maxmemory", 0)
        assert _ready(server) == (200, [])
        assert walk_in("Bo Chen").status_code == 201
    finally:
        client.close()
        server.stop()
        store.stop()
