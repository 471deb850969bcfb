"""Measures a clinic manager reads that disagree with what the README (and the measures' own docstrings) say they
are, or that a manager would be misled by. Each test drives the pure core with a UTC clock, as a server's is."""

from __future__ import annotations

import datetime as dt

import msgspec

from floor.config import Clinic, demo_clinic
from floor.core.alerts import review
from floor.core.commands import BookVisit, Command, MoveVisit, TakeStep, Tap, UndoStep
from floor.core.events import Event
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.measures import Share, measure
from floor.days import alerts_raised, day_measures

CLINIC = demo_clinic()
DAY = dt.date(2025, 3, 12)
DESK = "desk"


class Day:
    def __init__(self, clinic: Clinic = CLINIC, day: dt.date = DAY) -> None:
        self.clinic, self.day = clinic, day
        self.floor = Floor(clinic, day, ids=Ids.seeded(3))
        self.events: list[Event] = []

    def at(self, hhmm: str, fold: int = 0) -> dt.datetime:
        h, m = map(int, hhmm.split(":"))
        return self.clinic.local(self.day, dt.time(h, m, fold=fold)).astimezone(dt.UTC)

    def tap(self, when: dt.datetime | str, command: Command) -> Event:
        now = self.at(when) if isinstance(when, str) else when
        event = self.floor.decide(command, Tap("ana", DESK, now))
        self.floor.apply(event)
        self.events.append(event)
        return event

    def review(self, when: str) -> None:
        for change in review(self.floor, self.at(when)):
            event = self.floor.record(change, Tap("floor", "floor", self.at(when)))
            self.floor.apply(event)
            self.events.append(event)

    def book(self, when: str, provider: str, start: str, vtype: str = "follow") -> str:
        return self.tap(when, BookVisit("P", provider, vtype, start=self.at(start))).visit

    def walk_in(self, when: str, provider: str, vtype: str = "follow") -> str:
        return self.tap(when, BookVisit("W", provider, vtype, walk_in=True)).visit

    def through(self, visit: str, *steps: tuple[str, Stage, str | None]) -> None:
        for when, step, room in steps:
            self.tap(when, TakeStep(visit, step, room))


S = Stage


def test_a_walk_in_moved_to_another_provider_is_waited_for_by_them_from_the_move() -> None:
    """README: a patient moved once here counts "in the new provider's as a walk-in would (not late by them), their
    waits from the move"; "the new provider's wait for them starts at the move". A walk-in is a patient here and
    waiting like any other: the 30 minutes they waited for kim are not okafor's. Floor counts a moved walk-in's
    waits from their arrival (measures._spans applies `from_move` only when `moved_from` is set, and a moved
    walk-in's `moved_from` is None), so the provider who took them in to help is charged kim's wait; a scheduled
    patient moved the same way is counted from the move."""
    d = Day()
    booked = d.book("08:00", "kim", "09:00")
    walk_in = d.walk_in("09:00", "kim")
    d.tap("09:00", TakeStep(booked, S.arrived))
    d.tap("09:30", MoveVisit(walk_in, "okafor"))
    d.tap("09:30", MoveVisit(booked, "silva"))
    for when, step, room in (("09:35", S.roomed, "e"), ("09:38", S.prep_done, None), ("09:40", S.provider_in, None)):
        d.tap(when, TakeStep(walk_in, step, room and "e1"))
        d.tap(when, TakeStep(booked, step, room and "e2"))
    m = measure(d.floor, d.at("09:45"))
    silva, okafor = m.providers["silva"], m.providers["okafor"]
    # The scheduled patient: silva's waits from the move (5 to be roomed, 10 to see her).
    assert (silva.arrival_to_roomed.median, silva.arrival_to_provider.median) == (5.0, 10.0)
    # The walk-in, moved at the same moment and seen at the same moment: the same waits are okafor's.
    assert (okafor.arrival_to_roomed.median, okafor.arrival_to_provider.median) == (5.0, 10.0)


def test_the_clinics_lateness_is_not_made_by_a_patient_who_came_late() -> None:
    """Measures docstring: "For the clinic, each [current and worst lateness] is the largest over its providers";
    README: "A patient who came late is late by their own doing ... does not make the provider late". Here every
    provider is on time all day, yet the clinic reads 31 minutes late now and at worst: `measure` takes the
    clinic's lateness over every booked patient with no `came_late` (measures.py, `everyone`), so a patient's own
    lateness is reported as the clinic's (in the export's clinic row too)."""
    d = Day()
    late = d.book("08:00", "kim", "09:00")  # planned rooming 09:00, planned provider-in 09:09
    d.through(late, ("09:40", S.arrived, None), ("09:41", S.roomed, "e1"), ("09:42", S.prep_done, None))
    waiting = measure(d.floor, d.at("09:42"))
    assert waiting.providers["kim"].current_lateness == 0.0
    assert waiting.clinic.current_lateness == 0.0  # Floor: 33.0
    d.through(late, ("09:43", S.provider_in, None))
    seen = measure(d.floor, d.at("09:50"))
    assert max(p.worst_lateness for p in seen.providers.values()) == 0.0
    assert (seen.clinic.current_lateness, seen.clinic.worst_lateness) == (0.0, 0.0)  # Floor: (34.0, 34.0)


def test_a_patient_who_came_late_is_not_the_providers_late_start() -> None:
    """The provider's row on the manager page and in the export says kim was 0 minutes late at worst (a patient who
    came late is left out of a provider's lateness, as in the provider's delay), and beside it 0% on-time starts:
    the one late start is the patient's, who came 40 minutes late and was seen 3 minutes after coming. On-time
    starts of a provider count every scheduled visit started (measures._measures `started`), with none of the
    `came_late` rule the lateness beside it follows, so the two figures contradict each other."""
    d = Day()
    late = d.book("08:00", "kim", "09:00")
    d.through(
        late,
        ("09:40", S.arrived, None),
        ("09:41", S.roomed, "e1"),
        ("09:42", S.prep_done, None),
        ("09:43", S.provider_in, None),
    )
    kim = measure(d.floor, d.at("09:50")).providers["kim"]
    assert kim.worst_lateness == 0.0
    # Not a late start of kim's: left out, or on time.
    assert kim.on_time_starts.hits == kim.on_time_starts.count, kim.on_time_starts


def test_lateness_on_the_night_clocks_go_back_is_the_same_live_and_read_back() -> None:
    """A clinic open through the night (session 00:00 to 23:00) on 2025-11-02, when Chicago's clocks go back at 02:00
    CDT. A follow-up booked (schedule import: clinic time, `clinic.local`) at 01:55 CDT is due to be seen 9 minutes
    later, at 02:04 CDT = 01:04 CST; the provider walks in at 01:30 CST, 26 minutes late. Live, `planned_provider_in`
    adds the minutes on the zone's wall clock (start + timedelta on a ZoneInfo datetime) and plans 02:04 CST, an hour
    later: 0 late, an on-time start. The same day read back from the log (fixed offsets) says 26 late and a late
    start: the manager's page and the day's export disagree with each other."""
    base = demo_clinic()
    clinic = msgspec.structs.replace(
        base, session=msgspec.structs.replace(base.session, opens=dt.time(0, 0), closes=dt.time(23, 0))
    )
    d = Day(clinic, dt.date(2025, 11, 2))
    start = clinic.local(d.day, dt.time(1, 55))  # fold 0: 01:55 CDT, as the schedule import makes it
    visit = d.tap(d.at("00:30"), BookVisit("P", "kim", "follow", start=start)).visit
    cst = dt.timezone(dt.timedelta(hours=-6))
    for minute, step, room in ((50, S.arrived, None), (55, S.roomed, "e1"), (59, S.prep_done, None)):
        d.tap(d.at(f"01:{minute}"), TakeStep(visit, step, room))
    d.tap(dt.datetime(2025, 11, 2, 1, 30, tzinfo=cst), TakeStep(visit, S.provider_in))
    now = dt.datetime(2025, 11, 2, 1, 40, tzinfo=cst)
    live = measure(d.floor, now, alerts_raised(d.floor, d.events)).providers["kim"]
    stored = msgspec.json.decode(msgspec.json.encode(d.events), type=list[Event])
    past = day_measures(clinic, d.day, stored, now).providers["kim"]
    assert (past.worst_lateness, past.on_time_starts.hits) == (26.0, 0)
    assert (live.worst_lateness, live.on_time_starts.hits) == (26.0, 0)  # Floor live: (0.0, 1)


def test_a_walk_in_removed_as_entered_in_error_raises_no_alert_in_the_measures() -> None:
    """README: undoing a walk-in with no step yet takes it off the floor "as booked by mistake ... entered in error,
    out of the measures". The dwell alert Floor raised while that never-real patient sat unroomed stays counted in
    `alerts_raised`, for the provider and the clinic, today and on the past day (floor.days.alerts_raised counts
    every AlertRaised, whatever became of its visit)."""
    d = Day()
    mistake = d.walk_in("09:00", "kim")
    d.review("09:16")  # waiting to be roomed past the 15 minutes
    assert any(a.visit == mistake and a.kind == "dwell" for a in d.floor.alerts.values())
    d.tap("09:17", UndoStep(mistake))
    d.review("09:18")
    assert d.floor.visits[mistake].entered_in_error
    now = d.at("09:30")
    today = measure(d.floor, now, alerts_raised(d.floor, d.events))
    assert (today.clinic.booked, today.providers["kim"].booked) == (0, 0)
    assert (today.clinic.alerts_raised, today.providers["kim"].alerts_raised) == (0, 0)
    past = day_measures(CLINIC, DAY, d.events)
    assert (past.clinic.alerts_raised, past.providers["kim"].alerts_raised) == (0, 0)


def test_a_patient_who_never_came_is_not_counted_as_shown_on_a_day_gone_by() -> None:
    """A day gone by, where the desk did not tap the no-show (the EHR marks them, or nobody did): kim had two
    patients booked, one came and was seen, the other never came. The past day's no-show rate reads 0% (0 of 2):
    the patient who never came is in the denominator as one who showed (measures._measures `due`: every visit
    started by `now`, whatever its stage). A patient still only "scheduled" when the day closed did not show (the
    Encounter export calls such a visit `unknown`; Floor's learning leaves them out of the no-show share): they are
    either a no-show or not known, never a show."""
    d = Day()
    came = d.book("07:30", "kim", "09:00")
    d.book("07:30", "kim", "10:00")
    d.through(
        came,
        ("08:58", S.arrived, None),
        ("09:00", S.roomed, "e1"),
        ("09:05", S.prep_done, None),
        ("09:08", S.provider_in, None),
        ("09:20", S.teach_back_done, None),
        ("09:22", S.checked_out, None),
    )
    rate = day_measures(CLINIC, DAY, d.events).providers["kim"].no_show_rate
    # Only the patient who came counts as having shown.
    assert rate.count - rate.hits == 1, rate  # Floor: Share(count=2, hits=0, rate=0.0)


def test_todays_measure_report_is_not_complete_while_the_day_can_still_change_it() -> None:
    """`GET .../export/measures` (or `floor export`) for today, at 17:05, the session closed at 17:00 but a patient
    still with the provider: the MeasureReport says `status: complete` (export.measure_report: complete whenever
    `measures.at` is past the session's close). Her teach-back and checkout at 17:20 then change the day's figures,
    and tomorrow the same report (same id) is exported again, complete too, with other numbers: a receiving system
    that keeps the first complete report keeps wrong ones. Today's report is `pending` until the day is over.

    Whether the day is over is the caller's to say (`closed`, as for `encounters`): a past day is measured as it
    closed, before midnight, so the measures alone cannot tell today's from it."""
    from floor.export import measure_report

    d = Day()
    v = d.book("07:30", "kim", "16:30")
    d.through(
        v,
        ("16:30", S.arrived, None),
        ("16:35", S.roomed, "e1"),
        ("16:40", S.prep_done, None),
        ("16:50", S.provider_in, None),
    )
    at_1705 = measure_report(
        CLINIC, DAY, measure(d.floor, d.at("17:05"), alerts_raised(d.floor, d.events)), closed=False
    )
    d.through(v, ("17:20", S.teach_back_done, None), ("17:22", S.checked_out, None))
    read_back = measure_report(CLINIC, DAY, day_measures(CLINIC, DAY, d.events), closed=True)
    assert read_back.status == "complete"
    assert at_1705.id == read_back.id
    assert at_1705.group != read_back.group  # the day's figures changed after 17:05
    assert at_1705.status == "pending"  # Floor: "complete"


def test_a_patient_who_waited_past_their_plan_and_left_unseen_stays_in_the_days_worst_lateness() -> None:
    """kim's 09:00 follow-up (planned provider-in 09:09) came on time, was roomed and prepped, and waited: at 10:09 the
    manager's table read kim 60 minutes late now and at worst. At 10:10 the patient left without being seen, and kim's
    worst lateness went back to 0, for the clinic too, and the day read back as it closed (the export's row for the
    medical director) said kim was never late: `_provider_lateness` takes the worst over the visits the provider
    started and the current wait, and a patient who left is neither. They waited 61 minutes past their plan: that is
    the least kim was late for them, and the day's worst never falls when nothing was undone."""
    d = Day()
    v = d.book("08:00", "kim", "09:00")
    d.through(v, ("09:00", S.arrived, None), ("09:05", S.roomed, "e1"), ("09:08", S.prep_done, None))
    waiting = measure(d.floor, d.at("10:09")).providers["kim"]
    assert (waiting.current_lateness, waiting.worst_lateness) == (60.0, 60.0)
    d.through(v, ("10:10", S.left_without_being_seen, None))
    left = measure(d.floor, d.at("10:11"))
    assert (left.providers["kim"].current_lateness, left.providers["kim"].worst_lateness) == (0.0, 61.0)
    assert left.clinic.worst_lateness == 61.0
    past = day_measures(CLINIC, DAY, d.events)
    assert (past.providers["kim"].worst_lateness, past.clinic.worst_lateness) == (61.0, 61.0)  # Floor: (0.0, 0.0)
    # A patient who left before their planned provider-in was kept waiting by nobody.
    early = Day()
    e = early.book("08:00", "kim", "09:00")
    early.through(e, ("09:00", S.arrived, None), ("09:05", S.left_without_being_seen, None))
    assert day_measures(CLINIC, DAY, early.events).providers["kim"].worst_lateness == 0.0


def test_a_half_is_rounded_up_as_a_spreadsheet_rounds_it() -> None:
    """The export's CSV gave kim's one wait for the provider of 2 min 15 s as 2.2 minutes and one no-show of 16
    patients as 0.062: Python's round() rounds a half to even (and the binary fraction nearest a value: 1 min 09 s,
    1.15 minutes, read 1.1 where 1 min 21 s, 1.35, read 1.4). A quality manager checking a figure by hand, or with
    the spreadsheet's ROUND, gets 2.3 and 0.063."""
    d = Day()
    v = d.book("08:00", "kim", "09:00")
    d.through(v, ("09:00", S.arrived, None), ("09:05", S.roomed, "e1"), ("09:06", S.prep_done, None))
    d.tap(d.at("09:07") + dt.timedelta(seconds=15), TakeStep(v, S.provider_in))
    d.tap(d.at("09:08") + dt.timedelta(seconds=24), TakeStep(v, S.teach_back_done))  # 1 min 09 s later
    came = [d.book("08:00", "okafor", f"09:{k:02d}") for k in range(15)]
    for x in came:
        d.tap("09:20", TakeStep(x, S.arrived))
    d.tap("09:20", TakeStep(d.book("08:00", "okafor", "09:00"), S.no_show))
    m = measure(d.floor, d.at("09:30"))
    assert m.providers["kim"].roomed_to_provider.median == 2.3  # Floor: 2.2
    assert m.providers["okafor"].no_show_rate == Share(16, 1, 0.063)  # Floor: 0.062
    assert m.providers["kim"].time_with_provider.median == 1.2  # Floor: 1.1


def test_a_patient_who_came_4_minutes_57_seconds_after_their_time_came_on_time() -> None:
    """README: a patient who came late is one who came "5 minutes or more past their planned rooming". kim's 09:00
    follow-up came at 09:04:57 and waited for her, prepped, until 09:40: Floor took them as late by their own doing
    (`own_lateness` rounded 4.95 minutes to 5.0 before it was compared with 5), and kim read 0 minutes late now, and
    none of her starts late, while her patient, on time by the rule, had waited half an hour past the plan."""
    d = Day()
    v = d.book("08:00", "kim", "09:00")  # planned rooming 09:00, provider in 09:09
    d.tap(d.at("09:04") + dt.timedelta(seconds=57), TakeStep(v, S.arrived))
    d.through(v, ("09:06", S.roomed, "e1"), ("09:10", S.prep_done, None))
    kim = measure(d.floor, d.at("09:40")).providers["kim"]
    assert (kim.current_lateness, kim.worst_lateness) == (31.0, 31.0)  # Floor: (0.0, 0.0)
    d.through(v, ("09:40", S.provider_in, None))
    kim = measure(d.floor, d.at("09:45")).providers["kim"]
    assert kim.on_time_starts == Share(1, 0, 0.0)  # Floor: Share(0, 0, None)
    # At 5 minutes, they came late, as before.
    late = Day()
    w = late.book("08:00", "kim", "09:00")
    late.through(w, ("09:05", S.arrived, None), ("09:06", S.roomed, "e1"), ("09:10", S.prep_done, None))
    assert measure(late.floor, late.at("09:40")).providers["kim"].current_lateness == 0.0
