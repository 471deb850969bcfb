"""Two servers on one Redis directory, each remembering the sign-ins it checked: a token signed out through
one is refused by the other within the revision poll's half second, and a remembered token goes on working
while the directory cannot be reached (its node paused or failing over)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from litestar.testing import TestClient
from redis import exceptions as e

from floor.config import demo_clinic
from floor.core.access import Role
from floor.directory.redis import RedisDirectory
from floor.floors import SESSION_CHECK_SECONDS, Floors
from floor.log.embedded import EmbeddedLog
from floor.web.app import create_app
from tests.support.redis_server import forget_prefix
from tests.support.staff import cheapen, sign_in
from tests.web.test_redis_unavailable_answers import Raising

CLINIC = "riverside"


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    anyio.run(forget_prefix, redis_url, prefix)


def _two_servers(tmp_path: Path, redis_url: str, prefix: str) -> list[Floors]:
    return [
        cheapen(
            Floors(
                [demo_clinic()],
                EmbeddedLog(tmp_path / name),
                tick_seconds=3600,
                directory=RedisDirectory(redis_url, prefix=prefix),
            )
        )
        for name in ("a", "b")
    ]


def _refused_within(client: TestClient, headers: dict[str, str], limit: float) -> float:
    began = time.monotonic()
    while time.monotonic() - began < limit:
        if client.get("/api/me", headers=headers).status_code == 401:
            return time.monotonic() - began
        time.sleep(0.02)
    raise AssertionError(f"still signed in after {limit} s")


def test_a_token_signed_out_through_one_server_is_refused_by_the_other_within_half_a_second(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    servers = _two_servers(tmp_path, redis_url, prefix)
    with TestClient(create_app(servers[0])) as a, TestClient(create_app(servers[1])) as b:
        desk = sign_in(b, servers[1], Role.front_desk)
        time.sleep(2 * SESSION_CHECK_SECONDS)  # A has polled the revision: what it checks, it remembers
        for _ in range(3):
            assert a.get("/api/me", headers=desk).status_code == 200
        assert servers[0].sessions._known  # remembered on A

        assert b.post("/api/sign-out", headers=desk).status_code == 204
        took = _refused_within(a, desk, 2.0)
        assert took < SESSION_CHECK_SECONDS + 0.5, took


def test_a_remembered_token_works_while_the_directory_cannot_be_reached(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    servers = _two_servers(tmp_path, redis_url, prefix)
    with TestClient(create_app(servers[0])) as a:
        desk = sign_in(a, servers[0], Role.front_desk)
        time.sleep(2 * SESSION_CHECK_SECONDS)
        assert a.get("/api/me", headers=desk).status_code == 200
        directory = servers[0].sessions.directory
        real, directory.redis = directory.redis, Raising(e.TimeoutError("Timeout reading from socket"))
        try:
            # The directory's node does not answer: the tablet that signed in before goes on tapping...
            tapped = a.post(
                f"/api/clinics/{CLINIC}/visits",
                json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True},
                headers={**desk, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert tapped.status_code == 201, tapped.text
            # ...while a sign-in, which needs the directory, is told to try again.
            fresh = a.post("/api/sign-in", json={"staff": "desk-ana", "secret": "2468", "device": "t2"})
            assert fresh.status_code == 503 and fresh.headers["Retry-After"]
        finally:
            directory.redis = real


def test_a_wall_moved_to_another_zone_through_one_server_follows_on_the_other(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    """A wall watching server A is moved to the west through server B: A's socket gets the west's snapshot within
    the revision poll's half second, still paired."""
    import json

    west = {r.id for r in demo_clinic().rooms if r.zone == "west"}
    servers = _two_servers(tmp_path, redis_url, prefix)
    with TestClient(create_app(servers[0])) as a, TestClient(create_app(servers[1])) as b:
        manager = sign_in(b, servers[1], Role.manager)
        pairing = a.post("/api/displays/pairings").json()
        body = {"code": pairing["code"], "clinic": CLINIC, "zone": "east"}
        display = b.post("/api/displays", json=body, headers=manager).json()["id"]
        token = a.post("/api/displays/pairings/claim", json={"claim": pairing["claim"]}).json()["token"]
        with a.websocket_connect(f"/api/clinics/{CLINIC}/live") as wall:
            wall.send_text(json.dumps({"type": "auth", "token": token}))
            first = json.loads(wall.receive_text(timeout=5))
            assert first["kind"] == "snapshot" and first["board"]["zone"] == "east"
            began = time.monotonic()
            moved = b.put(f"/api/displays/{display}", json={"label": "West", "zone": "west"}, headers=manager)
            assert moved.status_code == 200, moved.text
            while (message := json.loads(wall.receive_text(timeout=5)))["kind"] != "snapshot":
                pass
            assert message["board"]["zone"] == "west" and {r["id"] for r in message["board"]["rooms"]} == west
            assert time.monotonic() - began < SESSION_CHECK_SECONDS + 1.0
