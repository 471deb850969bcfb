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
    """What the server answers to `pieces`, sent `pause` seconds apart while its answer is read, until it closes
    (or goes quiet for `wait` seconds: then `<still open>` ends it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def send() -> None:
        try:
            for piece in pieces:
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(pause)
        except ConnectionError:
            pass  # closed by the server mid-way: what it said is read below

    sending = asyncio.create_task(send())
    answer = b""
    try:
        while True:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), wait + pause * len(pieces))
            except TimeoutError:
                return answer + b"<still open>"
            if not chunk:
                return answer
            answer += chunk
    except ConnectionError:
        return answer
    finally:
        sending.cancel()
        writer.close()


async def test_half_a_head_then_nothing_is_answered_408_and_closed(server: InProcessServer) -> None:
    answer = await _answer(server.port, [b"GET /healthz HTTP/1.1\r\nHost: floor\r\n"])
    assert answer.startswith(b"HTTP/1.1 408") and answer.endswith(b'too long to send."}'), answer


async def test_a_connection_that_sends_nothing_is_closed(server: InProcessServer) -> None:
    assert (await _answer(server.port, [])).startswith(b"HTTP/1.1 408")


async def test_a_body_silent_too_long_is_cut_off(server: InProcessServer) -> None:
    head = b"POST /api/sign-in HTTP/1.1\r\nHost: floor\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    assert (await _answer(server.port, [head, b'{"staff": '])).startswith(b"HTTP/1.1 408")


async def test_a_body_arriving_steadily_is_read_however_long_it_takes_within_its_most(
    server: InProcessServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = b'{"staff": "desk-ana", "secret": "wrong", "device": "t"}'
    head = (
        b"POST /api/sign-in HTTP/1.1\r\nHost: floor\r\nContent-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    # Four times the silence allowed in all, a piece every half of it: answered, not cut off.
    pieces = [head, *(body[i : i + 7] for i in range(0, len(body), 7))]
    answer = await _answer(server.port, pieces, pause=SHORT / 2)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:80]
    # But not for ever.
    monkeypatch.setattr(frames, "BODY_MOST_SECONDS", 2 * SHORT)
    assert (await _answer(server.port, pieces, pause=SHORT / 2)).startswith(b"HTTP/1.1 408")


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
    port = server.port
    relay = None
    if in_pieces:
        # Through a relay that sends the client's first bytes (the handshake) in two writes: httptools reads it,
        # then it is upgraded.
        relay = await asyncio.start_server(_split_first_write(server.port), "127.0.0.1", 0)
        port = relay.sockets[0].getsockname()[1]
    try:
        url = f"ws://127.0.0.1:{port}/api/clinics/riverside/live"
        async with connect(url, origin=f"http://127.0.0.1:{port}") as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["kind"] == "snapshot"
            await asyncio.sleep(3 * SHORT)
            await asyncio.wait_for(await ws.ping(), 5)  # answered: still open
    finally:
        if relay is not None:
            relay.close()


def _split_first_write(upstream_port: int):
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", upstream_port)

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, split: bool) -> None:
            try:
                while data := await reader.read(65536):
                    if split:
                        writer.write(data[:40])
                        await writer.drain()
                        await asyncio.sleep(0.05)
                        data, split = data[40:], False
                    writer.write(data)
                    await writer.drain()
            except ConnectionError:
                pass
            finally:
                writer.close()

        await asyncio.gather(pipe(client_reader, server_writer, True), pipe(server_reader, client_writer, False))

    return handle
