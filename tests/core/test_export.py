"""FHIR export: every visit of a day as an R4 Encounter that validates, whose status history follows the
visit's events (undos included), and the day's measures as a MeasureReport (and CSV)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import msgspec
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.measurereport import MeasureReport
from hypothesis import given, settings
from hypothesis import strategies as st

from floor.config import AppointmentTime
from floor.core.commands import BookVisit, TakeStep, Tap, UndoStep
from floor.core.errors import Refusal
from floor.core.events import Event, StepTaken, StepUndone, VisitBooked
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import ENDS, Stage
from floor.days import day_measures
from floor.export import (
    APPOINTMENT_TIME_EXTENSION,
    MEASURES,
    STAGE_EXTENSION,
    STATUS,
    encounters,
    measure_report,
    measures_csv,
    to_json,
)
from tests.core.measures_driver import clinic_with, random_day
from tests.support.clinics import quiet_clinic

CLINIC = quiet_clinic()
DAY = dt.date(2026, 11, 23)
NINE = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in Chicago
R4_STATUSES = {
    "planned",
    "arrived",
    "triaged",
    "in-progress",
    "onleave",
    "finished",
    "cancelled",
    "entered-in-error",
    "unknown",
}


class Day:
    """A clinic day tapped through the pure floor, minute by minute."""

    def __init__(self) -> None:
        self.floor = Floor(CLINIC, DAY, ids=Ids.seeded())
        self.events: list[Event] = []
        self.now = NINE

    def tap(self, command, minutes: float = 5) -> Event:
        self.now += dt.timedelta(minutes=minutes)
        event = self.floor.decide(command, Tap("someone", "tablet", self.now))
        self.floor.apply(event)
        self.events.append(event)
        return event

    def book(self, walk_in: bool = False, provider: str = "kim") -> str:
        start = None if walk_in else NINE + dt.timedelta(minutes=30)
        return self.tap(BookVisit("Ann Lee", provider, "follow", start, walk_in)).change.visit

    def step(self, visit: str, stage: Stage, room: str | None = None, minutes: float = 5) -> None:
        self.tap(TakeStep(visit, stage, room), minutes)

    def undo(self, visit: str) -> None:
        self.tap(UndoStep(visit))


def a_day_with_undos() -> tuple[Day, dict[str, str]]:
    day = Day()
    v = {}
    # Straight through, teach-back and all.
    v["done"] = day.book()
    for stage, room in [
        (Stage.arrived, None),
        (Stage.roomed, "e1"),
        (Stage.prep_done, None),
        (Stage.provider_in, None),
        (Stage.teach_back_done, None),
        (Stage.checked_out, None),
    ]:
        day.step(v["done"], stage, room)
    # Roomed in the wrong room, undone, roomed again; a checkout undone and then done again.
    v["undone"] = day.book(walk_in=True)
    day.step(v["undone"], Stage.roomed, "e2")
    day.undo(v["undone"])
    day.step(v["undone"], Stage.roomed, "e3")
    day.step(v["undone"], Stage.prep_done)
    day.step(v["undone"], Stage.provider_in)
    day.step(v["undone"], Stage.checked_out)
    day.undo(v["undone"])
    day.step(v["undone"], Stage.teach_back_done)
    day.step(v["undone"], Stage.checked_out)
    # A no-show (tapped arrived by mistake first), a cancellation, one who left unseen, one still waiting.
    v["no_show"] = day.book()
    day.step(v["no_show"], Stage.arrived)
    day.undo(v["no_show"])
    day.step(v["no_show"], Stage.no_show)
    v["cancelled"] = day.book()
    day.step(v["cancelled"], Stage.cancelled)
    v["left"] = day.book(walk_in=True, provider="okafor")
    day.step(v["left"], Stage.roomed, "e4")
    day.step(v["left"], Stage.left_without_being_seen)
    v["waiting"] = day.book()
    day.step(v["waiting"], Stage.arrived)
    v["in_room"] = day.book(walk_in=True)
    day.step(v["in_room"], Stage.roomed, "w1")
    day.step(v["in_room"], Stage.prep_done)
    day.step(v["in_room"], Stage.provider_in)
    day.undo(v["in_room"])
    return day, v


def expected_journey(events: list[Event], visit: str) -> list[tuple[Stage, dt.datetime]]:
    """The visit's stages and when each began, from its events alone: booking starts the journey, a step
    adds a stage, an undo takes the last one away (so its period is gone and the one before runs on)."""
    stack: list[tuple[Stage, dt.datetime]] = []
    for e in events:
        if e.visit != visit:
            continue
        match e.change:
            case VisitBooked(walk_in=walk_in):
                stack = [(Stage.arrived if walk_in else Stage.scheduled, e.at)]
            case StepTaken(step=step):
                stack.append((step, e.at))
            case StepUndone():
                stack.pop()
    return stack


def _by_visit(bundle: Bundle) -> dict[str, Encounter]:
    return {e.resource.identifier[0].value.split("/")[1]: e.resource for e in bundle.entry}


def test_every_exported_encounter_validates_and_uses_r4_statuses() -> None:
    day, visits = a_day_with_undos()
    bundle = encounters(CLINIC, DAY, day.events)
    assert bundle.type == "collection"
    # The wire form reads back with the same library: what leaves Floor is valid FHIR.
    again = Bundle.model_validate_json(to_json(bundle))
    assert len(again.entry) == len(visits)
    for entry in again.entry:
        resource = Encounter.model_validate(entry.resource.model_dump())
        assert resource.status in R4_STATUSES
        assert {h.status for h in resource.statusHistory} <= R4_STATUSES
        assert resource.class_fhir.code == "AMB"
    urls = [e.fullUrl for e in again.entry]
    assert len(set(urls)) == len(urls)
    assert to_json(encounters(CLINIC, DAY, day.events)) == to_json(bundle)  # a re-export is the same


def test_status_history_matches_the_visits_events_undos_included() -> None:
    day, visits = a_day_with_undos()
    exported = _by_visit(encounters(CLINIC, DAY, day.events))
    for name, visit in visits.items():
        enc = exported[visit]
        journey = expected_journey(day.events, visit)
        stages = [Stage(h.extension[0].valueCode) for h in enc.statusHistory]
        assert [h.extension[0].url for h in enc.statusHistory] == [STAGE_EXTENSION] * len(stages)
        assert stages == [s for s, _ in journey], name
        assert [h.status for h in enc.statusHistory] == [STATUS[s] for s in stages], name
        assert [h.period.start for h in enc.statusHistory] == [at for _, at in journey], name
        # Each period ends when the next begins; the last is open unless the visit ended.
        ends = [h.period.end for h in enc.statusHistory]
        last_stage, last_at = journey[-1]
        assert ends == [at for _, at in journey[1:]] + [last_at if last_stage in ENDS else None], name
        assert enc.status == STATUS[last_stage], name


def test_undone_steps_leave_no_period_and_rooms_follow_the_journey() -> None:
    day, v = a_day_with_undos()
    exported = _by_visit(encounters(CLINIC, DAY, day.events))

    undone = exported[v["undone"]]
    # Roomed in e2 by mistake (undone): only e3 is a location; the undone checkout left no gap in e3.
    assert [(loc.location.identifier.value, loc.status) for loc in undone.location] == [("e3", "completed")]
    journey = dict(expected_journey(day.events, v["undone"]))
    assert undone.location[0].period.start == journey[Stage.roomed]
    assert undone.location[0].period.end == journey[Stage.checked_out]
    assert [h.status for h in undone.statusHistory] == [
        "arrived",
        "triaged",
        "triaged",
        "in-progress",
        "in-progress",
        "finished",
    ]
    # With the provider from provider-in to the teach-back.
    (participant,) = undone.participant
    assert participant.individual.identifier.value == "kim"
    assert participant.period.start == journey[Stage.provider_in]
    assert participant.period.end == journey[Stage.teach_back_done]

    in_room = exported[v["in_room"]]
    assert in_room.status == "triaged"
    assert [(loc.location.identifier.value, loc.status, loc.period.end) for loc in in_room.location] == [
        ("w1", "active", None)
    ]
    assert in_room.participant[0].period is None  # the provider-in was undone


def test_no_show_and_left_unseen_carry_their_reason_and_waiting_visits_have_no_room() -> None:
    day, v = a_day_with_undos()
    exported = _by_visit(encounters(CLINIC, DAY, day.events))

    def reason(enc: Encounter) -> str | None:
        found = [
            x.valueCodeableConcept.coding[0].code for x in enc.extension or [] if x.valueCodeableConcept is not None
        ]
        return found[0] if found else None

    assert (exported[v["no_show"]].status, reason(exported[v["no_show"]])) == ("cancelled", "no_show")
    assert [h.status for h in exported[v["no_show"]].statusHistory] == ["planned", "cancelled"]
    assert exported[v["no_show"]].period is None  # never arrived (the mistaken arrival was undone)
    assert (exported[v["cancelled"]].status, reason(exported[v["cancelled"]])) == ("cancelled", None)
    left = exported[v["left"]]
    assert (left.status, reason(left)) == ("finished", "left_without_being_seen")
    assert left.location[0].location.identifier.value == "e4" and left.location[0].status == "completed"
    assert left.period.end is not None
    assert exported[v["waiting"]].status == "arrived" and not exported[v["waiting"]].location
    assert exported[v["done"]].status == "finished" and exported[v["done"]].period.end is not None


def test_the_days_measures_as_a_measure_report_and_csv() -> None:
    day, _ = a_day_with_undos()
    closes = CLINIC.local(DAY, CLINIC.session.closes)
    measures = day_measures(CLINIC, DAY, day.events, closes)
    report = MeasureReport.model_validate_json(to_json(measure_report(CLINIC, DAY, measures, closed=True)))
    assert (report.status, report.type) == ("complete", "summary")
    # Today's, the session closed or not, is pending: a tap can still change it.
    assert measure_report(CLINIC, DAY, measures).status == "pending"
    groups = {g.code.coding[0].code: g for g in report.group}
    assert groups["booked"].measureScore.value == measures.clinic.booked == 7
    assert groups["no_show"].measureScore.value == 1
    assert groups["cycle_time.median"].measureScore.value == measures.clinic.cycle_time.median
    assert groups["cycle_time.median"].measureScore.code == "min"
    teach = groups["teach_back_rate"]
    assert {p.code.coding[0].code: p.count for p in teach.population} == {"denominator": 2, "numerator": 2}
    strata = {s.value.coding[0].code: s for s in groups["booked"].stratifier[0].stratum}
    assert strata["kim"].measureScore.value == 6 and strata["okafor"].measureScore.value == 1

    rows = list(csv.DictReader(io.StringIO(measures_csv(CLINIC, DAY, measures))))
    assert rows[0]["provider"] == "" and rows[0]["booked"] == "7"
    assert {r["provider"]: r["booked"] for r in rows[1:]}["okafor"] == "1"
    assert rows[0]["cycle_time_median"] == str(measures.clinic.cycle_time.median)
    # How many visits had "provider in" tapped only at their end (none this day), in both.
    assert groups["untapped_in"].measureScore.value == measures.clinic.untapped_in == 0
    assert rows[0]["untapped_in"] == "0"


@pytest.mark.parametrize(
    ("convention", "lateness", "on_time"), [(AppointmentTime.arrival, 0.0, 1), (AppointmentTime.provider, 8.0, 0)]
)
def test_the_measure_report_says_what_a_booked_time_means_and_measures_lateness_by_it(
    convention: AppointmentTime, lateness: float, on_time: int
) -> None:
    """A follow-up booked 09:30 (roomed 6 + prep 3) and seen at 09:38: on time where 09:30 was the patient's
    arrival (the provider due 09:39), 8 minutes late where it was the provider's."""
    clinic = msgspec.structs.replace(
        CLINIC, session=msgspec.structs.replace(CLINIC.session, appointment_time=convention)
    )
    day = Day()
    day.floor = Floor(clinic, DAY, ids=Ids.seeded())
    v = day.book()
    day.step(v, Stage.arrived, minutes=5)  # 09:10
    day.step(v, Stage.roomed, "e1", minutes=11)  # 09:21
    day.step(v, Stage.prep_done, minutes=6)  # 09:27
    day.step(v, Stage.provider_in, minutes=11)  # 09:38
    measures = day_measures(clinic, DAY, day.events, clinic.local(DAY, clinic.session.closes))
    report = MeasureReport.model_validate_json(to_json(measure_report(clinic, DAY, measures, closed=True)))
    assert [(x.url, x.valueCode) for x in report.extension] == [(APPOINTMENT_TIME_EXTENSION, convention.value)]
    rows = list(csv.DictReader(io.StringIO(measures_csv(clinic, DAY, measures))))
    assert {r["appointment_time"] for r in rows} == {convention.value}
    groups = {g.code.coding[0].code: g for g in report.group}
    assert groups["worst_lateness"].measureScore.value == lateness
    starts = {p.code.coding[0].code: p.count for p in groups["on_time_starts"].population}
    assert starts == {"denominator": 1, "numerator": on_time}


def test_an_imported_visit_carries_the_schedules_id() -> None:
    day = Day()
    visit = day.tap(
        BookVisit("Ann Lee", "kim", "follow", NINE + dt.timedelta(minutes=30), external_id="appt-4711")
    ).change.visit
    (enc,) = _by_visit(encounters(CLINIC, DAY, day.events)).values()
    assert [(i.system, i.value) for i in enc.identifier] == [
        ("urn:floor:riverside:visit", f"{DAY}/{visit}"),
        ("urn:floor:riverside:external-id", "appt-4711"),
    ]
    (appointment,) = enc.appointment
    assert (appointment.type, appointment.identifier.value) == ("Appointment", "appt-4711")


def test_a_booking_entered_in_error_is_exported_as_such_and_counts_in_no_measure() -> None:
    day = Day()
    mistake = day.tap(
        BookVisit("Ann Lee", "kim", "follow", NINE + dt.timedelta(minutes=30), external_id="appt-1")
    ).change.visit
    kept = day.tap(
        BookVisit("Bo Li", "kim", "follow", NINE + dt.timedelta(minutes=50), external_id="appt-2")
    ).change.visit
    day.tap(TakeStep(mistake, Stage.cancelled, entered_in_error=True))
    day.tap(TakeStep(kept, Stage.cancelled))
    found = _by_visit(encounters(CLINIC, DAY, day.events))
    assert found[mistake].status == "entered-in-error"
    assert [h.status for h in found[mistake].statusHistory] == ["planned", "entered-in-error"]
    assert found[kept].status == "cancelled"
    measures = day_measures(CLINIC, DAY, day.events).clinic
    assert (measures.booked, measures.cancelled) == (1, 1)


def test_a_walk_in_removed_as_booked_by_mistake_ends_its_history_where_it_was_removed() -> None:
    """Its removal is no step: the history held only "arrived", left open, beside an "entered-in-error" status
    (a hostile review)."""
    day = Day()
    walk_in = day.book(walk_in=True)
    day.undo(walk_in)  # no step yet: the booking itself is taken back
    removed_at = day.now
    (enc,) = _by_visit(encounters(CLINIC, DAY, day.events)).values()
    assert enc.status == "entered-in-error"
    history = [(h.status, h.period.end) for h in enc.statusHistory]
    assert [status for status, _ in history] == ["arrived", "entered-in-error"]
    assert history[0][1] is not None and history[0][1] == removed_at


def test_only_a_cancellation_can_be_entered_in_error_and_an_undo_clears_it() -> None:
    day = Day()
    visit = day.book()
    with pytest.raises(Refusal) as refused:
        day.floor.decide(TakeStep(visit, Stage.arrived, entered_in_error=True), Tap("someone", "tablet", day.now))
    assert refused.value.field == "entered_in_error"
    day.tap(TakeStep(visit, Stage.cancelled, entered_in_error=True))
    assert day.floor.visits[visit].entered_in_error
    day.tap(UndoStep(visit))
    assert not day.floor.visits[visit].entered_in_error


def test_a_visit_still_open_when_its_day_closed_is_exported_as_unknown() -> None:
    day = Day()
    waiting = day.book()
    done = day.book()
    day.tap(TakeStep(waiting, Stage.arrived))
    day.tap(TakeStep(done, Stage.cancelled))
    today = _by_visit(encounters(CLINIC, DAY, day.events))
    assert (today[waiting].status, today[done].status) == ("arrived", "cancelled")
    closed = _by_visit(encounters(CLINIC, DAY, day.events, closed=True))
    assert (closed[waiting].status, closed[done].status) == ("unknown", "cancelled")
    assert [h.status for h in closed[waiting].statusHistory] == ["planned", "arrived"]  # what was seen


def test_an_appointment_id_in_the_ehrs_namespace_is_exported_in_it() -> None:
    day = Day()
    visit = day.tap(
        BookVisit(
            "Ann Lee",
            "kim",
            "follow",
            NINE + dt.timedelta(minutes=30),
            external_id="EHR-1001",
            external_system="https://ehr.example.org/appointments",
        )
    ).change.visit
    (enc,) = _by_visit(encounters(CLINIC, DAY, day.events)).values()
    assert [(i.system, i.value) for i in enc.identifier] == [
        ("urn:floor:riverside:visit", f"{DAY}/{visit}"),
        ("https://ehr.example.org/appointments", "EHR-1001"),
    ]
    assert enc.appointment[0].identifier.system == "https://ehr.example.org/appointments"


@pytest.mark.parametrize(
    ("patient_id", "subject"),
    [
        ("Patient/pt-9", {"reference": "Patient/pt-9"}),
        ("urn:oid:1.2.3|77", {"identifier": {"system": "urn:oid:1.2.3", "value": "77"}}),
        ("00123", {"identifier": {"value": "00123"}}),
        (None, {}),
    ],
)
def test_the_patient_the_schedule_named_is_the_encounters_subject(patient_id: str | None, subject: dict) -> None:
    day = Day()
    day.tap(BookVisit("Ann Lee", "kim", "follow", NINE, external_id="A-1", patient_id=patient_id))
    (enc,) = _by_visit(encounters(CLINIC, DAY, day.events)).values()
    assert enc.subject.model_dump(exclude_none=True) == {"display": "Ann Lee", **subject}


def test_a_room_and_a_provider_set_from_the_browser_during_the_day_are_exported_by_their_names() -> None:
    from floor.config import Provider, Room
    from floor.core.commands import SetProviders, SetRooms

    day = Day()
    day.tap(SetRooms([*CLINIC.rooms, Room("n1", "North 1", "north")]))
    day.tap(SetProviders([*CLINIC.providers, Provider("patel", "Dr. Ravi Patel", "RP")]))
    visit = day.book(walk_in=True, provider="patel")
    day.step(visit, Stage.roomed, "n1")
    day.step(visit, Stage.left_without_being_seen)
    # North 1 and Dr. Patel taken out before the day ends: named as the day had them (they were named by their ids).
    day.tap(SetRooms(list(CLINIC.rooms)))
    day.tap(SetProviders(list(CLINIC.providers)))
    exported = _by_visit(encounters(CLINIC, DAY, day.events))[visit]
    assert [(loc.location.identifier.value, loc.location.display) for loc in exported.location] == [("n1", "North 1")]
    assert [(p.individual.identifier.value, p.individual.display) for p in exported.participant] == [
        ("patel", "Dr. Ravi Patel")
    ]


def _periods(resource: Encounter) -> list[tuple[str, object]]:
    """Every Period of an Encounter, with where it is."""
    found = [("period", resource.period)]
    found += [(f"statusHistory[{i}]", h.period) for i, h in enumerate(resource.statusHistory or [])]
    found += [(f"location[{i}]", loc.period) for i, loc in enumerate(resource.location or [])]
    found += [(f"participant[{i}]", p.period) for i, p in enumerate(resource.participant or [])]
    return [(where, p) for where, p in found if p is not None]


def _inverted(bundle: Bundle) -> list[str]:
    """FHIR's per-1 (a Period's start, if both are given, is not after its end), which a validating FHIR server
    enforces and fhir.resources does not."""
    return [
        f"{e.resource.id} {where}: {p.start} to {p.end}"
        for e in bundle.entry or []
        for where, p in _periods(e.resource)
        if p.start is not None and p.end is not None and p.start > p.end
    ]


def test_a_patient_who_came_before_their_visit_was_booked_has_no_period_ending_before_it_starts() -> None:
    """An add-on booked at 09:40 for a patient who came at 09:30 (their arrival tapped with "10 minutes ago", as
    the README allows: the booking is no step). The Encounter's status history said `planned` from 09:40 to 09:30,
    a Period ending before it starts (FHIR's per-1): a validating FHIR server refuses the Encounter, and with it,
    in a transaction, the day. The planned stage ends at the arrival, and lasts nothing where it came after it."""
    day = Day()
    day.now = NINE + dt.timedelta(minutes=40)
    addon = day.tap(BookVisit("Bo Chen", "kim", "follow", NINE + dt.timedelta(minutes=30)), 0).change.visit
    day.tap(TakeStep(addon, Stage.arrived, minutes_ago=10), 0)
    later = day.book()
    day.tap(TakeStep(later, Stage.no_show, minutes_ago=30), 0)  # booked, then told they had not come at 9:10
    bundle = encounters(CLINIC, DAY, day.events, closed=True)
    assert _inverted(bundle) == []
    planned = _by_visit(bundle)[addon].statusHistory[0]
    came = NINE + dt.timedelta(minutes=30)
    assert (planned.status, planned.period.start, planned.period.end) == ("planned", came, came)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(rng=st.randoms(use_true_random=True), ops=st.integers(5, 120))
def test_every_visit_of_a_random_day_is_exported_once_as_an_encounter_a_fhir_server_takes(rng, ops) -> None:
    """Random days (tests/core/measures_driver.py: bookings, walk-ins, taps entered late, undos, moves, no-shows,
    patients leaving unseen, walk-ins removed, cancellations entered in error), today's and as a day gone by: each
    visit once, by its id, with R4's statuses and no Period ending before it starts."""
    run = random_day(rng, clinic_with(AppointmentTime.arrival), dt.date(2025, 3, 12), ops)
    for closed in (False, True):
        bundle = Bundle.model_validate_json(to_json(encounters(run.clinic, run.day, run.events, closed)))
        ids = [e.resource.identifier[0].value.split("/")[1] for e in bundle.entry or []]
        assert sorted(ids) == sorted(run.floor.visits), ids
        for entry in bundle.entry or []:
            assert entry.resource.status in R4_STATUSES
            assert {h.status for h in entry.resource.statusHistory} <= R4_STATUSES
        assert _inverted(bundle) == [], "\n".join([*_inverted(bundle), "-- the day:", *run.log])


def test_the_measures_csv_names_each_provider_as_the_page_does_and_a_spreadsheet_runs_no_name() -> None:
    """The CSV named providers by their ids only ("kim"), where the manager's page and the MeasureReport name them
    ("Dr. Jenna Kim"): the medical director's spreadsheet needed a lookup to tell whose row is whose. Each row now
    has the provider's name too; a name a spreadsheet would take as a formula (a clinic file's `=HYPERLINK(...)`) is
    written as text, and one with a comma stays one cell."""
    names = {"kim": '=HYPERLINK("http://x.test","Kim")', "okafor": "Okafor, Daniel", "silva": "-Silva"}
    clinic = msgspec.structs.replace(
        CLINIC,
        providers=[msgspec.structs.replace(p, name=names.get(p.id, p.name)) for p in CLINIC.providers],
    )
    day, _ = a_day_with_undos()
    measures = day_measures(clinic, DAY, day.events, clinic.local(DAY, clinic.session.closes))
    rows = list(csv.reader(io.StringIO(measures_csv(clinic, DAY, measures))))
    header = rows[0]
    assert header[5:7] == ["provider", "provider_name"]
    assert all(len(r) == len(header) for r in rows)
    by_id = {r[5]: r[6] for r in rows[1:]}
    assert by_id[""] == ""  # the clinic's row
    assert by_id["kim"] == "'" + names["kim"]
    assert by_id["okafor"] == "Okafor, Daniel"
    assert by_id["silva"] == "'-Silva"
    assert {r[5] for r in rows[1:]} == {"", *(p.id for p in clinic.providers)}


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    rng=st.randoms(use_true_random=True),
    ops=st.integers(5, 120),
    convention=st.sampled_from(list(AppointmentTime)),
)
def test_the_measure_report_and_the_csv_say_every_figure_the_api_gives(rng, ops, convention) -> None:
    """Random days (tests/core/measures_driver.py) measured as they closed: every figure of the clinic and of each
    provider (`GET .../measures`) is the MeasureReport's group or stratum score and population, and the CSV's cell,
    none missing, none another's."""
    run = random_day(rng, clinic_with(convention), dt.date(2025, 3, 12), ops)
    measures = day_measures(run.clinic, run.day, run.events)
    api = msgspec.to_builtins(measures)
    report = MeasureReport.model_validate_json(to_json(measure_report(run.clinic, run.day, measures, closed=True)))
    rows = list(csv.DictReader(io.StringIO(measures_csv(run.clinic, run.day, measures))))
    assert [r["provider"] for r in rows] == ["", *api["providers"]]
    groups = {g.code.coding[0].code: g for g in report.group}

    def reported(part) -> dict:
        pops = {p.code.coding[0].code: p.count for p in part.population or []}
        score = part.measureScore.value if part.measureScore is not None else None
        return {"score": None if score is None else float(score), **pops}

    for scope, figures, row in [("", api["clinic"], rows[0])] + [
        (pid, api["providers"][pid], r) for pid, r in zip(api["providers"], rows[1:], strict=True)
    ]:
        for name, value in figures.items():
            if isinstance(value, dict) and "median" in value:
                for stat in ("median", "p90"):
                    group = groups[f"{name}.{stat}"]
                    part = (
                        group
                        if not scope
                        else next(s for s in group.stratifier[0].stratum if s.value.coding[0].code == scope)
                    )
                    assert reported(part) == {"score": value[stat], "measure-population": value["count"]}, (scope, name)
                assert [row[f"{name}_{k}"] for k in ("count", "median", "p90")] == [
                    "" if value[k] is None else str(value[k]) for k in ("count", "median", "p90")
                ], (scope, name)
            elif isinstance(value, dict):
                group = groups[name]
                part = (
                    group
                    if not scope
                    else next(s for s in group.stratifier[0].stratum if s.value.coding[0].code == scope)
                )
                assert reported(part) == {
                    "score": value["rate"],
                    "denominator": value["count"],
                    "numerator": value["hits"],
                }
                assert [row[f"{name}_{k}"] for k in ("count", "hits", "rate")] == [
                    "" if value[k] is None else str(value[k]) for k in ("count", "hits", "rate")
                ], (scope, name)
            else:
                group = groups[name]
                part = (
                    group
                    if not scope
                    else next(s for s in group.stratifier[0].stratum if s.value.coding[0].code == scope)
                )
                assert reported(part) == {"score": float(value)}, (scope, name)
                assert row[name] == str(value), (scope, name)


def test_the_measures_csv_says_when_its_figures_were_taken_and_whether_the_day_can_change_them() -> None:
    """A CSV downloaded at 10:00 gave the morning's figures with nothing to tell them from a day's: appended to a
    spreadsheet of days gone by, a partial day read as a whole one (the MeasureReport says `pending` and its date).
    Each row now says when (`as_of`, the clinic's time with its offset) and `pending` or `complete`, as the
    MeasureReport's status."""
    day, _ = a_day_with_undos()
    morning = CLINIC.local(DAY, dt.time(10))
    today = list(csv.DictReader(io.StringIO(measures_csv(CLINIC, DAY, day_measures(CLINIC, DAY, day.events, morning)))))
    assert {(r["as_of"], r["status"]) for r in today} == {("2026-11-23T10:00:00-06:00", "pending")}
    past = day_measures(CLINIC, DAY, day.events)
    gone = list(csv.DictReader(io.StringIO(measures_csv(CLINIC, DAY, past, closed=True))))
    assert {(r["as_of"], r["status"]) for r in gone} == {(past.at.astimezone(CLINIC.tz).isoformat(), "complete")}
    report = measure_report(CLINIC, DAY, past, closed=True)
    assert report.status == gone[0]["status"]


def test_the_readme_gives_the_unit_of_every_kind_of_column_in_the_measures_csv() -> None:
    """The CSV's headers name no unit (spreadsheets and these tests read them by name): the README's export
    section says what each kind of column counts or measures, and does for a kind added to MEASURES."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Export (FHIR)", 1)[1].split("\n## ", 1)[0]
    units = " ".join(section.split("the headers name no units", 1)[1].split(", or from the command line", 1)[0].split())
    header = next(csv.reader(io.StringIO(measures_csv(CLINIC, DAY, day_measures(CLINIC, DAY, [], NINE)))))
    said = {
        "durations": ["`..._median` and `..._p90` are minutes"],
        "share": ["`..._rate` a share from 0 to 1", "`..._hits` of `..._count` visits"],
        "minutes": [f"`{name}`" for name, kind in MEASURES if kind == "minutes"] + ["minutes"],
        "count": ["other figures counts of visits"],
    }
    assert {kind for _, kind in MEASURES} == set(said)
    for kind, words in said.items():
        for word in words:
            assert word in units, (kind, word, units)
    # Every figure's column is of one of those kinds.
    named = {name for name, _ in MEASURES}
    for column in header[7:]:
        assert column in named or column.rsplit("_", 1)[0] in named, column
