"""A request must arrive in time (floor/web/frames.py HEAD_SECONDS, BODY_SECONDS): uvicorn starts no timer on a
connection until it has answered, so one that sent half a head, or nothing, or a body a byte at a time, was held
for ever, and one host holding a few hundred took every file the server could open (a hostile review). The
deadlines are shortened here; a live socket, once open, is held however long it lasts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

import floor.web.frames as frames
from floor.core.access import Role
from tests.support.in_process_server import InProcessServer
from tests.support.staff import PEOPLE, PIN, test_floors

pytestmark = [pytest.mark.anyio, pytest.mark.server]

SHORT = 0.5  # seconds: the deadlines in these tests


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InProcessServer]:
    monkeypatch.setattr(frames, "HEAD_SECONDS", SHORT)
    monkeypatch.setattr(frames, "BODY_SECONDS", SHORT)
    with InProcessServer(test_floors(tmp_path)) as served:
        person, name = PEOPLE[Role.front_desk]
        served.run(served.floors.sessions.add_staff(person, name, Role.front_desk, PIN, "test"))
        yield served


async def _answer(port: int, pieces: list[bytes], pause: float = 0.0, wait: float = 5.0) -> bytes:
    """What the server answers to `pieces`, sent `pause` seconds apart, until it closes (or `wait` passes)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(pause)
        answer = b""
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), wait)
            if not chunk:
                return answer
            answer += chunk
    except TimeoutError:
        return answer + b"<still open>"
    except ConnectionError:
        return answer
    finally:
        writer.close()


async def test_half_a_head_then_nothing_is_answered_408_and_closed(server: InProcessServer) -> None:
    answer = await _answer(server.port, [b"GET /healthz HTTP/1.1\r\nHost: floor\r\n"])
    assert answer.startswith(b"HTTP/1.1 408") and answer.endswith(b"too long to send."), answer


async def test_a_connection_that_sends_nothing_is_closed(server: InProcessServer) -> None:
    assert (await _answer(server.port, [])).startswith(b"HTTP/1.1 408")


async def test_a_body_sent_too_slowly_is_cut_off(server: InProcessServer) -> None:
    head = b"POST /api/sign-in HTTP/1.1\r\nHost: floor\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    assert (await _answer(server.port, [head, b'{"staff": '])).startswith(b"HTTP/1.1 408")


async def test_the_next_head_on_a_kept_alive_connection_has_its_deadline_too(server: InProcessServer) -> None:
    first = b"GET /healthz HTTP/1.1\r\nHost: floor\r\n\r\n"
    answer = await _answer(server.port, [first, b"GET /healthz HTTP/1.1\r\n"], pause=0.1)
    assert answer.startswith(b"HTTP/1.1 200") and b"HTTP/1.1 408" in answer, answer


async def test_a_head_in_pieces_within_the_deadline_and_a_quiet_kept_alive_connection_are_served(
    server: InProcessServer,
) -> None:
    pieces = [b"GET /healthz HTTP/1.1\r\n", b"Host: floor\r\n", b"Connection: close\r\n\r\n"]
    assert (await _answer(server.port, pieces, pause=SHORT / 4)).startswith(b"HTTP/1.1 200")
    # Answered, then quiet longer than the head's deadline: no 408 (uvicorn's keep-alive closes it in time).
    answer = await _answer(server.port, [b"GET /healthz HTTP/1.1\r\nHost: floor\r\n\r\n"], pause=3 * SHORT, wait=0.1)
    assert answer.startswith(b"HTTP/1.1 200") and b"408" not in answer, answer


@pytest.mark.parametrize("in_pieces", [False, True])
async def test_a_live_socket_is_held_open_past_the_deadlines(server: InProcessServer, in_pieces: bool) -> None:
    """Both ways in: a handshake in one piece (handed to the WebSocket protocol at once) and one in pieces."""
    signed = httpx.post(
        f"{server.url}/api/sign-in", json={"staff": PEOPLE[Role.front_desk][0], "secret": PIN, "device": "t"}
    )
    token = signed.json()["token"]
    url = f"ws://127.0.0.1:{server.port}/api/clinics/riverside/live"
    if in_pieces:
        # A handshake sent in two writes goes through httptools, then is upgraded.
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        key = "dGhlIHNhbXBsZSBub25jZQ=="
        head = (
            f"GET /api/clinics/riverside/live HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Origin: http://127.0.0.1:{server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        writer.write(head[:40])
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(head[40:])
        await writer.drain()
        switched = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert switched.startswith(b"HTTP/1.1 101"), switched
        await asyncio.sleep(3 * SHORT)
        assert not reader.at_eof()
        writer.close()
        return
    async with connect(url, origin=f"http://127.0.0.1:{server.port}") as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["kind"] == "snapshot"
        await asyncio.sleep(3 * SHORT)
        await ws.ping()  # still open
