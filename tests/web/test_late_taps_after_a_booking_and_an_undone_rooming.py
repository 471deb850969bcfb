"""A step tapped late (`minutes_ago`) is refused only where it truly cannot have happened: before the visit's last
step, before its room was free, or on another day. Two refusals that are not true:

- A visit booked after its patient came (an add-on the EHR booked while they sat in the waiting room, imported a
  few minutes later; or the desk books it then): its booking is not a step of the visit, and the patient's arrival,
  tapped saying when they came, was refused as "before the visit's last step".
- A patient roomed by mistake (the wrong patient tapped) and undone: the undo reverses the rooming "and its room
  effect", but the room was then taken as ready only since the undo, and the right patient, roomed there a minute
  before the undo was tapped, was refused as "not in it"."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from floor.core.access import Role
from tests.support.staff import signed_in_on_a_manual_clock

API = "/api/clinics/riverside"
ZONE = ZoneInfo("America/Chicago")
START = dt.datetime(2026, 11, 23, 9, 5, tzinfo=ZONE)
PEOPLE = {"desk": (Role.front_desk, None), "ma": (Role.medical_assistant, None), "manager": (Role.manager, None)}


def _book(client, people, name: str, start: str = "2026-11-23T09:15:00") -> dict:
    body = {"patient_name": name, "provider": "kim", "visit_type": "follow", "start": start}
    answer = client.post(f"{API}/visits", json=body, headers=people["desk"])
    assert answer.status_code == 201, answer.text
    return answer.json()["visit"]


def _tap(client, people, who: str, visit: str, body: dict):
    return client.post(f"{API}/visits/{visit}/events", json=body, headers=people[who])


def test_a_patient_who_came_before_their_visit_was_booked_arrived_when_they_came(tmp_path) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, clock, people):
        # 9:05: the add-on is booked; Pat Doe has sat in the waiting room since 8:55.
        visit = _book(client, people, "Pat Doe")["id"]
        clock.advance(minutes=1)  # 9:06: the desk taps the arrival, saying it was 11 minutes ago
        answer = _tap(client, people, "desk", visit, {"type": "arrived", "minutes_ago": 11})
        assert answer.status_code == 201, answer.text
        arrived = dt.datetime.fromisoformat(answer.json()["visit"]["times"]["arrived"])
        assert arrived == dt.datetime(2026, 11, 23, 8, 55, tzinfo=ZONE)


def test_the_right_patient_roomed_where_the_wrong_one_was_undone_is_in_the_room_when_they_went_in(tmp_path) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, clock, people):
        wrong, right = _book(client, people, "Ann Lee")["id"], _book(client, people, "Bo Park")["id"]
        for visit in (wrong, right):
            assert _tap(client, people, "desk", visit, {"type": "arrived"}).status_code == 201
        clock.advance(minutes=5)  # 9:10: Bo Park goes into East 1; the assistant taps Ann Lee by mistake
        assert _tap(client, people, "ma", wrong, {"type": "roomed", "room": "e1"}).status_code == 201
        clock.advance(minutes=2)  # 9:12: seen, and undone: Ann Lee is waiting, East 1 as it was
        assert _tap(client, people, "ma", wrong, {"type": "undo"}).status_code == 201
        clock.advance(minutes=1)  # 9:13: Bo Park, roomed at 9:10
        answer = _tap(client, people, "ma", right, {"type": "roomed", "room": "e1", "minutes_ago": 3})
        assert answer.status_code == 201, answer.text
        roomed = dt.datetime.fromisoformat(answer.json()["visit"]["times"]["roomed"])
        assert roomed == dt.datetime(2026, 11, 23, 9, 10, tzinfo=ZONE)
