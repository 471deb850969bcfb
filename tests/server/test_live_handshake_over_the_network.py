"""A live socket's handshake over the network, by either road into the server: whole in the connection's first
bytes (floor.web.frames.FloorHttpProtocol hands it to the WebSocket protocol unparsed), or in pieces (through
uvicorn's HTTP parser first). Both refuse a bad origin and a bad token alike, and tag the log with the request
id; a plain request for the path is still Litestar's."""

from __future__ import annotations

import asyncio
import base64
import json
import os

import httpx
import pytest

from floor.core.access import Role
from floor.web.frames import live_handshake
from tests.server.conftest import ServerProcess, token_of

pytestmark = [pytest.mark.anyio, pytest.mark.server]

CLINIC = "riverside"


def _head(port: int, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _handshake(server: ServerProcess, headers: dict[str, str], pieces: bool, first: str | None = None):
    """(HTTP status, the first frame's opcode and payload, or None) of a raw handshake."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        head = _head(server.port, f"/api/clinics/{CLINIC}/live", headers)
        if pieces:  # as a slow network might deliver it: uvicorn's HTTP parser reads it first
            writer.write(head[:40])
            await writer.drain()
            await asyncio.sleep(0.2)
            writer.write(head[40:])
        else:
            writer.write(head)
        response = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        status = int(response.split(b" ", 2)[1])
        if status != 101:
            return status, None
        if first is not None:
            payload = first.encode()
            mask = os.urandom(4)
            writer.write(
                bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            )
        b0, b1 = await asyncio.wait_for(reader.readexactly(2), 5)
        length = b1 & 0x7F
        if length == 126:
            length = int.from_bytes(await reader.readexactly(2), "big")
        elif length == 127:
            length = int.from_bytes(await reader.readexactly(8), "big")
        return status, (b0 & 0x0F, await reader.readexactly(length))
    finally:
        writer.close()


@pytest.mark.parametrize("pieces", [False, True], ids=["whole", "in-pieces"])
async def test_a_live_handshake_is_judged_alike_whole_or_in_pieces(server: ServerProcess, pieces: bool) -> None:
    desk = server.signed_in(Role.front_desk)
    # Header names as a client may send them; the origin check reads them all the same.
    refused = {**desk, "ORIGIN": "https://evil.example", "X-Request-Id": f"req-evil-{pieces}"}
    assert await _handshake(server, refused, pieces) == (403, None)
    status, (opcode, payload) = await _handshake(server, {"Authorization": "Bearer " + "x" * 43}, pieces)
    assert (status, opcode, int.from_bytes(payload[:2], "big")) == (101, 0x8, 4401)
    status, (opcode, payload) = await _handshake(
        server,
        {"Origin": f"http://127.0.0.1:{server.port}"},
        pieces,
        json.dumps({"type": "auth", "token": token_of(desk)}),
    )
    assert (status, opcode, json.loads(payload)["kind"]) == (101, 0x1, "snapshot")
    await asyncio.sleep(0.2)
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    origin = [line for line in lines if line.get("event") == "socket_origin_refused"]
    assert [(line["request_id"], line["clinic"]) for line in origin] == [(f"req-evil-{pieces}", CLINIC)]
    assert token_of(desk) not in server.log()


async def test_a_plain_request_for_the_live_path_is_answered_as_any_http_request(server: ServerProcess) -> None:
    desk = server.signed_in(Role.front_desk)
    answer = await asyncio.to_thread(httpx.get, f"{server.url}/api/clinics/{CLINIC}/live", headers=desk)
    # Litestar's answer for a socket's route asked for over plain HTTP, not a WebSocket protocol's 400 or 426.
    assert answer.status_code == 405


def test_only_a_whole_websocket_handshake_for_a_clinic_path_is_handed_over_unparsed() -> None:
    whole = _head(8000, "/api/clinics/riverside/live?since=3", {"Authorization": "Bearer abc"})
    assert live_handshake(whole)
    assert live_handshake(whole + b"\x81\x85")  # a frame already behind it
    assert live_handshake(whole.replace(b"Upgrade: websocket", b"upgrade:WebSocket"))
    assert live_handshake(whole.replace(b"Connection: Upgrade", b"connection: keep-alive, Upgrade"))
    assert not live_handshake(whole[:-2])  # not whole yet
    assert not live_handshake(whole.replace(b"GET /api/clinics/", b"GET /api/people/"))
    assert not live_handshake(whole.replace(b"GET ", b"POST "))
    assert not live_handshake(whole.replace(b"Upgrade: websocket\r\n", b""))
    assert not live_handshake(whole.replace(b"Connection: Upgrade", b"Connection: keep-alive"))
    assert not live_handshake(whole.replace(b"Upgrade: websocket", b"Upgrade: websocketx"))
