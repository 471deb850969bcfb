"""What a booked time means ([session] appointment_time), the yardstick of every "late" (issue 16).

The same late morning is told twice, as two clinics would book it. The provider walks in to each follow-up
12 to 15 minutes after the clinic's own plan; patients are roomed and prepped before the provider is due.

  planned provider-in (the clinic's clock)   P = 09:00, 09:20, ... every 20 minutes
  an "arrival" clinic books                  P - 9 (follow-up: roomed 6 + prep 3), the patient comes 3 early
  a "provider" clinic books                  P itself, and asks the patient to come 20 minutes early
  either way                                 roomed P - 9, prep done P - 3, provider in P + 12, 13, 14, 15...

K = 3, L = 10 (the demo clinic's): the third late visit becomes L late at 09:50 and starts at 09:54.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec
import pytest

from floor.config import AppointmentTime, Clinic, demo_clinic, demo_clinic_path, load_clinic, parse_clinic
from floor.core.alerts import review
from floor.core.commands import BookVisit, Command, TakeStep, Tap
from floor.core.events import Event
from floor.core.floor import Alert, Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.measures import Share, measure
from floor.core.projection import lateness_over_day, project

ARRIVAL, PROVIDER = AppointmentTime.arrival, AppointmentTime.provider
DEMO = demo_clinic()
DAY = dt.date(2026, 11, 23)
FOLLOW_PREP = 9  # the demo's follow-up: roomed 6 + prep_done 3
LATE = [12, 13, 14, 15, 15, 15, 14]  # minutes past the clinic's planned provider-in, visit by visit


def clinic(convention: AppointmentTime) -> Clinic:
    return msgspec.structs.replace(DEMO, session=msgspec.structs.replace(DEMO.session, appointment_time=convention))


def at(hhmm: str) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return dt.datetime(2026, 11, 23, h, m, tzinfo=DEMO.tz)


def hm(t: dt.datetime) -> str:
    """On the clinic's clock (a plan is an instant, in UTC)."""
    return t.astimezone(DEMO.tz).strftime("%H:%M")


class Day:
    """A floor of one clinic, tapped at given clinic times, with alerts reviewed (and stored) each minute as the
    runtime does."""

    def __init__(self, configured: AppointmentTime) -> None:
        self.floor = Floor(clinic(configured), DAY, ids=Ids.seeded())
        self.events: list[Event] = []

    def apply(self, when: dt.datetime, command: Command) -> str:
        event = self.floor.decide(command, Tap("staff", "t1", when))
        self.floor.apply(event)
        self.events.append(event)
        return event.change.visit

    def review(self, when: dt.datetime) -> None:
        for change in review(self.floor, when):
            self.floor.apply(self.floor.record(change, Tap("floor", "server", when)))

    def cascade(self) -> Alert | None:
        return next((a for a in self.floor.alerts.values() if a.kind == "cascade" and a.active), None)


def late_morning(
    booked_as: AppointmentTime, configured: AppointmentTime, until: str = "11:30"
) -> tuple[Day, str | None]:
    """The morning above, booked as a clinic of convention `booked_as` books, on a Floor told `configured`; the
    minute the cascade was first raised (None: never by `until`)."""
    day = Day(configured)
    planned = [at("09:00") + dt.timedelta(minutes=20 * i) for i in range(len(LATE))]
    offset = dt.timedelta(minutes=FOLLOW_PREP if booked_as is ARRIVAL else 0)
    early = dt.timedelta(minutes=3 if booked_as is ARRIVAL else 20)
    visits = [day.apply(at("07:30"), BookVisit(f"P{i}", "kim", "follow", p - offset)) for i, p in enumerate(planned)]
    rooms = [r.id for r in DEMO.rooms]
    taps: list[tuple[dt.datetime, int, Stage, str | None]] = []
    for i, p in enumerate(planned):
        m = dt.timedelta(minutes=1)
        seen = p + LATE[i] * m
        taps += [
            (p - offset - early, i, Stage.arrived, None),
            (p - 9 * m, i, Stage.roomed, rooms[i]),
            (p - 3 * m, i, Stage.prep_done, None),
            (seen, i, Stage.provider_in, None),
        ]
        if i + 1 < len(LATE):  # with the provider until just before going in to the next
            done = planned[i + 1] + (LATE[i + 1] - 1) * m
            taps += [(done, i, Stage.teach_back_done, None), (done, i, Stage.checked_out, None)]
    taps.sort(key=lambda t: (t[0], t[2] is not Stage.provider_in))
    now, first = at("08:30"), None
    while now <= at(until):
        while taps and taps[0][0] <= now:
            _, i, step, room = taps.pop(0)
            day.apply(now, TakeStep(visits[i], step, room))
        day.review(now)
        if first is None and day.cascade() is not None:
            first = hm(now)
        now += dt.timedelta(minutes=1)
    return day, first


def test_the_same_late_morning_raises_the_cascade_under_either_convention_at_the_clinics_lateness() -> None:
    raised = {}
    for convention in AppointmentTime:
        day, raised[convention] = late_morning(booked_as=convention, configured=convention)
        assert raised[convention] is not None, f"no cascade all morning under {convention}"
        # By the time the third late visit starts (09:54), and not before the first is L late (09:10).
        assert "09:10" <= raised[convention] <= "09:54", convention
        (alert,) = [a for a in day.floor.alerts.values() if a.kind == "cascade"]
        # The lateness it says is the clinic's: the provider 12 to 15 minutes past its plan, not 9 more or less.
        assert 10 <= alert.detail.lateness <= 18, convention
    # The same morning, so the same minute.
    assert raised[ARRIVAL] == raised[PROVIDER]


def test_the_setting_matters_a_provider_clinic_left_on_arrival_never_sees_its_cascade() -> None:
    """The bug the issue measured: Floor's yardstick 9 minutes behind the clinic's, so 12 to 15 minutes late
    by the clinic's clock is 3 to 6 by Floor's, and a morning that is late throughout raises nothing."""
    told, raised = late_morning(booked_as=PROVIDER, configured=PROVIDER)
    assert raised is not None and measure(told.floor, at("11:30")).providers["kim"].worst_lateness == 15
    left, raised = late_morning(booked_as=PROVIDER, configured=ARRIVAL)
    assert raised is None
    assert measure(left.floor, at("11:30")).providers["kim"].worst_lateness == 6


def test_a_patient_who_came_early_in_a_provider_clinic_is_projected_in_at_the_booked_time() -> None:
    for convention, seen_at, late in ((PROVIDER, "10:00", 0.0), (ARRIVAL, "10:09", 0.0)):
        day = Day(convention)
        v = day.apply(at("07:30"), BookVisit("P", "kim", "follow", at("10:00")))
        day.apply(at("09:40"), TakeStep(v, Stage.arrived))  # 20 minutes early, the provider free
        (projected,) = project(day.floor, "kim", at("09:41")).visits
        assert (hm(projected.planned_provider_in), hm(projected.provider_in), projected.lateness) == (
            seen_at,
            seen_at,
            late,
        ), convention
    # Not here yet five minutes before a provider-clinic's booked time: rooming and prep still to do, so late.
    day = Day(PROVIDER)
    v = day.apply(at("07:30"), BookVisit("P", "kim", "follow", at("10:00")))
    (projected,) = project(day.floor, "kim", at("09:55")).visits
    assert projected.lateness == 8 + FOLLOW_PREP - 5  # arrives + 8 to be roomed, + 9 to be ready


def test_a_walk_in_who_came_before_a_booked_provider_time_is_seen_after_that_patient() -> None:
    # A "provider" clinic: Dr. Kim is booked to walk in to a follow-up at 10:00; its patient came early and is
    # ready. A walk-in came at 09:53 and is ready too. Booked times and a walk-in's arrival are on different
    # clocks here: the patient's 10:00 is the provider's time (they were due to be roomed at 09:51), the
    # walk-in's 09:53 the time they came. By when each was due to be roomed, the booked patient goes first; by
    # the times as written, the walk-in jumped the queue and the booked visit was projected a visit late
    # (loadtests/unseen_days.py: a cascade raised at the opening, "28 min late", cleared 45 s later when the
    # provider walked in to the booked patient).
    day = Day(PROVIDER)
    booked = day.apply(at("07:30"), BookVisit("P Booked", "kim", "follow", at("10:00")))
    day.apply(at("09:40"), TakeStep(booked, Stage.arrived))
    day.apply(at("09:41"), TakeStep(booked, Stage.roomed, "e1"))
    day.apply(at("09:47"), TakeStep(booked, Stage.prep_done))
    walk_in = day.apply(at("09:53"), BookVisit("P Walk In", "kim", "follow", walk_in=True))
    day.apply(at("09:53"), TakeStep(walk_in, Stage.roomed, "e2"))
    day.apply(at("09:55"), TakeStep(walk_in, Stage.prep_done))
    projected = {p.visit: p for p in project(day.floor, "kim", at("10:00")).visits}
    assert hm(projected[booked].provider_in) == "10:00" and projected[booked].lateness == 0.0
    assert projected[walk_in].provider_in > projected[booked].provider_in


def test_on_time_starts_and_lateness_are_measured_from_the_clinics_own_plan() -> None:
    """Two follow-ups booked 09:00 and 09:20, each seen 8 minutes after its booked time: on time in a clinic
    whose booked times are arrivals (planned 09:09, 09:29), 8 late where they are the provider's."""
    for convention, on_time, lateness in ((ARRIVAL, Share(2, 2, 1.0), 0.0), (PROVIDER, Share(2, 0, 0.0), 8.0)):
        day = Day(convention)
        taps = []
        for start, room in (("09:00", "e1"), ("09:20", "e2")):
            v = day.apply(at("07:30"), BookVisit(f"P {start}", "kim", "follow", at(start)))
            for minutes, step in (
                (-20, Stage.arrived),
                (-9, Stage.roomed),
                (-3, Stage.prep_done),
                (8, Stage.provider_in),
            ):
                taps.append(
                    (
                        at(start) + dt.timedelta(minutes=minutes),
                        TakeStep(v, step, room if step is Stage.roomed else None),
                    )
                )
        for when, tap in sorted(taps, key=lambda t: t[0]):
            day.apply(when, tap)
        result = measure(day.floor, at("09:30"))
        kim = result.providers["kim"]
        assert kim.on_time_starts == result.clinic.on_time_starts == on_time, convention
        assert (kim.current_lateness, kim.worst_lateness) == (lateness, lateness), convention
        assert (result.clinic.current_lateness, result.clinic.worst_lateness) == (lateness, lateness), convention
        # The durations are spans between taps, whatever a booked time means.
        assert kim.arrival_to_provider.median == 28.0


def test_the_managers_lateness_over_the_day_follows_the_convention() -> None:
    """A follow-up booked 09:00, ready at 08:59 and not yet seen at 09:05: 5 minutes late if the provider was due
    at 09:00, on time if the patient was (the provider is due 09:09)."""
    for convention, expected in ((ARRIVAL, 0.0), (PROVIDER, 5.0)):
        day = Day(convention)
        v = day.apply(at("07:30"), BookVisit("P", "kim", "follow", at("09:00")))
        for when, step in (("08:40", Stage.arrived), ("08:51", Stage.roomed), ("08:57", Stage.prep_done)):
            day.apply(at(when), TakeStep(v, step, "e1" if step is Stage.roomed else None))
        points = dict(lateness_over_day(day.floor.clinic, DAY, 0, day.events, at("09:05"), dt.timedelta(minutes=5)))
        assert points[at("09:05")]["kim"] == expected, convention


def test_a_clinic_file_without_the_key_books_arrivals_and_the_demo_file_says_so(tmp_path: Path) -> None:
    text = demo_clinic_path().read_text()
    assert text.count('appointment_time = "arrival"') == 1, "the demo clinic file documents the setting"
    without = tmp_path / "without.toml"
    without.write_text(text.replace('appointment_time = "arrival"', ""))
    assert load_clinic(without).session.appointment_time is ARRIVAL
    provider = parse_clinic(text.replace('appointment_time = "arrival"', 'appointment_time = "provider"'))
    assert provider.session.appointment_time is PROVIDER
    with pytest.raises(ValueError, match=r"appointment_time"):
        parse_clinic(text.replace('appointment_time = "arrival"', 'appointment_time = "patient"'))
