"""A request's head (request line and headers) is held to floor/web/frames.py HEAD_LIMIT bytes and HEADERS_LIMIT
headers over the network: past either, 431 and the connection closes, before the rest is read. uvicorn's own
HTTP protocol had no limit: one 100 MB header from anyone, signed in or not, took the server to 719 MB and
stalled every clinic's taps (a hostile review)."""

from __future__ import annotations

import asyncio

import pytest

from floor.web.frames import HEAD_LIMIT, HEADERS_LIMIT
from tests.server.conftest import ServerProcess

pytestmark = [pytest.mark.anyio, pytest.mark.server]


async def _exchange(port: int, pieces: list[bytes]) -> bytes:
    """Everything the server answers to `pieces`, sent one after another (looking for an answer after each, as
    one sent on a closed connection resets it), until it closes or goes quiet."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = b""
    try:
        for i, piece in enumerate(pieces):
            writer.write(piece)
            await writer.drain()
            wait = 5 if i == len(pieces) - 1 else 0.05
            while True:
                try:
                    chunk = await asyncio.wait_for(reader.read(65536), wait)
                except TimeoutError:
                    break
                if not chunk:
                    return answer
                answer += chunk
                wait = 0.5
        return answer
    except ConnectionError:
        return answer
    finally:
        writer.close()


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _get(port: int, *headers: str, close: bool = True) -> bytes:
    lines = ["GET /healthz HTTP/1.1", f"Host: 127.0.0.1:{port}", *headers]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def test_a_header_past_the_limit_is_refused_431_before_it_is_all_read(server: ServerProcess) -> None:
    start = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nX-Big: ".encode()
    # 4 MiB sent in 64 KiB pieces: the answer comes after the limit, not after the end.
    answer = await _exchange(server.port, [start, *([b"a" * 65536] * 64), b"\r\n\r\n"])
    assert _status(answer) == 431, answer[:200]
    assert b"too large" in answer
    # The server goes on serving everyone else.
    assert _status(await _exchange(server.port, [_get(server.port)])) == 200


async def test_more_headers_than_the_limit_are_refused_431(server: ServerProcess) -> None:
    many = [f"X-H{i}: v" for i in range(HEADERS_LIMIT + 1)]
    assert _status(await _exchange(server.port, [_get(server.port, *many)])) == 431
    assert _status(await _exchange(server.port, [_get(server.port, *many[: HEADERS_LIMIT - 5])])) == 200


async def test_heads_under_the_limit_and_bodies_sent_with_them_are_served_as_before(server: ServerProcess) -> None:
    near = "X-Near: " + "a" * (HEAD_LIMIT - 1024)
    assert _status(await _exchange(server.port, [_get(server.port, near)])) == 200
    # A body sent in the same write as its head counts against the body's own limit, not the head's.
    body = b'{"staff": "' + b"a" * (HEAD_LIMIT + 1000) + b'"}'
    post = (
        f"POST /api/sign-in HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    assert _status(await _exchange(server.port, [post])) == 413
    # Two requests on one connection: the limit is each head's, not the connection's.
    half = "X-Half: " + "a" * (HEAD_LIMIT // 2)
    answer = await _exchange(server.port, [_get(server.port, half, close=False), _get(server.port, half)])
    assert answer.count(b"HTTP/1.1 200") == 2, answer[:300]


@pytest.mark.parametrize("kib", [66, 100, 120])
async def test_a_head_past_the_limit_sent_in_one_piece_is_refused_as_well(server: ServerProcess, kib: int) -> None:
    """Whatever pieces the network brings a head in: counted as parsed too, not only while bytes arrive before
    the head is whole (a head ending in the same read as its last 64 KiB passed up to 130 KB: a review)."""
    big = "X-Big: " + "a" * (kib * 1024)
    assert _status(await _exchange(server.port, [_get(server.port, big)])) == 431
