"""Learning what a clinic's visits really take from its own past days (floor/core/learning.py), and the
projection expecting it. Pure: past days are built tap by tap through the floor (tests/support/history.py).

The demo clinic's follow-up: roomed 6, prep_done 3, with the provider 12 minutes. Dr. Kim's past follow-ups
take 24 with her; Dr. Okafor has no history.
"""

from __future__ import annotations

import datetime as dt
import random

import msgspec
import pytest

from floor.config import demo_clinic
from floor.core.commands import BookVisit, Command, MoveVisit, TakeStep, Tap
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.learned import EMPTY, PRIOR_VISITS
from floor.core.learning import LATE_TAP_EVIDENCE, LEARN_DAYS, PACE_EVIDENCE, PACE_WEIGHTS, learn
from floor.core.projection import NO_SHOW_PRIOR, NO_SHOW_PRIOR_WEIGHT, PACE_PRIOR, project, show_chance
from tests.support.history import PastDay

CLINIC = demo_clinic()
FOLLOW = CLINIC.visit_type("follow")
TODAY = dt.date(2026, 11, 23)


def past(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def kim_days(days: int, visits: int, with_provider: float = 24, **kwargs) -> list[Floor]:
    floors = []
    for n in range(days, 0, -1):
        day = PastDay(CLINIC, past(n))
        for _ in range(visits):
            day.seen("kim", "follow", with_provider=with_provider, **kwargs)
        floors.append(day.floor)
    return floors


def test_a_new_clinic_with_no_history_expects_the_configured_minutes() -> None:
    learned = learn(CLINIC, [])
    assert learned == EMPTY
    for stage in (Stage.roomed, Stage.prep_done, Stage.provider_in):
        assert learned.expected("kim", FOLLOW, stage) == getattr(FOLLOW.stage_minutes, stage.value)


def test_thin_data_is_shrunk_toward_the_configured_minutes() -> None:
    learned = learn(CLINIC, kim_days(1, 2))
    times = learned.times("kim", "follow", Stage.provider_in)
    assert times is not None and (times.median, times.visits, times.configured) == (24, 2, 12)
    # Two visits against PRIOR_VISITS visits' worth of the clinic file: barely moved.
    assert learned.expected("kim", FOLLOW, Stage.provider_in) == pytest.approx(
        (PRIOR_VISITS * 12 + 2 * 24) / (PRIOR_VISITS + 2)
    )
    assert 12 < learned.expected("kim", FOLLOW, Stage.provider_in) < 15
    # Nothing learned of Dr. Okafor, nor of Dr. Kim's new patients: the clinic file.
    assert learned.expected("okafor", FOLLOW, Stage.provider_in) == 12
    assert learned.expected("kim", CLINIC.visit_type("new"), Stage.provider_in) == 25


def test_a_month_of_visits_moves_the_expectation_to_the_learned_median() -> None:
    learned = learn(CLINIC, kim_days(20, 6, roomed=10))
    assert learned.days == [past(n) for n in range(20, 0, -1)]
    assert learned.times("kim", "follow", Stage.provider_in).visits == 120
    # Arrivals are all counted; their lateness is kept as at most 101 order statistics.
    assert learned.habits["kim"].arrivals == 120 and len(learned.habits["kim"].late) == 101
    assert learned.expected("kim", FOLLOW, Stage.provider_in) == pytest.approx(24, abs=1.0)
    assert learned.expected("kim", FOLLOW, Stage.roomed) == pytest.approx(10, abs=0.5)
    # The provider walked in a minute after prep, free each time: that is learned too (configured 3).
    assert learned.expected("kim", FOLLOW, Stage.prep_done) == pytest.approx(1, abs=0.3)


def test_forgotten_taps_and_undone_steps_are_not_learned() -> None:
    day = PastDay(CLINIC, past(1))
    for _ in range(10):
        day.seen("kim", "follow", with_provider=12)
    day.seen("kim", "follow", with_provider=200)  # checked out hours later: a tap forgotten
    day.seen("kim", "follow", with_provider=49)  # over 4 times the configured 12
    day.seen("kim", "follow", with_provider=12, undo_provider_in=True)  # provider-in tapped too early, undone
    learned = learn(CLINIC, [day.floor])
    times = learned.times("kim", "follow", Stage.provider_in)
    assert (times.visits, times.median) == (11, 12)
    # The undone early tap is not where the provider came in: the stage is 12 minutes, not 12 and a half.
    undone = list(day.floor.visits.values())[-1]
    assert (undone.times[Stage.checked_out] - undone.times[Stage.provider_in]) == dt.timedelta(minutes=12)


def test_a_patient_ready_while_the_provider_is_busy_is_not_counted_as_prep() -> None:
    day = PastDay(CLINIC, past(1))
    first = day.seen("kim", "follow")
    # Two patients at once: B is ready while the provider is with A, and waits 11 minutes for her.
    a = day.tap(BookVisit("A", "kim", "follow", day.now)).change.visit
    b = day.tap(BookVisit("B", "kim", "follow", day.now)).change.visit
    for visit, room in ((a, "e2"), (b, "e3")):
        day.tap(TakeStep(visit, Stage.arrived))
        day.tap(TakeStep(visit, Stage.roomed, room))
    day.tap(TakeStep(a, Stage.prep_done), after=3)
    day.tap(TakeStep(a, Stage.provider_in), after=1)
    day.tap(TakeStep(b, Stage.prep_done), after=1)
    day.tap(TakeStep(a, Stage.checked_out), after=11)
    day.tap(TakeStep(b, Stage.provider_in))
    day.tap(TakeStep(b, Stage.checked_out), after=12)
    learned = learn(CLINIC, [day.floor])
    assert first and learned.times("kim", "follow", Stage.provider_in).visits == 3
    prep = learned.times("kim", "follow", Stage.prep_done)
    # The first visit and A (a minute each, the provider free); B's 11 minutes were a wait for a busy provider.
    assert (prep.visits, prep.median) == (2, 1)


def test_walk_ins_count_for_durations_not_for_no_shows_or_lateness() -> None:
    day = PastDay(CLINIC, past(1))
    for late in (20, 25, 30):
        day.seen("kim", "follow", late=late)
    day.seen("kim", "follow", walk_in=True)
    for _ in range(3):
        day.no_show("kim", "follow")
    learned = learn(CLINIC, [day.floor])
    assert learned.times("kim", "follow", Stage.provider_in).visits == 4
    habits = learned.habits["kim"]
    assert (habits.booked, habits.no_shows, habits.arrivals) == (6, 3, 3)
    assert habits.late_median == 25 and habits.late == [20, 25, 30]
    prior = NO_SHOW_PRIOR_WEIGHT * NO_SHOW_PRIOR
    assert habits.no_show_share == pytest.approx((prior + 3) / (NO_SHOW_PRIOR_WEIGHT + 6), abs=1e-4)
    # From arrival to provider: roomed at once, 6 minutes' prep, in a minute later.
    assert habits.to_provider == 7 and habits.to_provider_visits == 3
    assert "okafor" not in learned.habits


def today_with_kims_morning() -> Floor:
    """Today at 09:00: Dr. Kim has four follow-ups booked from 09:00, every 20 minutes, the first patient
    here and roomed."""
    floor = Floor(CLINIC, TODAY, ids=Ids.seeded("today"))
    early = CLINIC.local(TODAY, dt.time(8))

    def tap(command, at=early):
        event = floor.decide(command, Tap("ma-rosa", "tablet-1", at))
        floor.apply(event)
        return event.change.visit

    starts = [CLINIC.local(TODAY, dt.time(9)) + dt.timedelta(minutes=20 * i) for i in range(4)]
    visits = [tap(BookVisit(f"P{i}", "kim", "follow", s)) for i, s in enumerate(starts)]
    tap(TakeStep(visits[0], Stage.arrived), starts[0] - dt.timedelta(minutes=5))
    tap(TakeStep(visits[0], Stage.roomed, "e1"), starts[0])
    return floor


def test_the_projection_expects_what_was_learned_and_keeps_the_clinics_plan() -> None:
    now = CLINIC.local(TODAY, dt.time(9, 1))
    plain = today_with_kims_morning()
    learned_floor = today_with_kims_morning()
    learned_floor.learned = learn(CLINIC, kim_days(LEARN_DAYS, 6))
    expected = learned_floor.learned.expected("kim", FOLLOW, Stage.provider_in)
    assert expected > 23

    before, after = project(plain, "kim", now), project(learned_floor, "kim", now)
    for b, a in zip(before.visits, after.visits, strict=True):
        assert b.planned_provider_in == a.planned_provider_in  # late against the clinic's plan, as before
        assert b.provider_out - b.provider_in == dt.timedelta(minutes=12)
        assert a.provider_out - a.provider_in == pytest.approx(
            dt.timedelta(minutes=expected), abs=dt.timedelta(seconds=1)
        )
    # 24-minute visits booked every 20 minutes: the morning runs later and later; at 12 it stays on time.
    assert [v.lateness for v in before.visits] == [0.0] * 4
    assert after.visits[-1].lateness > after.visits[1].lateness > 0
    # The provider's delay is what the next patient who will wait for them meets (the first is seen on time).
    assert after.visits[0].lateness == 0.0
    assert after.lateness == after.visits[1].lateness


def kims_first_visit_took_24() -> tuple[Floor, dt.datetime]:
    """Today's morning (`today_with_kims_morning`) at 09:40, its first visit 24 minutes with Dr. Kim."""
    floor = today_with_kims_morning()
    visit = next(iter(floor.visits))
    for step, at in ((Stage.prep_done, 9), (Stage.provider_in, 10), (Stage.checked_out, 34)):
        event = floor.decide(TakeStep(visit, step), Tap("ma-rosa", "tablet-1", CLINIC.local(TODAY, dt.time(9, at))))
        floor.apply(event)
    return floor, CLINIC.local(TODAY, dt.time(9, 40))


def test_the_days_own_pace_is_measured_against_the_learned_minutes() -> None:
    floor, now = kims_first_visit_took_24()
    # 24 minutes today: slow against the clinic file, on pace against what Dr. Kim's visits take.
    assert project(floor, "kim", now).pace > 1.2
    floor.learned = learn(CLINIC, kim_days(LEARN_DAYS, 6))
    assert project(floor, "kim", now).pace == pytest.approx(1.0, abs=0.02)


def test_a_provider_whose_patients_come_late_is_not_taken_for_a_no_show_as_soon() -> None:
    floor = today_with_kims_morning()
    second = list(floor.visits.values())[1]  # booked 09:20, not here
    now = CLINIC.local(TODAY, dt.time(9, 40))
    by_priors = show_chance(floor, second, now)
    history = []
    for n in range(10, 0, -1):
        day = PastDay(CLINIC, past(n))
        for late in (15, 20, 25, 30, 35):
            day.seen("kim", "follow", late=late)
        history.append(day.floor)
    floor.learned = learn(CLINIC, history)
    # Dr. Kim's patients come 15 to 35 minutes late and always come: 20 minutes late is not yet a no-show.
    assert by_priors < 0.5 < show_chance(floor, second, now)


@pytest.mark.parametrize("late", [-15, 0])
def test_where_patients_come_early_one_not_come_just_before_their_time_is_likely_not_coming(late: float) -> None:
    floor = today_with_kims_morning()
    second = list(floor.visits.values())[1]  # booked 09:20, not here
    now = CLINIC.local(TODAY, dt.time(9, 17))  # 3 minutes before their time
    history = []
    for n in range(10, 0, -1):
        day = PastDay(CLINIC, past(n))
        for _ in range(4):
            day.seen("kim", "follow", late=late)
        day.no_show("kim", "follow")
        day.no_show("kim", "follow")
        history.append(day.floor)
    floor.learned = learn(CLINIC, history)
    # A third of Dr. Kim's patients do not come. Those who do come 15 minutes early: one not here 3 minutes
    # before their time is more likely among the third. Where they come on time, they are likely on their way.
    if late < 0:
        assert show_chance(floor, second, now) < 0.5
    else:
        assert show_chance(floor, second, now) > 0.5


def changeovers(overlaps: list[float], *, teach_back: bool = True) -> Floor:
    """One past day of Dr. Kim's, a changeover from one patient to the next for each overlap (the first's
    teach-back tapped that many minutes after the second's provider-in; negative: before it)."""
    day = PastDay(CLINIC, past(1))
    for overlap in overlaps:
        day.changeover("kim", "follow", overlap=overlap, teach_back=teach_back)
    return day.floor


def test_a_clinic_whose_taps_come_after_their_steps_learns_by_how_much() -> None:
    # Five times the next patient's provider-in was tapped before the last one's teach-back: a provider sees one
    # patient at a time, so a tap came late, by the median overlap.
    learned = learn(CLINIC, [changeovers([1, 2, 3, 4, 6])])
    # Each changeover is two changes counted (into its second patient, then on to the next changeover's first)
    # but for the day's last.
    assert (learned.provider_changes, learned.late_tap_changes, learned.tap_lag) == (9, 5, 3.0)


def test_taps_on_time_or_too_few_late_ones_teach_no_lag() -> None:
    on_time = learn(CLINIC, [changeovers([-1, -2, -1, -3, -1, -2])])
    assert (on_time.provider_changes, on_time.late_tap_changes, on_time.tap_lag) == (11, 0, 0.0)
    few = learn(CLINIC, [changeovers([5.0] * (LATE_TAP_EVIDENCE - 1) + [-1.0])])
    assert (few.late_tap_changes, few.tap_lag) == (LATE_TAP_EVIDENCE - 1, 0.0)
    # And what a new clinic knows: nothing.
    assert (EMPTY.provider_changes, EMPTY.late_tap_changes, EMPTY.tap_lag) == (0, 0, 0.0)


def test_a_provider_who_sees_two_patients_at_once_is_no_late_tap() -> None:
    # Dr. Kim steps out of a visit (an x-ray, an anaesthetic to work) and sees the next patient meanwhile: the
    # first's teach-back comes 25 to 50 minutes after the second's provider-in. No tap came late.
    stepping_out = learn(CLINIC, [changeovers([25, 30, 35, 40, 45, 50])])
    assert (stepping_out.late_tap_changes, stepping_out.two_at_once_changes, stepping_out.tap_lag) == (0, 6, 0.0)
    # Where that is as common as a short overlap, a short one may be a short step out: not counted, no lag.
    as_often = learn(CLINIC, [changeovers([2, 3, 4, 5, 6, 25, 30, 35, 40, 45])])
    assert (as_often.late_tap_changes, as_often.two_at_once_changes, as_often.tap_lag) == (0, 5, 0.0)
    # Now and then, beside taps that do come late: the lag is the late taps' own.
    now_and_then = learn(CLINIC, [changeovers([1, 2, 3, 4, 6, 2, 40])])
    assert (now_and_then.late_tap_changes, now_and_then.two_at_once_changes, now_and_then.tap_lag) == (6, 1, 2.5)


def test_one_provider_who_steps_out_does_not_hide_anothers_late_taps() -> None:
    # Dr. Kim steps out of visits; Dr. Okafor's taps come 1 to 6 minutes late. The lag is Dr. Okafor's.
    day = PastDay(CLINIC, past(1))
    for overlap in (25, 30, 35, 40, 45, 50, 2):
        day.changeover("kim", "follow", overlap=overlap)
    for overlap in (1, 2, 3, 4, 6):
        day.changeover("okafor", "follow", overlap=overlap)
    learned = learn(CLINIC, [day.floor])
    assert (learned.late_tap_changes, learned.two_at_once_changes, learned.tap_lag) == (5, 6, 3.0)


def test_a_checkout_tapped_after_the_provider_went_on_is_no_late_tap() -> None:
    # With no teach-back, a visit's time with the provider ends at its checkout, which the front desk taps when
    # the patient leaves, the provider perhaps already with the next: that is not a tap entered late.
    learned = learn(CLINIC, [changeovers([2, 3, 4, 5, 6, 7], teach_back=False)])
    assert (learned.late_tap_changes, learned.tap_lag) == (0, 0.0)


def paced_days(days: int, visits: int, day_factor, spread: float) -> list[Floor]:
    """Dr. Kim's past days of `visits` follow-ups each: minutes with her the clinic file's 12 x the day's factor
    (`day_factor(n)`) x a visit's own lognormal spread (`spread`, drawn from a fixed seed)."""
    draw = random.Random(7)
    floors = []
    for n in range(days, 0, -1):
        day = PastDay(CLINIC, past(n))
        for _ in range(visits):
            day.seen("kim", "follow", with_provider=12 * day_factor(n) * draw.lognormvariate(0, spread))
        floors.append(day.floor)
    return floors


def test_where_a_providers_days_do_not_differ_the_first_visits_of_a_day_say_little_about_its_pace() -> None:
    # Every day alike; each visit 12 minutes give or take its own spread: a slow first visit is only that.
    learned = learn(CLINIC, paced_days(LEARN_DAYS, 8, lambda n: 1.0, 0.3))
    assert learned.pace_visits == LEARN_DAYS * 7  # each day's visits but its first, foretold from those before
    assert learned.pace_weight == max(PACE_WEIGHTS) > PACE_PRIOR


def test_two_taps_made_together_are_no_visit_to_judge_the_pace_by() -> None:
    # Steady days, but on every third day one visit's provider-in and checkout were tapped seconds apart.
    draw = random.Random(7)
    floors = []
    for n in range(LEARN_DAYS, 0, -1):
        day = PastDay(CLINIC, past(n))
        for i in range(8):
            tapped_together = i == 3 and n % 3 == 0
            day.seen("kim", "follow", with_provider=0.05 if tapped_together else 12 * draw.lognormvariate(0, 0.3))
        floors.append(day.floor)
    # Their log ratios (about -5.5) would outweigh a hundred visits and pick the lightest weight.
    assert learn(CLINIC, floors).pace_weight > PACE_PRIOR


def test_where_a_providers_days_differ_the_days_own_visits_soon_tell() -> None:
    # Slow days and quick ones (18 minutes, then 8), each visit near its day's: the day's pace is real.
    learned = learn(CLINIC, paced_days(20, 7, lambda n: 1.5 if n % 2 else 0.7, 0.05))
    assert learned.pace_weight == PACE_PRIOR


def test_too_few_past_visits_keep_the_projections_own_weight() -> None:
    learned = learn(CLINIC, paced_days(2, 7, lambda n: 1.0, 0.3))
    assert (learned.pace_weight, learned.pace_visits) == (0.0, 12) and learned.pace_visits < PACE_EVIDENCE


def test_the_projection_weighs_the_days_pace_as_learned() -> None:
    floor, now = kims_first_visit_took_24()
    # One visit of 24 minutes against the clinic file's 12: twice the pace, shrunk toward 1.
    assert project(floor, "kim", now).pace == pytest.approx((PACE_PRIOR + 2.0) / (PACE_PRIOR + 1), abs=0.01)
    floor.learned = msgspec.structs.replace(EMPTY, pace_weight=30.0)
    assert project(floor, "kim", now).pace == pytest.approx((30.0 + 2.0) / (30.0 + 1), abs=0.01)


def _kims_patient_moved_to_okafor(steps: list[tuple[Command, float]]) -> Floor:
    """Yesterday: Dr. Kim's 9:00 follow-up, tapped at so many minutes past nine (a move among the taps)."""
    floor = Floor(CLINIC, past(1), ids=Ids.seeded("moved"))
    nine = CLINIC.local(past(1), dt.time(9))
    visit = None
    for command, minutes in [(BookVisit("P", "kim", "follow", nine), -60.0), *steps]:
        if visit is not None:
            command = msgspec.structs.replace(command, visit=visit)
        event = floor.decide(command, Tap("desk", "tablet-1", nine + dt.timedelta(minutes=minutes)))
        floor.apply(event)
        visit = event.change.visit
    return floor


def _step(step: Stage, room: str | None = None) -> TakeStep:
    return TakeStep("", step, room)  # the visit filled in by _kims_patient_moved_to_okafor


def test_a_patient_moved_to_another_provider_counts_when_they_came_for_the_one_they_were_booked_with() -> None:
    """Booked with Dr. Kim at 9:00, came 20 minutes late, moved to Dr. Okafor and seen by him: when they came is
    a habit of Dr. Kim's patients; their wait, for two providers, is neither's usual gap to the provider."""
    floor = _kims_patient_moved_to_okafor(
        [
            (_step(Stage.arrived), 20),
            (MoveVisit("", "okafor"), 25),
            (_step(Stage.roomed, "e1"), 26),
            (_step(Stage.prep_done), 30),
            (_step(Stage.provider_in), 31),
            (_step(Stage.checked_out), 45),
        ]
    )
    learned = learn(CLINIC, [floor])
    assert learned.habits["kim"].late == [20] and learned.habits["kim"].to_provider_visits == 0
    assert "okafor" not in learned.habits
    # What the visit took with the provider is the provider's who saw them.
    assert learned.times("okafor", "follow", Stage.provider_in).visits == 1


def test_the_wait_of_a_prepped_patient_for_the_provider_they_were_moved_from_is_nobodys_prep() -> None:
    """Prepped at 9:04 for Dr. Kim, moved to Dr. Okafor at 9:12, who is in at 9:13: the eight minutes were a
    wait for Dr. Kim, not what prep takes with Dr. Okafor (he was free: that is why the patient went to him)."""
    floor = _kims_patient_moved_to_okafor(
        [
            (_step(Stage.arrived), -5),
            (_step(Stage.roomed, "e1"), 0),
            (_step(Stage.prep_done), 4),
            (MoveVisit("", "okafor"), 12),
            (_step(Stage.provider_in), 13),
            (_step(Stage.checked_out), 30),
        ]
    )
    learned = learn(CLINIC, [floor])
    assert learned.times("okafor", "follow", Stage.prep_done) is None  # nothing learned of it
    assert learned.times("okafor", "follow", Stage.roomed).visits == 1  # rooming is the assistants', as it went


def test_a_visit_type_taken_out_of_the_file_since_is_learned_for_nobody():
    # Past days ran on a file with "procedure" visits (each day is folded with the file it ran on); today's file has
    # no "procedure": its minutes are projected for nobody, and what the follow-ups took is learned as ever.
    ran_on = demo_clinic()
    now = msgspec.structs.replace(ran_on, visit_types=tuple(t for t in ran_on.visit_types if t.code != "procedure"))
    floors = []
    for n in range(1, 4):
        day = PastDay(ran_on, dt.date(2026, 11, 20) - dt.timedelta(days=n))
        for _ in range(3):
            day.seen("kim", "procedure", with_provider=40)
            day.seen("kim", "follow", with_provider=20)
        floors.append(day.floor)
    learned = learn(now, floors)
    assert not any("/procedure/" in key for key in learned.stages)
    assert learned.times("kim", "follow", Stage.provider_in).visits == 9
    assert learned.pace_visits > 0  # the follow-ups still foretold one another
