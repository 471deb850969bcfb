"""Moving a patient who is here to another provider, over HTTP: `{"type": "move", "provider": ...}` on the visit's
events; the board and the audit trail say so; a bad move is a 4xx naming the field and stores nothing; a retry
under its Idempotency-Key moves once."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import TestClient

from floor.core.access import Role
from tests.support.staff import signed_in_on_a_manual_clock

API = "/api/clinics/riverside"
ZONE = ZoneInfo("America/Chicago")
START = dt.datetime(2026, 11, 23, 8, 30, tzinfo=ZONE)


@pytest.fixture
def world(tmp_path):
    people = {
        "desk": (Role.front_desk, None),
        "ma": (Role.medical_assistant, None),
        "provider": (Role.provider, None),
        "manager": (Role.manager, None),
    }
    with signed_in_on_a_manual_clock(tmp_path, START, people) as (client, _, clock, headers):
        yield client, clock, headers


def _booked(client: TestClient, people: dict, *steps: dict) -> str:
    body = {"patient_name": "Pat Doe", "provider": "kim", "visit_type": "follow", "start": "2026-11-23T09:00:00"}
    answer = client.post(f"{API}/visits", json=body, headers=people["desk"])
    assert answer.status_code == 201, answer.text
    visit = answer.json()["visit"]["id"]
    for step in steps:
        who = "desk" if step["type"] == "arrived" else "ma"
        tapped = client.post(f"{API}/visits/{visit}/events", json=step, headers=people[who])
        assert tapped.status_code == 201, tapped.text
    return visit


def _seq(client: TestClient, people: dict) -> int:
    return client.get(f"{API}/board", headers=people["manager"]).json()["seq"]


def test_the_desk_moves_a_roomed_patient_to_another_provider(world) -> None:
    client, clock, people = world
    visit = _booked(client, people, {"type": "arrived"}, {"type": "roomed", "room": "e1"})
    clock.advance(minutes=5)
    body = {"type": "move", "provider": "okafor", "expected_version": 3}
    answer = client.post(f"{API}/visits/{visit}/events", json=body, headers=people["desk"])
    assert answer.status_code == 201, answer.text
    moved = answer.json()
    assert moved["event"]["change"] == {
        "type": "visit_moved",
        "visit": visit,
        "provider": "okafor",
        "previous_provider": "kim",
    }
    assert (moved["visit"]["provider"], moved["visit"]["moved_from"], moved["visit"]["room"]) == ("okafor", "kim", "e1")
    board = client.get(f"{API}/board", headers=people["manager"]).json()
    (on_board,) = [v for v in board["visits"] if v["id"] == visit]
    assert (on_board["provider"], on_board["stage"]) == ("okafor", "roomed")
    trail = client.get(f"{API}/visits/{visit}/audit", headers=people["manager"]).json()["entries"]
    assert {k: trail[-1].get(k) for k in ("type", "provider", "previous_provider")} == {
        "type": "visit_moved",
        "provider": "okafor",
        "previous_provider": "kim",
    }
    assert trail[-1]["person"] == trail[0]["person"]  # the desk, who booked them
    history = client.get(f"{API}/visits/{visit}", headers=people["desk"]).json()
    assert history["events"][-1]["change"]["type"] == "visit_moved"


@pytest.mark.parametrize(
    ("who", "body", "status", "field"),
    [
        ("desk", {"type": "move"}, 422, "provider"),
        ("desk", {"type": "move", "provider": ""}, 400, "provider"),
        ("desk", {"type": "move", "provider": "nobody"}, 422, "provider"),
        ("desk", {"type": "move", "provider": "kim"}, 422, "provider"),
        ("desk", {"type": "move", "provider": "okafor", "room": "e2"}, 422, "room"),
        ("desk", {"type": "move", "provider": "okafor", "minutes_ago": 5}, 422, "minutes_ago"),
        ("desk", {"type": "prep_done", "provider": "okafor"}, 422, "provider"),
        ("desk", {"type": "move", "provider": "okafor", "expected_version": 1}, 409, None),
        ("ma", {"type": "move", "provider": "okafor"}, 403, None),
        ("provider", {"type": "move", "provider": "okafor"}, 403, None),
    ],
)
def test_a_bad_move_is_refused_naming_what_is_wrong_and_stores_nothing(
    world, who: str, body: dict, status: int, field: str | None
) -> None:
    client, _, people = world
    visit = _booked(client, people, {"type": "arrived"})
    before = _seq(client, people)
    answer = client.post(f"{API}/visits/{visit}/events", json=body, headers=people[who])
    assert answer.status_code == status, answer.text
    if field is not None:
        assert field in answer.text
    assert _seq(client, people) == before
    assert client.get(f"{API}/visits/{visit}", headers=people["desk"]).json()["visit"]["provider"] == "kim"


def test_a_visit_booked_on_the_floor_is_moved_before_the_patient_comes_one_from_the_schedule_is_not(world) -> None:
    client, _, people = world
    visit = _booked(client, people)
    answer = client.post(
        f"{API}/visits/{visit}/events", json={"type": "move", "provider": "okafor"}, headers=people["desk"]
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["event"]["change"]["type"] == "visit_rescheduled"
    assert (answer.json()["visit"]["provider"], answer.json()["visit"]["moved_from"]) == ("okafor", None)
    # The schedule's visit: booked by an import, moved in the schedule until the patient is here.
    csv = b"external_id,time,provider,visit_type,patient_name\nA-9,10:00,kim,follow,Rosa Diaz\n"
    imported = client.post(
        f"{API}/schedule?date=2026-11-23",
        content=csv,
        headers=people["manager"] | {"Content-Type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    board = client.get(f"{API}/board", headers=people["manager"]).json()
    (rosa,) = [v["id"] for v in board["visits"] if v["patient_name"] == "Rosa Diaz"]
    before = _seq(client, people)
    refused = client.post(
        f"{API}/visits/{rosa}/events", json={"type": "move", "provider": "okafor"}, headers=people["desk"]
    )
    assert refused.status_code == 409, refused.text
    assert "moved there until the patient is here" in refused.json()["message"]
    assert _seq(client, people) == before


def test_a_move_retried_under_its_key_moves_once_and_a_burst_of_moves_stores_one(world) -> None:
    client, _, people = world
    visit = _booked(client, people, {"type": "arrived"})
    before = _seq(client, people)
    body = {"type": "move", "provider": "okafor", "expected_version": 2}
    headers = people["desk"] | {"Idempotency-Key": "move-1"}
    first = client.post(f"{API}/visits/{visit}/events", json=body, headers=headers)
    again = client.post(f"{API}/visits/{visit}/events", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["seq"] == again.json()["seq"] == before + 1
    # Two screens send the same move on the version they saw, without a key: the second is stale.
    late = client.post(f"{API}/visits/{visit}/events", json=body, headers=people["manager"])
    assert late.status_code == 409, late.text
    assert _seq(client, people) == before + 1
