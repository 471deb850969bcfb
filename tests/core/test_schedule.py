"""Schedule import, the pure parts: reading the sample files, checking them against the clinic, and planning
them against a floor (booked once, moved while scheduled, cancelled; nothing planned the second time)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import msgspec
import pytest

from floor.config import demo_clinic
from floor.core.commands import BookVisit, MoveVisit, RescheduleVisit, TakeStep, Tap, UndoStep
from floor.core.errors import Refusal, Why
from floor.core.events import Event, VisitBooked, VisitRescheduled
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.schedule import Appointment, Outcome, ScheduleRefused, plan
from floor.schedule import Format, format_of, read
from tests.support.floors import snapshot

CLINIC = demo_clinic()
TZ = CLINIC.tz
DAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 7, 0, tzinfo=TZ)
DATA = Path(__file__).resolve().parent.parent / "data"
TAP = Tap("mgr-dana", "desk-1", NOW)


def _at(hh_mm: str) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time.fromisoformat(hh_mm), tzinfo=TZ)


def _appointment(
    external_id: str,
    start: str | None,
    provider: str = "kim",
    status: str = "booked",
    name: str = "Maria Lopez",
    visit_type: str = "new",
) -> Appointment:
    return Appointment(
        f"line {external_id}", external_id, status, _at(start) if start else None, provider, visit_type, name
    )


def _store(floor: Floor, events: list[Event]) -> None:
    for event in events:
        floor.apply(event)


def test_the_sample_csv_reads_as_clinic_time_on_the_day() -> None:
    rows = read((DATA / "schedule-riverside.csv").read_bytes(), Format.csv, CLINIC, DAY)
    assert [(r.line, r.external_id, r.status) for r in rows] == [
        (2, "EHR-1001", "booked"),
        (3, "EHR-1002", "booked"),
        (4, "EHR-1003", "booked"),
        (5, "EHR-1004", "booked"),
        (6, "EHR-1005", "cancelled"),
        (7, "EHR-1006", "pending"),
    ]
    assert rows[0].start == _at("08:00") and rows[0].notes == "Interpreter: Spanish"
    assert rows[5].start == _at("10:00")  # a full ISO time with its offset
    assert rows[2].patient_name == "O'Brien, Liam"


def test_a_spreadsheet_time_without_a_leading_zero_reads_the_same() -> None:
    body = b"external_id,time,provider,visit_type,patient_name\nA,9:05,kim,follow,Ann\nB,09:05,kim,follow,Bo\n"
    first, second = read(body, Format.csv, CLINIC, DAY)
    assert first.start == second.start == _at("09:05")


def test_the_sample_bundle_maps_participants_codes_and_references() -> None:
    rows = read((DATA / "schedule-riverside.fhir.json").read_bytes(), Format.fhir, CLINIC, DAY)
    assert [(r.entry, r.resource, r.external_id, r.status, r.provider, r.visit_type, r.patient_name) for r in rows] == [
        (4, "Appointment/ap-1", "EHR-1001", "booked", "kim", "new", "Maria Lopez"),
        (5, "Appointment/ap-2", "EHR-1002", "booked", "kim", "follow", "Sam Chen"),
        (6, "Appointment/ap-3", "EHR-1003", "arrived", "okafor", "annual", "Liam O'Brien"),
        (7, "Appointment/ap-5", "EHR-1005", "cancelled", "hart", "follow", "Grace Park"),
    ]
    assert rows[1].start == _at("08:20")  # given in UTC


def test_an_appointment_without_identifier_is_known_by_its_id_and_a_bare_reference_by_its_id() -> None:
    bundle = json.loads((DATA / "schedule-riverside.fhir.json").read_text())
    appointment = bundle["entry"][6]["resource"]
    del appointment["identifier"]
    appointment["participant"][1]["actor"] = {"reference": "Practitioner/silva"}  # not in the Bundle
    rows = read(json.dumps(bundle).encode(), Format.fhir, CLINIC, DAY)
    assert (rows[2].external_id, rows[2].provider) == ("ap-3", "silva")


def test_a_waitlisted_appointment_without_practitioner_or_type_does_not_refuse_the_bundle() -> None:
    bundle = json.loads((DATA / "schedule-riverside.fhir.json").read_text())
    waitlisted = json.loads(json.dumps(bundle["entry"][4]))
    waitlisted["fullUrl"] = "urn:uuid:waitlisted"
    appointment = waitlisted["resource"]
    appointment.update(id="ap-9", status="waitlist", identifier=[{"value": "EHR-1009"}])
    appointment["participant"] = [
        p for p in appointment["participant"] if "Practitioner" not in p["actor"].get("reference", "")
    ]
    appointment.pop("appointmentType", None)
    appointment.pop("serviceType", None)
    bundle["entry"].append(waitlisted)
    rows = read(json.dumps(bundle).encode(), Format.fhir, CLINIC, DAY)
    assert [r.external_id for r in rows][-1] == "EHR-1009" and rows[-1].status == "waitlist"
    # Booked, the same appointment is a problem named by its entry and field.
    appointment["status"] = "booked"
    with pytest.raises(ScheduleRefused) as refused:
        read(json.dumps(bundle).encode(), Format.fhir, CLINIC, DAY)
    assert {p.field for p in refused.value.problems} == {"participant", "appointmentType"}


def test_problems_name_every_line_and_field_and_unknown_things_are_not_invented() -> None:
    with pytest.raises(ScheduleRefused) as refused:
        read((DATA / "schedule-riverside-bad.csv").read_bytes(), Format.csv, CLINIC, DAY)
    problems = {(p.line, p.field): p.message for p in refused.value.problems}
    assert "unknown provider 'dr-who'" in problems[(4, "provider")]
    assert "unknown visit type 'massage'" in problems[(5, "visit_type")]
    assert "also line 2" in problems[(7, "external_id")]
    assert str(refused.value).startswith("The schedule was not imported: line 3: ")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (b"external_id,time,provider,visit_type\n", "patient_name"),  # a required column missing
        (b"external_id,time,provider,visit_type,patient_name,room\n", "room"),  # an unknown column
        (
            b"external_id,time,provider,visit_type,patient_name\nA,07:00,kim,new,Ann\nB,2026-11-24T09:00,kim,new,Bo\n",
            "time",
        ),  # a time on another day, named as the file names it (a CSV has no "start": a review)
    ],
)
def test_a_bad_header_or_a_row_on_another_day_is_refused(text: bytes, field: str) -> None:
    with pytest.raises(ScheduleRefused) as refused:
        read(text, Format.csv, CLINIC, DAY)
    assert [p.field for p in refused.value.problems] == [field]


def test_not_a_bundle_or_not_json_is_refused() -> None:
    for body in (
        b"{",
        b'{"resourceType": "Appointment"}',
        b'{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Nonsense"}}]}',
    ):
        with pytest.raises(ScheduleRefused):
            read(body, Format.fhir, CLINIC, DAY)


def test_the_format_comes_from_the_media_type_the_name_or_the_first_character() -> None:
    assert format_of("text/csv; charset=utf-8") is Format.csv
    assert format_of("application/fhir+json") is format_of("application/json") is Format.fhir
    assert format_of("application/xml") is None
    assert format_of(None, "day.csv") is Format.csv and format_of(None, "day.json") is Format.fhir
    assert format_of(None, None, b'  {"resourceType"') is Format.fhir


def test_a_plan_books_once_moves_while_scheduled_and_cancels() -> None:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    first = plan(floor, DAY, [_appointment("A", "09:00"), _appointment("B", "09:20", "okafor", name="Bo Li")], TAP)
    assert [r.outcome for r in first.summary.rows] == [Outcome.added, Outcome.added]
    assert all(isinstance(e.change, VisitBooked) for e in first.events)
    assert snapshot(floor) == snapshot(Floor(CLINIC, DAY)), "planning changed the floor"
    _store(floor, first.events)
    assert floor.by_external_id("A").start == _at("09:00")

    same = plan(floor, DAY, [_appointment("A", "09:00"), _appointment("B", "09:20", "okafor", name="Bo Li")], TAP)
    assert same.events == [] and same.summary.unchanged == 2

    moved = plan(
        floor,
        DAY,
        [_appointment("A", "09:40", "silva"), _appointment("B", None, status="cancelled", name="Bo Li")],
        TAP,
    )
    assert [r.outcome for r in moved.summary.rows] == [Outcome.updated, Outcome.cancelled]
    change = moved.events[0].change
    assert isinstance(change, VisitRescheduled)
    assert (change.start, change.provider, change.previous_start, change.previous_provider) == (
        _at("09:40"),
        "silva",
        _at("09:00"),
        "kim",
    )
    _store(floor, moved.events)
    a, b = floor.by_external_id("A"), floor.by_external_id("B")
    assert (a.start, a.provider, a.stage, a.version) == (_at("09:40"), "silva", Stage.scheduled, 2)
    assert b.stage is Stage.cancelled
    assert len(floor.visits) == 2

    # The first file again: B's visit is not booked again, and the disagreement is reported.
    back = plan(floor, DAY, [_appointment("B", "09:20", "okafor", name="Bo Li")], TAP)
    assert back.events == [] and "cancelled on the floor" in back.summary.rows[0].reason


def test_a_visit_already_arrived_keeps_its_time_and_provider() -> None:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    _store(floor, plan(floor, DAY, [_appointment("A", "09:00")], TAP).events)
    visit = floor.by_external_id("A")
    floor.apply(floor.decide(TakeStep(visit.id, Stage.arrived), TAP))
    later = plan(floor, DAY, [_appointment("A", "10:00", "hart")], TAP)
    assert later.events == []
    [row] = later.summary.rows
    assert row.outcome is Outcome.not_applied and "already arrived" in row.reason
    cancelled = plan(floor, DAY, [_appointment("A", "09:00", status="cancelled")], TAP)
    assert cancelled.summary.rows[0].outcome is Outcome.not_applied
    # And the floor's rule behind it: a visit that is not scheduled any more cannot be moved.
    with pytest.raises(Refusal) as refused:
        floor.decide(RescheduleVisit(visit.id, _at("10:00"), "hart", "new"), TAP)
    assert refused.value.why is Why.illegal_step


def test_a_patient_moved_on_the_floor_is_still_booked_with_the_schedules_provider() -> None:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    _store(floor, plan(floor, DAY, [_appointment("A", "09:00")], TAP).events)
    visit = floor.by_external_id("A")
    for command in (TakeStep(visit.id, Stage.arrived), MoveVisit(visit.id, "hart")):
        floor.apply(floor.decide(command, TAP))
    # Here: the floor leads; the schedule still books them with Dr. Kim, as the floor does: nothing changed.
    again = plan(floor, DAY, [_appointment("A", "09:00")], TAP)
    assert again.events == [] and again.summary.rows[0].outcome is Outcome.unchanged
    assert (visit.provider, visit.moved_from) == ("hart", "kim")
    # A schedule that books them with another provider now is not applied while they are here.
    other = plan(floor, DAY, [_appointment("A", "09:00", "silva")], TAP)
    assert other.events == [] and other.summary.rows[0].outcome is Outcome.not_applied
    # The arrival undone (a mistake), the visit is scheduled again, back with Dr. Kim: the schedule leads.
    floor.apply(floor.decide(UndoStep(visit.id), TAP))
    assert (visit.stage, visit.provider, visit.moved_from) == (Stage.scheduled, "kim", None)
    _store(floor, plan(floor, DAY, [_appointment("A", "09:00", "silva")], TAP).events)
    assert (visit.provider, visit.moved_from) == ("silva", None)


def test_an_appointment_is_booked_once_and_another_name_under_its_id_is_not_taken() -> None:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    _store(floor, plan(floor, DAY, [_appointment("A", "09:00")], TAP).events)
    with pytest.raises(Refusal) as refused:
        floor.decide(BookVisit("Maria Lopez", "kim", "new", _at("09:00"), external_id="A"), TAP)
    assert refused.value.why is Why.taken
    renamed = plan(floor, DAY, [_appointment("A", "09:00", name="Someone Else")], TAP)
    assert renamed.events == [] and renamed.summary.not_applied == 1


def test_only_today_can_be_planned() -> None:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    for day, words in ((DAY - dt.timedelta(days=1), "read-only"), (DAY + dt.timedelta(days=1), "only today")):
        with pytest.raises(Refusal, match=words):
            plan(floor, day, [], TAP)


def test_an_old_log_without_external_ids_still_folds() -> None:
    """Events stored before schedule import existed have no external_id: they decode with None."""
    old = (
        b'{"seq":1,"at":"2026-11-23T13:00:00Z","day":"2026-11-23","actor":"a","device":"d","version":1,'
        b'"change":{"type":"visit_booked","visit":"v1","patient_name":"Ann","provider":"kim",'
        b'"visit_type":"new","start":"2026-11-23T15:00:00Z"}}'
    )
    event = msgspec.json.decode(old, type=Event)
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    floor.apply(event)
    assert floor.visits["v1"].external_id is None
    assert floor.by_external_id("v1") is None


def test_a_cancelled_or_no_show_appointment_is_not_checked_and_ends_only_a_visit_on_the_floor() -> None:
    # EHR exports keep a cancelled appointment's start and practitioner, who may have left the clinic since.
    body = (
        b"external_id,time,provider,visit_type,patient_name,status\n"
        b"A,08:00,kim,new,Ann Lee,booked\n"
        b"B,2026-11-20T08:00:00-06:00,dr-gone,retired-type,,cancelled\n"
        b"C,09:00,dr-gone,new,Cy,noshow\n"
    )
    rows = read(body, Format.csv, CLINIC, DAY)
    planned = plan(Floor(CLINIC, DAY, ids=Ids.seeded()), DAY, rows, TAP)
    assert (planned.summary.added, planned.summary.unchanged) == (1, 2)
    bad = body.replace(b"A,08:00,kim", b"A,08:00,dr-gone")
    with pytest.raises(ScheduleRefused) as refused:
        read(bad, Format.csv, CLINIC, DAY)
    assert [(p.line, p.field) for p in refused.value.problems] == [(2, "provider")]


def test_a_file_with_more_appointments_than_a_day_is_refused_before_it_is_checked() -> None:
    from floor.schedule import MAX_APPOINTMENTS

    rows = b"".join(b"A%d,08:00,kim,new,Patient %d\n" % (n, n) for n in range(MAX_APPOINTMENTS + 1))
    with pytest.raises(ScheduleRefused) as refused:
        read(b"external_id,time,provider,visit_type,patient_name\n" + rows, Format.csv, CLINIC, DAY)
    assert len(refused.value.problems) == 1
    assert "more than one clinic's day" in refused.value.problems[0].message


def test_a_byte_order_mark_does_not_hide_a_bundle() -> None:
    assert format_of(None, None, b'\xef\xbb\xbf{"resourceType": "Bundle"}') is Format.fhir


def test_a_previewed_booking_is_not_found_by_its_appointment_id_until_it_is_applied() -> None:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    event = floor.decide(BookVisit("Ann Lee", "kim", "new", _at("08:00"), external_id="EHR-1"), TAP)
    floor.preview(event)
    assert floor.by_external_id("EHR-1") is None
    floor.apply(event)
    assert floor.by_external_id("EHR-1") is floor.visits[event.visit]


def test_an_appointment_entered_in_error_cancels_its_visit_as_a_mistake() -> None:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    _store(floor, plan(floor, DAY, [_appointment("A", "08:00"), _appointment("B", "08:20", name="Bo Li")], TAP).events)
    later = [
        _appointment("A", "08:00", status="entered-in-error"),
        _appointment("B", "08:20", status="cancelled", name="Bo Li"),
    ]
    planned = plan(floor, DAY, later, TAP)
    assert [(e.change.step, e.change.entered_in_error) for e in planned.events] == [
        (Stage.cancelled, True),
        (Stage.cancelled, False),
    ]
    _store(floor, planned.events)
    assert [floor.by_external_id(x).entered_in_error for x in "AB"] == [True, False]
    # The same file again changes nothing; one that swaps the two meanings says so row by row (it said
    # "unchanged", and the measures kept the old meaning: a hostile review).
    assert plan(floor, DAY, later, TAP).summary.unchanged == 2
    swapped = [
        _appointment("A", "08:00", status="cancelled"),
        _appointment("B", "08:20", status="entered-in-error", name="Bo Li"),
    ]
    rows = plan(floor, DAY, swapped, TAP).summary
    assert (rows.not_applied, rows.unchanged) == (2, 0)
    assert "cancelled on the floor as entered in error" in rows.rows[0].reason
    assert "cancelled on the floor as a cancellation" in rows.rows[1].reason


def test_a_bundles_appointment_identifier_keeps_its_system() -> None:
    rows = {
        r.external_id: r for r in read((DATA / "schedule-riverside.fhir.json").read_bytes(), Format.fhir, CLINIC, DAY)
    }
    assert rows["EHR-1001"].external_system == "https://ehr.example.org/appointments"
    assert rows["EHR-1002"].external_system is None  # an identifier without a system
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    _store(floor, plan(floor, DAY, list(rows.values()), TAP).events)
    assert floor.by_external_id("EHR-1001").external_system == "https://ehr.example.org/appointments"


def _for(patient: str, external_id: str, start: str, status: str = "booked", name: str = "Maria Lopez") -> Appointment:
    return msgspec.structs.replace(_appointment(external_id, start, status=status, name=name), patient_id=patient)


def _arrived(floor: Floor, external_id: str) -> None:
    visit = floor.by_external_id(external_id)
    assert visit is not None
    floor.apply(floor.decide(TakeStep(visit.id, Stage.arrived), TAP))


def test_a_patient_here_whose_appointment_the_ehr_cancelled_and_rebooked_is_not_booked_twice() -> None:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    _store(floor, plan(floor, DAY, [_for("MRN-77", "A-1", "09:00")], TAP).events)
    _arrived(floor, "A-1")
    # At check-in the EHR cancelled A-1 and booked A-2 for the same patient (another id): the next file says so.
    rebooked = [_for("MRN-77", "A-1", "09:00", "cancelled"), _for("MRN-77", "A-2", "09:10")]
    planned = plan(floor, DAY, rebooked, TAP)
    assert planned.events == []
    cancel, again = planned.summary.rows
    assert cancel.outcome is Outcome.not_applied  # she is here: her visit is not cancelled either
    assert again.outcome is Outcome.not_applied and again.visit == floor.by_external_id("A-1").id
    assert "MRN-77" in again.reason and "rebooking" in again.reason
    # Once she has gone (seen and checked out, or left unseen), the same file books no phantom either.
    visit = floor.by_external_id("A-1")
    floor.apply(floor.decide(TakeStep(visit.id, Stage.left_without_being_seen), TAP))
    assert plan(floor, DAY, rebooked, TAP).events == []


@pytest.mark.parametrize(
    "rows",
    [
        # A second appointment the same day, hours later: the first cancelled or not, another visit.
        [_for("MRN-77", "A-1", "09:00", "cancelled"), _for("MRN-77", "A-2", "14:00")],
        # Another provider's file (the first appointment not in it at all): her afternoon with him.
        [msgspec.structs.replace(_for("MRN-77", "B-9", "09:30"), provider="okafor")],
        [_for("MRN-77", "A-1", "09:00"), _for("MRN-77", "A-2", "09:30")],  # two appointments, both booked
        [_for("MRN-78", "A-1", "09:00", "cancelled"), _for("MRN-78", "A-2", "09:00")],  # another patient
        [_appointment("A-1", "09:00", status="cancelled"), _appointment("A-2", "09:00")],  # no patient id
    ],
)
def test_other_appointments_of_the_day_are_booked(rows: list[Appointment]) -> None:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    _store(floor, plan(floor, DAY, [_for("MRN-77", "A-1", "09:00")], TAP).events)
    _arrived(floor, "A-1")
    planned = plan(floor, DAY, rows, TAP)
    assert planned.summary.rows[-1].outcome is Outcome.added


def test_a_rebooking_of_a_patient_who_never_came_is_booked() -> None:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    _store(floor, plan(floor, DAY, [_for("MRN-77", "A-1", "09:00")], TAP).events)
    visit = floor.by_external_id("A-1")
    floor.apply(floor.decide(TakeStep(visit.id, Stage.no_show), TAP))
    rows = [_for("MRN-77", "A-1", "09:00", "cancelled"), _for("MRN-77", "A-2", "10:00")]
    assert [r.outcome for r in plan(floor, DAY, rows, TAP).summary.rows][-1] is Outcome.added


def test_a_rebooking_before_the_patient_came_cancels_one_and_books_the_other() -> None:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    _store(floor, plan(floor, DAY, [_for("MRN-77", "A-1", "09:00")], TAP).events)
    planned = plan(floor, DAY, [_for("MRN-77", "A-1", "09:00", "cancelled"), _for("MRN-77", "A-2", "09:30")], TAP)
    assert [r.outcome for r in planned.summary.rows] == [Outcome.cancelled, Outcome.added]
    _store(floor, planned.events)
    assert floor.by_external_id("A-2").patient_id == "MRN-77"


def test_a_patient_id_is_read_from_a_csv_column_or_its_mrn() -> None:
    for column in ("patient_id", "MRN"):
        header = f"external_id,time,provider,visit_type,patient_name,{column}\n"
        body = header + "A,09:05,kim,follow,Ann,00123\nB,09:10,kim,follow,Bo,\n"
        first, second = read(body.encode(), Format.csv, CLINIC, DAY)
        assert (first.patient_id, second.patient_id) == ("00123", None)
    long = "external_id,time,provider,visit_type,patient_name,patient_id\nA,09:05,kim,follow,Ann," + "9" * 200 + "\n"
    with pytest.raises(ScheduleRefused) as refused:
        read(long.encode(), Format.csv, CLINIC, DAY)
    assert [p.field for p in refused.value.problems] == ["patient_id"]
