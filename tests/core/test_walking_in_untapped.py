"""A provider whose walking in to a patient goes untapped until the visit ends (provider-in and teach-back tapped
together): learned from past days, and what the projection and the cascade alert make of it, on hand-built days.

On such a provider's days a patient prepped and waiting while the provider seems free is most often a patient being
seen: presumed away, the provider's next patients were projected late and a cascade raised on a morning with none
(loadtests/fourth_days.py: 15 to 29% of visits in four of its seven clinics).
"""

from __future__ import annotations

import datetime as dt

from floor.core.alerts import review
from floor.core.commands import MoveVisit, TakeStep, Tap, UndoStep
from floor.core.journey import PATH, Stage
from floor.core.learned import EMPTY, Learned, UntappedIn
from floor.core.learning import learn
from floor.core.projection import (
    UNTAPPED_IN_EVIDENCE,
    UNTAPPED_IN_PLAUSIBLE,
    UNTAPPED_IN_TODAY,
    absent_until,
    pace,
    project,
    steps_out_of,
    walks_in_untapped,
)
from tests.core.test_projection_and_alerts import CLINIC, DAY, TWO_LATE, Day, _broken_run_morning, _run, at
from tests.support.history import PastDay

#: Dr. Kim's past days: 12 of her last 40 visits had their provider-in tapped only with the teach-back.
FORGETS = Learned(untapped_in={"kim": UntappedIn(40, 12)})
ARRIVED, ROOMED, PREP, IN, TEACH, OUT = PATH[1:]


def test_a_provider_who_walks_in_untapped_is_learned_and_those_visits_say_nothing_of_her_minutes() -> None:
    floors = []
    for n in range(5, 0, -1):
        day = PastDay(CLINIC, DAY - dt.timedelta(days=n))
        for k in range(6):
            day.seen("kim", "follow", with_provider=24, untapped_in=k % 3 == 0)
            day.seen("okafor", "follow", with_provider=24)
        floors.append(day.floor)
    learned = learn(CLINIC, floors)
    assert learned.untapped_in == {"kim": UntappedIn(30, 10), "okafor": UntappedIn(30, 0)}
    assert walks_in_untapped(learned, "kim") and not walks_in_untapped(learned, "okafor")
    # Her minutes with the patient, her wait after prep and the gap from arrival are the 20 visits tapped as they
    # happened: the 10 others' provider-in says nothing of when she walked in (their minutes would be 0, their wait
    # the whole visit).
    times = learned.times("kim", "follow", Stage.provider_in)
    assert (times.visits, times.median) == (20, 24)
    assert learned.times("kim", "follow", Stage.prep_done).visits == 20
    assert learned.habits["kim"].to_provider_visits == 20
    # Too few visits to say: not taken as her habit.
    assert not walks_in_untapped(Learned(untapped_in={"kim": UntappedIn(UNTAPPED_IN_EVIDENCE - 1, 10)}), "kim")


def _morning(
    learned: Learned, *, untapped_end: str | None = "10:10", until: str = "10:15", earlier: int = 0
) -> tuple[Day, list[str]]:
    """Kim's 09:00 and 09:20 follow-ups (planned provider-in 09:09, 09:29) started 16 and 14 minutes late; the 09:40
    one (planned 09:49) is prepped at 09:46, and Kim, free at 09:57, walks in to it at 09:58, 9 minutes late: no
    cascade. Her walking in is not tapped: its provider-in comes with the teach-back at `untapped_end` (None: not by
    `until`). Her next patient is booked at noon. Before it all, `earlier` follow-ups from 08:00 every 15 minutes,
    on time, each with its provider-in tapped only with its teach-back."""
    day = Day()
    day.floor.learned = learned
    for n in range(earlier):
        start = at("08:00") + dt.timedelta(minutes=15 * n)
        visit = day.book(start.strftime("%H:%M"))

        def hm(delta: int, start: dt.datetime = start) -> str:
            return (start + dt.timedelta(minutes=delta)).strftime("%H:%M")

        day.walk(visit, (hm(-5), ARRIVED), (hm(0), ROOMED), (hm(6), PREP), (hm(14), IN), (hm(14), TEACH), (hm(14), OUT))
    v = [day.book(s) for s in ("09:00", "09:20", "09:40", "12:00")]
    steps = [*TWO_LATE, ("09:57", 1, TEACH), ("09:57", 1, OUT)]
    if untapped_end is not None:
        steps += [(untapped_end, 2, IN), (untapped_end, 2, TEACH)]
    _run(day, v, steps, until=until)
    return day, v


def test_a_prepped_patient_with_the_provider_free_is_presumed_seen_where_she_walks_in_untapped() -> None:
    day, v = _morning(FORGETS, untapped_end=None, until="10:08")
    projected = {p.visit: p for p in project(day.floor, "kim", at("10:08")).visits}
    # Presumed in with her since she came free at 09:57: 8 minutes late, not a link; she is not presumed away.
    assert projected[v[2]].provider_in == at("09:57") and projected[v[2]].lateness == 8
    assert projected[v[2]].presumed_in and not any(p.presumed_in for p in projected.values() if p.visit != v[2])
    assert projected[v[2]].provider_out > at("10:08")
    assert absent_until(day.floor, "kim", at("10:08")) > at("10:08")  # the rule without the habit: away
    assert day.active("cascade") == [], day.log
    # Where providers tap as they walk in, the same wait is an absence, and the morning raises a cascade.
    tapping, _ = _morning(EMPTY, untapped_end=None, until="10:10")
    assert len(tapping.active("cascade")) == 1, tapping.log


def test_her_visit_tapped_only_as_it_ended_counts_from_when_she_walked_in_not_from_its_tap() -> None:
    # 21 minutes late by the provider-in tapped at 10:10, 9 by her usual 12 minutes before that end: no third link.
    day, _ = _morning(FORGETS)
    assert [kind for _, kind, alert in day.log if alert == "cascade"] == [], day.log


def test_the_presumption_lapses_once_even_a_long_visit_would_be_over() -> None:
    lapse = at("09:57") + dt.timedelta(minutes=UNTAPPED_IN_PLAUSIBLE * 12)  # 10:21
    day, _ = _morning(FORGETS, untapped_end=None, until="10:20")
    assert day.active("cascade") == [], day.log
    day, _ = _morning(FORGETS, untapped_end=None, until="10:30")
    assert len(day.active("cascade")) == 1, day.log
    raised = next(when for when, kind, k in day.log if k == "cascade")
    assert raised >= lapse.strftime("%H:%M"), day.log
    assert project(day.floor, "kim", at("10:30")).visits[0].provider_in > at("10:30")


def test_a_visit_tapped_only_as_it_ended_does_not_make_the_days_pace_look_fast() -> None:
    day, _ = _morning(FORGETS)
    # Two visits seen (16 and 15 minutes: her pace) and one whose minutes are unknown (0 by its taps).
    assert pace(day.floor, "kim") == pace(_morning(FORGETS, untapped_end=None, until="10:15")[0].floor, "kim")
    assert review(day.floor, at("10:15")) == []


def _cascades(day: Day) -> list[tuple[str, str]]:
    return [(when, kind.__name__) for when, kind, alert in day.log if alert == "cascade"]


def test_her_provider_in_tapped_on_time_ends_a_run_at_once() -> None:
    # Two visits seen late, then the 09:40 procedure (planned 09:56) walked in to at 10:03, on time by its tap: the
    # run is over. Waiting a minute for its end to be tapped too raised a cascade on the late 10:00 patient behind
    # it, and cleared it a minute later (a hostile review's find).
    day = Day()
    day.floor.learned = FORGETS
    v = _broken_run_morning(day, third="procedure")
    _run(day, v, [("09:57", 3, ARRIVED), ("10:02", 1, TEACH), ("10:02", 1, OUT), ("10:03", 2, IN)], until="10:06")
    assert _cascades(day) == []


def test_a_late_provider_in_tapped_during_her_cascade_keeps_it_up() -> None:
    # The presumption lapses at 10:21 and the cascade is raised; at 10:27 she taps provider-in, then the teach-back.
    # Waiting on the end tap took the visit out of the run and cleared the cascade, raised again 10 minutes later.
    # It stays up until she is done with that patient: then nobody is due until noon, she has caught up, and it
    # clears for good.
    day, _ = _morning(FORGETS, untapped_end="10:27", until="10:45")
    cascades = _cascades(day)
    assert cascades[0][1] == "AlertRaised" and cascades[-1] == ("10:27", "AlertCleared"), day.log
    assert [kind for _, kind in cascades].count("AlertRaised") == 1 and len(day.active("cascade")) == 0, day.log


def test_a_visit_tapped_only_as_it_ended_is_not_walked_in_to_before_her_last_patient_was_done() -> None:
    # Kim is with the 09:20 patient until 10:05; the 09:40 one (planned 09:49) has provider-in and teach-back tapped
    # together at 10:10. Her usual 12 minutes before that end would say 09:58, 9 late; she cannot have walked in
    # before 10:05, 16 late: the third late visit of a run, and the cascade stays up.
    for learned in (EMPTY, FORGETS):
        day = Day()
        day.floor.learned = learned
        v = [day.book(s) for s in ("09:00", "09:20", "09:40", "10:00", "10:20")]
        steps = [
            *TWO_LATE,
            ("09:55", 3, ARRIVED),
            ("10:01", 3, ROOMED),
            ("10:05", 3, PREP),
            ("10:05", 1, TEACH),
            ("10:05", 1, OUT),
            ("10:10", 2, IN),
            ("10:10", 2, TEACH),
        ]
        _run(day, v, steps, until="10:14")
        kinds = [kind for _, kind in _cascades(day)]
        assert kinds[0] == "AlertRaised" and "AlertCleared" not in kinds, day.log
        (alert,) = day.active("cascade")
        assert v[2] in alert.detail.affected


def test_visits_tapped_only_as_they_ended_do_not_hide_that_she_steps_out_of_a_visit_type() -> None:
    floors = []
    for n in range(6, 0, -1):
        day = PastDay(CLINIC, DAY - dt.timedelta(days=n))
        day.stepping_out("kim", "procedure", "follow", before=10, meanwhile=8, rest=18)
        day.seen("kim", "procedure", with_provider=28, untapped_in=True)
        floors.append(day.floor)
    learned = learn(CLINIC, floors)
    # Six procedures stepped out of, six whose provider-in says nothing: she steps out of every one that shows.
    assert (learned.steps_out["kim/procedure"].visits, learned.steps_out["kim/procedure"].stepped) == (6, 6)
    assert steps_out_of(learned, "kim", CLINIC.visit_type("procedure")) == (10.0, 28.0)


def test_a_read_on_a_clock_behind_her_presumed_walk_in_still_presumes_it() -> None:
    # A wall's read on a server whose clock is a little behind the floor's last tap: not presumed away for it.
    day, v = _morning(FORGETS, untapped_end=None, until="10:08")
    projected = {p.visit: p for p in project(day.floor, "kim", at("09:56")).visits}
    assert projected[v[2]].provider_in == at("09:57")


def test_her_late_provider_in_tapped_a_moment_before_its_end_does_not_raise_on_the_visits_before_it() -> None:
    # The morning, with a 10:00 patient prepped and waiting. At 10:10 she taps the 09:40 visit's provider-in, then its
    # teach-back: between the two taps that visit looked 21 minutes late, its run reached back to the two late ones
    # before it, and with the 10:00 patient now waiting behind it a cascade was raised, to clear at the next tap.
    day = Day()
    day.floor.learned = FORGETS
    v = [day.book(s) for s in ("09:00", "09:20", "09:40", "10:00", "12:00")]
    steps = [*TWO_LATE, ("09:57", 1, TEACH), ("09:57", 1, OUT), ("09:58", 3, ARRIVED), ("10:00", 3, ROOMED)]
    steps += [("10:06", 3, PREP), ("10:10", 2, IN), ("10:10", 2, TEACH)]
    _run(day, v, steps, until="10:12")
    assert _cascades(day) == []


def test_the_next_patients_provider_in_tapped_just_before_the_last_ones_end_does_not_break_her_run() -> None:
    # The 09:40 visit, tapped only as it ended at 10:10, counts from 10:05 (when the patient before was done): 16 late,
    # a link. At 10:40 the 10:20 patient's provider-in is tapped a few seconds before the 10:00 one's teach-back. For
    # that moment two visits were going at once, which the bound took for a provider who sees two patients at once:
    # the link went, the cascade cleared, and it was raised again 10 minutes later (a second review's find).
    day = Day()
    day.floor.learned = FORGETS
    v = [day.book(s) for s in ("09:00", "09:20", "09:40", "10:00", "10:20", "12:00")]
    steps = [*TWO_LATE, ("09:55", 3, ARRIVED), ("10:01", 3, ROOMED), ("10:05", 3, PREP), ("10:05", 1, TEACH)]
    steps += [("10:05", 1, OUT), ("10:10", 2, IN), ("10:10", 2, TEACH), ("10:11", 2, OUT), ("10:15", 4, ARRIVED)]
    steps += [("10:20", 3, IN), ("10:21", 4, ROOMED), ("10:27", 4, PREP), ("10:40", 4, IN), ("10:40", 3, TEACH)]
    _run(day, v, [*steps, ("10:41", 3, OUT)], until="10:55")
    kinds = [kind for _, kind in _cascades(day)]
    assert kinds[0] == "AlertRaised" and "AlertCleared" not in kinds, day.log


def test_a_visit_tapped_only_as_it_ended_while_she_was_with_the_next_patient_is_no_step_out_of_that_one() -> None:
    # She walks in to B at 9:x; a minute later A's provider-in and teach-back are tapped together (A seen earlier,
    # tapped late); B ends 19 minutes on. A's zero-minute "span" inside B's is no patient seen meanwhile: B was seen
    # through, not stepped out of.
    floors = []
    for n in range(6, 0, -1):
        day = PastDay(CLINIC, DAY - dt.timedelta(days=n))
        (a, b), _ = day.two_ready("kim", "follow", "follow")
        day.tap(TakeStep(b, Stage.provider_in), after=1)
        day.tap(TakeStep(a, Stage.provider_in), after=1)
        day.tap(TakeStep(a, Stage.teach_back_done))
        day.tap(TakeStep(b, Stage.teach_back_done), after=19)
        for visit in (a, b):
            day.tap(TakeStep(visit, Stage.checked_out))
        floors.append(day.floor)
    learned = learn(CLINIC, floors)
    assert "kim/follow" not in learned.steps_out  # no visit of hers was stepped out of
    assert learned.two_at_once_changes == 0
    assert learned.times("kim", "follow", Stage.provider_in).median == 20


def test_a_new_clinic_learns_the_habit_from_the_day_itself() -> None:
    # No past days: three of Kim's visits this morning had their provider-in tapped only with the teach-back, so at
    # 10:08 her prepped patient, waiting while she seems free, is presumed seen (as with the habit learned from past
    # days), and the morning raises no cascade. Two such visits are not yet a habit: she is presumed away.
    day, v = _morning(EMPTY, untapped_end=None, until="10:10", earlier=UNTAPPED_IN_TODAY)
    assert walks_in_untapped(EMPTY, "kim", day.floor.visits.values())
    projected = {p.visit: p for p in project(day.floor, "kim", at("10:08")).visits}
    assert projected[v[2]].presumed_in and projected[v[2]].provider_in == at("09:57")
    assert day.active("cascade") == [], day.log
    fewer, _ = _morning(EMPTY, untapped_end=None, until="10:10", earlier=UNTAPPED_IN_TODAY - 1)
    assert not walks_in_untapped(EMPTY, "kim", fewer.floor.visits.values())
    assert len(fewer.active("cascade")) == 1, fewer.log


def test_past_days_tapped_as_they_happened_outweigh_a_few_such_visits_today() -> None:
    # Kim tapped walking in on every one of her last 60 visits: today's three are 3 of 63, under the share.
    tapping = Learned(untapped_in={"kim": UntappedIn(60, 0)})
    day, _ = _morning(tapping, untapped_end=None, until="10:10", earlier=UNTAPPED_IN_TODAY)
    assert not walks_in_untapped(tapping, "kim", day.floor.visits.values())
    assert len(day.active("cascade")) == 1, day.log
    # Her last 20 visits had 2 such: with today's 3, 5 of 23.
    day, _ = _morning(
        Learned(untapped_in={"kim": UntappedIn(20, 1)}), untapped_end=None, until="10:10", earlier=UNTAPPED_IN_TODAY
    )
    assert day.active("cascade") == [], day.log


def test_a_habit_once_shown_is_not_switched_off_by_the_visits_she_taps_as_they_happen() -> None:
    # Her past days: 4 of 40 visits tapped only as they ended, her habit. Today's two visits tapped as they happened
    # make it 4 of 42, under the share: judged afresh, the habit went off, she was presumed away while her 09:40
    # patient waited, and a cascade was raised at 10:01 and cleared at 10:10 when the end came (a review's find).
    day, _ = _morning(Learned(untapped_in={"kim": UntappedIn(40, 4)}))
    assert _cascades(day) == [], day.log
    # No past days: from her third such visit this morning she has the habit, and 30 visits tapped as they happened
    # since (3 of 33) do not take it away.
    today = PastDay(CLINIC, DAY, opens=dt.time(7))
    for n in range(33):
        today.seen("kim", "follow", with_provider=10, untapped_in=n < UNTAPPED_IN_TODAY)
        assert walks_in_untapped(EMPTY, "kim", today.floor.visits.values()) == (n >= UNTAPPED_IN_TODAY - 1), n


def test_a_patient_moved_to_her_is_presumed_seen_from_the_move_not_from_before_it() -> None:
    # Okafor's 09:20 patient, prepped at 09:26, is moved to Kim (free all morning) at 09:50: she can have walked in
    # to them only after the move (Floor refuses a provider-in before it). Presumed in from 09:26, she would be 29
    # minutes into a 12-minute visit, past twice its minutes: presumed away instead.
    day = Day()
    day.floor.learned = FORGETS
    (visit,) = [day.book("09:20", "okafor")]
    day.walk(visit, ("09:15", ARRIVED), ("09:20", ROOMED), ("09:26", PREP))
    day.tap("09:50", MoveVisit(visit, "kim"))
    (projected,) = project(day.floor, "kim", at("09:55")).visits
    assert projected.presumed_in and projected.provider_in == at("09:50")


def _waits(day: Day, visit: str) -> list[str]:
    """When the dwell alerts for `visit`'s waits were raised."""
    return [a.raised_at.strftime("%H:%M") for a in day.floor.alerts.values() if a.kind == "dwell" and a.visit == visit]


def test_a_patient_presumed_seen_raises_no_dwell_alert_until_the_presumption_lapses() -> None:
    # The 09:40 patient, prepped at 09:46, has waited the clinic's 15 minutes for a provider by the taps at 10:01;
    # Kim is presumed with them since 09:57, for about twice her usual 12 minutes. A wait was raised for each visit
    # of such a provider's that ran past 15 minutes.
    day, v = _morning(FORGETS, untapped_end=None, until="10:20")
    assert _waits(day, v[2]) == [], day.log
    day, v = _morning(FORGETS, untapped_end=None, until="10:25")
    (raised,) = _waits(day, v[2])
    # Raised the minute the projection stops presuming her in (twice her usual minutes at the day's pace).
    lapse = at("09:57") + dt.timedelta(minutes=UNTAPPED_IN_PLAUSIBLE * 12)
    assert raised >= lapse.strftime("%H:%M"), day.log
    before = {p.visit: p for p in project(day.floor, "kim", at(raised) - dt.timedelta(minutes=1)).visits}
    assert before[v[2]].presumed_in and not project(day.floor, "kim", at(raised)).visits[0].presumed_in
    (wait,) = [a for a in day.active("dwell") if a.visit == v[2]]
    assert wait.detail.minutes >= 35  # her whole wait by the taps
    # Where providers tap as they walk in, the patient has waited 15 minutes at 10:01.
    tapping, v = _morning(EMPTY, untapped_end=None, until="10:05")
    assert _waits(tapping, v[2]) == ["10:01"], tapping.log


def _kept_with_the_09_20_patient(until: str) -> tuple[Day, list[str]]:
    """Kim (who walks in untapped) with the 09:20 patient until 10:05 by the taps (TWO_LATE, then its teach-back and
    checkout), the 09:40 patient prepped at 09:46 and waiting, up to `until`; the 09:00, 09:20, 09:40 and 12:00
    visits."""
    day = Day()
    day.floor.learned = FORGETS
    v = [day.book(s) for s in ("09:00", "09:20", "09:40", "12:00")]
    _run(day, v, [*TWO_LATE, ("10:05", 1, TEACH), ("10:05", 1, OUT)], until=until)
    return day, v


def test_a_wait_raised_before_the_presumption_stays_up() -> None:
    # Kim (who walks in untapped) is with the 09:20 patient until 10:05 by the taps: the 09:40 patient, prepped at
    # 09:46, has waited 15 minutes at 10:01, a wait raised. Once Kim is done, she is presumed with that patient: the
    # wait raised stays up (her walking in is not tapped) and none is raised again for it.
    day, v = _kept_with_the_09_20_patient(until="10:15")
    assert _waits(day, v[2]) == ["10:01"], day.log
    assert [a.visit for a in day.active("dwell")] == [v[2]]
    assert project(day.floor, "kim", at("10:15")).visits[0].presumed_in


def test_a_patient_forgotten_while_the_provider_sees_others_is_raised_when_the_longest_presumption_ends() -> None:
    # The 09:00 patient, prepped at 09:06, is forgotten: Kim (who walks in untapped) sees the 09:05 to 10:20 ones
    # instead, each one's provider-in and teach-back tapped in one go 12 minutes after their prep, and reviewed once
    # (a tablet's taps sent together). Each of those visits' ends, before the presumption lapses, would start it
    # again; the wait is raised by the clinic's 15 minutes and twice her 12 with a patient after the prep at the
    # latest.
    day = Day()
    day.floor.learned = FORGETS
    starts = ("09:05", "09:20", "09:35", "09:50", "10:05", "10:20")
    forgotten, *others = [day.book(s) for s in ("09:00", *starts)]
    rooms = iter(r for r in day.floor.rooms)
    taps: dict[str, list[TakeStep]] = {
        "08:55": [TakeStep(forgotten, ARRIVED)],
        "09:00": [TakeStep(forgotten, ROOMED, next(rooms))],
        "09:06": [TakeStep(forgotten, PREP)],
    }
    for visit, start in zip(others, (at(s) for s in starts), strict=True):
        for after, steps in (
            (-5, [TakeStep(visit, ARRIVED)]),
            (0, [TakeStep(visit, ROOMED, next(rooms))]),
            (5, [TakeStep(visit, PREP)]),
            (17, [TakeStep(visit, IN), TakeStep(visit, TEACH)]),
            (18, [TakeStep(visit, OUT)]),
        ):
            taps.setdefault((start + dt.timedelta(minutes=after)).strftime("%H:%M"), []).extend(steps)
    when = at("08:55")
    while when <= at("11:30"):
        hhmm = when.strftime("%H:%M")
        for command in taps.get(hhmm, []):
            day.floor.apply(day.floor.decide(command, Tap("staff", "t1", when)))
        day.review(hhmm)
        when += dt.timedelta(minutes=1)
    (raised,) = _waits(day, forgotten)
    latest = at("09:06") + dt.timedelta(minutes=15 + UNTAPPED_IN_PLAUSIBLE * 12)
    assert at("09:21") < at(raised) <= latest, day.log


def test_a_wait_raised_stays_up_through_a_step_tapped_by_mistake_and_undone() -> None:
    # As above, the 09:40 patient's wait raised at 10:01. At 10:06 Kim's walking in to them is tapped by mistake,
    # undone at 10:07: the patient is waiting again, as they were, and their wait is shown again at once, not
    # held back as if never raised (Kim is free, and presumed with them).
    day, v = _kept_with_the_09_20_patient(until="10:05")
    assert [a.visit for a in day.active("dwell")] == [v[2]]
    day.tap("10:06", TakeStep(v[2], IN))
    assert day.active("dwell") == []
    day.tap("10:07", UndoStep(v[2]))
    assert [a.visit for a in day.active("dwell")] == [v[2]]
    assert project(day.floor, "kim", at("10:07")).visits[0].presumed_in
