"""Learning what each clinic really takes from its own past days.

From the floors of past clinic days (each folded from its events, `floor.days.fold_day`), per provider and
visit type, how long the stages the projection expects really took:

- `roomed`: from rooming to prep done (the assistant's prep);
- `prep_done`: from prep done to the provider walking in, counted only where the provider was free when the
  patient was ready (otherwise the stage is the wait for a busy provider, which the projection models
  itself, and counting it would count the delay twice);
- `provider_in`: from the provider walking in to the teach-back (or the checkout, when there was none).

The wait from arrival to rooming is not learned: it is a queue for a room, not a duration.

And per provider: the share of booked patients who did not come, how long after their planned rooming those
who came arrived, and the usual gap from a booked patient's arrival to the provider walking in.

And for the clinic: whether its taps come after the steps they record (`tap_lag`). A provider who sees one
patient at a time cannot walk in to the next before the last one's teach-back, so where the next patient's
provider-in was tapped a few minutes before it (at most TAP_LAG_CAP), one of those taps came late. Such provider
changes are counted among all those whose last visit ended at a teach-back tap (a visit with no teach-back
ends, for Floor, at its checkout, which the front desk may well tap after the provider has gone on: not a late
tap). A next provider-in longer than that before the teach-back is no tap entered late: the provider stepped
out of a visit (a patient sent for an x-ray, waiting for an anaesthetic to work) and saw another meanwhile,
two patients at once (`two_at_once_changes`). The late taps of a provider who sees two at once as often are
left out (a short overlap of theirs is as likely a short step out: in loadtests/third_days.py's clinics that
step out, Floor had learned a lag of 10 minutes, and a visit 9 to 15 minutes late no longer counted toward a
cascade). Once there are LATE_TAP_EVIDENCE late taps, their median overlap is the minutes a tap may lag;
otherwise 0. A visit already started counts as a cascade's link only if that much past L late by its tap
(floor/core/alerts.py).

And per provider: how often their walking in went untapped until the visit ended (`untapped_in`: provider-in and
the teach-back, or checkout, tapped together, floor/core/projection.py `untapped_in`). Such a visit says nothing of
when they walked in: it is left out of the provider's minutes, of the wait after prep and of the gap from arrival.

And for the clinic: how its front desk taps checkouts (`checkouts`: how many came within seconds of another
patient's, and how long after their teach-back), which says whether it checks patients out in batches
(floor/core/checkouts.py); "waiting for checkout" at such a desk waits for a batch to come without the patient.

And for the clinic: how much a provider's day says about their pace (`pace_weight`). The projection takes the
day's pace from its visits so far, shrunk toward the usual (the learned minutes) with some visits' worth of
belief in the usual. Which weight is learned: on the past days, each visit's minutes with the provider are
foretold from the visits before it that day under each of PACE_WEIGHTS, and the weight that foretold best is
kept. Where a provider's days differ (a slow day stays slow), the day's visits soon tell and a light weight
wins; where they do not, the first visits of a day are only the visits' own spread (and, where taps come late,
the taps' lag), and a heavy one wins. In both of loadtests' models of clinic days the heaviest won, in every
world and scenario: nothing in them makes one day of a provider's slower than another.

Thin data is shrunk toward the clinic file: a stage's expectation is
`(PRIOR_VISITS * configured + n * median) / (PRIOR_VISITS + n)` over its `n` past visits, so a handful of
visits moves it a little and a month of visits moves it to what the clinic really takes (a visit type's minutes set
from the browser since: the same visits shrunk toward the new minutes at once, `Learned.expected`). Left out: steps
undone (a folded visit keeps only the steps that stand), visits entered in error, visit types or providers no
longer in the clinic file, and absurd durations (a tap forgotten then made hours later): over
`ABSURD_FACTOR` times the configured minutes (at least `ABSURD_FLOOR`) or over `MAX_MINUTES`. Walk-ins count
for stage durations but not for no-shows or arrival lateness (they had no booked time).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from itertools import pairwise
from statistics import median

from floor.config import Clinic, VisitType
from floor.core.checkouts import counted
from floor.core.floor import Floor, Visit
from floor.core.journey import Stage
from floor.core.learned import (
    CheckoutTaps,
    Habits,
    Learned,
    StageTimes,
    StepsOut,
    UntappedIn,
    shrunk,
    stage_key,
    steps_key,
    thinned,
)
from floor.core.projection import (
    NO_SHOW_PRIOR,
    NO_SHOW_PRIOR_WEIGHT,
    PACE_PRIOR,
    TWO_AT_ONCE,
    away_minutes,
    convention_of,
    meanwhile,
    minutes,
    planned_roomed,
    seen_to_the_end,
    shrunk_pace,
    untapped_in,
)

#: Past clinic days learned from: the last this many the log holds (about six weeks of a clinic open five days
#: a week); read once each time a day opens.
LEARN_DAYS = 28
#: A stage longer than this many times its configured minutes (and than ABSURD_FLOOR), or than MAX_MINUTES,
#: was a tap forgotten, not a visit.
ABSURD_FACTOR = 4.0
ABSURD_FLOOR = 10.0
MAX_MINUTES = 180.0
#: The stages learned, each with the step that ends it.
LEARNED: dict[Stage, tuple[Stage, ...]] = {
    Stage.roomed: (Stage.prep_done,),
    Stage.prep_done: (Stage.provider_in,),
    Stage.provider_in: (Stage.teach_back_done, Stage.checked_out),
}
#: How many provider changes with a late tap before the clinic's taps are taken to lag, and the most minutes a
#: next provider-in tapped before the last visit's teach-back counts as a late tap (more: two patients at once;
#: loadtests/third_days.py: 24 to 43 minutes at the median where providers step out mid-visit; at most 6 where
#: taps come late). In loadtests/alert_quality.py (40 days a world, 14 learned): none in a world whose taps come
#: on time nor on any of unseen_days.py's days; 71 of 672 where 40% of taps come 1 to 6 minutes late (`tap_lag`,
#: median 2 minutes), 55 of 637 in `hard`.
LATE_TAP_EVIDENCE = 5
TAP_LAG_CAP = TWO_AT_ONCE
#: A visit with more than this many patients walked in to meanwhile had its teach-back tap forgotten: it is no
#: step out (loadtests/third_days.py's providers see one or two meanwhile).
STEPPED_OUT_MOST = 3
#: The weights tried for a provider's usual pace against the day's own (`Learned.pace_weight`: visits' worth of
#: belief in the learned minutes; the heaviest, about two days of a provider's visits, so that a day that really
#: runs slow still moves the forecast by its afternoon), and how many past visits foretold before one is chosen.
PACE_WEIGHTS = (PACE_PRIOR, 5.0, 8.0, 12.0, 20.0, 30.0)
PACE_EVIDENCE = 100
#: A visit with the provider under this share of its expected minutes is left out of judging the weight (two
#: taps made together when catching up, not a visit).
SHORTEST_RATIO = 0.25

_WithProvider = tuple[str, int, dt.datetime, str, float]


def learn(clinic: Clinic, days: Iterable[Floor]) -> Learned:
    """What the clinic's past days (their folded floors) say each provider's visits take."""
    tally = Tally(clinic)
    for floor in days:
        tally.add(floor)
    return tally.learned()


class Tally:
    """Past days added one at a time (a runtime reads and folds one day, adds it, and lets it go), then what
    they say."""

    def __init__(self, clinic: Clinic) -> None:
        self.clinic = clinic
        self.took: dict[str, list[float]] = defaultdict(list)
        self.late: dict[str, list[float]] = defaultdict(list)
        self.to_provider: dict[str, list[float]] = defaultdict(list)
        self.no_shows: dict[str, int] = defaultdict(int)
        self.days: list[dt.date] = []
        self.provider_changes = 0
        #: Per provider: the minutes of each late tap (a next provider-in tapped up to TAP_LAG_CAP before the last
        #: visit's teach-back), and how many changes were two patients at once (more than that).
        self.overlaps: dict[str, list[float]] = defaultdict(list)
        self.two_at_once: dict[str, int] = defaultdict(int)
        #: Per "provider/visit_type": visits seen to their end, and for those stepped out of, the minutes before
        #: stepping out and the provider's own minutes.
        self.seen_through: dict[str, int] = defaultdict(int)
        self.stepped: dict[str, list[tuple[float, float]]] = defaultdict(list)
        #: Each past visit's minutes with the provider: (provider, the day's index, provider-in, stage key, minutes).
        self.with_provider: list[_WithProvider] = []
        #: Per provider: visits seen to their end, and of them those whose provider-in was tapped only as they ended.
        self.seen_out: dict[str, int] = defaultdict(int)
        self.untapped_in: dict[str, int] = defaultdict(int)
        #: The front desk's checkouts, those tapped in batches, and those's minutes after their teach-back.
        self.checkouts = 0
        self.batched = 0
        self.waited: list[float] = []

    def add(self, floor: Floor) -> None:
        """One past day's floor, as its events left it, folded with the clinic file that day ran on (its visit
        types, providers and convention: a patient booked under "arrival" came late or not by that day's plan, not
        by today's file's). What is learned is shrunk toward today's file (`learned`)."""
        clinic = floor.clinic
        convention = convention_of(clinic)
        if not floor.visits:
            return
        self.days.append(floor.day)
        checkouts, batched, waited = counted(floor.visits.values())
        self.checkouts, self.batched = self.checkouts + checkouts, self.batched + batched
        self.waited += waited
        busy = _busy(floor)
        self._provider_changes(floor, busy)
        spans = {p: [(came_in, until) for _, came_in, until in visits] for p, visits in busy.items()}
        for v in floor.visits.values():
            vtype = clinic.visit_type(v.visit_type)
            if vtype is None or clinic.provider(v.provider) is None or v.entered_in_error:
                continue
            untapped = untapped_in(v)
            if not untapped:
                self._steps_out(v, vtype, spans.get(v.provider, []))
            if seen_to_the_end(v):
                self.seen_out[v.provider] += 1
                self.untapped_in[v.provider] += untapped
            for stage, took in _stages(v, vtype, busy.get(v.provider, []), spans.get(v.provider, [])):
                if untapped and stage in (Stage.prep_done, Stage.provider_in):
                    continue  # when the provider walked in is not known: neither the wait for them nor their minutes
                key = stage_key(v.provider, vtype.code, stage)
                self.took[key].append(took)
                if stage is Stage.provider_in:
                    self.with_provider.append((v.provider, len(self.days), v.times[Stage.provider_in], key, took))
            if v.walk_in:
                continue
            if v.stage is Stage.no_show:
                self.no_shows[v.provider] += 1
            elif Stage.arrived in v.times:
                came = minutes(v.times[Stage.arrived] - planned_roomed(v, vtype, convention))
                if abs(came) <= MAX_MINUTES:
                    # When a patient comes is a habit of the patients booked with a provider: one moved to
                    # another provider on the floor counts for the one they were booked with.
                    self.late[v.booked_with].append(came)
                # A patient moved to another provider waited for two: their wait is neither's usual gap.
                if Stage.provider_in in v.times and v.moved_from is None and not untapped:
                    gap = minutes(v.times[Stage.provider_in] - v.times[Stage.arrived])
                    if 0 <= gap <= MAX_MINUTES:
                        self.to_provider[v.provider].append(gap)

    def learned(self) -> Learned:
        stages = {}
        for key, values in self.took.items():
            _, code, stage = key.split("/")
            vtype = self.clinic.visit_type(code)
            if vtype is not None:  # a visit type today's file no longer has is projected for nobody
                stages[key] = _shrunk(getattr(vtype.stage_minutes, stage), values)
        habits = {
            p: _habits(self.no_shows[p], self.late[p], self.to_provider[p])
            for p in sorted({*self.no_shows, *self.late})
        }
        # A provider who sees two at once as often as their taps overlap: a short overlap of theirs is as likely a
        # short step out, and says nothing of the clinic's taps.
        late = [o for p, overlaps in self.overlaps.items() if len(overlaps) > self.two_at_once[p] for o in overlaps]
        lag = median(late) if len(late) >= LATE_TAP_EVIDENCE else 0.0
        return Learned(
            sorted(self.days),
            stages,
            habits,
            self.provider_changes,
            len(late),
            round(lag, 1),
            sum(self.two_at_once.values()),
            *_pace_weight(self.with_provider, stages),
            {
                key: StepsOut(
                    self.seen_through[key],
                    len(stepped),
                    round(median(b for b, _ in stepped), 2),
                    round(median(o for _, o in stepped), 2),
                )
                for key, stepped in sorted(self.stepped.items())
            },
            {p: UntappedIn(n, self.untapped_in[p]) for p, n in sorted(self.seen_out.items())},
            CheckoutTaps(self.checkouts, self.batched, thinned(self.waited)),
        )

    def _steps_out(self, v: Visit, vtype: VisitType, spans: list[tuple[dt.datetime, dt.datetime]]) -> None:
        """Whether the provider stepped out of this visit, seen to its end, and when (`_own`). Left out: a span
        too long to be a visit (`_absurd`), and a teach-back tap forgotten (`_own`: None)."""
        came_in = v.times.get(Stage.provider_in)
        end = v.provider_done
        if came_in is None or end is None or _absurd(minutes(end - came_in), vtype.stage_minutes.provider_in):
            return
        own = _own(came_in, end, spans)
        if own is None:
            return
        key = steps_key(v.provider, v.visit_type)
        self.seen_through[key] += 1
        took, stepped_out = own
        if stepped_out is not None:
            self.stepped[key].append((minutes(stepped_out - came_in), took))

    def _provider_changes(self, floor: Floor, busy: dict[str, list[_Busy]]) -> None:
        """Each provider's changes from a visit ended at a teach-back tap to their next visit, and by how many
        minutes the next provider-in was tapped before that teach-back: a few (a tap that came late), or more
        than TAP_LAG_CAP (two patients at once)."""
        for provider, spans in busy.items():
            for (last, _, ended), (_, next_in, _) in pairwise(sorted(spans, key=lambda span: span[1])):
                if Stage.teach_back_done not in floor.visits[last].times:
                    continue
                self.provider_changes += 1
                overlap = minutes(ended - next_in)
                if overlap > TAP_LAG_CAP:
                    self.two_at_once[provider] += 1
                elif overlap > 0:
                    self.overlaps[provider].append(overlap)


def _shrunk(configured: int, values: list[float]) -> StageTimes:
    middle = median(values)
    return StageTimes(configured, round(shrunk(configured, middle, len(values)), 2), round(middle, 2), len(values))


def _habits(no_shows: int, late: list[float], to_provider: list[float]) -> Habits:
    booked = no_shows + len(late)
    share = (NO_SHOW_PRIOR_WEIGHT * NO_SHOW_PRIOR + no_shows) / (NO_SHOW_PRIOR_WEIGHT + booked)
    middle = round(median(late), 1) if late else None
    to = round(median(to_provider), 1) if to_provider else None
    return Habits(booked, no_shows, round(share, 4), len(late), middle, thinned(late), to, len(to_provider))


def _stages(
    v: Visit,
    vtype: VisitType,
    busy: list[_Busy],
    spans: list[tuple[dt.datetime, dt.datetime]],
) -> list[tuple[Stage, float]]:
    """The learned stages this visit went through, with their minutes (absurd ones left out). With the provider:
    the provider's own minutes (`own_minutes`: not the time they stepped out to see another patient)."""
    found = []
    for this, following in pairwise(v.steps):
        ends = LEARNED.get(this.step)
        if ends is None or following.step not in ends:
            continue
        took = minutes(following.at - this.at)
        configured = getattr(vtype.stage_minutes, this.step.value)
        # The span itself, too: with others seen meanwhile a forgotten tap's own minutes can look like a visit's.
        if took < 0 or _absurd(took, configured):
            continue
        if this.step is Stage.provider_in:
            own = _own(this.at, following.at, spans)
            if own is None:
                continue
            took = own[0]
        if this.step is Stage.prep_done and _was_busy(busy, v.id, this.at):
            continue
        if this.step is Stage.prep_done and v.moved_at is not None and v.moved_at > this.at:
            continue  # ready for one provider, seen by another they were moved to: no measure of either's prep
        found.append((this.step, took))
    return found


def _absurd(took: float, configured: float) -> bool:
    """Minutes too long to be a stage's (a tap forgotten, then made hours later)."""
    return took > min(MAX_MINUTES, max(ABSURD_FACTOR * configured, ABSURD_FLOOR))


def _own(
    came_in: dt.datetime, end: dt.datetime, spans: list[tuple[dt.datetime, dt.datetime]]
) -> tuple[float, dt.datetime | None] | None:
    """The provider's own minutes on a visit from `came_in` to `end` and when they first stepped out of it (None:
    they saw it through), the patients walked in to `meanwhile` left out; None where more than STEPPED_OUT_MOST
    were (its teach-back tap forgotten while the provider saw patient after patient, not a step out)."""
    cuts = meanwhile(came_in, end, spans)
    if len(cuts) > STEPPED_OUT_MOST:
        return None
    return minutes(end - came_in) - away_minutes(came_in, cuts), cuts[0][0] if cuts else None


#: A visit's time with the provider on a past day: (visit, from, until).
_Busy = tuple[str, dt.datetime, dt.datetime]


def _busy(floor: Floor) -> dict[str, list[_Busy]]:
    """Each provider's time with patients that day, in order of their visits."""
    spans: dict[str, list[_Busy]] = defaultdict(list)
    cap = dt.timedelta(minutes=MAX_MINUTES)
    for v in floor.visits.values():
        came_in = v.times.get(Stage.provider_in)
        left = v.provider_done
        # One tapped only as it ended says nothing of when the provider was with them.
        if came_in is not None and not untapped_in(v):
            # One never seen out (a tap forgotten) is taken as busy for MAX_MINUTES at most.
            spans[v.provider].append((v.id, came_in, left or came_in + cap))
    return spans


def _was_busy(spans: list[_Busy], visit: str, at: dt.datetime) -> bool:
    return any(other != visit and start <= at < end for other, start, end in spans)


def _pace_weight(with_provider: list[_WithProvider], stages: dict[str, StageTimes]) -> tuple[float, int]:
    """The weight of a provider's usual pace against the day's own (PACE_WEIGHTS) that best foretold, on the
    past days, each visit's minutes with the provider from that provider's visits before it that day (as
    floor/core/projection.py `pace` reckons it, `shrunk_pace`; squared error of the log ratio), and how many
    visits were foretold. Fewer than PACE_EVIDENCE: (0, n), the projection's PACE_PRIOR. Ties go to the lighter
    weight."""
    days: dict[tuple[str, int], list[tuple[dt.datetime, float]]] = defaultdict(list)
    for provider, day, came_in, key, took in with_provider:
        if key not in stages:
            continue  # a visit type today's file no longer has
        ratio = took / stages[key].expected
        # A visit of a few seconds is two taps made together, not a visit; its log would outweigh a hundred.
        if ratio >= SHORTEST_RATIO:
            days[(provider, day)].append((came_in, ratio))
    errors = dict.fromkeys(PACE_WEIGHTS, 0.0)
    foretold = 0
    for visits in days.values():
        ratios = [ratio for _, ratio in sorted(visits)]
        for k in range(1, len(ratios)):
            foretold += 1
            middle, seen = median(ratios[:k]), math.log(ratios[k])
            for weight in PACE_WEIGHTS:
                errors[weight] += (seen - math.log(shrunk_pace(k, middle, weight))) ** 2
    if foretold < PACE_EVIDENCE:
        return 0.0, foretold
    return min(PACE_WEIGHTS, key=lambda w: (errors[w], w)), foretold
