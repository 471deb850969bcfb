"""GET /api/clinics/{clinic}/learned: what Floor learned from the clinic's past days, for managers only."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.core.access import Role
from floor.core.checkouts import BATCH_EVIDENCE, BATCH_SECONDS, HOLD_MOST
from floor.log.base import Record
from floor.log.embedded import EmbeddedLog
from floor.web.app import create_app
from tests.support.clinics import quiet_clinic
from tests.support.history import PastDay, write_days
from tests.support.staff import everyone, test_floors

CLINIC = quiet_clinic()
TODAY = dt.date(2026, 11, 23)
API = f"/api/clinics/{CLINIC.id}/learned"


def test_managers_read_what_was_learned_and_nobody_else(tmp_path: Path) -> None:
    async def write() -> None:
        log = EmbeddedLog(tmp_path)
        seq = 0
        for n in (2, 1):
            day = PastDay(CLINIC, TODAY - dt.timedelta(days=n), base_seq=seq)
            for late in (0, 10):
                day.seen("kim", "follow", with_provider=24, late=late)
            day.no_show("kim", "follow")
            await log.append_all(CLINIC.id, [Record(e) for e in day.events])
            seq = day.events[-1].seq
        await log.close()

    asyncio.run(write())
    floors = test_floors(tmp_path, [CLINIC], clock=ManualClock(CLINIC.local(TODAY, dt.time(8))), tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        headers = everyone(client, floors)
        for role in Role:
            if role is not Role.manager:
                refused = client.get(API, headers=headers[role])
                assert refused.status_code == 403, role
                assert refused.json()["message"].endswith("cannot read what Floor has learned: that is for managers.")
        deadline = time.monotonic() + 5
        while not (answer := client.get(API, headers=headers[Role.manager]).json())["learned"]:
            assert time.monotonic() < deadline, "never learned"
            time.sleep(0.02)
        assert (answer["day"], answer["days"], answer["first_day"], answer["last_day"]) == (
            str(TODAY),
            2,
            str(TODAY - dt.timedelta(days=2)),
            str(TODAY - dt.timedelta(days=1)),
        )
        providers = {p["provider"]: p for p in answer["providers"]}
        assert list(providers) == [p.id for p in CLINIC.providers]
        kim = providers["kim"]
        assert (kim["booked"], kim["no_shows"], kim["arrivals"], kim["arrival_late_median"]) == (6, 2, 4, 5.0)
        follow = {t["visit_type"]: t for t in kim["visit_types"]}["follow"]
        stages = {s["stage"]: s for s in follow["stages"]}
        assert list(stages) == ["roomed", "prep_done", "provider_in"]
        assert stages["provider_in"] == {
            "stage": "provider_in",
            "configured": 12,
            "median": 24.0,
            "visits": 4,
            "expected": round((10 * 12 + 4 * 24) / 14, 2),
        }
        # Nothing learned: the configured minutes, from no visit.
        okafor_new = {t["visit_type"]: t for t in providers["okafor"]["visit_types"]}["new"]
        assert [(s["configured"], s["expected"], s["median"], s["visits"]) for s in okafor_new["stages"]] == [
            (10, 10.0, None, 0),
            (4, 4.0, None, 0),
            (25, 25.0, None, 0),
        ]
        assert providers["okafor"]["no_show_share"] is None
        # Visits with no teach-back: no provider change to tell whether taps come late.
        assert (answer["provider_changes"], answer["late_tap_changes"], answer["tap_lag"]) == (0, 0, 0.0)
        assert answer["two_at_once_changes"] == 0
        # Nobody stepped out of a visit: no visit type says how often.
        assert all(t["steps_out"] is None for p in providers.values() for t in p["visit_types"])
        # Every provider-in was tapped as the provider walked in: none only as the visit ended.
        assert (kim["seen_out"], kim["untapped_in"], kim["walks_in_untapped"]) == (4, 0, False)
        # Each past day's second visit of Kim's foretold from its first: too few to learn how much a day says.
        assert (answer["pace_weight"], answer["pace_visits"], answer["pace_prior"]) == (0.0, 2, 3.0)


def test_what_the_day_itself_says_of_a_provider_walking_in_untapped(tmp_path: Path) -> None:
    # A clinic with no past days. This morning from 7:00 Dr. Kim saw four follow-ups; three had "provider in" tapped
    # only with the checkout: enough, from the day alone, to take it as her habit.
    async def write() -> None:
        log = EmbeddedLog(tmp_path)
        day = PastDay(CLINIC, TODAY, opens=dt.time(7))
        for untapped in (True, False, True, True):
            day.seen("kim", "follow", with_provider=15, untapped_in=untapped)
        await log.append_all(CLINIC.id, [Record(e) for e in day.events])
        await log.close()

    asyncio.run(write())
    answer = _learned_at(tmp_path, dt.time(9))
    assert answer["days"] == 0
    providers = {p["provider"]: p for p in answer["providers"]}
    kim, okafor = providers["kim"], providers["okafor"]
    assert (kim["seen_out"], kim["untapped_in"]) == (0, 0)
    assert (kim["seen_out_today"], kim["untapped_in_today"], kim["walks_in_untapped"]) == (4, 3, True)
    assert (okafor["seen_out_today"], okafor["untapped_in_today"], okafor["walks_in_untapped"]) == (0, 0, False)


def _learned_at(tmp_path: Path, clock: dt.time) -> dict:
    """What a manager reads of what was learned, from a server on the log in `tmp_path` with its clinic clock at
    `clock` today, once it has learned."""
    floors = test_floors(tmp_path, [CLINIC], clock=ManualClock(CLINIC.local(TODAY, clock)), tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        headers = everyone(client, floors)
        deadline = time.monotonic() + 5
        while not (answer := client.get(API, headers=headers[Role.manager]).json())["learned"]:
            assert time.monotonic() < deadline, "never learned"
            time.sleep(0.02)
    return answer


def test_managers_read_whether_the_front_desk_checks_out_in_batches(tmp_path: Path) -> None:
    async def write() -> None:
        log = EmbeddedLog(tmp_path)
        await write_days(log, CLINIC, TODAY, 7, lambda day, n: day.checked_out_together("kim", "follow"))
        await log.close()

    asyncio.run(write())
    answer = _learned_at(tmp_path, dt.time(8))
    # 21 checkouts on 7 past days, each tapped 5 seconds from another: the desk checks out in batches.
    assert (answer["checkouts"], answer["checkouts_batched"], answer["checkouts_in_batches"]) == (21, 21, True)
    assert (answer["checkouts_today"], answer["checkouts_batched_today"]) == (0, 0)
    # Nobody is held back: this quiet clinic's limit is longer than any hold (HOLD_MOST), so the alert comes at it.
    assert answer["checkout_hold"] is None and CLINIC.thresholds.waiting_for_checkout > HOLD_MOST
    assert (answer["batch_seconds"], answer["batch_evidence"]) == (BATCH_SECONDS, BATCH_EVIDENCE)
