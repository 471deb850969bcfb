"""A tap kept on a tablet from the day before is asked after, not sent, once the clinic's midnight has passed
(`Idempotency-Stored-Only: true`): stored before midnight (its answer lost), it is answered as first stored; never
stored, it is refused 404 naming `Idempotency-Key` and nothing is stored on the new day. The tablet said such a tap
"not sent" though the server had stored it once (a walk-in added at 23:58 whose answer was lost)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from floor.core.access import Role
from tests.support.staff import signed_in_on_a_manual_clock

API = "/api/clinics/riverside"
ZONE = ZoneInfo("America/Chicago")
EVENING = dt.datetime(2026, 11, 23, 23, 55, tzinfo=ZONE)
ASK = {"Idempotency-Stored-Only": "true"}
WALK_IN = {"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True}


@pytest.fixture
def world(tmp_path):
    people = {"desk": (Role.front_desk, None), "ma": (Role.medical_assistant, None), "manager": (Role.manager, None)}
    with signed_in_on_a_manual_clock(tmp_path, EVENING, people) as (client, _, clock, headers):
        yield client, clock, headers


def _new_day(client, people) -> None:
    """Past the clinic's midnight, another desk books a walk-in on the new day (the floor opens it)."""
    cruz = client.post(f"{API}/visits", json={**WALK_IN, "patient_name": "Cruz Diaz"}, headers=people["manager"])
    assert cruz.status_code == 201, cruz.text


def _board(client, people, day: str | None = None) -> dict:
    return client.get(f"{API}/board", params={"day": day} if day else None, headers=people["manager"]).json()


def test_a_walk_in_stored_before_midnight_is_answered_as_stored_when_asked_after(world) -> None:
    client, clock, people = world
    first = client.post(f"{API}/visits", json=WALK_IN, headers={**people["desk"], "Idempotency-Key": "k-ann"})
    assert first.status_code == 201, first.text  # stored; the tablet never heard the answer
    clock.advance(minutes=10)  # 00:05 on the 24th
    _new_day(client, people)
    body = {**WALK_IN, "minutes_ago": 10}  # the tablet adds the minutes it waited
    asked = client.post(f"{API}/visits", json=body, headers={**people["desk"], "Idempotency-Key": "k-ann", **ASK})
    assert asked.status_code == 201, asked.text
    assert asked.headers.get("Idempotent-Replayed") == "true"
    assert asked.json()["visit"]["id"] == first.json()["visit"]["id"]
    today = _board(client, people)
    assert today["day"] == "2026-11-24"
    assert [v["patient_name"] for v in today["visits"]] == ["Cruz Diaz"], "asked after, it was booked on the new day"
    assert [v["patient_name"] for v in _board(client, people, "2026-11-23")["visits"]] == ["Ann Lee"]


def test_a_tap_never_stored_is_refused_when_asked_after_and_nothing_is_stored(world) -> None:
    client, clock, people = world
    booked = client.post(f"{API}/visits", json={**WALK_IN, "patient_name": "Bo Chen"}, headers=people["desk"])
    visit = booked.json()["visit"]["id"]
    clock.advance(minutes=10)
    _new_day(client, people)
    seq = _board(client, people)["seq"]
    for path, body, who in (
        (f"{API}/visits", WALK_IN, "desk"),
        (f"{API}/visits/{visit}/events", {"type": "roomed", "room": "e1"}, "ma"),
        (f"{API}/providers/kim/presence", {"type": "stepped_away"}, "ma"),
        (f"{API}/rooms/e1/events", {"type": "blocked"}, "ma"),
    ):
        asked = client.post(path, json=body, headers={**people[who], "Idempotency-Key": f"never-{path}", **ASK})
        assert asked.status_code == 404, asked.text
        assert asked.json()["field"] == "Idempotency-Key"
    assert _board(client, people)["seq"] == seq, "a tap asked after was stored"


def test_asking_after_a_tap_without_its_key_is_refused_naming_the_key(world) -> None:
    client, _, people = world
    asked = client.post(f"{API}/visits", json=WALK_IN, headers={**people["desk"], **ASK})
    assert asked.status_code == 422, asked.text
    assert asked.json()["field"] == "Idempotency-Key"
    assert _board(client, people)["visits"] == []
