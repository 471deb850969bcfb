"""The fleet benchmark's booked clinics (loadtests/fleet.py --booked): a simulated morning written into an embedded
log before the server starts is the log a server would have written, tap by tap, and a server on a clock at the
morning's end takes it as its day, walk-ins tapped on top."""

from __future__ import annotations

import asyncio
import datetime as dt

from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.core.access import Role
from floor.core.events import VisitBooked
from floor.log.base import Record
from floor.log.embedded import EmbeddedLog, frame
from floor.simulator import simulate_day
from floor.web.app import create_app
from loadtests.fleet import BOOKED_AT, Unsynced, booked_start, morning, write_days
from tests.support.clinics import quiet_clinic
from tests.support.staff import sign_in, test_floors

DAY = dt.date(2026, 3, 10)  # Chicago is on daylight time (UTC-5) since March 8


def test_the_clock_starts_at_half_past_ten_in_the_clinics_zone_on_its_day() -> None:
    clinic = quiet_clinic()
    # 03:00 UTC on the 11th is still the evening of the 10th in Chicago.
    for now in (dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC), dt.datetime(2026, 3, 11, 3, tzinfo=dt.UTC)):
        assert booked_start([clinic], BOOKED_AT, now) == dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.UTC)


def test_a_booked_morning_is_stored_as_a_server_stores_its_taps(tmp_path) -> None:
    clinic = quiet_clinic()
    start = booked_start([clinic], BOOKED_AT, dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC))
    events = morning(clinic, start, seed=3)
    whole_day, _ = simulate_day(clinic, DAY, 3)
    assert events == whole_day[: len(events)] and whole_day[len(events)].at > start
    assert [e.seq for e in events] == list(range(1, len(events) + 1))

    asyncio.run(write_days(EmbeddedLog(tmp_path, Unsynced()), {clinic.id: events}))
    # One frame per event, as a server appends each tap (a batch would be one frame).
    assert (tmp_path / clinic.id / f"{DAY}.log").read_bytes() == b"".join(frame(Record(e)) for e in events)

    async def read_back() -> tuple[int, list]:
        log = EmbeddedLog(tmp_path)
        await log.open()
        try:
            return await log.read_day(clinic.id, DAY)
        finally:
            await log.close()

    assert asyncio.run(read_back()) == (0, events)

    booked = [e.change.visit for e in events if isinstance(e.change, VisitBooked)]
    floors = test_floors(tmp_path, [clinic], ManualClock(start + dt.timedelta(seconds=2)), tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        desk = sign_in(client, floors, Role.front_desk)
        board = client.get(f"/api/clinics/{clinic.id}/board", headers=desk).json()
        assert board["seq"] == len(events) and sorted(v["id"] for v in board["visits"]) == sorted(booked)
        assert {"arrived", "provider_in"} <= {v["stage"] for v in board["visits"]}
        walk_in = {"patient_name": "Fleet 0", "provider": "kim", "visit_type": "follow", "walk_in": True}
        answer = client.post(f"/api/clinics/{clinic.id}/visits", json=walk_in, headers=desk)
        assert answer.status_code == 201 and answer.json()["seq"] == len(events) + 1
        left = {"type": "left_without_being_seen"}
        path = f"/api/clinics/{clinic.id}/visits/{answer.json()['visit']['id']}/events"
        assert client.post(path, json=left, headers=desk).status_code == 201
