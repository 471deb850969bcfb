"""A manager sets the clinic's visit types from the browser (SetVisitTypes → SetUpChanged): decided in the core by
the rules a clinic file's visit types are checked by, folded from the log alone (the projection plans by the new
minutes from the next fold), refused while a visit type taken out has a visit today that is not over."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from floor import audit
from floor.config import StageMinutes, VisitType, demo_clinic
from floor.core.access import Role
from floor.core.commands import BookVisit, Command, SetProviders, SetVisitTypes, TakeStep, Tap
from floor.core.errors import Refusal, Why
from floor.core.events import Event, SetUpChanged
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.learned import Learned, StageTimes, stage_key
from floor.core.projection import project_all, visit_plan
from tests.support.floors import snapshot

CLINIC = demo_clinic()
DAY = dt.date(2025, 3, 12)
OPENS = dt.datetime(2025, 3, 12, 8, 0, tzinfo=CLINIC.tz)
FOLLOW = CLINIC.visit_type("follow")
TELEHEALTH = VisitType("tele", "Telehealth", 15, StageMinutes(0, 0, 2, 10, 2))


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
        before, clinic = snapshot(self.floor), self.floor.clinic
        with pytest.raises(Refusal) as e:
            self.floor.decide(command, Tap("dana", "console", self.now, role))
        assert snapshot(self.floor) == before and self.floor.clinic is clinic
        return e.value


def types(*extra: VisitType, without: tuple[str, ...] = (), **changed: VisitType) -> list[VisitType]:
    return [changed.get(v.code, v) for v in CLINIC.visit_types if v.code not in without] + list(extra)


def minutes(vtype: VisitType, **stages: int) -> VisitType:
    return msgspec.structs.replace(vtype, stage_minutes=msgspec.structs.replace(vtype.stage_minutes, **stages))


def test_a_visit_type_added_can_be_booked_at_once_and_the_fold_of_the_log_alone_agrees() -> None:
    m = Manager()
    event = m.tap(SetVisitTypes(types(TELEHEALTH), expected_version=0))
    assert isinstance(event.change, SetUpChanged) and event.change.rooms is None and event.change.providers is None
    assert m.floor.clinic.visit_type("tele") == TELEHEALTH and m.floor.setup_version == event.seq
    m.tap(BookVisit("Ann Lee", "kim", "tele", walk_in=True))
    again = Floor.fold(CLINIC, DAY, 0, m.events)
    assert snapshot(again) == snapshot(m.floor) and again.clinic == m.floor.clinic


def test_the_projection_plans_by_the_new_minutes_from_the_next_fold() -> None:
    m = Manager()
    start = dt.datetime(2025, 3, 12, 8, 30, tzinfo=CLINIC.tz)
    first = m.tap(BookVisit("Ann Lee", "kim", "follow", start=start)).visit
    second = m.tap(BookVisit("Bo Park", "kim", "follow", start=start + dt.timedelta(minutes=20))).visit
    m.tap(TakeStep(first, Stage.arrived))
    m.tap(TakeStep(first, Stage.roomed, room=CLINIC.rooms[0].id))
    m.tap(TakeStep(first, Stage.prep_done))
    m.tap(TakeStep(first, Stage.provider_in))
    plan = visit_plan(m.floor.visits[second], m.floor.clinic)
    later = start + dt.timedelta(minutes=40)
    before = project_all(m.floor, later)["kim"].free_at
    # Follow-ups now take an hour with the provider, and twice as long from rooming to prep.
    m.tap(SetVisitTypes(types(follow=minutes(FOLLOW, provider_in=60, roomed=12))))
    assert m.floor.clinic.visit_type_of("follow").stage_minutes.provider_in == 60
    assert project_all(m.floor, later)["kim"].free_at > before  # Dr. Kim is with Ann Lee longer
    assert visit_plan(m.floor.visits[second], m.floor.clinic) != plan
    again = Floor.fold(CLINIC, DAY, 0, m.events)
    assert project_all(again, later) == project_all(m.floor, later)


def test_what_was_learned_is_shrunk_toward_the_new_minutes_at_once() -> None:
    """The configured minutes are the prior of what is learned from past days: Dr. Kim's follow-ups took 24 minutes
    with her over 10 past visits, against 12 configured (expected 18); set to 30, the same visits expect 27, from the
    next fold, not the next day's learning. A provider with nothing learned expects the new minutes as they are."""
    m = Manager()
    key = stage_key("kim", "follow", Stage.provider_in)
    m.floor.learned = Learned(stages={key: StageTimes(12, 18.0, 24.0, 10)})
    assert m.floor.learned.expected("kim", m.floor.clinic.visit_type_of("follow"), Stage.provider_in) == 18.0
    m.tap(SetVisitTypes(types(follow=minutes(FOLLOW, provider_in=30))))
    follow = m.floor.clinic.visit_type_of("follow")
    assert m.floor.learned.expected("kim", follow, Stage.provider_in) == 27.0
    assert m.floor.learned.expected("hart", follow, Stage.provider_in) == 30.0
    visit = m.tap(BookVisit("Ann Lee", "kim", "follow", walk_in=True)).visit
    m.tap(TakeStep(visit, Stage.roomed, room=CLINIC.rooms[0].id))
    m.tap(TakeStep(visit, Stage.prep_done))
    m.tap(TakeStep(visit, Stage.provider_in))
    free_at = project_all(m.floor, m.now + dt.timedelta(minutes=5))["kim"].free_at
    assert abs(free_at - (m.now + dt.timedelta(minutes=27))) < dt.timedelta(seconds=1)  # with Ann Lee 27 minutes


def test_a_visit_type_with_a_visit_not_over_cannot_be_taken_out_until_it_is() -> None:
    m = Manager()
    visit = m.tap(BookVisit("Ann Lee", "hart", "procedure", walk_in=True)).visit
    m.tap(BookVisit("Bo Park", "kim", "procedure", walk_in=True))
    refused = m.refused(SetVisitTypes(types(without=("procedure",))))
    assert (refused.why, refused.field, refused.detail["visit_type"]) == (Why.illegal_step, "visit_types", "procedure")
    assert refused.message == "Procedure: 2 visits of it today are not over: it can be taken out once they are."
    m.tap(TakeStep(visit, Stage.left_without_being_seen))
    assert m.refused(SetVisitTypes(types(without=("procedure",)))).message.startswith(
        "Procedure: a visit of it today is not over"
    )


def test_a_visit_type_whose_visits_are_all_over_can_be_taken_out_and_nobody_books_it_again() -> None:
    m = Manager()
    visit = m.tap(BookVisit("Ann Lee", "hart", "procedure", walk_in=True)).visit
    m.tap(TakeStep(visit, Stage.left_without_being_seen))
    m.tap(SetVisitTypes(types(without=("procedure",))))
    assert m.floor.clinic.visit_type("procedure") is None and m.floor.visits[visit].visit_type == "procedure"
    assert m.refused(BookVisit("Bo Park", "kim", "procedure", walk_in=True)).field == "visit_type"
    project_all(m.floor, m.now)  # the ended visit is planned by the stand-in's minutes, not a crash
    assert snapshot(Floor.fold(CLINIC, DAY, 0, m.events)) == snapshot(m.floor)


@pytest.mark.parametrize(
    ("new", "field", "words"),
    [
        (types(follow=minutes(FOLLOW, provider_in=0)), "visit_types[1].stage_minutes.provider_in", "1 to 600"),
        (types(follow=minutes(FOLLOW, roomed=-1)), "visit_types[1].stage_minutes.roomed", "0 to 600 minutes"),
        (types(follow=minutes(FOLLOW, arrived=601)), "visit_types[1].stage_minutes.arrived", "0 to 600 minutes"),
        (
            types(follow=msgspec.structs.replace(FOLLOW, slot_minutes=0)),
            "visit_types[1].slot_minutes",
            "the slot minutes of visit type follow must be 1 to 600 minutes",
        ),
        (
            types(follow=msgspec.structs.replace(FOLLOW, slot_minutes=601)),
            "visit_types[1].slot_minutes",
            "the slot minutes of visit type follow must be 1 to 600 minutes",
        ),
        (types(msgspec.structs.replace(TELEHEALTH, label="follow-up")), "visit_types[4].label", "is also"),
        (
            types(msgspec.structs.replace(TELEHEALTH, code="new")),
            "visit_types[4]",
            "another visit type already has the code 'new'",
        ),
        (types(msgspec.structs.replace(TELEHEALTH, label=" ")), "visit_types[4].label", "needs its label"),
        # A label is checked as the clinic file's (and a room's label, a provider's name) are: control characters,
        # length (over 200 the HTTP body itself is refused first, 400 naming the same field, as a room's label).
        (types(msgspec.structs.replace(TELEHEALTH, label="Tele\x07health")), "visit_types[4].label", "control"),
        (types(msgspec.structs.replace(TELEHEALTH, label="T" * 500)), "visit_types[4].label", "1 to 60 characters"),
        (types(msgspec.structs.replace(TELEHEALTH, code="Tele Health")), "visit_types[4].code", "lowercase"),
        ([], "visit_types", "Visit types not changed: the clinic needs at least one visit type."),
        (list(CLINIC.visit_types), "visit_types", "nothing changed"),
    ],
)
def test_a_list_a_clinic_file_could_not_have_is_refused_naming_the_field(new, field, words) -> None:
    refused = Manager().refused(SetVisitTypes(new))
    assert (refused.why, refused.field) == (Why.invalid, field), refused.message
    assert words in refused.message, refused.message


def test_one_set_up_version_for_rooms_providers_and_visit_types_and_only_managers() -> None:
    m = Manager()
    m.tap(SetVisitTypes(types(TELEHEALTH), expected_version=0))
    assert m.refused(SetProviders(list(CLINIC.providers[:-1]), expected_version=0)).why is Why.stale_version
    assert m.refused(SetVisitTypes(types(), expected_version=0)).why is Why.stale_version
    refused = m.refused(SetVisitTypes(types(), expected_version=m.floor.setup_version), Role.front_desk)
    assert refused.why is Why.forbidden


def test_the_audit_trail_says_each_change_in_words() -> None:
    m = Manager()
    renamed = msgspec.structs.replace(minutes(FOLLOW, provider_in=15), label="Follow-up visit", slot_minutes=25)
    entry = audit.entry(CLINIC.id, m.tap(SetVisitTypes(types(TELEHEALTH, without=("annual",), follow=renamed))))
    assert entry.changes == [
        "Took out visit type Annual physical (annual)",
        "Renamed visit type Follow-up to Follow-up visit",
        "Changed Follow-up visit's minutes: slot from 20 to 25, with the provider from 12 to 15",
        "Added visit type Telehealth (tele): slot 15, waiting to be roomed 0, rooming to prep 0, prep to provider 2, "
        "with the provider 10, teach-back to checkout 2 minutes",
    ]


def test_a_visit_seen_before_its_types_minutes_changed_is_judged_by_the_minutes_it_was_planned_with() -> None:
    """On-time starts, lateness and the cascade's links of a visit the provider walked in to before a manager changed
    its type's minutes are by the minutes in force then: a morning seen on time did not become late (nor a late one
    on time) when the afternoon's follow-ups were given more minutes."""
    from floor.core.alerts import _started_late
    from floor.core.measures import measure
    from floor.core.projection import convention_of, planned_provider_in

    m = Manager()
    start = dt.datetime(2025, 3, 12, 8, 30, tzinfo=CLINIC.tz)
    visit = m.tap(BookVisit("Ann Lee", "kim", "follow", start=start)).visit
    m.tap(TakeStep(visit, Stage.arrived))
    m.tap(TakeStep(visit, Stage.roomed, room=CLINIC.rooms[0].id))
    m.tap(TakeStep(visit, Stage.prep_done))
    m.now = planned_provider_in(m.floor.visits[visit], FOLLOW, convention_of(CLINIC)) - dt.timedelta(minutes=1)
    m.tap(TakeStep(visit, Stage.provider_in))  # at the planned minute: on time
    before = measure(m.floor, m.now)
    assert before.clinic.on_time_starts.rate == 1.0 and before.clinic.worst_lateness == 0.0
    m.now = dt.datetime(2025, 3, 12, 10, 0, tzinfo=CLINIC.tz)
    # Follow-ups roomed and prepped in 1 minute each from now on: by these, Ann was seen many minutes late.
    m.tap(SetVisitTypes(types(follow=minutes(FOLLOW, roomed=1, prep_done=1)), expected_version=0))
    after = measure(m.floor, m.now)
    assert after.clinic.on_time_starts == before.clinic.on_time_starts
    assert after.clinic.worst_lateness == before.clinic.worst_lateness == 0.0
    assert after.providers["kim"].on_time_starts == before.providers["kim"].on_time_starts
    assert _started_late(m.floor, "kim", dt.timedelta(minutes=1), list(m.floor.visits.values()), m.now) == []
    # The fold of the log alone judges it alike.
    again = Floor.fold(CLINIC, DAY, 0, m.events)
    assert measure(again, m.now) == after


def test_a_patient_who_came_on_time_and_waits_is_not_made_late_by_minutes_changed_after_they_came() -> None:
    """Where the booked time is the provider's ("provider"), Ann came at 8:53, 2 minutes after her planned rooming
    (booked 9:00, follow-ups roomed and prepped in 9 minutes: 8:51), and waits; then a manager gives follow-ups 10
    more minutes of rooming. The projection judged her coming by the new minutes (12 minutes late, by her own
    doing), so the provider's delay left her out: kim read on time at 9:20 with Ann waiting 20 minutes for him.
    Her coming is judged by the minutes in force when she came, as the measures' came-late is."""
    from floor.config import AppointmentTime
    from floor.core.measures import _came_late
    from floor.core.projection import provider_delay

    m = Manager()
    session = msgspec.structs.replace(CLINIC.session, appointment_time=AppointmentTime.provider)
    file = msgspec.structs.replace(CLINIC, session=session)
    m.floor = Floor(file, DAY, ids=Ids.seeded())
    visit = m.tap(BookVisit("Ann Lee", "kim", "follow", start=dt.datetime(2025, 3, 12, 9, 0, tzinfo=CLINIC.tz))).visit
    m.now = dt.datetime(2025, 3, 12, 8, 52, tzinfo=CLINIC.tz)
    m.tap(TakeStep(visit, Stage.arrived))  # 8:53
    m.tap(TakeStep(visit, Stage.roomed, room=CLINIC.rooms[0].id))
    m.tap(TakeStep(visit, Stage.prep_done))
    m.tap(SetVisitTypes(types(follow=minutes(FOLLOW, roomed=16)), expected_version=0))
    now = dt.datetime(2025, 3, 12, 9, 20, tzinfo=CLINIC.tz)
    for floor in (m.floor, Floor.fold(file, DAY, 0, m.events)):  # and the fold of the log alone
        kim = project_all(floor, now)["kim"]
        [ann] = [p for p in kim.visits if p.visit == visit]
        assert ann.own_lateness == 2.0
        assert provider_delay(kim.visits) == kim.lateness == ann.lateness - 2.0 >= 18
        assert _came_late(floor, list(floor.visits.values())) == frozenset()


def test_the_export_names_a_visit_type_added_and_taken_out_during_the_day_by_its_label() -> None:
    """The day's FHIR Encounters name each visit's type as the day had it: Telehealth, added at 8:01 and taken out once
    its one visit was over, is 'Telehealth' in the export (it had no display: the clinic file has no such type)."""
    from floor.export import encounters

    m = Manager()
    m.tap(SetVisitTypes(types(TELEHEALTH), expected_version=0))
    visit = m.tap(BookVisit("Ann Lee", "kim", "tele", walk_in=True)).visit
    m.tap(TakeStep(visit, Stage.left_without_being_seen))
    m.tap(SetVisitTypes(types(), expected_version=m.floor.setup_version))
    assert m.floor.clinic.visit_type("tele") is None
    bundle = encounters(CLINIC, DAY, m.events, closed=True)
    (entry,) = bundle.entry
    (coding,) = entry.resource.type[0].coding
    assert (coding.code, coding.display) == ("tele", "Telehealth")
