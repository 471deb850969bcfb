"""Ending a sign-in takes effect at once, on every server; and every step of a visit can be traced to a
person and a device, undos included."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from floor.close_codes import CLOSE_SIGNED_OUT, CLOSE_UNAUTHENTICATED
from floor.config import demo_clinic
from floor.core.access import Role
from floor.directory.redis import RedisDirectory
from floor.floors import Floors
from floor.log.embedded import EmbeddedLog
from floor.web.app import create_app
from tests.support.staff import cheapen, sign_in, test_floors

CLINIC = "riverside"


def _pair(client: TestClient, manager: dict[str, str]) -> tuple[str, str]:
    pairing = client.post("/api/displays/pairings").json()
    display = client.post(
        "/api/displays",
        json={"code": pairing["code"], "clinic": CLINIC, "zone": "east", "label": "East hall"},
        headers=manager,
    ).json()
    token = client.post("/api/displays/pairings/claim", json={"claim": pairing["claim"]}).json()["token"]
    return display["id"], token


def _closed_within(ws, seconds: float) -> tuple[int, str, float]:
    """Read until the server closes the socket; (code, reason, seconds it took)."""
    started = time.monotonic()
    while True:
        left = seconds - (time.monotonic() - started)
        assert left > 0, f"the socket was still open after {seconds} s"
        try:
            ws.receive_text(timeout=left)
        except WebSocketDisconnect as closed:
            return closed.code, closed.detail, time.monotonic() - started


def _open(client: TestClient, token: str):
    ws = client.websocket_connect(f"/api/clinics/{CLINIC}/live").__enter__()
    ws.send_text(json.dumps({"type": "auth", "token": token}))
    assert json.loads(ws.receive_text(timeout=5))["kind"] == "snapshot"
    return ws


def test_a_revoked_display_is_disconnected_within_a_second_and_cannot_come_back(tmp_path) -> None:
    floors = test_floors(tmp_path, tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        display, token = _pair(client, manager)
        other_display, other_token = _pair(client, manager)
        wall, other_wall = _open(client, token), _open(client, other_token)

        revoked = client.delete(f"/api/displays/{display}", headers=manager)
        assert revoked.status_code == 200 and revoked.json()["revoked_by"] == "mgr-dana"
        code, reason, took = _closed_within(wall, 1.0)
        assert code == 1008 and "revoked" in reason and took < 1.0

        # The other display is untouched and still receives the floor.
        desk = sign_in(client, floors, Role.front_desk)
        client.post(
            f"/api/clinics/{CLINIC}/visits",
            json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True},
            headers=desk,
        )
        assert json.loads(other_wall.receive_text(timeout=5))["kind"] == "update"

        # The revoked token opens nothing any more, and the list says who revoked it.
        with client.websocket_connect(f"/api/clinics/{CLINIC}/live") as again:
            again.send_text(json.dumps({"type": "auth", "token": token}))
            with pytest.raises(WebSocketDisconnect) as refused:
                again.receive_text(timeout=5)
            assert refused.value.code == 4401
        assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        listed = {d["id"]: d for d in client.get("/api/displays", headers=manager).json()}
        assert listed[display]["revoked_at"] and listed[other_display]["revoked_at"] is None
        other_wall.close()


def test_a_signed_out_tablet_token_stops_working_at_once(tmp_path) -> None:
    floors = test_floors(tmp_path, tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        desk = sign_in(client, floors, Role.front_desk)
        second_tablet = sign_in(client, floors, Role.front_desk, device="tablet-2")
        assert client.get(f"/api/clinics/{CLINIC}/board", headers=desk).status_code == 200
        ws = client.websocket_connect(f"/api/clinics/{CLINIC}/live", headers=desk).__enter__()
        assert json.loads(ws.receive_text(timeout=5))["kind"] == "snapshot"

        assert client.post("/api/sign-out", headers=desk).status_code == 204
        # The very next request is refused; nothing it asked for is written.
        seq = floors.get(CLINIC).floor.seq
        refused = client.post(
            f"/api/clinics/{CLINIC}/visits",
            json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True},
            headers=desk,
        )
        assert refused.status_code == 401 and refused.json()["error"] == "unauthenticated"
        assert floors.get(CLINIC).floor.seq == seq
        assert client.get(f"/api/clinics/{CLINIC}/board", headers=desk).status_code == 401
        code, reason, _ = _closed_within(ws, 1.0)
        assert code == 1008 and "signed out" in reason
        # The same person's other tablet stays signed in.
        assert client.get(f"/api/clinics/{CLINIC}/board", headers=second_tablet).status_code == 200


def test_a_socket_whose_sign_in_ends_while_its_token_is_being_checked_is_closed_at_once(tmp_path) -> None:
    """A socket signing in reads its sign-in (still good), and the sign-in ends (signed out, a PIN set, a wall
    revoked) before the socket is among those the server's session check looks at: that check closed nothing,
    the socket then joined the feed, and no check looked at it again for a minute, while it was sent the floor
    with every name (a hostile review: a stolen token reconnecting as it was revoked). A socket whose read of its
    sign-in overlapped a check reads it again before it joins."""
    floors = test_floors(tmp_path, tick_seconds=3600)
    entered, release = threading.Event(), threading.Event()
    held = {"armed": False}
    real = floors.sessions.directory.session

    async def read_then_wait(*args, **kwargs):
        found = await real(*args, **kwargs)
        if held["armed"]:
            held["armed"] = False
            entered.set()
            while not release.is_set():  # the sign-in read as it was, its answer not back yet
                await asyncio.sleep(0.01)
        return found

    floors.sessions.directory.session = read_then_wait  # type: ignore[method-assign]
    with TestClient(create_app(floors)) as client:
        desk = sign_in(client, floors, Role.front_desk)
        held["armed"] = True
        with client.websocket_connect(f"/api/clinics/{CLINIC}/live") as ws:
            ws.send_text(json.dumps({"type": "auth", "token": desk["Authorization"].removeprefix("Bearer ")}))
            assert entered.wait(5)
            assert client.post("/api/sign-out", headers=desk).status_code == 204
            time.sleep(0.3)  # the check the sign-out asked for has run, without this socket
            release.set()
            sent = []
            with pytest.raises(WebSocketDisconnect) as closed:  # not an Empty queue: it was left open
                while True:
                    sent.append(ws.receive_text(timeout=2))
            assert sent == [], "a socket whose sign-in had ended was sent the floor"
            assert closed.value.code in (CLOSE_UNAUTHENTICATED, CLOSE_SIGNED_OUT), closed.value.code


def test_a_display_revoked_through_one_server_is_dropped_by_another_sharing_redis(tmp_path, redis_url) -> None:
    """Two servers on one Redis directory: the socket lives on B, the manager revokes through A."""
    prefix = f"test-{uuid.uuid4().hex}"
    servers = [
        cheapen(
            Floors(
                [demo_clinic()],
                EmbeddedLog(tmp_path / name),
                tick_seconds=3600,
                directory=RedisDirectory(redis_url, prefix=prefix),
            )
        )
        for name in ("a", "b")
    ]
    with TestClient(create_app(servers[0])) as a, TestClient(create_app(servers[1])) as b:
        manager = sign_in(a, servers[0], Role.manager)
        assert b.get("/api/me", headers=manager).json()["id"] == "mgr-dana"  # one directory
        display, token = _pair(a, manager)
        wall = _open(b, token)
        assert a.delete(f"/api/displays/{display}", headers=manager).status_code == 200
        code, reason, took = _closed_within(wall, 1.5)
        assert code == 1008 and "revoked" in reason and took < 1.5
        # Signing out through B ends the sign-in for A too.
        assert b.post("/api/sign-out", headers=manager).status_code == 204
        assert a.get("/api/me", headers=manager).status_code == 401


def test_the_audit_trail_of_a_visit_lists_every_step_with_person_device_and_time(tmp_path) -> None:
    floors = test_floors(tmp_path, tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        desk = sign_in(client, floors, Role.front_desk, device="front-desk-1")
        ma = sign_in(client, floors, Role.medical_assistant, device="tablet-east")
        provider = sign_in(client, floors, Role.provider, device="tablet-dr")
        manager = sign_in(client, floors, Role.manager, device="office")
        base = f"/api/clinics/{CLINIC}"
        visit = client.post(
            f"{base}/visits",
            json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True},
            headers=desk,
        ).json()["visit"]["id"]
        other = client.post(
            f"{base}/visits",
            json={"patient_name": "Bo Chan", "provider": "kim", "visit_type": "follow", "walk_in": True},
            headers=desk,
        )
        assert other.status_code == 201
        other_visit = other.json()["visit"]["id"]
        taps = [
            (ma, {"type": "roomed", "room": "e1"}),
            (ma, {"type": "undo"}),
            (ma, {"type": "roomed", "room": "e2"}),
            (ma, {"type": "prep_done"}),
            (provider, {"type": "provider_in"}),
            (provider, {"type": "teach_back_done"}),
            (manager, {"type": "undo"}),
            (provider, {"type": "teach_back_done"}),
            (desk, {"type": "checked_out"}),
        ]
        for headers, body in taps:
            answer = client.post(f"{base}/visits/{visit}/events", json=body, headers=headers)
            assert answer.status_code == 201, answer.text

        trail = client.get(f"{base}/visits/{visit}/audit", headers=manager)
        assert trail.status_code == 200, trail.text
        entries = trail.json()["entries"]
        got = [(e["type"], e.get("step") or e.get("undone"), e["person"], e["device"]) for e in entries]
        assert got == [
            ("walk_in", None, "desk-ana", "front-desk-1"),
            ("roomed", "roomed", "ma-ben", "tablet-east"),
            ("undo", "roomed", "ma-ben", "tablet-east"),
            ("roomed", "roomed", "ma-ben", "tablet-east"),
            ("prep_done", "prep_done", "ma-ben", "tablet-east"),
            ("provider_in", "provider_in", "dr-kim", "tablet-dr"),
            ("teach_back_done", "teach_back_done", "dr-kim", "tablet-dr"),
            ("undo", "teach_back_done", "mgr-dana", "office"),
            ("teach_back_done", "teach_back_done", "dr-kim", "tablet-dr"),
            ("checked_out", "checked_out", "desk-ana", "front-desk-1"),
        ]
        assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
        assert all(e["at"] and e["visit"] == visit for e in entries)
        assert entries[1]["room"] == "e1" and entries[3]["room"] == "e2"

        # A person's trail: everything they tapped today, in any visit.
        mine = client.get("/api/staff/desk-ana/audit", headers=manager).json()["entries"]
        assert [(e["type"], e.get("visit")) for e in mine] == [
            ("walk_in", visit),
            ("walk_in", other_visit),
            ("checked_out", visit),
        ]
        # Only managers read it, and an unknown visit is a 404 that says so.
        assert client.get(f"{base}/visits/{visit}/audit", headers=desk).status_code == 403
        assert client.get("/api/staff/desk-ana/audit", headers=provider).status_code == 403
        assert client.get(f"{base}/visits/v999/audit", headers=manager).status_code == 404
