"""Fixing mistakes later in the day: who may undo what (whoever made the step, or a manager), a walk-in booked
by mistake taken off the floor, and a room mark undone. The rules live in the core; the edges only ask."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from floor.config import demo_clinic
from floor.core.access import Role
from floor.core.commands import BookVisit, Command, MarkRoom, TakeStep, Tap, UndoRoomMark, UndoStep
from floor.core.errors import Refusal, Why
from floor.core.events import Event, RoomMarkUndone, WalkInRemoved
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.measures import measure
from floor.core.rooms import RoomAction, RoomState
from tests.support.floors import snapshot

CLINIC = demo_clinic()
DAY = dt.date(2025, 3, 12)
OPENS = dt.datetime(2025, 3, 12, 8, 0, tzinfo=CLINIC.tz)
DESK, MA, PROVIDER, MANAGER = Role.front_desk, Role.medical_assistant, Role.provider, Role.manager


class Day:
    """A floor, its log, and a clock the test moves."""

    def __init__(self) -> None:
        self.floor = Floor(CLINIC, DAY, ids=Ids.seeded())
        self.now = OPENS
        self.events: list[Event] = []

    def tap(self, command: Command, who: str, role: Role, *, minutes: float = 1) -> Event:
        self.now += dt.timedelta(minutes=minutes)
        event = self.floor.decide(command, Tap(who, f"{who}-tablet", self.now, role))
        self.floor.apply(event)
        self.events.append(event)
        return event

    def refused(self, command: Command, who: str, role: Role, why: Why) -> Refusal:
        before = snapshot(self.floor)
        with pytest.raises(Refusal) as e:
            self.floor.decide(command, Tap(who, f"{who}-tablet", self.now, role))
        assert e.value.why is why, e.value.message
        assert snapshot(self.floor) == before
        return e.value


@pytest.fixture
def day() -> Day:
    return Day()


def _booked(day: Day) -> str:
    start = dt.datetime(2025, 3, 12, 9, 0, tzinfo=CLINIC.tz)
    return day.tap(BookVisit("Pat Doe", "kim", "follow", start=start), "ana", DESK).change.visit


def test_a_no_show_is_undone_twenty_minutes_later_by_who_tapped_it(day: Day) -> None:
    visit = _booked(day)
    day.tap(TakeStep(visit, Stage.no_show), "ana", DESK)
    day.now += dt.timedelta(minutes=20)
    undo = day.tap(UndoStep(visit, day.floor.visits[visit].version), "ana", DESK)
    assert day.floor.visits[visit].stage is Stage.scheduled
    assert undo.at - day.events[-2].at == dt.timedelta(minutes=21)


def test_someone_else_in_the_role_may_not_undo_but_a_manager_may(day: Day) -> None:
    visit = _booked(day)
    day.tap(TakeStep(visit, Stage.no_show), "ana", DESK)
    refusal = day.refused(UndoStep(visit), "bo", DESK, Why.forbidden)
    assert "ana" in refusal.message and refusal.visit == visit
    day.refused(UndoStep(visit), "kim", PROVIDER, Why.forbidden)
    day.tap(UndoStep(visit), "meg", MANAGER)
    assert day.floor.visits[visit].stage is Stage.scheduled


def test_a_walk_in_booked_by_mistake_is_taken_off_the_floor_and_out_of_the_measures(day: Day) -> None:
    walk_in = day.tap(BookVisit("Wally Walker", "okafor", "new", walk_in=True), "ana", DESK)
    visit = walk_in.change.visit
    assert day.floor.visits[visit].booked_by == "ana"
    removed = day.tap(UndoStep(visit, 1), "ana", DESK, minutes=30)
    assert removed.change == WalkInRemoved(visit, walk_in.seq) and removed.type == "walk_in_removed"
    gone = day.floor.visits[visit]
    assert (gone.stage, gone.entered_in_error, gone.version) == (Stage.cancelled, True, 2)
    assert measure(day.floor, day.now).clinic.booked == 0
    day.refused(UndoStep(visit), "ana", DESK, Why.nothing_to_undo)
    day.refused(TakeStep(visit, Stage.roomed, "e1"), "mo", MA, Why.illegal_step)


def test_only_who_booked_the_walk_in_or_a_manager_takes_it_off(day: Day) -> None:
    visit = day.tap(BookVisit("Wally Walker", "okafor", "new", walk_in=True), "ana", DESK).change.visit
    day.refused(UndoStep(visit), "bo", DESK, Why.forbidden)
    day.tap(UndoStep(visit), "meg", MANAGER)
    assert day.floor.visits[visit].stage is Stage.cancelled


def test_a_scheduled_visit_is_not_taken_off_by_undo(day: Day) -> None:
    visit = _booked(day)
    day.refused(UndoStep(visit), "ana", DESK, Why.nothing_to_undo)


def test_a_walk_in_already_roomed_undoes_the_rooming_first(day: Day) -> None:
    visit = day.tap(BookVisit("Wally Walker", "okafor", "new", walk_in=True), "ana", DESK).change.visit
    day.tap(TakeStep(visit, Stage.roomed, "e1"), "mo", MA)
    day.tap(UndoStep(visit), "mo", MA)
    assert day.floor.visits[visit].stage is Stage.arrived
    day.refused(UndoStep(visit), "mo", MA, Why.forbidden)  # the booking was ana's
    day.tap(UndoStep(visit), "ana", DESK)
    assert day.floor.visits[visit].stage is Stage.cancelled


def test_a_room_block_is_undone_by_who_marked_it_and_the_room_is_as_before(day: Day) -> None:
    before = msgspec.to_builtins(day.floor.rooms["e1"])
    day.tap(MarkRoom("e1", RoomAction.blocked, "leak"), "mo", MA)
    assert day.floor.rooms["e1"].state is RoomState.blocked
    day.refused(UndoRoomMark("e1"), "lu", MA, Why.forbidden)
    undo = day.tap(UndoRoomMark("e1", day.floor.rooms["e1"].version), "mo", MA, minutes=20)
    assert undo.change == RoomMarkUndone("e1", day.events[-2].seq, RoomAction.blocked, RoomState.ready)
    assert undo.type == "room_undo"
    room = day.floor.rooms["e1"]
    assert (room.state, room.since, room.visit, room.version) == (RoomState.ready, before["since"], None, 2)
    day.refused(UndoRoomMark("e1"), "mo", MA, Why.nothing_to_undo)  # one mark, one undo


def test_a_room_ready_mark_is_undone_back_to_turnover_since_the_patient_left(day: Day) -> None:
    visit = day.tap(BookVisit("Wally Walker", "okafor", "new", walk_in=True), "ana", DESK).change.visit
    day.tap(TakeStep(visit, Stage.roomed, "e1"), "mo", MA)
    left = day.tap(TakeStep(visit, Stage.left_without_being_seen), "mo", MA)
    day.tap(MarkRoom("e1", RoomAction.ready), "lu", MA)
    day.tap(UndoRoomMark("e1"), "meg", MANAGER)
    room = day.floor.rooms["e1"]
    assert (room.state, room.since) == (RoomState.turnover, left.at)


def test_an_undone_step_puts_its_room_back_as_it_was_since_included_and_an_old_log_folds_to_it(day: Day) -> None:
    """Undoing a rooming leaves the room ready since when it was ready before (not since the undo), as an undone
    room mark does; undoing a departure, occupied since the patient went in. Kept by the fold: the events are as
    a log of any age holds them."""
    first = day.tap(BookVisit("Wally Walker", "okafor", "new", walk_in=True), "ana", DESK).change.visit
    day.tap(TakeStep(first, Stage.roomed, "e1"), "mo", MA)
    left = day.tap(TakeStep(first, Stage.left_without_being_seen), "mo", MA)
    cleaned = day.tap(MarkRoom("e1", RoomAction.ready), "mo", MA)
    wrong = day.tap(BookVisit("Wrong Patient", "okafor", "new", walk_in=True), "ana", DESK).change.visit
    day.tap(TakeStep(wrong, Stage.roomed, "e1"), "mo", MA, minutes=10)
    day.tap(UndoStep(wrong), "mo", MA, minutes=2)
    room = day.floor.rooms["e1"]
    assert (room.state, room.since, room.visit) == (RoomState.ready, cleaned.at, None)
    right = day.tap(BookVisit("Right Patient", "okafor", "new", walk_in=True, minutes_ago=20), "ana", DESK)
    roomed = day.tap(TakeStep(right.change.visit, Stage.roomed, "e1"), "mo", MA)
    day.tap(TakeStep(right.change.visit, Stage.left_without_being_seen), "mo", MA, minutes=5)
    day.tap(UndoStep(right.change.visit), "mo", MA)
    assert (room.state, room.since, room.visit) == (RoomState.occupied, roomed.at, right.change.visit)
    assert left.at < cleaned.at
    stored = msgspec.json.decode(msgspec.json.encode(day.events), type=list[Event])
    assert all("room_since" not in msgspec.to_builtins(e.change) for e in stored)  # nothing new in the log
    assert snapshot(Floor.fold(CLINIC, DAY, 0, stored)) == snapshot(day.floor)


def test_a_room_mark_cannot_be_undone_once_a_patient_changed_the_room(day: Day) -> None:
    visit = day.tap(BookVisit("Wally Walker", "okafor", "new", walk_in=True), "ana", DESK).change.visit
    day.tap(MarkRoom("e1", RoomAction.blocked), "mo", MA)
    day.tap(MarkRoom("e1", RoomAction.unblocked), "mo", MA)
    day.tap(TakeStep(visit, Stage.roomed, "e1"), "mo", MA)
    day.refused(UndoRoomMark("e1"), "mo", MA, Why.nothing_to_undo)


def test_a_stale_room_undo_is_refused(day: Day) -> None:
    day.tap(MarkRoom("e1", RoomAction.blocked), "mo", MA)
    refusal = day.refused(UndoRoomMark("e1", expected_version=99), "mo", MA, Why.stale_version)
    assert refusal.detail["version"] == 1


def test_the_undos_fold_the_same_from_the_log(day: Day) -> None:
    visit = day.tap(BookVisit("Wally Walker", "okafor", "new", walk_in=True), "ana", DESK).change.visit
    day.tap(MarkRoom("e2", RoomAction.blocked), "mo", MA)
    day.tap(UndoRoomMark("e2"), "mo", MA)
    day.tap(UndoStep(visit), "ana", DESK)
    decoded = msgspec.json.decode(msgspec.json.encode(day.events), type=list[Event])
    assert snapshot(Floor.fold(CLINIC, DAY, 0, decoded)) == snapshot(day.floor)


def test_a_log_from_before_bookings_were_undone_still_loads() -> None:
    old = (
        b'{"seq":1,"at":"2025-03-12T08:01:00-05:00","day":"2025-03-12","actor":"ana","device":"d","version":1,'
        b'"change":{"type":"visit_booked","visit":"v1","patient_name":"A","provider":"kim","visit_type":"new",'
        b'"start":"2025-03-12T08:01:00-05:00","walk_in":true}}'
    )
    event = msgspec.json.decode(old, type=Event)
    floor = Floor.fold(CLINIC, DAY, 0, [event])
    assert floor.visits["v1"].booked_by == "ana" and floor.rooms["e1"].last_mark is None
