"""The independent clinic-day model of loadtests/unseen_days.py: its days are ones the core accepts, whole and
consistent, and its extremes behave (a provider an hour late makes a cascade, a calm day makes none)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest

from floor.core.events import StepTaken
from floor.core.journey import PATH, Stage
from floor.days import fold_day
from loadtests.alert_quality import planned_provider_in, true_cascades
from loadtests.unseen_days import SCENARIOS, SITES, Params, simulate

DAY = dt.date(2027, 3, 9)

#: A day nobody could call late: visits quicker than the file says, punctual patients, MAs to spare, no
#: interruptions, no late starts, no double-booking.
CALM = Params(
    "family",
    real={"follow": 0.7, "new": 0.7, "wellness": 0.7, "sick": 0.7},
    intake=0.8,
    mas=3,
    service_sigma=0.1,
    complex_share=0.0,
    early=(-8, 2),
    late_share=0.0,
    walk_ins_per_hour=0.0,
    double_book=0.0,
    empty_slot=0.2,
    start_late=0.0,
    interruptions_per_day=0.0,
)


@pytest.mark.parametrize(("scenario", "seed"), [("family_typical", 3), ("cardio_busy", 4)])
def test_a_day_is_accepted_whole_and_consistent(scenario: str, seed: int) -> None:
    d = simulate(scenario, DAY, seed)
    clinic = SITES[SCENARIOS[scenario].site].clinic
    assert d.refused == []
    # The log folds back into the same floor.
    again = fold_day(clinic, DAY, d.events)
    assert {v.id: v.times for v in again.visits.values()} == {v.id: v.times for v in d.floor.visits.values()}
    seen = [v for v in d.floor.visits.values() if Stage.provider_in in v.times]
    assert len(seen) >= len(clinic.providers) * 5
    for v in d.floor.visits.values():
        # Every visit ends the day over, and its steps came in the journey's order.
        assert v.stage in (Stage.checked_out, Stage.no_show, Stage.cancelled, Stage.left_without_being_seen)
        reached = [s for s in PATH if s in v.times]
        assert [v.times[s] for s in reached] == sorted(v.times[s] for s in reached)
    # No room holds two patients at once.
    rooms = {e.visit: e.change.room for e in d.events if isinstance(e.change, StepTaken) and e.type == "roomed"}
    stays = sorted(
        (rooms[v.id], v.times[Stage.roomed], v.times[Stage.checked_out])
        for v in d.floor.visits.values()
        if Stage.roomed in v.times
    )
    assert len(stays) >= len(seen)
    for (room_a, _, out_a), (room_b, in_b, _) in itertools.pairwise(stays):
        assert room_a != room_b or out_a <= in_b
    # Every room is ready again at the end.
    assert all(r.state.value == "ready" for r in d.floor.rooms.values())


@pytest.mark.parametrize("seed", [1, 2])
def test_a_calm_day_has_no_cascade(seed: int) -> None:
    d = simulate("", DAY, seed, params=CALM)
    clinic = SITES["family"].clinic
    assert d.refused == []
    assert true_cascades(clinic, d.floor) == []


def test_a_provider_an_hour_late_makes_a_cascade() -> None:
    late = dataclasses.replace(CALM, forced_late={"reyes": 60})
    d = simulate("", DAY, 1, params=late)
    clinic = SITES["family"].clinic
    assert d.refused == []
    episodes = true_cascades(clinic, d.floor)
    assert [ep.provider for ep in episodes][:1] == ["reyes"]
    first = min(
        (v for v in d.floor.visits.values() if v.provider == "reyes" and Stage.provider_in in v.times),
        key=lambda v: v.times[Stage.provider_in],
    )
    opens = clinic.local(DAY, clinic.session.opens)
    assert first.times[Stage.provider_in] >= opens + dt.timedelta(minutes=60)
    assert first.times[Stage.provider_in] - planned_provider_in(clinic, first) >= dt.timedelta(minutes=10)
