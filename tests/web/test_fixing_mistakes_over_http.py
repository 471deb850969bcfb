"""Fixing mistakes over HTTP, later in the day: a no-show undone twenty minutes on from the visit's history, a
walk-in booked by mistake taken off the floor, a room mark undone; each by whoever tapped it or a manager (403
for anyone else), and each in the audit trail."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import TestClient

from floor.core.access import Role
from tests.support.staff import signed_in_on_a_manual_clock

CLINIC = "riverside"
API = f"/api/clinics/{CLINIC}"
START = dt.datetime(2026, 11, 23, 8, 30, tzinfo=ZoneInfo("America/Chicago"))


@pytest.fixture
def world(tmp_path):
    people = {
        "desk": (Role.front_desk, None),
        "other_desk": (Role.front_desk, "bo"),
        "ma": (Role.medical_assistant, None),
        "other_ma": (Role.medical_assistant, "lu"),
        "manager": (Role.manager, None),
    }
    with signed_in_on_a_manual_clock(tmp_path, START, people) as (client, _, clock, headers):
        yield client, clock, headers


def _book(client: TestClient, headers: dict, **extra) -> dict:
    body = {"patient_name": "Pat Doe", "provider": "kim", "visit_type": "follow", **extra}
    if not extra.get("walk_in"):
        body["start"] = "2026-11-23T09:00:00"
    answer = client.post(f"{API}/visits", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()["visit"]


def _audit(client: TestClient, people: dict, visit: str) -> list[dict]:
    answer = client.get(f"{API}/visits/{visit}/audit", headers=people["manager"])
    assert answer.status_code == 200, answer.text
    return answer.json()["entries"]


def test_a_no_show_tapped_by_mistake_is_undone_from_the_visits_history_twenty_minutes_later(world) -> None:
    client, clock, people = world
    visit = _book(client, people["desk"])["id"]
    no_show = client.post(f"{API}/visits/{visit}/events", json={"type": "no_show"}, headers=people["desk"])
    assert no_show.status_code == 201, no_show.text
    clock.advance(minutes=20)
    history = client.get(f"{API}/visits/{visit}", headers=people["desk"]).json()
    assert [e["change"]["type"] for e in history["events"]] == ["visit_booked", "step_taken"]
    seen = history["visit"]
    assert (seen["steps"][-1]["by"], seen["steps"][-1]["device"]) == ("desk-ana", "tablet-1")  # which of her tablets
    undo = {"type": "undo", "expected_version": seen["version"]}
    refused = client.post(f"{API}/visits/{visit}/events", json=undo, headers=people["other_desk"])
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden", refused.text
    done = client.post(f"{API}/visits/{visit}/events", json=undo, headers=people["desk"])
    assert done.status_code == 201, done.text
    assert done.json()["visit"]["stage"] == "scheduled"
    trail = _audit(client, people, visit)
    assert [e["type"] for e in trail] == ["booked", "no_show", "undo"]
    assert trail[2]["undone"] == "no_show" and trail[2]["undone_seq"] == trail[1]["seq"]
    at = [dt.datetime.fromisoformat(e["at"]) for e in trail]
    assert at[2] - at[1] == dt.timedelta(minutes=20)


def test_a_walk_in_booked_by_mistake_is_removed_and_the_audit_trail_says_so(world) -> None:
    client, clock, people = world
    walk_in = _book(client, people["desk"], walk_in=True)
    clock.advance(minutes=5)
    undo = {"type": "undo", "expected_version": walk_in["version"]}
    assert (
        client.post(f"{API}/visits/{walk_in['id']}/events", json=undo, headers=people["other_desk"]).status_code == 403
    )
    removed = client.post(f"{API}/visits/{walk_in['id']}/events", json=undo, headers=people["manager"])
    assert removed.status_code == 201, removed.text
    assert removed.json()["event"]["change"]["type"] == "walk_in_removed"
    visit = removed.json()["visit"]
    assert (visit["stage"], visit["entered_in_error"]) == ("cancelled", True)
    board = client.get(f"{API}/board", headers=people["desk"]).json()
    assert [v["stage"] for v in board["visits"] if v["id"] == walk_in["id"]] == ["cancelled"]
    trail = _audit(client, people, walk_in["id"])
    assert [(e["type"], e["person"]) for e in trail] == [("walk_in", "desk-ana"), ("walk_in_removed", "mgr-dana")]
    assert trail[1]["undone"] == "walk_in" and trail[1]["undone_seq"] == trail[0]["seq"]


def test_a_room_mark_is_undone_by_who_marked_it(world) -> None:
    client, _, people = world
    blocked = client.post(f"{API}/rooms/e2/events", json={"type": "blocked", "reason": "leak"}, headers=people["ma"])
    assert blocked.status_code == 201, blocked.text
    undo = {"type": "undo", "expected_version": blocked.json()["room"]["version"]}
    assert client.post(f"{API}/rooms/e2/events", json=undo, headers=people["other_ma"]).status_code == 403
    done = client.post(f"{API}/rooms/e2/events", json=undo, headers=people["ma"])
    assert done.status_code == 201, done.text
    assert done.json()["room"]["state"] == "ready" and done.json()["event"]["change"]["type"] == "room_mark_undone"
    again = client.post(f"{API}/rooms/e2/events", json={"type": "undo"}, headers=people["ma"])
    assert again.status_code == 409 and again.json()["error"] == "nothing_to_undo", again.text
    reason = client.post(f"{API}/rooms/e2/events", json={"type": "undo", "reason": "x"}, headers=people["ma"])
    assert reason.status_code == 422 and reason.json()["field"] == "reason"
