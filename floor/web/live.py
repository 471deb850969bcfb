"""The live feed socket: a snapshot (or the missed events), then every event in order, plus heartbeats.

A screen resumes with `?since=SEQ&mark=MARK`, the seq and mark of the last update it applied (floor.wire); a mark
the log no longer holds at that seq gets a snapshot (floor.runtime.feed's `catch_up`).

The socket is for signed-in screens only. A browser cannot set headers on a WebSocket, and tokens never go
in URLs (they end up in proxy logs), so a page sends `{"type": "auth", "token": ...}` as its first message;
other clients may send `Authorization: Bearer` on the handshake instead. What a screen receives depends on
who it is: managers and staff get the floor with names, a wall display gets the hallway projection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec
import structlog
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.types import Message, Receive, Scope, Send

from floor.close_codes import (
    CLOSE_BAD_PARAMETER,
    CLOSE_FORBIDDEN,
    CLOSE_INTERNAL,
    CLOSE_TOO_BIG,
    CLOSE_TOO_MANY_WAITING,
    CLOSE_UNAUTHENTICATED,
    CLOSE_UNKNOWN_CLINIC,
)
from floor.core.access import Act, in_clinic
from floor.fanout import RESYNC, Subscriber
from floor.floors import Floors
from floor.runtime import ClinicRuntime
from floor.sessions import Caller
from floor.web.auth import Guarding, bearer_token, refusal
from floor.web.body import too_deep
from floor.web.errors import INTERNAL
from floor.web.frames import EXTENSION
from floor.wire import Audience, display_audience

log = structlog.get_logger("floor.live")

#: Seconds a socket may stay open before it says who it is.
AUTH_WAIT = 10.0
#: Reads of a socket's sign-in before it joins the feed, while each overlaps a session check (floor.floors).
SIGN_IN_READS = 3
#: The largest message a screen may send (its auth message is well under 1 KiB).
MAX_MESSAGE = 4096


class AuthMessage(msgspec.Struct, tag="auth", tag_field="type", forbid_unknown_fields=True):
    token: str


_auth = msgspec.json.Decoder(AuthMessage)


def _since(raw: str | None) -> int | None:
    if raw is None:
        return None
    # ASCII digits only: str.isdigit takes '²' (which int refuses, with Python's words for a reason) and '١٢'.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise ValueError(f"since must be a whole number of 0 or more, not {raw[:20]!r}")
    return int(raw)


def _mark(raw: str | None, name: str = "mark") -> str | None:
    """The mark of the event a resuming screen has at `since` (floor.log.base.mark: 16 hex digits), or of the
    clinic set-up its snapshot drew (`setup`, floor.config.setup_mark), or None."""
    if raw is None:
        return None
    if len(raw) != 16 or any(c not in "0123456789abcdef" for c in raw):
        raise ValueError(f"{name} must be the 16 hex digits the last message gave, not {raw[:20]!r}")
    return raw


#: A close frame's reason is at most 123 bytes of UTF-8 (RFC 6455 5.5: 125 bytes of payload, 2 of them the code).
MAX_CLOSE_REASON = 123


def close_reason(reason: str | None) -> str:
    """`reason` cut to what a close frame holds: a longer one (a bad parameter echoed in it, in 3-byte characters)
    made the close itself fail: the screen got an internal-error close and the log a traceback, not the reason."""
    raw = (reason or "").encode()
    return reason or "" if len(raw) <= MAX_CLOSE_REASON else raw[:MAX_CLOSE_REASON].decode(errors="ignore")


class Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


async def _token(socket: LiveSocket) -> str:
    token = bearer_token(socket.authorization)
    if token is not None:
        return token
    try:
        message = await asyncio.wait_for(socket.receive(), AUTH_WAIT)
    except TimeoutError:
        raise Refused(CLOSE_UNAUTHENTICATED, 'sign in first: send {"type": "auth", "token": ...}') from None
    if message["type"] == "websocket.disconnect":
        raise Refused(CLOSE_UNAUTHENTICATED, "gone before signing in")
    raw = message.get("text") or message.get("bytes") or ""
    if _size(message) > MAX_MESSAGE:
        raise Refused(CLOSE_TOO_BIG, f"messages to the server are at most {MAX_MESSAGE} bytes")
    if too_deep(raw.encode() if isinstance(raw, str) else raw):
        # msgspec recurses once per level: a first message nested a thousand deep would exhaust the stack.
        raise Refused(
            CLOSE_UNAUTHENTICATED,
            'the first message must be {"type": "auth", "token": ...}, not JSON nested deeper than any message',
        )
    try:
        return _auth.decode(raw).token
    except msgspec.ValidationError as e:
        raise Refused(
            CLOSE_UNAUTHENTICATED, f'the first message must be {{"type": "auth", "token": ...}} ({e})'[:120]
        ) from None
    except msgspec.DecodeError:
        raise Refused(CLOSE_UNAUTHENTICATED, 'the first message must be JSON: {"type": "auth", "token": ...}') from None


async def _waited_token(socket: LiveSocket, guarding: Guarding, floors: Floors) -> str:
    """The socket's token, counted while it waits for it among its address's (`Guarding.waiting`): past the cap,
    closed at once (CLOSE_TOO_MANY_WAITING) rather than held open 10 seconds."""
    if bearer_token(socket.authorization) is not None:
        return await _token(socket)  # signed in with the handshake: no wait
    address = socket.address
    over = guarding.waiting.enter(address)
    if over is not None:
        floors.metrics.sockets_refused.labels(over).inc()
        log.warning("socket_refused_too_many_waiting", address=address, per=over)
        where = "this address" if over == "address" else "this address's network"
        raise Refused(CLOSE_TOO_MANY_WAITING, f"too many sockets from {where} are waiting to sign in: try again later")
    floors.metrics.sockets_waiting.inc()
    try:
        return await _token(socket)
    finally:
        guarding.waiting.leave(address)
        floors.metrics.sockets_waiting.dec()


def _size(message: Mapping[str, Any]) -> int:
    """A message's size in bytes as it came over the wire: a text frame's is its UTF-8, not its length in
    characters (4096 characters of emoji are 16 KiB)."""
    text = message.get("text")
    if text is None:
        return len(message.get("bytes") or b"")
    return len(text) if len(text) > MAX_MESSAGE else len(text.encode())


def _another_clinic(who: Caller, clinic: str) -> Refused | None:
    """The refusal of a screen watching a clinic not its own, whether the server runs it or not (as over HTTP: a
    member of one clinic told "no such clinic" for an id the server does not run could list the others: a hostile
    review)."""
    if who.kind == "display":
        return Refused(CLOSE_FORBIDDEN, "this display is paired with another clinic") if who.clinic != clinic else None
    return (
        None if in_clinic(who.clinics, clinic) else Refused(CLOSE_FORBIDDEN, "you are not on the staff of this clinic")
    )


def _audience(who: Caller, runtime: ClinicRuntime, opt: Mapping[str, Any]) -> str:
    """Who this screen is, if it may watch: `opt` is what the socket declares (its act, and `displays`)."""
    if who.kind == "display" and not opt.get("displays"):
        raise Refused(CLOSE_FORBIDDEN, "a wall display may not watch this feed")
    if (refused := _another_clinic(who, runtime.id)) is not None:
        raise refused
    if who.kind == "display":
        if who.zone is not None and who.zone not in runtime.hallway.zones:
            raise Refused(CLOSE_FORBIDDEN, "this display's zone is no longer in the clinic: pair it again")
        return display_audience(who.zone)
    why = refusal(who, opt["act"])  # what the socket declares it does, as floor.core.access says
    if why is not None:
        raise Refused(CLOSE_FORBIDDEN, why[:120])
    return Audience.manager if who.is_manager else Audience.staff


#: What the live socket declares it does, for its guard (floor.web.auth's `refusal`, floor.core.access's table):
#: the route's `opt`, which the socket reads from the route (tests/web/test_route_access.py changes it there).
LIVE_OPT = {"act": Act.read_floor, "displays": True}
_PREFIX, _SUFFIX = "/api/clinics/", "/live"


def live_clinic(path: str) -> str | None:
    """The clinic of a live socket's path (/api/clinics/{clinic}/live), or None for any other path."""
    if not path.startswith(_PREFIX) or not path.endswith(_SUFFIX):
        return None
    clinic = path[len(_PREFIX) : -len(_SUFFIX)]
    return clinic if clinic and "/" not in clinic else None


class LiveSocket:
    """The live socket on plain ASGI, as Litestar's `WebSocket` would be for what the feed does with it (accept,
    close, receive, send text; sending or receiving once the socket is gone raises WebSocketDisconnect), without
    its routing, middleware, handler injection and signature model: after a restart every wall connects at once,
    and those were a fifth of a socket's cost to the server (loadtests/README.md). The three headers the feed
    reads are picked out of the scope's in one pass."""

    __slots__ = ("_receive", "_send", "authorization", "host", "origin", "scope", "state")

    @property
    def address(self) -> str:
        """The client's address (what a trusted proxy says it is: floor.web.auth.client_address)."""
        client = self.scope.get("client")
        return str(client[0]) if client else "unknown"

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope, self._receive, self._send = scope, receive, send
        self.state = "init"
        origin = host = None
        authorization = ""
        for name, value in scope["headers"]:
            # uvicorn's websocket protocols pass header names as they came; ASGI asks for lower case.
            name = name.lower()
            if name == b"origin" and origin is None:
                origin = value.decode("latin-1")
            elif name == b"host" and host is None:
                host = value.decode("latin-1")
            elif name == b"authorization" and not authorization:
                authorization = value.decode("latin-1")
        self.origin: str | None = origin
        self.host: str | None = host
        self.authorization: str = authorization

    def query(self, name: str) -> str | None:
        """The first value of a query parameter (`since`), or None."""
        raw = self.scope.get("query_string") or b""
        if not raw:
            return None
        for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
            if key == name:
                return value
        return None

    async def receive(self) -> Message:
        if self.state == "disconnect":
            raise WebSocketDisconnect(detail="connection is disconnected")
        message = await self._receive()
        kind = message["type"]
        self.state = (
            "receive" if kind == "websocket.receive" else "connect" if kind == "websocket.connect" else "disconnect"
        )
        return message

    async def send(self, message: Message) -> None:
        if self.state == "disconnect":
            raise WebSocketDisconnect(detail="connection is disconnected")
        await self._send(message)

    async def accept(self) -> None:
        if self.state == "init":
            await self.receive()
            await self.send({"type": "websocket.accept", "subprotocol": None, "headers": []})

    async def close(self, code: int, reason: str) -> None:
        await self.send({"type": "websocket.close", "code": code, "reason": close_reason(reason)})

    async def send_text(self, text: str) -> None:
        await self.send({"type": "websocket.send", "bytes": None, "text": text})


async def serve_live(
    scope: Scope, receive: Receive, send: Send, clinic: str, floors: Floors, guarding: Guarding, opt: Mapping[str, Any]
) -> None:
    """A live socket of `clinic`, from its handshake to its end: floor.web.app serves /api/clinics/{clinic}/live
    with this before Litestar's routing; the route below (Litestar's own) comes here too."""
    socket = LiveSocket(scope, receive, send)
    try:
        await _live(socket, floors, guarding, clinic, opt)
    except (WebSocketDisconnect, OSError):
        # Gone before its handshake was answered or its refusal sent (uvicorn's ClientDisconnected is an OSError):
        # nothing to tell it, nor the log (after a restart, screens that give up are many).
        return
    except Exception:
        # Left to the server it would be an HTTP 500 or a close with no reason: the screen is told, the log says why.
        log.exception("socket_failed", clinic=clinic[:40])
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await socket.close(CLOSE_INTERNAL, INTERNAL)


@websocket("/{clinic:str}/live", opt=LIVE_OPT)
async def live(socket: WebSocket) -> None:
    """Under floor.web.app's app a live socket never reaches Litestar's routing: this is the route for
    documentation, the access table's checks, and an app without that front door."""
    state = socket.app.state
    clinic: str = socket.path_params["clinic"]
    await serve_live(
        socket.scope, socket.receive, socket.send, clinic, state.floors, state.guarding, socket.route_handler.opt
    )


async def _live(socket: LiveSocket, floors: Floors, guarding: Guarding, clinic: str, opt: Mapping[str, Any]) -> None:
    if not guarding.origin_allowed(socket.origin, socket.host):
        # Refused before the handshake completes: the browser sees a 403 and no page of another site can
        # read the floor with a token it got hold of.
        # With the Host it was compared with, and what to do: every wall behind a proxy that rewrites Host (or
        # drops its port) was refused with a line naming the origin alone (an ops review).
        log.warning(
            "socket_origin_refused",
            origin=(socket.origin or "")[:100],
            host=(socket.host or "")[:100],
            then="if that origin is this server's own public address, have the proxy pass the Host the browser "
            "sent (nginx: proxy_set_header Host $http_host) or list the origin in FLOOR_ALLOWED_ORIGINS",
        )
        await socket.close(CLOSE_FORBIDDEN, "origin not allowed")
        return
    await socket.accept()
    try:
        try:
            since = _since(socket.query("since"))
            held = _mark(socket.query("mark"))
            setup = _mark(socket.query("setup"), "setup")
        except ValueError as e:
            raise Refused(CLOSE_BAD_PARAMETER, str(e)) from None
        # Who is there first: a stranger told an unknown clinic apart from a real one (4404 against 4401) could
        # list which clinics a server runs (a review); over HTTP both answer 401 alike.
        token = await _waited_token(socket, guarding, floors)
        for _ in range(SIGN_IN_READS):
            # A session check that began while the sign-in was being read did not look at this socket, and the
            # sign-in may have ended meanwhile (signed out, revoked): it was then sent every name until the full
            # check a minute on (a hostile review). Read again; a check beginning once it is read sees the socket
            # (nothing is awaited between the read and joining the feed).
            checks = floors.session_checks
            who = await floors.sessions.caller(token)
            if who is None or floors.session_checks == checks:
                break
        if who is None:
            raise Refused(CLOSE_UNAUTHENTICATED, "sign-in ended (expired, signed out or revoked): sign in again")
        runtime = floors.runtimes.get(clinic)
        if runtime is None:
            raise _another_clinic(who, clinic) or Refused(
                CLOSE_UNKNOWN_CLINIC, f"no clinic {clinic[:40]!r} on this server"
            )
        audience = _audience(who, runtime, opt)
    except Refused as refused:
        await socket.close(refused.code, refused.reason)
        return
    except Exception:
        log.exception("socket_refused_by_an_error", clinic=clinic[:40])
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await socket.close(CLOSE_INTERNAL, INTERNAL)
        return
    # Under uvicorn with floor.web.frames, updates are written to this socket directly, framed once.
    wire = socket.scope.get("extensions", {}).get(EXTENSION)
    sub = floors.hub.subscribe(clinic, audience, who.session, wire, who.person if who.kind == "display" else None)
    reader: asyncio.Task[None] | None = None
    try:
        try:
            # No await between subscribing and catching up: no event can fall between the two.
            runtime.join(sub, since, held, setup)
            if floors.session_checks != checks:
                # Every read of its sign-in overlapped a session check (they ran back to back): one more, now it is in.
                floors.recheck_sessions()
            reader = asyncio.create_task(_drain(socket, sub))
            await _send(socket, sub, runtime)
        except Exception:
            log.exception("socket_failed", clinic=clinic[:40])
            sub.end(CLOSE_INTERNAL, INTERNAL)
        if sub.ending is not None:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await socket.close(*sub.ending)
    finally:
        floors.hub.unsubscribe(sub)
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def _send(socket: LiveSocket, sub: Subscriber, runtime: ClinicRuntime) -> None:
    """Sends what was queued for the socket: its catch-up, and any backlog while it could not keep up. A snapshot
    is of the socket's audience as it is then (a wall moved to another zone gets the new zone's)."""
    while (item := await sub.next()) is not None:
        if item is RESYNC:
            item = runtime.snapshot(sub.audience)
            sub.snapshot_at(item[0])
        elif 0 < item[0] <= sub.sent:
            continue  # already part of a snapshot this screen has
        sub.busy = True
        try:
            await socket.send_text(item[1])
        except (WebSocketDisconnect, RuntimeError, OSError):
            return
        finally:
            sub.busy = False
        if item[0] > 0:
            sub.sent = item[0]


async def _drain(socket: LiveSocket, sub: Subscriber) -> None:
    """Screens send nothing we act on once signed in; reading notices when they go away."""
    try:
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                break
            if _size(message) > MAX_MESSAGE:
                sub.end(CLOSE_TOO_BIG, f"messages to the server are at most {MAX_MESSAGE} bytes")
                break
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        sub.close()
