"""The fourth model of clinic days (loadtests/fourth_days.py): each scenario's day taps without a refusal, repeats
by seed, and has what the model says it has (a precepting attending, waves, short visits and walk-ins, interpreters,
an overbooked Monday with the clinic file's minutes off, consults and step-outs, video rooms)."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics

import msgspec
import pytest

from floor.config import AppointmentTime
from floor.core.events import ProviderPresence, StepTaken
from floor.core.journey import ENDS, Stage
from loadtests.alert_quality import DAY
from loadtests.fourth_days import MODEL, SCENARIOS, Patient, SimDay, simulate
from loadtests.model_days import run_scenario


def _day(name: str, seed: int = 1) -> SimDay:
    return simulate(SCENARIOS[name], DAY, seed)


def _seen(sim: SimDay) -> list[Patient]:
    return [p for p in sim.world.patients if Stage.provider_in in p.real]


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
    assert len(sim.clinic.providers) >= 2 and len(sim.clinic.rooms) >= 4


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_same_seed_gives_the_same_events(name: str) -> None:
    one, two, other = _day(name, 7), _day(name, 7), _day(name, 8)
    assert msgspec.json.encode(one.events) == msgspec.json.encode(two.events)
    assert msgspec.json.encode(one.events) != msgspec.json.encode(other.events)


def test_scenarios_use_both_conventions_and_several_thresholds() -> None:
    clinics = [sc.clinic for sc in SCENARIOS.values()]
    assert {c.session.appointment_time for c in clinics} == set(AppointmentTime)
    assert len({(c.thresholds.cascade_visits, c.thresholds.cascade_minutes) for c in clinics}) >= 3


def test_teaching_the_attending_holds_up_the_teach_back() -> None:
    waited, straight = [], []
    for seed in (1, 2, 3):
        for p in _seen(_day("teaching", seed)):
            minutes = p.real[Stage.teach_back_done] - p.real[Stage.provider_in]
            assert p.precept_wait is not None  # every resident visit is precepted
            (waited if p.precept_wait > 3 else straight).append(minutes)
    assert waited and straight
    assert statistics.median(waited) > statistics.median(straight) + 3
    # A resident does not start a new patient with one unprecepted: their visits never overlap.
    sim = _day("teaching", 1)
    for r in SCENARIOS["teaching"].providers:
        spans = sorted(
            (p.real[Stage.provider_in], p.real[Stage.teach_back_done]) for p in _seen(sim) if p.provider == r
        )
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_waves_are_booked_on_the_hour_and_seen_in_order_of_arrival() -> None:
    sim = _day("waves", 2)
    booked = [p for p in sim.world.patients if not p.walk_in]
    assert all(p.start % 60 == 0 for p in booked)
    for provider in SCENARIOS["waves"].providers:
        for hour in {p.start for p in booked}:
            wave = [p for p in _seen(sim) if p.provider == provider and p.start == hour]
            by_arrival = sorted(wave, key=lambda p: p.arrive)
            by_provider = sorted(wave, key=lambda p: p.real[Stage.provider_in])
            assert [p.n for p in by_arrival] == [p.n for p in by_provider]


def test_shots_are_short_visits_with_walk_ins() -> None:
    sim = _day("shots_inr", 3)
    th = sim.clinic.thresholds
    assert (th.cascade_visits, th.cascade_minutes) == (5, 10)
    minutes = [p.real[Stage.teach_back_done] - p.real[Stage.provider_in] for p in _seen(sim)]
    assert statistics.median(minutes) < 12
    walk_ins = [v for v in sim.tapped.visits.values() if v.walk_in]
    assert len(walk_ins) >= 10
    assert len(_seen(sim)) / len(sim.clinic.providers) >= 15


def test_interpreted_visits_wait_for_their_interpreter() -> None:
    helped, plain = [], []
    for seed in (1, 2, 3):
        for p in _seen(_day("interpreter", seed)):
            wait = p.real[Stage.provider_in] - p.real[Stage.prep_done]
            (helped if p.language else plain).append(wait)
            if p.provider == "garcia":
                assert p.language != "spanish"
    assert helped and plain
    assert statistics.mean(helped) > statistics.mean(plain)


def test_the_holiday_monday_is_overbooked_and_its_clinic_file_minutes_are_off() -> None:
    patients = [p for seed in (1, 2) for p in _day("holiday_monday", seed).world.patients]
    booked = [p for p in patients if not p.walk_in]
    assert sum(p.fate == "no_show" for p in booked) / len(booked) > 0.1
    assert sum(p.arrive <= p.start - 20 for p in booked if p.fate == "seen") / len(booked) > 0.2
    starts = [(p.provider, p.start) for p in booked]
    assert len(starts) > len(set(starts))  # double-booked slots
    kinds = SCENARIOS["holiday_monday"].kinds

    def provider_minutes(code: str) -> float:
        return statistics.median(
            p.real[Stage.teach_back_done] - p.real[Stage.provider_in]
            for p in patients
            if p.kind.code == code and Stage.provider_in in p.real
        )

    assert provider_minutes("new") > kinds["new"].file[3] + 5
    assert provider_minutes("follow") < kinds["follow"].file[3]


def test_consults_leave_unannounced_and_step_outs_overlap_visits() -> None:
    hidden = overlapped = 0
    for seed in range(1, 9):
        sim = _day("consults", seed)
        for block in sim.world.blocks:
            if block.kind != "consult":
                continue
            hidden += 1
            # The cardiologist never says so; at most an MA does, later.
            midnight = sim.clinic.local(DAY, dt.time(0))
            start, end = (midnight + dt.timedelta(minutes=m) for m in (block.start, block.end))
            assert not [
                e
                for e in sim.events
                if isinstance(e.change, ProviderPresence) and e.actor == block.provider and start <= e.at <= end
            ]
            starts = [p.real[Stage.provider_in] for p in _seen(sim) if p.provider == block.provider]
            assert not any(block.start < s < block.end for s in starts)
        for p in _seen(sim):
            if p.stepped_out:
                others = [
                    q
                    for q in _seen(sim)
                    if q.provider == p.provider
                    and p.real[Stage.provider_in] < q.real[Stage.provider_in] < p.real[Stage.teach_back_done]
                ]
                overlapped += bool(others)
    assert hidden >= 1 and overlapped >= 1


def test_video_visits_are_roomed_only_in_video_rooms() -> None:
    sim = _day("telehealth", 4)
    video_rooms = set(SCENARIOS["telehealth"].video_rooms.values())
    roomed = [p for p in sim.world.patients if p.room is not None]
    assert any(p.kind.video for p in roomed) and any(not p.kind.video for p in roomed)
    for p in roomed:
        assert (p.room in video_rooms) == p.kind.video
        if p.kind.video:
            assert p.room == SCENARIOS["telehealth"].video_rooms[p.provider]


def test_the_driver_scores_a_day_with_alert_qualitys_yardstick() -> None:
    result = run_scenario(MODEL, "consults", 1, 5000, 1)
    assert result.refused == 0 and result.refusals == []
    assert result.floor.provider_days == result.plain.provider_days == 3
    assert result.floor.episodes == result.plain.episodes
    assert result.sanity.provider_days == 3 and result.sanity.seen > 0
