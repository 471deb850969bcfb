"""The fan-out benchmark's tablet (loadtests/fanout.py `LeanTablet`): one write per tap on a keep-alive HTTP/1.1
connection, its answers read whole however the bytes are split, one after another on the same connection."""

from __future__ import annotations

import asyncio
import json

from loadtests.fanout import LeanTablet


async def _served(answers: list[list[bytes]], seen: list[bytes]) -> tuple[asyncio.Server, int]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for pieces in answers:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(x.split(b":")[1]) for x in head.split(b"\r\n") if x.lower().startswith(b"content-length"))
            seen.append(head + await reader.readexactly(length))
            for piece in pieces:  # the answer in pieces, as a busy loopback may deliver it
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.01)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_the_lean_tablet_reads_split_answers_in_turn_on_one_connection() -> None:
    first = json.dumps({"seq": 7, "visit": {"id": "v1"}}).encode()
    second = b'{"seq":8}'
    answers = [
        [
            b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\nCon",
            b"tent-Length: %d\r\n\r\n" % len(first),
            first[:5],
            first[5:],
        ],
        [b"HTTP/1.1 409 Conflict\r\nContent-Length: %d\r\n\r\n%s" % (len(second), second)],
    ]

    async def run() -> tuple[list, list[bytes]]:
        seen: list[bytes] = []
        server, port = await _served(answers, seen)
        async with server:
            _, tablet = await asyncio.get_running_loop().create_connection(
                lambda: LeanTablet(f"127.0.0.1:{port}", {"Authorization": "Bearer t"}), "127.0.0.1", port
            )
            got = [await tablet.post("/api/x", {"a": 1}), await tablet.post("/api/y", {"b": 2})]
            tablet.transport.close()
        return got, seen

    got, seen = asyncio.run(run())
    (t1, status1, body1), (t2, status2, body2) = got
    assert (status1, body1) == (201, {"seq": 7, "visit": {"id": "v1"}})
    assert (status2, body2) == (409, {"seq": 8})
    assert t1 < t2
    assert seen[0].startswith(b"POST /api/x HTTP/1.1\r\n") and b"Authorization: Bearer t\r\n" in seen[0]
    assert seen[0].endswith(b'\r\n\r\n{"a":1}') and seen[1].endswith(b'{"b":2}')
