"""An undo names no room: it reverses the visit's last step, whatever room it was in. A room sent with it is refused
naming the field (as minutes_ago and provider with an undo are), never dropped: a tablet that sends
`{"type": "undo", "room": "e1"}` meaning "undo the rooming into East 1" must not find the walk-in taken off the floor
instead."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from floor.core.access import Role
from tests.support.staff import signed_in_on_a_manual_clock

API = "/api/clinics/riverside"
START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("America/Chicago"))


def test_an_undo_with_a_room_is_refused_naming_the_room_and_stores_nothing(tmp_path) -> None:
    people = {"desk": (Role.front_desk, None), "manager": (Role.manager, None)}
    with signed_in_on_a_manual_clock(tmp_path, START, people) as (client, _, _clock, headers):
        booked = client.post(
            f"{API}/visits",
            json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True},
            headers=headers["desk"],
        )
        assert booked.status_code == 201, booked.text
        visit = booked.json()["visit"]
        seq = booked.json()["seq"]

        answer = client.post(
            f"{API}/visits/{visit['id']}/events",
            json={"type": "undo", "room": "e1", "expected_version": visit["version"]},
            headers=headers["desk"],
        )

        assert answer.status_code in (400, 422), answer.text
        assert answer.json()["field"] == "room", answer.text
        board = client.get(f"{API}/board", headers=headers["manager"]).json()
        assert board["seq"] == seq
        assert next(v for v in board["visits"] if v["id"] == visit["id"])["stage"] == "arrived"
