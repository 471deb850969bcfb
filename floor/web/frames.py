"""Screens' sockets under uvicorn, with one addition: the live feed may write a message's frame, encoded once
for every socket of an audience, straight to a socket's transport.

uvicorn runs each socket with the `websockets` library's sans-I/O protocol (handshake, pings, closing,
reading). Sending through ASGI costs a coroutine chain, a re-encode and a re-frame per socket per message;
with thousands of walls on one clinic that per-socket work is the server's whole load. So this protocol
puts a `FrameWriter` in the socket's ASGI scope (`scope["extensions"]["floor.frames"]`), and the fan-out
writes the same bytes to every socket that can share them. Under any other server (or the test client) the
extension is absent and the feed sends through ASGI as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import socket
import time
from collections import deque
from typing import Any

import msgspec
import structlog
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.utils import ClientDisconnected, get_client_addr, get_path_with_query_string
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

from floor.close_codes import CLOSE_RESTARTING
from floor.fanout import BEHIND, GONE, SENT, Written

log = structlog.get_logger("floor.web")

EXTENSION = "floor.frames"
#: Screens closed so far as the server stops (one server stops once), and when it began closing them.
_CLOSED_ON_SHUTDOWN = itertools.count()
_SHUTDOWN_BEGAN: list[float] = []
#: The reason a stopping server (SIGTERM, a deploy) gives every screen with CLOSE_RESTARTING ("service restart"),
#: with `retry=MS`: when this screen should reconnect (static/lib/feed.js reads it; see `reconnect_after`).
RESTARTING = "the server is restarting: reconnect after retry={ms} ms and resume with since="
#: After a restart, the screens come back this many a second (handshakes a server of ours takes without its
#: listen queue overflowing: a dropped connect is retried by the client's kernel 1, 3, 7 s later, so a storm
#: of 19,000 walls all at once took 30 s to be back, where paced it takes about 19,000 / this). A socket back
#: costs the server 0.31 ms of CPU in a storm of 6,000 (`loadtests/fleet.py --storm`, 2026-12-05; 0.42 ms
#: before the live socket's front door and handshake fast path), about 0.34 ms at 19,000 (costs grew a tenth
#: from 6,000 to 19,000 before): 2,500 a second is 85% of one core, leaving it room for taps and ticks.
RECONNECTS_PER_SECOND = 2500
#: The first screen is told to wait this long, plus RESTART_MS_PER_CONNECTION for each connection the server
#: holds: about the time the server takes to stop and listen again (19,000 walls over 500 clinics: 2.2 s to
#: close them and exit, 2.1 s to start; a screen that comes before is refused, and those retrying all meet
#: the server the moment it listens).
RECONNECT_FIRST_MS = 1000
RESTART_MS_PER_CONNECTION = 0.1
OPEN = State.OPEN
#: Seconds a socket we close may take to read what is buffered for it and its close frame; then it is cut.
CLOSE_GRACE = 10.0


class FrameWriter:
    """Writes pre-encoded frames to one socket, honouring its flow control and closing state."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: FloorSocketProtocol) -> None:
        self._protocol = protocol

    @property
    def shares_frames(self) -> bool:
        """False when the socket negotiated an extension (per-message deflate): its frames are its own."""
        return not self._protocol.conn.extensions

    def write(self, frame: bytes) -> Written:
        # Once per socket per update: the enum members are module constants, and the flag is read as an attribute.
        p = self._protocol
        if p.close_sent or p.disconnected or p.conn.state is not OPEN:
            return GONE
        if not p.writable.up:
            return BEHIND
        # Whatever the protocol has yet to write (the handshake's response, just after it) goes first. Its list
        # is looked at before it is taken: `data_to_send()` makes a new one every time, once per socket per update.
        conn = p.conn
        p.transport.write(b"".join((*conn.data_to_send(), frame)) if conn.writes else frame)
        return SENT

    def cut(self, code: int, reason: str) -> None:
        """Close a socket whose peer stopped reading: the close frame goes after what is already buffered
        (a slow screen still reads why), and the connection is cut if it is not closed within the grace."""
        p = self._protocol
        if p.close_sent or p.disconnected or p.conn.state is not State.OPEN:
            return
        p.conn.send_close(code, reason)
        p.transport.write(b"".join(p.conn.data_to_send()))
        p.close_sent = True
        p.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        # uvicorn cancels this timer and closes cleanly when the peer answers our close frame.
        p.close_timer = p.loop.call_later(CLOSE_GRACE, p.transport.abort)


#: The kernel's send buffer per screen. Left to autotune, Linux lets it grow to 4 MiB (tcp_wmem), so a screen
#: that stopped reading would hold megabytes each and be noticed only minutes later. Updates are a few hundred
#: bytes a few times a second: this is ample for a wall on a slow network, and a stuck one shows quickly.
SEND_BUFFER = 32 * 1024


class Inbox:
    """What uvicorn's protocol queues for the app's `receive`, as an `asyncio.Queue` would (`put_nowait`, `get`,
    `empty`) without its three deques and an event made for every socket (about 3 KiB each): an idle wall's
    inbox is empty, and holds nothing until something arrives or a receive waits."""

    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: deque[Any] | None = None
        self._waiters: list[asyncio.Future[None]] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    async def get(self) -> Any:
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            await waiter
        item = self._items.popleft()
        if not self._items:
            self._items = None
        return item


class Flag:
    """uvicorn's `writable` (`set`, `clear`, `is_set`, `wait`), as an `asyncio.Event` without its deque per
    socket: a waiter list is made only while the socket's buffer is full and a send waits."""

    __slots__ = ("_waiters", "up")

    def __init__(self) -> None:
        #: Set: the socket's buffer is below its high-water mark (read directly by FrameWriter.write).
        self.up = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self.up

    def set(self) -> None:
        self.up = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self.up = False

    async def wait(self) -> bool:
        while not self.up:
            waiter = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            await waiter
        return True


def reconnect_after(nth: int, connections: int = 1, closing_ms: float = 0.0) -> int:
    """Milliseconds the `nth` screen (0, 1, 2, ...) a stopping server of `connections` closes should wait
    before it reconnects: once the server is likely back, spread over N / RECONNECTS_PER_SECOND seconds
    instead of all at once. Counted from when the server began closing its screens: a screen closed
    `closing_ms` after that waits so much less (closing 19,000 took the server about a second, and counted
    from each screen's own close the last ones came back that much later than their turn)."""
    first = RECONNECT_FIRST_MS + int(RESTART_MS_PER_CONNECTION * connections)
    return max(0, first + (1000 * nth) // RECONNECTS_PER_SECOND - int(closing_ms))


class FloorSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's `websockets-sansio` protocol that hands the app a `FrameWriter`, and holds less per socket:
    a lighter receive queue and writable flag, and no handshake request or response once the socket is open."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Flag()  # type: ignore[assignment]
        self.writable.set()

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)

    def shutdown(self) -> None:
        """The server is stopping: close with CLOSE_RESTARTING and a reason that says why (uvicorn gives none)."""
        if self.handshake_complete and not self.close_sent and self.conn.state is State.OPEN:
            self.stop_keepalive()
            self.queue.put_nowait({"type": "websocket.disconnect", "code": CLOSE_RESTARTING})
            if not _SHUTDOWN_BEGAN:
                _SHUTDOWN_BEGAN.append(time.monotonic())
            closing_ms = 1000 * (time.monotonic() - _SHUTDOWN_BEGAN[0])
            wait = reconnect_after(next(_CLOSED_ON_SHUTDOWN), len(self.connections), closing_ms)
            self.conn.send_close(CLOSE_RESTARTING, RESTARTING.format(ms=wait))
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.transport.close()
            return
        super().shutdown()

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # Its headers are copied into the scope, and uvicorn reads the request only here; but the `websockets`
        # parser keeps the request for the socket's life (a local of its generator): let its headers go.
        event.headers.clear()
        self.request = None
        scope = getattr(self, "scope", None)
        if scope is not None:  # a refused handshake has none
            scope["extensions"][EXTENSION] = FrameWriter(self)
            # Header names in lower case, as ASGI asks (and as they were when httptools had read the request
            # first): a handshake FloorHttpProtocol hands over has them as the client sent them.
            scope["headers"] = [(name.lower(), value) for name, value in scope["headers"]]

    async def send(self, message: Any) -> None:
        if message["type"] == "websocket.accept" and not self.handshake_complete and self.initial_response is None:
            await self.writable.wait()
            if self.disconnected:
                raise ClientDisconnected()
            self._accept(message)
            return
        await super().send(message)
        if self.handshake_complete:
            self.response = None  # sent: uvicorn reads it only before the handshake completes

    def _accept(self, message: Any) -> None:
        """uvicorn's accept, but the handshake's response is not written on its own: it goes out with the
        socket's first message in one write (the live feed sends it in the same turn of the loop), or at the
        end of this turn if nothing follows. One write fewer per socket: on loopback a write costs the server
        about a tenth of a socket's handshake, and after a restart every wall connects at once."""
        self.logger.info(
            '%s - "WebSocket %s" [accepted]', get_client_addr(self.scope), get_path_with_query_string(self.scope)
        )
        headers = [
            (name.decode("latin-1").lower(), value.decode("latin-1"))
            for name, value in (self.default_headers + list(message.get("headers", [])))
        ]
        if message.get("subprotocol"):
            headers.append(("Sec-WebSocket-Protocol", message["subprotocol"]))
        del self.response.headers["Date"]
        self.response.headers.update(headers)
        if not self.transport.is_closing():
            self.handshake_complete = True
            self.conn.send_response(self.response)  # queued in the protocol: the next data_to_send() has it
            self.loop.call_soon(self._flush)
            self.start_keepalive()
        self.response = None

    def _flush(self) -> None:
        """Write what the protocol has queued, if nothing has written it since (the handshake's response)."""
        if self.transport.is_closing():
            return
        pending = self.conn.data_to_send()
        if pending:
            self.transport.write(b"".join(pending))


#: A live socket's handshake, whole in a connection's first bytes: `GET /api/clinics/...` with `Upgrade: websocket`
#: and `Connection: ... upgrade ...` (as uvicorn's own test for an upgrade; header names in any case).
_LIVE_GET = b"GET /api/clinics/"
_UPGRADE = re.compile(rb"\r\nupgrade:[ \t]*websocket[ \t]*\r\n", re.IGNORECASE)
_CONNECTION_UPGRADE = re.compile(rb"\r\nconnection:[^\r\n]*\bupgrade\b", re.IGNORECASE)


def live_handshake(data: bytes) -> bool:
    """Whether a connection's first bytes are a whole WebSocket handshake for an /api/clinics/ path."""
    if not data.startswith(_LIVE_GET):
        return False
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    head = data[: end + 2]
    return _UPGRADE.search(head) is not None and _CONNECTION_UPGRADE.search(head) is not None


#: The most a request's head (its request line and headers) may take, and how many headers it may have. Larger
#: is refused `431` and the connection closed. uvicorn's httptools protocol has no such limit: one 100 MB header
#: from anyone, signed in or not, took the server to 719 MB and stalled every clinic's taps for a second (a
#: hostile review). Browsers and tablets send 1 to 2 KiB; nginx's default is 8 KiB a line, 32 KiB in all.
HEAD_LIMIT = 64 * 1024
HEADERS_LIMIT = 100


def _refusal(status: bytes, error: str, message: str) -> bytes:
    """A whole answer written before the app sees the request, with every error's body (README: `{error,
    message}`), not plain text: a client reading a refusal's `error` got none from these two."""
    body = msgspec.json.encode({"error": error, "message": message})
    head = b"content-type: application/json\r\ncache-control: no-store\r\nconnection: close\r\n"
    return b"HTTP/1.1 " + status + b"\r\n" + head + b"content-length: %d\r\n\r\n" % len(body) + body


_HEAD_TOO_LARGE = _refusal(
    b"431 Request Header Fields Too Large",
    "headers_too_large",
    "The request's headers are too large (at most 64 KiB and 100 headers).",
)


#: Seconds a request's head may take to arrive whole from its first byte (or from the connection's opening); a
#: body may go BODY_SECONDS without a byte, and take BODY_MOST_SECONDS in all. uvicorn starts no timer until a
#: response is sent: a connection that sent half a head, or nothing, was held for ever, and one host holding a few
#: hundred took every file the server may open (a hostile review). A tablet sends its head in one packet; a 4 MiB
#: schedule on a slow uplink (512 kbit/s) takes about a minute, so a body is timed by its silences, not whole (a
#: review of the first deadline, 60 s for the whole body).
HEAD_SECONDS = 10.0
BODY_SECONDS = 30.0
BODY_MOST_SECONDS = 600.0

_TIMED_OUT = _refusal(b"408 Request Timeout", "request_timeout", "The request took too long to send.")


class _HeadTooLarge(Exception):
    """Raised in httptools' URL or header callback to stop parsing a head past the limits."""


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a request head held to HEAD_LIMIT bytes and HEADERS_LIMIT headers: past
    either, `431` and the connection closes, before the rest of the head is read or kept. And in time: a head
    not whole HEAD_SECONDS after its first byte (or after the connection opened), or a body silent for
    BODY_SECONDS or not whole BODY_MOST_SECONDS after its head, is answered `408` and the connection closed."""

    #: The deadline now running, if any: of the head being read, or of the body after it.
    _deadline: asyncio.TimerHandle | None = None
    #: When the body being read must be whole by (the loop's clock).
    _body_until = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._until(HEAD_SECONDS)
        #: Bytes received of the request head now being read; None from its headers' end to the message's.
        self._head: int | None = 0
        self._headers = 0
        #: Bytes of the request line and headers parsed so far, and whether they went past a limit.
        self._parsed = 0
        self._too_large = False
        #: Heads read whole on this connection: data that ended one is not counted against the next.
        self._heads = 0

    def _until(self, seconds: float | None) -> None:
        """Start the deadline `seconds` from now (None: none), in place of the one running."""
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = None if seconds is None else self.loop.call_later(seconds, self._too_slow)

    def _too_slow(self) -> None:
        self._deadline = None
        transport = self.transport
        if transport.is_closing() or transport.get_protocol() is not self:
            return  # closed, or handed to the WebSocket protocol
        log.info("request_too_slow", reading="head" if self._head is not None else "body")
        if self.cycle is None or self._head is not None or not self.cycle.response_started:
            transport.write(_TIMED_OUT)  # not in the middle of an answer to the request whose body is late
        transport.close()
        self.parser = None  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._until(None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.parser is None:
            return  # refused: the connection is closing
        if self._deadline is None and self._head == 0:
            self._until(HEAD_SECONDS)  # the first bytes of the next request's head on a kept-alive connection
        reading, heads = self._head is not None, self._heads
        super().data_received(data)  # httptools turns _HeadTooLarge into a parser error, its 400 withheld below
        if not reading and self._head is None and self._deadline is not None:
            # More of a body, not yet whole: its next silence may last BODY_SECONDS, within its time in all.
            self._until(max(0.0, min(BODY_SECONDS, self._body_until - self.loop.time())))
        if self._too_large:
            self._refuse_head()
        elif reading and self._head is not None and self._heads == heads:
            self._head += len(data)
            if self._head > HEAD_LIMIT:
                self._refuse_head()

    def send_400_response(self, msg: str) -> None:
        if self._too_large:
            return  # the parser stopped on our own callback: data_received answers 431
        super().send_400_response(msg)

    def _refuse_head(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(_HEAD_TOO_LARGE)
            self.transport.close()
        self.parser = None  # type: ignore[assignment]

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._headers = 0
        self._parsed = 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers += 1
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count(self, size: int) -> None:
        """The head as parsed so far, held to the limits whatever the pieces the network brought it in (the bytes
        received, counted in data_received, bound what is kept before a header is whole)."""
        self._parsed += size
        if self._headers > HEADERS_LIMIT or self._parsed > HEAD_LIMIT:
            self._too_large = True
            raise _HeadTooLarge

    def on_headers_complete(self) -> None:
        self._head = None
        self._heads += 1
        self._body_until = self.loop.time() + BODY_MOST_SECONDS
        self._until(BODY_SECONDS)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head = 0
        self._until(None)  # the next head's deadline starts with its first byte


class FloorHttpProtocol(LimitedHttpProtocol):
    """uvicorn's HTTP protocol (with the head's limits of LimitedHttpProtocol), except that a connection whose first
    bytes are a whole handshake of a live socket is handed to the WebSocket protocol at once. uvicorn would parse the
    request with httptools (a Python call per header), build its HTTP scope, write the request out again and hand
    that over, to be parsed a second time by the WebSocket protocol: a tenth of a socket's cost to the server, and
    after a restart every wall connects at once (loadtests/README.md). The WebSocket protocol checks the handshake
    as it always does (a bad one is answered 400, as uvicorn answers it); anything else, or a handshake in pieces,
    goes through httptools."""

    def data_received(self, data: bytes) -> None:
        if self.scope is None and self.ws_protocol_class is not None and live_handshake(data):
            self._until(None)  # a whole head: no deadline (after a restart, thousands of walls arrive at once)
            self.connections.discard(self)
            protocol = self.ws_protocol_class(  # type: ignore[call-arg]
                config=self.config, server_state=self.server_state, app_state=self.app_state
            )
            protocol.connection_made(self.transport)
            self.transport.set_protocol(protocol)
            protocol.data_received(data)
            return
        super().data_received(data)
