"""A wall display paired to a zone receives that zone's part of the floor only, filtered on the server: its
rooms, the visits in them or in no room yet, and their alerts; in the snapshot, every update and a resume."""

from __future__ import annotations

import datetime as dt
import json

from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.config import demo_clinic
from floor.core.access import Role
from floor.core.commands import BookVisit, TakeStep
from floor.core.journey import Stage
from floor.hallway import wall_alert_id
from floor.web.app import create_app
from tests.support.answers import answered
from tests.support.staff import sign_in, test_floors

CLINIC = demo_clinic()
DAY = dt.date(2026, 11, 23)
MORNING = CLINIC.local(DAY, CLINIC.session.opens).astimezone(dt.UTC)
EAST = {r.id for r in CLINIC.rooms if r.zone == "east"}


def _pair(client: TestClient, manager: dict[str, str], zone: str | None) -> str:
    pairing = client.post("/api/displays/pairings").json()
    body = {"code": pairing["code"], "clinic": CLINIC.id, **({"zone": zone} if zone else {})}
    assert client.post("/api/displays", json=body, headers=manager).status_code == 201
    return client.post("/api/displays/pairings/claim", json={"claim": pairing["claim"]}).json()["token"]


def _watch(client: TestClient, token: str, since: int | None = None):
    ws = client.websocket_connect(f"/api/clinics/{CLINIC.id}/live" + (f"?since={since}" if since else ""))
    ws.__enter__()
    ws.send_text(json.dumps({"type": "auth", "token": token}))
    return ws


def _next(ws, kind: str) -> dict:
    while True:
        message = json.loads(ws.receive_text(timeout=5))
        if message["kind"] == kind:
            return message


def test_a_zones_display_gets_only_its_rooms_their_visits_and_the_waiting_room(tmp_path) -> None:
    clock = ManualClock(MORNING)
    floors = test_floors(tmp_path, clock=clock, tick_seconds=3600)
    runtime = floors.get(CLINIC.id)
    provider, kind = CLINIC.providers[0].id, CLINIC.visit_types[0].code

    def tap(command) -> dict:
        answer = client.blocking_portal.call(runtime.handle, command, "mgr-dana", "tablet-1", None, Role.manager)
        return answered(runtime, command, answer)

    def visit_in(room: str | None) -> str:
        visit = tap(BookVisit("Pat Example", provider, kind, None, True))["visit"]["id"]
        if room is not None:
            tap(TakeStep(visit, Stage.roomed, room))
        return visit

    def token(visit: str) -> str:
        return runtime.floor.visits[visit].token

    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        east_wall, whole_wall = _pair(client, manager, "east"), _pair(client, manager, None)
        in_east, in_west, waiting = visit_in("e1"), visit_in("w1"), visit_in(None)

        east, whole = _watch(client, east_wall), _watch(client, whole_wall)
        board = _next(east, "snapshot")["board"]
        assert {r["id"] for r in board["rooms"]} == EAST
        assert {v["token"] for v in board["visits"]} == {token(in_east), token(waiting)}
        assert len(_next(whole, "snapshot")["board"]["rooms"]) == len(CLINIC.rooms)
        seq = runtime.floor.seq

        # Live: a visit roomed in the west is not sent to the east wall; every event still is (seq in step).
        visit = tap(BookVisit("Pat Example", provider, kind, None, True))["visit"]["id"]
        booked = _next(east, "update")
        assert booked["seq"] == seq + 1 and booked["visit"]["token"] == token(visit)  # waiting: every zone's
        tap(TakeStep(visit, Stage.roomed, "w2"))
        west = _next(east, "update")
        assert west["seq"] == seq + 2 and west["visit"] is None and west["rooms"] == []
        assert west["gone"] == token(visit)  # the wall forgets it
        tap(TakeStep(waiting, Stage.roomed, "e2"))
        roomed = _next(east, "update")
        assert roomed["visit"]["token"] == token(waiting) and [r["id"] for r in roomed["rooms"]] == ["e2"]
        east.__exit__(None, None, None)

        # Resuming from before those events sends the same filtered updates.
        resumed = _watch(client, east_wall, since=seq)
        updates = [_next(resumed, "update") for _ in range(3)]
        assert [u["seq"] for u in updates] == [seq + 1, seq + 2, seq + 3]
        assert updates[1]["visit"] is None and updates[1]["rooms"] == [] and updates[1]["gone"] == token(visit)
        rooms_sent = {r["id"] for u in updates for r in u["rooms"]}
        assert rooms_sent <= EAST
        resumed.__exit__(None, None, None)

        whole_updates = [m for m in (json.loads(whole.receive_text(timeout=5)) for _ in range(2))]
        assert any(r["id"] == "w2" for u in whole_updates for r in u.get("rooms", []))
        whole.__exit__(None, None, None)
        assert in_west  # in the west all along: never on the east wall


def test_a_zones_display_gets_only_its_alerts_under_wall_ids_and_staff_still_acknowledge(tmp_path) -> None:
    clock = ManualClock(MORNING)
    floors = test_floors(tmp_path, clock=clock, tick_seconds=3600)
    runtime = floors.get(CLINIC.id)
    provider, kind = CLINIC.providers[0].id, CLINIC.visit_types[0].code

    with TestClient(create_app(floors)) as client:

        def tap(command) -> dict:
            answer = client.blocking_portal.call(runtime.handle, command, "mgr-dana", "tablet-1", None, Role.manager)
            return answered(runtime, command, answer)

        manager = sign_in(client, floors, Role.manager)
        east_wall, whole_wall = _pair(client, manager, "east"), _pair(client, manager, None)
        visits = {}
        for room in ("e1", "w1"):
            visits[room] = tap(BookVisit("Pat Example", provider, kind, None, True))["visit"]["id"]
            tap(TakeStep(visits[room], Stage.roomed, room))
        clock.advance(minutes=CLINIC.thresholds.waiting_for_prep + 1)
        client.blocking_portal.call(runtime.review_alerts)
        alerts = {a.visit: a for a in runtime.floor.alerts.values() if a.kind == "dwell"}
        assert set(alerts) == set(visits.values())

        east, whole = _watch(client, east_wall), _watch(client, whole_wall)
        shown = _next(east, "snapshot")["board"]["alerts"]
        assert [a["visit"] for a in shown] == [runtime.floor.visits[visits["e1"]].token]
        assert len(_next(whole, "snapshot")["board"]["alerts"]) == 2
        wall_id = shown[0]["id"]
        internal = alerts[visits["e1"]].id
        assert wall_id != internal and internal not in json.dumps(shown)
        assert not any(v in wall_id for v in visits.values())

        # A manager acknowledges by the internal id (on their screen); the wall sees it under the same wall id.
        answer = client.post(f"/api/clinics/{CLINIC.id}/alerts/{internal}/acknowledge", headers=manager)
        assert answer.status_code == 201, answer.text
        update = _next(east, "update")
        assert update["alert"]["id"] == wall_id and update["alert"]["acknowledged"] is True
        # Acknowledging the west visit's alert sends the east wall an update without it.
        west = alerts[visits["w1"]].id
        assert client.post(f"/api/clinics/{CLINIC.id}/alerts/{west}/acknowledge", headers=manager).status_code == 201
        assert _next(east, "update")["alert"] is None
        # The wall's id is no handle for acknowledging.
        assert client.post(f"/api/clinics/{CLINIC.id}/alerts/{wall_id}/acknowledge", headers=manager).status_code == 404
        east.__exit__(None, None, None)
        whole.__exit__(None, None, None)


def test_a_wall_alert_id_does_not_carry_an_old_alerts_internal_visit_id() -> None:
    old = "dwell-v53-roomed-1763910000"  # an alert id from before ids were random
    wall = wall_alert_id(old)
    assert wall == wall_alert_id(old) and wall != wall_alert_id("dwell-v54-roomed-1763910000")
    assert "v53" not in wall and "dwell" not in wall and len(wall) == 13


def test_a_zones_display_hears_nothing_of_another_zones_patient_after_it_is_roomed_there(tmp_path) -> None:
    """An east wall got a west patient's token on every later step, the whole visit again at checkout (no room,
    so every zone's), and each step's type from its mark (a review). Now: gone once, then nothing of it."""
    clock = ManualClock(MORNING)
    floors = test_floors(tmp_path, clock=clock, tick_seconds=3600)
    runtime = floors.get(CLINIC.id)
    provider, kind = CLINIC.providers[0].id, CLINIC.visit_types[0].code
    with TestClient(create_app(floors)) as client:

        def tap(command):
            answer = client.blocking_portal.call(runtime.handle, command, "mgr-dana", "tablet-1", None, Role.manager)
            return answered(runtime, command, answer)

        manager = sign_in(client, floors, Role.manager)
        east = _watch(client, _pair(client, manager, "east"))
        try:
            _next(east, "snapshot")
            visit = tap(BookVisit("Pat Example", provider, kind, None, True))["visit"]["id"]
            token = runtime.floor.visits[visit].token
            assert _next(east, "update")["visit"]["token"] == token  # in the waiting room: every zone's
            seen = []
            for step, room in (
                (Stage.roomed, "w2"),
                (Stage.prep_done, None),
                (Stage.provider_in, None),
                (Stage.teach_back_done, None),
                (Stage.checked_out, None),
            ):
                clock.advance(minutes=7)
                tap(TakeStep(visit, step, room))
                seen.append(_next(east, "update"))
        finally:
            east.__exit__(None, None, None)
        marks = {json.dumps(u["mark"]) for u in seen}
    assert [u["gone"] for u in seen] == [token, None, None, None, None]
    assert all(u["visit"] is None for u in seen)
    assert token not in json.dumps(seen[1:])
    assert len(marks) == 5  # each event's own mark, of its seq and moment alone


def test_a_paired_wall_is_renamed_and_moved_to_another_zone_and_its_screen_follows_at_once(tmp_path) -> None:
    """A manager moves the east hallway's wall to the west, and renames it, without pairing it again: the wall,
    still connected, gets the west's snapshot and updates at once (it had to be revoked and paired again, dark
    meanwhile). Only a manager of its clinic may; a zone the clinic has not, or a name that is no name, is refused
    naming the field; a revoked wall is not brought back."""
    clock = ManualClock(MORNING)
    floors = test_floors(tmp_path, clock=clock, tick_seconds=3600)
    west = {r.id for r in CLINIC.rooms if r.zone == "west"}
    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        wall = _pair(client, manager, "east")
        display = client.get("/api/displays", headers=manager).json()[0]["id"]
        ws = _watch(client, wall)
        assert {r["id"] for r in _next(ws, "snapshot")["board"]["rooms"]} == EAST

        url = f"/api/displays/{display}"
        desk = sign_in(client, floors, Role.front_desk)
        assert client.put(url, json={"label": "West hall", "zone": "west"}, headers=desk).status_code == 403
        nowhere = client.put(url, json={"label": "West hall", "zone": "north"}, headers=manager)
        assert nowhere.status_code == 422 and nowhere.json()["field"] == "zone", nowhere.text
        blank = client.put(url, json={"label": " ", "zone": "west"}, headers=manager)
        assert blank.status_code == 422 and blank.json()["field"] == "label", blank.text
        moved = client.put(url, json={"label": "West hall", "zone": "west"}, headers=manager)
        assert moved.status_code == 200, moved.text
        assert (moved.json()["label"], moved.json()["zone"]) == ("West hall", "west")
        # Who changed it, and when, is kept on it and listed.
        assert moved.json()["changed_by"] == "mgr-dana" and moved.json()["changed_at"]
        assert {r["id"] for r in _next(ws, "snapshot")["board"]["rooms"]} == west
        listed = client.get("/api/displays", headers=manager).json()
        assert [(d["label"], d["zone"]) for d in listed] == [("West hall", "west")]
        ws.__exit__(None, None, None)
        # Its token holds: connecting again, it is the west's wall.
        again = _watch(client, wall)
        assert {r["id"] for r in _next(again, "snapshot")["board"]["rooms"]} == west
        again.__exit__(None, None, None)

        assert client.delete(url, headers=manager).status_code == 200
        revoked = client.put(url, json={"label": "Back", "zone": None}, headers=manager)
        assert revoked.status_code == 409, revoked.text
        assert (
            client.put("/api/displays/d-00000000", json={"label": "X", "zone": None}, headers=manager).status_code
            == 404
        )
