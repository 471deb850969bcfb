"""Hostile review of schedule planning (floor/core/schedule.py): rows that end a visit, and rebookings.

- A cancellation or no-show row under an appointment id whose patient name differs from the visit's must not end
  that visit (README, Schedule import: "so is a row whose patient name differs from its visit's" not applied; the
  book path already refuses it as "more likely an error in the export than a renaming").
- A rebooking at check-in is the appointment nearest the visit the patient came for, whatever the order of the
  rows in the file; a later file must not book the rebooked appointment as a second visit.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

import msgspec
import pytest

from floor.config import demo_clinic
from floor.core.commands import TakeStep, Tap
from floor.core.events import Event
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.schedule import Appointment, Outcome, plan
from floor.schedule import Format, read

CLINIC = demo_clinic()
TZ = CLINIC.tz
DAY = dt.date(2026, 11, 23)
TAP = Tap("mgr-dana", "desk-1", dt.datetime(2026, 11, 23, 7, 0, tzinfo=TZ))


def _store(floor: Floor, csv: bytes) -> None:
    for event in plan(floor, DAY, read(csv, Format.csv, CLINIC, DAY), TAP).events:
        floor.apply(event)


def _for(patient: str, external_id: str, hh_mm: str, status: str = "booked") -> Appointment:
    start = dt.datetime.combine(DAY, dt.time.fromisoformat(hh_mm), tzinfo=TZ)
    return Appointment(
        f"row {external_id}", external_id, status, start, "kim", "new", "Maria Lopez", patient_id=patient
    )


@pytest.mark.parametrize("status", ["cancelled", "noshow", "entered-in-error"])
def test_a_row_ending_an_appointment_under_another_patients_name_does_not_end_the_visit(status: str) -> None:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    _store(floor, b"external_id,time,provider,visit_type,patient_name\nA-1,09:00,kim,new,Maria Lopez\n")
    # The EHR's export reuses A-1 for someone else's appointment, which is cancelled (or a no-show).
    other = f"external_id,time,provider,visit_type,patient_name,status\nA-1,09:00,kim,new,Sam Chen,{status}\n"
    planned = plan(floor, DAY, read(other.encode(), Format.csv, CLINIC, DAY), TAP)
    (row,) = planned.summary.rows
    # Booking it, the same mismatch is not applied ("correct it on the floor or in the schedule"); ending
    # Maria Lopez's visit on the word of a row about Sam Chen is the worse mistake.
    assert planned.events == [], f"Maria Lopez's visit was ended by a row naming Sam Chen: {row}"
    assert row.outcome is Outcome.not_applied


def test_a_cancellation_row_with_no_name_still_cancels() -> None:
    # The control: a cancellation that names nobody (an export that blanks cancelled rows) still cancels.
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    _store(floor, b"external_id,time,provider,visit_type,patient_name\nA-1,09:00,kim,new,Maria Lopez\n")
    body = b"external_id,time,provider,visit_type,patient_name,status\nA-1,,,,,cancelled\n"
    (row,) = plan(floor, DAY, read(body, Format.csv, CLINIC, DAY), TAP).summary.rows
    assert row.outcome is Outcome.cancelled


def _came_for_a1() -> Floor:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    for event in plan(floor, DAY, [_for("MRN-77", "A-1", "09:00")], TAP).events:
        floor.apply(event)
    visit = floor.by_external_id("A-1")
    assert visit is not None
    floor.apply(floor.decide(TakeStep(visit.id, Stage.arrived), TAP))
    return floor


# At check-in the EHR cancelled A-1 and rebooked her as A-2 (same time); the same file also books her a
# follow-up, A-3, at 10:30 (within two hours of A-1, but further from it than A-2).
CANCELLED, REBOOKED, FOLLOW_UP = (
    _for("MRN-77", "A-1", "09:00", "cancelled"),
    _for("MRN-77", "A-2", "09:00"),
    _for("MRN-77", "A-3", "10:30"),
)


@pytest.mark.parametrize(
    "rows",
    [[CANCELLED, REBOOKED, FOLLOW_UP], [CANCELLED, FOLLOW_UP, REBOOKED]],
    ids=["rebooking first", "follow-up first"],
)
def test_the_rebooking_is_the_appointment_nearest_the_visit_whatever_the_rows_order(rows: list[Appointment]) -> None:
    floor = _came_for_a1()
    outcomes = {r.external_id: r.outcome for r in plan(floor, DAY, rows, TAP).summary.rows}
    # A-2 is her visit rebooked (not a second visit); A-3 is another appointment of the day, booked.
    assert outcomes["A-2"] is Outcome.not_applied, outcomes
    assert outcomes["A-3"] is Outcome.added, outcomes


def test_a_later_file_that_adds_a_follow_up_does_not_book_the_rebooked_appointment_a_second_time() -> None:
    floor = _came_for_a1()
    first = plan(floor, DAY, [CANCELLED, REBOOKED], TAP)
    assert first.events == []  # A-2 taken as her visit rebooked
    # The EHR's next export of the day lists her new follow-up (exports sort by id, by time, by anything).
    later = plan(floor, DAY, [CANCELLED, FOLLOW_UP, REBOOKED], TAP)
    booked = [r.external_id for r in later.summary.rows if r.outcome is Outcome.added]
    assert "A-2" not in booked, f"the appointment already taken as her rebooked visit was booked again: {booked}"
    for event in later.events:
        floor.apply(event)
    scheduled_phantoms = [
        v.external_id for v in floor.visits.values() if v.patient_id == "MRN-77" and v.stage is Stage.scheduled
    ]
    assert scheduled_phantoms == ["A-3"], scheduled_phantoms


def test_the_two_hours_of_a_rebooking_are_real_hours_across_the_night_the_clocks_go_back() -> None:
    """Both times in the clinic's zone (a visit this server booked, a row's clock time) were subtracted on the wall
    clock: 00:50 CDT to 02:40 CST read 1 h 50 min apart (2 h 50 min really), so the 02:40 appointment was taken as
    her visit rebooked on the server that booked it, and booked as another visit after a restart, which reads the
    visit back from the log with a fixed offset (a review of time)."""
    night = dt.date(2026, 11, 1)  # America/Chicago: 02:00 CDT becomes 01:00 CST
    tap = Tap("mgr-dana", "desk-1", dt.datetime(2026, 11, 1, 0, 40, tzinfo=TZ))

    def row(external_id: str, hh_mm: str, status: str = "booked") -> Appointment:
        start = dt.datetime.combine(night, dt.time.fromisoformat(hh_mm), tzinfo=TZ)
        return Appointment(
            f"row {external_id}", external_id, status, start, "kim", "new", "Maria Lopez", patient_id="MRN-77"
        )

    floor = Floor(CLINIC, night, ids=Ids.seeded())
    events = plan(floor, night, [row("A-1", "00:50")], tap).events
    for event in events:
        floor.apply(event)
    visit = floor.by_external_id("A-1")
    assert visit is not None
    events.append(floor.decide(TakeStep(visit.id, Stage.arrived), tap))
    floor.apply(events[-1])
    restarted = Floor(CLINIC, night, ids=Ids.seeded())
    for event in msgspec.json.decode(msgspec.json.encode(events), type=list[Event]):
        restarted.apply(event)

    rows = [row("A-1", "00:50", "cancelled"), row("A-2", "02:40")]
    live = {r.external_id: r.outcome for r in plan(floor, night, rows, tap).summary.rows}
    read_back = {r.external_id: r.outcome for r in plan(restarted, night, rows, tap).summary.rows}
    assert live == read_back, f"booked here: {live}; read back from the log: {read_back}"
    assert live["A-2"] is Outcome.added  # not her visit rebooked: 2 h 50 min after it


def test_the_same_name_written_another_way_is_the_same_patient() -> None:
    """One appointment id, one name as two systems write it: accents composed or decomposed (a Mac's export writes
    them apart) or dropped, capitals, "Family, Given" (the CSV sample's "O'Brien, Liam", the Bundle's "Liam
    O'Brien"). Each was "the patient's name differs": a cancellation did not cancel, a new time did not move the
    visit (a hostile review). The same words in another order without a comma may be someone else: not taken."""
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    header = "external_id,time,provider,visit_type,patient_name,status\n"
    _store(floor, (header + 'A-1,09:00,kim,new,José Núñez,\nA-2,09:20,kim,new,"O\'Brien, Liam",\n').encode())
    _store(floor, (header + "A-3,09:40,kim,new,Ann Lee,\nA-4,10:00,kim,new,Maria Lopez,\n").encode())
    decomposed = unicodedata.normalize("NFD", "José Núñez")
    later = (
        header
        + f"A-1,09:00,kim,new,{decomposed},cancelled\n"
        + "A-2,09:30,kim,new,Liam O'Brien,\n"
        + "A-3,09:50,kim,new,Lee Ann,\n"
        + "A-4,10:10,kim,new,MARIA LOPEZ,noshow\n"
    )
    planned = plan(floor, DAY, read(later.encode(), Format.csv, CLINIC, DAY), TAP)
    outcomes = {row.external_id: row.outcome for row in planned.summary.rows}
    assert outcomes == {
        "A-1": Outcome.cancelled,
        "A-2": Outcome.updated,
        "A-3": Outcome.not_applied,
        "A-4": Outcome.no_show,
    }
    accentless = header + "A-2,09:20,kim,new,Liam OBrien,\nA-1,09:00,kim,new,Jose Nunez,\n"
    again = plan(floor, DAY, read(accentless.encode(), Format.csv, CLINIC, DAY), TAP)
    assert [row.outcome for row in again.summary.rows] == [Outcome.unchanged, Outcome.unchanged]
