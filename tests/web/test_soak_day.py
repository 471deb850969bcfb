"""The soak benchmark's clinic day (loadtests/soak.py) is one the server takes whole: every tap it sends, at its
clinic time, is answered 201, and its walls' probes are spread over every clinic."""

from __future__ import annotations

import datetime as dt

from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.core.access import Role
from floor.core.events import VisitBooked
from floor.web.app import create_app
from floor.web.auth import Guarding
from loadtests.fleet import probe
from loadtests.soak import day_taps, tap_request
from tests.support.clinics import quiet_clinic
from tests.support.staff import sign_in, test_floors

DAY = dt.date(2026, 3, 10)


def test_every_tap_of_a_simulated_day_is_stored_at_its_clinic_time(tmp_path) -> None:
    clinic = quiet_clinic()
    opens = clinic.local(DAY, clinic.session.opens)
    start = opens - dt.timedelta(hours=2)
    taps = day_taps(clinic, DAY, 1, start)
    # The schedule is booked before the first patient comes; every kind of tap is in the day.
    booked = [t for t in taps if isinstance(t.event.change, VisitBooked) and not t.event.change.walk_in]
    first_step = min(t.at for t in taps if not isinstance(t.event.change, VisitBooked))
    assert booked and all(start <= t.at <= first_step - dt.timedelta(minutes=15) for t in booked)
    assert {type(t.event.change).__name__ for t in taps} == {"VisitBooked", "StepTaken", "RoomMarked"}

    clock = ManualClock(start)
    floors = test_floors(tmp_path, [clinic], clock, tick_seconds=3600)
    guarding = Guarding(write_rate=1000, write_burst=100_000)
    with TestClient(create_app(floors, guarding=guarding)) as client:
        manager = sign_in(client, floors, Role.manager)
        ids: dict[str, str] = {}
        for tap in taps:
            clock.set(tap.at)
            request = tap_request(clinic.id, tap, ids)
            assert request is not None
            path, body = request
            answer = client.post(path, json=body, headers=manager)
            assert answer.status_code == 201, (tap.event.change, answer.text)
            if isinstance(tap.event.change, VisitBooked):
                ids[tap.event.change.visit] = answer.json()["visit"]["id"]
        assert answer.json()["seq"] == len(taps)


def test_probes_are_one_in_n_of_every_clinics_walls() -> None:
    for walls, clinics in ((5000, 200), (20000, 500), (2000, 50), (50, 3)):
        probes = [k for k in range(walls) if probe(k, clinics, 25)]
        assert {k % clinics for k in probes} == set(range(clinics))
        assert len(probes) == max(clinics, walls // 25)
