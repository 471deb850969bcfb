"""loadtests/dwell_quality.py on a hand-built day: dwell alerts scored against when the steps really happened."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from floor.config import demo_clinic
from floor.core.commands import BookVisit, TakeStep, UndoStep
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


def scored(truth: Floor, tapped: Tapping) -> DwellScore:
    """The dwell alerts of the day as `tapped`, replayed, scored against the day as it really went (`truth`)."""
    end = tapped.events[-1].at
    lines, _ = replay(CLINIC, tapped.events, until=end)
    score = DwellScore()
    score.add(CLINIC, truth, lines, end)
    return score


def roomed_at_nine(name: str) -> tuple[Tapping, str]:
    """`name`'s 09:00 follow-up with kim, come at 08:55 and roomed at 09:00 in e1: the day so far, and the visit."""
    tapping = Tapping(Floor(CLINIC, DAY, ids=Ids.seeded(name)), at)
    visit = tapping.tap("07:30", BookVisit(name, "kim", "follow", at("09:00")))
    tapping.tap("08:55", TakeStep(visit, Stage.arrived))
    tapping.tap("09:00", TakeStep(visit, Stage.roomed, "e1"))
    return tapping, visit


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
    score = scored(truth, tapped)
    # Ann's waiting-for-prep alert at 09:10 came after her prep was really done (09:06): false. Bo's at 09:30
    # came while he really waited, 15 minutes in all: the one long wait, caught at its limit.
    assert (score.alerts, score.true_alerts, score.false_by_stage) == (2, 1, {"roomed": 1})
    assert (score.long_waits, score.caught) == (1, 1)
    assert score.delays == [0.0]


def test_with_every_tap_on_time_the_same_alerts_are_all_true() -> None:
    tapped = day("09:06")
    score = scored(tapped.floor, tapped)
    assert (score.alerts, score.true_alerts, score.long_waits, score.caught) == (1, 1, 1, 1)


def test_a_walk_in_waits_from_when_they_were_booked_in() -> None:
    # A walk-in is here from their booking (no "arrived" step of their own): 20 minutes waiting to be roomed
    # (limit 15) is a long wait, and its alert true.
    tapping = Tapping(Floor(CLINIC, DAY, ids=Ids.seeded("walk-in")), at)
    walk_in = tapping.tap("10:00", BookVisit("Cy Diaz", "kim", "follow", walk_in=True))
    tapping.tap("10:20", TakeStep(walk_in, Stage.roomed, "e1"))
    score = scored(tapping.floor, tapping)
    assert (score.alerts, score.true_alerts, score.long_waits, score.caught) == (1, 1, 1, 1)


def test_a_patient_waiting_for_the_provider_shown_waiting_for_prep_is_a_false_alert_and_a_missed_wait() -> None:
    # Dee's prep is really done at 09:06 and not tapped; the provider walks in at 09:28 and the tap brings the
    # prep in. In truth (the prep told as 22 minutes ago) she waited 22 minutes for the provider (limit 15).
    def dee(prep: TakeStep) -> Tapping:
        tapping, visit = roomed_at_nine("Dee Ruiz")
        tapping.tap("09:28", msgspec.structs.replace(prep, visit=visit))
        tapping.tap("09:28", TakeStep(visit, Stage.provider_in))
        return tapping

    truth = dee(TakeStep("", Stage.prep_done, minutes_ago=22)).floor
    tapped = dee(TakeStep("", Stage.prep_done))
    score = scored(truth, tapped)
    assert (score.alerts, score.true_alerts, score.false_by_stage) == (1, 0, {"roomed": 1})
    assert (score.long_waits, score.caught) == (1, 0)


@pytest.mark.parametrize(("prep", "long"), [("09:11", 0), ("09:13", 1)])
def test_a_long_wait_is_two_minutes_over_the_limit(prep: str, long: int) -> None:
    # Waiting for prep from 09:00 (limit 10): 11 minutes is over it but not a long wait; 13 is.
    tapping, visit = roomed_at_nine("Eve Park")
    tapping.tap(prep, TakeStep(visit, Stage.prep_done))
    score = scored(tapping.floor, tapping)
    assert (score.alerts, score.true_alerts, score.long_waits, score.caught) == (1, 1, long, long)


def test_an_alert_before_the_patient_really_waited_the_limit_is_false() -> None:
    # Roomed tapped at 09:00, really roomed at 09:05: the 09:10 alert came 5 minutes into a wait of 11.
    def fay(roomed: str) -> Tapping:
        tapping = Tapping(Floor(CLINIC, DAY, ids=Ids.seeded("fay")), at)
        visit = tapping.tap("07:30", BookVisit("Fay Wong", "kim", "follow", at("09:00")))
        tapping.tap("08:55", TakeStep(visit, Stage.arrived))
        tapping.tap(roomed, TakeStep(visit, Stage.roomed, "e1"))
        tapping.tap("09:16", TakeStep(visit, Stage.prep_done))
        return tapping

    tapped = fay("09:00")
    score = scored(fay("09:05").floor, tapped)
    assert (score.alerts, score.true_alerts, score.long_waits) == (1, 0, 0)


def test_a_true_alert_cleared_while_the_patient_still_waits_is_cut() -> None:
    # Gus waits for prep from 09:00 (limit 10) until 09:20. At 09:11 his prep is tapped by mistake, undone at
    # 09:12: the 09:10 alert went off the screens at 09:11 with Gus still waiting (cut), and came back at 09:12, the
    # same alert (one alert, raised again as itself).
    def gus(mistake: bool) -> Tapping:
        tapping, visit = roomed_at_nine("Gus Obi")
        if mistake:
            tapping.tap("09:11", TakeStep(visit, Stage.prep_done))
            tapping.tap("09:12", UndoStep(visit))
        tapping.tap("09:20", TakeStep(visit, Stage.prep_done))
        return tapping

    score = scored(gus(False).floor, gus(True))
    assert (score.alerts, score.true_alerts, score.cut, score.long_waits, score.caught) == (1, 1, 1, 1, 1)
    score = scored(gus(False).floor, gus(False))
    assert (score.alerts, score.true_alerts, score.cut) == (1, 1, 0)
