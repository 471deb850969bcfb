"""The day's live measures, per clinic and per provider: how long patients wait, how the day runs.

Pure: `measure(floor, now)` reads the folded floor (each visit's `times`, where an undone step is already
removed) and the time passed in. Durations are in minutes, rounded to 0.1; rates are fractions in [0, 1],
rounded to 0.001 (a half rounded up: `rounded`); None where there is no data yet.

Lateness and on-time starts are measured against a scheduled visit's planned provider-in, the same plan
the projection and the cascade alerts use (`floor.core.projection.planned_provider_in`), which follows the
clinic's `[session] appointment_time`: under "arrival" (the default) the patient is roomed at the booked
time and seen `roomed + prep_done` expected minutes (the visit type's stage_minutes) after it; under
"provider" the provider is planned in at the booked time itself. Either way a clinic running exactly to its
own plan is 0 late. A visit whose type the clinic file no longer has is planned by a stand-in with the median
of the clinic's types' minutes (`Clinic.visit_type_of`), as the projection plans it. The minutes are of real
time (in UTC), whatever the clocks do that night.

A visit whose provider-in was tapped only as it ended (provider in and teach-back tapped together,
`floor.core.projection.untapped_in`) has no time the provider walked in: it is left out of every measure that
starts or ends at provider-in (waits for the provider, time with them, on-time starts, lateness) and counted in
`untapped_in`, as Floor's learning leaves it out of the provider's minutes. Counted in, its wait was the whole
visit and its minutes with the provider none.

What the convention does not change: the durations (arrival to roomed, to provider, cycle time...) are
spans between taps, whatever the booking means (under "provider" patients come early, so arrival to
provider is longer by design: it is a wait, not lateness); the no-show rate counts visits from their booked
time under both, so a patient asked to come early is not due in the denominator before the booked time (and
one still only booked, neither come nor marked a no-show, is in neither count: not known yet, or never told).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

from msgspec import Struct

from floor.core.floor import Floor, Visit
from floor.core.journey import ENDS, Stage
from floor.core.projection import PATIENT_LATE, convention_of, own_lateness, planned_provider_in, untapped_in

#: A scheduled visit starts on time if its provider comes in at most this long after its planned provider-in.
ON_TIME_GRACE = dt.timedelta(minutes=5)
#: How long after a provider-in its lateness still stands as the provider's current lateness.
LATENESS_MEMORY = dt.timedelta(minutes=60)


class Durations(Struct, frozen=True):
    """`count` visits measured; `median` and `p90` of their durations in minutes (None when count is 0).

    The median is the middle value (the mean of the two middle values for an even count). The p90 is the
    nearest-rank 90th percentile: the value at rank ceil(0.9 * count) in ascending order (1-based), so it is
    always one of the measured durations, and for fewer than 10 visits it is the longest.
    """

    count: int
    median: float | None
    p90: float | None


class Share(Struct, frozen=True):
    """Of `count` visits considered, `hits` met the measure; `rate` = hits / count (None when count is 0)."""

    count: int
    hits: int
    rate: float | None


class Measures(Struct, frozen=True):
    """The measures for one provider, or for the whole clinic.

    Counts (visits booked today, walk-ins included):
      booked: every visit on the day, whatever its stage.
      seen: visits that reached provider_in.
      checked_out, no_show, cancelled, left_without_being_seen: visits that ended that way.
      waiting: visits in stage arrived now (here, not yet roomed).

    Durations (see `Durations`), each over the visits that have both times (those from or to provider_in, over
    the visits whose provider_in was tapped as the provider walked in: not `untapped_in`):
      arrival_to_roomed: times[roomed] - times[arrived].
      roomed_to_provider: times[provider_in] - times[roomed].
      arrival_to_provider: times[provider_in] - times[arrived].
      time_with_provider: (times[teach_back_done] if reached, else times[checked_out]) - times[provider_in],
        for visits that reached teach_back_done or checked_out after provider_in.
      cycle_time: times[checked_out] - times[arrived], for checked-out visits.
      (A walk-in arrives when it is added.)

    Shares (see `Share`):
      on_time_starts: of scheduled (not walk-in) visits that reached provider_in (not `untapped_in`), their
        patient not come PATIENT_LATE (5) minutes or more after the planned rooming (late by their own doing,
        as in the lateness), those whose provider_in was at most ON_TIME_GRACE (5 minutes) after the planned
        provider-in (see below).
      teach_back_rate: of checked-out visits that saw the provider, those with the teach-back done before
        checkout (not checked out without teach-back).
      no_show_rate: of scheduled (not walk-in) visits whose start is at or before now or that have ended,
        cancelled visits excepted and those still scheduled (not come and not marked a no-show: not known yet,
        or on a day gone by never told) left out, those that were no-shows.

    Lateness, in minutes. A scheduled visit's planned provider-in is, in a clinic whose booked times are
    arrivals (`appointment_time = "arrival"`), start + the visit type's expected minutes roomed + prep_done
    (of a type the clinic file no longer has, its stand-in's: the median of the clinic's types' minutes); in
    one whose booked times are the provider's ("provider"), start itself. A scheduled (not walk-in) visit that
    reached provider_in was max(0, times[provider_in] - planned provider-in) late; one whose provider_in was
    tapped only as it ended (`untapped_in`) has no lateness known, and is in neither figure below once that tap
    is made (while its patient seems to wait, the wait is the current lateness). A provider's are of the
    patients booked with them (not moved to them once here), and leave out a patient who came PATIENT_LATE (5)
    minutes or more after their planned rooming (late by their own doing).
      current_lateness, for a provider: if a scheduled visit whose planned provider-in is at or before now
        is here and not yet seen (arrived, roomed or prep_done: one not come, scheduled, leaves the provider
        idle, not late), now - planned provider-in of the one with the earliest planned provider-in; otherwise
        the lateness of the provider's most recent provider_in (of a scheduled visit, not `untapped_in`) if
        that was at most 60 minutes (LATENESS_MEMORY) ago; else 0.
      worst_lateness, for a provider: the largest lateness known of the day, the current one included, and of a
        patient who left without being seen, how long after their planned provider-in they left (they waited that
        long: it was their current lateness then, and stays the day's).
      For the clinic, each is the largest over its providers and over the patients moved to another provider
      once here (neither's; by the same rules, so not one who came late).

    alerts_raised: alerts raised today for the provider; for the clinic, the total of all alerts given (the
      caller's count: `floor.days.alerts_raised`, which leaves out an alert over a visit entered in error).
    untapped_in: visits that reached provider_in with it tapped only as the visit ended (see the module's
      docstring): seen, but in none of roomed_to_provider, arrival_to_provider, time_with_provider,
      on_time_starts and the lateness.
    """

    booked: int
    seen: int
    checked_out: int
    no_show: int
    cancelled: int
    left_without_being_seen: int
    waiting: int
    arrival_to_roomed: Durations
    roomed_to_provider: Durations
    arrival_to_provider: Durations
    time_with_provider: Durations
    cycle_time: Durations
    on_time_starts: Share
    teach_back_rate: Share
    no_show_rate: Share
    current_lateness: float
    worst_lateness: float
    alerts_raised: int
    untapped_in: int


class ClinicMeasures(Struct, frozen=True):
    """The clinic's measures, each provider's (every provider of the clinic, by id), and when they were taken."""

    clinic: Measures
    providers: dict[str, Measures]
    at: dt.datetime


def _minutes(td: dt.timedelta) -> float:
    return td.total_seconds() / 60


def rounded(value: float, places: int) -> float:
    """`value` to `places` decimals, a half rounded up, as a spreadsheet's ROUND and the page's percentages round it.
    Python's round() rounds a half to even, and the binary fraction nearest a value, not the value: 2 min 15 s read
    2.2 minutes, 1 no-show of 16 (0.0625) 0.062, 1 min 09 s (1.15) 1.1 where 1 min 21 s (1.35) read 1.4 (a review of
    the measures). The float's noise is taken off first (to 1e-9: the times are to the microsecond, so no span, median
    or share of fewer than 500,000 visits lies that near a half without being one)."""
    exact = Decimal(value).quantize(_NOISE)
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


_NOISE = Decimal("1e-9")


def durations(minutes: Iterable[float]) -> Durations:
    """Count, median and nearest-rank p90 of some durations in minutes."""
    values = sorted(map(float, minutes))
    if not values:
        return Durations(0, None, None)
    p90 = values[math.ceil(0.9 * len(values)) - 1]
    return Durations(len(values), rounded(median(values), 1), rounded(p90, 1))


def _share(count: int, hits: int) -> Share:
    return Share(count, hits, rounded(hits / count, 3) if count else None)


def _spans(visits: list[Visit], first: Stage, then: Stage, *, from_move: bool = False) -> Durations:
    """Minutes from `first` to `then`. `from_move`: a provider's waits; a patient moved to them on the floor is
    counted from the move (the wait before it was the provider they left's), and not at all if moved after. A
    walk-in moved is too, though the fold keeps no `moved_from` for them (booked with nobody: not late by anyone,
    not a link of anyone's cascade): the provider who took them in was charged the wait for the one they left."""
    spans = []
    for v in visits:
        if first not in v.times or then not in v.times:
            continue
        begun = v.times[first]
        if from_move and (v.moved_from is not None or v.walk_in) and v.moved_at is not None:
            if v.moved_at > v.times[then]:
                continue
            begun = max(begun, v.moved_at)
        spans.append(_minutes(v.times[then] - begun))
    return durations(spans)


def _with_provider(visit: Visit) -> float | None:
    end = visit.provider_done
    if end is None or Stage.provider_in not in visit.times:
        return None
    return _minutes(end - visit.times[Stage.provider_in])


def _planned(floor: Floor) -> dict[str, dt.datetime]:
    """Each visit's planned provider-in by the clinic's convention, by visit id."""
    convention = convention_of(floor.clinic)
    return {
        visit.id: planned_provider_in(visit, floor.planned_type(visit), convention) for visit in floor.visits.values()
    }


def _came_late(floor: Floor, visits: list[Visit]) -> frozenset[str]:
    """The visits whose patients came PATIENT_LATE minutes or more after their planned rooming (the projection's
    `own_lateness`, as `provider_delay` leaves them out)."""
    convention = convention_of(floor.clinic)
    return frozenset(
        v.id
        for v in visits
        if Stage.arrived in v.times
        and own_lateness(v, floor.planned_type(v, Stage.arrived), v.times[Stage.arrived], convention) >= PATIENT_LATE
    )


def _provider_lateness(
    visits: list[Visit],
    planned: Mapping[str, dt.datetime],
    now: dt.datetime,
    *,
    moved_in: bool = False,
    came_late: frozenset[str] = frozenset(),
) -> tuple[float, float]:
    """(current, worst) lateness of one provider's visits, in minutes: of the patients booked with them (a walk-in
    has no booked time; a patient moved to them on the floor was late by the provider they were booked with).
    With `moved_in`, patients moved to another provider once here count too (the clinic's: they are late for it).
    `came_late`: patients who came PATIENT_LATE or more late, left out (a patient who came late does not make the
    provider late, as in the projection's delay: the table said 42 minutes beside a tile of on time; a hostile
    review), of the clinic's too."""

    def lateness(visit: Visit) -> float:
        return max(0.0, _minutes(visit.times[Stage.provider_in] - planned[visit.id]))

    scheduled = [v for v in visits if not v.walk_in and (moved_in or v.moved_from is None) and v.id not in came_late]
    started = [v for v in scheduled if Stage.provider_in in v.times and not untapped_in(v)]
    # Patients here and not yet seen: one who has not come (or never came, on a day gone by) leaves the provider
    # idle, not late (the manager's table said "31 min late" beside a projection, and a tile, of on time).
    waiting = [
        v
        for v in scheduled
        if planned[v.id] <= now
        and Stage.provider_in not in v.times
        and v.stage is not Stage.scheduled
        and v.stage not in ENDS
    ]
    if waiting:
        current = _minutes(now - min(planned[v.id] for v in waiting))
    else:
        last = max(started, key=lambda v: v.times[Stage.provider_in], default=None)
        recent = last is not None and now - last.times[Stage.provider_in] <= LATENESS_MEMORY
        current = lateness(last) if recent else 0.0
    # A patient who waited past their planned provider-in and left unseen: the provider was at least that late for
    # them (the day's worst read 0 at the close where the patient had waited an hour and left, after it had read 60
    # while they waited; a review).
    left = [
        _minutes(v.times[Stage.left_without_being_seen] - planned[v.id])
        for v in scheduled
        if v.stage is Stage.left_without_being_seen
    ]
    worst = max([current, *map(lateness, started), *left])
    return rounded(current, 1), rounded(worst, 1)


def _measures(
    visits: list[Visit],
    planned: Mapping[str, dt.datetime],
    now: dt.datetime,
    lateness: tuple[float, float],
    alerts: int,
    *,
    moved_in: bool,
    booked: list[Visit] | None = None,
    came_late: frozenset[str] = frozenset(),
) -> Measures:
    """A provider's measures, or the clinic's (`moved_in`: patients moved to another provider once here count as
    booked). A provider's on-time starts and no-show rate are of the patients booked with them: a patient moved
    to them on the floor counts in the clinic's, as a walk-in in theirs (their lateness was the provider they
    were booked with's doing). `came_late`: patients who came late, in no one's on-time starts (as in no one's
    lateness)."""

    def count(stage: Stage) -> int:
        return sum(v.stage is stage for v in visits)

    scheduled = [v for v in visits if not v.walk_in and (moved_in or v.moved_from is None)]
    # When the provider walked in is known only where it was tapped as they did.
    tapped_in = [v for v in visits if not untapped_in(v)]
    # A patient who came late, seen late, is not a late start of the provider's (kim read 0 minutes late at worst
    # beside 0% on time, for a patient seen 3 minutes after coming 40 minutes late; a review).
    started = [v for v in scheduled if Stage.provider_in in v.times and not untapped_in(v) and v.id not in came_late]
    checked_out = [v for v in visits if v.stage is Stage.checked_out and Stage.provider_in in v.times]
    # Who was due to come: of a provider's, the patients `booked` with them, a patient who came and was moved to
    # another provider among them (a hostile review: they were dropped, and one no-show of two read 100%).
    booked_here = scheduled if booked is None else [v for v in booked if not v.walk_in]
    # Who came or did not, of them: a patient still only booked has not shown, and may yet (today) or was never
    # told of (a day gone by, the export's `unknown`; learning leaves them out too). Counted as shown, a day whose
    # desk never tapped its no-shows read 0% (a review).
    due = [
        v
        for v in booked_here
        if (v.start <= now or v.stage in ENDS) and v.stage not in (Stage.cancelled, Stage.scheduled)
    ]
    return Measures(
        booked=len(visits),
        seen=sum(Stage.provider_in in v.times for v in visits),
        checked_out=count(Stage.checked_out),
        no_show=count(Stage.no_show),
        cancelled=count(Stage.cancelled),
        left_without_being_seen=count(Stage.left_without_being_seen),
        waiting=count(Stage.arrived),
        arrival_to_roomed=_spans(visits, Stage.arrived, Stage.roomed, from_move=not moved_in),
        roomed_to_provider=_spans(tapped_in, Stage.roomed, Stage.provider_in, from_move=not moved_in),
        arrival_to_provider=_spans(tapped_in, Stage.arrived, Stage.provider_in, from_move=not moved_in),
        time_with_provider=durations(m for m in map(_with_provider, tapped_in) if m is not None),
        cycle_time=_spans(visits, Stage.arrived, Stage.checked_out),
        on_time_starts=_share(
            len(started), sum(v.times[Stage.provider_in] - planned[v.id] <= ON_TIME_GRACE for v in started)
        ),
        teach_back_rate=_share(len(checked_out), sum(not v.without_teach_back for v in checked_out)),
        no_show_rate=_share(len(due), sum(v.stage is Stage.no_show for v in due)),
        current_lateness=lateness[0],
        worst_lateness=lateness[1],
        alerts_raised=alerts,
        untapped_in=len(visits) - len(tapped_in),
    )


def measure(floor: Floor, now: dt.datetime, alerts_raised: Mapping[str, int] | None = None) -> ClinicMeasures:
    """The day's measures at `now`. `alerts_raised` maps provider id to the alerts raised for them today."""
    alerts = alerts_raised or {}
    planned = _planned(floor)
    # A booking entered in error never was a visit: it counts as nothing, not as a cancellation.
    real = [v for v in floor.visits.values() if not v.entered_in_error]
    by_provider: dict[str, list[Visit]] = {p.id: [] for p in floor.clinic.providers}
    for visit in real:
        by_provider.setdefault(visit.provider, []).append(visit)
    booked_with: dict[str, list[Visit]] = {pid: [] for pid in by_provider}
    for visit in real:
        booked_with.setdefault(visit.booked_with, []).append(visit)
    came_late = _came_late(floor, real)
    providers = {
        pid: _measures(
            visits,
            planned,
            now,
            _provider_lateness(visits, planned, now, came_late=came_late),
            alerts.get(pid, 0),
            moved_in=False,
            booked=booked_with.get(pid, []),
            came_late=came_late,
        )
        for pid, visits in by_provider.items()
    }
    # The clinic's: the worst provider's, or a patient moved to another provider once here (neither's). A patient
    # who came late is not the clinic's lateness either (it read 33 minutes late while every provider read on
    # time; a review).
    moved = _provider_lateness(
        [v for v in real if v.moved_from is not None], planned, now, moved_in=True, came_late=came_late
    )
    lateness = (
        max([moved[0], *(m.current_lateness for m in providers.values())]),
        max([moved[1], *(m.worst_lateness for m in providers.values())]),
    )
    clinic = _measures(real, planned, now, lateness, sum(alerts.values()), moved_in=True, came_late=came_late)
    return ClinicMeasures(clinic, providers, now)
