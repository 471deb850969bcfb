"""loadtests/dwell_quality.py on a hand-built day: dwell alerts scored against when the steps really happened."""

from __future__ import annotations

import datetime as dt

from floor.config import demo_clinic
from floor.core.commands import BookVisit, TakeStep
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.replay import replay
from loadtests.dwell_quality import DwellScore
from tests.support.floors import Tapping

CLINIC = demo_clinic()  # waiting for prep (roomed): 10 minutes
DAY = dt.date(2026, 11, 23)


def at(hhmm: str) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return dt.datetime.combine(DAY, dt.time(h, m), tzinfo=CLINIC.tz)


def day(prep_tapped: str) -> Tapping:
    """Two follow-ups. Ann's prep is really done at 09:06 and tapped at `prep_tapped`; Bo waits 15 minutes for
    prep, tapped as it happens."""
    tapping = Tapping(Floor(CLINIC, DAY, ids=Ids.seeded("dwell")), at)
    tap = tapping.tap
    ann = tap("07:30", BookVisit("Ann Lee", "kim", "follow", at("09:00")))
    bo = tap("07:31", BookVisit("Bo Chan", "kim", "follow", at("09:20")))
    tap("08:55", TakeStep(ann, Stage.arrived))
    tap("09:00", TakeStep(ann, Stage.roomed, "e1"))
    tap(prep_tapped, TakeStep(ann, Stage.prep_done))
    tap("09:15", TakeStep(bo, Stage.arrived))
    tap("09:18", TakeStep(ann, Stage.provider_in))
    tap("09:20", TakeStep(bo, Stage.roomed, "e2"))
    tap("09:35", TakeStep(bo, Stage.prep_done))
    tap("09:37", TakeStep(bo, Stage.provider_in))
    return tapping


def test_an_alert_for_a_patient_already_prepped_is_false_and_a_real_long_wait_alerted_is_caught() -> None:
    truth = day("09:06").floor
    tapped = day("09:16")
    end = tapped.events[-1].at
    lines, _ = replay(CLINIC, tapped.events, until=end)
    score = DwellScore()
    score.add(CLINIC, truth, lines, end)
    # Ann's waiting-for-prep alert at 09:10 came after her prep was really done (09:06): false. Bo's at 09:30
    # came while he really waited, 15 minutes in all: the one long wait, caught at its limit.
    assert (score.alerts, score.true_alerts, score.false_by_stage) == (2, 1, {"roomed": 1})
    assert (score.long_waits, score.caught) == (1, 1)
    assert score.delays == [0.0]


def test_with_every_tap_on_time_the_same_alerts_are_all_true() -> None:
    tapped = day("09:06")
    end = tapped.events[-1].at
    lines, _ = replay(CLINIC, tapped.events, until=end)
    score = DwellScore()
    score.add(CLINIC, tapped.floor, lines, end)
    assert (score.alerts, score.true_alerts, score.long_waits, score.caught) == (1, 1, 1, 1)


def test_a_walk_in_waits_from_when_they_were_booked_in() -> None:
    # A walk-in is here from their booking (no "arrived" step of their own): 20 minutes waiting to be roomed
    # (limit 15) is a long wait, and its alert true.
    tapping = Tapping(Floor(CLINIC, DAY, ids=Ids.seeded("walk-in")), at)
    walk_in = tapping.tap("10:00", BookVisit("Cy Diaz", "kim", "follow", walk_in=True))
    tapping.tap("10:20", TakeStep(walk_in, Stage.roomed, "e1"))
    end = tapping.events[-1].at
    lines, _ = replay(CLINIC, tapping.events, until=end)
    score = DwellScore()
    score.add(CLINIC, tapping.floor, lines, end)
    assert (score.alerts, score.true_alerts, score.long_waits, score.caught) == (1, 1, 1, 1)
