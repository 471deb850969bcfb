"""A step tapped late, over HTTP: `minutes_ago` puts the step when it happened (the visit, the board, the audit
trail say so, the trail also when it was tapped); out of range it is a 400, with an undo or before the visit's
last step a 422, each naming the field, and nothing is stored."""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.core.access import Role
from floor.core.commands import TakeStep
from floor.core.journey import Stage
from floor.runtime.writer import Idempotency
from floor.web.app import create_app
from tests.support.staff import PEOPLE, sign_in, signed_in_on_a_manual_clock, test_floors

API = "/api/clinics/riverside"
ZONE = ZoneInfo("America/Chicago")
START = dt.datetime(2026, 11, 23, 8, 30, tzinfo=ZONE)


@pytest.fixture
def world(tmp_path):
    people = {"desk": (Role.front_desk, None), "ma": (Role.medical_assistant, None), "manager": (Role.manager, None)}
    with signed_in_on_a_manual_clock(tmp_path, START, people) as (client, _, clock, headers):
        yield client, clock, headers


def _arrived(client: TestClient, people: dict, name: str = "Pat Doe") -> str:
    body = {"patient_name": name, "provider": "kim", "visit_type": "follow", "start": "2026-11-23T09:00:00"}
    answer = client.post(f"{API}/visits", json=body, headers=people["desk"])
    assert answer.status_code == 201, answer.text
    visit = answer.json()["visit"]["id"]
    tapped = client.post(f"{API}/visits/{visit}/events", json={"type": "arrived"}, headers=people["desk"])
    assert tapped.status_code == 201, tapped.text
    return visit


def _seq(client: TestClient, people: dict) -> int:
    return client.get(f"{API}/board", headers=people["manager"]).json()["seq"]


def test_a_rooming_tapped_four_minutes_late_is_stored_when_it_happened(world) -> None:
    client, clock, people = world
    visit = _arrived(client, people)
    clock.advance(minutes=10)
    body = {"type": "roomed", "room": "e1", "minutes_ago": 4}
    answer = client.post(f"{API}/visits/{visit}/events", json=body, headers=people["ma"])
    assert answer.status_code == 201, answer.text
    roomed = dt.datetime.fromisoformat(answer.json()["visit"]["times"]["roomed"])
    assert roomed == START + dt.timedelta(minutes=6)
    trail = client.get(f"{API}/visits/{visit}/audit", headers=people["manager"]).json()["entries"]
    last = trail[-1]
    assert last["type"] == "roomed" or last["step"] == "roomed"
    assert dt.datetime.fromisoformat(last["happened"]) == roomed
    assert dt.datetime.fromisoformat(last["at"]) == START + dt.timedelta(minutes=10)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"type": "roomed", "room": "e1", "minutes_ago": 61}, 400),
        ({"type": "roomed", "room": "e1", "minutes_ago": -3}, 400),
        ({"type": "roomed", "room": "e1", "minutes_ago": "4"}, 400),
        # Well formed, but refused: an undo is now; a rooming before the patient arrived.
        ({"type": "undo", "minutes_ago": 2}, 422),
        ({"type": "roomed", "room": "e1", "minutes_ago": 20}, 422),
    ],
)
def test_a_bad_minutes_ago_is_refused_naming_the_field_and_stores_nothing(world, body: dict, status: int) -> None:
    client, clock, people = world
    visit = _arrived(client, people)
    clock.advance(minutes=10)
    before = _seq(client, people)
    answer = client.post(f"{API}/visits/{visit}/events", json=body, headers=people["ma"])
    assert answer.status_code == status, answer.text
    assert answer.json()["field"].endswith("minutes_ago"), answer.text
    assert _seq(client, people) == before


# -- a step kept on a tablet while offline, sent again with more minutes_ago under the same key --------------
# A step kept on a tablet that was offline is sent again with its minutes_ago grown by the minutes it waited
# (static/tablet/kept.js), under the same Idempotency-Key: the key's fingerprint leaves minutes_ago out on the
# visit step route, so a retry of a step already stored is answered as first and stores nothing new; a different
# step, room or visit under the key is still refused. Other routes still fingerprint the raw body.


def _step(client: TestClient, people: dict, visit: str, body: dict, key: str):
    return client.post(f"{API}/visits/{visit}/events", json=body, headers={**people["ma"], "Idempotency-Key": key})


@pytest.mark.parametrize(("first", "again"), [(None, 3), (2, 5), (4, None)])
def test_a_retry_with_another_minutes_ago_is_answered_as_first(world, first: int | None, again: int | None) -> None:
    client, clock, people = world
    visit = _arrived(client, people)
    clock.advance(minutes=10)
    body = {"type": "roomed", "room": "e1", "expected_version": 2}
    answer = _step(client, people, visit, body if first is None else {**body, "minutes_ago": first}, "tap-1")
    assert answer.status_code == 201, answer.text
    stored = _seq(client, people)
    clock.advance(minutes=3)
    retry = _step(client, people, visit, body if again is None else {**body, "minutes_ago": again}, "tap-1")
    assert retry.status_code == 201, retry.text
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert retry.content == answer.content
    assert _seq(client, people) == stored
    events = client.get(f"{API}/visits/{visit}", headers=people["manager"]).json()["events"]
    assert [e["change"].get("step") for e in events].count("roomed") == 1


@pytest.mark.parametrize(
    "other",
    [
        {"type": "prep_done", "expected_version": 3},
        {"type": "roomed", "room": "e2", "expected_version": 2},
        {"type": "roomed", "room": "e1", "expected_version": 1, "minutes_ago": 3},
    ],
)
def test_another_step_under_the_key_is_still_refused(world, other: dict) -> None:
    client, clock, people = world
    visit = _arrived(client, people)
    clock.advance(minutes=10)
    answer = _step(client, people, visit, {"type": "roomed", "room": "e1", "expected_version": 2}, "tap-2")
    assert answer.status_code == 201, answer.text
    stored = _seq(client, people)
    refused = _step(client, people, visit, other, "tap-2")
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "Idempotency-Key"
    assert _seq(client, people) == stored


def test_the_same_step_on_another_visit_under_the_key_is_refused(world) -> None:
    client, _, people = world
    one, two = _arrived(client, people), _arrived(client, people, "Ann Lee")
    body = {"type": "roomed", "room": "e1"}
    assert _step(client, people, one, body, "tap-3").status_code == 201
    refused = _step(client, people, two, {**body, "minutes_ago": 1}, "tap-3")
    assert refused.status_code == 422 and refused.json()["field"] == "Idempotency-Key", refused.text


def test_a_step_refused_for_its_minutes_ago_goes_through_without_it_under_the_same_key(world) -> None:
    client, clock, people = world
    visit = _arrived(client, people)
    clock.advance(minutes=10)
    body = {"type": "roomed", "room": "e1"}
    refused = _step(client, people, visit, {**body, "minutes_ago": 20}, "tap-4")  # before the patient arrived
    assert refused.status_code == 422 and refused.json()["field"] == "minutes_ago", refused.text
    answer = _step(client, people, visit, body, "tap-4")
    assert answer.status_code == 201, answer.text
    assert answer.headers.get("Idempotent-Replayed") is None


def test_other_routes_still_fingerprint_the_raw_body(world) -> None:
    client, _, people = world
    headers = {**people["ma"], "Idempotency-Key": "block-1", "Content-Type": "application/json"}
    raw = b'{"type": "blocked", "reason": "leak"}'
    first = client.post(f"{API}/rooms/e2/events", content=raw, headers=headers)
    assert first.status_code == 201, first.text
    again = client.post(f"{API}/rooms/e2/events", content=raw, headers=headers)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    # The same mark written another way is another request for the key, as before.
    spaced = raw.replace(b", ", b",  ")
    refused = client.post(f"{API}/rooms/e2/events", content=spaced, headers=headers)
    assert refused.status_code == 422 and refused.json()["field"] == "Idempotency-Key", refused.text


# -- a walk-in added after they came ----------------------------------------------------------------------------


def _walk_in(client: TestClient, people: dict, key: str | None = None, **more):
    body = {"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True, **more}
    headers = {**people["desk"], **({"Idempotency-Key": key} if key else {})}
    return client.post(f"{API}/visits", json=body, headers=headers)


def test_a_walk_in_added_twelve_minutes_after_they_came_arrived_then(world) -> None:
    client, clock, people = world
    clock.advance(minutes=30)
    answer = _walk_in(client, people, minutes_ago=12)
    assert answer.status_code == 201, answer.text
    visit = answer.json()["visit"]
    came = START + dt.timedelta(minutes=18)
    assert dt.datetime.fromisoformat(visit["times"]["arrived"]) == came
    assert dt.datetime.fromisoformat(visit["start"]) == came
    (entry,) = client.get(f"{API}/visits/{visit['id']}/audit", headers=people["manager"]).json()["entries"]
    assert dt.datetime.fromisoformat(entry["happened"]) == came
    assert dt.datetime.fromisoformat(entry["at"]) == START + dt.timedelta(minutes=30)


@pytest.mark.parametrize(
    ("more", "status"),
    [
        ({"minutes_ago": 61}, 400),
        ({"minutes_ago": "4"}, 400),
        # Well formed, but refused: a scheduled visit has its start; before today.
        ({"walk_in": False, "start": "2026-11-23T10:00:00", "minutes_ago": 5}, 422),
        ({"minutes_ago": 60}, 422),
    ],
)
def test_a_walk_in_with_a_bad_minutes_ago_is_refused_naming_the_field(world, more: dict, status: int) -> None:
    client, clock, people = world
    clock.set(START.replace(hour=0, minute=30))
    before = _seq(client, people)
    answer = _walk_in(client, people, **more)
    assert answer.status_code == status, answer.text
    assert answer.json()["field"].endswith("minutes_ago"), answer.text
    assert _seq(client, people) == before


def test_a_walk_in_kept_offline_and_sent_again_with_more_minutes_ago_is_booked_once(world) -> None:
    client, clock, people = world
    clock.advance(minutes=30)
    first = _walk_in(client, people, "walk-in-2", minutes_ago=2)
    assert first.status_code == 201, first.text
    stored = _seq(client, people)
    clock.advance(minutes=4)
    again = _walk_in(client, people, "walk-in-2", minutes_ago=6)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true", again.text
    assert again.content == first.content and _seq(client, people) == stored
    other = _walk_in(client, people, "walk-in-2", minutes_ago=6, visit_type="new")
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key", other.text


def test_a_retry_across_the_upgrade_is_still_its_tap(tmp_path) -> None:
    """A step stored by the release before, whose key's fingerprint is of the raw body, retried now with the same
    body: answered as first, not refused as another request."""
    clock = ManualClock(START)
    floors = test_floors(tmp_path, clock=clock, tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        people = {role: sign_in(client, floors, Role(role)) for role in ("front_desk", "medical_assistant", "manager")}
        people = {"desk": people["front_desk"], "ma": people["medical_assistant"], "manager": people["manager"]}
        visit = _arrived(client, people)
        path = f"{API}/visits/{visit}/events"
        raw = b'{"type": "roomed", "room": "e1"}'
        ma = PEOPLE[Role.medical_assistant][0]
        formerly = hashlib.sha256(f"POST {path} {ma}\n".encode() + raw).hexdigest()
        runtime = floors.get("riverside")
        stored = client.blocking_portal.call(
            runtime.handle, TakeStep(visit, Stage.roomed, "e1"), ma, "tablet-1", Idempotency("old-key", formerly)
        )
        seq = _seq(client, people)
        headers = {**people["ma"], "Idempotency-Key": "old-key", "Content-Type": "application/json"}
        retry = client.post(path, content=raw, headers=headers)
        assert retry.status_code == 201, retry.text
        assert retry.headers.get("Idempotent-Replayed") == "true"
        assert retry.json()["seq"] == stored.event.seq and _seq(client, people) == seq
        # Another request under that key is still refused.
        other = client.post(path, content=b'{"type": "roomed", "room": "e2"}', headers=headers)
        assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key", other.text
