"""A provider who steps out of a visit (an x-ray, an anaesthetic left to work) and sees another patient
meanwhile: two patients at "provider in" at once. Learned and projected by the provider's own minutes, not the
visit's whole span (floor/core/projection.py `own_minutes`, `TWO_AT_ONCE`)."""

from __future__ import annotations

import datetime as dt

import msgspec

from floor.config import demo_clinic
from floor.core.commands import BookVisit, TakeStep
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.learned import StepsOut
from floor.core.learning import learn
from floor.core.projection import (
    STEPS_OUT_EVIDENCE,
    TWO_AT_ONCE,
    median_residual,
    own_minutes,
    pace,
    project,
    steps_out_of,
)
from tests.support.floors import Tapping

CLINIC = demo_clinic()  # procedure: provider 28; follow: provider 12
DAY = dt.date(2026, 11, 23)


def at(hhmm: str, day: dt.date = DAY) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return dt.datetime(day.year, day.month, day.day, h, m, tzinfo=CLINIC.tz)


def test_own_minutes_leave_out_the_patients_seen_meanwhile_not_a_late_tap() -> None:
    others = [
        (at("09:00"), at("09:40")),  # the visit itself: not cut
        (at("09:10"), at("09:25")),  # walked in to 30 minutes before its end: two at once, 15 minutes away
        (at("09:20"), at("09:30")),  # meanwhile too, overlapping the first: 5 minutes more
        (at("09:36"), None),  # 4 minutes before its end: as likely a teach-back tapped late
    ]
    assert own_minutes(at("09:00"), at("09:40"), others) == 40 - 20
    assert own_minutes(at("09:00"), at("09:40"), others[:1]) == 40  # one patient at a time: the span
    # Still going, at 09:30: the one walked in to at 09:20 is only 10 minutes ago, not yet taken as two at once.
    assert own_minutes(at("09:00"), at("09:30"), others) == 30 - 15
    assert TWO_AT_ONCE == 10


def _stepping_out(floor: Floor, day: dt.date, *, second_in: str, end: bool = True) -> tuple[str, str]:
    """Dr. Kim walks in to a procedure at 9:00, steps out while it waits and sees a follow-up from `second_in`
    (12 minutes), and is back for the procedure's teach-back at 9:40 (with `end`)."""
    tapping = Tapping(floor, lambda hhmm: at(hhmm, day))
    tap = tapping.tap
    first = tap("07:30", BookVisit("P1", "kim", "procedure", at("08:40", day)))
    second = tap("07:30", BookVisit("P2", "kim", "follow", at("08:50", day)))
    for visit, room in ((first, "e1"), (second, "e2")):
        tap("08:40", TakeStep(visit, Stage.arrived))
        tap("08:41", TakeStep(visit, Stage.roomed, room))
        tap("08:50", TakeStep(visit, Stage.prep_done))
    tap("09:00", TakeStep(first, Stage.provider_in))
    tap(second_in, TakeStep(second, Stage.provider_in))
    if end:
        h, m = map(int, second_in.split(":"))
        tap(f"{h}:{m + 12:02d}", TakeStep(second, Stage.teach_back_done))
        tap("09:40", TakeStep(first, Stage.teach_back_done))
    return first, second


def test_a_visit_stepped_out_of_is_learned_by_the_providers_own_minutes() -> None:
    days = []
    for n in range(1, 4):
        day = DAY - dt.timedelta(days=n)
        floor = Floor(CLINIC, day, ids=Ids.seeded(f"past{n}"))
        _stepping_out(floor, day, second_in="09:10")
        days.append(floor)
    learned = learn(CLINIC, days)
    procedure = learned.times("kim", "procedure", Stage.provider_in)
    # 40 minutes from provider-in to teach-back, 12 of them with the follow-up: 28 of the provider's own.
    assert procedure.median == 28.0
    assert learned.times("kim", "follow", Stage.provider_in).median == 12.0
    assert (learned.two_at_once_changes, learned.late_tap_changes, learned.tap_lag) == (3, 0, 0.0)


def test_the_projection_waits_for_the_provider_to_come_back_to_a_visit_stepped_out_of() -> None:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded("today"))
    _stepping_out(floor, DAY, second_in="09:10", end=False)
    # 9:25: with the follow-up for 15 minutes (walked in to 15 minutes ago: two at once), the procedure set aside
    # after 10 of its own minutes. The provider is free once both are done, one after the other.
    now = at("09:25")
    follow_to_go = median_residual(12.0, 15.0)
    procedure_to_go = median_residual(28.0, 10.0)
    free_at = project(floor, "kim", now).free_at
    assert free_at == now + dt.timedelta(minutes=follow_to_go + procedure_to_go)
    # Walked in to the follow-up only 5 minutes ago: as likely the procedure's teach-back not yet tapped. The
    # provider is free when the later of the two is done, as before.
    floor = Floor(CLINIC, DAY, ids=Ids.seeded("today"))
    _stepping_out(floor, DAY, second_in="09:20", end=False)
    lagging = project(floor, "kim", now).free_at
    assert lagging == now + dt.timedelta(minutes=max(median_residual(12.0, 5.0), median_residual(28.0, 25.0)))


def test_a_visit_stepped_out_of_does_not_make_the_days_pace_slow() -> None:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded("today"))
    _stepping_out(floor, DAY, second_in="09:10")
    # The procedure's 28 own minutes of 40 and the follow-up's 12: both as expected.
    assert pace(floor, "kim") == 1.0


def _past_days_stepping_out(days: int) -> list[Floor]:
    floors = []
    for n in range(1, days + 1):
        day = DAY - dt.timedelta(days=n)
        floor = Floor(CLINIC, day, ids=Ids.seeded(f"past{n}"))
        _stepping_out(floor, day, second_in="09:10")
        floors.append(floor)
    return floors


def test_how_often_and_when_a_provider_steps_out_of_a_visit_type_is_learned() -> None:
    learned = learn(CLINIC, _past_days_stepping_out(STEPS_OUT_EVIDENCE))
    # Every procedure stepped out of 10 minutes in, 28 of the provider's own minutes; no follow-up ever.
    assert learned.steps_out == {"kim/procedure": StepsOut(STEPS_OUT_EVIDENCE, STEPS_OUT_EVIDENCE, 10.0, 28.0)}
    procedure = CLINIC.visit_type("procedure")
    assert steps_out_of(learned, "kim", procedure) == (10.0, 28.0)
    assert steps_out_of(learned, "kim", CLINIC.visit_type("follow")) is None
    # Too few to expect it, or not most of the time: the provider is taken to see the visit through.
    assert steps_out_of(learn(CLINIC, _past_days_stepping_out(STEPS_OUT_EVIDENCE - 1)), "kim", procedure) is None
    rarely = msgspec.structs.replace(learned, steps_out={"kim/procedure": StepsOut(20, 9, 10.0, 28.0)})
    assert steps_out_of(rarely, "kim", procedure) is None


def test_a_provider_who_usually_steps_out_is_projected_free_for_the_next_patient_meanwhile() -> None:
    learned = learn(CLINIC, _past_days_stepping_out(STEPS_OUT_EVIDENCE))
    floor = Floor(CLINIC, DAY, ids=Ids.seeded("today"))
    tapping = Tapping(floor, at)
    procedure = tapping.tap("07:30", BookVisit("P1", "kim", "procedure", at("08:40")))
    follow = tapping.tap("07:30", BookVisit("P2", "kim", "follow", at("08:50")))
    later = tapping.tap("07:30", BookVisit("P3", "kim", "follow", at("09:20")))
    for visit, room in ((procedure, "e1"), (follow, "e2"), (later, "e3")):
        tapping.tap("08:40", TakeStep(visit, Stage.arrived))
        tapping.tap("08:41", TakeStep(visit, Stage.roomed, room))
        tapping.tap("08:50", TakeStep(visit, Stage.prep_done))
    tapping.tap("09:00", TakeStep(procedure, Stage.provider_in))
    now = at("09:05")

    def seen(learned_now) -> dict[str, dt.datetime]:
        floor.learned = learned_now
        return {p.visit: p.provider_in for p in project(floor, "kim", now).visits}

    # Learned: out of the procedure at 9:10, with the follow-up 12 minutes, back for its other 18, then the next.
    assert seen(learned) == {follow: at("09:10"), later: at("09:40")}
    # Seeing it through (nothing learned of it): the follow-up waits for the procedure's 28 minutes.
    through = msgspec.structs.replace(learned, steps_out={})
    assert abs(seen(through)[follow] - at("09:28")) < dt.timedelta(seconds=1)


def test_back_to_back_visits_stepped_out_of_are_not_seen_faster_than_their_own_minutes() -> None:
    # Four procedures, all ready at 9:00; Dr. Kim usually steps out of one 10 minutes in, and gives it 28 of her
    # own minutes in all. Out of the first at 9:10 and into the second, back to the first for its other 18, then
    # free for the third: one every 28 minutes after the second, never one every 10.
    learned = learn(CLINIC, _past_days_stepping_out(STEPS_OUT_EVIDENCE))
    floor = Floor(CLINIC, DAY, ids=Ids.seeded("today"))
    floor.learned = learned
    tapping = Tapping(floor, at)
    booked = [tapping.tap("07:30", BookVisit(f"P{n}", "kim", "procedure", at("08:40"))) for n in range(4)]
    for visit, room in zip(booked, ("e1", "e2", "e3", "e4"), strict=True):
        tapping.tap("08:40", TakeStep(visit, Stage.arrived))
        tapping.tap("08:41", TakeStep(visit, Stage.roomed, room))
        tapping.tap("08:50", TakeStep(visit, Stage.prep_done))
    projected = sorted(project(floor, "kim", at("09:00")).visits, key=lambda p: p.provider_in)
    assert [round((p.provider_in - at("09:00")).total_seconds() / 60) for p in projected] == [0, 10, 38, 66]
    # Each visit's own shape, for the manager's timeline: in, out 10 minutes on, back once the provider is done
    # with the one they went to meanwhile (or, the last, with nobody left), done 18 minutes after coming back.
    shape = [tuple(f"{t:%H:%M}" for t in (p.provider_in, p.steps_out, p.back, p.provider_out)) for p in projected]
    assert shape == [
        ("09:00", "09:10", "09:20", "09:38"),
        ("09:10", "09:20", "09:48", "10:06"),
        ("09:38", "09:48", "10:16", "10:34"),
        ("10:06", "10:16", "10:34", "10:52"),
    ]
    # A visit seen through has neither.
    floor.learned = msgspec.structs.replace(learned, steps_out={})
    assert all(p.steps_out is None and p.back is None for p in project(floor, "kim", at("09:00")).visits)


def test_a_later_patient_is_a_step_out_at_once_for_a_visit_type_the_provider_steps_out_of() -> None:
    # Into the procedure at 9:00, into the follow-up at 9:12; at 9:14 the procedure is set aside already (for a
    # type the provider does not step out of, not before 9:22: it might be its teach-back not yet tapped).
    learned = learn(CLINIC, _past_days_stepping_out(STEPS_OUT_EVIDENCE))
    floor = Floor(CLINIC, DAY, ids=Ids.seeded("today"))
    _stepping_out(floor, DAY, second_in="09:12", end=False)
    floor.learned = learned
    now = at("09:14")
    follow, procedure = median_residual(12.0, 2.0), median_residual(28.0, 12.0)
    assert project(floor, "kim", now).free_at == now + dt.timedelta(minutes=follow + procedure)


def test_a_teach_back_forgotten_while_the_provider_saw_patient_after_patient_is_not_learned() -> None:
    # A procedure walked in to at 9:00 whose teach-back was tapped at 10:30, four follow-ups seen meanwhile: not
    # a visit stepped out of, a tap forgotten. Nothing of it is learned.
    day = DAY - dt.timedelta(days=1)
    floor = Floor(CLINIC, day, ids=Ids.seeded("forgotten"))
    tapping = Tapping(floor, lambda hhmm: at(hhmm, day))
    tap = tapping.tap
    procedure = tap("07:30", BookVisit("P0", "kim", "procedure", at("08:40", day)))
    follows = [tap("07:30", BookVisit(f"P{n}", "kim", "follow", at("08:50", day))) for n in range(1, 5)]
    for visit, room in zip([procedure, *follows], ("e1", "e2", "e3", "e4", "e5"), strict=True):
        tap("08:40", TakeStep(visit, Stage.arrived))
        tap("08:41", TakeStep(visit, Stage.roomed, room))
        tap("08:50", TakeStep(visit, Stage.prep_done))
    tap("09:00", TakeStep(procedure, Stage.provider_in))
    for visit, came_in, out in zip(
        follows, ("09:10", "09:25", "09:40", "09:55"), ("09:22", "09:37", "09:52", "10:07"), strict=True
    ):
        tap(came_in, TakeStep(visit, Stage.provider_in))
        tap(out, TakeStep(visit, Stage.teach_back_done))
    tap("10:30", TakeStep(procedure, Stage.teach_back_done))
    learned = learn(CLINIC, [floor])
    assert learned.times("kim", "procedure", Stage.provider_in) is None
    assert learned.steps_out == {}
    assert learned.times("kim", "follow", Stage.provider_in).median == 12.0


def test_a_visit_set_aside_that_has_had_its_own_minutes_holds_the_provider_no_longer() -> None:
    # Into a follow-up at 9:00 (12 minutes expected), into the next at 9:20, still with it at 9:35: the first is
    # set aside with 20 of its own minutes had, its teach-back tap still to come. Only the second holds her.
    floor = Floor(CLINIC, DAY, ids=Ids.seeded("today"))
    tapping = Tapping(floor, at)
    first = tapping.tap("07:30", BookVisit("P1", "kim", "follow", at("08:40")))
    second = tapping.tap("07:30", BookVisit("P2", "kim", "follow", at("09:00")))
    for visit, room in ((first, "e1"), (second, "e2")):
        tapping.tap("08:40", TakeStep(visit, Stage.arrived))
        tapping.tap("08:41", TakeStep(visit, Stage.roomed, room))
        tapping.tap("08:50", TakeStep(visit, Stage.prep_done))
    tapping.tap("09:00", TakeStep(first, Stage.provider_in))
    tapping.tap("09:20", TakeStep(second, Stage.provider_in))
    now = at("09:35")
    assert project(floor, "kim", now).free_at == now + dt.timedelta(minutes=median_residual(12.0, 15.0))


def test_a_visit_stepped_out_of_is_not_named_as_running_over_for_the_time_away() -> None:
    # The procedure walked in to at 9:00, the follow-up seen from 9:10 to 9:22, now 9:35: 23 of the procedure's
    # own 28 minutes, not 35. Nothing runs over.
    floor = Floor(CLINIC, DAY, ids=Ids.seeded("today"))
    _stepping_out(floor, DAY, second_in="09:10", end=False)
    follow = next(v.id for v in floor.visits.values() if v.visit_type == "follow")
    Tapping(floor, at).tap("09:22", TakeStep(follow, Stage.teach_back_done))
    assert project(floor, "kim", at("09:35")).cause is None
    assert project(floor, "kim", at("09:45")).cause.over_minutes == 5.0  # 33 of its own minutes, 5 over


def test_a_day_with_no_two_at_once_is_told_in_one_pass() -> None:
    from floor.core.projection import _ever_two_at_once

    one_at_a_time = [(at("09:00"), at("09:12")), (at("09:20"), at("09:31")), (at("09:27"), at("09:40"))]
    assert not _ever_two_at_once(one_at_a_time)  # 4 minutes' overlap: as likely a tap entered late
    stepped_out = [(at("09:20"), at("09:31")), (at("09:00"), at("09:45")), (at("10:00"), None)]
    assert _ever_two_at_once(stepped_out)  # 9:20 is 25 minutes before the 9:00 visit's end
    assert _ever_two_at_once([(at("09:00"), None), (at("09:30"), at("09:40"))])  # walked in while one goes on
    assert not _ever_two_at_once([(at("09:00"), at("09:12")), (at("09:15"), None)])
