"""A visit booked over HTTP at a clinic time the clocks skip (02:30 the morning they go forward) is refused, as
the schedule import refuses it (floor/schedule/csv_file.py `_exists`: "taken, it was booked at 03:30; a
review"). `POST /visits` with a start without an offset (clinic time, as the README says) took it and booked
the patient at 03:30 CDT, an hour after the time the desk typed, without a word (a hostile review of time).
A clinic time the clocks show twice (the night they go back) is the first time round, as the import takes it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.core.access import Role
from floor.schedule import Format, read
from floor.web.app import create_app
from tests.support.clinics import quiet_clinic
from tests.support.staff import sign_in, test_floors

CLINIC = quiet_clinic()  # America/Chicago
API = "/api/clinics/riverside"


def test_a_start_the_clocks_skip_is_refused_naming_start(tmp_path: Path) -> None:
    clock = ManualClock(dt.datetime(2026, 3, 8, 1, 0, tzinfo=CLINIC.tz).astimezone(dt.UTC))
    floors = test_floors(tmp_path, [CLINIC], clock=clock, tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        desk = sign_in(client, floors, Role.front_desk)
        answer = client.post(
            f"{API}/visits",
            json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "start": "2026-03-08T02:30:00"},
            headers=desk,
        )
        booked = answer.json().get("visit", {}).get("start") if answer.status_code == 201 else None
        assert answer.status_code == 422, f"{answer.status_code}: booked at {booked}"
        assert answer.json()["field"] == "start"
        assert floors.get("riverside").floor.visits == {}


def test_a_start_the_clocks_show_twice_is_the_first_time_round_as_a_schedule_file_s_is(tmp_path: Path) -> None:
    clock = ManualClock(dt.datetime(2026, 11, 1, 0, 30, tzinfo=CLINIC.tz).astimezone(dt.UTC))
    fall_back = dt.date(2026, 11, 1)  # 02:00 CDT becomes 01:00 CST: 01:30 comes twice
    csv = b"external_id,time,provider,visit_type,patient_name\nA1,01:30,kim,follow,Bo Chen\n"
    (row,) = read(csv, Format.csv, CLINIC, fall_back)
    assert row.start is not None
    floors = test_floors(tmp_path, [CLINIC], clock=clock, tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        desk = sign_in(client, floors, Role.front_desk)
        starts = []
        for start in ("2026-11-01T01:30:00", "2026-11-01T01:30:00-06:00"):
            answer = client.post(
                f"{API}/visits",
                json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "start": start},
                headers=desk,
            )
            assert answer.status_code == 201, answer.text
            starts.append(dt.datetime.fromisoformat(answer.json()["visit"]["start"]).astimezone(dt.UTC))
    first_time_round = dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)  # 01:30 CDT
    assert starts[0] == row.start.astimezone(dt.UTC) == first_time_round
    assert starts[1] == first_time_round + dt.timedelta(hours=1)  # 01:30 CST, sent with its offset
