"""Alerts and measures through the app: a dwell alert reaches the socket on a clock tick with no tap, a
manager acknowledges it (who and when recorded), it clears when the patient moves on; measures are served."""

from __future__ import annotations

import datetime as dt
import json

from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.config import demo_clinic
from floor.core.access import Role
from floor.web.app import create_app
from tests.support.staff import everyone, test_floors

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in Chicago


def _next(ws, kind: str, change: str | None = None) -> dict:
    for _ in range(50):
        message = json.loads(ws.receive_text(timeout=5))
        if message["kind"] == kind and (change is None or message["event"]["change"]["type"] == change):
            return message
    raise AssertionError(f"no {kind} {change} message")


def test_a_dwell_alert_is_raised_acknowledged_and_cleared_live(tmp_path) -> None:
    clock = ManualClock(START)
    floors = test_floors(tmp_path, clock=clock, tick_seconds=0.05)
    with TestClient(create_app(floors)) as client:
        staff = everyone(client, floors)
        desk, ma, manager = staff[Role.front_desk], staff[Role.medical_assistant], staff[Role.manager]
        # A manager's screen: only managers get the measures on the feed.
        with client.websocket_connect("/api/clinics/riverside/live", headers=manager) as ws:
            _next(ws, "snapshot")
            visit = client.post(
                "/api/clinics/riverside/visits",
                json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True},
                headers=desk,
            ).json()["visit"]
            clock.advance(minutes=16)  # waiting to be roomed longer than the clinic's 15 minutes; nobody taps
            raised = _next(ws, "event", "alert_raised")
            alert = raised["alert"]
            assert alert["kind"] == "dwell" and alert["visit"] == visit["id"] and alert["stage"] == "arrived"
            assert raised["event"]["actor"] == "floor"
            board = client.get("/api/clinics/riverside/board", headers=desk).json()
            assert [a["id"] for a in board["alerts"]] == [alert["id"]]

            r = client.post(f"/api/clinics/riverside/alerts/{alert['id']}/acknowledge", headers=manager)
            assert r.status_code == 201, r.text
            acknowledged = _next(ws, "event", "alert_acknowledged")["alert"]
            assert acknowledged["acknowledged_by"] == "mgr-dana" and acknowledged["acknowledged_at"]
            again = client.post(f"/api/clinics/riverside/alerts/{alert['id']}/acknowledge", headers=manager)
            assert again.status_code == 409 and "mgr-dana" in again.json()["message"]
            assert client.post("/api/clinics/riverside/alerts/nope/acknowledge", headers=manager).status_code == 404

            r = client.post(
                f"/api/clinics/riverside/visits/{visit['id']}/events", json={"type": "roomed", "room": "e1"}, headers=ma
            )
            assert r.status_code == 201, r.text
            cleared = _next(ws, "event", "alert_cleared")["alert"]
            assert cleared["id"] == alert["id"] and cleared["cleared_at"]
            board = client.get("/api/clinics/riverside/board", headers=desk).json()
            history = [a for a in board["alerts"] if a["id"] == alert["id"]]
            assert history[0]["cleared_at"] and history[0]["acknowledged_by"] == "mgr-dana"

            measures = client.get("/api/clinics/riverside/measures", headers=manager).json()
            assert measures["clinic"]["booked"] == 1 and measures["clinic"]["alerts_raised"] == 1
            assert measures["clinic"]["arrival_to_roomed"]["median"] == 16.0
            assert set(measures["providers"]) == {p.id for p in demo_clinic().providers}
            assert {
                d["provider"] for d in client.get("/api/clinics/riverside/board", headers=desk).json()["delays"]
            } == set(measures["providers"])
            # The live feed carries them too, on every tick.
            live = _next(ws, "measures")
            assert live["measures"]["clinic"]["booked"] == 1 and len(live["delays"]) == len(measures["providers"])
