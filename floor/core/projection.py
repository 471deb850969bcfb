"""Projecting each provider's rest of session: when each waiting visit will get its provider, how late.

The plan for a scheduled visit follows the clinic's convention (`[session] appointment_time`): where the
booked time is the patient's arrival ("arrival"), the patient is roomed at it, prepped, and seen
`roomed + prep_done` expected minutes after it; where it is the provider's ("provider"), the patient is
roomed `roomed + prep_done` minutes before it and seen at it. `planned_provider_in` is that yardstick, the
one every "late" in Floor is measured from (projection, alerts, measures, the wall). The projection walks the
provider's queue in schedule order: each visit's provider-in is the later of the patient being ready and
the provider being free; gaps in the schedule (buffers) absorb delay.

What a stage is expected to take is what the clinic's past days say this provider's visits of this type
take (`floor.learned`, floor/core/learning.py; the configured minutes where there is no history); the plan,
the yardstick of "late", stays the clinic file's. Better than a plain median plan: on top, the provider's pace
is learned from the day so far (against that expectation), and a visit that runs over is expected to run on
the way long visits do (the median residual life of a lognormal duration grows with the time already
spent), rather than to end any second now.

A patient who has not come is weighed by how likely they still are to (`show_chance`, learned from the
day's no-shows and how late its patients arrive, on top of the provider's past days or a prior): one likely
not to come, whom the provider would otherwise wait for, does not hold the provider, and their visit's
lateness is the expected one.

A patient the provider has passed over (`_passed_over`: walked in to a patient booked after them while they were
here and, by their taps, ready) is held up by something the floor does not show (a cast to come off, drops to work, a
lab result): they do not hold the provider either. They are projected once nobody else is ready, or in a gap their
minutes fit, late if that is late (and then a link of a cascade like any other); their lateness is not the
provider's delay. (Projected first in the queue, as ready, they made the ready patients behind them late:
loadtests/fifth_days.py, `ophthalmology` precision 0.58 to 0.68.)

A provider is not assumed to see one patient at a time. One who walks in to another patient long before a
visit's teach-back (`TWO_AT_ONCE`) stepped out of it (a patient sent for an x-ray, an anaesthetic left to work):
the visit is reckoned by the provider's own minutes (`own_minutes`), waits for them to finish the one they are
with, and where they usually step out of visits of its type (`steps_out_of`, learned from past days) they are
projected free for the next patient once its minutes before stepping out are up, and back for the rest after.

A provider is not assumed to be on the floor (`absent_until`): one marked running late or stepped away (a
presence tap) is not free until they said they would be back, and one who, with no tap, has left a ready
patient waiting past their time for a while is presumed away, for longer the longer it has been. Unless the
provider's walking in often goes untapped until the visit ends (`walks_in_untapped`, learned from past days or the
day's own visits): then the wait is most likely a patient being seen, and the provider is presumed in with them
(`_presumed_in`) for as long as such a visit plausibly lasts.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import math
from collections.abc import Iterable
from statistics import NormalDist, median

from msgspec import Struct, structs

from floor.config import AppointmentTime, Clinic, VisitType
from floor.core.events import Event
from floor.core.floor import Floor, Visit
from floor.core.journey import ENDS, Stage
from floor.core.learned import EMPTY, Habits, Learned, UntappedIn
from floor.core.rooms import RoomState

#: How widely real stage durations spread around their expectation (log-space sd of a lognormal), as the
#: projection reckons a visit running over: the longer sigma, the longer such a visit is expected to run on.
#: 0.3 (it was 0.35): in loadtests/alert_quality.py (40 days a world, history 14) precision rose in every world
#: but one (late_start 0.79 to 0.81, no_shows 0.77 to 0.81, tap_lag 0.67 to 0.70, default 0.82 to 0.85) for
#: recall 0.88 to 0.98. Learning it from the clinic's past days (the lognormal fitted per provider and visit
#: type, 0.30 in the simulator's default world, 0.49 with heavy tails, 0.40 with taps entered late) did worse
#: where it came out wider (heavy_tail precision 0.84, tap_lag 0.67): the figure that decides an alert is not
#: the spread that fits the visits best, and 0.3 held where the visits really spread 0.25 to 0.5.
SIGMA = 0.3
#: How many visits' worth of belief in the visit types' expectations before the day's pace takes over, where the
#: clinic's past days have not taught a weight of their own (`Learned.pace_weight`, floor/core/learning.py).
PACE_PRIOR = 3.0
PACE_RANGE = (0.7, 1.8)

_WAITING = (Stage.scheduled, Stage.arrived, Stage.roomed, Stage.prep_done)

#: Before the day shows its own: the share of booked patients who do not come, and how many visits' worth
#: of belief in it.
NO_SHOW_PRIOR = 0.07
NO_SHOW_PRIOR_WEIGHT = 20.0
#: Before the day shows its own: how patients who do come arrive against their planned rooming. Most come
#: about on time (share `1 - LATE_SHARE_PRIOR`, then fewer every `ON_TIME_SPREAD` minutes later); a few come
#: late (falling off every `LATE_SPREAD` minutes). `LATE_PRIOR_WEIGHT`: how many arrivals' worth of belief.
LATE_SHARE_PRIOR = 0.1
ON_TIME_SPREAD = 5.0
LATE_SPREAD = 15.0
LATE_PRIOR_WEIGHT = 10.0
#: Below this chance of still coming, a patient who has not come is projected as likely a no-show.
LIKELY_NO_SHOW = 0.5

#: A provider marked running late or stepped away without saying for how long is expected back this many
#: minutes after the tap (a short absence); while the mark stands (no "back", no patient seen since), they are
#: not free before `now + MARKED_AT_LEAST` minutes, however long ago they were due back: nobody saw them return.
MARKED_MINUTES = 15
MARKED_AT_LEAST = 5
#: Presumed away with no tap: the provider is with nobody, and a booked patient of theirs has been ready (prep done)
#: and due (past the planned provider-in) for ABSENT_NOTICE minutes since the provider was last seen (the
#: session's opening, their last visit's start or end, their last presence tap). On an ordinary day a provider
#: free with a ready patient goes in within minutes, and one still with a patient is not idle; ten minutes
#: keeps charting between patients and taps entered a few minutes late from looking like an absence.
ABSENT_NOTICE = 10.0
#: Then they are not free until now + ABSENT_SHARE x the minutes it has been (at most ABSENT_CAP): absences
#: are heavy-tailed (a provider ten minutes gone is likely finishing a call; forty minutes gone, stuck in
#: something longer), so the time still to go grows with the time already gone, and is re-reckoned every
#: minute. A quarter: in loadtests/alert_quality.py (20 days each, with rooms, assistants and history) every
#: share from 0.25 to 0.75 caught the same episodes, and the larger ones raised more false alerts where late
#: starts were short (precision in `late_start` 0.83 at 0.25, 0.80 at 0.75): a provider who walks in is seen
#: at once, while a forecast of a long absence cannot be taken back until they do.
ABSENT_SHARE = 0.25
ABSENT_CAP = 45.0


def minutes(td: dt.timedelta) -> float:
    return td.total_seconds() / 60


#: A provider who walked in to another patient of theirs more than this many minutes before a visit's
#: teach-back (or, the visit still going, before now) had two patients at once: they stepped out of the visit
#: (a patient sent for an x-ray, an anaesthetic left to work) and saw the other meanwhile. Fewer is as likely a
#: tap entered late (loadtests/alert_quality.py's taps lag 1 to 6 minutes; floor/core/learning.py `tap_lag`).
TWO_AT_ONCE = 10.0


def meanwhile(
    came_in: dt.datetime,
    end: dt.datetime,
    others: Iterable[tuple[dt.datetime, dt.datetime | None]],
    at_once: float = TWO_AT_ONCE,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The provider's other patients walked in to during a visit from `came_in` to `end`, more than `at_once`
    minutes before `end` (two at once, not a tap entered late), in order: each one's provider-in and end (or
    `end`, whichever is first). `others`: the provider's visits' provider-in and end, None if still going (the
    visit itself is not among those walked in to meanwhile). `at_once` 0: a visit of a type the provider is
    known to step out of, where a later patient is a step out at once."""
    return sorted(
        (other_in, min(other_end or end, end))
        for other_in, other_end in others
        if came_in < other_in < end and minutes(end - other_in) > at_once
    )


def own_minutes(
    came_in: dt.datetime,
    end: dt.datetime,
    others: Iterable[tuple[dt.datetime, dt.datetime | None]],
    at_once: float = TWO_AT_ONCE,
) -> float:
    """The provider's own minutes on a visit from `came_in` to `end`: less the time they spent with the patients
    walked in to `meanwhile`. A provider with one patient at a time: the whole span."""
    return minutes(end - came_in) - away_minutes(came_in, meanwhile(came_in, end, others, at_once))


def away_minutes(came_in: dt.datetime, cuts: list[tuple[dt.datetime, dt.datetime]]) -> float:
    """The minutes a provider was with other patients during a visit walked in to at `came_in` (`cuts`: those
    patients' spans within it, in order, from `meanwhile`), overlapping ones counted once."""
    away = 0.0
    reached = came_in
    for start, stop in cuts:
        start = max(start, reached)
        if stop > start:
            away += minutes(stop - start)
            reached = stop
    return away


#: A provider-in tapped less than this many seconds before the visit's end (its teach-back, or its checkout) was
#: not tapped when the provider walked in: both were tapped together as the visit ended, the walking in forgotten
#: till then. Such a visit says nothing of how long the provider took, nor of when they walked in.
UNTAPPED_IN_SECONDS = 60.0
#: A provider whose walking in went untapped until the visit's end (`untapped_in`) in at least this share of at
#: least UNTAPPED_IN_EVIDENCE past visits (`Learned.untapped_in`) is, when free with a patient prepped and
#: waiting, presumed to have walked in to them untapped (`_presumed_in`) rather than to be away: on such a
#: provider's days a patient left waiting with the provider free is most often a patient being seen. (Where
#: providers tap as they walk in, a wait like that is an absence: `absent_until`.)
UNTAPPED_IN_SHARE = 0.1
UNTAPPED_IN_EVIDENCE = 20
#: The day's own visits say it too, so that a clinic with no past days yet (a new one, or one whose days are scored
#: on their own) learns the habit by mid-morning: once at least this many of the provider's visits today went so,
#: when each made at least UNTAPPED_IN_SHARE of their visits seen to their end, past days' and today's together.
#: Held for the rest of the day once it held, so that visits tapped as they happened since do not switch it off
#: and on (each switch a cascade raised, or cleared, on the same wait); a habit the past days show holds all day.
#: (loadtests/fourth_days.py with nothing learned: false alerts per provider-day 0.66 to 0.58, `interpreter`
#: precision 0.44 to 0.49.)
UNTAPPED_IN_TODAY = 3
#: How long past the visit's expected minutes (times this) the provider is still presumed in with them: a visit
#: runs over, but one walked in to untapped is tapped when it ends, and long after that the provider is away.
UNTAPPED_IN_PLAUSIBLE = 2.0


def untapped_in(v: Visit) -> bool:
    """Whether the visit's provider-in was tapped only as it ended (within UNTAPPED_IN_SECONDS of its end)."""
    came_in = v.times.get(Stage.provider_in)
    end = v.provider_done
    return came_in is not None and end is not None and (end - came_in).total_seconds() < UNTAPPED_IN_SECONDS


def seen_to_the_end(v: Visit) -> bool:
    """Whether the provider saw the visit to its end: walked in, and the visit has gone on past provider-in (the
    visits `Learned.untapped_in` and `untapped_today` count)."""
    return Stage.provider_in in v.times and v.stage is not Stage.provider_in


def untapped_today(provider: str, visits: Iterable[Visit]) -> UntappedIn:
    """Of the provider's visits among `visits` (the day's) seen to their end, how many had their provider-in tapped
    only as they ended: counted as floor/core/learning.py counts past days' (`Learned.untapped_in`)."""
    ended = _seen_out(provider, visits)
    return UntappedIn(len(ended), sum(untapped for _, untapped in ended))


def _seen_out(provider: str, visits: Iterable[Visit]) -> list[tuple[dt.datetime, bool]]:
    """The provider's visits seen to their end, each as when the provider was done and whether it was `untapped_in`,
    in that order."""
    ended = []
    for v in visits:
        if v.provider == provider and seen_to_the_end(v):
            ended.append((v.provider_done or v.times[Stage.provider_in], untapped_in(v)))
    return sorted(ended)


def walks_in_untapped(learned: Learned, provider: str, today: Iterable[Visit] = ()) -> bool:
    """Whether the provider's walking in to a patient often goes untapped until the visit ends: as their past days
    say (`Learned.untapped_in`), or as the day's own visits (`today`) said at some moment today, past days' counting
    too (UNTAPPED_IN_TODAY)."""
    known = learned.untapped_in.get(provider) if learned.untapped_in else None
    past_visits, past_untapped = (known.visits, known.untapped) if known is not None else (0, 0)
    if past_visits >= UNTAPPED_IN_EVIDENCE and past_untapped >= UNTAPPED_IN_SHARE * past_visits:
        return True
    untapped = 0
    for visits, (_, was) in enumerate(_seen_out(provider, today), start=1):
        untapped += was
        if (
            was
            and untapped >= UNTAPPED_IN_TODAY
            and past_untapped + untapped >= UNTAPPED_IN_SHARE * (past_visits + visits)
        ):
            return True
    return False


#: A provider who stepped out of more than this share of their past visits of a type, and of at least
#: STEPS_OUT_EVIDENCE of them, is expected to step out of the next: free for others `StepsOut.before` minutes
#: after walking in, and back for the rest of their own minutes once done with the patient they saw meanwhile.
STEPS_OUT_SHARE = 0.5
STEPS_OUT_EVIDENCE = 5


def steps_out_of(learned: Learned, provider: str, vtype: VisitType) -> tuple[float, float] | None:
    """Where the provider usually steps out of visits of this type (`Learned.steps_out`): the minutes before
    stepping out and their own minutes on the visit in all; None where they see it through."""
    known = learned.stepping_out(provider, vtype.code)  # asked for every visit of every review: at once if empty
    if (
        known is None
        or known.before is None
        or known.own is None
        or known.stepped < STEPS_OUT_EVIDENCE
        or known.stepped <= STEPS_OUT_SHARE * known.visits
    ):
        return None
    return known.before, max(known.own, known.before)


def minutes_with_provider(learned: Learned, provider: str, vtype: VisitType) -> tuple[float, float | None]:
    """The minutes a visit of this type is expected to hold the provider (their own minutes on it, where they
    usually step out of it), and the minutes before they step out (None: they see it through)."""
    steps = steps_out_of(learned, provider, vtype)
    if steps is None:
        return learned.expected(provider, vtype, Stage.provider_in), None
    return steps[1], steps[0]


def _ever_two_at_once(spans: list[tuple[dt.datetime, dt.datetime | None]]) -> bool:
    """Whether any of these visits was walked in to more than TWO_AT_ONCE minutes before an earlier one's end (or
    while it is still going): if not, every visit's own minutes are its span (the common day, reckoned in one
    sorted pass rather than a visit against every other: loadtests/review_cost.py)."""
    reach: dt.datetime | None = None
    for came_in, end in sorted(spans, key=lambda span: span[0]):
        if reach is not None and (reach is _STILL_GOING or minutes(reach - came_in) > TWO_AT_ONCE):
            return True
        if end is None:
            reach = _STILL_GOING
        elif reach is not _STILL_GOING and (reach is None or end > reach):
            reach = end
    return False


#: A span's end while the visit is still going, for `_ever_two_at_once`.
_STILL_GOING = dt.datetime.max.replace(tzinfo=dt.UTC)


def provider_spans(visits: Iterable[Visit]) -> list[tuple[dt.datetime, dt.datetime | None]]:
    """Each visit's time with the provider, for `own_minutes`: provider-in, and teach-back or checkout (None:
    still going). None at all on a day when nobody was walked in to long before another's end (most days: every
    visit's own minutes are its span, and `own_minutes` has nothing to look through)."""
    spans = [
        (v.times[Stage.provider_in], v.provider_done)
        for v in visits
        if Stage.provider_in in v.times and not untapped_in(v)  # tapped only as it ended: no span to speak of
    ]
    return spans if _ever_two_at_once(spans) else []


def planned_provider_in(visit: Visit, vtype: VisitType, convention: AppointmentTime) -> dt.datetime:
    """When the provider should walk in to this visit by the clinic's own plan: the yardstick of "late".

    "arrival": the booked time plus the visit type's expected minutes roomed and prep_done (the patient is
    roomed at the booked time). "provider": the booked time itself. A walk-in's time is its arrival, so it
    is planned as under "arrival" in either clinic. Callers pass the visit's type (`Clinic.visit_type_of`: a
    stand-in for a type the clinic file no longer has) and the clinic's convention (`convention_of(clinic)`).

    In UTC, the minutes of real time: a booked time in the clinic's zone (a schedule import's) plus minutes is
    reckoned on the zone's wall clock, an hour off on the night the clocks go back (a follow-up booked 01:55 CDT
    was planned in at 02:04 CST, not 01:04), and a booking read back from the log (a fixed offset) is not: the
    same day was 0 minutes late live and 26 after a restart (a review).
    """
    start = visit.start.astimezone(dt.UTC)
    if convention is AppointmentTime.provider and not visit.walk_in:
        return start
    sm = vtype.stage_minutes
    return start + dt.timedelta(minutes=sm.roomed + sm.prep_done)


def planned_roomed(visit: Visit, vtype: VisitType, convention: AppointmentTime) -> dt.datetime:
    """When the patient should be roomed by the clinic's plan: `roomed + prep_done` expected minutes before
    the planned provider-in (the booked time under "arrival", and for a walk-in; that long before it under
    "provider"). Said directly rather than as `planned_provider_in` less those minutes (the same instant): the
    projection asks it for every waiting patient several times a review (loadtests/review_cost.py). In UTC, as
    `planned_provider_in` is."""
    start = visit.start.astimezone(dt.UTC)
    if convention is AppointmentTime.provider and not visit.walk_in:
        sm = vtype.stage_minutes
        return start - dt.timedelta(minutes=sm.roomed + sm.prep_done)
    return start


class VisitPlan(Struct, frozen=True):
    """A visit's plan by the clinic's convention, for the pages: when the patient is due to be roomed (a
    patient not yet come is late past it) and when the provider is due in (`planned_roomed`,
    `planned_provider_in`). The pages show these rather than apply the convention themselves."""

    visit: str
    roomed: dt.datetime
    provider_in: dt.datetime


def visit_plan(visit: Visit, clinic: Clinic) -> VisitPlan:
    """`visit`'s plan in `clinic` (a visit of a type the clinic no longer has: by `Clinic.visit_type_of`'s stand-in)."""
    vtype, convention = clinic.visit_type_of(visit.visit_type), convention_of(clinic)
    return VisitPlan(visit.id, planned_roomed(visit, vtype, convention), planned_provider_in(visit, vtype, convention))


def convention_of(clinic: Clinic) -> AppointmentTime:
    """What the clinic's booked times mean (its `[session] appointment_time`)."""
    return clinic.session.appointment_time


def median_residual(median_minutes: float, elapsed: float, sigma: float = SIGMA) -> float:
    """Minutes still to go, as likely more as less, for a lognormal duration with this median, given `elapsed`
    so far: a visit that runs over is expected to run on the way long visits do (the longer it has run, the
    longer it goes on), not to end any second now.

    The median, not the mean: whether a visit will be L minutes late is a yes or no, and the mean of a
    long-tailed duration is pulled past the likely by the few that run very long. In
    loadtests/alert_quality.py the mean (with a forecast margin of 4 minutes) raised more false alerts and
    caught fewer cascades than the median (margin 2) in every world tried (20 days each)."""
    if elapsed <= 0:
        return median_minutes
    mu = math.log(max(median_minutes, 0.1))
    z = (math.log(elapsed) - mu) / sigma
    tail = 0.5 * math.erfc(z / math.sqrt(2))  # P(T > elapsed)
    if tail < 1e-12:
        # Far in the tail, log T beyond log elapsed is about exponential with mean sigma / z.
        return max(elapsed * math.expm1(math.log(2) * sigma / z), 0.5)
    beyond = math.exp(mu + sigma * NormalDist().inv_cdf(1 - tail / 2))  # P(T > beyond) = tail / 2
    return max(beyond - elapsed, 0.5)


def by_provider(floor: Floor) -> dict[str, list[Visit]]:
    """Today's visits of each provider, in booking order: one pass over the floor for a projection of all of
    them (a large clinic has thousands of visits)."""
    mine: dict[str, list[Visit]] = {p.id: [] for p in floor.clinic.providers}
    for v in floor.visits.values():
        mine.setdefault(v.provider, []).append(v)
    return mine


def pace(
    floor: Floor,
    provider: str,
    visits: Iterable[Visit] | None = None,
    spans: list[tuple[dt.datetime, dt.datetime | None]] | None = None,
) -> float:
    """How long this provider's visits take today against what they are expected to take (the minutes learned
    from the clinic's past days, `floor.learned`, or the configured ones). `spans`: the provider's
    (`provider_spans`), where the caller has them."""
    learned = floor.learned
    mine = [
        v
        for v in (floor.visits.values() if visits is None else visits)
        if v.provider == provider and Stage.provider_in in v.times
    ]
    if spans is None:
        spans = provider_spans(mine)
    ratios = []
    for v in mine:
        end = v.provider_done
        if end is not None and not untapped_in(v):
            # The provider's own minutes: a visit they stepped out of is not slow for it.
            took = own_minutes(v.times[Stage.provider_in], end, spans)
            expected = learned.expected(provider, floor.clinic.visit_type_of(v.visit_type), Stage.provider_in)
            ratios.append(took / expected)
    return shrunk_pace(len(ratios), median(ratios), learned.pace_weight or PACE_PRIOR) if ratios else 1.0


def shrunk_pace(visits: int, middle: float, weight: float) -> float:
    """The day's pace from `visits` ratios (minutes with the provider against the expected) whose median is
    `middle`, shrunk toward 1 with `weight` visits' worth of belief in the expectation."""
    shrunk = (weight * 1.0 + visits * middle) / (weight + visits)
    return min(max(shrunk, PACE_RANGE[0]), PACE_RANGE[1])


class ProjectedVisit(Struct, frozen=True):
    visit: str
    stage: Stage
    planned_provider_in: dt.datetime
    provider_in: dt.datetime
    lateness: float  # minutes, >= 0
    #: Late because the provider is still busy (a cascade), not because the patient is late or unready.
    waits_for_provider: bool = False
    #: When the provider is expected to be done with this visit (for one they step out of, after coming back).
    provider_out: dt.datetime | None = None
    #: How likely the patient is to be seen at all: 1 once here; for a patient not yet come, `show_chance`.
    #: Below LIKELY_NO_SHOW, a patient the provider would otherwise wait for does not hold the provider (they
    #: are fitted in if they come) and their lateness is the expected one (this share of the lateness if they
    #: come): they are late by being late, not by the provider's delay. One who would wait for the provider
    #: anyway is projected as any other: if they come, the provider's delay passes to them.
    show: float = 1.0
    #: A walk-in: no booked time, so never late (`lateness` 0) and no measure of the provider's delay.
    walk_in: bool = False
    #: The patient's own lateness, in minutes: how late they arrived against their planned rooming
    #: (`planned_roomed`), or, not come yet, how far past it now is. Not the provider's doing.
    own_lateness: float = 0.0
    #: Late because no room (or no medical assistant to room them) will be free for the patient in time, the
    #: provider free: the clinic's delay passing down the schedule too, as a cascade counts it.
    waits_for_room: bool = False
    #: A visit of a type the provider usually steps out of (`steps_out_of`): when they are expected to step out
    #: and to come back for the rest (the patient waits in the room meanwhile); None otherwise.
    steps_out: dt.datetime | None = None
    back: dt.datetime | None = None
    #: Moved here from the provider the visit was booked with (`Visit.moved_from`): fitted into this provider's
    #: day, as a walk-in is. Their lateness (by their booked time) is still theirs, but it is not this
    #: provider's delay, nor a link of this provider's cascade: the provider they came from caused it.
    fitted_in: bool = False
    #: Presumed seen since `provider_in` though not yet tapped so: the provider, who often taps walking in only as
    #: the visit ends (`walks_in_untapped`), came free with this patient prepped and waiting (`_presumed_in`).
    presumed_in: bool = False
    #: Passed over (`passed_over`): the provider walked in to a later-booked patient while this one, here and
    #: by the taps ready for them, waited. Held up by something the floor does not show (a technician, a lab
    #: result, drops to work), so they do not hold the provider: projected after the patients ready, or in a
    #: gap where no one is, late if that is late. Their lateness is not the provider's delay.
    passed_over: bool = False


#: A provider's delay under this many minutes is none (the screens round it to 0): on time now.
ON_TIME_NOW = 0.5
#: A patient who came this many minutes late or more is late by their own doing: their visit is no measure of
#: the provider's delay.
PATIENT_LATE = 5.0


def provider_delay(visits: Iterable[ProjectedVisit]) -> float:
    """The provider's delay, in minutes: how late the provider is projected to reach the next booked patient
    who came on time (less than PATIENT_LATE late) and will be waiting for them (or for a room the provider's
    earlier patients hold): that visit's lateness less the patient's own; walk-ins, late patients and patients
    `passed_over` aside; 0 if no such patient will wait. A patient late because they came late does not make the
    provider late. The wall, the waiting room and the manager quote this figure, and a cascade alert carries it."""
    return next(
        (
            max(0.0, p.lateness - p.own_lateness)
            for p in sorted(visits, key=lambda p: p.planned_provider_in)
            if (p.waits_for_provider or p.waits_for_room)
            and not (p.walk_in or p.fitted_in or p.passed_over)
            and p.own_lateness < PATIENT_LATE
        ),
        0.0,
    )


class Cause(Struct, frozen=True):
    visit: str
    stage: Stage
    over_minutes: float


class ProviderProjection(Struct, frozen=True):
    provider: str
    pace: float
    #: Minutes the provider is behind now: `provider_delay` of the visits below.
    lateness: float
    free_at: dt.datetime
    visits: list[ProjectedVisit]
    #: The planned provider-in from which the rest of the session runs on time (now, when it is on time now and
    #: from now on); None if it does not this session (or nobody is waiting).
    recovers_at: dt.datetime | None
    cause: Cause | None


def project(
    floor: Floor,
    provider: str,
    now: dt.datetime,
    on_time: float = 5.0,
    visits: list[Visit] | None = None,
    rooms_at: dict[str, dt.datetime] | None = None,
) -> ProviderProjection:
    """`visits`: the provider's visits (from `by_provider`), and `rooms_at`: when each waiting patient gets a
    room (from `rooming`), when projecting every provider at once."""
    clinic = floor.clinic
    if rooms_at is None:
        rooms_at = rooming(floor, now)
    convention = convention_of(clinic)
    learned = floor.learned
    everyone = floor.visits.values() if visits is None else visits
    spans = provider_spans(v for v in everyone if v.provider == provider)
    p = pace(floor, provider, everyone, spans)
    booked_here = (v for v in everyone if v.booked_with == provider)
    coming = _Coming(clinic, convention, booked_here, learned.habits.get(provider))
    mine = [v for v in everyone if v.provider == provider and v.stage not in ENDS]
    causes = [c for v in mine if (c := _overrun(v, clinic.visit_type_of(v.visit_type), now, p, learned, spans))]
    free_at, owed = _with_provider_now(clinic, learned, provider, mine, spans, now, p)
    presumed = _presumed_in(floor, provider, mine, everyone, now, p, convention)
    if presumed is None:
        free_at = max(free_at, absent_until(floor, provider, now, everyone, convention))
    else:
        free_at = max(free_at, presumed[2], absent_until(floor, provider, now, everyone, convention, presumed_in=True))
    # The provider takes whoever is ready when they come free, earliest appointment first, so a patient
    # running late is seen after the ones already waiting rather than holding them all up.
    queue = []
    projected: list[ProjectedVisit] = []

    def seen(
        v: Visit, vtype: VisitType, planned: dt.datetime, start: dt.datetime, lateness: float, done: dt.datetime, **more
    ) -> ProjectedVisit:
        """Visit `v` projected seen from `start` to `done`, `lateness` minutes late (`more`: the other fields). How
        late a patient here came is by the minutes in force when they came (`Floor.planned_type`, as the measures'
        came-late): rooming given more minutes after they came on time made them "late by their own doing", out of
        the provider's delay, while they waited for the provider."""
        came_by = floor.planned_type(v, Stage.arrived) if Stage.arrived in v.times else vtype
        return ProjectedVisit(
            v.id,
            v.stage,
            planned,
            start,
            round(lateness, 1),
            provider_out=done,
            walk_in=v.walk_in,
            own_lateness=own_lateness(v, came_by, now, convention),
            fitted_in=v.moved_from is not None,
            **more,
        )

    if presumed is not None:
        v, start, done = presumed
        vtype = clinic.visit_type_of(v.visit_type)
        planned = planned_provider_in(v, vtype, convention)
        lateness = 0.0 if v.walk_in else max(0.0, minutes(start - planned))
        projected.append(seen(v, vtype, planned, start, lateness, done, presumed_in=True))
    held = _passed_over(clinic, learned, convention, everyone, provider, mine)
    for v in mine:
        if v.stage in _WAITING and (presumed is None or v is not presumed[0]):
            vtype = clinic.visit_type_of(v.visit_type)
            show = coming.chance(v, vtype, now) if v.stage is Stage.scheduled else 1.0
            # No room free when they are due: roomed once one is, then prepped.
            ready = _ready(v, vtype, now, convention, learned, rooms_at.get(v.id))
            queue.append((v, vtype, planned_provider_in(v, vtype, convention), ready, show, v.id in rooms_at))
    # By when each is ready (ties in booking order); those ready by the time the provider is free wait in a
    # heap by appointment: by when each was due to be roomed (`planned_roomed`), one clock for booked patients
    # and walk-ins under either convention. (By the booked time as written, a "provider" clinic's walk-in who
    # came at 9:53 went before the patient booked for the provider at 10:00, due to be roomed at 9:51: a
    # booked visit projected a visit late, a cascade raised and cleared in a minute in unseen_days.py.)
    # free_at only moves on, so a visit once ready stays ready: n log n, not n².
    # A patient passed over (`_passed_over`) waits apart: taken only when nobody else is ready and their minutes
    # end before the next patient will be, or once everyone else is seen.
    by_ready = sorted((i for i in range(len(queue)) if queue[i][0].id not in held), key=lambda i: (queue[i][3], i))
    held_by_ready = sorted((i for i in range(len(queue)) if queue[i][0].id in held), key=lambda i: (queue[i][3], i))
    waiting: list[tuple[dt.datetime, str, int]] = []
    held_waiting: list[tuple[dt.datetime, str, int]] = []
    n = h = 0
    #: The projected visit the provider owes the rest of (stepped out of), by its index in `projected`.
    owed_by: int | None = None

    def back_to_owed(at: dt.datetime) -> dt.datetime:
        """The provider goes back at `at` to the visit stepped out of and is free once its rest is done."""
        nonlocal owed, owed_by
        free = at + dt.timedelta(minutes=owed)
        if owed_by is not None:
            projected[owed_by] = structs.replace(projected[owed_by], back=at, provider_out=free)
        owed, owed_by = 0.0, None
        return free

    def fits(i: int, start: dt.datetime) -> bool:
        """Whether the passed-over patient `queue[i]`, taken at `start`, leaves the provider free by the time the
        next patient not passed over is ready (or there is none)."""
        if n >= len(by_ready):
            return True
        own = minutes_with_provider(learned, provider, queue[i][1])[0] * p
        return start + dt.timedelta(minutes=own) <= queue[by_ready[n]][3]

    while n < len(by_ready) or waiting or h < len(held_by_ready) or held_waiting:
        while n < len(by_ready) and queue[by_ready[n]][3] <= free_at:
            q = queue[by_ready[n]]
            heapq.heappush(waiting, (planned_roomed(q[0], q[1], convention), q[0].id, by_ready[n]))
            n += 1
        while h < len(held_by_ready) and queue[held_by_ready[h]][3] <= free_at:
            q = queue[held_by_ready[h]]
            heapq.heappush(held_waiting, (planned_roomed(q[0], q[1], convention), q[0].id, held_by_ready[h]))
            h += 1
        if waiting:
            pick = queue[heapq.heappop(waiting)[2]]
        elif owed:  # nobody ready yet: the provider goes back to the visit they stepped out of
            free_at = back_to_owed(free_at)
            continue
        elif held_waiting and fits(held_waiting[0][2], free_at):
            pick = queue[heapq.heappop(held_waiting)[2]]  # a gap: the provider sees one passed over
        elif h < len(held_by_ready) and fits(held_by_ready[h], queue[held_by_ready[h]][3]):
            pick = queue[held_by_ready[h]]  # nobody ready yet: one passed over will be, in time
            h += 1
        elif n < len(by_ready):
            pick = queue[by_ready[n]]  # nobody ready yet: the provider waits for the first who will be
            n += 1
        elif held_waiting:
            pick = queue[heapq.heappop(held_waiting)[2]]
        else:
            pick = queue[held_by_ready[h]]
            h += 1
        v, vtype, planned, ready, show, no_room = pick
        own, before = minutes_with_provider(learned, provider, vtype)
        minutes_in = dt.timedelta(minutes=own * p)
        if show < LIKELY_NO_SHOW:
            # Not here and likely not coming: the provider sees who is here, and fits them in if they do come.
            # Late only by being late, not by the provider. (Only when the provider would otherwise be waiting
            # for them, it was: a busy provider was projected to see two patients with chances of 0.01 and 0.05
            # for 25 minutes each, ahead of patients waiting, and the wall said +68 min: a hostile review.)
            lateness = 0.0 if v.walk_in else show * max(0.0, minutes(ready - planned))
            projected.append(seen(v, vtype, planned, ready, lateness, ready + minutes_in, show=round(show, 2)))
            continue
        start = max(ready, free_at)
        lateness = 0.0 if v.walk_in else max(0.0, minutes(start - planned))
        done = start + minutes_in
        projected.append(
            seen(
                v,
                vtype,
                planned,
                start,
                lateness,
                done,
                waits_for_provider=free_at > ready,
                show=round(show, 2),
                waits_for_room=no_room and free_at <= ready,
                passed_over=v.id in held,
            )
        )
        if before is None:
            free_at = back_to_owed(done)
        else:
            # Out of this one once its minutes before stepping out are up, back to the one stepped out of before
            # (if any), then free for the next; this one's rest is owed.
            out = start + dt.timedelta(minutes=before * p)
            projected[-1] = structs.replace(projected[-1], steps_out=out)
            free_at = back_to_owed(out)
            owed, owed_by = (own - before) * p, len(projected) - 1
    free_at = back_to_owed(free_at)
    projected.sort(key=lambda x: x.planned_provider_in)
    lateness = provider_delay(projected)
    recovers_at = _recovery(projected, on_time)
    if recovers_at is not None and lateness < ON_TIME_NOW and all(q.lateness <= on_time for q in projected):
        # On time now, and every visit ahead too: back on time now, not at the next visit's planned provider-in. A
        # cascade still up while its provider had caught up (its links seen late hold it a while) read "back on
        # time about 10:49" at 10:40, the next patient's time, as if she were late until then (a review).
        recovers_at = now
    return ProviderProjection(
        provider,
        round(p, 2),
        lateness,
        free_at,
        projected,
        recovers_at,
        max(causes, key=lambda c: c.over_minutes, default=None),
    )


def _with_provider_now(
    clinic: Clinic,
    learned: Learned,
    provider: str,
    mine: list[Visit],
    spans: list[tuple[dt.datetime, dt.datetime | None]],
    now: dt.datetime,
    pace: float,
) -> tuple[dt.datetime, float]:
    """When the provider is free of the visits now with them, and the minutes they still owe a visit they will
    step out of (given once done with the next patient, or while nobody else is ready).

    Each visit is done after its own minutes still to go (`own_minutes`, `median_residual`). One the provider
    stepped out of (they walked in to another patient, still with them, more than TWO_AT_ONCE minutes ago) waits
    for them to come back: its minutes come after the others'. One of a type the provider usually steps out of
    (`steps_out_of`), not yet stepped out of: they are free for others once its minutes before stepping out are
    up, and owe it the rest."""
    free_at, set_aside, owed = now, 0.0, 0.0
    for v in mine:
        if v.stage is not Stage.provider_in:
            continue
        came_in = v.times[Stage.provider_in]
        own_expected, before = minutes_with_provider(learned, provider, clinic.visit_type_of(v.visit_type))
        expected = own_expected * pace
        # Walked in to another patient since, still with them: stepped out of this one, once TWO_AT_ONCE minutes
        # have passed (before that, as likely this one's teach-back not yet tapped); at once for a type the
        # provider usually steps out of.
        at_once = TWO_AT_ONCE if before is None else 0.0
        own = own_minutes(came_in, now, spans, at_once)
        stepped_out = any(
            came_in < other_in and end is None and minutes(now - other_in) > at_once for other_in, end in spans
        )
        if stepped_out:
            # Nothing more where it has had its own minutes already (its teach-back, or checkout, still to come).
            if own < expected:
                set_aside += median_residual(expected, own)
        elif before is not None:
            before *= pace
            free_at = max(free_at, now + dt.timedelta(minutes=max(0.0, before - own)))
            owed += expected - before if own < before else median_residual(expected, own)
        else:
            free_at = max(free_at, now + dt.timedelta(minutes=median_residual(expected, own)))
    return free_at + dt.timedelta(minutes=set_aside), owed


def project_all(floor: Floor, now: dt.datetime) -> dict[str, ProviderProjection]:
    """Every provider of the clinic projected at once: their visits found in one pass and the rooms shared out
    once (`by_provider`, `rooming`), in the clinic's order of providers."""
    visits, rooms_at = by_provider(floor), rooming(floor, now)
    return {p.id: project(floor, p.id, now, visits=visits[p.id], rooms_at=rooms_at) for p in floor.clinic.providers}


def _overrun(
    v: Visit,
    vtype: VisitType,
    now: dt.datetime,
    pace: float,
    learned: Learned = EMPTY,
    spans: list[tuple[dt.datetime, dt.datetime | None]] | None = None,
) -> Cause | None:
    """How far past its expectation the visit's current stage has run (with the provider, by their own minutes
    on it, `own_minutes` over the provider's `spans`; or in prep)."""
    if v.stage not in (Stage.provider_in, Stage.roomed):
        return None
    if v.stage is Stage.provider_in:
        own, before = minutes_with_provider(learned, v.provider, vtype)
        expected = own * pace
        elapsed = own_minutes(v.times[v.stage], now, spans or [], TWO_AT_ONCE if before is None else 0.0)
    else:
        expected = learned.expected(v.provider, vtype, v.stage)
        elapsed = minutes(now - v.times[v.stage])
    return Cause(v.id, v.stage, round(elapsed - expected, 1)) if elapsed > expected else None


def _ready(
    v: Visit,
    vtype: VisitType,
    now: dt.datetime,
    convention: AppointmentTime,
    learned: Learned = EMPTY,
    roomed_at: dt.datetime | None = None,
) -> dt.datetime:
    """When the patient will be prepped and waiting for the provider. A patient is not roomed before the
    clinic's planned rooming (`planned_roomed`): under "provider" that is before the booked time, so a
    patient who came early as asked is ready by it. The rooming and prep minutes are the expected ones (learned,
    or configured); the plan stays the clinic's. `roomed_at`: when a room (and an assistant) will be free for a
    patient not yet roomed, if later (`rooming`)."""
    roomed_minutes = learned.expected(v.provider, vtype, Stage.roomed)
    prep_minutes = learned.expected(v.provider, vtype, Stage.prep_done)
    after = dt.timedelta
    if v.stage is Stage.prep_done:
        return v.times[Stage.prep_done] + after(minutes=min(prep_minutes, 2))
    if v.stage is Stage.roomed:
        return max(now, v.times[Stage.roomed] + after(minutes=roomed_minutes)) + after(minutes=min(prep_minutes, 2))
    roomed = _roomable(v, vtype, now, convention)
    if roomed_at is not None:
        roomed = max(roomed, roomed_at)
    return roomed + after(minutes=roomed_minutes + prep_minutes)


def _roomable(v: Visit, vtype: VisitType, now: dt.datetime, convention: AppointmentTime) -> dt.datetime:
    """When a patient not yet roomed can be, rooms and assistants aside: here, a few minutes after they came
    (`arrived` minutes: a queue for a room, not learned) and not before the planned rooming; not here yet,
    as planned, and a patient past it soon after."""
    waits = dt.timedelta(minutes=vtype.stage_minutes.arrived)
    rooming = planned_roomed(v, vtype, convention)
    if v.stage is Stage.arrived:
        return max(now, v.times[Stage.arrived] + waits, rooming)
    return max(rooming, now + waits)


def own_lateness(v: Visit, vtype: VisitType, now: dt.datetime, convention: AppointmentTime) -> float:
    """How late the patient came (or, not come yet, is) against their planned rooming, in minutes, >= 0: in whole
    tenths, cut, not rounded, so that it is PATIENT_LATE or more only for a patient who came that late (4 min 57 s
    rounded to 5.0, and a patient who came on time by the README's 5 minutes was taken as late by their own doing:
    left out of the provider's lateness and on-time starts, and of the delay; a review of the measures)."""
    if v.walk_in:
        return 0.0
    came = v.times.get(Stage.arrived, now if v.stage is Stage.scheduled else None)
    if came is None:
        return 0.0
    return max(0, (came - planned_roomed(v, vtype, convention)) // dt.timedelta(seconds=6)) / 10


#: A patient counts as passed over only where the provider walked in to the later-booked patient at least this
#: many minutes after the taps said this one would be ready: a minute or two is as likely a tap entered late.
PASSED_OVER_AFTER = 5.0


def _passed_over(
    clinic: Clinic,
    learned: Learned,
    convention: AppointmentTime,
    everyone: Iterable[Visit],
    provider: str,
    mine: list[Visit],
) -> set[str]:
    """The provider's patients waiting for them whom they have passed over: here, and by their own taps ready for
    the provider (`_ready` as it would have reckoned then) PASSED_OVER_AFTER minutes before the provider walked in
    to a patient booked after them (by `planned_roomed`, the queue's order), who were not seen. The provider knows
    what the floor does not: the patient is held up before them (a cast to come off, drops to work, a lab result),
    and is not ready, though roomed or prepped. A patient who came late and was not ready by the taps then is not
    passed over: the provider took who was ready."""
    came_in = sorted(
        (
            (v.times[Stage.provider_in], v)
            for v in everyone
            if v.provider == provider and Stage.provider_in in v.times and not untapped_in(v)
        ),
        key=lambda seen: seen[0],
    )
    if not came_in:
        return set()
    held = set()
    for v in mine:
        if v.stage not in (Stage.arrived, Stage.roomed, Stage.prep_done):
            continue
        vtype = clinic.visit_type_of(v.visit_type)
        due = planned_roomed(v, vtype, convention)
        here = [v.times[stage] for stage in (Stage.arrived, Stage.roomed, Stage.prep_done) if stage in v.times]
        if not here:
            continue
        since = max(min(here), v.moved_at or min(here))
        for at, w in came_in:
            if at < since or w is v:
                continue
            if planned_roomed(w, clinic.visit_type_of(w.visit_type), convention) <= due:
                continue
            ready = _ready_by(v, vtype, at, convention, learned)
            if ready is not None and minutes(at - ready) >= PASSED_OVER_AFTER:
                held.add(v.id)
                break
    return held


def _ready_by(
    v: Visit, vtype: VisitType, at: dt.datetime, convention: AppointmentTime, learned: Learned
) -> dt.datetime | None:
    """When the patient would be ready for the provider, by their taps up to `at` and the expected minutes of the
    stages still to go then (as `_ready` reckons it, rooms aside); None if not here by then."""
    roomed_minutes = learned.expected(v.provider, vtype, Stage.roomed)
    prep_minutes = learned.expected(v.provider, vtype, Stage.prep_done)
    after = dt.timedelta
    prepped, roomed, arrived = (v.times.get(stage) for stage in (Stage.prep_done, Stage.roomed, Stage.arrived))
    if prepped is not None and prepped <= at:
        return prepped + after(minutes=min(prep_minutes, 2))
    if roomed is not None and roomed <= at:
        return roomed + after(minutes=roomed_minutes + min(prep_minutes, 2))
    if arrived is not None and arrived <= at:
        rooming = max(arrived + after(minutes=vtype.stage_minutes.arrived), planned_roomed(v, vtype, convention))
        return rooming + after(minutes=roomed_minutes + prep_minutes)
    return None


class _Coming:
    """How likely a patient not yet come is still to come, from the day so far (`visits`: the provider's, as
    the pace) on top of priors.

    By Bayes: of the patients who will come, the share still to come `x` minutes past their planned rooming
    (S(x), from the day's arrivals against theirs, with LATE_*_PRIOR as so many arrivals' worth), weighed
    against the share who do not come at all (the day's no-shows among patients who came or not, with
    NO_SHOW_PRIOR as so many visits' worth): (1 - q) S(x) / ((1 - q) S(x) + q).

    `habits`, what the provider's past days say (floor/core/learning.py), replaces the priors: their no-show
    share (already shrunk toward NO_SHOW_PRIOR) for NO_SHOW_PRIOR, and past arrivals blended into the late
    prior (each worth one arrival beside LATE_PRIOR_WEIGHT), before the planned rooming as after it: where
    patients come 10 minutes early, one not yet come 3 minutes before their time is likely not coming.
    (Before the planned rooming the prior alone said everyone still comes: a patient not yet come, not yet
    due and projected late was given a show chance of 0.86 where 0.71 were then seen;
    loadtests/projection_calibration.py.)"""

    def __init__(
        self, clinic: Clinic, convention: AppointmentTime, visits: Iterable[Visit], habits: Habits | None = None
    ) -> None:
        self.convention = convention
        self.habits = habits
        late: list[float] = []
        no_shows = 0
        for v in visits:
            if v.walk_in:
                continue
            vtype = clinic.visit_type_of(v.visit_type)
            if v.stage is Stage.no_show:
                no_shows += 1
            elif Stage.arrived in v.times:
                late.append(minutes(v.times[Stage.arrived] - planned_roomed(v, vtype, convention)))
        self.late = sorted(late)
        seen = no_shows + len(late)
        prior = habits.no_show_share if habits is not None else NO_SHOW_PRIOR
        self.no_show = (NO_SHOW_PRIOR_WEIGHT * prior + no_shows) / (NO_SHOW_PRIOR_WEIGHT + seen)

    def still(self, x: float) -> float:
        """S(x): the share of patients who come that come more than `x` minutes after their planned rooming."""
        prior = (
            1.0
            if x <= 0
            else (
                (1 - LATE_SHARE_PRIOR) * math.exp(-x / ON_TIME_SPREAD) + LATE_SHARE_PRIOR * math.exp(-x / LATE_SPREAD)
            )
        )
        if self.habits is not None and self.habits.arrivals:
            n = self.habits.arrivals
            prior = (LATE_PRIOR_WEIGHT * prior + n * self.habits.still(x)) / (LATE_PRIOR_WEIGHT + n)
        later = len(self.late) - bisect.bisect_right(self.late, x)
        return (LATE_PRIOR_WEIGHT * prior + later) / (LATE_PRIOR_WEIGHT + len(self.late))

    def chance(self, v: Visit, vtype: VisitType, now: dt.datetime) -> float:
        if v.walk_in:
            return 1.0
        comes = (1 - self.no_show) * self.still(minutes(now - planned_roomed(v, vtype, self.convention)))
        return comes / (comes + self.no_show) if comes + self.no_show > 0 else 1.0


def show_chance(floor: Floor, visit: Visit, now: dt.datetime) -> float:
    """How likely this patient, not yet come, is still to come (1 once here), learned from the day so far."""
    if visit.stage is not Stage.scheduled:
        return 1.0
    clinic = floor.clinic
    mine = (v for v in floor.visits.values() if v.booked_with == visit.provider)
    return _Coming(clinic, convention_of(clinic), mine, floor.learned.habits.get(visit.provider)).chance(
        visit, clinic.visit_type_of(visit.visit_type), now
    )


def absent_until(
    floor: Floor,
    provider: str,
    now: dt.datetime,
    visits: Iterable[Visit] | None = None,
    convention: AppointmentTime | None = None,
    *,
    presumed_in: bool = False,
) -> dt.datetime:
    """When the provider is expected back on the floor (`now` if they are taken to be there). `presumed_in`: the
    provider is presumed to be with a patient, walked in to untapped (`_presumed_in`): only a presence mark counts.

    Marked away (running late to clinic, stepped away): until they said they would be back, or MARKED_MINUTES
    after the tap if they gave no minutes, and at least MARKED_AT_LEAST minutes from now while the mark stands;
    the mark stands until a "back" tap or until they start a patient. With no tap: presumed away once a ready
    booked patient of theirs has waited past their planned provider-in for ABSENT_NOTICE minutes while the
    provider was with nobody (see ABSENT_SHARE); a "back" tap restarts that count. A walk-in's wait is not
    counted: walk-ins are fitted in around the booked day, and one left waiting over a gap in it (a lunch the
    clinic file does not know) raised a cascade on the booked patient after it (loadtests/unseen_days.py)."""
    clinic = floor.clinic
    convention = convention_of(clinic) if convention is None else convention
    mine = [v for v in (floor.visits.values() if visits is None else visits) if v.provider == provider]
    mark = floor.presence_of(provider)
    until = now
    if mark is not None and _marked_away(floor, provider, mine):
        back = mark.back_at or mark.since + dt.timedelta(minutes=MARKED_MINUTES)
        until = max(back, now + dt.timedelta(minutes=MARKED_AT_LEAST))
    if presumed_in or any(v.stage is Stage.provider_in for v in mine):
        return until  # with a patient: on the floor (the projection counts that visit's time)
    since = _last_seen(floor, provider, mine)
    waited = 0.0
    for v in mine:
        if v.stage is Stage.prep_done and not v.walk_in:
            due = planned_provider_in(v, clinic.visit_type_of(v.visit_type), convention)
            # A patient moved here has waited for this provider only since the move.
            waited = max(waited, minutes(now - max(since, v.times[Stage.prep_done], due, v.moved_at or due)))
    if waited >= ABSENT_NOTICE:
        until = max(until, now + dt.timedelta(minutes=min(ABSENT_SHARE * waited, ABSENT_CAP)))
    return until


def _marked_away(floor: Floor, provider: str, mine: list[Visit]) -> bool:
    """Whether the provider's presence mark says away and still stands (no patient started since)."""
    mark = floor.presence_of(provider)
    return (
        mark is not None
        and mark.away
        and not any(v.times[Stage.provider_in] > mark.since for v in mine if Stage.provider_in in v.times)
    )


def _last_seen(floor: Floor, provider: str, mine: list[Visit]) -> dt.datetime:
    """The provider's last sign on the floor (`mine`: their visits today): the session's opening, starting or ending
    a visit, a presence tap."""
    clinic = floor.clinic
    mark = floor.presence_of(provider)
    # The opening in UTC, as every other sign is: `now` less it is then real minutes whatever zone `now` is in.
    signs = [clinic.local(floor.day, clinic.session.opens).astimezone(dt.UTC), *([mark.since] if mark else [])]
    for v in mine:
        came_in = v.times.get(Stage.provider_in)
        if came_in is not None:
            signs.append(came_in)
            if v.stage is not Stage.provider_in:
                end = v.provider_done
                signs += [end] if end is not None else []
    return max(signs)


def presumed_with(floor: Floor, provider: str, now: dt.datetime, visits: Iterable[Visit] | None = None) -> str | None:
    """The visit a provider whose walking in often goes untapped is presumed to be with now (`_presumed_in`, as the
    projection has it), if any: its patient, prepped and waiting by the taps, is most likely being seen. `visits`:
    the provider's (from `by_provider`), where the caller has them."""
    everyone = list(floor.visits.values() if visits is None else visits)
    if not walks_in_untapped(floor.learned, provider, everyone):
        return None
    mine = [v for v in everyone if v.provider == provider and v.stage not in ENDS]
    presumed = _presumed_in(
        floor, provider, mine, everyone, now, pace(floor, provider, everyone), convention_of(floor.clinic)
    )
    return presumed[0].id if presumed is not None else None


def _presumed_in(
    floor: Floor,
    provider: str,
    mine: list[Visit],
    everyone: Iterable[Visit],
    now: dt.datetime,
    pace: float,
    convention: AppointmentTime,
) -> tuple[Visit, dt.datetime, dt.datetime] | None:
    """For a provider whose walking in often goes untapped (`walks_in_untapped`), with nobody now and a patient
    prepped and waiting: the patient they are presumed to be with, when they walked in, and when they will be done
    (their own minutes, `median_residual`). The one they would have taken: free since their last sign on the floor
    (the session's opening, a visit's start or end, a presence tap), whoever was ready by then with the earliest
    appointment, or else the first ready after. None where they are marked away, or where even a long visit
    (UNTAPPED_IN_PLAUSIBLE times the usual) would be over by now: then they are not with that patient."""
    learned = floor.learned
    if not walks_in_untapped(learned, provider, everyone) or any(v.stage is Stage.provider_in for v in mine):
        return None
    prepped = [v for v in mine if v.stage is Stage.prep_done]
    if not prepped:
        return None
    clinic = floor.clinic
    ours = [v for v in everyone if v.provider == provider]
    if _marked_away(floor, provider, ours):
        return None
    since = _last_seen(floor, provider, ours)

    def taken(v: Visit) -> tuple[dt.datetime, dt.datetime]:
        # Not before the patient was theirs: a patient moved to them is walked in to after the move (Floor refuses
        # a provider-in before it).
        ready = max(v.times[Stage.prep_done], v.moved_at or v.times[Stage.prep_done])
        return max(since, ready), planned_roomed(v, clinic.visit_type_of(v.visit_type), convention)

    v = min(prepped, key=taken)
    start = taken(v)[0]
    expected = minutes_with_provider(learned, provider, clinic.visit_type_of(v.visit_type))[0] * pace
    elapsed = max(0.0, minutes(now - start))  # a read on a clock behind the floor's last tap: as at that tap
    if elapsed > UNTAPPED_IN_PLAUSIBLE * expected:
        return None
    return v, start, now + dt.timedelta(minutes=median_residual(expected, elapsed))


#: Before the day shows its own: minutes a room takes to be made ready after a patient leaves it.
TURNOVER_MINUTES = 5.0


def rooming(floor: Floor, now: dt.datetime) -> dict[str, dt.datetime]:
    """When each patient waiting to be roomed (here, or expected) will get a room and an assistant to room
    them, where that is later than they would otherwise be roomed: the clinic's rooms and medical assistants
    are shared by its providers, and a patient cannot be roomed while every room is taken or every assistant
    busy (a clinic with few rooms, or one assistant, runs late this way with every provider free).

    The rooms are a queue: each room is free now (ready), after its turnover (TURNOVER_MINUTES), or once its
    patient's visit is expected to be over (the rest of their stages by the visit type's minutes, the
    provider's wait aside) and it has been turned over; blocked rooms never. Patients are roomed in the order
    they are expected to be roomable (`_roomable`), as long as they are likely to come (`show_chance`
    at least LIKELY_NO_SHOW), each holding a room for their visit type's rooming, prep, provider and
    teach-back minutes, and an assistant (`_assistants`) for its rooming minutes."""
    clinic = floor.clinic
    convention = convention_of(clinic)
    learned = floor.learned
    turnover = dt.timedelta(minutes=TURNOVER_MINUTES)
    free: list[dt.datetime] = []
    for room in floor.rooms.values():
        if room.state is RoomState.ready:
            free.append(now)
        elif room.state is RoomState.turnover:
            free.append(max(now, (room.since or now) + turnover))
        elif room.state is RoomState.occupied:
            v = floor.visits.get(room.visit or "")
            if v is None or v.stage not in _IN_ROOM:
                free.append(now + turnover)
                continue
            vtype = clinic.visit_type_of(v.visit_type)
            rest = _IN_ROOM[_IN_ROOM.index(v.stage) :]
            left = sum(learned.expected(v.provider, vtype, stage) for stage in rest)
            entered = v.times.get(v.stage, now)
            free.append(max(now, entered + dt.timedelta(minutes=left)) + turnover)
    if not free:
        return {}
    heapq.heapify(free)
    comings: dict[str, _Coming] = {}
    holds: dict[tuple[str, str], tuple[float, float]] = {}
    waiting = []
    for v in floor.visits.values():
        if v.stage not in (Stage.scheduled, Stage.arrived):
            continue
        vtype = clinic.visit_type_of(v.visit_type)
        if v.stage is Stage.scheduled:
            if v.provider not in comings:
                comings[v.provider] = _Coming(
                    clinic,
                    convention,
                    (w for w in floor.visits.values() if w.booked_with == v.provider),
                    learned.habits.get(v.provider),
                )
            if comings[v.provider].chance(v, vtype, now) < LIKELY_NO_SHOW:
                continue
        held = holds.get((v.provider, vtype.code))
        if held is None:  # the same for every visit of the type with the provider: asked once a review
            in_room = [learned.expected(v.provider, vtype, stage) for stage in _IN_ROOM]
            held = holds[(v.provider, vtype.code)] = (sum(in_room), in_room[0])
        waiting.append((_roomable(v, vtype, now, convention), v.start, v.id, *held))
    waiting.sort(key=lambda w: w[:3])
    assistants = _assistants(floor, now)
    later: dict[str, dt.datetime] = {}
    for roomable, _, visit, held, rooming_minutes in waiting:
        room_free = heapq.heappop(free)
        roomed = max(roomable, room_free)
        if assistants:
            roomed = max(roomed, heapq.heappop(assistants))
            heapq.heappush(assistants, roomed + dt.timedelta(minutes=rooming_minutes))
        if roomed > roomable:
            later[visit] = roomed
        heapq.heappush(free, roomed + dt.timedelta(minutes=held) + turnover)
    return later


#: Roomings the day must have had before the most patients in rooming at once is taken for the number of
#: medical assistants on the floor.
MIN_ROOMINGS = 6


def _assistants(floor: Floor, now: dt.datetime) -> list[dt.datetime] | None:
    """When each of the clinic's medical assistants is next free to room a patient, as a heap; None where the
    day has not shown how many there are. Rooming and prep (the `roomed` stage) is an assistant's work, one
    patient at a time: the most patients the day has had in it at once is taken for how many assistants
    work the floor (fewer than MIN_ROOMINGS roomings: not yet known)."""
    spans = []
    for v in floor.visits.values():
        roomed = v.times.get(Stage.roomed)
        if roomed is not None:
            spans.append((roomed, v.times.get(Stage.prep_done) or (now if v.stage is Stage.roomed else roomed)))
    if len(spans) < MIN_ROOMINGS:
        return None
    edges = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans], key=lambda e: (e[0], e[1]))
    at_once = most = 0
    for _, step in edges:
        at_once += step
        most = max(most, at_once)
    busy = []
    for v in floor.visits.values():
        if v.stage is Stage.roomed:
            vtype = floor.clinic.visit_type_of(v.visit_type)
            expected = floor.learned.expected(v.provider, vtype, Stage.roomed)
            busy.append(max(now, v.times[Stage.roomed] + dt.timedelta(minutes=expected)))
    free = sorted(busy)[:most] + [now] * max(0, most - len(busy))
    heapq.heapify(free)
    return free or None


#: The stages a patient spends in a room, in order.
_IN_ROOM = (Stage.roomed, Stage.prep_done, Stage.provider_in, Stage.teach_back_done)


def _recovery(projected: list[ProjectedVisit], on_time: float) -> dt.datetime | None:
    """The planned provider-in of the first visit from which every later one is on time (a patient moved here
    from another provider aside: their lateness is not this provider's); None if the session ends still late."""
    recovered = None
    for p in reversed(projected):
        if p.lateness > on_time and not p.fitted_in:
            return recovered
        recovered = p.planned_provider_in
    return recovered


def lateness_over_day(
    clinic: Clinic,
    day: dt.date,
    base_seq: int,
    events: Iterable[Event],
    until: dt.datetime,
    every: dt.timedelta = dt.timedelta(minutes=10),
    learned: Learned = EMPTY,
) -> list[tuple[dt.datetime, dict[str, float]]]:
    """Each provider's projected lateness at every `every` from the session's opening until `until`, as
    it would have been projected then (from the events stored by that moment, expecting what `learned` says).

    Stepped in UTC, each point given on the clinic's clock: `every` added on the zone's wall clock repeated half
    an hour the night the clocks go forward and left out the repeated hour the night they go back (a review)."""
    floor = Floor(clinic, day, base_seq)
    floor.learned = learned
    pending = iter(sorted(events, key=lambda e: e.seq))
    upcoming = next(pending, None)
    at = clinic.local(day, clinic.session.opens).astimezone(dt.UTC)
    points = []
    while at <= until:
        while upcoming is not None and upcoming.at <= at:
            floor.apply(upcoming)
            upcoming = next(pending, None)
        lateness = {provider: p.lateness for provider, p in project_all(floor, at).items()}
        points.append((at.astimezone(clinic.tz), lateness))
        at += every
    return points
