"""A blocked room's reason is free text that a public wall shows beside the room. Floor knows the names of the
day's patients; a reason that names one of them ("Held for Ann Lee, isolation") must not reach a wall display,
which never shows a patient's name: refused when tapped (naming the field), or kept off the wall."""

from __future__ import annotations

import datetime as dt
import json

from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.config import demo_clinic
from floor.core.access import Role
from floor.web.app import create_app
from tests.support.staff import sign_in, test_floors

CLINIC = demo_clinic()
DAY = dt.date(2026, 11, 23)
MORNING = CLINIC.local(DAY, CLINIC.session.opens).astimezone(dt.UTC)


def _drain(ws) -> list[str]:
    frames = []
    while True:
        try:
            frames.append(ws.receive_text(timeout=0.5))
        except Exception:
            return frames


def test_a_room_blocked_with_a_patients_name_in_its_reason_does_not_show_the_name_on_the_wall(tmp_path) -> None:
    floors = test_floors(tmp_path, clock=ManualClock(MORNING), tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        booked = client.post(
            f"/api/clinics/{CLINIC.id}/visits",
            json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True},
            headers=manager,
        )
        assert booked.status_code == 201, booked.text
        pairing = client.post("/api/displays/pairings").json()
        paired = client.post("/api/displays", json={"code": pairing["code"], "clinic": CLINIC.id}, headers=manager)
        assert paired.status_code == 201, paired.text
        token = client.post("/api/displays/pairings/claim", json={"claim": pairing["claim"]}).json()["token"]
        with client.websocket_connect(f"/api/clinics/{CLINIC.id}/live") as wall:
            wall.send_text(json.dumps({"type": "auth", "token": token}))
            frames = [wall.receive_text(timeout=5)]
            blocked = client.post(
                f"/api/clinics/{CLINIC.id}/rooms/e2/events",
                json={"type": "blocked", "reason": "Held for Ann Lee (isolation)"},
                headers=manager,
            )
            frames += _drain(wall)
        with client.websocket_connect(f"/api/clinics/{CLINIC.id}/live") as late:  # a wall starting now
            late.send_text(json.dumps({"type": "auth", "token": token}))
            frames.append(late.receive_text(timeout=5))
    received = "\n".join(frames)
    if blocked.status_code == 201:
        assert "Ann Lee" not in received, "the wall display was sent the patient's name in the room's reason"
    else:
        assert blocked.status_code == 422 and blocked.json().get("field") == "reason", blocked.text


def test_a_patient_booked_after_a_room_was_blocked_with_their_name_is_not_named_on_the_wall(tmp_path) -> None:
    """A reason is checked when the room is blocked, against the patients booked then: "Held for Orla Brennagh's
    family" for a walk-in the family called ahead about was taken, and once Orla was booked every wall went on
    showing her name beside the room, and a wall starting later was sent it too (a hostile review of break-ins)."""
    floors = test_floors(tmp_path, clock=ManualClock(MORNING), tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        pairing = client.post("/api/displays/pairings").json()
        paired = client.post("/api/displays", json={"code": pairing["code"], "clinic": CLINIC.id}, headers=manager)
        assert paired.status_code == 201, paired.text
        token = client.post("/api/displays/pairings/claim", json={"claim": pairing["claim"]}).json()["token"]
        blocked = client.post(
            f"/api/clinics/{CLINIC.id}/rooms/e2/events",
            json={"type": "blocked", "reason": "Held for Orla Brennagh's family"},
            headers=manager,
        )
        assert blocked.status_code == 201, blocked.text  # nobody of that name is booked yet
        with client.websocket_connect(f"/api/clinics/{CLINIC.id}/live") as wall:
            wall.send_text(json.dumps({"type": "auth", "token": token}))
            wall.receive_text(timeout=5)  # the snapshot, from before she was booked
            booked = client.post(
                f"/api/clinics/{CLINIC.id}/visits",
                json={"patient_name": "Orla Brennagh", "provider": "kim", "visit_type": "follow", "walk_in": True},
                headers=manager,
            )
            assert booked.status_code == 201, booked.text
            updates = [json.loads(f) for f in _drain(wall) if json.loads(f)["kind"] == "update"]
        with client.websocket_connect(f"/api/clinics/{CLINIC.id}/live") as late:  # a wall starting now
            late.send_text(json.dumps({"type": "auth", "token": token}))
            snapshot = late.receive_text(timeout=5)
        staff_board = client.get(f"/api/clinics/{CLINIC.id}/board", headers=manager).json()
    assert "Brennagh" not in snapshot
    # The booking's update takes the reason off the walls that showed it (the room, still blocked, without it).
    rooms = [r for u in updates for r in u["rooms"] if r["id"] == "e2"]
    assert [(r["state"], r["reason"]) for r in rooms] == [("blocked", "")]
    # Staff still read why the room is held.
    assert next(r for r in staff_board["rooms"] if r["id"] == "e2")["reason"] == "Held for Orla Brennagh's family"


def test_a_reason_naming_a_patient_by_their_given_and_family_name_without_the_middle_one_is_refused(tmp_path) -> None:
    """A schedule names its patients whole ("Ann Marie Lee": a FHIR Patient's given names and family name), and
    the hallway knows them as anyone says them: "Held for Ann Lee" was taken and shown on every wall, the whole-
    name rule missing every patient with a middle name or two family names (a hostile review). The first name with
    any other of a patient's names is their name; one word alone still is not (it is an ordinary word as often)."""
    floors = test_floors(tmp_path, clock=ManualClock(MORNING), tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        desk = sign_in(client, floors, Role.front_desk)
        assistant = sign_in(client, floors, Role.medical_assistant)
        for name in ("Ann Marie Lee", "José Núñez-Ortiz"):
            booked = client.post(
                f"/api/clinics/{CLINIC.id}/visits",
                json={"patient_name": name, "provider": "kim", "visit_type": "follow", "walk_in": True},
                headers=desk,
            )
            assert booked.status_code == 201, booked.text
        seq = floors.get(CLINIC.id).floor.seq
        room = f"/api/clinics/{CLINIC.id}/rooms/e2/events"
        for reason in ("Held for Ann Lee", "Lee, Ann: isolation", "for ann marie", "Jose Nunez", "Ortiz, José"):
            refused = client.post(room, json={"type": "blocked", "reason": reason}, headers=assistant)
            assert (refused.status_code, refused.json().get("field")) == (422, "reason"), (reason, refused.text)
        assert floors.get(CLINIC.id).floor.seq == seq
        for reason in ("Lee", "Ann's cart", "Marie's desk", "Ortiz"):
            taken = client.post(room, json={"type": "blocked", "reason": reason}, headers=assistant)
            assert taken.status_code == 201, (reason, taken.text)
            assert client.post(room, json={"type": "unblocked"}, headers=assistant).status_code == 201
