"""A step tapped late, over HTTP: `minutes_ago` puts the step when it happened (the visit, the board, the audit
trail say so, the trail also when it was tapped); out of range it is a 400, with an undo or before the visit's
last step a 422, each naming the field, and nothing is stored."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.core.access import Role
from floor.web.app import create_app
from tests.support.staff import sign_in, test_floors

API = "/api/clinics/riverside"
ZONE = ZoneInfo("America/Chicago")
START = dt.datetime(2026, 11, 23, 8, 30, tzinfo=ZONE)


@pytest.fixture
def world(tmp_path):
    clock = ManualClock(START)
    floors = test_floors(tmp_path, clock=clock, tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        people = {
            "desk": sign_in(client, floors, Role.front_desk),
            "ma": sign_in(client, floors, Role.medical_assistant),
            "manager": sign_in(client, floors, Role.manager),
        }
        yield client, clock, people


def _arrived(client: TestClient, people: dict) -> str:
    body = {"patient_name": "Pat Doe", "provider": "kim", "visit_type": "follow", "start": "2026-11-23T09:00:00"}
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
