"""A step tapped late: the tapper says it happened some minutes ago, and the visit's times, its room, the
measures and the projection hold when it happened; the event keeps when it was tapped. Nothing can be placed
before the visit's last step, before its room was free, or on another day."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from floor.config import demo_clinic
from floor.core.access import Role
from floor.core.commands import BookVisit, Command, MarkRoom, TakeStep, Tap, UndoStep
from floor.core.errors import Refusal, Why
from floor.core.events import Event
from floor.core.floor import MAX_MINUTES_AGO, Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.measures import measure
from floor.core.projection import project
from floor.core.rooms import RoomAction
from tests.support.floors import snapshot

CLINIC = demo_clinic()
DAY = dt.date(2025, 3, 12)
T0 = dt.datetime(2025, 3, 12, 8, 50, tzinfo=CLINIC.tz)
DESK, MA, PROVIDER = Role.front_desk, Role.medical_assistant, Role.provider


class Day:
    def __init__(self) -> None:
        self.floor = Floor(CLINIC, DAY, ids=Ids.seeded())
        self.now = T0
        self.events: list[Event] = []

    def at(self, hhmm: str) -> dt.datetime:
        h, m = map(int, hhmm.split(":"))
        return dt.datetime(2025, 3, 12, h, m, tzinfo=CLINIC.tz)

    def tap(self, hhmm: str, command: Command, role: Role = MA) -> Event:
        self.now = self.at(hhmm)
        event = self.floor.decide(command, Tap("ana", "tablet-1", self.now, role))
        self.floor.apply(event)
        self.events.append(event)
        return event

    def refused(self, hhmm: str, command: Command, role: Role = MA) -> Refusal:
        before = snapshot(self.floor)
        with pytest.raises(Refusal) as e:
            self.floor.decide(command, Tap("ana", "tablet-1", self.at(hhmm), role))
        assert e.value.why is Why.invalid and e.value.field == "minutes_ago", e.value.message
        assert snapshot(self.floor) == before
        return e.value


def _roomed(day: Day, *, late_by: int = 0) -> str:
    """A 9:00 follow-up with kim: arrived 8:52, roomed in e1 at 8:58, prepped 9:04."""
    visit = day.tap("08:50", BookVisit("Pat Doe", "kim", "follow", start=day.at("09:00")), DESK).change.visit
    day.tap("08:52", TakeStep(visit, Stage.arrived), DESK)
    day.tap("08:58", TakeStep(visit, Stage.roomed, room="e1"))
    day.tap("09:04", TakeStep(visit, Stage.prep_done))
    return visit


def test_a_provider_in_tapped_six_minutes_late_holds_when_it_happened() -> None:
    on_time, late = Day(), Day()
    a, b = _roomed(on_time), _roomed(late)
    on_time.tap("09:06", TakeStep(a, Stage.provider_in), PROVIDER)
    event = late.tap("09:12", TakeStep(b, Stage.provider_in, minutes_ago=6), PROVIDER)
    # The event is when it was tapped; the step, when it happened.
    assert event.at == late.at("09:12") and event.change.happened == late.at("09:06")
    assert late.floor.visits[b].times[Stage.provider_in] == late.at("09:06")
    assert late.floor.visits[b].steps[-1].at == late.at("09:06")
    # The measures and the projection at 9:15 are the ones of the day tapped on time.
    now = late.at("09:15")
    assert measure(late.floor, now).clinic.arrival_to_provider == measure(on_time.floor, now).clinic.arrival_to_provider
    assert project(late.floor, "kim", now) == project(on_time.floor, "kim", now)
    # Without saying so, the same tap makes the visit six minutes later than it was.
    unsaid = Day()
    c = _roomed(unsaid)
    unsaid.tap("09:12", TakeStep(c, Stage.provider_in), PROVIDER)
    assert unsaid.floor.visits[c].times[Stage.provider_in] - late.floor.visits[b].times[Stage.provider_in] == (
        dt.timedelta(minutes=6)
    )


def test_the_room_is_taken_and_freed_when_it_happened() -> None:
    day = Day()
    visit = day.tap("08:50", BookVisit("Pat Doe", "kim", "follow", start=day.at("09:00")), DESK).change.visit
    day.tap("08:52", TakeStep(visit, Stage.arrived), DESK)
    day.tap("09:01", TakeStep(visit, Stage.roomed, room="e1", minutes_ago=3))
    assert day.floor.rooms["e1"].since == day.at("08:58")
    day.tap("09:04", TakeStep(visit, Stage.prep_done))
    day.tap("09:06", TakeStep(visit, Stage.provider_in), PROVIDER)
    day.tap("09:30", TakeStep(visit, Stage.checked_out, minutes_ago=4), DESK)
    assert day.floor.rooms["e1"].since == day.at("09:26")


def test_the_happened_time_survives_the_log_and_an_undo() -> None:
    day = Day()
    visit = _roomed(day)
    day.tap("09:12", TakeStep(visit, Stage.provider_in, minutes_ago=6), PROVIDER)
    stored = msgspec.json.decode(msgspec.json.encode(day.events), type=list[Event])
    again = Floor.fold(CLINIC, DAY, 0, stored)
    assert again.visits[visit].times[Stage.provider_in] == day.at("09:06")
    day.tap("09:13", UndoStep(visit), PROVIDER)
    assert Stage.provider_in not in day.floor.visits[visit].times
    assert day.floor.visits[visit].stage is Stage.prep_done


@pytest.mark.parametrize("minutes", [-1, MAX_MINUTES_AGO + 1, 10_000])
def test_minutes_out_of_range_are_refused_naming_the_field(minutes: int) -> None:
    day = Day()
    visit = _roomed(day)
    refusal = day.refused("09:12", TakeStep(visit, Stage.provider_in, minutes_ago=minutes), PROVIDER)
    assert str(MAX_MINUTES_AGO) in refusal.message


def test_a_step_cannot_have_happened_before_the_visits_last_step() -> None:
    day = Day()
    visit = _roomed(day)  # prepped at 9:04
    refusal = day.refused("09:10", TakeStep(visit, Stage.provider_in, minutes_ago=7), PROVIDER)
    assert "09:04" in refusal.message
    # Exactly at the last step is allowed.
    day.tap("09:10", TakeStep(visit, Stage.provider_in, minutes_ago=6), PROVIDER)


def test_a_patient_who_came_before_their_visit_was_booked_arrived_when_they_came() -> None:
    """An add-on booked at 9:05 for a patient in the waiting room since 8:55: the booking is not a step of the
    visit, so the arrival can be placed before it (still today, still within the minutes a tap may say)."""
    day = Day()
    visit = day.tap("09:05", BookVisit("Pat Doe", "kim", "follow", start=day.at("09:15")), DESK).change.visit
    day.tap("09:06", TakeStep(visit, Stage.arrived, minutes_ago=11), DESK)
    assert day.floor.visits[visit].times[Stage.arrived] == day.at("08:55")
    assert day.floor.visits[visit].times[Stage.scheduled] == day.at("09:05")  # booked when it was
    # The arrival is a step: what follows it is not before it.
    assert "08:55" in day.refused("09:07", TakeStep(visit, Stage.roomed, room="e1", minutes_ago=13)).message


def test_nothing_of_a_walk_in_booked_late_is_before_they_came() -> None:
    """A walk-in's booking is their arrival, when they came: a step like any other for what follows."""
    day = Day()
    visit = day.tap("09:30", BookVisit("Walk In", "kim", "follow", walk_in=True, minutes_ago=12), DESK).change.visit
    assert "09:18" in day.refused("09:32", TakeStep(visit, Stage.roomed, room="e1", minutes_ago=15)).message
    day.tap("09:32", TakeStep(visit, Stage.roomed, room="e1", minutes_ago=14))
    assert day.floor.visits[visit].times[Stage.roomed] == day.at("09:18")


def test_a_patient_cannot_have_been_roomed_before_the_room_was_free() -> None:
    day = Day()
    first = _roomed(day)
    second = day.tap("09:05", BookVisit("Sam Roe", "kim", "follow", start=day.at("09:20")), DESK).change.visit
    day.tap("09:06", TakeStep(first, Stage.provider_in), PROVIDER)
    day.tap("09:10", TakeStep(second, Stage.arrived), DESK)
    day.tap("09:20", TakeStep(first, Stage.checked_out), DESK)
    day.tap("09:24", MarkRoom("e1", RoomAction.ready))
    refusal = day.refused("09:30", TakeStep(second, Stage.roomed, room="e1", minutes_ago=10))
    assert "09:24" in refusal.message
    day.tap("09:30", TakeStep(second, Stage.roomed, room="e1", minutes_ago=5))
    assert day.floor.visits[second].times[Stage.roomed] == day.at("09:25")


def test_a_step_cannot_have_happened_yesterday() -> None:
    day = Day()
    visit = day.tap("00:05", BookVisit("Pat Doe", "kim", "follow", start=day.at("09:00")), DESK).change.visit
    assert "today" in day.refused("00:10", TakeStep(visit, Stage.no_show, minutes_ago=20), DESK).message


def test_a_walk_in_booked_late_arrived_and_queues_when_they_came() -> None:
    """The desk adds a walk-in 12 minutes after they came: their arrival, the wait the measures count and their
    place among the patients waiting are from 9:18, not 9:30; the event keeps when it was tapped, and the log
    folds to the same."""
    day = Day()
    booked = day.tap("09:30", BookVisit("Walk In", "kim", "follow", walk_in=True, minutes_ago=12), DESK)
    assert booked.at == day.at("09:30") and booked.change.happened == day.at("09:18")
    visit = day.floor.visits[booked.change.visit]
    assert visit.start == visit.times[Stage.arrived] == day.at("09:18")
    day.tap("09:32", TakeStep(visit.id, Stage.roomed, room="e1"))
    assert measure(day.floor, day.at("09:40")).clinic.arrival_to_roomed.median == 14
    stored = msgspec.json.decode(msgspec.json.encode(day.events), type=list[Event])
    assert snapshot(Floor.fold(CLINIC, DAY, 0, stored)) == snapshot(day.floor)
    # As tapped, a walk-in is here from the tap, as before.
    now = day.tap("09:33", BookVisit("Walk Two", "kim", "follow", walk_in=True), DESK)
    assert now.change.happened is None and day.floor.visits[now.change.visit].times[Stage.arrived] == day.at("09:33")


@pytest.mark.parametrize("minutes", [-1, MAX_MINUTES_AGO + 1])
def test_a_walk_in_booked_late_says_minutes_in_range_and_a_scheduled_visit_none(minutes: int) -> None:
    day = Day()
    walk_in = BookVisit("Walk In", "kim", "follow", walk_in=True, minutes_ago=minutes)
    assert str(MAX_MINUTES_AGO) in day.refused("09:30", walk_in, DESK).message
    scheduled = BookVisit("Pat Doe", "kim", "follow", start=day.at("10:00"), minutes_ago=5)
    assert "walk-in" in day.refused("09:30", scheduled, DESK).message
    assert (
        "today" in day.refused("00:10", BookVisit("Early", "kim", "follow", walk_in=True, minutes_ago=20), DESK).message
    )
