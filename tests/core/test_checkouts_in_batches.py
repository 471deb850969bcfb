"""A front desk that taps checkouts in batches (floor/core/checkouts.py), on hand-built days: learned from past
days or seen today, and "waiting for checkout" held back until a batch comes without the patient.

At such a desk a patient whose teach-back was tapped ten minutes ago has most likely left: the alert at the
clinic's limit was noise (loadtests/dwell_quality.py, the third model: 7 to 17 false alerts per provider-day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from itertools import pairwise

from floor.config import demo_clinic
from floor.core.alerts import review
from floor.core.checkouts import BATCH_EVIDENCE, BATCH_SECONDS, HOLD_MOST, Desk, batches, checkout_taps, waited
from floor.core.commands import BookVisit, MarkRoom, TakeStep, Tap, UndoStep
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.learned import EMPTY, CheckoutTaps, Learned
from floor.core.learning import learn
from floor.core.rooms import RoomAction
from tests.support.floors import Tapping

CLINIC = demo_clinic()  # waiting for checkout: 10 minutes
DAY = dt.date(2026, 11, 23)
PROVIDERS = ["kim", "okafor", "silva", "hart"]
ROOMS = ["e1", "e2", "e3", "e4", "e5", "w1", "w2", "w3", "w4", "w5"]


def at(hhmm: str, day: dt.date = DAY) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=CLINIC.tz)


def batched(taught: dt.datetime) -> dt.datetime:
    """A desk that checks out, every 20 minutes on the hour's thirds, every patient who had left by then (3
    minutes after their teach-back)."""
    left = taught + dt.timedelta(minutes=3)
    hour = left.replace(minute=0, second=0)
    return hour + dt.timedelta(minutes=20 * -(-(left - hour).seconds // 1200))


def prompt(taught: dt.datetime) -> dt.datetime:
    """A desk that checks each patient out as they leave, 3 minutes after their teach-back."""
    return taught + dt.timedelta(minutes=3)


def desk_day(
    checkout: Callable[[dt.datetime], dt.datetime],
    day: dt.date = DAY,
    visits: int = 24,
    until: str = "23:00",
    *,
    told: bool = False,
) -> Floor:
    """`visits` follow-ups, one every 10 minutes from 08:00, across four providers: each taught back 18 minutes
    after rooming, and checked out when `checkout` says (a batch's checkouts tapped 5 seconds apart), up to
    `until`. `told`: each checkout says it happened when the patient left, 3 minutes after the teach-back."""
    tapping = Tapping(Floor(CLINIC, day, ids=Ids.seeded(f"desk-{day}")), lambda t: t)
    taps: list[tuple[dt.datetime, int, object]] = []
    outs: dict[dt.datetime, int] = {}
    for i in range(visits):
        start = at("08:00", day) + dt.timedelta(minutes=10 * i)
        visit = tapping.tap(at("07:00", day), BookVisit(f"P{i}", PROVIDERS[i % 4], "follow", start))
        taught = start + dt.timedelta(minutes=18)
        out = checkout(taught)
        left = taught + dt.timedelta(minutes=3)
        ago = int((out - left).total_seconds() // 60) if told else 0
        in_batch = outs.get(out, 0)
        outs[out] = in_batch + 1
        room = ROOMS[i % len(ROOMS)]
        if i >= len(ROOMS):  # its last patient gone, the room was turned over
            taps.append((start - dt.timedelta(minutes=1), len(taps), MarkRoom(room, RoomAction.ready)))
        for when, step in (
            (start - dt.timedelta(minutes=5), TakeStep(visit, Stage.arrived)),
            (start, TakeStep(visit, Stage.roomed, room)),
            (start + dt.timedelta(minutes=5), TakeStep(visit, Stage.prep_done)),
            (start + dt.timedelta(minutes=6), TakeStep(visit, Stage.provider_in)),
            (taught, TakeStep(visit, Stage.teach_back_done)),
            (out + dt.timedelta(seconds=5 * in_batch), TakeStep(visit, Stage.checked_out, minutes_ago=ago)),
        ):
            taps.append((when, len(taps), step))
    for when, _, command in sorted(taps, key=lambda t: (t[0], t[1])):
        if when <= at(until, day):
            tapping.tap(when, command)
    return tapping.floor


def past(checkout: Callable[[dt.datetime], dt.datetime], days: int = 3) -> Learned:
    return learn(CLINIC, [desk_day(checkout, DAY - dt.timedelta(days=n)) for n in range(days, 0, -1)])


def dwell_at(floor: Floor, when: dt.datetime) -> list[str]:
    """Review the floor at `when` (applying what it changes); the visits with an active dwell alert."""
    for change in review(floor, when):
        floor.apply(floor.record(change, Tap("floor", "test", when)))
    return sorted(a.visit for a in floor.alerts.values() if a.active and a.kind == "dwell" and a.visit)


def test_a_desk_that_checks_out_in_batches_is_told_from_one_that_checks_out_as_patients_leave() -> None:
    day = desk_day(batched)
    taps = checkout_taps(day.visits.values())
    assert taps.checkouts == 24 and batches(taps)
    assert not batches(checkout_taps(desk_day(prompt).visits.values()))
    # Learned from past days: the batches, and how long after a teach-back most batched checkouts came (a patient
    # taught back just after a batch is checked out at the one after next: 3 minutes to leave, then up to 20).
    learned = past(batched)
    assert learned.checkouts.checkouts == 72 and batches(learned.checkouts)
    assert 5 <= waited(learned.checkouts) <= 23
    assert not batches(past(prompt).checkouts)
    # Too few checkouts to say, however close together.
    few = checkout_taps(desk_day(batched, visits=BATCH_EVIDENCE - 2).visits.values())
    assert few.batched == few.checkouts and not batches(few)


def _today(learned: Learned) -> tuple[Floor, dict[str, str]]:
    """A morning whose desk works as `batched` says (its 8 checkouts, up to 09:40), then four patients taught back
    and not yet checked out: Zoe (kim's, booked at 09:42) at 10:00, Yan (okafor's, 09:45) at 10:05, Xia (silva's,
    09:50) at 10:08 and Wu (hart's, 09:52) at 10:10. Floor has learned `learned`. Their visits by name."""
    floor = desk_day(batched, visits=8)
    floor.learned = learned
    tap = Tapping(floor, lambda t: t).tap
    booked = {"Zoe": ("kim", "09:42", "w4"), "Yan": ("okafor", "09:45", "w5"), "Xia": ("silva", "09:50", "e1")}
    booked["Wu"] = ("hart", "09:52", "e2")
    visits = {name: tap(at("07:00"), BookVisit(name, p, "follow", at(hhmm))) for name, (p, hhmm, _) in booked.items()}
    taps = [(at("09:49"), MarkRoom("e1", RoomAction.ready)), (at("09:49"), MarkRoom("e2", RoomAction.ready))]
    for name, taught in (("Zoe", 0), ("Yan", 5), ("Xia", 8), ("Wu", 10)):
        _, hhmm, room = booked[name]
        start, visit = at(hhmm), visits[name]
        for after, step in ((-5, TakeStep(visit, Stage.arrived)), (0, TakeStep(visit, Stage.roomed, room))):
            taps.append((start + dt.timedelta(minutes=after), step))
        for when, step in ((5, Stage.prep_done), (6, Stage.provider_in)):
            taps.append((start + dt.timedelta(minutes=when), TakeStep(visit, step)))
        taps.append((at("10:00") + dt.timedelta(minutes=taught), TakeStep(visit, Stage.teach_back_done)))
    for when, command in sorted(taps, key=lambda t: t[0]):
        tap(when, command)
    return floor, visits


def test_at_a_batching_desk_waiting_for_checkout_waits_for_a_batch_to_come_without_the_patient() -> None:
    floor, v = _today(past(batched))
    # 10 minutes after her teach-back: at a desk that batches Zoe has most likely left; no batch has come since.
    assert dwell_at(floor, at("10:10")) == []
    # Yan checked out alone at 10:12 (as he left, or by someone else): no batch, so it says nothing of Zoe.
    tap = Tapping(floor, lambda t: t).tap
    tap(at("10:12"), TakeStep(v["Yan"], Stage.checked_out))
    assert dwell_at(floor, at("10:19")) == []
    # The 10:20 batch checks Xia and Wu out, 5 seconds apart. While the desk is at it, Zoe may be next.
    tap(at("10:20"), TakeStep(v["Xia"], Stage.checked_out))
    tap(at("10:20") + dt.timedelta(seconds=5), TakeStep(v["Wu"], Stage.checked_out))
    assert dwell_at(floor, at("10:20") + dt.timedelta(seconds=5 + BATCH_SECONDS - 1)) == []
    # The batch over, without her: she may well be waiting, or be forgotten.
    assert dwell_at(floor, at("10:20") + dt.timedelta(seconds=5 + BATCH_SECONDS + 1)) == [v["Zoe"]]


def test_a_desk_that_checks_out_as_patients_leave_raises_waiting_for_checkout_at_the_limit() -> None:
    # Learned from past days, or nothing learned (the day's own 8 checkouts, batched, are too few to say).
    for learned in (past(prompt), EMPTY):
        floor, v = _today(learned)
        assert dwell_at(floor, at("10:10")) == [v["Zoe"]]
        assert dwell_at(floor, at("10:15")) == sorted([v["Zoe"], v["Yan"]])


def test_a_batching_desk_that_stops_batching_still_raises_once_most_checkouts_would_have_come() -> None:
    learned = past(batched)
    floor, v = _today(learned)
    most = waited(learned.checkouts)
    assert most is not None and most > 10
    assert dwell_at(floor, at("10:00") + dt.timedelta(minutes=most) - dt.timedelta(seconds=30)) == []
    assert dwell_at(floor, at("10:00") + dt.timedelta(minutes=most)) == [v["Zoe"]]


def test_a_new_clinic_knows_its_desk_batches_from_the_days_own_checkouts() -> None:
    # No past days; by 13:39 today BATCH_EVIDENCE and more checkouts have come in batches, the last at 13:20.
    floor = desk_day(batched, visits=BATCH_EVIDENCE + 12, until="13:39")
    assert floor.learned == EMPTY
    desk = Desk(floor.learned.checkouts, floor.visits.values())
    assert desk.batches and desk.most is not None
    waiting = [v for v in floor.visits.values() if v.stage is Stage.teach_back_done]
    assert waiting
    taught = min(v.times[Stage.teach_back_done] for v in waiting)
    # Past the limit since their teach-back, with no batch since: held back.
    assert at("13:39") >= taught + dt.timedelta(minutes=10)
    assert dwell_at(floor, at("13:39")) == []


def test_an_alert_raised_stays_up_whatever_the_desk_does_after() -> None:
    floor, v = _today(past(batched))
    tap = Tapping(floor, lambda t: t).tap
    # A batch at 10:12 checks Yan and Xia out, not Zoe (taught back at 10:00): her alert once it is over.
    tap(at("10:12"), TakeStep(v["Yan"], Stage.checked_out))
    tap(at("10:12") + dt.timedelta(seconds=5), TakeStep(v["Xia"], Stage.checked_out))
    assert dwell_at(floor, at("10:12") + dt.timedelta(seconds=5 + BATCH_SECONDS + 1)) == [v["Zoe"]]
    # Wu checked out at 10:13: a checkout just tapped, maybe another batch begun with Zoe next in it, which
    # would hold back an alert not yet raised. Hers, once up, stays up.
    tap(at("10:13"), TakeStep(v["Wu"], Stage.checked_out))
    assert dwell_at(floor, at("10:13")) == [v["Zoe"]]
    # The batch that let it through undone (Xia's checkout a mistake): still up, until Zoe is checked out.
    tap(at("10:14"), UndoStep(v["Xia"]))
    assert dwell_at(floor, at("10:14")) == [v["Zoe"]]
    # Zoe's own checkout tapped by mistake and undone: waiting again, shown again at once (not held back as a wait
    # never shown, though a checkout was just tapped).
    tap(at("10:14") + dt.timedelta(seconds=20), TakeStep(v["Zoe"], Stage.checked_out))
    tap(at("10:14") + dt.timedelta(seconds=30), UndoStep(v["Zoe"]))
    assert dwell_at(floor, at("10:14") + dt.timedelta(seconds=30)) == [v["Zoe"]]
    tap(at("10:15"), TakeStep(v["Zoe"], Stage.checked_out))
    assert dwell_at(floor, at("10:15")) == []


def test_the_hold_ends_by_HOLD_MOST_after_the_teach_back_whatever_the_past_days_say() -> None:
    # A desk whose batches checked out forgotten patients hours late holds nobody longer than HOLD_MOST.
    late = CheckoutTaps(72, 72, [300.0] * 101)
    floor, v = _today(Learned(checkouts=late))
    assert Desk(late, floor.visits.values()).longest(10) == HOLD_MOST
    assert dwell_at(floor, at("10:00") + dt.timedelta(minutes=HOLD_MOST) - dt.timedelta(seconds=30)) == []
    assert dwell_at(floor, at("10:00") + dt.timedelta(minutes=HOLD_MOST)) == [v["Zoe"]]
    # Where no batched checkout followed a teach-back, past days' or today's, nothing says how long: HOLD_MOST.
    assert Desk(CheckoutTaps(72, 72, []), []).longest(10) == HOLD_MOST
    # Past days that say nothing of it, today's batches do.
    floor, _ = _today(Learned(checkouts=CheckoutTaps(72, 72, [])))
    assert Desk(CheckoutTaps(72, 72, []), floor.visits.values()).longest(10) == waited(
        checkout_taps(floor.visits.values())
    )


def test_a_desk_that_says_when_each_patient_left_is_judged_by_when_it_tapped_them() -> None:
    # The batching desk, each checkout told as having happened when the patient left ("minutes ago"): the
    # checkouts' times are spread over the day, their taps come in batches as before.
    floor = desk_day(batched, told=True)
    out = [v for v in floor.visits.values() if v.stage is Stage.checked_out]
    assert len(out) == 24 and all(v.steps[-1].tapped is not None for v in out)
    happened = sorted(v.times[Stage.checked_out] for v in out)
    assert not any((b - a).total_seconds() <= BATCH_SECONDS for a, b in pairwise(happened))
    assert batches(checkout_taps(floor.visits.values()))
    assert batches(learn(CLINIC, [floor]).checkouts)


def test_a_batch_tells_of_a_patient_only_once_they_have_had_half_the_limit_to_leave() -> None:
    floor, v = _today(past(batched))
    tap = Tapping(floor, lambda t: t).tap
    # A batch at 10:14 checks Zoe and Yan out.
    tap(at("10:14"), TakeStep(v["Zoe"], Stage.checked_out))
    tap(at("10:14") + dt.timedelta(seconds=5), TakeStep(v["Yan"], Stage.checked_out))
    # Xia, taught back at 10:08, had 6 minutes to leave before it (half the limit is 5): at the limit, 10:18, her
    # wait is shown. Wu, taught back at 10:10, had 4: at his limit, 10:20, no batch has told of him; held back.
    assert dwell_at(floor, at("10:18")) == [v["Xia"]]
    assert dwell_at(floor, at("10:20")) == [v["Xia"]]


def test_how_long_the_desks_batched_checkouts_take_sets_the_longest_hold() -> None:
    # The 99th percentile of the minutes from a teach-back to a batched checkout's tap.
    assert waited(CheckoutTaps(101, 101, [float(i) for i in range(101)])) == 99.0
    # Past days' minutes where today's say nothing, even with too few of them to judge the desk by alone.
    assert Desk(CheckoutTaps(10, 10, [30.0]), []).most == 30.0
    # A desk whose batches come within the limit holds nobody: the alert comes at the limit.
    within = Desk(CheckoutTaps(60, 60, [3.0] * 30 + [8.0] * 30), [])
    assert within.batches and within.longest(10) == 10 and within.held(10) is None
    assert Desk(CheckoutTaps(60, 60, [25.0] * 60), []).held(10) == 25.0
    assert Desk(CheckoutTaps(60, 0, [25.0] * 60), []).held(10) is None  # a desk that does not batch
