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


def test_sockets_waiting_to_sign_in_are_capped_per_address_and_counted(tmp_path) -> None:
    """One address opening socket after socket and never signing in: past the cap the next is closed at once with
    4429, not held open 10 seconds each (one address held thousands: a hostile review); one that signs in makes
    room; /metrics counts the waiting and the refused."""
    import time

    from litestar.exceptions import WebSocketDisconnect

    from floor.web.auth import Guarding

    floors = test_floors(tmp_path, tick_seconds=3600)
    guarding = Guarding(waiting_per_address=3)
    url = "/api/clinics/riverside/live"

    def waiting(n: int) -> None:
        deadline = time.monotonic() + 5
        while guarding.waiting.waiting("testclient") != n:
            assert time.monotonic() < deadline, guarding.waiting.waiting("testclient")
            time.sleep(0.01)

    with TestClient(create_app(floors, guarding=guarding)) as client:
        token = sign_in(client, floors, Role.front_desk)["Authorization"].removeprefix("Bearer ")
        held = []
        for _ in range(3):
            held.append(client.websocket_connect(url).__enter__())
        waiting(3)
        with client.websocket_connect(url) as extra:
            try:
                extra.receive_text(timeout=5)
                raise AssertionError("a fourth socket waiting to sign in stayed open")
            except WebSocketDisconnect as closed:
                assert closed.code == 4429 and "waiting to sign in" in closed.detail, (closed.code, closed.detail)
        metrics = client.get("/metrics").text
        assert "floor_sockets_waiting_to_sign_in 3.0" in metrics
        assert 'floor_sockets_refused_total{reason="address"} 1.0' in metrics
        held[0].send_text(json.dumps({"type": "auth", "token": token}))
        assert json.loads(held[0].receive_text(timeout=5))["kind"] == "snapshot"
        waiting(2)
        with client.websocket_connect(url) as another:  # room again: it waits, and signs in
            another.send_text(json.dumps({"type": "auth", "token": token}))
            assert json.loads(another.receive_text(timeout=5))["kind"] == "snapshot"
        for ws in held:
            ws.__exit__(None, None, None)
        waiting(0)
        assert "floor_sockets_waiting_to_sign_in 0.0" in client.get("/metrics").text


def test_waiting_sockets_are_capped_per_ipv6_network_too() -> None:
    from floor.throttle import WaitingSockets

    waiting = WaitingSockets(per_address=2, per_network=3)
    assert [waiting.enter(f"2001:db8:1:2::{n}") for n in range(4)] == [None, None, None, "network"]
    assert waiting.enter("2001:db8:1:3::1") is None  # another /64
    assert [waiting.enter("192.0.2.7") for _ in range(3)] == [None, None, "address"]
    waiting.leave("2001:db8:1:2::0")
    assert waiting.enter("2001:db8:1:2::9") is None


def test_a_since_in_digits_other_than_ascii_is_closed_4400_naming_since(tmp_path) -> None:
    """`since` is a seq in ASCII digits. A superscript two ('²', a digit to str.isdigit, not to int) was closed with
    Python's "invalid literal for int() with base 10" for its reason, naming nothing the screen sent; Arabic-Indic
    digits were taken as a seq (a hostile review)."""
    from litestar.exceptions import WebSocketDisconnect

    from floor.close_codes import CLOSE_BAD_PARAMETER

    floors = test_floors(tmp_path, tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        desk = sign_in(client, floors, Role.front_desk)
        for since in ("%C2%B2", "%D9%A1%D9%A2", "%EF%BC%91", "1%C2%B2"):  # ², ١٢, a fullwidth 1, 1²
            with client.websocket_connect(f"/api/clinics/riverside/live?since={since}", headers=desk) as ws:
                try:
                    ws.receive_text(timeout=5)
                    raise AssertionError(f"since={since} was taken")
                except WebSocketDisconnect as closed:
                    assert closed.code == CLOSE_BAD_PARAMETER, (since, closed.code)
                    assert closed.detail.startswith("since must be a whole number"), (since, closed.detail)
        with client.websocket_connect("/api/clinics/riverside/live?since=0", headers=desk) as ws:
            assert json.loads(ws.receive_text(timeout=5))["kind"] in ("snapshot", "heartbeat")
