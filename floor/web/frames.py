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

import contextlib
import socket

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

from floor.close_codes import CLOSE_RESTARTING
from floor.fanout import Written

EXTENSION = "floor.frames"
#: The reason a stopping server (SIGTERM, a deploy) gives every screen with CLOSE_RESTARTING ("service restart").
RESTARTING = "the server is restarting: reconnect and resume with since="
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
        p = self._protocol
        if p.close_sent or p.disconnected or p.conn.state is not State.OPEN:
            return Written.gone
        if not p.writable.is_set():
            return Written.behind
        p.transport.write(frame)
        return Written.sent

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


class FloorSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's `websockets-sansio` protocol that hands the app a `FrameWriter`."""

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
            self.conn.send_close(CLOSE_RESTARTING, RESTARTING)
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.transport.close()
            return
        super().shutdown()

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:  # a refused handshake has none
            scope["extensions"][EXTENSION] = FrameWriter(self)
