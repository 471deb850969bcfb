"""Differential tests of the day's measures: many generated days (bookings, walk-ins, late taps, undos, moves,
no-shows, patients leaving unseen, checkouts without teach-back, walk-ins removed, cancellations entered in error,
both appointment conventions, days the clocks change) through Floor's pure core, against an independent model
written from the README and the measures' docstrings (tests/core/measures_oracle.py)."""

from __future__ import annotations

import datetime as dt

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floor.config import AppointmentTime
from floor.core.events import Event
from floor.core.measures import measure
from floor.days import alerts_raised, day_measures
from floor.export import measures_csv
from tests.core.measures_driver import clinic_with, random_day
from tests.core.measures_oracle import floors_measures

#: (day, open through the night): the nights the clocks go forward (2025-03-09) and back (2025-11-02) are also
#: measured from 00:30, with bookings through the hour the clocks change.
DAYS = [
    (dt.date(2025, 3, 12), False),
    (dt.date(2025, 3, 9), False),
    (dt.date(2025, 11, 2), False),
    (dt.date(2025, 3, 9), True),
    (dt.date(2025, 11, 2), True),
]
#: Bounded (about 10 s for both tests on this project's 2-core machine) and the same examples every run: derandomized,
#: with no example database, so a run never fails for a day another run happened to find. Each day's Random is a
#: real one seeded by Hypothesis (`use_true_random`): drawn choice by choice from Hypothesis's data, it mostly took
#: the first of every choice, and few patients reached the provider.
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _differences(got, want) -> list[str]:
    found = []
    scopes = [("clinic", got.clinic, want["clinic"])] + [
        (p, got.providers[p], want["providers"][p]) for p in got.providers
    ]
    for scope, g, w in scopes:
        for name, value in floors_measures(g).items():
            if value != w[name]:
                found.append(f"{scope}.{name}: Floor {value}, by definition {w[name]}")
    return found


@SETTINGS
@given(
    rng=st.randoms(use_true_random=True),
    convention=st.sampled_from(list(AppointmentTime)),
    day=st.sampled_from(DAYS),
    ops=st.integers(5, 120),
)
def test_measures_match_their_definitions_on_random_days(rng, convention, day, ops) -> None:
    """Floor's measures are what the README and the docstrings say they are (it found a walk-in moved to another
    provider waited for by them from their arrival, not from the move, and the clinic's lateness counting patients
    who came late: see test_measures_review_defects.py)."""
    day, night = day
    run = random_day(rng, clinic_with(convention, night=night), day, ops, begins=dt.time(0, 30) if night else None)
    differences = _differences(measure(run.floor, run.now), run.model.measures(run.now))
    assert not differences, "\n".join([*differences, "-- the day:", *run.log])


@SETTINGS
@given(
    rng=st.randoms(use_true_random=True),
    convention=st.sampled_from(list(AppointmentTime)),
    day=st.sampled_from(DAYS),
    ops=st.integers(5, 120),
)
def test_a_day_read_back_from_its_log_measures_as_it_did_live(rng, convention, day, ops) -> None:
    """The same moment measured live and from the log's events (a restart, a past day, `floor export`), down to the
    export's CSV."""
    day, night = day
    clinic = clinic_with(convention, night=night)
    run = random_day(rng, clinic, day, ops, begins=dt.time(0, 30) if night else None)
    stored = msgspec.json.decode(msgspec.json.encode(run.events), type=list[Event])
    live = measure(run.floor, run.now, alerts_raised(run.floor, run.events))
    past = day_measures(clinic, day, stored, run.now)
    assert msgspec.to_builtins(live) == msgspec.to_builtins(past)
    assert measures_csv(clinic, day, live) == measures_csv(clinic, day, past)


@SETTINGS
@given(
    rng=st.randoms(use_true_random=True),
    convention=st.sampled_from(list(AppointmentTime)),
    day=st.sampled_from(DAYS),
    ops=st.integers(5, 120),
    afternoon=st.sampled_from([None, dt.time(14, 0), dt.time(15, 30), dt.time(16, 30)]),
)
def test_a_day_gone_by_is_measured_as_it_closed_by_definition(rng, convention, day, ops, afternoon) -> None:
    """README: "A past day is measured as it closed: at the session's close, or its last tap if later". Random days
    from 07:30 (00:30 through the night), or from the afternoon, running past the session's close (17:00) with
    visits still open and taps after it; each read back from its log as a day gone by (`day_measures` with no
    moment) against the model at that moment, worked out from the taps alone."""
    day, night = day
    clinic = clinic_with(convention, night=night)
    begins = dt.time(0, 30) if night else afternoon
    run = random_day(rng, clinic, day, ops, begins=begins)
    stored = msgspec.json.decode(msgspec.json.encode(run.events), type=list[Event])
    closes = clinic.local(day, clinic.session.closes).astimezone(dt.UTC)
    last_tap = max((e.at for e in run.events), default=closes)
    past = day_measures(clinic, day, stored)
    assert past.at == max(closes, last_tap)
    differences = _differences(past, run.model.measures(max(closes, last_tap)))
    assert not differences, "\n".join([*differences, "-- the day:", *run.log])
