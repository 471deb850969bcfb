"""The demo's own day (`floor demo`, floor/simulator.py `demo_staff`) shows a newcomer the cascade alert: one is
raised, updated as it moves and cleared within the first ten minutes of real time at the demo's 30x speed,
that is within 300 clinic minutes of the demo clock's start. Played through the core on an injected clock,
reviewed as a server reviews it; no date or time of the machine running the test is read."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from floor.clock import ManualClock
from floor.config import demo_clinic
from floor.core.alerts import review
from floor.core.commands import Tap
from floor.core.errors import Refusal
from floor.core.events import AlertChange, AlertCleared, AlertRaised, AlertUpdated
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.simulator import DEMO_LATE_START, demo_absences, demo_staff, demo_start

pytestmark = pytest.mark.long

CLINIC = demo_clinic()
#: The demo's default speed (`floor demo --speed`) and ten minutes of real time at it.
SPEED = 30
FIRST_MINUTES = dt.timedelta(minutes=10 * SPEED)


def play_demo(day: dt.date, step: dt.timedelta, seed: int = 1) -> list[tuple[dt.datetime, AlertChange]]:
    """The demo's day from the demo clock's start for FIRST_MINUTES of clinic time: the demo's staff tap what
    is due at each `step` (the pump's round), and the floor is reviewed after each round. Every alert change
    with its time."""
    clock = ManualClock(demo_start(CLINIC, day))
    end = clock.now() + FIRST_MINUTES
    staff = demo_staff(CLINIC, day, seed)
    floor = Floor(CLINIC, day, ids=Ids.seeded(f"demo-{day}"))
    changes = []

    def tap(command) -> str | None:
        try:
            event = floor.decide(command, Tap("demo", "demo-tablet", clock.now()))
        except Refusal:
            return None
        floor.apply(event)
        return event.change.visit if hasattr(event.change, "visit") else None

    while clock.now() < end:
        for index, booking in staff.bookings_due(clock.now()):
            visit = tap(booking)
            if visit is not None:
                staff.booked(index, visit)
        for command in staff.due(floor, clock.now()):
            tap(command)
        for change in review(floor, clock.now()):
            floor.apply(floor.record(change, Tap("floor", "review", clock.now())))
            changes.append((clock.now(), change))
        clock.advance(seconds=step.total_seconds())
    return changes


# 7.5 s: the pump's quarter-second round at 30x; 75 s: at 300x. Two days: winter and summer time.
@pytest.mark.parametrize("step", [dt.timedelta(seconds=7.5), dt.timedelta(seconds=75)])
@pytest.mark.parametrize("day", [dt.date(2026, 1, 14), dt.date(2026, 7, 1)])
def test_the_demo_day_raises_updates_and_clears_a_cascade_in_its_first_ten_minutes(
    day: dt.date, step: dt.timedelta
) -> None:
    changes = play_demo(day, step)
    raised = [(at, c) for at, c in changes if isinstance(c, AlertRaised) and c.kind == "cascade"]
    assert raised, "no cascade alert in the demo's first 300 clinic minutes"
    at, first = raised[0]
    assert first.provider == DEMO_LATE_START[0]
    assert first.detail.lateness and first.detail.lateness >= CLINIC.thresholds.cascade_minutes
    assert at >= CLINIC.local(day, CLINIC.session.opens)
    updates = [c for _, c in changes if isinstance(c, AlertUpdated) and c.alert == first.alert]
    cleared = [when for when, c in changes if isinstance(c, AlertCleared) and c.alert == first.alert]
    assert updates, "the cascade was never updated as it moved"
    assert cleared and cleared[0] > at, "the cascade did not clear once the provider caught up"
    assert cleared[0] - demo_start(CLINIC, day) <= FIRST_MINUTES


def test_the_demo_day_is_the_generated_day_with_one_provider_held_up_at_the_start() -> None:
    day = dt.date(2026, 1, 14)
    opens = CLINIC.local(day, CLINIC.session.opens)
    provider, minutes = DEMO_LATE_START
    assert demo_absences(CLINIC, day) == {provider: [(opens, opens + dt.timedelta(minutes=minutes))]}
    assert demo_start(CLINIC, day) == opens - dt.timedelta(minutes=15)
    # A clinic without that provider plays the generated day as it is.
    other = msgspec.structs.replace(CLINIC, providers=[p for p in CLINIC.providers if p.id != provider])
    assert demo_absences(other, day) == {}
