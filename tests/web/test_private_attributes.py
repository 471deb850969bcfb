"""Floor leans on a few private parts of uvicorn and Litestar (see the bounds in pyproject.toml). This test
fails, naming the attribute and the Floor file that needs it, when an upgrade moves or renames one of them:
before widening a bound, read that file against the new version and change it, or this test, with it.

- floor/web/frames.py subclasses uvicorn's `websockets-sansio` protocol, writes frames to its transport,
  swaps its receive queue and writable flag for lighter ones, and does its accept (the response left queued
  for the socket's first write);
- floor/web/live.py drops the headers Litestar caches in a socket's `ScopeState`;
- floor/web/openapi.py swaps the class of Litestar's OpenAPI plugin (in `litestar._openapi`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import re
from importlib.metadata import version

import msgspec
import pytest
from litestar import Litestar, get
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.datastructures import Headers
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState
from uvicorn.config import Config
from uvicorn.server import ServerState
from websockets.protocol import State
from websockets.server import ServerProtocol

import floor.web.frames as frames
from floor.web.openapi import LOCAL_TIME, serve_true_document

FRAMES = "floor/web/frames.py"
LIVE = "floor/web/live.py"
OPENAPI = "floor/web/openapi.py"


def broken(file: str, library: str, what: str) -> str:
    return (
        f"{file} relies on {library}'s {what}, and {library} {version(library.lower())} changed that: update "
        f"{file} for it (and the bound in pyproject.toml), or keep {library} within the bound"
    )


# -- uvicorn: floor/web/frames.py ----------------------------------------------------------------------------

Base = frames.WebSocketsSansIOProtocol
UVICORN_SOURCE = inspect.getsource(inspect.getmodule(Base))


async def _app(scope, receive, send) -> None:  # pragma: no cover - never called
    pass


@pytest.fixture
def uvicorn_protocol():
    """uvicorn's own protocol, as uvicorn makes one for each connection (not Floor's subclass)."""
    loop = asyncio.new_event_loop()
    try:
        config = Config(_app, ws="websockets-sansio", lifespan="off")
        config.load()
        yield Base(config, ServerState(), {}, _loop=loop)
    finally:
        loop.close()


#: Instance attributes uvicorn's protocol sets in its constructor, which FrameWriter and FloorSocketProtocol
#: read or replace.
INSTANCE_ATTRIBUTES = (
    "queue",
    "writable",
    "conn",
    "close_sent",
    "disconnected",
    "transport",
    "close_timer",
    "loop",
    "handshake_complete",
    "initial_response",
    "default_headers",
    "logger",
    "connections",
)
#: Methods FloorSocketProtocol calls or overrides, with the parameters it passes.
METHODS = {
    "connection_made": ["self", "transport"],
    "shutdown": ["self"],
    "handle_connect": ["self", "event"],
    "send": ["self", "message"],
    "stop_keepalive": ["self"],
    "start_keepalive": ["self"],
}


def test_uvicorn_has_the_protocol_frames_py_subclasses():
    assert Base.__module__ == "uvicorn.protocols.websockets.websockets_sansio_impl", broken(
        FRAMES, "uvicorn", "`WebSocketsSansIOProtocol` in uvicorn.protocols.websockets.websockets_sansio_impl"
    )
    assert issubclass(frames.FloorSocketProtocol, Base)


@pytest.mark.parametrize("name", INSTANCE_ATTRIBUTES)
def test_uvicorn_protocol_sets_each_attribute_frames_py_uses(uvicorn_protocol, name):
    assert hasattr(uvicorn_protocol, name), broken(FRAMES, "uvicorn", f"protocol attribute `{name}`")


@pytest.mark.parametrize("name", sorted(METHODS))
def test_uvicorn_protocol_has_each_method_frames_py_calls_or_overrides(name):
    method = getattr(Base, name, None)
    assert callable(method), broken(FRAMES, "uvicorn", f"protocol method `{name}`")
    assert list(inspect.signature(method).parameters) == METHODS[name], broken(
        FRAMES, "uvicorn", f"protocol method `{name}{tuple(METHODS[name])}` (its signature changed)"
    )


def test_uvicorn_protocol_speaks_through_a_websockets_sans_io_connection(uvicorn_protocol):
    conn = uvicorn_protocol.conn
    assert isinstance(conn, ServerProtocol), broken(FRAMES, "uvicorn", "`conn` (a websockets ServerProtocol)")
    for name in ("send_close", "data_to_send", "extensions", "state", "writes"):
        assert hasattr(conn, name), broken(FRAMES, "websockets", f"ServerProtocol `{name}`")
    assert isinstance(conn.state, State)
    # FrameWriter.write looks at `writes` before calling data_to_send(): it must be the list that empties.
    conn.writes.append(b"pending")
    assert conn.data_to_send() == [b"pending"] and conn.writes == [], broken(
        FRAMES, "websockets", "ServerProtocol `writes` (the list data_to_send() hands over)"
    )


@pytest.mark.parametrize(("attribute", "replacement"), [("queue", frames.Inbox), ("writable", frames.Flag)])
def test_what_uvicorn_calls_on_its_queue_and_flag_the_lighter_ones_have(attribute, replacement):
    """FloorSocketProtocol replaces uvicorn's asyncio.Queue and asyncio.Event: every method uvicorn calls on
    them must exist on Floor's Inbox and Flag."""
    called = set(re.findall(rf"self\.{attribute}\.(\w+)\(", UVICORN_SOURCE))
    assert called, broken(FRAMES, "uvicorn", f"`self.{attribute}` (no longer used as Floor expects)")
    missing = sorted(name for name in called if not callable(getattr(replacement, name, None)))
    assert not missing, broken(
        FRAMES,
        "uvicorn",
        f"`self.{attribute}` used only through methods {replacement.__name__} has (it now also calls {missing})",
    )


def _methods_mentioning(pattern: str) -> set[str]:
    """The protocol's methods whose source matches the pattern."""
    return {
        name for name, fn in vars(Base).items() if inspect.isfunction(fn) and re.search(pattern, inspect.getsource(fn))
    }


def test_uvicorn_keeps_the_handshake_only_where_frames_py_lets_it_go():
    """FloorSocketProtocol drops `request` after the handshake and `response` once sent: uvicorn must read
    them nowhere else, and must build the socket's `scope` in handle_connect."""
    assert _methods_mentioning(r"self\.request\b") == {"handle_connect"}, broken(
        FRAMES, "uvicorn", "`request` (read only in handle_connect)"
    )
    assert _methods_mentioning(r"self\.response\b") <= {"handle_connect", "send"}, broken(
        FRAMES, "uvicorn", "`response` (read only in handle_connect and, before the handshake completes, send)"
    )
    assert re.search(r"self\.scope\b.*=", inspect.getsource(Base.handle_connect)), broken(
        FRAMES, "uvicorn", "`scope` (set in handle_connect)"
    )


def test_uvicorn_accepts_a_socket_as_frames_py_does_it():
    """FloorSocketProtocol._accept is uvicorn's accept (in `send`) but for the write of the response, which it
    leaves queued in the websockets connection for the socket's first message: the steps must still be these."""
    source = inspect.getsource(Base.send)
    for step in (
        'message["type"] == "websocket.accept"',
        'self.default_headers + list(message.get("headers", []))',
        'del self.response.headers["Date"]',
        "self.handshake_complete = True",
        "self.conn.send_response(self.response)",
        "self.start_keepalive()",
    ):
        assert step in source, broken(FRAMES, "uvicorn", f"the accept in `send` ({step})")


def test_uvicorn_cancels_the_close_timer_frames_py_starts():
    """FrameWriter.cut starts `close_timer`; uvicorn cancels it when the peer answers the close frame."""
    assert "close_timer.cancel()" in UVICORN_SOURCE, broken(FRAMES, "uvicorn", "`close_timer` (cancelled on close)")


# -- Litestar: floor/web/live.py --------------------------------------------------------------------------------


def test_litestar_caches_a_connections_headers_in_its_scope_state():
    """live.py sets `ScopeState.from_scope(scope).headers = Empty` to let a socket's parsed headers go."""
    assert "headers" in ScopeState.__slots__, broken(LIVE, "Litestar", "`ScopeState.headers`")
    scope = {"type": "websocket", "headers": [(b"host", b"floor")]}
    headers = Headers.from_scope(scope)  # what WebSocket.headers returns
    state = ScopeState.from_scope(scope)
    assert state.headers is headers, broken(LIVE, "Litestar", "`ScopeState.headers` (the connection's header cache)")
    state.headers = Empty
    assert Headers.from_scope(scope)["host"] == "floor"


# -- Litestar: floor/web/openapi.py ----------------------------------------------------------------------------


def test_litestar_has_the_openapi_plugin_openapi_py_subclasses():
    assert "_openapi_schema" in OpenAPIPlugin.__slots__, broken(
        OPENAPI, "Litestar", "`OpenAPIPlugin._openapi_schema` in litestar._openapi.plugin"
    )
    assert list(inspect.signature(OpenAPIPlugin.provide_openapi_schema).parameters) == ["self"], broken(
        OPENAPI, "Litestar", "`OpenAPIPlugin.provide_openapi_schema(self)`"
    )


class _Session(msgspec.Struct):
    opens: dt.time


def test_the_swapped_plugin_serves_the_document_set_right():
    @get("/session", sync_to_thread=False)
    def session() -> _Session:  # pragma: no cover - never called
        return _Session(dt.time(8))

    app = Litestar([session])
    serve_true_document(app)
    served = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    opens = served["components"]["schemas"]["_Session"]["properties"]["opens"]
    assert opens == LOCAL_TIME, broken(OPENAPI, "Litestar", "OpenAPI plugin (its class swapped at start-up)")
