"""The audit trail says what each event changed: a reschedule names the old and the new value of each field it
changed and nothing else; a booking, a check-out without teach-back, an undo and a room block keep what matters.
Patient names and note text never appear. Checked on the JSON a manager reads."""

from __future__ import annotations

import datetime as dt

import msgspec

from floor import audit
from floor.config import demo_clinic
from floor.core.commands import BookVisit, Command, MarkRoom, RescheduleVisit, TakeStep, Tap, UndoStep
from floor.core.events import Event
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.rooms import RoomAction
from floor.wire import AuditEntry

CLINIC = demo_clinic()
TZ = CLINIC.tz
DAY = dt.date(2025, 3, 12)
NAME = "Pat Doe"
NOTES = "Interpreter: Spanish"
NINE = dt.datetime(2025, 3, 12, 9, 0, tzinfo=TZ)


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, 12, hour, minute, tzinfo=TZ)


class Day:
    """A pure floor whose clock moves a minute per tap; every tap is decided, then applied."""

    def __init__(self) -> None:
        self.floor = Floor(CLINIC, DAY, ids=Ids.seeded())
        self.now = at(7)
        self.events: list[Event] = []

    def tap(self, command: Command, actor: str = "ana", device: str = "desk-1") -> Event:
        self.now += dt.timedelta(minutes=1)
        event = self.floor.decide(command, Tap(actor, device, self.now))
        self.floor.apply(event)
        self.events.append(event)
        return event

    def book(self) -> str:
        return self.tap(BookVisit(NAME, "kim", "follow", start=NINE, notes=NOTES)).change.visit

    def move(
        self,
        visit: str,
        start: dt.datetime = NINE,
        provider: str = "kim",
        visit_type: str = "follow",
        notes: str = NOTES,
    ) -> None:
        self.tap(RescheduleVisit(visit, start, provider, visit_type, notes), actor="schedule", device="import")

    def trail(self, visit: str) -> list[dict]:
        return _json(audit.of_visit("riverside", visit, self.events))


def _json(entries: list[AuditEntry] | AuditEntry):
    return msgspec.json.decode(msgspec.json.encode(entries))


COMMON = {"clinic", "day", "seq", "at", "person", "device", "type", "visit"}


def test_a_reschedule_names_the_old_and_new_value_of_each_field_it_changed_and_only_those() -> None:
    day = Day()
    visit = day.book()
    day.move(visit, start=at(9, 30), provider="okafor")
    moved = day.trail(visit)[-1]
    assert moved["type"] == "visit_rescheduled"
    assert dt.datetime.fromisoformat(moved["start"]) == at(9, 30)
    assert dt.datetime.fromisoformat(moved["previous_start"]) == at(9)
    assert (moved["provider"], moved["previous_provider"]) == ("okafor", "kim")
    # The visit type and the notes did not change, so the entry does not mention them.
    assert set(moved) == COMMON | {"start", "previous_start", "provider", "previous_provider"}

    day.move(visit, start=at(9, 30), provider="okafor", visit_type="new")
    assert {k: v for k, v in day.trail(visit)[-1].items() if k not in COMMON} == {
        "visit_type": "new",
        "previous_visit_type": "follow",
    }


def test_a_reschedule_of_the_notes_says_the_notes_changed_without_showing_them() -> None:
    day = Day()
    visit = day.book()
    day.move(visit, notes="Interpreter: Portuguese")
    moved = day.trail(visit)[-1]
    assert set(moved) == COMMON | {"notes_changed"} and moved["notes_changed"] is True
    assert "Interpreter" not in msgspec.json.encode(day.trail(visit)).decode()


def test_notes_changed_along_with_the_start_is_said_even_in_a_trail_that_leaves_the_booking_out() -> None:
    # The event stores only the new notes: the earlier ones come from the booking, which the importer's own
    # trail does not list (the front desk booked it).
    day = Day()
    visit = day.book()
    day.move(visit, start=at(10), notes="")
    mine = _json(audit.of_person("riverside", "schedule", day.events))
    assert [e["type"] for e in mine] == ["visit_rescheduled"]
    assert mine[0]["notes_changed"] is True and mine[0]["previous_start"]

    # A start moved with the same notes does not claim a notes change.
    day.move(visit, start=at(11), notes="")
    assert "notes_changed" not in _json(audit.of_person("riverside", "schedule", day.events)[-1])


def test_an_entry_on_its_own_infers_a_notes_change_only_when_nothing_else_changed() -> None:
    # Floor refuses a reschedule that changes nothing, so a lone reschedule that moved nothing else moved the
    # notes; one that moved the start may or may not have, and the entry does not guess.
    day = Day()
    visit = day.book()
    day.move(visit, notes="Bring the consent form")
    day.move(visit, start=at(10), notes="Bring the consent form")
    only_notes, start_too = (audit.entry("riverside", e) for e in day.events[1:])
    assert only_notes.notes_changed and not start_too.notes_changed


def test_a_booking_says_for_whom_and_what_but_never_the_patient_name() -> None:
    day = Day()
    visit = day.book()
    booked = day.trail(visit)[0]
    assert booked["type"] == "booked"
    assert (booked["provider"], booked["visit_type"]) == ("kim", "follow")
    assert dt.datetime.fromisoformat(booked["start"]) == at(9)
    text = msgspec.json.encode(day.trail(visit)).decode()
    assert NAME not in text and NOTES not in text


def test_checkout_without_teach_back_undo_and_room_block_keep_what_they_record() -> None:
    day = Day()
    visit = day.book()
    for step, room in [(Stage.arrived, None), (Stage.roomed, "e1"), (Stage.prep_done, None), (Stage.provider_in, None)]:
        day.tap(TakeStep(visit, step, room))
    out = day.tap(TakeStep(visit, Stage.checked_out))
    day.tap(UndoStep(visit), actor="dana", device="office")
    day.tap(MarkRoom("e2", RoomAction.blocked, reason="sink leaking"), actor="ben", device="tablet-east")
    day.tap(MarkRoom("e3", RoomAction.blocked), actor="ben", device="tablet-east")

    trail = day.trail(visit)
    checked_out, undo = trail[-2], trail[-1]
    assert checked_out["without_teach_back"] is True and checked_out["room"] == "e1"
    assert undo["undone"] == "checked_out" and undo["undone_seq"] == out.seq
    blocked, blocked_silently = _json(audit.of_person("riverside", "ben", day.events))
    assert (blocked["type"], blocked["room"], blocked["reason"]) == ("room_blocked", "e2", "sink leaking")
    assert "reason" not in blocked_silently


def test_an_ordinary_step_entry_is_what_it_was() -> None:
    day = Day()
    visit = day.book()
    day.tap(TakeStep(visit, Stage.arrived))
    assert set(day.trail(visit)[-1]) == COMMON | {"step"}
