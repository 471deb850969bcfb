"""Over HTTP: a schedule imported again moves visits, and the manager's audit trail of each visit says what the
move changed, from what to what, and nothing it did not change; no patient name or note text in it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.core.access import Role
from floor.web.app import create_app
from tests.support.staff import sign_in, test_floors

DATA = Path(__file__).resolve().parent.parent / "data"
START = dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.UTC)  # 07:00 in Chicago, before the first appointment
BASE = "/api/clinics/riverside"
URL = f"{BASE}/schedule?date=2026-11-23"
CSV = {"Content-Type": "text/csv"}
COMMON = {"clinic", "day", "seq", "at", "person", "device", "type", "visit"}


def test_the_audit_trail_of_a_moved_visit_says_what_the_move_changed(tmp_path) -> None:
    floors = test_floors(tmp_path, clock=ManualClock(START))
    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        for name in ("schedule-riverside.csv", "schedule-riverside-changed.csv"):
            r = client.post(URL, content=(DATA / name).read_bytes(), headers={**manager, **CSV})
            assert r.status_code == 200, r.text
        board = client.get(f"{BASE}/board", headers=manager).json()
        ids = {v["external_id"]: v["id"] for v in board["visits"]}

        # EHR-1001 moved from 08:00 to 08:30 (Chicago), same provider, type and notes.
        trail = client.get(f"{BASE}/visits/{ids['EHR-1001']}/audit", headers=manager).json()["entries"]
        booked, moved = trail
        assert (booked["type"], booked["provider"], booked["visit_type"]) == ("booked", "kim", "new")
        assert moved["type"] == "visit_rescheduled"
        assert set(moved) == COMMON | {"start", "previous_start"}
        assert dt.datetime.fromisoformat(moved["previous_start"]) == START + dt.timedelta(hours=1)
        assert dt.datetime.fromisoformat(moved["start"]) == START + dt.timedelta(hours=1, minutes=30)
        text = str(trail)
        assert "Maria Lopez" not in text and "Interpreter" not in text

        # EHR-1002 moved from kim to okafor at the same time.
        moved = client.get(f"{BASE}/visits/{ids['EHR-1002']}/audit", headers=manager).json()["entries"][-1]
        assert {k: v for k, v in moved.items() if k not in COMMON} == {"provider": "okafor", "previous_provider": "kim"}
