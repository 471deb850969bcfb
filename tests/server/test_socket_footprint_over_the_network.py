"""An open wall socket on the server's own uvicorn configuration keeps no handshake leftovers: not the request's
nor the response's headers, not Litestar's parsed copy of them, and no queue while it is in step
(loadtests/README.md, "Memory per socket")."""

from __future__ import annotations

import json

import httpx
import pytest
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState
from websockets.sync.client import connect

from floor.web.frames import FloorSocketProtocol, Inbox
from tests.server.test_slow_screen import CLINIC, InProcessServer, _sign_in, server  # noqa: F401  # the fixture

pytestmark = pytest.mark.server


def test_an_open_socket_holds_no_handshake_headers_and_no_queue(server: InProcessServer) -> None:  # noqa: F811
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as client:
        token = _sign_in(client, "wall")
    with connect(
        f"ws://127.0.0.1:{server.port}/api/clinics/{CLINIC}/live",
        additional_headers={"Authorization": f"Bearer {token}", "X-Padding": "x" * 2000},
    ) as ws:
        assert json.loads(ws.recv(timeout=10))["kind"] == "snapshot"
        sub = server.sub_of(CLINIC, token)

        async def inspect():
            (protocol,) = [p for p in server.server.server_state.connections if isinstance(p, FloorSocketProtocol)]
            return protocol

        protocol = server.run(inspect())
        assert protocol.request is None and protocol.response is None
        assert isinstance(protocol.queue, Inbox) and protocol.queue.empty()
        # The `websockets` parser's own reference to the request: its headers are gone.
        frame = protocol.conn.parser.gi_frame
        assert not any(len(getattr(v, "headers", ())) for v in frame.f_locals.values())
        assert ScopeState.from_scope(protocol.scope).headers is Empty
        assert sub.backlog == 0 and sub._queue is None
