"""A manager sets the clinic's rooms from the browser (SetRooms → SetUpChanged): decided in the core by the rules a
clinic file's rooms are checked by, folded from the log alone, refused while a room taken out has a patient in it."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from floor import audit
from floor.config import Room, demo_clinic
from floor.core.access import Role
from floor.core.commands import BookVisit, Command, MarkRoom, SetRooms, TakeStep, Tap, UndoStep
from floor.core.errors import Refusal, Why
from floor.core.events import Event, SetUpChanged
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.rooms import RoomAction, RoomState
from tests.support.floors import snapshot

CLINIC = demo_clinic()
DAY = dt.date(2025, 3, 12)
OPENS = dt.datetime(2025, 3, 12, 8, 0, tzinfo=CLINIC.tz)


class Manager:
    def __init__(self) -> None:
        self.floor = Floor(CLINIC, DAY, ids=Ids.seeded())
        self.now = OPENS
        self.events: list[Event] = []

    def tap(self, command: Command, role: Role = Role.manager) -> Event:
        self.now += dt.timedelta(minutes=1)
        event = self.floor.decide(command, Tap("dana", "console", self.now, role))
        self.floor.apply(event)
        self.events.append(event)
        return event

    def refused(self, command: Command, role: Role = Role.manager) -> Refusal:
        before = snapshot(self.floor)
        rooms, clinic = list(self.floor.rooms), self.floor.clinic
        with pytest.raises(Refusal) as e:
            self.floor.decide(command, Tap("dana", "console", self.now, role))
        assert snapshot(self.floor) == before and list(self.floor.rooms) == rooms and self.floor.clinic is clinic
        return e.value


def rooms(*extra: Room, without: tuple[str, ...] = ()) -> list[Room]:
    return [r for r in CLINIC.rooms if r.id not in without] + list(extra)


def test_a_room_added_is_on_the_floor_ready_in_its_zone_and_the_fold_of_the_log_alone_agrees() -> None:
    m = Manager()
    event = m.tap(SetRooms(rooms(Room("e6", "East 6", "east")), expected_version=0))
    assert isinstance(event.change, SetUpChanged)
    room = m.floor.rooms["e6"]
    assert (room.label, room.zone, room.state) == ("East 6", "east", RoomState.ready)
    assert m.floor.clinic.room("e6") == Room("e6", "East 6", "east")
    assert m.floor.setup_version == event.seq == event.version
    again = Floor.fold(CLINIC, DAY, 0, m.events)
    assert snapshot(again) == snapshot(m.floor) and again.clinic == m.floor.clinic
    assert again.setup_version == m.floor.setup_version
    # A patient can be roomed there at once.
    visit = m.tap(BookVisit("Ann Lee", "kim", "follow", walk_in=True)).visit
    m.tap(TakeStep(visit, Stage.roomed, "e6"))
    assert m.floor.rooms["e6"].state is RoomState.occupied


def test_a_label_and_a_zone_change_keep_the_rooms_state_and_patient() -> None:
    m = Manager()
    visit = m.tap(BookVisit("Ann Lee", "kim", "follow", walk_in=True)).visit
    m.tap(TakeStep(visit, Stage.roomed, "e1"))
    changed = [Room("e1", "Exam 1", "north") if r.id == "e1" else r for r in CLINIC.rooms]
    m.tap(SetRooms(changed))
    room = m.floor.rooms["e1"]
    assert (room.label, room.zone, room.state, room.visit) == ("Exam 1", "north", RoomState.occupied, visit)


def test_a_room_taken_out_is_gone_from_the_floor_and_nobody_can_be_roomed_or_put_back_there() -> None:
    m = Manager()
    visit = m.tap(BookVisit("Ann Lee", "kim", "follow", walk_in=True)).visit
    m.tap(TakeStep(visit, Stage.roomed, "w5"))
    m.tap(TakeStep(visit, Stage.left_without_being_seen))
    assert m.floor.rooms["w5"].state is RoomState.turnover
    m.tap(SetRooms(rooms(without=("w5",))))
    assert "w5" not in m.floor.rooms and m.floor.clinic.room("w5") is None
    other = m.tap(BookVisit("Bo Park", "kim", "follow", walk_in=True)).visit
    refused = m.refused(TakeStep(other, Stage.roomed, "w5"))
    assert (refused.why, refused.field) == (Why.invalid, "room")
    # Undoing their leaving would put the first patient back in a room the clinic no longer has.
    assert m.refused(UndoStep(visit)).why is Why.room_unavailable
    assert m.refused(MarkRoom("w5", RoomAction.ready)).why is Why.not_found
    # The day's log still folds, the room kept aside as a file edit would keep it.
    assert snapshot(Floor.fold(CLINIC, DAY, 0, m.events)) == snapshot(m.floor)


def test_a_room_with_a_patient_in_it_cannot_be_taken_out() -> None:
    m = Manager()
    visit = m.tap(BookVisit("Ann Lee", "kim", "follow", walk_in=True)).visit
    m.tap(TakeStep(visit, Stage.roomed, "w5"))
    refused = m.refused(SetRooms(rooms(without=("w5",))))
    assert (refused.why, refused.field, refused.detail["room"]) == (Why.room_unavailable, "rooms", "w5")
    assert "West 5 has a patient in it" in refused.message


def test_a_room_taken_out_and_added_back_is_ready_with_a_newer_version() -> None:
    m = Manager()
    m.tap(MarkRoom("w5", RoomAction.blocked, "leak"))
    old = m.floor.rooms["w5"].version
    m.tap(SetRooms(rooms(without=("w5",))))
    m.tap(SetRooms(rooms(Room("w5", "West 5", "west"), without=("w5",))))
    room = m.floor.rooms["w5"]
    assert room.state is RoomState.ready and room.version > old and room.reason is None
    assert m.refused(MarkRoom("w5", RoomAction.ready, expected_version=old)).why is Why.stale_version


@pytest.mark.parametrize(
    ("new", "field", "words"),
    [
        (rooms(Room("e1", "East 9", "east")), "rooms[10]", "another room already has the id 'e1'"),
        (rooms(Room("e9", "east 1", "east")), "rooms[10].label", "the label of room e9: 'east 1' is also room e1's"),
        (rooms(Room("e9", "East 9", "")), "rooms[10].zone", "needs its zone"),
        (rooms(Room("e9", "  ", "east")), "rooms[10].label", "needs its label"),
        (rooms(Room("e9", "East 9", "East Wing")), "rooms[10].zone", "lowercase letters"),
        (rooms(Room("e9", "x" * 61, "east")), "rooms[10].label", "1 to 60 characters"),
        (rooms(Room("e9", "East\u200b9", "east")), "rooms[10].label", ""),
        ([], "rooms", ""),
        (list(CLINIC.rooms), "rooms", "nothing changed"),
    ],
)
def test_a_list_a_clinic_file_could_not_have_is_refused_naming_the_field(new, field, words) -> None:
    refused = Manager().refused(SetRooms(new))
    assert (refused.why, refused.field) == (Why.invalid, field), refused.message
    assert words in refused.message


def test_a_list_drawn_before_another_change_is_refused_as_stale() -> None:
    m = Manager()
    m.tap(SetRooms(rooms(Room("e6", "East 6", "east")), expected_version=0))
    refused = m.refused(SetRooms(rooms(Room("e7", "East 7", "east")), expected_version=0))
    assert (refused.why, refused.field, refused.detail["version"]) == (
        Why.stale_version,
        "version",  # the set-up PUT routes' field (not a visit tap's `expected_version`)
        m.floor.setup_version,
    )


@pytest.mark.parametrize("role", [Role.front_desk, Role.medical_assistant, Role.provider])
def test_only_a_manager_sets_the_rooms(role: Role) -> None:
    refused = Manager().refused(SetRooms(rooms(Room("e6", "East 6", "east"))), role)
    assert refused.why is Why.forbidden and "change the clinic's set-up" in refused.message


def test_the_audit_trail_says_each_change_in_words() -> None:
    m = Manager()
    new = [Room("e1", "Exam 1", "east") if r.id == "e1" else r for r in CLINIC.rooms if r.id != "w5"]
    new = [Room("w4", "West 4", "east") if r.id == "w4" else r for r in new] + [Room("e6", "Exam 6", "east")]
    entry = audit.entry(CLINIC.id, m.tap(SetRooms(new)))
    assert entry.type == "set_up_changed" and entry.person == "dana"
    assert entry.changes == [
        "Took out room West 5 (zone west)",
        "Renamed room East 1 to Exam 1",
        "Moved room West 4 from zone west to zone east",
        "Added room Exam 6 in zone east",
    ]
    assert msgspec.json.decode(msgspec.json.encode(m.events[-1]), type=Event) == m.events[-1]


def test_a_room_label_naming_one_of_today_s_patients_is_refused() -> None:
    m = Manager()
    m.tap(BookVisit("Ann Lee", "kim", "follow", walk_in=True))
    refused = m.refused(SetRooms(rooms(Room("e9", "Lee, Ann", "east"))))
    assert (refused.why, refused.field) == (Why.invalid, "rooms[10].label")
    assert "names one of today's patients" in refused.message
