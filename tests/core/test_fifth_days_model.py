"""The fifth model of clinic days (loadtests/fifth_days.py): each scenario's day taps without a refusal, repeats by
seed, and has what the model says it has (dilation between the work-up and the doctor, labs the provider waits
for, a long nurse intake, a cast technician shared, a provider steadily a little behind, double-booked slots and
weather days, mislabelled skin checks and early birds roomed early)."""

from __future__ import annotations

import itertools
import statistics

import msgspec
import pytest

from floor.config import AppointmentTime
from floor.core.events import StepTaken
from floor.core.journey import ENDS, Stage
from loadtests.alert_quality import DAY, planned_provider_in
from loadtests.fifth_days import MODEL, SCENARIOS, Patient, SimDay, planned_in, simulate
from loadtests.model_days import run_scenario


def _day(name: str, seed: int = 1) -> SimDay:
    return simulate(SCENARIOS[name], DAY, seed)


def _seen(sim: SimDay) -> list[Patient]:
    return [p for p in sim.plan.patients if Stage.provider_in in p.real]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_taps_its_day_without_a_refusal(name: str) -> None:
    sim = _day(name)
    assert sim.refused == [], sim.refused[:3]
    for floor in (sim.tapped, sim.truth):
        assert all(v.stage in ENDS for v in floor.visits.values())
    assert set(sim.truth.visits) == set(sim.tapped.visits)
    # The truth holds when steps happened; some taps came later than their step.
    lagged = [
        e
        for e in sim.events
        if isinstance(e.change, StepTaken) and sim.truth.visits[e.visit].times[e.change.step] < e.at
    ]
    assert lagged
    assert len(sim.clinic.providers) >= 2 and len(sim.clinic.rooms) >= 6
    # The model's idea of when the provider is due is the yardstick's.
    booked = {v.patient_name: v for v in sim.truth.visits.values()}
    for p in sim.plan.patients:
        v = booked[p.name]
        due = (planned_provider_in(sim.clinic, v) - v.start).total_seconds() / 60
        assert due == planned_in(sim.clinic, p) - p.start


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_same_seed_gives_the_same_events(name: str) -> None:
    one, two, other = _day(name, 7), _day(name, 7), _day(name, 8)
    assert msgspec.json.encode(one.events) == msgspec.json.encode(two.events)
    assert msgspec.json.encode(one.events) != msgspec.json.encode(other.events)


def test_scenarios_use_both_conventions_and_several_thresholds() -> None:
    clinics = [sc.clinic for sc in SCENARIOS.values()]
    assert {c.session.appointment_time for c in clinics} == set(AppointmentTime)
    assert len({(c.thresholds.cascade_visits, c.thresholds.cascade_minutes) for c in clinics}) >= 4


def test_dilated_patients_wait_between_the_work_up_and_the_doctor_who_sees_others_meanwhile() -> None:
    sim = _day("ophthalmology", 2)
    dilated = [p for p in _seen(sim) if "dilated" in p.features and "prelook" not in p.features]
    plain = [p for p in _seen(sim) if "dilated" not in p.features]
    assert dilated and plain
    assert all(p.real[Stage.provider_in] - p.real[Stage.prep_done] >= 20 for p in dilated)
    assert statistics.median(p.real[Stage.provider_in] - p.real[Stage.prep_done] for p in plain) < 10
    # A look before dilation: "provider in" then, the doctor with other patients before the exam ends.
    looked = [p for p in _seen(sim) if "prelook" in p.features]
    assert looked and all(p.provider == "patel" for p in looked)
    overlapped = [
        p
        for p in looked
        if any(
            q.provider == p.provider
            and p.real[Stage.provider_in] < q.real[Stage.provider_in] < p.real[Stage.teach_back_done]
            for q in _seen(sim)
        )
    ]
    assert overlapped


def test_the_oncologist_waits_for_the_labs_with_the_patient_prepped() -> None:
    waited, early, days = 0, [], [_day("oncology", s) for s in range(1, 5)]
    for sim in days:
        for p in _seen(sim):
            if "labs" in p.features:
                early.append(p.start - p.real[Stage.arrived])
                assert p.real[Stage.roomed] - p.real[Stage.arrived] >= p.pre_room
                assert p.real[Stage.provider_in] >= p.ready_after
                waited += p.real[Stage.provider_in] == p.ready_after > p.real[Stage.prep_done]
            else:
                assert p.kind.code == "new"
    assert waited >= 5 and statistics.median(early) >= 45
    assert any("lab_backed_up" in sim.plan.notes for sim in days) or any(
        "lab_backed_up" in _day("oncology", s).plan.notes for s in range(5, 12)
    )


def test_preop_intake_by_nurses_is_long_and_the_anaesthetist_short() -> None:
    sim = _day("preop", 3)
    intake = [p.real[Stage.prep_done] - p.real[Stage.roomed] for p in _seen(sim)]
    exam = [p.real[Stage.teach_back_done] - p.real[Stage.provider_in] for p in _seen(sim)]
    assert statistics.median(intake) >= 28 and statistics.median(exam) <= 18
    assert len(sim.plan.pools["rn"]) == 3 and all(len(w[1]) == 2 for w in sim.plan.pools["rn"])


def test_one_cast_technician_casts_for_both_surgeons_and_holds_the_room() -> None:
    sim = _day("ortho_cast", 4)
    assert [w[0] for w in sim.plan.pools["cast"]] == ["casttech"]
    recast = [p for p in _seen(sim) if "recast" in p.features]
    off = [p for p in _seen(sim) if "cast_off" in p.features]
    assert {p.provider for p in recast} == {"brooks", "tanaka"} and off
    assert all(p.real[Stage.checked_out] - p.real[Stage.teach_back_done] >= 15 for p in recast)
    # One technician: no two casts at once.
    spans = sorted((p.real[Stage.checked_out] - p.post[0][1], p.real[Stage.checked_out]) for p in recast)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert all(p.real[Stage.roomed] - p.real[Stage.arrived] >= p.pre_room for p in _seen(sim) if "xray" in p.features)


def test_steady_behind_providers_run_a_little_late_mostly_under_the_threshold() -> None:
    lates = []
    for seed in (1, 2, 3):
        sim = _day("steady_behind", seed)
        lates += [p.real[Stage.provider_in] - planned_in(sim.clinic, p) for p in _seen(sim)]
    threshold = SCENARIOS["steady_behind"].clinic.thresholds.cascade_minutes
    assert 3 <= statistics.median(lates) < threshold
    assert 0.05 < sum(x >= threshold for x in lates) / len(lates) < 0.4


def test_double_booked_slots_and_a_weather_morning() -> None:
    sim = _day("double_booked", 1)
    starts = [(p.provider, p.start) for p in sim.plan.patients]
    assert len(starts) - len(set(starts)) >= 6
    weather = next(s for s in range(1, 30) if "weather" in _day("double_booked", s).plan.notes)
    patients = _day("double_booked", weather).plan.patients
    morning = [p for p in patients if p.start < 10 * 60 + 30]
    assert sum(p.arrive is None for p in morning) / len(morning) > 0.3
    assert sum("late_for_weather" in p.features for p in morning) >= 5


def test_mislabelled_skin_checks_take_long_and_early_birds_are_roomed_early() -> None:
    sims = [_day("derm_mislabelled", s) for s in (1, 2)]
    seen = [p for sim in sims for p in _seen(sim)]
    wrong = [p.exam for p in seen if "mislabelled" in p.features]
    right = [p.exam for p in seen if p.kind.code == "skin" and "mislabelled" not in p.features]
    assert wrong and statistics.median(wrong) > statistics.median(right) + 8
    assert all(p.kind.code == "skin" for p in seen if "mislabelled" in p.features)
    early = [p for p in seen if "early_bird" in p.features]
    assert sum(p.real[Stage.roomed] < p.start for p in early) >= 3


def test_the_driver_scores_a_day_with_alert_qualitys_yardstick() -> None:
    result = run_scenario(MODEL, "preop", 1, 9000, 1)
    assert result.refused == 0 and result.refusals == []
    assert result.floor.provider_days == result.plain.provider_days == 2
    assert result.floor.episodes == result.plain.episodes
    assert result.sanity.provider_days == 2 and result.sanity.seen > 0
