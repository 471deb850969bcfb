"""Several `floor serve` processes on one Redis make one live floor."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from floor.core.access import Role
from tests.server.conftest import ServerProcess
from tests.support.redis_server import RedisServer

pytestmark = [pytest.mark.anyio, pytest.mark.server, pytest.mark.long]

CLINIC = "riverside"
#: Sent on every clock tick whatever happens on the floor: not updates.
TICKS = frozenset({"heartbeat", "delays", "measures"})
#: The people these tests tap as: a front desk (walk-ins) and a medical assistant (rooms).
DESK, MA = "desk-ana", "ma-ben"
Headers = dict[str, str]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


def two_servers(tmp_path: Path, redis_url: str) -> tuple[ServerProcess, ServerProcess]:
    a = ServerProcess(tmp_path / "a", tmp_path / "a.log", "--redis", redis_url)
    b = ServerProcess(tmp_path / "b", tmp_path / "b.log", "--redis", redis_url)
    a.start()
    b.start()
    return a, b


@pytest.fixture
def servers(tmp_path: Path, redis_server: RedisServer) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    a, b = two_servers(tmp_path, redis_server.url)
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def add_people(server: ServerProcess) -> None:
    """The front desk and the medical assistant, into the directory in Redis that every server shares."""
    server.add_many([(DESK, Role.front_desk), (MA, Role.medical_assistant)])


def sign_in_people(on: ServerProcess, device: str = "tablet") -> tuple[Headers, Headers]:
    """The desk's and the assistant's headers: signed in on one server, good on every server of the Redis."""
    return on.sign_in(DESK, f"desk-{device}"), on.sign_in(MA, f"ma-{device}")


@pytest.fixture
def people(servers: tuple[ServerProcess, ServerProcess]) -> tuple[Headers, Headers]:
    a, b = servers
    add_people(a)
    return sign_in_people(b)


async def _recv(ws, timeout: float = 10.0) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message["kind"] not in TICKS:
            return message


def walk_in(url: str, name: str, desk: Headers, clinic: str = CLINIC) -> httpx.Response:
    return httpx.post(
        f"{url}/api/clinics/{clinic}/visits",
        headers=desk,
        json={"patient_name": name, "provider": "kim", "visit_type": "follow", "walk_in": True},
    )


async def check_taps_on_a_reach_sockets_on_b_in_order(
    a: ServerProcess, b: ServerProcess, clinic: str, desk: Headers
) -> None:
    async with connect(f"{b.ws_url}/api/clinics/{clinic}/live", additional_headers=desk) as ws:
        start = (await _recv(ws))["seq"]
        seqs = []
        for i in range(10):
            r = await asyncio.to_thread(walk_in, a.url, f"Patient {i}", desk, clinic)
            assert r.status_code == 201, r.text
            seqs.append(r.json()["seq"])
        assert seqs == list(range(start + 1, start + 11))
        got = [await _recv(ws) for _ in seqs]
        assert [m["kind"] for m in got] == ["event"] * 10
        assert [m["seq"] for m in got] == seqs
    board = httpx.get(f"{b.url}/api/clinics/{clinic}/board", headers=desk).json()
    assert board["seq"] == seqs[-1] and not board["stale"]


def check_conflicting_taps_on_a_and_b_one_wins(
    a: ServerProcess, b: ServerProcess, clinic: str, desk: Headers, ma: Headers
) -> None:
    for round_ in range(5):
        r = walk_in(a.url, f"Race {round_}", desk, clinic)
        visit = r.json()["visit"]["id"]
        barrier = threading.Barrier(2)

        def room(
            server: ServerProcess, room_id: str, visit: str = visit, barrier: threading.Barrier = barrier
        ) -> httpx.Response:
            barrier.wait()
            return httpx.post(
                f"{server.url}/api/clinics/{clinic}/visits/{visit}/events",
                json={"type": "roomed", "room": room_id},
                headers=ma,
            )

        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(room, [a, b], ["e1", "e2"]))
        assert sorted(x.status_code for x in answers) == [201, 409], [x.text for x in answers]
        history = httpx.get(f"{b.url}/api/clinics/{clinic}/visits/{visit}", headers=ma).json()
        assert [e["change"].get("step") for e in history["events"]].count("roomed") == 1
        room_id = history["visit"]["room"]
        assert (
            httpx.post(
                f"{a.url}/api/clinics/{clinic}/visits/{visit}/events",
                headers=ma,
                json={"type": "left_without_being_seen"},
            ).status_code
            == 201
        )
        assert (
            httpx.post(
                f"{b.url}/api/clinics/{clinic}/rooms/{room_id}/events", headers=ma, json={"type": "ready"}
            ).status_code
            == 201
        )


async def test_a_tap_on_one_server_reaches_a_socket_on_the_other_in_order(servers, people) -> None:
    desk, _ = people
    await check_taps_on_a_reach_sockets_on_b_in_order(*servers, CLINIC, desk)


def test_conflicting_taps_on_two_servers_exactly_one_succeeds(servers, people) -> None:
    check_conflicting_taps_on_a_and_b_one_wins(*servers, CLINIC, *people)


def test_an_idempotency_key_holds_across_servers(servers, people) -> None:
    a, b = servers
    desk, _ = people
    visit = walk_in(a.url, "Ann Lee", desk).json()["visit"]["id"]
    headers = {"Idempotency-Key": "tablet-3-tap-9", **desk}
    first = httpx.post(
        f"{a.url}/api/clinics/{CLINIC}/visits/{visit}/events", json={"type": "left_without_being_seen"}, headers=headers
    )
    again = httpx.post(
        f"{b.url}/api/clinics/{CLINIC}/visits/{visit}/events", json={"type": "left_without_being_seen"}, headers=headers
    )
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
