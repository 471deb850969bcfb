"""`PUT /api/clinics/{clinic}/rooms`: a manager sets the clinic's rooms from the browser. Managers only; sent with
the set-up version the page showed (409 when another change came first); a list a clinic file could not have is
refused 422 naming the field; the board, the audit trail and a restart of the server all have the change."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.core.access import Role
from floor.web.app import create_app
from tests.support.staff import sign_in, signed_in_on_a_manual_clock, test_floors

API = "/api/clinics/riverside"
START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("America/Chicago"))
PEOPLE = {"manager": (Role.manager, None), "desk": (Role.front_desk, None), "ma": (Role.medical_assistant, None)}


def rooms_now(client: TestClient, headers: dict[str, str]) -> tuple[int, list[dict]]:
    board = client.get(f"{API}/board", headers=headers).json()
    return board["setup_version"], [{k: r[k] for k in ("id", "label", "zone")} for r in board["rooms"]]


def test_a_manager_adds_a_room_and_the_board_and_audit_trail_have_it(tmp_path) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, _, people):
        version, rooms = rooms_now(client, people["manager"])
        assert version == 0
        body = {"version": version, "rooms": [*rooms, {"id": "n1", "label": "North 1", "zone": "north"}]}
        answer = client.put(f"{API}/rooms", json=body, headers=people["manager"])
        assert answer.status_code == 201, answer.text
        stored = answer.json()
        assert stored["event"]["change"]["type"] == "set_up_changed"
        assert stored["setup_version"] == stored["seq"] and stored["rooms"][-1]["state"] == "ready"
        board = client.get(f"{API}/board", headers=people["desk"]).json()
        assert board["setup_version"] == stored["seq"]
        assert board["rooms"][-1] == stored["rooms"][-1] and board["file_rooms"] == rooms
        [entry] = client.get("/api/staff/mgr-dana/audit", headers=people["manager"]).json()["entries"]
        assert entry["changes"] == ["Added room North 1 in zone north"]


@pytest.mark.parametrize("who", ["desk", "ma"])
def test_only_a_manager_sets_the_rooms(tmp_path, who: str) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, _, people):
        version, rooms = rooms_now(client, people["manager"])
        answer = client.put(f"{API}/rooms", json={"version": version, "rooms": rooms[:-1]}, headers=people[who])
        assert answer.status_code == 403 and answer.json()["error"] == "forbidden"
        assert rooms_now(client, people["manager"]) == (version, rooms)


def test_a_list_drawn_before_another_managers_change_is_refused_409(tmp_path) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, _, people):
        version, rooms = rooms_now(client, people["manager"])
        first = client.put(f"{API}/rooms", json={"version": version, "rooms": rooms[:-1]}, headers=people["manager"])
        assert first.status_code == 201
        late = client.put(
            f"{API}/rooms",
            json={"version": version, "rooms": [*rooms, {"id": "n1", "label": "North 1", "zone": "north"}]},
            headers=people["manager"],
        )
        assert late.status_code == 409, late.text
        assert (late.json()["error"], late.json()["field"]) == ("stale_version", "version")
        assert rooms_now(client, people["manager"]) == (first.json()["seq"], rooms[:-1])


@pytest.mark.parametrize(
    ("room", "field", "status"),
    [
        ({"id": "n1", "label": "West 5", "zone": "north"}, "rooms[10].label", 422),
        ({"id": "n1", "label": "North 1", "zone": ""}, "rooms[10].zone", 422),
        ({"id": "N 1", "label": "North 1", "zone": "north"}, "rooms[10].id", 422),
        ({"id": "n1", "label": "North 1"}, "rooms[10].zone", 400),
        ({"id": "n1", "label": "North 1", "zone": "north", "floor": 2}, "rooms[10].floor", 400),
    ],
)
def test_bad_input_is_refused_naming_the_field(tmp_path, room: dict, field: str, status: int) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, _, people):
        version, rooms = rooms_now(client, people["manager"])
        answer = client.put(
            f"{API}/rooms", json={"version": version, "rooms": [*rooms, room]}, headers=people["manager"]
        )
        assert answer.status_code == status, answer.text
        assert answer.json()["field"] == field, answer.text
        assert rooms_now(client, people["manager"]) == (version, rooms)


def test_a_room_with_a_patient_in_it_is_not_taken_out(tmp_path) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, _, people):
        booked = client.post(
            f"{API}/visits",
            json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True},
            headers=people["desk"],
        ).json()["visit"]["id"]
        roomed = client.post(
            f"{API}/visits/{booked}/events", json={"type": "roomed", "room": "w5"}, headers=people["ma"]
        )
        assert roomed.status_code == 201
        version, rooms = rooms_now(client, people["manager"])
        answer = client.put(
            f"{API}/rooms",
            json={"version": version, "rooms": [r for r in rooms if r["id"] != "w5"]},
            headers=people["manager"],
        )
        assert answer.status_code == 409, answer.text
        assert (answer.json()["error"], answer.json()["room"]) == ("room_unavailable", "w5")
        assert "West 5 has a patient in it" in answer.json()["message"]


def test_the_clinic_file_s_rooms_chosen_back_and_a_restart_starting_from_the_rooms_set(tmp_path) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, _, people):
        version, rooms = rooms_now(client, people["manager"])
        put = client.put(
            f"{API}/rooms",
            json={"version": version, "rooms": [*rooms, {"id": "n1", "label": "North 1", "zone": "north"}]},
            headers=people["manager"],
        )
        assert put.status_code == 201
    # Started again the next day: the rooms set stand over the file's.
    floors = test_floors(tmp_path, clock=ManualClock(START + dt.timedelta(days=1)), tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        version, now = rooms_now(client, manager)
        assert now == [*rooms, {"id": "n1", "label": "North 1", "zone": "north"}] and version == put.json()["seq"]
        both = client.put(f"{API}/rooms", json={"version": version, "use_file": True, "rooms": rooms}, headers=manager)
        assert (both.status_code, both.json()["field"]) == (422, "rooms")
        back = client.put(f"{API}/rooms", json={"version": version, "use_file": True}, headers=manager)
        assert back.status_code == 201, back.text
        board = client.get(f"{API}/board", headers=manager).json()
        assert [r["id"] for r in board["rooms"]] == [r["id"] for r in rooms] and board["file_rooms"] is None


def providers_now(client: TestClient, headers: dict[str, str]) -> tuple[int, list[dict]]:
    board = client.get(f"{API}/board", headers=headers).json()
    return board["setup_version"], board["providers"]


def test_a_manager_adds_a_provider_whom_the_desk_can_book_at_once(tmp_path) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, _, people):
        version, providers = providers_now(client, people["manager"])
        patel = {"id": "patel", "name": "Dr. Ravi Patel", "initials": "RP"}
        refused = client.put(
            f"{API}/providers", json={"version": version, "providers": providers}, headers=people["desk"]
        )
        assert refused.status_code == 403
        added = client.put(
            f"{API}/providers", json={"version": version, "providers": [*providers, patel]}, headers=people["manager"]
        )
        assert added.status_code == 201, added.text
        assert added.json()["providers"][-1] == patel and added.json()["setup_version"] == added.json()["seq"]
        booked = client.post(
            f"{API}/visits",
            json={"patient_name": "Ann Lee", "provider": "patel", "visit_type": "follow", "walk_in": True},
            headers=people["desk"],
        )
        assert booked.status_code == 201, booked.text
        # Taken out while their patient waits: refused, naming them; a stale list: 409; bad initials: 422.
        out = client.put(
            f"{API}/providers",
            json={"version": added.json()["seq"], "providers": providers},
            headers=people["manager"],
        )
        assert (out.status_code, out.json()["error"], out.json()["provider"]) == (409, "illegal_step", "patel")
        stale = client.put(
            f"{API}/providers", json={"version": version, "providers": providers}, headers=people["manager"]
        )
        assert (stale.status_code, stale.json()["error"], stale.json()["field"]) == (409, "stale_version", "version")
        bad = client.put(
            f"{API}/providers",
            json={"version": added.json()["seq"], "providers": [*providers, {**patel, "initials": "r.p."}]},
            headers=people["manager"],
        )
        assert (bad.status_code, bad.json()["field"]) == (422, "providers[4].initials"), bad.text
        [entry] = [
            e
            for e in client.get("/api/staff/mgr-dana/audit", headers=people["manager"]).json()["entries"]
            if e["type"] == "set_up_changed"
        ]
        assert entry["changes"] == ["Added provider Dr. Ravi Patel (RP)"]


def test_a_page_of_another_site_cannot_set_the_rooms(tmp_path) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, _, people):
        version, rooms = rooms_now(client, people["manager"])
        answer = client.put(
            f"{API}/rooms",
            json={"version": version, "rooms": rooms[:-1]},
            headers={**people["manager"], "Origin": "https://elsewhere.example"},
        )
        assert answer.status_code == 403 and "another site" in answer.json()["message"]
        assert rooms_now(client, people["manager"]) == (version, rooms)
