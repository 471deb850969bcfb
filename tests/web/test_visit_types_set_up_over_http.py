"""`PUT /api/clinics/{clinic}/visit-types`: a manager sets the clinic's visit types (their minutes for each stage)
from the browser. Managers only, CSRF guarded; sent with the set-up version the page showed (409 when another change
came first); a list a clinic file could not have is refused 422 naming the field; a type a visit today still uses is
not taken out; the board, the audit trail and a restart of the server all have the change."""

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
TELE = {
    "code": "tele",
    "label": "Telehealth",
    "slot_minutes": 15,
    "stage_minutes": {"arrived": 0, "roomed": 0, "prep_done": 2, "provider_in": 10, "teach_back_done": 2},
}


def types_now(client: TestClient, headers: dict[str, str]) -> tuple[int, list[dict]]:
    board = client.get(f"{API}/board", headers=headers).json()
    return board["setup_version"], board["visit_types"]


def with_minutes(vtype: dict, **stages: int) -> dict:
    return {**vtype, "stage_minutes": {**vtype["stage_minutes"], **stages}}


def test_a_manager_adds_a_type_and_changes_minutes_and_the_desk_books_it_at_once(tmp_path) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, floors, _, people):
        version, types = types_now(client, people["manager"])
        longer = [with_minutes(v, provider_in=30) if v["code"] == "follow" else v for v in types]
        answer = client.put(
            f"{API}/visit-types", json={"version": version, "visit_types": [*longer, TELE]}, headers=people["manager"]
        )
        assert answer.status_code == 201, answer.text
        stored = answer.json()
        assert stored["event"]["change"]["type"] == "set_up_changed"
        assert stored["setup_version"] == stored["seq"] and stored["visit_types"] == [*longer, TELE]
        board = client.get(f"{API}/board", headers=people["desk"]).json()
        assert board["visit_types"] == [*longer, TELE] and board["file_visit_types"] == types
        assert floors.get("riverside").floor.clinic.visit_type("follow").stage_minutes.provider_in == 30
        booked = client.post(
            f"{API}/visits",
            json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "tele", "walk_in": True},
            headers=people["desk"],
        )
        assert booked.status_code == 201, booked.text
        [entry] = client.get("/api/staff/mgr-dana/audit", headers=people["manager"]).json()["entries"]
        assert entry["changes"] == [
            "Changed Follow-up's minutes: with the provider from 12 to 30",
            "Added visit type Telehealth (tele): slot 15, waiting to be roomed 0, rooming to prep 0, prep to provider "
            "2, with the provider 10, teach-back to checkout 2 minutes",
        ]
        # Telehealth taken out while Ann Lee's visit is not over: refused, naming the type.
        out = client.put(
            f"{API}/visit-types", json={"version": stored["seq"], "visit_types": longer}, headers=people["manager"]
        )
        assert out.status_code == 409, out.text
        assert (out.json()["error"], out.json()["visit_type"]) == ("illegal_step", "tele")


@pytest.mark.parametrize("who", ["desk", "ma"])
def test_only_a_manager_sets_the_visit_types(tmp_path, who: str) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, _, people):
        version, types = types_now(client, people["manager"])
        answer = client.put(
            f"{API}/visit-types", json={"version": version, "visit_types": [*types, TELE]}, headers=people[who]
        )
        assert answer.status_code == 403 and answer.json()["error"] == "forbidden"
        assert types_now(client, people["manager"]) == (version, types)


def test_a_page_of_another_site_cannot_set_the_visit_types(tmp_path) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, _, people):
        version, types = types_now(client, people["manager"])
        answer = client.put(
            f"{API}/visit-types",
            json={"version": version, "visit_types": [*types, TELE]},
            headers={**people["manager"], "Origin": "https://elsewhere.example"},
        )
        assert answer.status_code == 403 and "another site" in answer.json()["message"]
        assert types_now(client, people["manager"]) == (version, types)


def test_a_list_drawn_before_another_managers_change_is_refused_409(tmp_path) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, _, people):
        version, types = types_now(client, people["manager"])
        first = client.put(
            f"{API}/visit-types", json={"version": version, "visit_types": [*types, TELE]}, headers=people["manager"]
        )
        assert first.status_code == 201
        late = client.put(
            f"{API}/visit-types", json={"version": version, "visit_types": types[:-1]}, headers=people["manager"]
        )
        assert late.status_code == 409, late.text
        assert (late.json()["error"], late.json()["field"]) == ("stale_version", "version")
        assert types_now(client, people["manager"]) == (first.json()["seq"], [*types, TELE])


@pytest.mark.parametrize(
    ("vtype", "field", "status"),
    [
        (with_minutes(TELE, provider_in=0), "visit_types[4].stage_minutes.provider_in", 422),
        (with_minutes(TELE, roomed=-5), "visit_types[4].stage_minutes.roomed", 422),
        ({**TELE, "slot_minutes": 601}, "visit_types[4].slot_minutes", 422),
        ({**TELE, "label": "Follow-up"}, "visit_types[4].label", 422),
        ({**TELE, "code": "Tele"}, "visit_types[4].code", 422),
        ({**TELE, "code": "new"}, "visit_types[4]", 422),
        ({k: v for k, v in TELE.items() if k != "slot_minutes"}, "visit_types[4].slot_minutes", 400),
        ({**TELE, "stage_minutes": {"arrived": 0}}, "visit_types[4].stage_minutes.roomed", 400),
        (with_minutes(TELE, provider_in="ten"), "visit_types[4].stage_minutes.provider_in", 400),
        ({**TELE, "colour": "blue"}, "visit_types[4].colour", 400),
    ],
)
def test_bad_input_is_refused_naming_the_field(tmp_path, vtype: dict, field: str, status: int) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, _, people):
        version, types = types_now(client, people["manager"])
        answer = client.put(
            f"{API}/visit-types", json={"version": version, "visit_types": [*types, vtype]}, headers=people["manager"]
        )
        assert answer.status_code == status, answer.text
        assert answer.json()["field"] == field, answer.text
        assert types_now(client, people["manager"]) == (version, types)


def test_the_clinic_file_s_visit_types_chosen_back_and_a_restart_starting_from_the_types_set(tmp_path) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, _, people):
        version, types = types_now(client, people["manager"])
        put = client.put(
            f"{API}/visit-types", json={"version": version, "visit_types": [*types, TELE]}, headers=people["manager"]
        )
        assert put.status_code == 201
    # Started again the next day: the visit types set stand over the file's.
    floors = test_floors(tmp_path, clock=ManualClock(START + dt.timedelta(days=1)), tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        version, now = types_now(client, manager)
        assert now == [*types, TELE] and version == put.json()["seq"]
        both = client.put(
            f"{API}/visit-types", json={"version": version, "use_file": True, "visit_types": types}, headers=manager
        )
        assert (both.status_code, both.json()["field"]) == (422, "visit_types")
        back = client.put(f"{API}/visit-types", json={"version": version, "use_file": True}, headers=manager)
        assert back.status_code == 201, back.text
        board = client.get(f"{API}/board", headers=manager).json()
        assert board["visit_types"] == types and board["file_visit_types"] is None
