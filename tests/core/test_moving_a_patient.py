"""Moving a patient who is here and waiting to another provider: who may, which visits, what the log and the
audit trail keep, and what the projection and the cascade alert make of it."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

import floor.core.projection as projection
from floor.audit import of_visit
from floor.core.access import Role
from floor.core.alerts import review
from floor.core.commands import AcknowledgeAlert, BookVisit, MoveVisit, TakeStep, Tap, UndoStep
from floor.core.errors import Refusal, Why
from floor.core.events import VisitMoved, VisitRescheduled
from floor.core.floor import Floor
from floor.core.journey import Stage
from floor.core.measures import measure
from floor.core.projection import absent_until, project, show_chance
from tests.core.test_presence import CLINIC, DAY, ROOMS, STARTS, Day, at, hm

DESK, MA, PROVIDER, MANAGER = Role.front_desk, Role.medical_assistant, Role.provider, Role.manager


def _refused(day: Day, command, role: Role | None = DESK, who: str = "ana", when: str = "08:30") -> Refusal:
    before = day.floor.seq
    with pytest.raises(Refusal) as refused:
        day.tap(when, command, who, role)
    assert day.floor.seq == before
    return refused.value


def test_a_roomed_patient_goes_to_another_provider_in_their_room_and_the_log_and_trail_say_who_moved_them() -> None:
    day = Day()
    (visit,) = day.book("08:00")
    day.tap("07:55", TakeStep(visit, Stage.arrived))
    day.tap("08:00", TakeStep(visit, Stage.roomed, "e1"))
    event = day.tap("08:10", MoveVisit(visit, "okafor", expected_version=3), "ana", DESK)
    assert event.change == VisitMoved(visit, "okafor", "kim")
    assert event.version == 4 and event.type == "visit_moved"
    moved = day.floor.visits[visit]
    assert (moved.provider, moved.stage, moved.room, moved.start) == ("okafor", Stage.roomed, "e1", at("08:00"))
    assert moved.moved_from == "kim"
    assert day.floor.rooms["e1"].visit == visit
    # The new provider takes it from there; a manager may move them back (an undo of a move is another move).
    day.tap("08:12", TakeStep(visit, Stage.prep_done), "ma", MA)
    day.tap("08:20", MoveVisit(visit, "kim"), "boss", MANAGER)
    day.tap("08:21", TakeStep(visit, Stage.provider_in), "kim", PROVIDER)
    assert (day.floor.visits[visit].provider, day.floor.visits[visit].moved_from) == ("kim", None)
    trail = [(e.type, e.person, e.provider, e.previous_provider) for e in of_visit("demo", visit, day.events)]
    assert ("visit_moved", "ana", "okafor", "kim") in trail and ("visit_moved", "boss", "kim", "okafor") in trail
    # The log folds to the same floor.
    again = Floor.fold(CLINIC, DAY, 0, day.events)
    assert (again.visits[visit].provider, again.visits[visit].version) == ("kim", day.floor.visits[visit].version)


def test_only_a_patient_here_and_waiting_is_moved_by_the_desk_or_a_manager_to_another_of_the_clinics_providers() -> (
    None
):
    day = Day()
    (seen,) = day.book("08:20")
    imported = day.tap("07:30", BookVisit("P Sched", "kim", "follow", at("08:00"), external_id="A-1")).change.visit
    walk_in = day.tap("08:05", BookVisit("P Walk", "kim", "follow", walk_in=True)).change.visit
    for step, room in ((Stage.arrived, None), (Stage.roomed, "e2"), (Stage.prep_done, None), (Stage.provider_in, None)):
        day.tap("08:06", TakeStep(seen, step, room))

    # A visit the clinic's schedule booked is moved there until the patient is here (the schedule leads).
    assert "moved there until the patient is here" in _refused(day, MoveVisit(imported, "okafor")).message
    assert "already with them" in _refused(day, MoveVisit(seen, "okafor")).message
    for role in (MA, PROVIDER):
        refusal = _refused(day, MoveVisit(walk_in, "okafor"), role, "kim")
        assert refusal.why is Why.forbidden and "front desk and managers" in refusal.message
    unknown = _refused(day, MoveVisit(walk_in, "nobody"))
    assert (unknown.why, unknown.field) == (Why.invalid, "provider") and "okafor" in unknown.message
    same = _refused(day, MoveVisit(walk_in, "kim"))
    assert (same.why, same.field) == (Why.invalid, "provider")
    assert _refused(day, MoveVisit(walk_in, "okafor", expected_version=9)).why is Why.stale_version
    assert _refused(day, MoveVisit("v-none", "okafor")).why is Why.not_found
    # A walk-in just booked is here and waiting.
    day.tap("08:31", MoveVisit(walk_in, "silva", expected_version=1), "ana", DESK)
    assert day.floor.visits[walk_in].provider == "silva"


def test_a_visit_booked_on_the_floor_is_booked_with_another_provider_before_the_patient_comes() -> None:
    """Nobody's schedule leads a visit booked on the floor: moved before the patient comes, it is theirs to plan
    for at the same time (a `visit_rescheduled`, as an import would move it), not a patient fitted in."""
    day = Day()
    (visit,) = day.book("09:00")
    event = day.tap("08:10", MoveVisit(visit, "okafor", expected_version=1), "ana", DESK)
    assert event.change == VisitRescheduled(visit, at("09:00"), "okafor", "follow", "", at("09:00"), "kim", "follow")
    moved = day.floor.visits[visit]
    assert (moved.provider, moved.moved_from, moved.stage) == ("okafor", None, Stage.scheduled)
    (projected,) = project(day.floor, "okafor", at("08:10")).visits
    assert projected.visit == visit and not projected.fitted_in
    assert not project(day.floor, "kim", at("08:10")).visits


def test_moving_the_waiting_patients_of_a_provider_who_has_not_started_takes_them_out_of_her_cascade() -> None:
    """Dr. Kim has started nobody; her cascade is up by 8:36. At 8:40 the desk sends her three waiting patients
    to Dr. Okafor, who sees them: they leave her projection and her alert, and join his."""
    day = Day()
    visits = day.book(*STARTS)
    for v, s, room in zip(visits, STARTS, ROOMS, strict=False):
        day.prepped_on_time(v, s, room)
    day.run("08:40")
    (alert,) = [a for a in day.floor.alerts.values() if a.kind == "cascade" and a.active]
    assert alert.provider == "kim" and set(visits[:2]) <= set(alert.detail.affected)
    waiting = [v for v in visits if day.floor.visits[v].stage in (Stage.arrived, Stage.roomed, Stage.prep_done)]
    assert waiting == visits[:3]
    for v in waiting:
        day.tap("08:40", MoveVisit(v, "okafor"), "ana", DESK)
    day.seen(visits[0], "08:41")
    day.seen(visits[1], "08:54")
    day.run("08:42")
    kim, okafor = project(day.floor, "kim", day.now), project(day.floor, "okafor", day.now)
    assert {p.visit for p in kim.visits} == set(visits[3:])
    assert day.floor.visits[visits[0]].stage is Stage.provider_in  # with Dr. Okafor: no longer projected
    assert {p.visit for p in okafor.visits} == set(waiting[1:])
    # The patient still waiting is late by their booked time, but that is Dr. Kim's delay, not Dr. Okafor's: his
    # delay stays 0 and no cascade of his is raised for patients he took on.
    assert all(p.fitted_in for p in okafor.visits)
    assert max(p.lateness for p in okafor.visits) >= CLINIC.thresholds.cascade_minutes
    assert okafor.lateness == 0
    cascades = [a for a in day.floor.alerts.values() if a.kind == "cascade"]
    assert [(a.provider, a.active) for a in cascades] == [("kim", False)]


def _review(day: Day, when: str) -> None:
    for change in review(day.floor, at(when)):
        day.floor.apply(day.floor.record(change, Tap("floor", "server", at(when))))


def test_moving_a_patient_keeps_their_wait_one_episode_and_its_alert_acknowledged() -> None:
    day = Day()
    (visit,) = day.book("08:00")
    day.tap("07:55", TakeStep(visit, Stage.arrived))
    when = hm(at("07:55") + dt.timedelta(minutes=CLINIC.thresholds.waiting_to_be_roomed + 5))
    _review(day, when)
    (dwell,) = [a for a in day.floor.alerts.values() if a.kind == "dwell"]
    day.tap(when, AcknowledgeAlert(dwell.id), "boss", MANAGER)
    move = day.floor.decide(MoveVisit(visit, "okafor"), Tap("ana", "t1", at(when), DESK))
    previewed = day.floor.preview(move)
    assert day.floor.alerts[dwell.id].provider == "kim"  # the preview changed nothing
    touched = day.floor.apply(move)
    # The alert follows the patient to their new provider, and the screens are told with the move.
    assert touched.alert is day.floor.alerts[dwell.id] and touched.alert.provider == "okafor"
    assert msgspec.to_builtins(previewed) == msgspec.to_builtins(touched)
    _review(day, when)
    dwells = [(a.provider, a.active, a.acknowledged_by) for a in day.floor.alerts.values() if a.kind == "dwell"]
    assert dwells == [("okafor", True, "boss")]


def test_a_prepped_patient_moved_to_an_idle_provider_is_seen_now_and_does_not_make_him_presumed_away() -> None:
    """Dr. Kim is away and her prepped patient has waited since 8:06. At 8:40 the desk sends them to Dr. Okafor,
    who is on the floor with nobody booked until 9:00: that wait was for Dr. Kim."""
    day = Day()
    (kims,) = day.book("08:00")
    day.book("09:00", provider="okafor")
    day.tap("07:55", TakeStep(kims, Stage.arrived))
    day.tap("08:00", TakeStep(kims, Stage.roomed, "e1"))
    day.tap("08:06", TakeStep(kims, Stage.prep_done))
    day.tap("08:40", MoveVisit(kims, "okafor"), "ana", DESK)
    fitted = next(p for p in project(day.floor, "okafor", at("08:41")).visits if p.visit == kims)
    assert fitted.provider_in <= at("08:42")
    # Left waiting for him too, past the notice, he is presumed away as for any patient of his.
    later = at("08:40") + dt.timedelta(minutes=projection.ABSENT_NOTICE + 1)
    assert absent_until(day.floor, "okafor", later) > later


def test_undoing_the_arrival_of_a_moved_patient_puts_them_back_with_the_provider_they_are_booked_with() -> None:
    day = Day()
    (visit,) = day.book("08:00")
    day.tap("07:55", TakeStep(visit, Stage.arrived), "ana", DESK)
    day.tap("07:56", MoveVisit(visit, "okafor"), "ana", DESK)
    day.tap("07:57", UndoStep(visit), "ana", DESK)  # the wrong patient was checked in
    v = day.floor.visits[visit]
    assert (v.stage, v.provider, v.moved_from) == (Stage.scheduled, "kim", None)
    assert {p.visit for p in project(day.floor, "kim", at("07:58")).visits} == {visit}
    assert Floor.fold(CLINIC, DAY, 0, day.events).visits[visit].provider == "kim"


def test_a_walk_in_moved_to_another_provider_was_booked_with_nobody() -> None:
    day = Day()
    walk_in = day.tap("08:05", BookVisit("P Walk", "kim", "follow", walk_in=True)).change.visit
    day.tap("08:06", MoveVisit(walk_in, "okafor"), "ana", DESK)
    assert (day.floor.visits[walk_in].provider, day.floor.visits[walk_in].moved_from) == ("okafor", None)


def test_a_moved_patients_lateness_is_the_clinics_though_neither_providers() -> None:
    day = Day()
    (v,) = day.book("08:00")  # planned provider-in 8:09
    day.tap("07:55", TakeStep(v, Stage.arrived))
    day.tap("08:50", MoveVisit(v, "okafor"), "ana", DESK)
    waiting = measure(day.floor, at("08:55"))
    assert waiting.clinic.current_lateness == 46.0 and waiting.providers["okafor"].current_lateness == 0.0
    for step, room, when in ((Stage.roomed, "e1", "08:51"), (Stage.prep_done, None, "08:52")):
        day.tap(when, TakeStep(v, step, room))
    day.tap("08:53", TakeStep(v, Stage.provider_in))
    assert measure(day.floor, at("08:55")).clinic.worst_lateness == 44.0  # seen at 8:53


def test_when_a_moved_patient_came_counts_for_the_patients_of_the_provider_they_were_booked_with() -> None:
    """Dr. Kim's 8:00 patient came 45 minutes late and went to Dr. Okafor: how likely his own 9:00 patient, not
    yet come at 9:25, still is to come is what it was before the move."""
    day = Day()
    (kims,) = day.book("08:00")
    (okafors,) = day.book("09:00", provider="okafor")
    day.tap("08:45", TakeStep(kims, Stage.arrived))
    before = show_chance(day.floor, day.floor.visits[okafors], at("09:25"))
    day.tap("08:50", MoveVisit(kims, "okafor"), "ana", DESK)
    assert show_chance(day.floor, day.floor.visits[okafors], at("09:25")) == before


def test_the_provider_a_patient_was_moved_to_came_in_after_the_move() -> None:
    day = Day()
    (v,) = day.book("08:00")
    day.tap("07:55", TakeStep(v, Stage.arrived))
    day.tap("08:00", TakeStep(v, Stage.roomed, "e1"))
    day.tap("08:06", TakeStep(v, Stage.prep_done))
    day.tap("08:40", MoveVisit(v, "okafor"), "ana", DESK)
    refused = _refused(day, TakeStep(v, Stage.provider_in, minutes_ago=10), None, "staff", "08:42")
    assert (refused.why, refused.field) == (Why.invalid, "minutes_ago")
    assert "moved to okafor at 08:40" in refused.message
    day.tap("08:42", TakeStep(v, Stage.provider_in, minutes_ago=1))  # after the move: as any step tapped late
