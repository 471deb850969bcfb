"""The live socket in-process: heartbeats on the clock tick, and a screen too slow to keep up is resynced."""

from __future__ import annotations

import json

from litestar.testing import TestClient

from floor.core.access import Role
from floor.fanout import Hub
from floor.web.app import create_app
from tests.support.floors import walk_ins_in_one_go
from tests.support.staff import sign_in, test_floors


def test_idle_sockets_get_heartbeats_carrying_the_current_seq(tmp_path) -> None:
    floors = test_floors(tmp_path, tick_seconds=0.05)
    with TestClient(create_app(floors)) as client:
        token = sign_in(client, floors, Role.front_desk)["Authorization"].removeprefix("Bearer ")
        # As a browser page signs in: the token in the first message, not on the handshake.
        with client.websocket_connect("/api/clinics/riverside/live") as ws:
            ws.send_text(json.dumps({"type": "auth", "token": token}))
            snapshot = json.loads(ws.receive_text(timeout=5))
            assert snapshot["kind"] == "snapshot"
            heartbeat = json.loads(ws.receive_text(timeout=5))
            assert heartbeat["kind"] == "heartbeat"
            assert heartbeat["seq"] == snapshot["seq"]
            assert "now" in heartbeat


def test_a_screen_that_falls_behind_gets_a_fresh_snapshot_not_a_gap(tmp_path) -> None:
    floors = test_floors(tmp_path, hub=Hub(queue_limit=2), tick_seconds=3600)
    runtime = floors.get("riverside")

    with TestClient(create_app(floors)) as client:
        desk = sign_in(client, floors, Role.front_desk)
        with client.websocket_connect("/api/clinics/riverside/live", headers=desk) as ws:
            assert json.loads(ws.receive_text(timeout=5))["seq"] == 0
            client.blocking_portal.call(walk_ins_in_one_go, runtime)
            message = json.loads(ws.receive_text(timeout=5))
            assert message["kind"] == "snapshot"
            assert message["seq"] == 5
            assert len(message["board"]["visits"]) == 5


def test_a_socket_the_server_fails_is_closed_1011_with_a_reason_not_left_to_the_framework(tmp_path) -> None:
    from litestar.exceptions import WebSocketDisconnect

    floors = test_floors(tmp_path, tick_seconds=3600)
    runtime = floors.get("riverside")

    def broken(since, audience):
        raise RuntimeError("a bug while catching up")

    runtime.feed.catch_up = broken  # type: ignore[method-assign]
    with TestClient(create_app(floors)) as client:
        desk = sign_in(client, floors, Role.front_desk)
        with client.websocket_connect("/api/clinics/riverside/live", headers=desk) as ws:
            try:
                ws.receive_text(timeout=5)
                raise AssertionError("the socket stayed open")
            except WebSocketDisconnect as closed:
                assert closed.code == 1011, closed.code
                assert "server's log" in closed.detail, closed.detail
