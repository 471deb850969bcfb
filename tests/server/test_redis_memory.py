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
