"""The journey rules of the pure floor core, one test per rule.

Every refusal is checked to leave the floor exactly as it was; every accepted tap is decided and then applied,
the way the runtime does it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import msgspec
import pytest

from floor.config import demo_clinic
from floor.core.access import Role
from floor.core.commands import BookVisit, Command, MarkRoom, TakeStep, Tap, UndoStep
from floor.core.errors import Refusal, Why
from floor.core.events import Event, RoomMarked, StepTaken, StepUndone, VisitBooked
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import ENDS, IN_ROOM, NEXT, PATH, STEPS, Stage
from floor.core.rooms import RoomAction, RoomState
from tests.support.floors import snapshot

CLINIC = demo_clinic()
TZ = CLINIC.tz
DAY = dt.date(2025, 3, 12)
OPENS = dt.datetime(2025, 3, 12, 8, 0, tzinfo=TZ)
ROOM_IDS = [r.id for r in CLINIC.rooms]


class Desk:
    """A floor with a clock that moves a minute per tap; every tap is decided, then applied."""

    def __init__(self) -> None:
        self.floor = Floor(CLINIC, DAY, ids=Ids.seeded())
        self.now = OPENS
        self.events: list[Event] = []

    def tap(self, command: Command, *, minutes: float = 1, actor: str = "ana", device: str = "desk-1") -> Event:
        self.now += dt.timedelta(minutes=minutes)
        seq = self.floor.seq
        event = self.floor.decide(command, Tap(actor, device, self.now))
        assert event.seq == seq + 1
        assert self.floor.seq == seq, "decide must not move the floor"
        self.floor.apply(event)
        self.events.append(event)
        return event

    def refused(self, command: Command, why: Why) -> Refusal:
        before = snapshot(self.floor)
        with pytest.raises(Refusal) as e:
            self.floor.decide(command, Tap("ana", "desk-1", self.now + dt.timedelta(minutes=1)))
        assert e.value.why is why, e.value.message
        assert snapshot(self.floor) == before, "a refusal changed the floor"
        return e.value

    def book(self, provider: str = "kim", visit_type: str = "follow", *, hour: int = 9) -> str:
        start = dt.datetime(2025, 3, 12, hour, 0, tzinfo=TZ)
        return self.tap(BookVisit("Pat Doe", provider, visit_type, start=start)).change.visit

    def walk_in(self) -> str:
        return self.tap(BookVisit("Wally Walker", "okafor", "new", walk_in=True)).change.visit

    def step(self, visit: str, step: Stage, room: str | None = None, expected_version: int | None = None) -> Event:
        return self.tap(TakeStep(visit, step, room, expected_version))

    def undo(self, visit: str, expected_version: int | None = None) -> Event:
        return self.tap(UndoStep(visit, expected_version))

    def mark(self, room: str, action: RoomAction) -> Event:
        return self.tap(MarkRoom(room, action))

    def visit_at(self, stage: Stage, room: str = "e1") -> str:
        """A new visit brought to `stage` the shortest legal way (rooming it in `room` if needed)."""
        visit = self.book()
        if stage is Stage.scheduled:
            return visit
        if stage in (Stage.no_show, Stage.cancelled):
            self.step(visit, stage)
            return visit
        if stage is Stage.left_without_being_seen:
            self.step(visit, Stage.arrived)
            self.step(visit, stage)
            return visit
        for s in PATH[1 : PATH.index(stage) + 1]:
            self.step(visit, s, room if s is Stage.roomed else None)
        return visit

    def visit(self, visit: str):
        return self.floor.visits[visit]

    def room(self, room: str):
        return self.floor.rooms[room]


@pytest.fixture
def desk() -> Desk:
    return Desk()


# -- the journey order --------------------------------------------------------------------------------------


def test_happy_path_goes_through_every_stage_in_order(desk: Desk) -> None:
    visit = desk.book()
    assert desk.visit(visit).stage is Stage.scheduled
    for step in PATH[1:]:
        event = desk.step(visit, step, "e3" if step is Stage.roomed else None)
        assert isinstance(event.change, StepTaken)
        assert event.change.step is step
        assert desk.visit(visit).stage is step
    assert list(desk.visit(visit).times) == list(PATH)
    assert [s.step for s in desk.visit(visit).steps] == list(PATH[1:])


@pytest.mark.parametrize("stage", list(Stage))
def test_every_out_of_order_step_is_refused_naming_the_stage_and_the_allowed_steps(desk: Desk, stage: Stage) -> None:
    visit = desk.visit_at(stage)
    for step in STEPS:
        if step in NEXT[stage]:
            continue
        refusal = desk.refused(TakeStep(visit, step, "e2" if step is Stage.roomed else None), Why.illegal_step)
        assert refusal.visit == visit
        assert refusal.detail == {"stage": stage.value, "allowed": [s.value for s in NEXT[stage]]}
        assert stage.value.replace("_", " ") in refusal.message
        assert step.value.replace("_", " ") in refusal.message


def test_a_skipped_stage_is_refused_with_the_allowed_steps_spelled_out(desk: Desk) -> None:
    visit = desk.book()
    refusal = desk.refused(TakeStep(visit, Stage.roomed, "e1"), Why.illegal_step)
    assert refusal.detail == {"stage": "scheduled", "allowed": ["arrived", "no_show", "cancelled"]}
    assert "arrived or no show or cancelled" in refusal.message
    desk.step(visit, Stage.arrived)
    refusal = desk.refused(TakeStep(visit, Stage.provider_in), Why.illegal_step)
    assert refusal.detail == {"stage": "arrived", "allowed": ["roomed", "left_without_being_seen"]}


def test_no_step_can_be_taken_to_scheduled(desk: Desk) -> None:
    visit = desk.visit_at(Stage.arrived)
    desk.refused(TakeStep(visit, Stage.scheduled), Why.illegal_step)


@pytest.mark.parametrize("end", [Stage.no_show, Stage.cancelled])
def test_no_show_and_cancelled_are_taken_from_scheduled(desk: Desk, end: Stage) -> None:
    visit = desk.book()
    event = desk.step(visit, end)
    assert event.change.previous is Stage.scheduled
    assert event.change.room is None
    assert desk.visit(visit).stage is end


@pytest.mark.parametrize("end", [Stage.no_show, Stage.cancelled])
@pytest.mark.parametrize("stage", [s for s in PATH if s is not Stage.scheduled])
def test_no_show_and_cancelled_are_refused_once_the_patient_is_here(desk: Desk, stage: Stage, end: Stage) -> None:
    visit = desk.visit_at(stage)
    desk.refused(TakeStep(visit, end), Why.illegal_step)


@pytest.mark.parametrize("stage", [Stage.arrived, Stage.roomed, Stage.prep_done])
def test_left_without_being_seen_is_allowed_before_the_provider_comes_in(desk: Desk, stage: Stage) -> None:
    visit = desk.visit_at(stage)
    desk.step(visit, Stage.left_without_being_seen)
    assert desk.visit(visit).stage is Stage.left_without_being_seen
    assert desk.visit(visit).room is None


@pytest.mark.parametrize("stage", [Stage.scheduled, Stage.provider_in, Stage.teach_back_done, *sorted(ENDS)])
def test_left_without_being_seen_is_refused_before_arrival_and_once_seen(desk: Desk, stage: Stage) -> None:
    visit = desk.visit_at(stage)
    desk.refused(TakeStep(visit, Stage.left_without_being_seen), Why.illegal_step)


@pytest.mark.parametrize("end", sorted(ENDS))
def test_ends_are_terminal(desk: Desk, end: Stage) -> None:
    visit = desk.visit_at(end)
    assert NEXT[end] == ()
    for step in STEPS:
        refusal = desk.refused(TakeStep(visit, step, "e4" if step is Stage.roomed else None), Why.illegal_step)
        assert refusal.detail["allowed"] == []
        assert "the visit is over" in refusal.message


def test_unknown_visit_is_not_found(desk: Desk) -> None:
    refusal = desk.refused(TakeStep("v999", Stage.arrived), Why.not_found)
    assert refusal.visit == "v999"
    desk.refused(UndoStep("v999"), Why.not_found)


# -- rooming ------------------------------------------------------------------------------------------------


def test_rooming_needs_a_room(desk: Desk) -> None:
    visit = desk.visit_at(Stage.arrived)
    refusal = desk.refused(TakeStep(visit, Stage.roomed), Why.invalid)
    assert refusal.field == "room"


def test_rooming_needs_a_room_of_this_clinic(desk: Desk) -> None:
    visit = desk.visit_at(Stage.arrived)
    refusal = desk.refused(TakeStep(visit, Stage.roomed, "z9"), Why.invalid)
    assert refusal.field == "room"
    assert "z9" in refusal.message


@pytest.mark.parametrize("state", [RoomState.occupied, RoomState.turnover, RoomState.blocked])
def test_rooming_needs_a_ready_room_and_lists_the_ready_ones(desk: Desk, state: RoomState) -> None:
    desk.visit_at(Stage.roomed, room="w1")  # w1 occupied by someone else throughout
    if state is RoomState.occupied:
        desk.visit_at(Stage.roomed, room="e1")
    elif state is RoomState.turnover:
        desk.visit_at(Stage.checked_out, room="e1")
    else:
        desk.mark("e1", RoomAction.blocked)
    assert desk.room("e1").state is state
    visit = desk.visit_at(Stage.arrived)
    refusal = desk.refused(TakeStep(visit, Stage.roomed, "e1"), Why.room_unavailable)
    assert refusal.detail["room"] == "e1"
    assert refusal.detail["room_state"] == state.value
    assert refusal.detail["ready_rooms"] == [r for r in ROOM_IDS if r not in ("e1", "w1")]


def test_rooming_occupies_the_room_with_the_visit(desk: Desk) -> None:
    visit = desk.visit_at(Stage.arrived)
    version = desk.room("e2").version
    event = desk.step(visit, Stage.roomed, "e2")
    assert event.change.room == "e2"
    assert event.change.previous is Stage.arrived
    room = desk.room("e2")
    assert (room.state, room.visit, room.since, room.version) == (RoomState.occupied, visit, event.at, version + 1)
    assert desk.visit(visit).room == "e2"


@pytest.mark.parametrize("step", [Stage.arrived, Stage.no_show, Stage.cancelled])
def test_a_room_given_with_a_step_that_is_not_rooming_is_refused(desk: Desk, step: Stage) -> None:
    visit = desk.book()
    refusal = desk.refused(TakeStep(visit, step, "e1"), Why.invalid)
    assert refusal.field == "room"


def test_a_room_given_with_a_later_step_is_refused_even_if_it_is_the_visits_room(desk: Desk) -> None:
    visit = desk.visit_at(Stage.roomed, room="e1")
    refusal = desk.refused(TakeStep(visit, Stage.prep_done, "e1"), Why.invalid)
    assert refusal.field == "room"


def test_the_visit_keeps_its_room_through_prep_provider_and_teach_back(desk: Desk) -> None:
    visit = desk.visit_at(Stage.roomed, room="w2")
    for step in (Stage.prep_done, Stage.provider_in, Stage.teach_back_done):
        event = desk.step(visit, step)
        assert event.change.room is None
        assert desk.visit(visit).room == "w2"
        assert (desk.room("w2").state, desk.room("w2").visit) == (RoomState.occupied, visit)


# -- room turnover and marks --------------------------------------------------------------------------------


def test_checking_out_puts_the_room_into_turnover(desk: Desk) -> None:
    visit = desk.visit_at(Stage.teach_back_done, room="e3")
    event = desk.step(visit, Stage.checked_out)
    assert event.change.room == "e3"
    assert (desk.room("e3").state, desk.room("e3").visit, desk.room("e3").since) == (RoomState.turnover, None, event.at)
    assert desk.visit(visit).room is None


def test_leaving_unseen_from_a_room_puts_it_into_turnover(desk: Desk) -> None:
    visit = desk.visit_at(Stage.prep_done, room="w5")
    event = desk.step(visit, Stage.left_without_being_seen)
    assert event.change.room == "w5"
    assert desk.room("w5").state is RoomState.turnover
    assert desk.room("w5").visit is None
    assert desk.visit(visit).room is None


def test_leaving_unseen_from_the_waiting_room_touches_no_room(desk: Desk) -> None:
    visit = desk.visit_at(Stage.arrived)
    rooms = msgspec.to_builtins(desk.floor.rooms)
    event = desk.step(visit, Stage.left_without_being_seen)
    assert event.change.room is None
    assert msgspec.to_builtins(desk.floor.rooms) == rooms


def test_marking_a_turnover_room_ready_makes_it_ready_again(desk: Desk) -> None:
    desk.visit_at(Stage.checked_out, room="e1")
    event = desk.mark("e1", RoomAction.ready)
    assert isinstance(event.change, RoomMarked)
    assert (desk.room("e1").state, desk.room("e1").since) == (RoomState.ready, event.at)
    assert desk.step(desk.visit_at(Stage.arrived), Stage.roomed, "e1").change.room == "e1"


@pytest.mark.parametrize("state", [RoomState.ready, RoomState.turnover])
def test_a_ready_or_turnover_room_can_be_blocked(desk: Desk, state: RoomState) -> None:
    if state is RoomState.turnover:
        desk.visit_at(Stage.checked_out, room="e1")
    assert desk.room("e1").state is state
    desk.tap(MarkRoom("e1", RoomAction.blocked, reason="leak"))
    assert desk.room("e1").state is RoomState.blocked


def test_a_blocked_room_keeps_its_reason_until_it_is_unblocked(desk: Desk) -> None:
    desk.tap(MarkRoom("e1", RoomAction.blocked, reason="Sink leaking"))
    assert (desk.room("e1").state, desk.room("e1").reason) == (RoomState.blocked, "Sink leaking")
    desk.tap(MarkRoom("e1", RoomAction.unblocked))
    assert (desk.room("e1").state, desk.room("e1").reason) == (RoomState.ready, None)
    desk.tap(MarkRoom("e1", RoomAction.blocked))  # no reason given: none shown
    assert desk.room("e1").reason is None


@pytest.mark.parametrize("reason", ["leak\u202egnik", "\x1b[31mleak", "\u200b", "sink\nleaking"])
def test_a_block_reason_the_wall_would_show_garbled_is_refused_naming_the_field(desk: Desk, reason: str) -> None:
    refusal = desk.refused(MarkRoom("e1", RoomAction.blocked, reason=reason), Why.invalid)
    assert refusal.field == "reason"
    assert desk.room("e1").state is RoomState.ready


@pytest.mark.parametrize(
    "reason",
    [
        "Held for Ann Lee (isolation)",
        "held for ANN LEE",
        "Lee, Ann: isolation",
        "for ann  lee",
        "Reserved: José Núñez-Ortiz",
        "Jose Nunez Ortiz",
        "Núñez-Ortiz, José",
        "NunezOrtiz Jose",
    ],
)
def test_a_block_reason_naming_a_patient_of_the_day_is_refused_naming_the_field(desk: Desk, reason: str) -> None:
    """The wall shows the reason to everyone in the hallway: a whole name of the day's patients, however written."""
    desk.tap(BookVisit("Ann Lee", "kim", "follow", walk_in=True))
    desk.tap(BookVisit("José Núñez-Ortiz", "okafor", "new", walk_in=True))
    refusal = desk.refused(MarkRoom("e1", RoomAction.blocked, reason=reason), Why.invalid)
    assert refusal.field == "reason"
    assert "Ann" not in refusal.message and "Ortiz" not in refusal.message, "said without the name"


@pytest.mark.parametrize("reason", ["Lee", "Ann's desk moved", "Annlee", "Lee Park hall", "Sink leaking", "Ortiz"])
def test_a_block_reason_with_only_a_part_of_a_name_is_taken(desk: Desk, reason: str) -> None:
    """A first or family name alone is an ordinary word as often as a name: refusing it would refuse those."""
    desk.tap(BookVisit("Ann Lee", "kim", "follow", walk_in=True))
    desk.tap(BookVisit("José Núñez-Ortiz", "okafor", "new", walk_in=True))
    desk.tap(MarkRoom("e1", RoomAction.blocked, reason=reason))
    assert desk.room("e1").reason == reason


def test_a_reason_naming_a_patient_stored_before_the_rule_still_folds(desk: Desk) -> None:
    """The rule is the decision's: a log written before it loads as it was."""
    desk.tap(BookVisit("Ann Lee", "kim", "follow", walk_in=True))
    stored = Event(
        desk.floor.seq + 1, desk.now, DAY, "ana", "desk-1", 1, RoomMarked("e1", RoomAction.blocked, "Ann Lee")
    )
    desk.floor.apply(stored)
    assert (desk.room("e1").state, desk.room("e1").reason) == (RoomState.blocked, "Ann Lee")


def test_an_occupied_room_cannot_be_blocked_or_marked(desk: Desk) -> None:
    desk.visit_at(Stage.roomed, room="e1")
    for action in RoomAction:
        refusal = desk.refused(MarkRoom("e1", action), Why.illegal_step)
        assert refusal.detail == {"room": "e1", "room_state": "occupied", "allowed": []}


@pytest.mark.parametrize("state", [RoomState.ready, RoomState.turnover, RoomState.occupied])
def test_unblocking_is_only_for_blocked_rooms(desk: Desk, state: RoomState) -> None:
    if state is RoomState.turnover:
        desk.visit_at(Stage.checked_out, room="e1")
    elif state is RoomState.occupied:
        desk.visit_at(Stage.roomed, room="e1")
    assert desk.room("e1").state is state
    desk.refused(MarkRoom("e1", RoomAction.unblocked), Why.illegal_step)


def test_unblocking_a_blocked_room_makes_it_ready(desk: Desk) -> None:
    desk.mark("e1", RoomAction.blocked)
    desk.refused(MarkRoom("e1", RoomAction.ready), Why.illegal_step)
    desk.refused(MarkRoom("e1", RoomAction.blocked), Why.illegal_step)
    desk.mark("e1", RoomAction.unblocked)
    assert desk.room("e1").state is RoomState.ready


def test_a_ready_room_cannot_be_marked_ready(desk: Desk) -> None:
    refusal = desk.refused(MarkRoom("e1", RoomAction.ready), Why.illegal_step)
    assert refusal.detail["allowed"] == ["blocked"]


def test_marking_an_unknown_room_is_not_found(desk: Desk) -> None:
    desk.refused(MarkRoom("z9", RoomAction.blocked), Why.not_found)


def test_a_room_mark_on_the_version_seen_is_taken_and_on_an_older_one_refused(desk: Desk) -> None:
    assert desk.room("e1").version == 0  # untouched today: a screen saw version 0
    desk.tap(MarkRoom("e1", RoomAction.blocked, expected_version=0))
    seen = desk.room("e1").version
    desk.tap(MarkRoom("e1", RoomAction.unblocked))  # another tablet, meanwhile
    refusal = desk.refused(MarkRoom("e1", RoomAction.unblocked, expected_version=seen), Why.stale_version)
    assert refusal.detail == {"room": "e1", "room_state": "ready", "version": desk.room("e1").version}
    desk.tap(MarkRoom("e1", RoomAction.blocked, expected_version=desk.room("e1").version))
    assert desk.room("e1").state is RoomState.blocked


@pytest.mark.parametrize("action", [RoomAction.ready, RoomAction.unblocked])
def test_a_reason_is_only_for_a_block(desk: Desk, action: RoomAction) -> None:
    if action is RoomAction.ready:
        desk.visit_at(Stage.checked_out, room="e1")
    else:
        desk.mark("e1", RoomAction.blocked)
    refusal = desk.refused(MarkRoom("e1", action, reason="cleaned"), Why.invalid)
    assert refusal.field == "reason"


# -- teach-back ---------------------------------------------------------------------------------------------


def test_checking_out_without_teach_back_is_allowed_and_recorded(desk: Desk) -> None:
    visit = desk.visit_at(Stage.provider_in)
    event = desk.step(visit, Stage.checked_out)
    assert event.change.without_teach_back is True
    assert desk.visit(visit).without_teach_back is True
    assert Stage.teach_back_done not in desk.visit(visit).times


def test_checking_out_after_teach_back_is_not_flagged(desk: Desk) -> None:
    visit = desk.visit_at(Stage.teach_back_done)
    event = desk.step(visit, Stage.checked_out)
    assert event.change.without_teach_back is False
    assert desk.visit(visit).without_teach_back is False


def test_undoing_a_checkout_without_teach_back_clears_the_flag(desk: Desk) -> None:
    visit = desk.visit_at(Stage.provider_in)
    desk.step(visit, Stage.checked_out)
    desk.undo(visit)
    assert desk.visit(visit).without_teach_back is False
    assert desk.visit(visit).stage is Stage.provider_in


# -- undo ---------------------------------------------------------------------------------------------------


def test_undo_is_its_own_event_naming_the_undone_one_which_stays(desk: Desk) -> None:
    visit = desk.visit_at(Stage.roomed)
    prep = desk.step(visit, Stage.prep_done)
    undo = desk.undo(visit)
    assert isinstance(undo.change, StepUndone)
    assert undo.seq == prep.seq + 1
    assert undo.change == StepUndone(visit, prep.seq, Stage.prep_done, Stage.roomed, None)
    assert prep in desk.events
    assert desk.visit(visit).stage is Stage.roomed
    assert Stage.prep_done not in desk.visit(visit).times
    assert [s.step for s in desk.visit(visit).steps] == [Stage.arrived, Stage.roomed]
    refolded = Floor.fold(CLINIC, DAY, 0, desk.events)
    assert snapshot(refolded) == snapshot(desk.floor)


def test_a_stale_undo_is_told_the_visit_moved_on_not_that_it_is_forbidden(desk: Desk) -> None:
    # Ana roomed the patient; before her undo arrives, Ben marks prep done. Her undo was for the rooming she
    # saw: she hears the visit changed (409), not that only Ben may undo prep (403).
    visit = desk.visit_at(Stage.arrived)
    roomed = desk.tap(TakeStep(visit, Stage.roomed, room="e1"), actor="ana")
    desk.tap(TakeStep(visit, Stage.prep_done), actor="ben")
    with pytest.raises(Refusal) as e:
        desk.floor.decide(
            UndoStep(visit, expected_version=roomed.version),
            Tap("ana", "tablet-2", desk.now, role=Role.medical_assistant),
        )
    assert e.value.why is Why.stale_version
    # Sent with the current version, the same undo is hers to make only if the step is hers.
    with pytest.raises(Refusal) as e:
        desk.floor.decide(
            UndoStep(visit, expected_version=desk.visit(visit).version),
            Tap("ana", "tablet-2", desk.now, role=Role.medical_assistant),
        )
    assert e.value.why is Why.forbidden


def test_undoing_rooming_frees_the_room_to_ready(desk: Desk) -> None:
    visit = desk.visit_at(Stage.roomed, room="w3")
    event = desk.undo(visit)
    assert event.change.room == "w3"
    assert event.change.stage is Stage.arrived
    assert (desk.room("w3").state, desk.room("w3").visit) == (RoomState.ready, None)
    assert desk.visit(visit).room is None
    assert desk.visit(visit).stage is Stage.arrived


@pytest.mark.parametrize("last", [Stage.checked_out, Stage.left_without_being_seen])
def test_undoing_a_step_that_left_a_room_puts_the_patient_back_in_it(desk: Desk, last: Stage) -> None:
    before = Stage.teach_back_done if last is Stage.checked_out else Stage.prep_done
    visit = desk.visit_at(before, room="e4")
    desk.step(visit, last)
    assert desk.room("e4").state is RoomState.turnover
    event = desk.undo(visit)
    assert (event.change.step, event.change.stage, event.change.room) == (last, before, "e4")
    assert (desk.room("e4").state, desk.room("e4").visit) == (RoomState.occupied, visit)
    assert desk.visit(visit).room == "e4"
    assert desk.visit(visit).stage is before


def test_undoing_a_checkout_works_after_the_room_was_cleaned(desk: Desk) -> None:
    visit = desk.visit_at(Stage.checked_out, room="e4")
    desk.mark("e4", RoomAction.ready)
    desk.undo(visit)
    assert (desk.room("e4").state, desk.room("e4").visit) == (RoomState.occupied, visit)


def test_undoing_a_checkout_is_refused_when_another_visit_took_the_room(desk: Desk) -> None:
    first = desk.visit_at(Stage.checked_out, room="e4")
    desk.mark("e4", RoomAction.ready)
    second = desk.visit_at(Stage.roomed, room="e4")
    refusal = desk.refused(UndoStep(first), Why.room_unavailable)
    assert refusal.visit == first
    assert refusal.detail == {"room": "e4", "room_state": "occupied"}
    assert desk.room("e4").visit == second


def test_undoing_a_checkout_is_refused_when_the_room_was_blocked(desk: Desk) -> None:
    visit = desk.visit_at(Stage.checked_out, room="e4")
    desk.mark("e4", RoomAction.blocked)
    desk.refused(UndoStep(visit), Why.room_unavailable)


def test_repeated_undo_walks_the_visit_back_to_scheduled(desk: Desk) -> None:
    visit = desk.visit_at(Stage.teach_back_done, room="e5")
    seqs = [s.seq for s in desk.visit(visit).steps]
    for expected_stage, undone_seq in zip(reversed(PATH[:-2]), reversed(seqs), strict=True):
        event = desk.undo(visit)
        assert event.change.undone_seq == undone_seq
        assert event.change.stage is expected_stage
        assert desk.visit(visit).stage is expected_stage
    assert desk.visit(visit).times.keys() == {Stage.scheduled}
    assert desk.room("e5").state is RoomState.ready
    desk.refused(UndoStep(visit), Why.nothing_to_undo)


def test_undo_then_redo_takes_the_step_again_at_the_new_time(desk: Desk) -> None:
    visit = desk.visit_at(Stage.roomed, room="e1")
    desk.undo(visit)
    event = desk.step(visit, Stage.roomed, "e2")
    assert desk.visit(visit).times[Stage.roomed] == event.at
    assert desk.room("e1").state is RoomState.ready
    assert desk.room("e2").visit == visit


def test_undo_with_no_steps_has_nothing_to_undo(desk: Desk) -> None:
    visit = desk.book()
    refusal = desk.refused(UndoStep(visit), Why.nothing_to_undo)
    assert refusal.detail == {"stage": "scheduled"}


def test_undoing_a_walk_ins_arrival_takes_it_off_the_floor_and_nothing_is_left_to_undo(desk: Desk) -> None:
    visit = desk.walk_in()
    desk.step(visit, Stage.roomed, "w1")
    desk.undo(visit)
    assert desk.visit(visit).stage is Stage.arrived
    desk.undo(visit)  # its booking: see tests/core/test_undo_mistakes.py
    assert desk.visit(visit).stage is Stage.cancelled and desk.visit(visit).entered_in_error
    desk.refused(UndoStep(visit), Why.nothing_to_undo)


# -- what events carry --------------------------------------------------------------------------------------


def test_events_carry_server_time_actor_device_day_and_gap_free_seq(desk: Desk) -> None:
    floor = desk.floor
    now = OPENS + dt.timedelta(minutes=5)
    commands: list[Callable[[], Command]] = [
        lambda: BookVisit("A", "kim", "new", walk_in=True),
        lambda: TakeStep(booked, Stage.roomed, "e1"),
        lambda: UndoStep(booked),
        lambda: MarkRoom("w1", RoomAction.blocked),
    ]
    booked = ""
    for i, command in enumerate(commands):
        tap = Tap(f"actor{i}", f"device{i}", now + dt.timedelta(minutes=i))
        assert floor.decide(command(), tap).seq == floor.seq + 1
        event = floor.decide(command(), tap)
        booked = booked or event.change.visit
        assert (event.seq, event.at, event.day, event.actor, event.device) == (
            i + 1,
            tap.now,
            DAY,
            tap.actor,
            tap.device,
        )
        floor.apply(event)
        assert floor.seq == i + 1
        assert floor.last_at == tap.now


def test_refusals_do_not_use_up_a_seq(desk: Desk) -> None:
    visit = desk.book()
    desk.refused(TakeStep(visit, Stage.roomed, "e1"), Why.illegal_step)
    desk.refused(MarkRoom("zz", RoomAction.blocked), Why.not_found)
    assert desk.step(visit, Stage.arrived).seq == 2
    assert [e.seq for e in desk.events] == [1, 2]


def test_visit_version_is_one_at_booking_and_grows_by_one_per_step_and_undo(desk: Desk) -> None:
    visit = desk.book()
    assert desk.events[-1].version == 1
    assert desk.visit(visit).version == 1
    events = [
        desk.step(visit, Stage.arrived),
        desk.step(visit, Stage.roomed, "e1"),
        desk.undo(visit),
        desk.step(visit, Stage.roomed, "e2"),
        desk.step(visit, Stage.prep_done),
    ]
    assert [e.version for e in events] == [2, 3, 4, 5, 6]
    assert desk.visit(visit).version == 6
    assert desk.walk_in() != visit
    assert desk.events[-1].version == 1


def test_room_marks_carry_the_rooms_new_version(desk: Desk) -> None:
    assert desk.room("e1").version == 0
    desk.visit_at(Stage.checked_out, room="e1")  # occupied, then turnover: two room changes
    assert desk.room("e1").version == 2
    event = desk.mark("e1", RoomAction.ready)
    assert event.version == 3 == desk.room("e1").version
    event = desk.mark("e1", RoomAction.blocked)
    assert event.version == 4 == desk.room("e1").version
    assert desk.mark("w2", RoomAction.blocked).version == 1


def test_event_type_names_what_happened(desk: Desk) -> None:
    visit = desk.book()
    desk.step(visit, Stage.arrived)
    desk.undo(visit)
    walk_in = desk.walk_in()
    desk.mark("e1", RoomAction.blocked)
    assert [e.type for e in desk.events] == ["booked", "arrived", "undo", "walk_in", "room_blocked"]
    assert [e.visit for e in desk.events] == [visit, visit, visit, walk_in, None]


# -- versions -----------------------------------------------------------------------------------------------


def test_a_stale_expected_version_is_refused_with_the_current_version(desk: Desk) -> None:
    visit = desk.book()
    desk.step(visit, Stage.arrived)
    refusal = desk.refused(TakeStep(visit, Stage.roomed, "e1", expected_version=1), Why.stale_version)
    assert refusal.detail == {"stage": "arrived", "version": 2}
    assert refusal.visit == visit
    desk.refused(UndoStep(visit, expected_version=3), Why.stale_version)


def test_a_stale_version_wins_over_an_illegal_step(desk: Desk) -> None:
    visit = desk.book()
    desk.refused(TakeStep(visit, Stage.checked_out, expected_version=7), Why.stale_version)


def test_a_matching_expected_version_is_accepted(desk: Desk) -> None:
    visit = desk.book()
    assert desk.step(visit, Stage.arrived, expected_version=1).version == 2
    assert desk.step(visit, Stage.roomed, "e1", expected_version=2).version == 3
    assert desk.undo(visit, expected_version=3).version == 4


# -- booking ------------------------------------------------------------------------------------------------


def test_booking_a_scheduled_visit(desk: Desk) -> None:
    start = dt.datetime(2025, 3, 12, 10, 30, tzinfo=TZ)
    event = desk.tap(BookVisit("Ann Lee", "silva", "annual", start=start, notes="interpreter"))
    booked = event.change
    assert isinstance(booked, VisitBooked) and booked.token is not None
    assert booked == VisitBooked(
        booked.visit, "Ann Lee", "silva", "annual", start, False, "interpreter", token=booked.token
    )
    assert event.version == 1
    v = desk.visit(booked.visit)
    assert v.token == booked.token
    assert (v.stage, v.start, v.walk_in, v.room, v.version, v.notes) == (
        Stage.scheduled,
        start,
        False,
        None,
        1,
        "interpreter",
    )
    assert v.times == {Stage.scheduled: event.at}


def test_booking_with_an_unknown_provider_names_the_field(desk: Desk) -> None:
    refusal = desk.refused(BookVisit("A", "house", "new", start=OPENS), Why.invalid)
    assert refusal.field == "provider"
    assert "house" in refusal.message


def test_booking_with_an_unknown_visit_type_names_the_field(desk: Desk) -> None:
    refusal = desk.refused(BookVisit("A", "kim", "surgery", start=OPENS), Why.invalid)
    assert refusal.field == "visit_type"
    assert "surgery" in refusal.message


def test_a_scheduled_booking_needs_a_start(desk: Desk) -> None:
    refusal = desk.refused(BookVisit("A", "kim", "new"), Why.invalid)
    assert refusal.field == "start"


@pytest.mark.parametrize(
    "start",
    [
        dt.datetime(2025, 3, 13, 9, 0, tzinfo=TZ),
        dt.datetime(2025, 3, 11, 16, 0, tzinfo=TZ),
        dt.datetime(2025, 3, 12, 4, 0, tzinfo=dt.UTC),  # still the 11th in Chicago
        dt.datetime(2025, 3, 13, 9, 0),
    ],
    ids=["tomorrow", "yesterday", "utc-before-local-midnight", "naive-tomorrow"],
)
def test_a_start_on_another_clinic_day_is_refused(desk: Desk, start: dt.datetime) -> None:
    refusal = desk.refused(BookVisit("A", "kim", "new", start=start), Why.invalid)
    assert refusal.field == "start"
    assert str(DAY) in refusal.message


def test_a_start_on_the_clinic_day_is_accepted_even_if_utc_has_moved_on(desk: Desk) -> None:
    start = dt.datetime(2025, 3, 13, 1, 30, tzinfo=dt.UTC)  # 20:30 on the 12th in Chicago
    visit = desk.tap(BookVisit("A", "kim", "new", start=start)).change.visit
    assert desk.visit(visit).start == start


def test_a_naive_start_is_read_in_the_clinic_time_zone(desk: Desk) -> None:
    visit = desk.tap(BookVisit("A", "kim", "new", start=dt.datetime(2025, 3, 12, 9, 30))).change.visit
    start = desk.visit(visit).start
    assert start.tzinfo is not None
    assert start == dt.datetime(2025, 3, 12, 9, 30, tzinfo=TZ)
    assert start.utcoffset() == dt.timedelta(hours=-5)  # CDT: daylight time began on March 9th


def test_a_walk_in_starts_now_and_has_already_arrived(desk: Desk) -> None:
    event = desk.tap(BookVisit("W", "hart", "procedure", walk_in=True))
    visit = desk.visit(event.change.visit)
    assert event.change.walk_in is True
    assert event.change.start == event.at == desk.now
    assert (visit.stage, visit.start, visit.walk_in) == (Stage.arrived, desk.now, True)
    assert visit.times == {Stage.arrived: desk.now}
    assert visit.steps == []
    desk.step(visit.id, Stage.roomed, "e5")


def test_a_walk_in_sent_with_a_start_is_refused_naming_it_not_booked_at_another_time(desk: Desk) -> None:
    """Taken and dropped, the start would leave the caller thinking its time was kept (a hostile review)."""
    seq = desk.floor.seq
    with pytest.raises(Refusal) as refused:
        desk.tap(BookVisit("W", "hart", "procedure", start=dt.datetime(2025, 3, 12, 15, 0, tzinfo=TZ), walk_in=True))
    assert refused.value.field == "start" and "minutes_ago" in refused.value.message
    assert desk.floor.seq == seq


def test_visit_ids_are_drawn_from_the_id_source_not_made_from_the_seq(desk: Desk) -> None:
    desk.mark("e1", RoomAction.blocked)
    booked, walk_in = desk.book(), desk.walk_in()
    assert booked != walk_in
    for visit in (booked, walk_in):
        assert re.fullmatch(r"v[0-9a-hjkmnp-tv-z]{12}", visit), visit  # Crockford's base 32: short, URL-safe
    assert {booked, walk_in}.isdisjoint({"v2", "v3"})
    # The same source gives the same ids (tests repeat), whatever the seq it starts from.
    again = Floor(CLINIC, DAY, seq=500, ids=Ids.seeded())
    assert (
        again.decide(
            BookVisit("Pat Doe", "kim", "follow", start=dt.datetime(2025, 3, 12, 9, 0, tzinfo=TZ)),
            Tap("ana", "desk-1", OPENS),
        ).change.visit
        == booked
    )


# -- time ---------------------------------------------------------------------------------------------------


def test_event_time_never_goes_back_when_the_clock_steps_back(desk: Desk) -> None:
    visit = desk.book()
    arrived = desk.step(
        visit,
        Stage.arrived,
    )
    roomed = desk.tap(TakeStep(visit, Stage.roomed, "e1"), minutes=-30)
    assert roomed.at == arrived.at
    prep = desk.tap(TakeStep(visit, Stage.prep_done), minutes=-1)
    assert prep.at == arrived.at
    later = desk.tap(TakeStep(visit, Stage.provider_in), minutes=45)
    assert later.at == desk.now > arrived.at
    times = [desk.visit(visit).times[s] for s in PATH[:5]]
    assert times == sorted(times)
    assert desk.room("e1").since == roomed.at
    assert desk.floor.last_at == later.at


def test_a_booking_behind_the_clock_is_stamped_at_the_last_event_time(desk: Desk) -> None:
    first = desk.walk_in()
    event = desk.tap(BookVisit("W2", "kim", "new", walk_in=True), minutes=-10)
    assert event.at == desk.visit(first).start
    assert desk.visit(event.change.visit).start == event.at


# -- purity -------------------------------------------------------------------------------------------------


def test_refusals_never_change_the_floor(desk: Desk) -> None:
    a = desk.visit_at(Stage.provider_in, room="e1")
    b = desk.visit_at(Stage.checked_out, room="e2")
    c = desk.visit_at(Stage.arrived)
    d = desk.book()
    desk.mark("w1", RoomAction.blocked)
    refused = [
        (TakeStep(a, Stage.roomed, "e3"), Why.illegal_step),
        (TakeStep(a, Stage.checked_out, expected_version=1), Why.stale_version),
        (TakeStep(b, Stage.arrived), Why.illegal_step),
        (TakeStep(c, Stage.roomed, "e1"), Why.room_unavailable),
        (TakeStep(c, Stage.roomed, "w1"), Why.room_unavailable),
        (TakeStep(c, Stage.roomed, "e2"), Why.room_unavailable),
        (TakeStep(c, Stage.roomed, "nope"), Why.invalid),
        (TakeStep(c, Stage.roomed), Why.invalid),
        (TakeStep(d, Stage.arrived, "e3"), Why.invalid),
        (TakeStep("v0", Stage.arrived), Why.not_found),
        (UndoStep(d), Why.nothing_to_undo),
        (UndoStep("v0"), Why.not_found),
        (MarkRoom("e1", RoomAction.blocked), Why.illegal_step),
        (MarkRoom("w1", RoomAction.ready), Why.illegal_step),
        (MarkRoom("nope", RoomAction.ready), Why.not_found),
        (BookVisit("X", "nobody", "new", start=OPENS), Why.invalid),
        (BookVisit("X", "kim", "none", start=OPENS), Why.invalid),
        (BookVisit("X", "kim", "new"), Why.invalid),
        (BookVisit("X", "kim", "new", start=OPENS + dt.timedelta(days=1)), Why.invalid),
    ]
    desk.mark("e3", RoomAction.blocked)
    desk.visit_at(Stage.roomed, room="e4")
    before = snapshot(desk.floor)
    for command, why in refused:
        desk.refused(command, why)
    assert snapshot(desk.floor) == before
    desk.mark("e2", RoomAction.blocked)
    desk.refused(UndoStep(b), Why.room_unavailable)


def _one_of_each(desk: Desk) -> list[Command]:
    """Build a floor with a little of everything and return commands that would each be accepted."""
    roomed = desk.visit_at(Stage.roomed, room="e1")
    out = desk.visit_at(Stage.checked_out, room="e2")
    waiting = desk.visit_at(Stage.arrived)
    return [
        BookVisit("New", "kim", "new", start=OPENS),
        BookVisit("Walk", "kim", "new", walk_in=True),
        TakeStep(roomed, Stage.prep_done),
        TakeStep(roomed, Stage.left_without_being_seen),
        TakeStep(waiting, Stage.roomed, "e3"),
        UndoStep(roomed),
        UndoStep(out),
        MarkRoom("e2", RoomAction.ready),
        MarkRoom("w1", RoomAction.blocked),
    ]


def test_preview_gives_what_apply_gives_and_changes_nothing() -> None:
    for i in range(len(_one_of_each(Desk()))):
        desk = Desk()
        command = _one_of_each(desk)[i]
        event = desk.floor.decide(command, Tap("ana", "desk-1", desk.now + dt.timedelta(minutes=1)))
        before = snapshot(desk.floor)
        previewed = desk.floor.preview(event)
        assert snapshot(desk.floor) == before, f"preview of {command!r} changed the floor"
        applied = desk.floor.apply(event)
        assert msgspec.to_builtins(previewed) == msgspec.to_builtins(applied), command
        assert snapshot(desk.floor) != before


def test_apply_refuses_an_event_that_does_not_follow(desk: Desk) -> None:
    visit = desk.book()
    event = desk.floor.decide(TakeStep(visit, Stage.arrived), Tap("ana", "desk-1", desk.now))
    before = snapshot(desk.floor)
    with pytest.raises(ValueError, match="does not follow"):
        desk.floor.apply(msgspec.structs.replace(event, seq=event.seq + 1))
    with pytest.raises(ValueError, match="does not follow"):
        desk.floor.apply(desk.events[0])  # a replay of the event already applied
    assert snapshot(desk.floor) == before
    desk.floor.apply(event)
    assert desk.floor.seq == 2


def test_folding_the_events_rebuilds_the_floor(desk: Desk) -> None:
    _one_of_each(desk)
    desk.undo(desk.events[0].change.visit)  # the visit roomed first
    desk.mark("e2", RoomAction.ready)
    assert snapshot(Floor.fold(CLINIC, DAY, 0, desk.events)) == snapshot(desk.floor)


def test_folding_from_a_base_seq_continues_numbering(desk: Desk) -> None:
    floor = Floor(CLINIC, DAY, seq=40, ids=Ids.seeded())
    event = floor.decide(BookVisit("A", "kim", "new", walk_in=True), Tap("ana", "desk-1", OPENS))
    assert event.seq == 41
    folded = Floor.fold(CLINIC, DAY, 40, [event])
    assert folded.seq == 41
    assert folded.visits[event.change.visit].stage is Stage.arrived


def test_the_room_holding_stages_are_the_ones_between_rooming_and_leaving() -> None:
    assert {Stage.roomed, Stage.prep_done, Stage.provider_in, Stage.teach_back_done} == IN_ROOM


def test_a_room_taken_out_of_the_clinic_file_still_folds_and_nobody_goes_back_to_it() -> None:
    """Today's log names a room the clinic file no longer has (taken out, the server restarted): the log folds,
    the patient who was in it is still in it, nobody can be roomed there, and undoing the checkout that emptied it
    is refused naming the room, not a crash."""
    desk = Desk()
    first, second = (desk.tap(BookVisit(n, "kim", "follow", walk_in=True)).change.visit for n in ("A", "B"))
    desk.tap(TakeStep(first, Stage.roomed, "e1"))
    desk.tap(TakeStep(second, Stage.roomed, "e2"))
    desk.tap(TakeStep(second, Stage.left_without_being_seen))
    without = msgspec.structs.replace(CLINIC, rooms=[r for r in CLINIC.rooms if r.id not in ("e1", "e2")])
    floor = Floor.fold(without, DAY, 0, desk.events, Ids.seeded("restarted"))
    assert floor.visits[first].room == "e1" and floor.visits[first].stage is Stage.roomed
    assert "e1" not in floor.rooms and "e2" not in floor.rooms
    tap = Tap("ana", "desk-1", desk.now + dt.timedelta(minutes=1))
    third = floor.decide(BookVisit("C", "kim", "follow", walk_in=True), tap)
    floor.apply(third)
    with pytest.raises(Refusal) as refused:
        floor.decide(TakeStep(third.change.visit, Stage.roomed, "e2"), tap)
    assert refused.value.why is Why.invalid and "No room 'e2'" in refused.value.message
    with pytest.raises(Refusal) as undo:
        floor.decide(UndoStep(second), tap)
    assert undo.value.why is Why.room_unavailable and "no longer in the clinic" in undo.value.message
    # The patient still in it goes on and leaves it.
    floor.apply(floor.decide(TakeStep(first, Stage.left_without_being_seen), tap))
    assert floor.visits[first].room is None
