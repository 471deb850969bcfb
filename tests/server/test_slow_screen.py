"""A screen that stops reading never holds up the others: it is resynced when its queue overflows, and closed
with CLOSE_TOO_SLOW (4408) if it still cannot take anything. Over real sockets, on the server's own uvicorn
configuration (floor.cli.serve.uvicorn_server), in this process so that the test can see the server's side of
each socket.

The slow screen shrinks its receive buffer and stops reading; the tablets tap until the server has filled
the kernel's buffers, the transport's and the screen's bounded queue. The fast screens must receive every tap
before the next one is made, so a fan-out that waited on the slow screen would stall the test at once.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from floor.close_codes import CLOSE_TOO_SLOW
from floor.core.access import Role
from floor.fanout import RESYNC, Hub
from floor.web import frames
from tests.support.in_process_server import InProcessServer
from tests.support.staff import PEOPLE, PIN, test_floors

pytestmark = pytest.mark.server

CLINIC = "riverside"
QUEUE_LIMIT = 8
#: More taps than any kernel and transport buffering on loopback with a 4 KiB receive buffer needs.
MAX_TAPS = 3000


class StalledScreen:
    """A screen over a raw socket with a tiny receive buffer, that reads only when told to; offering per-message
    deflate when `deflate` (as browsers do)."""

    def __init__(self, port: int, token: str, deflate: bool = False) -> None:
        offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if deflate else ""
        self.inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /api/clinics/{CLINIC}/live HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                f"Sec-WebSocket-Key: {key}\r\nAuthorization: Bearer {token}\r\n{offer}\r\n"
            ).encode()
        )
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(4096)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        assert (b"permessage-deflate" in head.lower()) == deflate, head

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection without a close frame")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def frame(self) -> tuple[int, bytes]:
        """The next frame: (opcode, payload), a compressed message's inflated (every message is one frame)."""
        b0, b1 = self._read(2)
        length = b1 & 0x7F
        if length == 126:
            length = int.from_bytes(self._read(2), "big")
        elif length == 127:
            length = int.from_bytes(self._read(8), "big")
        payload = self._read(length)
        if b0 & 0x40:  # RSV1: compressed
            payload = self.inflate.decompress(payload + b"\x00\x00\xff\xff")
        return b0 & 0x0F, payload

    def message(self) -> dict | int:
        """The next text message, or the close code if the server closed; pings are skipped."""
        while True:
            opcode, payload = self.frame()
            if opcode == 1:
                return json.loads(payload)
            if opcode == 8:
                self.reason = payload[2:].decode()
                return int.from_bytes(payload[:2], "big")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(params=[False, True], ids=["shared frames", "per-message deflate"])
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[InProcessServer]:
    """The server as it runs by default, and with FLOOR_WS_DEFLATE=1: a socket with deflate takes no shared
    frame, and its sender waits in the server's send; the same screen that stopped reading was counted too slow
    and never closed."""
    floors = test_floors(tmp_path, hub=Hub(queue_limit=QUEUE_LIMIT))
    with InProcessServer(floors, ws_deflate=request.param) as server:
        person, name = PEOPLE[Role.front_desk]
        server.run(floors.sessions.add_staff(person, name, Role.front_desk, PIN, "test"))
        yield server


def _sign_in(client: httpx.Client, device: str) -> str:
    r = client.post("/api/sign-in", json={"staff": PEOPLE[Role.front_desk][0], "secret": PIN, "device": device})
    assert r.status_code == 201, r.text
    return r.json()["token"]


class Tablets:
    """Front-desk tablets tapping walk-ins in turn: each sign-in may write 30 at once, so there are enough."""

    def __init__(self, client: httpx.Client, count: int) -> None:
        self.client = client
        self.headers = [{"Authorization": f"Bearer {_sign_in(client, f'tablet-{n}')}"} for n in range(count)]
        self.taps = 0

    def tap(self) -> int:
        headers = self.headers[self.taps % len(self.headers)]
        self.taps += 1
        r = self.client.post(
            f"/api/clinics/{CLINIC}/visits",
            headers=headers,
            json={"patient_name": f"Pat {self.taps}", "provider": "kim", "visit_type": "follow", "walk_in": True},
        )
        assert r.status_code == 201, r.text
        return r.json()["seq"]


def _until_update(ws: ClientConnection, seq: int) -> None:
    """Read the fast screen up to the update with this seq: every update in order, none skipped."""
    while True:
        message = json.loads(ws.recv(timeout=10))
        if message["kind"] == "event":
            assert message["seq"] <= seq, message["seq"]
            if message["seq"] == seq:
                return


def _open_fast(server: InProcessServer, token: str, stack: contextlib.ExitStack) -> list[ClientConnection]:
    screens = [
        stack.enter_context(
            connect(
                f"ws://127.0.0.1:{server.port}/api/clinics/{CLINIC}/live",
                additional_headers={"Authorization": f"Bearer {token}"},
            )
        )
        for _ in range(3)
    ]
    for ws in screens:
        assert json.loads(ws.recv(timeout=10))["kind"] == "snapshot"
    return screens


def _tap_while(tablets: Tablets, fast: list[ClientConnection], waiting) -> int:
    """Tap until `waiting()` is false; every fast screen gets each tap before the next one is made."""
    seq = 0
    while waiting():
        assert tablets.taps < MAX_TAPS, "the slow screen's queue never overflowed"
        seq = tablets.tap()
        for ws in fast:
            _until_update(ws, seq)
    return seq


class Scene:
    """Tablets, three fast screens, and one screen that has read its snapshot and will now stop reading."""

    def __init__(self, server: InProcessServer, client: httpx.Client, stack: contextlib.ExitStack) -> None:
        self.tablets = Tablets(client, 40)
        watching = _sign_in(client, "fast-screens")
        stalled_token = _sign_in(client, "stalled-screen")
        deflate = server.server.config.ws_per_message_deflate
        self.slow = StalledScreen(server.port, stalled_token, deflate=deflate)
        self.first = self.slow.message()
        assert self.first["kind"] == "snapshot"
        self.sub = server.sub_of(CLINIC, stalled_token)
        # The direct, framed-once path, or (with deflate) the server's own send.
        assert (self.sub.wire is None) == deflate
        self.fast = _open_fast(server, watching, stack)


@contextlib.contextmanager
def scene(server: InProcessServer) -> Iterator[Scene]:
    with (
        httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client,
        contextlib.ExitStack() as stack,
    ):
        made = Scene(server, client, stack)
        try:
            yield made
        finally:
            made.slow.close()


def test_a_screen_that_stops_reading_is_resynced_and_the_others_are_not_held_up(server: InProcessServer) -> None:
    with scene(server) as sc:
        tablets, slow, first, sub, fast = sc.tablets, sc.slow, sc.first, sc.sub, sc.fast

        last = _tap_while(tablets, fast, lambda: sub.resyncs == 0)
        assert sub.ending is None and sub.queue[0] is RESYNC

        # The screen reads again: what was buffered, in order, then a snapshot instead of the dropped backlog.
        seq = first["seq"]
        while True:
            message = slow.message()
            assert isinstance(message, dict), message
            if message["kind"] == "snapshot":
                assert message["seq"] >= last >= seq
                seq = message["seq"]
                break
            if message["kind"] == "event":
                assert message["seq"] == seq + 1, (message["seq"], seq)
                seq = message["seq"]
        # And it is live again, straight after the snapshot.
        later = [tablets.tap() for _ in range(3)]
        got = []
        while len(got) < 3:
            message = slow.message()
            if message["kind"] == "event":
                got.append(message["seq"])
        assert got == later == [seq + 1, seq + 2, seq + 3]
        assert sub.resyncs == 1 and sub.ending is None
        for ws in fast:
            _until_update(ws, later[-1])


def test_a_screen_that_never_reads_again_is_closed_with_a_clear_code(server: InProcessServer) -> None:
    with scene(server) as sc:
        tablets, slow, first, sub, fast = sc.tablets, sc.slow, sc.first, sc.sub, sc.fast

        _tap_while(tablets, fast, lambda: sub.ending is None)
        assert sub.resyncs == 1 and sub.ending == (CLOSE_TOO_SLOW, sub.ending[1])

        # Read now (within the grace the server gives): the updates it had buffered, in order, then the close.
        seq = first["seq"]
        while isinstance(message := slow.message(), dict):
            if message["kind"] == "event":
                assert message["seq"] == seq + 1
                seq = message["seq"]
        assert message == CLOSE_TOO_SLOW
        assert "fell too far behind" in slow.reason
        # The others carry on.
        last = tablets.tap()
        for ws in fast:
            _until_update(ws, last)


def test_a_screen_that_never_reads_again_is_cut_after_the_grace_without_reading_anything(
    server: InProcessServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The close goes after what is buffered, and a screen that reads none of it is cut when the grace is over:
    the server holds nothing for it after that. With per-message deflate the socket was never closed (its sender
    waited in the server's send for a drain that never came) until the pings gave up on it."""
    monkeypatch.setattr(frames, "CLOSE_GRACE", 0.5)
    with scene(server) as sc:
        _tap_while(sc.tablets, sc.fast, lambda: sc.sub.ending is None)
        for _ in range(100):  # 10 s at most; the pings (every 20 s) are not what cuts it
            if sc.sub not in server.floors.hub.subscribers(CLINIC):
                break
            threading.Event().wait(0.1)
        else:
            raise AssertionError("the screen that stopped reading is still subscribed after the grace")
