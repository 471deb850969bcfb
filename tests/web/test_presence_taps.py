"""The presence tap over HTTP: who may say where a provider is, bad input named, undo, the board, the live feed
(staff and walls) and the audit trail."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import TestClient

from floor.core.access import Role
from tests.support.staff import PEOPLE, signed_in_on_a_manual_clock

CLINIC = "riverside"
API = f"/api/clinics/{CLINIC}"
START = dt.datetime(2026, 11, 23, 7, 50, tzinfo=ZoneInfo("America/Chicago"))


@pytest.fixture
def world(tmp_path):
    people = {
        "desk": (Role.front_desk, None),
        "ma": (Role.medical_assistant, None),
        # A provider signed in with the clinic's provider id: the tablet's "you".
        "kim": (Role.provider, "kim"),
        "manager": (Role.manager, None),
    }
    with signed_in_on_a_manual_clock(tmp_path, START, people) as world:
        yield world


def _tap(client: TestClient, provider: str, body: dict, headers: dict):
    return client.post(f"{API}/providers/{provider}/presence", json=body, headers=headers)


def test_roles_a_provider_for_themself_an_assistant_for_anyone_front_desk_never(world) -> None:
    client, _, _, people = world
    desk = _tap(client, "kim", {"type": "running_late"}, people["desk"])
    assert desk.status_code == 403 and desk.json()["error"] == "forbidden"
    other = _tap(client, "okafor", {"type": "running_late"}, people["kim"])
    assert other.status_code == 403 and other.json()["field"] == "provider"
    own = _tap(client, "kim", {"type": "running_late", "back_in_minutes": 20}, people["kim"])
    assert own.status_code == 201, own.text
    body = own.json()
    assert body["presence"] == {
        "provider": "kim",
        "status": "running_late",
        "since": body["event"]["at"],
        "back_at": "2026-11-23T08:10:00-06:00",
        "by": "kim",
        "version": 1,
    }
    assert body["event"]["change"] == {
        "type": "provider_presence",
        "provider": "kim",
        "status": "running_late",
        "back_in_minutes": 20,
        "happened": None,
    }
    assert _tap(client, "okafor", {"type": "stepped_away"}, people["ma"]).status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"type": "lunch"}, 400, "type"),
        ({"type": "stepped_away", "back_in_minutes": 0}, 400, "back_in_minutes"),
        ({"type": "stepped_away", "back_in_minutes": 241}, 400, "back_in_minutes"),
        ({"type": "stepped_away", "minutes": 10}, 400, "minutes"),
        ({"type": "back", "back_in_minutes": 10}, 422, "back_in_minutes"),
        ({"type": "undo", "back_in_minutes": 10}, 422, "back_in_minutes"),
        ({"type": "undo", "minutes_ago": 5}, 422, "minutes_ago"),
        ({"type": "stepped_away", "minutes_ago": 61}, 400, "minutes_ago"),
        ({"type": "stepped_away", "minutes_ago": -1}, 400, "minutes_ago"),
    ],
)
def test_bad_input_gets_a_4xx_naming_the_field(world, body: dict, status: int, field: str) -> None:
    client, _, _, people = world
    answer = _tap(client, "kim", body, people["ma"])
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field


def test_an_unknown_provider_is_404_and_a_stale_version_409(world) -> None:
    client, _, _, people = world
    unknown = _tap(client, "nobody", {"type": "stepped_away"}, people["ma"])
    assert unknown.status_code == 404 and unknown.json()["field"] == "provider"
    assert _tap(client, "kim", {"type": "stepped_away", "expected_version": 0}, people["ma"]).status_code == 201
    stale = _tap(client, "kim", {"type": "back", "expected_version": 0}, people["ma"])
    assert stale.status_code == 409 and stale.json()["version"] == 1


def test_undo_restores_the_presence_before_by_whoever_tapped_or_a_manager(world) -> None:
    client, floors, clock, people = world
    _tap(client, "kim", {"type": "stepped_away", "back_in_minutes": 30}, people["ma"])
    clock.advance(minutes=5)
    _tap(client, "kim", {"type": "back"}, people["kim"])
    refused = _tap(client, "kim", {"type": "undo"}, people["ma"])
    assert refused.status_code == 403 and "kim" in refused.json()["message"]
    undone = _tap(client, "kim", {"type": "undo", "expected_version": 2}, people["kim"])
    assert undone.status_code == 201, undone.text
    assert undone.json()["presence"]["status"] == "stepped_away"
    assert undone.json()["event"]["change"]["type"] == "presence_undone"
    assert floors.get(CLINIC).floor.away("kim") is not None
    assert _tap(client, "kim", {"type": "undo"}, people["manager"]).json()["presence"]["status"] == "back"
    nothing = _tap(client, "kim", {"type": "undo"}, people["manager"])
    assert nothing.status_code == 409 and nothing.json()["error"] == "nothing_to_undo"


def test_the_board_the_live_feeds_and_the_audit_trail_carry_presence(world) -> None:
    client, floors, _, people = world
    pairing = client.post("/api/displays/pairings").json()
    client.post("/api/displays", json={"code": pairing["code"], "clinic": CLINIC}, headers=people["manager"])
    wall_token = client.post("/api/displays/pairings/claim", json={"claim": pairing["claim"]}).json()["token"]
    with client.websocket_connect(f"{API}/live") as staff, client.websocket_connect(f"{API}/live") as wall:
        staff.send_text(json.dumps({"type": "auth", "token": people["ma"]["Authorization"].split()[1]}))
        wall.send_text(json.dumps({"type": "auth", "token": wall_token}))
        assert json.loads(staff.receive_text(timeout=5))["kind"] == "snapshot"
        assert json.loads(wall.receive_text(timeout=5))["kind"] == "snapshot"
        _tap(client, "kim", {"type": "running_late", "back_in_minutes": 15}, people["kim"])
        event = json.loads(staff.receive_text(timeout=5))
        assert event["kind"] == "event" and event["presence"]["status"] == "running_late"
        update = json.loads(wall.receive_text(timeout=5))
        # The wall learns only that JK is running late: not who said so, nor when.
        assert update["kind"] == "update" and update["presence"] == {"provider": "JK", "away": "running_late"}
    board = client.get(f"{API}/board", headers=people["desk"]).json()
    presence = {p["provider"]: p for p in board["presence"]}
    assert presence["kim"]["status"] == "running_late" and presence["okafor"]["status"] == "back"
    assert {d["provider"]: d.get("away") for d in board["delays"]}["kim"] == "running_late"
    runtime = floors.get(CLINIC)
    hallway = runtime.hallway.board(runtime.floor, START, runtime.feed.hallway_delays(runtime.delays()), False)
    assert {d.provider: d.away for d in hallway.delays} == {"JK": "running_late", "DO": None, "MS": None, "AH": None}

    _tap(client, "kim", {"type": "undo"}, people["kim"])
    trail = client.get("/api/staff/kim/audit", headers=people["manager"]).json()["entries"]
    assert [(e["type"], e["person"], e["provider"], e.get("presence"), e.get("undone")) for e in trail] == [
        ("presence_running_late", "kim", "kim", "running_late", None),
        ("presence_undo", "kim", "kim", None, "running_late"),
    ]
    assert trail[0]["back_in_minutes"] == 15 and trail[1]["undone_seq"] == trail[0]["seq"]
    assert client.get("/api/staff/kim/audit", headers=people["ma"]).status_code == 403


def test_a_presence_tap_said_late_holds_from_when_it_was_said_and_its_retry_is_the_same_tap(world) -> None:
    """A tablet offline for six minutes sent "stepped away, back in 10" as it came back: it was stored as said then,
    and her start meanwhile did not end it (a review). It now says minutes_ago, grown on each retry as a step's."""
    client, _, _, people = world
    key = {"Idempotency-Key": "presence-offline-1"}
    first = _tap(client, "kim", {"type": "stepped_away", "back_in_minutes": 10, "minutes_ago": 6}, people["ma"] | key)
    assert first.status_code == 201, first.text
    said = START - dt.timedelta(minutes=6)
    presence = first.json()["presence"]
    assert dt.datetime.fromisoformat(presence["since"]) == said
    assert dt.datetime.fromisoformat(presence["back_at"]) == said + dt.timedelta(minutes=10)
    again = _tap(client, "kim", {"type": "stepped_away", "back_in_minutes": 10, "minutes_ago": 7}, people["ma"] | key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["seq"] == first.json()["seq"]
    earlier = _tap(client, "kim", {"type": "back", "minutes_ago": 9}, people["kim"])
    assert earlier.status_code == 422 and earlier.json()["field"] == "minutes_ago"  # before the last one said
    ma = PEOPLE[Role.medical_assistant][0]
    trail = client.get(f"/api/staff/{ma}/audit", headers=people["manager"]).json()["entries"]
    assert [dt.datetime.fromisoformat(e["happened"]) for e in trail if e["type"] == "presence_stepped_away"] == [said]
