"""The projection's queue (who the provider sees next) against the plain quadratic walk it replaced, at every
five minutes of generated days: the same visits, times and lateness, and the same with the visits grouped by
provider beforehand (as the alert review and the delays pass them), under either meaning of a booked time."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from floor.config import AppointmentTime, demo_clinic
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import ENDS, Stage
from floor.core.projection import (
    _WAITING,
    LIKELY_NO_SHOW,
    ProjectedVisit,
    _ready,
    by_provider,
    median_residual,
    minutes,
    own_lateness,
    pace,
    planned_provider_in,
    project,
    rooming,
    show_chance,
)
from floor.simulator import simulate_day

CLINIC = demo_clinic()
DAY = dt.date(2026, 11, 23)


def plain_queue(floor: Floor, provider: str, now: dt.datetime, free_at: dt.datetime) -> list[ProjectedVisit]:
    """The walk as first written: each time the provider comes free, scan everyone for who is ready. A patient
    not come and likely not to never holds the provider: fitted in when ready (expected lateness).
    A patient who gets a room later than they would be roomed (`rooming`) is ready that much later."""
    p = pace(floor, provider)
    convention = floor.clinic.session.appointment_time
    rooms_at = rooming(floor, now)
    queue = []
    for v in floor.visits.values():
        if v.provider == provider and v.stage not in ENDS and v.stage in _WAITING:
            vtype = CLINIC.visit_type(v.visit_type)
            ready = _ready(v, vtype, now, convention, roomed_at=rooms_at.get(v.id))
            queue.append((v, vtype, planned_provider_in(v, vtype, convention), ready, show_chance(floor, v, now)))
    projected = []
    while queue:
        ready_now = [q for q in queue if q[3] <= free_at]
        pick = min(ready_now, key=lambda q: (q[0].start, q[0].id)) if ready_now else min(queue, key=lambda q: q[3])
        queue.remove(pick)
        v, vtype, planned, ready, show = pick
        if show < LIKELY_NO_SHOW:
            projected.append(
                ProjectedVisit(
                    v.id,
                    v.stage,
                    planned,
                    ready,
                    round(show * max(0.0, minutes(ready - planned)), 1),
                    False,
                    ready + dt.timedelta(minutes=vtype.stage_minutes.provider_in * p),
                    round(show, 2),
                    v.walk_in,
                    own_lateness(v, vtype, now, convention),
                )
            )
            continue
        start = max(ready, free_at)
        lateness = 0.0 if v.walk_in else max(0.0, minutes(start - planned))
        done = start + dt.timedelta(minutes=vtype.stage_minutes.provider_in * p)
        projected.append(
            ProjectedVisit(
                v.id,
                v.stage,
                planned,
                start,
                round(lateness, 1),
                free_at > ready,
                done,
                round(show, 2),
                v.walk_in,
                own_lateness(v, vtype, now, convention),
                v.id in rooms_at and free_at <= ready,
            )
        )
        free_at = done
    projected.sort(key=lambda x: x.planned_provider_in)
    return projected


@pytest.mark.parametrize("convention", list(AppointmentTime))
@pytest.mark.parametrize("seed", [3, 11, 1003])
def test_the_queue_projects_as_the_plain_walk_did(seed: int, convention: AppointmentTime) -> None:
    events, _ = simulate_day(CLINIC, DAY, seed=seed)
    clinic = msgspec.structs.replace(
        CLINIC, session=msgspec.structs.replace(CLINIC.session, appointment_time=convention)
    )
    floor = Floor(clinic, DAY, ids=Ids.seeded())
    at = CLINIC.local(DAY, CLINIC.session.opens) - dt.timedelta(minutes=30)
    pending = iter(events)
    upcoming = next(pending, None)
    compared = 0
    while upcoming is not None:
        while upcoming is not None and upcoming.at <= at:
            floor.apply(upcoming)
            upcoming = next(pending, None)
        grouped = by_provider(floor)
        for provider in CLINIC.providers:
            fast = project(floor, provider.id, at)
            assert project(floor, provider.id, at, visits=grouped[provider.id]) == fast
            assert fast.visits == plain_queue(floor, provider.id, at, _free_at(floor, provider.id, at))
            compared += len(fast.visits)
        at += dt.timedelta(minutes=5)
    assert compared > 500, "the days projected too few visits to compare"


def _free_at(floor: Floor, provider: str, now: dt.datetime) -> dt.datetime:
    """When the provider is done with the visit they are in now, as `project` reckons it."""
    p = pace(floor, provider)
    free_at = now
    for v in floor.visits.values():
        if v.provider == provider and v.stage is Stage.provider_in:
            expected = CLINIC.visit_type(v.visit_type).stage_minutes.provider_in * p
            elapsed = minutes(now - v.times[Stage.provider_in])
            free_at = max(free_at, now + dt.timedelta(minutes=median_residual(expected, elapsed)))
    return free_at
