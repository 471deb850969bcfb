"""Schedule import, the pure part: appointments read from a clinic's schedule (CSV or FHIR, see
floor/schedule/) checked against the clinic, then planned against today's floor as the events that bring
the floor in line with them.

Planning is all or nothing: every event is decided on a copy of the floor first, so a file that cannot be
taken whole is refused before anything is stored. An appointment is matched to its visit by its external
id; importing the same file again plans nothing.
"""

from __future__ import annotations

import copy
import datetime as dt
from enum import StrEnum

from msgspec import Struct, field

from floor.config import Clinic
from floor.core.commands import BookVisit, Command, RescheduleVisit, TakeStep, Tap
from floor.core.errors import Refusal, Why
from floor.core.events import Event
from floor.core.floor import Floor, Visit
from floor.core.journey import Stage
from floor.core.text import same_name, unreadable


class Intent(StrEnum):
    """What an appointment's status asks of the floor."""

    book = "book"  # on today's schedule: booked if new, moved if its time or provider changed
    cancel = "cancel"  # cancelled, or entered in error: a scheduled visit becomes cancelled
    no_show = "no_show"  # the schedule recorded a no-show
    skip = "skip"  # not a booking (proposed, waitlist): nothing to do on the floor


#: Appointment statuses (FHIR R4 `AppointmentStatus`, also the CSV's `status` column) and what each asks.
#: Arrived, checked-in and fulfilled only book: the journey after arrival is recorded by the floor's own
#: taps, with their real times, never moved forward by an import.
STATUSES: dict[str, Intent] = {
    "booked": Intent.book,
    "pending": Intent.book,
    "arrived": Intent.book,
    "checked-in": Intent.book,
    "fulfilled": Intent.book,
    "cancelled": Intent.cancel,
    "entered-in-error": Intent.cancel,
    "noshow": Intent.no_show,
    "proposed": Intent.skip,
    "waitlist": Intent.skip,
}


class Problem(Struct, frozen=True, omit_defaults=True):
    """Why a file was refused: where (a CSV line, or a Bundle entry and its resource) and which field."""

    where: str
    message: str
    field: str | None = None
    line: int | None = None
    entry: int | None = None
    resource: str | None = None


class Appointment(Struct, frozen=True):
    """One appointment of the day's schedule, as read from a file (not yet checked against the clinic)."""

    where: str
    external_id: str
    status: str
    start: dt.datetime | None
    provider: str
    visit_type: str
    patient_name: str
    notes: str = ""
    line: int | None = None
    entry: int | None = None
    resource: str | None = None
    #: The system of the external id in the EHR (a FHIR Appointment identifier's), if given.
    external_system: str | None = None
    #: The patient in the EHR (a CSV's `patient_id`, a FHIR Patient's identifier or reference), if given: an
    #: appointment rebooked under a new id for a patient already on the floor is not booked twice.
    patient_id: str | None = None

    def problem(self, message: str, field: str | None = None) -> Problem:
        """A problem with this appointment, its field named as its file names it (`field` is the CSV column's name:
        a Bundle's appointment has `start`, not `time`)."""
        if self.entry is not None and field is not None:
            field = FHIR_FIELDS.get(field, field)
        return Problem(self.where, message, field, self.line, self.entry, self.resource)


#: The CSV's columns as a FHIR Appointment names what they hold (floor.schedule.fhir_bundle): a refused Bundle's
#: problems named `visit_type` or `notes`, columns no Bundle has (a hostile review).
FHIR_FIELDS = {
    "time": "start",
    "external_id": "identifier",
    "provider": "participant",
    "visit_type": "appointmentType",
    "patient_name": "participant",
    "patient_id": "participant",
    "notes": "comment",
}


class ScheduleRefused(Exception):
    """The file was refused whole; nothing was stored. `problems`: those listed (the first ones of a file with
    very many); `count`: how many there are in all (default: those listed)."""

    def __init__(self, problems: list[Problem], count: int | None = None) -> None:
        first = problems[0]
        self.count = len(problems) if count is None else count
        more = f" (and {self.count - 1} more)" if self.count > 1 else ""
        super().__init__(f"The schedule was not imported: {first.where}: {first.message}{more}")
        self.problems = problems


class Outcome(StrEnum):
    added = "added"
    updated = "updated"
    cancelled = "cancelled"
    no_show = "no_show"
    unchanged = "unchanged"
    not_applied = "not_applied"


class RowResult(Struct, frozen=True, omit_defaults=True):
    where: str
    external_id: str
    outcome: Outcome
    visit: str | None = None
    reason: str | None = None


class Summary(Struct):
    """What an import did, row by row and in counts."""

    day: dt.date
    added: int = 0
    updated: int = 0
    cancelled: int = 0
    no_show: int = 0
    unchanged: int = 0
    not_applied: int = 0
    rows: list[RowResult] = field(default_factory=list)
    #: The seq of the last event stored (the floor's seq when nothing was).
    seq: int = 0
    #: For a day ahead: when its visits are booked (the day's opening, midnight clinic time). The counts
    #: say what the file will do then.
    books_at: dt.datetime | None = None
    #: Only checked (`check=true`): nothing was stored or kept; the counts say what importing it would do.
    checked: bool = False

    def count(self, row: RowResult) -> None:
        self.rows.append(row)
        setattr(self, row.outcome.value, getattr(self, row.outcome.value) + 1)


def books_nothing(status: str) -> bool:
    """An appointment that books nothing (waitlisted, cancelled, a no-show): its provider, visit type, patient and
    time are not checked, so an EHR export listing one for a provider who has left is not refused for it. It
    can only end a visit already on the floor, which was checked when it was booked."""
    return STATUSES.get(status) in (Intent.skip, Intent.cancel, Intent.no_show)


#: An appointment's id in the EHR: FHIR ids are at most 64 characters; identifier values a little longer.
MAX_EXTERNAL_ID = 128


def check(clinic: Clinic, day: dt.date, appointments: list[Appointment]) -> list[Appointment]:
    """Check every appointment against the clinic and the day; raise ScheduleRefused naming every problem.
    Unknown providers and visit types are reported, never added."""
    problems: list[Problem] = []
    seen: dict[str, Appointment] = {}
    for a in appointments:
        intent = STATUSES.get(a.status)
        if intent is None:
            problems.append(a.problem(f"unknown status {a.status!r} (one of: {', '.join(STATUSES)})", "status"))
        if not a.external_id:
            problems.append(a.problem("every appointment needs its id in the schedule", "external_id"))
        elif len(a.external_id) > MAX_EXTERNAL_ID:
            problems.append(
                a.problem(f"the appointment's id is longer than {MAX_EXTERNAL_ID} characters", "external_id")
            )
        elif why := unreadable("external_id", a.external_id):
            problems.append(a.problem(why, "external_id"))
        elif (twin := seen.get(a.external_id)) is not None:
            problems.append(
                a.problem(f"appointment {a.external_id!r} appears twice (also {twin.where})", "external_id")
            )
        else:
            seen[a.external_id] = a
        if a.patient_id is not None:
            if len(a.patient_id) > MAX_EXTERNAL_ID:
                too_long = f"the patient's id is longer than {MAX_EXTERNAL_ID} characters"
                problems.append(a.problem(too_long, "patient_id"))
            elif why := unreadable("patient_id", a.patient_id):
                problems.append(a.problem(why, "patient_id"))
        if books_nothing(a.status):
            continue  # nothing to book: a cancelled appointment may have lost its time
        if clinic.provider(a.provider) is None:
            known = ", ".join(p.id for p in clinic.providers)
            problems.append(a.problem(f"unknown provider {a.provider!r} (this clinic has: {known})", "provider"))
        if clinic.visit_type(a.visit_type) is None:
            known = ", ".join(v.code for v in clinic.visit_types)
            problems.append(a.problem(f"unknown visit type {a.visit_type!r} (this clinic has: {known})", "visit_type"))
        if not a.patient_name.strip():
            problems.append(a.problem("the patient's display name is missing", "patient_name"))
        elif len(a.patient_name) > 80:
            problems.append(a.problem("the patient's display name is longer than 80 characters", "patient_name"))
        elif why := unreadable("patient_name", a.patient_name):
            problems.append(a.problem(why, "patient_name"))
        if len(a.notes) > 500:
            problems.append(a.problem("notes are longer than 500 characters", "notes"))
        elif why := unreadable("notes", a.notes, multiline=True):
            problems.append(a.problem(why, "notes"))
        if a.start is None:
            problems.append(a.problem("the appointment has no start time", "time"))
        elif clinic.day_of(at := _aware(clinic, a.start)) != day:
            problems.append(a.problem(f"starts {clinic.local_text(at)}, not on {day}", "time"))
    if problems:
        raise ScheduleRefused(problems)
    return appointments


def _aware(clinic: Clinic, at: dt.datetime) -> dt.datetime:
    """A time without a zone is the clinic's local time."""
    return at if at.tzinfo else at.replace(tzinfo=clinic.tz)


class DayRefused(Refusal):
    """A file refused for the day it is for (a past day, or one too far ahead), not for anything it holds: the
    same file may be taken another day (a schedule kept for its day is kept on: floor.schedule's
    `book_upcoming`)."""


def check_day(today: dt.date, day: dt.date, ahead: int = 0) -> None:
    """Today's schedule is imported onto the floor, and one up to `ahead` days ahead is kept for its day; a
    past day is read-only."""
    if day < today:
        raise DayRefused(
            Why.invalid, f"{day} is a past clinic day (today is {today}); past days are read-only.", field="date"
        )
    if day > today + dt.timedelta(days=ahead):
        limit = (
            f"schedules are taken up to {ahead} days ahead" if ahead else "only today's schedule can be imported here"
        )
        raise DayRefused(Why.invalid, f"{day} is too far ahead (today is {today}); {limit}.", field="date")


class Planned(Struct):
    summary: Summary
    #: The events to store, in order, decided against a copy of the floor (seq follows the floor's).
    events: list[Event]
    #: The row each event is for, by seq.
    rows: dict[int, RowResult]


def plan(floor: Floor, day: dt.date, appointments: list[Appointment], tap: Tap) -> Planned:
    """The events that bring today's floor in line with the checked appointments, decided on a copy of the
    floor (so each is checked as it would be stored); a Refusal means the file cannot be taken whole."""
    check_day(floor.day, day)
    scratch = copy.deepcopy(floor, {id(floor.clinic): floor.clinic})  # the clinic's settings are not changed
    summary = Summary(day)
    events: list[Event] = []
    rows: dict[int, RowResult] = {}
    rebookings = _Rebookings(scratch, appointments)
    for a in appointments:
        visit = scratch.by_external_id(a.external_id)
        if visit is None and (twin := rebookings.claim(a)) is not None:
            summary.count(_rebooked(a, twin))
            continue
        command, row = _row(scratch, a, visit)
        if command is not None:
            try:
                event = scratch.decide(command, tap)
            except Refusal as refusal:
                raise ScheduleRefused([a.problem(refusal.message, refusal.field)]) from None
            touched = scratch.apply(event)
            events.append(event)
            row = RowResult(row.where, row.external_id, row.outcome, touched.visit.id if touched.visit else None)
            rows[event.seq] = row
        summary.count(row)
    summary.seq = scratch.seq
    return Planned(summary, events, rows)


#: How far from the start of the visit a patient came for a rebooked appointment may start: an EHR rebooks at
#: check-in for about the same time (another visit type, another provider); one hours away is another visit.
REBOOKED_WITHIN = dt.timedelta(hours=2)


class _Rebookings:
    """Visits of patients who came (arrived, whatever happened after) whose own appointment the file cancels, by
    the patient's id in the EHR: an EHR that cancels and rebooks a patient at check-in (a new appointment id)
    sends, with the cancellation, a second appointment for someone already seen to. Booked, it was a phantom
    patient who never came, counted a no-show at the end of the day (a review). Only a cancellation in the file
    counts (one naming another patient is not about the visit: it is not applied, `_row`): an appointment it leaves
    out may be in another file (another provider's, the afternoon's), and a patient's second appointment of the
    day is booked.

    Each visit's rebooking is the patient's new appointment nearest it in time, each taken once, decided for the
    whole file before any row is planned. Claimed row by row (the first row won), the order of the rows decided
    which of two appointments was the rebooking, and a later file listing a follow-up before the rebooking booked
    the rebooking as a second visit (a hostile review). Pairs are taken nearest first, ties by the appointment's
    time and id, so the file's order does not matter, and the same file planned again takes the same pairs (what
    it booked the first time was paired with no visit). Nothing records a pairing: a later file whose new
    appointment is nearer the visit than its rebooking (an EHR rebooks for about the visit's time) takes that one
    for it instead."""

    def __init__(self, floor: Floor, appointments: list[Appointment]) -> None:
        cancelled = {a.external_id: a for a in appointments if STATUSES.get(a.status) is Intent.cancel}
        came = set(Stage) - {Stage.scheduled, Stage.cancelled, Stage.no_show}
        visits: dict[str, list[Visit]] = {}
        for v in floor.visits.values():
            ended = cancelled.get(v.external_id) if v.external_id else None
            if v.patient_id and v.stage in came and ended is not None and not _names_another(ended, v):
                visits.setdefault(v.patient_id, []).append(v)
        pairs: list[tuple[dt.timedelta, dt.datetime, str, Visit]] = []
        for a in appointments:
            if not a.patient_id or a.start is None or STATUSES.get(a.status) is not Intent.book:
                continue
            if floor.by_external_id(a.external_id) is not None:
                continue  # booked already: its own visit
            # In UTC: two times in the clinic's zone (a visit booked by this server, a row's clock time) are
            # subtracted on the wall clock, an hour short across the night the clocks go back, and a visit read
            # back from the log (a fixed offset) is not.
            start = _aware(floor.clinic, a.start).astimezone(dt.UTC)
            pairs += [
                (gap, start, a.external_id, v)
                for v in visits.get(a.patient_id, [])
                if (gap := abs(v.start.astimezone(dt.UTC) - start)) <= REBOOKED_WITHIN
            ]
        #: The visit each appointment rebooks, by the appointment's external id.
        self._rebooks: dict[str, Visit] = {}
        taken: set[str] = set()
        for _, _, external_id, v in sorted(pairs, key=lambda p: (p[0], p[1], p[2], p[3].id)):
            if external_id not in self._rebooks and v.id not in taken:
                self._rebooks[external_id] = v
                taken.add(v.id)

    def claim(self, a: Appointment) -> Visit | None:
        """The visit `a` rebooks, if any; None: `a` is a booking of its own."""
        return self._rebooks.get(a.external_id)


def _names_another(a: Appointment, visit: Visit) -> bool:
    """Whether the row names a patient other than the visit's. A row that names nobody (an export that blanks
    cancelled rows) names no one else."""
    name = a.patient_name.strip()
    return bool(name) and not same_name(name, visit.patient_name)


def _rebooked(a: Appointment, twin: Visit) -> RowResult:
    stage = twin.stage.value.replace("_", " ")
    return RowResult(
        a.where,
        a.external_id,
        Outcome.not_applied,
        twin.id,
        f"patient {a.patient_id!r} came for appointment {twin.external_id!r}, which this file cancels ({stage} on "
        "the floor): a rebooking of that visit, not booked a second time; the floor keeps the visit they came for",
    )


def _row(floor: Floor, a: Appointment, visit: Visit | None) -> tuple[Command | None, RowResult]:
    intent = STATUSES[a.status]
    vid = visit.id if visit else None

    def result(outcome: Outcome, reason: str | None = None) -> RowResult:
        return RowResult(a.where, a.external_id, outcome, vid, reason)

    def not_applied(reason: str) -> tuple[None, RowResult]:
        return None, result(Outcome.not_applied, reason)

    stage = visit.stage.value.replace("_", " ") if visit else ""
    if intent is Intent.skip:
        return not_applied(f"status {a.status} is not a booking")
    if intent in (Intent.cancel, Intent.no_show) and visit is not None and _names_another(a, visit):
        # As a booking under another name is (below): the same appointment id for another patient is more likely an
        # error in the export, and ending the visit of the patient booked under it on a row about someone else is
        # the worse mistake (a hostile review: it was cancelled, or marked a no-show).
        return not_applied(
            "the patient's name differs from the visit booked for this appointment (a row about someone else does "
            "not end it); correct it on the floor or in the schedule"
        )
    if intent is Intent.cancel:
        mistake = a.status == "entered-in-error"
        if visit is not None and visit.stage is Stage.cancelled and visit.entered_in_error != mistake:
            # The EHR corrected a cancellation to a booking made in error, or back: the measures count the two
            # apart, so it is said, not reported "unchanged" (a hostile review).
            was = "entered in error" if visit.entered_in_error else "a cancellation"
            return not_applied(
                f"the visit is cancelled on the floor as {was}, and the file says {a.status}: undo the "
                "cancellation on the floor and cancel it again as the file says"
            )
        if visit is None or visit.stage is Stage.cancelled:
            return None, result(Outcome.unchanged)
        if visit.stage is not Stage.scheduled:
            return not_applied(f"the visit is {stage} on the floor; only a scheduled visit can be cancelled")
        return (
            TakeStep(visit.id, Stage.cancelled, expected_version=visit.version, entered_in_error=mistake),
            result(Outcome.cancelled),
        )
    if intent is Intent.no_show:
        if visit is None or visit.stage is Stage.no_show:
            return None, result(Outcome.unchanged)
        if visit.stage is not Stage.scheduled:
            return not_applied(f"the visit is {stage} on the floor; only a scheduled visit can be a no-show")
        return TakeStep(visit.id, Stage.no_show, expected_version=visit.version), result(Outcome.no_show)
    assert a.start is not None  # checked
    start = _aware(floor.clinic, a.start)
    if visit is None:
        return (
            BookVisit(
                a.patient_name.strip(),
                a.provider,
                a.visit_type,
                start,
                notes=a.notes,
                external_id=a.external_id,
                external_system=a.external_system,
                patient_id=a.patient_id,
            ),
            result(Outcome.added),
        )
    if visit.stage in (Stage.cancelled, Stage.no_show):
        # An ended visit is not brought back: the schedule and the floor disagree, and a person must look.
        return not_applied(f"the visit is {stage} on the floor; it is not booked again")
    if _names_another(a, visit):
        # The same appointment id for another name is more likely an error in the export than a renaming.
        return not_applied(
            "the patient's name differs from the visit booked for this appointment; "
            "correct it on the floor or in the schedule"
        )
    # A patient moved to another provider on the floor is still booked with the one the schedule names.
    # Instants compared, not wall times: a start read back from the log carries a fixed offset, and Python's `==`
    # between two zones is False inside the hour repeated when the clocks go back (PEP 495): the same file
    # imported again after a restart "moved" its 01:30 visit to 01:30.
    same = (visit.start.astimezone(dt.UTC), visit.booked_with, visit.visit_type, visit.notes) == (
        start.astimezone(dt.UTC),
        a.provider,
        a.visit_type,
        a.notes,
    )
    if same:
        return None, result(Outcome.unchanged)
    if visit.stage is not Stage.scheduled:
        # Once the patient is here the floor leads: their provider and room are already in play.
        return not_applied(f"the visit is already {stage}; it keeps its time and provider")
    return (RescheduleVisit(visit.id, start, a.provider, a.visit_type, a.notes, visit.version), result(Outcome.updated))
