"""`PUT /api/clinics/{clinic}/thresholds`: a manager sets the clinic's alert thresholds from the browser. Managers
only; sent with the set-up version the page showed (409 when another change came first); thresholds a clinic file
could not have are refused 422 naming the threshold; the board and the audit trail have the change, and the clinic
file's come back with use_file."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import TestClient

from floor.core.access import Role
from tests.support.staff import signed_in_on_a_manual_clock

API = "/api/clinics/riverside"
START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("America/Chicago"))
PEOPLE = {"manager": (Role.manager, None), "desk": (Role.front_desk, None)}


def thresholds_now(client: TestClient, headers: dict[str, str]) -> tuple[int, dict]:
    board = client.get(f"{API}/board", headers=headers).json()
    return board["setup_version"], board["thresholds"]


def test_a_manager_sets_the_thresholds_and_takes_the_file_s_back(tmp_path) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, _, people):
        version, file = thresholds_now(client, people["manager"])
        lower = {**file, "waiting_to_be_roomed": 10}
        refused = client.put(
            f"{API}/thresholds", json={"version": version, "thresholds": lower}, headers=people["desk"]
        )
        assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
        answer = client.put(
            f"{API}/thresholds", json={"version": version, "thresholds": lower}, headers=people["manager"]
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["thresholds"] == lower and answer.json()["setup_version"] == answer.json()["seq"]
        board = client.get(f"{API}/board", headers=people["desk"]).json()
        assert board["thresholds"] == lower and board["file_thresholds"] == file
        [entry] = client.get("/api/staff/mgr-dana/audit", headers=people["manager"]).json()["entries"]
        assert entry["changes"] == ["Changed the alert thresholds: waiting to be roomed from 15 to 10 minutes"]
        stale = client.put(
            f"{API}/thresholds", json={"version": version, "thresholds": file}, headers=people["manager"]
        )
        assert (stale.status_code, stale.json()["error"], stale.json()["field"]) == (409, "stale_version", "version")
        back = client.put(
            f"{API}/thresholds", json={"version": answer.json()["seq"], "use_file": True}, headers=people["manager"]
        )
        assert back.status_code == 201, back.text
        assert thresholds_now(client, people["manager"])[1] == file
        assert client.get(f"{API}/board", headers=people["desk"]).json()["file_thresholds"] is None


@pytest.mark.parametrize(
    ("change", "field", "status"),
    [
        ({"cascade_visits": 0}, "thresholds.cascade_visits", 422),
        ({"turnover": 601}, "thresholds.turnover", 422),
        ({"waiting_for_prep": "ten"}, "thresholds.waiting_for_prep", 400),
        ({"colour": "red"}, "thresholds.colour", 400),
        ({"turnover": None}, "thresholds.turnover", 400),
    ],
)
def test_bad_thresholds_are_refused_naming_the_field(tmp_path, change: dict, field: str, status: int) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, _, people):
        version, file = thresholds_now(client, people["manager"])
        thresholds = {k: v for k, v in {**file, **change}.items() if v is not None}
        answer = client.put(
            f"{API}/thresholds", json={"version": version, "thresholds": thresholds}, headers=people["manager"]
        )
        assert answer.status_code == status, answer.text
        assert answer.json()["field"] == field, answer.text
        assert thresholds_now(client, people["manager"]) == (version, file)


@pytest.mark.parametrize("body", [{}, {"use_file": True, "thresholds": "file"}])
def test_thresholds_or_use_file_one_of_the_two(tmp_path, body: dict) -> None:
    with signed_in_on_a_manual_clock(tmp_path, START, PEOPLE) as (client, _, _, people):
        version, file = thresholds_now(client, people["manager"])
        if body.get("thresholds") == "file":
            body = {**body, "thresholds": file}
        answer = client.put(f"{API}/thresholds", json={"version": version, **body}, headers=people["manager"])
        assert (answer.status_code, answer.json()["field"]) == (422, "thresholds"), answer.text
