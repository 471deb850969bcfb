"""The provider's delay (`provider_delay`): what the wall, the waiting room and the manager quote, and a
cascade alert carries. A patient who came late does not make the provider late; a provider still busy does."""

from __future__ import annotations

import datetime as dt

from floor.config import demo_clinic
from floor.core.commands import BookVisit, TakeStep, Tap
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.projection import ProjectedVisit, project, provider_delay

CLINIC = demo_clinic()  # follow-up: slot 20, roomed 6, prep_done 3, provider 12 -> planned provider-in start+9
DAY = dt.date(2026, 11, 23)


def at(hhmm: str) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return dt.datetime(2026, 11, 23, h, m, tzinfo=CLINIC.tz)


class Day:
    def __init__(self) -> None:
        self.floor = Floor(CLINIC, DAY, ids=Ids.seeded())
        self.rooms = iter(r.id for r in CLINIC.rooms)

    def book(self, start: str, walk_in: bool = False) -> str:
        return self.tap(start if walk_in else "07:30", BookVisit(f"P {start}", "kim", "follow", at(start), walk_in))

    def tap(self, when: str, command) -> str:
        event = self.floor.decide(command, Tap("staff", "t1", at(when)))
        self.floor.apply(event)
        return event.change.visit

    def step(self, visit: str, when: str, step: Stage) -> None:
        self.tap(when, TakeStep(visit, step, next(self.rooms) if step is Stage.roomed else None))


def test_a_patient_who_came_late_does_not_make_the_provider_late() -> None:
    day = Day()
    late, _ = day.book("09:00"), day.book("10:20")
    day.step(late, "09:40", Stage.arrived)  # 40 minutes late for a 09:00 arrival; the provider is free
    projection = project(day.floor, "kim", at("09:41"))
    first = next(p for p in projection.visits if p.visit == late)
    # The late patient's own visit is projected late, but nobody waits for the provider: the provider is on time.
    assert first.lateness > CLINIC.thresholds.cascade_minutes and not first.waits_for_provider
    assert projection.lateness == provider_delay(projection.visits) == 0.0


def test_a_provider_still_busy_is_late_by_the_next_patient_waiting_for_them() -> None:
    day = Day()
    long, waiting, after = day.book("09:00"), day.book("09:20"), day.book("09:40")
    for visit, start in ((long, "09:00"), (waiting, "09:20")):
        s = at(start)
        day.step(visit, (s - dt.timedelta(minutes=5)).strftime("%H:%M"), Stage.arrived)
        day.step(visit, start, Stage.roomed)
        day.step(visit, (s + dt.timedelta(minutes=6)).strftime("%H:%M"), Stage.prep_done)
    day.step(long, "09:09", Stage.provider_in)  # and still in at 09:45, far past its 12 minutes
    projection = project(day.floor, "kim", at("09:45"))
    next_up = next(p for p in projection.visits if p.visit == waiting)
    assert next_up.waits_for_provider and next_up.lateness > CLINIC.thresholds.cascade_minutes
    assert projection.lateness == next_up.lateness
    assert after  # booked after: projected later still, but the delay quoted is the next patient's


def test_walk_ins_and_patients_who_came_late_are_no_measure_of_the_delay() -> None:
    t = at("10:00")
    walk_in = ProjectedVisit("w", Stage.prep_done, t, t, 0.0, True, t, walk_in=True)
    came_late = ProjectedVisit("c", Stage.prep_done, t - dt.timedelta(minutes=20), t, 20.0, True, t, own_lateness=12.0)
    a_little_late = ProjectedVisit(
        "a", Stage.prep_done, t + dt.timedelta(minutes=5), t + dt.timedelta(minutes=20), 15.0, True, t, own_lateness=3.0
    )
    on_time = ProjectedVisit(
        "b", Stage.prep_done, t + dt.timedelta(minutes=25), t + dt.timedelta(minutes=40), 15.0, True, t
    )
    assert provider_delay([on_time, a_little_late, walk_in, came_late]) == 12.0  # 15 late, 3 of them their own
    assert provider_delay([on_time, walk_in, came_late]) == 15.0
    assert provider_delay([came_late, walk_in]) == provider_delay([]) == 0.0


def test_a_patient_who_came_late_and_then_waits_for_the_provider_does_not_make_the_provider_late() -> None:
    day = Day()
    late, next_one = day.book("09:00"), day.book("09:20")
    day.step(next_one, "09:14", Stage.arrived)
    day.step(late, "09:22", Stage.arrived)  # ready about 09:39; the provider takes the 09:20 patient first
    projection = project(day.floor, "kim", at("09:23"))
    first = next(p for p in projection.visits if p.visit == late)
    assert first.waits_for_provider and first.lateness >= 30 and first.own_lateness == 22
    assert projection.lateness == 0.0
