"""A provider whose walking in to a patient goes untapped until the visit ends (provider-in and teach-back tapped
together): learned from past days, and what the projection and the cascade alert make of it, on hand-built days.

On such a provider's days a patient prepped and waiting while the provider seems free is most often a patient being
seen: presumed away, the provider's next patients were projected late and a cascade raised on a morning with none
(loadtests/fourth_days.py: 15 to 29% of visits in four of its seven clinics).
"""

from __future__ import annotations

import datetime as dt

from floor.core.alerts import review
from floor.core.journey import PATH, Stage
from floor.core.learned import EMPTY, Learned, UntappedIn
from floor.core.learning import learn
from floor.core.projection import (
    UNTAPPED_IN_EVIDENCE,
    UNTAPPED_IN_PLAUSIBLE,
    absent_until,
    pace,
    project,
    walks_in_untapped,
)
from tests.core.test_projection_and_alerts import CLINIC, Day, _run, at
from tests.support.history import PastDay

#: Dr. Kim's past days: 12 of her last 40 visits had their provider-in tapped only with the teach-back.
FORGETS = Learned(untapped_in={"kim": UntappedIn(40, 12)})
ARRIVED, ROOMED, PREP, IN, TEACH, OUT = PATH[1:]


def test_a_provider_who_walks_in_untapped_is_learned_and_those_visits_say_nothing_of_her_minutes() -> None:
    floors = []
    for n in range(5, 0, -1):
        day = PastDay(CLINIC, dt.date(2026, 11, 23) - dt.timedelta(days=n))
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


def _morning(learned: Learned, *, untapped_end: str | None = "10:10", until: str = "10:15") -> tuple[Day, list[str]]:
    """Kim's 09:00 and 09:20 follow-ups (planned provider-in 09:09, 09:29) started 16 and 14 minutes late; the 09:40
    one (planned 09:49) is prepped at 09:46, and Kim, free at 09:57, walks in to it at 09:58, 9 minutes late: no
    cascade. Her walking in is not tapped: its provider-in comes with the teach-back at `untapped_end` (None: not by
    `until`). Her next patient is booked at noon."""
    day = Day()
    day.floor.learned = learned
    v = [day.book(s) for s in ("09:00", "09:20", "09:40", "12:00")]
    steps = [
        ("08:55", 0, ARRIVED),
        ("09:00", 0, ROOMED),
        ("09:06", 0, PREP),
        ("09:15", 1, ARRIVED),
        ("09:20", 1, ROOMED),
        ("09:25", 0, IN),  # 16 late
        ("09:26", 1, PREP),
        ("09:35", 2, ARRIVED),
        ("09:40", 2, ROOMED),
        ("09:42", 0, TEACH),
        ("09:42", 0, OUT),
        ("09:43", 1, IN),  # 14 late
        ("09:46", 2, PREP),
        ("09:57", 1, TEACH),
        ("09:57", 1, OUT),
    ]
    if untapped_end is not None:
        steps += [(untapped_end, 2, IN), (untapped_end, 2, TEACH)]
    _run(day, v, steps, until=until)
    return day, v


def test_a_prepped_patient_with_the_provider_free_is_presumed_seen_where_she_walks_in_untapped() -> None:
    day, v = _morning(FORGETS, untapped_end=None, until="10:08")
    projected = {p.visit: p for p in project(day.floor, "kim", at("10:08")).visits}
    # Presumed in with her since she came free at 09:57: 8 minutes late, not a link; she is not presumed away.
    assert projected[v[2]].provider_in == at("09:57") and projected[v[2]].lateness == 8
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
