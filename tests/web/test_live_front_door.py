"""The live socket's front door: /api/clinics/{clinic}/live is served before Litestar's routing and middleware
(floor.web.app.FloorApp), with every check Litestar's route made: origin, token, role, clinic, close codes,
the request id and clinic on its log lines, never the token."""

from __future__ import annotations

import asyncio
import json

import pytest
import structlog
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from floor.close_codes import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, CLOSE_UNKNOWN_CLINIC
from floor.core.access import Role
from floor.web import live
from floor.web.app import create_app
from floor.web.auth import Guarding
from floor.web.live import LiveSocket, live_clinic
from tests.support.staff import sign_in, test_floors

FRONT_DOOR = "/api/clinics/{clinic}/live"
#: Not the front door's path: Litestar routes it to its own route for the socket, which must judge alike.
LITESTAR_ROUTE = "/api/clinics/{clinic}/live/"


def _close_code(client: TestClient, path: str, headers: dict[str, str], first: str | None = None) -> int:
    """The code the server closes the socket with (on entering, for a refused handshake)."""
    try:
        with client.websocket_connect(path, headers=headers) as ws:
            if first is not None:
                ws.send_text(first)
            while True:
                ws.receive_text(timeout=5)
    except WebSocketDisconnect as closed:
        return closed.code
    raise AssertionError("the socket was not closed")


@pytest.mark.parametrize("path", [FRONT_DOOR, LITESTAR_ROUTE])
def test_the_front_door_and_litestars_route_refuse_and_admit_alike(tmp_path, path: str) -> None:
    floors = test_floors(tmp_path, tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        desk = sign_in(client, floors, Role.front_desk)
        here = path.format(clinic="riverside")
        assert _close_code(client, here, {**desk, "origin": "https://evil.example"}) == CLOSE_FORBIDDEN
        assert _close_code(client, here, {"Authorization": "Bearer " + "x" * 43}) == CLOSE_UNAUTHENTICATED
        assert _close_code(client, here, {}, json.dumps({"type": "auth", "token": "x" * 43})) == CLOSE_UNAUTHENTICATED
        assert _close_code(client, path.format(clinic="nowhere"), desk) == CLOSE_UNKNOWN_CLINIC
        with client.websocket_connect(here, headers={**desk, "origin": "http://testserver.local"}) as ws:
            assert json.loads(ws.receive_text(timeout=5))["kind"] == "snapshot"


def test_a_live_socket_does_not_go_through_litestar(tmp_path) -> None:
    floors = test_floors(tmp_path, tick_seconds=3600)
    app = create_app(floors)

    async def nothing_served(scope, receive, send) -> None:
        raise AssertionError(f"{scope['path']} went through Litestar's routing")

    with TestClient(app) as client:
        desk = sign_in(client, floors, Role.front_desk)
        app.asgi_handler = nothing_served  # Litestar's middleware and routing, from here on
        with client.websocket_connect("/api/clinics/riverside/live", headers=desk) as ws:
            assert json.loads(ws.receive_text(timeout=5))["kind"] == "snapshot"
        with (
            pytest.raises(AssertionError, match="went through Litestar"),
            client.websocket_connect("/api/clinics/riverside/live/", headers=desk),
        ):
            pass


class LogSpy:
    """floor.web.live's logger, keeping each line with the context bound to it (the request id, the clinic)."""

    def __init__(self) -> None:
        self.lines: list[dict] = []

    def _line(self, event: str, **fields) -> None:
        self.lines.append({"event": event, **structlog.contextvars.get_contextvars(), **fields})

    warning = exception = info = _line


def test_a_live_sockets_log_lines_carry_its_request_id_and_clinic_and_no_token(tmp_path, monkeypatch) -> None:
    spy = LogSpy()
    monkeypatch.setattr(live, "log", spy)
    floors = test_floors(tmp_path, tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        desk = sign_in(client, floors, Role.front_desk)
        headers = {**desk, "origin": "https://evil.example", "x-request-id": "req-live-1"}
        assert _close_code(client, "/api/clinics/riverside/live", headers) == CLOSE_FORBIDDEN
        assert _close_code(client, "/api/clinics/riverside/live", {**desk, "origin": "null"}) == CLOSE_FORBIDDEN
    first, second = spy.lines
    assert first == {
        "event": "socket_origin_refused",
        "request_id": "req-live-1",
        "clinic": "riverside",
        "origin": "https://evil.example",
        # The Host it was compared with, and what to do when the origin is the server's own (a proxy's Host).
        "host": "testserver.local",
        "then": first["then"],
    }
    assert "FLOOR_ALLOWED_ORIGINS" in first["then"] and "proxy_set_header Host" in first["then"]
    assert second["request_id"] not in ("", "req-live-1") and second["clinic"] == "riverside"
    token = desk["Authorization"].removeprefix("Bearer ")
    assert token not in repr(spy.lines)


def test_the_front_door_reads_header_names_in_any_case_as_uvicorn_passes_them() -> None:
    scope = {
        "headers": [
            (b"Host", b"floor.example"),
            (b"ORIGIN", b"https://floor.example"),
            (b"Authorization", b"Bearer abc"),
            (b"origin", b"https://evil.example"),
        ],
        "query_string": b"since=12&since=3",
    }
    socket = LiveSocket(scope, None, None)  # type: ignore[arg-type]
    assert (socket.host, socket.origin, socket.authorization) == (
        "floor.example",
        "https://floor.example",
        "Bearer abc",
    )
    assert socket.query("since") == "12"
    assert LiveSocket({"headers": [], "query_string": b""}, None, None).query("since") is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "clinic"),
    [
        ("/api/clinics/riverside/live", "riverside"),
        ("/api/clinics/riverside/live/", None),
        ("/api/clinics//live", None),
        ("/api/clinics/a/b/live", None),
        ("/api/clinics/riverside/board", None),
        ("/live", None),
    ],
)
def test_only_a_live_sockets_path_takes_the_front_door(path: str, clinic: str | None) -> None:
    assert live_clinic(path) == clinic


def test_a_screen_gone_before_its_handshake_is_answered_is_let_go_quietly(tmp_path, monkeypatch) -> None:
    from uvicorn.protocols.utils import ClientDisconnected

    spy = LogSpy()
    monkeypatch.setattr(live, "log", spy)
    floors = test_floors(tmp_path, tick_seconds=3600)
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "websocket.connect"}

    async def gone(message: dict) -> None:  # as uvicorn's send once the peer has gone
        sent.append(message)
        raise ClientDisconnected()

    scope = {"type": "websocket", "path": "/api/clinics/riverside/live", "headers": [], "query_string": b""}
    opt = {"act": live.LIVE_OPT["act"], "displays": True}
    for headers in ([], [(b"origin", b"https://evil.example"), (b"host", b"floor.example")]):
        sent.clear()
        run = live.serve_live({**scope, "headers": headers}, receive, gone, "riverside", floors, Guarding(), opt)
        asyncio.run(run)
        assert [m["type"] for m in sent] == ["websocket.accept" if not headers else "websocket.close"]
    assert [line["event"] for line in spy.lines] == ["socket_origin_refused"]  # no "socket_failed"
