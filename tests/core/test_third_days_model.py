"""The third model of clinic days (loadtests/third_days.py): its days tap without a refusal, repeat by seed, and
have what the model says they have (providers with two patients at provider_in, one person's tap lag, a slower
day with the EHR down), on the dates they are given."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections import Counter

import msgspec
import pytest

from floor.config import AppointmentTime
from floor.core.events import StepTaken, StepUndone, VisitBooked
from floor.core.floor import Floor
from floor.core.journey import ENDS, Stage
from loadtests.alert_quality import planned_provider_in
from loadtests.model_days import run_scenario
from loadtests.third_days import MODEL, SCENARIOS, SimDay, simulate

DAY = dt.date(2027, 2, 3)


def _day(name: str, seed: int = 1, day: dt.date = DAY, slowdown: bool | None = None) -> SimDay:
    return simulate(SCENARIOS[name], day, seed, slowdown)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_taps_its_days_without_a_refusal(name: str) -> None:
    for seed in (1, 2):
        sim = _day(name, seed)
        assert sim.refused == [], sim.refused[:3]
        # Every visit ended (seen and checked out, a no-show or a cancellation), as tapped and as it really went.
        for floor in (sim.tapped, sim.truth):
            assert all(v.stage in ENDS for v in floor.visits.values()), name
        assert set(sim.truth.visits) == set(sim.tapped.visits)
        assert Counter(v.stage for v in sim.truth.visits.values())[Stage.checked_out] >= 20


def test_the_same_seed_gives_the_same_events_and_another_seed_others() -> None:
    encode = msgspec.json.encode
    for name in ("ortho_xray", "peds_walkins"):
        assert encode(_day(name, 5).events) == encode(_day(name, 5).events)
        assert encode(_day(name, 5).events) != encode(_day(name, 6).events)


def test_the_day_is_the_one_given_in_the_clinics_own_time_zone() -> None:
    for name, day in (("evening_urgent", dt.date(2027, 6, 30)), ("ehr_down", dt.date(2026, 1, 5))):
        sim = _day(name, 3, day)
        tz = sim.clinic.tz
        assert {e.day for e in sim.events} == {day}
        assert {e.at.astimezone(tz).date() for e in sim.events} == {day}
        assert all(e.at.tzinfo is not None for e in sim.events)


def test_taps_never_come_before_their_steps_and_the_truth_keeps_when_they_happened() -> None:
    sim = _day("van_seniors", 4)
    checked = 0
    for visit in sim.truth.visits.values():
        tapped = sim.tapped.visits[visit.id]
        for stage, really in visit.times.items():
            assert tapped.times[stage] >= really, (visit.id, stage)
            checked += 1
    assert checked > 200
    # The events are in seq order with no gap, and their times never go back.
    assert [e.seq for e in sim.events] == list(range(1, len(sim.events) + 1))
    assert all(a.at <= b.at for a, b in itertools.pairwise(sim.events))


def _two_at_provider_in(sim: SimDay) -> set[str]:
    """The providers who, at some moment of the day as tapped, had two visits at provider_in at once."""
    floor = Floor(sim.clinic, sim.day, 0)
    both = set()
    for event in sim.events:
        floor.apply(event)
        at = Counter(v.provider for v in floor.visits.values() if v.stage is Stage.provider_in)
        both |= {p for p, n in at.items() if n >= 2}
    return both


def test_providers_who_step_out_have_two_patients_at_provider_in() -> None:
    sim = _day("ortho_xray", 2)
    assert _two_at_provider_in(sim), "nobody interleaved on an orthopedic day"
    # And really: a visit started while another of the same provider's was between its provider-in and teach-back.
    really = Counter()
    visits = [v for v in sim.truth.visits.values() if Stage.provider_in in v.times]
    for a in visits:
        for b in visits:
            if a.provider == b.provider and a.times[Stage.provider_in] < b.times[Stage.provider_in]:
                really[a.provider] += b.times[Stage.provider_in] < a.times[Stage.teach_back_done]
    assert sum(really.values()) >= 3
    # Where no provider steps out (a senior clinic), no provider ever really has two patients at once.
    calm = _day("van_seniors", 2)
    visits = [v for v in calm.truth.visits.values() if Stage.provider_in in v.times]
    for a in visits:
        for b in visits:
            if a is not b and a.provider == b.provider:
                assert not a.times[Stage.provider_in] < b.times[Stage.provider_in] < a.times[Stage.teach_back_done]


def test_one_providers_tap_lag_is_theirs_alone() -> None:
    """In the orthopedic clinic Dr. Ramos taps provider_in 3 to 8 minutes after walking in, and Kayla (her MA) taps
    roomed with prep_done at the end of the intake; everyone else taps these steps as they happen."""
    sim = _day("ortho_xray", 3)
    lags: dict[str, list[float]] = {}
    roomed: dict[bool, list[float]] = {True: [], False: []}
    for visit in sim.truth.visits.values():
        tapped = sim.tapped.visits[visit.id]
        if Stage.provider_in in visit.times:
            lag = (tapped.times[Stage.provider_in] - visit.times[Stage.provider_in]).total_seconds() / 60
            lags.setdefault(visit.provider, []).append(lag)
            kayla = any(s.step is Stage.roomed and s.by == "kayla" for s in tapped.steps)
            roomed[kayla].append((tapped.times[Stage.roomed] - visit.times[Stage.roomed]).total_seconds() / 60)
    assert set(lags) == {"ramos", "becker", "osei"}
    assert all(0 < x <= 8.01 for x in lags["ramos"]) and statistics.median(lags["ramos"]) >= 3
    assert all(x == 0 for p in ("becker", "osei") for x in lags[p])
    assert min(roomed[True]) >= 2 and roomed[False] and all(x == 0 for x in roomed[False])


def test_a_late_tapper_who_says_when_is_stored_nearly_when_it_happened() -> None:
    sim = _day("womens_afternoon", 2)
    said = [
        e
        for e in sim.events
        if isinstance(e.change, StepTaken) and e.actor == "wolfe" and e.change.happened is not None
    ]
    assert len(said) >= 5
    for e in said:
        truth = sim.truth.visits[e.change.visit].times[e.change.step]
        assert dt.timedelta(0) <= e.change.happened - truth < dt.timedelta(minutes=1)
        assert e.at - truth >= dt.timedelta(minutes=1)


def test_a_day_with_the_ehr_down_is_slower_than_the_same_day_without() -> None:
    for seed in (1, 2, 3):
        slow, fast = _day("ehr_down", seed, slowdown=True), _day("ehr_down", seed, slowdown=False)
        assert slow.world.slow is not None and fast.world.slow is None
        # The same patients booked...
        booked = [(e.change.patient_name, e.change.start) for e in slow.events if isinstance(e.change, VisitBooked)]
        assert (
            booked[:50]
            == [(e.change.patient_name, e.change.start) for e in fast.events if isinstance(e.change, VisitBooked)][:50]
        )
        # ... the same day until the EHR went down, and later after it.
        window = slow.world.slow
        for a, b in zip(slow.world.patients, fast.world.patients, strict=True):
            assert {s: t for s, t in a.t.items() if t < window.start} == {
                s: t for s, t in b.t.items() if t < window.start
            }

        def lateness(sim: SimDay) -> float:
            clinic = sim.clinic
            return sum(
                (v.times[Stage.provider_in] - planned_provider_in(clinic, v)).total_seconds() / 60
                for v in sim.truth.visits.values()
                if Stage.provider_in in v.times and not v.walk_in
            )

        assert lateness(slow) > lateness(fast) + 30
        last = max(p.t.get(Stage.checked_out, 0) for p in slow.world.patients)
        assert last >= max(p.t.get(Stage.checked_out, 0) for p in fast.world.patients)


def test_the_scenarios_differ_in_settings_and_keep_realistic_sizes() -> None:
    clinics = [sc.clinic for sc in SCENARIOS.values()]
    assert 6 <= len(SCENARIOS) <= 8
    assert len({(c.thresholds.cascade_visits, c.thresholds.cascade_minutes) for c in clinics}) >= 4
    assert {c.session.appointment_time for c in clinics} == set(AppointmentTime)
    assert all(2 <= len(c.providers) <= 6 for c in clinics)
    for name in SCENARIOS:
        # Booked patients per provider and session: 8 to 25 on the whole, never under 5 nor over 30.
        per = Counter(
            (seed, p.provider, p.block) for seed in (7, 8, 9) for p in _day(name, seed).world.patients if not p.walk_in
        )
        assert 8 <= statistics.mean(per.values()) <= 25, (name, per)
        assert min(per.values()) >= 5 and max(per.values()) <= 30, (name, per)


def test_no_shows_cancellations_walk_ins_and_vans_happen() -> None:
    days = [_day("peds_walkins", seed) for seed in range(1, 6)]
    patients = [p for sim in days for p in sim.world.patients]
    booked = [p for p in patients if not p.walk_in]
    assert 0.04 < sum(p.fate == "no_show" for p in booked) / len(booked) < 0.16
    assert 0.01 < sum(p.fate == "cancel" for p in booked) / len(booked) < 0.1
    assert sum(p.walk_in for p in patients) >= 20
    walk_ins = [v for sim in days for v in sim.tapped.visits.values() if v.walk_in]
    assert len(walk_ins) == sum(p.walk_in for p in patients)
    # A patient marked no-show who comes after all is undone and seen.
    undone = [(sim, e.change.visit) for sim in days for e in sim.events if isinstance(e.change, StepUndone)]
    assert undone
    for sim, visit in undone:
        assert sim.tapped.visits[visit].stage is Stage.checked_out
        assert any(
            isinstance(e.change, StepTaken) and e.change.step is Stage.no_show and e.change.visit == visit
            for e in sim.events
        )
    # Siblings come together: patients through the door within a minute and a half of each other, each day.
    for sim in days:
        doors = sorted(p.door for p in sim.world.patients if p.van)
        assert len(doors) >= 4
        assert any(b - a <= 1.5 for a, b in itertools.pairwise(doors))


def test_the_driver_scores_a_day_with_alert_qualitys_yardstick() -> None:
    result = run_scenario(MODEL, "womens_afternoon", 1, 3000, 1)
    assert result.refused == 0
    assert result.floor.provider_days == result.plain.provider_days == 2
    assert result.floor.episodes == result.plain.episodes
