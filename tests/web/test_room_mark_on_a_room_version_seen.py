"""A room mark sent with the room version the tablet saw (`expected_version`, which RoomTap takes) is refused when the
room changed since, as a visit tap or a room undo is: never stored on a room the tablet did not see.

The case: East 1 is left dirty by one patient; an assistant's tablet shows it in turnover and sends "ready" with that
version, but the tap is late (offline, a slow network). Meanwhile the room was cleaned, a second patient was roomed in
it and left: it is dirty again. The late "ready" must not mark the room clean: the next patient would be roomed into
a room nobody cleaned after the second patient."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from floor.core.access import Role
from tests.support.staff import signed_in_on_a_manual_clock

API = "/api/clinics/riverside"
START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("America/Chicago"))
PEOPLE = {
    "desk": (Role.front_desk, None),
    "ma": (Role.medical_assistant, None),
    "ma2": (Role.medical_assistant, "ma-cruz"),
    "manager": (Role.manager, None),
}


def _through_room(client, people, name: str, room: str) -> None:
    """A walk-in roomed in `room`, who then leaves: the room is in turnover (dirty)."""
    booked = client.post(
        f"{API}/visits",
        json={"patient_name": name, "provider": "kim", "visit_type": "follow", "walk_in": True},
        headers=people["desk"],
    )
    assert booked.status_code == 201, booked.text
    visit = booked.json()["visit"]["id"]
    for body in ({"type": "roomed", "room": room}, {"type": "left_without_being_seen"}):
        answer = client.post(f"{API}/visits/{visit}/events", json=body, headers=people["ma2"])
        assert answer.status_code == 201, answer.text


def _room(client, people, room: str) -> dict:
    return next(r for r in client.get(f"{API}/board", headers=people["manager"]).json()["rooms"] if r["id"] == room)


def test_a_late_ready_on_a_room_dirtied_again_since_is_refused_and_stores_nothing(tmp_path) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, clock, people):
        _through_room(client, people, "Ann Lee", "e1")
        seen = _room(client, people, "e1")
        assert seen["state"] == "turnover"
        # Meanwhile, on another tablet: cleaned, a second patient in and out: dirty again.
        clock.advance(minutes=2)
        assert client.post(f"{API}/rooms/e1/events", json={"type": "ready"}, headers=people["ma2"]).status_code == 201
        clock.advance(minutes=2)
        _through_room(client, people, "Bo Park", "e1")
        dirty = _room(client, people, "e1")
        assert dirty["state"] == "turnover" and dirty["version"] > seen["version"]
        seq = client.get(f"{API}/board", headers=people["manager"]).json()["seq"]

        late = client.post(
            f"{API}/rooms/e1/events", json={"type": "ready", "expected_version": seen["version"]}, headers=people["ma"]
        )

        assert late.status_code == 409, late.text  # the room changed since the version the tablet saw
        assert late.json()["error"] == "stale_version", late.text
        assert _room(client, people, "e1")["state"] == "turnover"  # still dirty: nobody has cleaned it since Bo
        assert client.get(f"{API}/board", headers=people["manager"]).json()["seq"] == seq


def test_a_room_untouched_today_is_marked_on_version_0_and_a_client_sending_no_version_is_not_checked(
    tmp_path,
) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, clock, people):
        assert _room(client, people, "e2")["version"] == 0
        blocked = client.post(
            f"{API}/rooms/e2/events",
            json={"type": "blocked", "reason": "Sink leaking", "expected_version": 0},
            headers=people["ma"],
        )
        assert blocked.status_code == 201, blocked.text
        clock.advance(minutes=1)
        unchecked = client.post(f"{API}/rooms/e2/events", json={"type": "unblocked"}, headers=people["ma"])
        assert unchecked.status_code == 201, unchecked.text
        assert _room(client, people, "e2")["state"] == "ready"


def test_a_reason_with_ready_or_unblocked_is_refused_naming_it_and_stores_nothing(tmp_path) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, _clock, people):
        _through_room(client, people, "Ann Lee", "e1")
        blocked = client.post(f"{API}/rooms/e2/events", json={"type": "blocked"}, headers=people["ma"])
        assert blocked.status_code == 201, blocked.text
        seq = client.get(f"{API}/board", headers=people["manager"]).json()["seq"]
        for room, action in (("e1", "ready"), ("e2", "unblocked")):
            answer = client.post(
                f"{API}/rooms/{room}/events", json={"type": action, "reason": "all clean"}, headers=people["ma"]
            )
            assert answer.status_code in (400, 422), answer.text
            assert answer.json()["field"] == "reason", answer.text
        assert client.get(f"{API}/board", headers=people["manager"]).json()["seq"] == seq
        assert (_room(client, people, "e1")["state"], _room(client, people, "e2")["state"]) == ("turnover", "blocked")
