"""Each visit's plan by the clinic's convention reaches the staff pages with the visit (the board, the live
event, the tap's answer), so the tablet's "due / late" and the manager timeline's slots need not apply the
convention themselves: under "provider" a patient is due before the booked time, under "arrival" at it."""

from __future__ import annotations

import datetime as dt
import json

import msgspec
import pytest
from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.config import AppointmentTime, demo_clinic
from floor.core.access import Role
from floor.web.app import create_app
from tests.support.staff import everyone, test_floors

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in Chicago
CHICAGO = demo_clinic().tz
# A 09:30 follow-up: rooming 6 and prep 3 minutes.
EXPECTED = {AppointmentTime.arrival: ("09:30", "09:39"), AppointmentTime.provider: ("09:21", "09:30")}


def hm(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).astimezone(CHICAGO).strftime("%H:%M")


def _event(ws) -> dict:
    for _ in range(50):
        message = json.loads(ws.receive_text(timeout=5))
        if message["kind"] == "event":
            return message
    raise AssertionError("no event message")


@pytest.mark.parametrize("convention", list(AppointmentTime))
def test_each_visit_comes_with_its_plan_by_the_clinics_convention(tmp_path, convention: AppointmentTime) -> None:
    base = demo_clinic()
    clinic = msgspec.structs.replace(base, session=msgspec.structs.replace(base.session, appointment_time=convention))
    floors = test_floors(tmp_path, clinics=[clinic], clock=ManualClock(START))
    with TestClient(create_app(floors)) as client:
        staff = everyone(client, floors)
        desk, manager = staff[Role.front_desk], staff[Role.manager]
        with client.websocket_connect("/api/clinics/riverside/live", headers=manager) as ws:
            json.loads(ws.receive_text(timeout=5))  # the snapshot
            answer = client.post(
                "/api/clinics/riverside/visits",
                headers=desk,
                json={
                    "patient_name": "Ann Lee",
                    "provider": "kim",
                    "visit_type": "follow",
                    "start": "2026-11-23T09:30:00",
                },
            )
            assert answer.status_code == 201, answer.text
            visit, plan = answer.json()["visit"], answer.json()["plan"]
            event = _event(ws)
        board = client.get("/api/clinics/riverside/board", headers=desk).json()
    assert hm(visit["start"]) == "09:30"
    assert (hm(plan["roomed"]), hm(plan["provider_in"])) == EXPECTED[convention]
    assert plan["visit"] == visit["id"] and event["plan"] == plan
    assert board["plans"] == [plan]
