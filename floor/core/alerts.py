"""Which alerts the floor should show now: cascades seen coming, and patients waiting too long.

`review(floor, now)` compares what should be active with what is, and returns the changes (raise,
update, clear). The runtime stores them as events like any tap, so with several servers on one log the
first to store a raise wins and the others see it: one alert per episode, the same on every screen.

"Late" follows the clinic's convention (`[session] appointment_time`, see `planned_provider_in`): a cascade
counts visits late against the clinic's own planned provider-in. Dwell alerts do not look at the booked
time at all: they count from when the patient entered the stage, so a patient who came early (as a
"provider" clinic asks) is never "late" for it, and waits to be roomed from the moment they arrived. At a front
desk that taps checkouts in batches, "waiting for checkout" waits for a batch to come without the patient
(floor/core/checkouts.py).
"""

from __future__ import annotations

import datetime as dt

from floor.core.checkouts import Desk
from floor.core.events import AlertChange, AlertCleared, AlertDetail, AlertRaised, AlertUpdated
from floor.core.floor import Alert, Floor, Visit
from floor.core.journey import ENDS, Stage
from floor.core.projection import (
    LIKELY_NO_SHOW,
    UNTAPPED_IN_PLAUSIBLE,
    UNTAPPED_IN_SECONDS,
    ProjectedVisit,
    ProviderProjection,
    by_provider,
    convention_of,
    minutes,
    planned_provider_in,
    presumed_with,
    project,
    provider_spans,
    rooming,
    untapped_in,
    walks_in_untapped,
)

#: Which clinic threshold limits the time a patient spends in each stage.
DWELL_LIMITS = {
    Stage.arrived: "waiting_to_be_roomed",
    Stage.roomed: "waiting_for_prep",
    Stage.prep_done: "waiting_for_provider",
    Stage.teach_back_done: "waiting_for_checkout",
}

#: Hysteresis: a cascade raised at L minutes clears only once fewer than K visits are projected at least
#: this share of L late, so a one-minute wobble around L does not flap.
CLEAR_SHARE = 0.5
#: How far ahead a projected late visit counts: beyond it the projection is more guess than forecast.
#: (30 minutes balances recall and precision in loadtests/alert_quality.py.)
HORIZON = dt.timedelta(minutes=30)
#: Minutes beyond L a visit still ahead must be projected late to count towards raising (the projection
#: is a forecast; visits already late count as they are). Lower margins catch more cascades and raise more
#: false alerts on near misses; 2 balanced them in loadtests/alert_quality.py once the projection counted
#: rooms, assistants and patients who have not come and forecast overruns by their median (it was 8, then 4).
#: 1.5 since the day's pace is weighed as the clinic's past days say (floor/core/learning.py `_pace_weight`):
#: the projection is steadier, and over 100 days a world 1.5 keeps every world's recall where 2 had it before
#: (`punctuality` 0.86, `hard` 0.86) with the precision gained (`tap_lag` 0.74 to 0.77, `hard` 0.85).
RAISE_MARGIN = 1.5
#: How many patients not yet come may count in one run of late visits (the first of them). A patient not yet come
#: may not come, and then the provider has that time back: the run behind them is the guess of a guess. Counting
#: every one raised false alerts on days with no-shows (loadtests/unseen_days.py: most named such a patient;
#: `peds_flu` precision 0.80, with this 0.86); one still lets a run of two patients here and one on the way
#: raise the cascade, so the alert waits at most for the second patient to come (alert_quality.py: the same
#: recall in every world).
NOT_COME_LINKS = 1
#: After a cascade clears, how long before the same provider can have a new one.
REARM = dt.timedelta(minutes=10)
#: An active cascade is updated when its lateness or its projected recovery moves this many minutes, its
#: recovery comes or goes, or its affected visits change.
UPDATE_MINUTES = 5.0
#: Clinic time between two cascade reviews after taps (floor/runtime/writer.py, floor/replay.py). A cascade is a
#: forecast over the next half hour, and projecting every provider is most of a review's cost (about 0.8 ms on a
#: clinic day: loadtests/review_cost.py); a clinic tapped every few seconds had it projected after every tap,
#: most of a busy server's CPU (py-spy on `loadtests/fleet.py --booked`). The patients' own waits (dwell alerts,
#: a few microseconds; up to about 0.2 ms on a 300-visit day while a desk that taps checkouts in batches has a
#: patient held back, floor/core/checkouts.py) are reviewed after every tap still, and every tick (15 s of clinic
#: time) reviews both.
CASCADE_REVIEW_EVERY = dt.timedelta(seconds=10)


def cascades_due(last: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a review after a tap looks at the cascades, they having been reviewed last at `last` (None:
    never): once CASCADE_REVIEW_EVERY has passed, or if the clock went back."""
    return last is None or not last <= now < last + CASCADE_REVIEW_EVERY


def review(floor: Floor, now: dt.datetime, *, cascades: bool = True) -> list[AlertChange]:
    """The alert changes due now: dwell alerts, and cascades unless `cascades` is False (projecting every
    provider is most of the cost; the runtime spaces those reviews: floor/runtime/writer.py).

    A clock behind the floor's last event (stepped back, or another server's running slow) reviews at that event's
    time, as the floor stamps taps: an earlier `now` would clear a patient's dwell alert that no later review
    raises again (its episode is taken)."""
    if floor.last_at is not None and now < floor.last_at:
        now = floor.last_at
    active = [a for a in floor.alerts.values() if a.active]
    return [*_dwell(floor, now, active), *(_cascades(floor, now, active) if cascades else [])]


def _dwell(floor: Floor, now: dt.datetime, active: list[Alert]) -> list[AlertChange]:
    thresholds = floor.clinic.thresholds
    raised = floor.episodes()
    current = {a.episode or a.id: a.id for a in active if a.kind == "dwell"}
    due: set[str] = set()
    changes: list[AlertChange] = []
    desk: Desk | None = None
    #: Each provider's visits, and the one they are presumed to be with, found only when a wait for them is due.
    visits: dict[str, list[Visit]] | None = None
    presumed: dict[str, str | None] = {}
    for v in floor.visits.values():
        limit_name = DWELL_LIMITS.get(v.stage)
        entered = v.times.get(v.stage)
        if limit_name is None or entered is None:
            continue
        limit = getattr(thresholds, limit_name)
        waited = minutes(now - entered)
        if waited >= limit:
            # One episode per stay in the stage: the visit, the stage and when it entered it. An undo puts the
            # visit back in the stage with the time it first entered it: the same wait, and the same alert (a
            # step tapped by mistake and undone cleared the patient's alert, and the undo raised a new one for
            # the same wait, its acknowledgement gone; a review). A move is the same stay too, and its alert
            # stays acknowledged. The episode, not the alert's id, is what servers sharing a log agree on (ids
            # are drawn at random). Alerts raised before counted the undos into the episode (`stay-N`).
            stay = f"dwell-{v.id}-{v.stage.value}-{int(entered.timestamp())}"
            episode = stay
            # The holds below keep back a wait not yet shown: one raised for this stay stays up.
            if v.stage in _HELD and not _shown(stay, episode, raised):
                if v.stage is Stage.teach_back_done:
                    # A desk that taps checkouts in batches: the patient has most likely left
                    # (floor/core/checkouts.py).
                    desk = desk or Desk(floor.learned.checkouts, floor.visits.values())
                    if desk.holds(entered, limit, now):
                        continue
                elif waited < limit + UNTAPPED_IN_PLAUSIBLE * floor.learned.expected(
                    v.provider, floor.clinic.visit_type_of(v.visit_type), Stage.provider_in
                ):
                    # A patient "waiting" for a provider who walks in untapped, presumed with them: being seen,
                    # not waiting, until the presumption lapses (UNTAPPED_IN_PLAUSIBLE times the visit's minutes);
                    # then the wait is raised. At most that long after the limit, whatever the provider's other
                    # visits since (each one's end would start the presumption again).
                    if visits is None:
                        visits = by_provider(floor)
                    if v.provider not in presumed:
                        presumed[v.provider] = presumed_with(floor, v.provider, now, visits.get(v.provider, []))
                    if presumed[v.provider] == v.id:
                        continue
            if _shown(stay, episode, raised):
                # Raised for this stay: it stays up, or, cleared by a step since undone, it is raised again as
                # itself (its id, its episode; the floor keeps when it was first raised and who acknowledged it).
                first = _stay_alert(floor, v.id, stay)
                due.add(first.episode or first.id)
                if not first.active:
                    changes.append(
                        AlertRaised(
                            first.id,
                            "dwell",
                            AlertDetail(minutes=round(waited, 1), limit=limit),
                            v.provider,
                            v.id,
                            v.stage,
                            first.episode,
                        )
                    )
                continue
            due.add(episode)
            if episode not in raised:
                changes.append(
                    floor.new_alert(
                        "dwell",
                        AlertDetail(minutes=round(waited, 1), limit=limit),
                        episode=episode,
                        provider=v.provider,
                        visit=v.id,
                        stage=v.stage,
                    )
                )
    return [*changes, *(AlertCleared(current[episode]) for episode in sorted(current.keys() - due))]


#: The stages whose wait may be held back: waiting for checkout at a desk that batches, for a provider presumed in.
_HELD = (Stage.teach_back_done, Stage.prep_done)


def _shown(stay: str, episode: str, raised: set[str]) -> bool:
    """Whether a dwell alert was raised for this stay (`stay`: its episode before any undo), this episode's or one
    before an undo."""
    return episode in raised or stay in raised or any(e.startswith(stay + "-") for e in raised)


def _stay_alert(floor: Floor, visit: str, stay: str) -> Alert:
    """The dwell alert raised for a stay (`_shown` says there is one): the active one, else the last raised."""
    mine = [
        a
        for a in floor.alerts.values()
        if a.kind == "dwell" and a.visit == visit and a.episode is not None
        if a.episode == stay or a.episode.startswith(stay + "-")
    ]
    return max(mine, key=lambda a: (a.active, a.raised_at, a.version))


def _cascades(floor: Floor, now: dt.datetime, active: list[Alert]) -> list[AlertChange]:
    t = floor.clinic.thresholds
    late_by = dt.timedelta(minutes=t.cascade_minutes)
    changes: list[AlertChange] = []
    visits, rooms_at = by_provider(floor), rooming(floor, now)
    for provider in floor.clinic.providers:
        projection = project(floor, provider.id, now, visits=visits[provider.id], rooms_at=rooms_at)
        soon = cascade_soon(projection, now, late_by)
        # Visits that started late are links of a cascade only while a booked patient is still waiting
        # downstream: once the provider has nobody left to see, the cascade is over (it lingered until
        # midnight), and a walk-in, who has no booked time to be late for, does not revive it (a walk-in at the
        # day's end raised one "0 min late" naming visits seen hours before: loadtests/unseen_days.py).
        # An active cascade keeps the links behind a patient taken out of turn (its run is not over); a new one
        # is raised only on a run unbroken by anyone seen on time.
        current = next((a for a in active if a.kind == "cascade" and a.provider == provider.id), None)
        started = (
            _started_late(
                floor, provider.id, late_by, visits[provider.id], now, through_out_of_turn=current is not None
            )
            if any(not (p.walk_in or p.fitted_in) for p in projection.visits)
            else []
        )
        if (
            started
            and current is not None
            and _caught_up_after(floor, started[-1], visits[provider.id], now, projection)
        ):
            # Done with the run's last visit and nobody of theirs due within HORIZON since: caught up (a lunch, the
            # session's end). The visits seen late are a run that is over: they no longer hold the alert up.
            started = []
        # The alert a manager's change of the thresholds cleared, if any: its run is still its own.
        back = _cleared_by_thresholds(floor, provider.id) if current is None else None
        if back is None and started and current is None:
            # A run an alert already named, and that alert cleared, does not raise another (a walk-in seen at lunch, or
            # the afternoon's first patient seen a little late, raised the morning's cascade anew): its visits are no
            # links of a new one. Leaving out only those seen before it cleared (the run taken up again after a clear)
            # raised more near misses: `alert_quality.py --days 40` `tap_lag` precision 0.79, against 0.81 so.
            ran = _cleared_links(floor, provider.id)
            if ran and started[0] in ran:
                started = [v for v in started if v not in ran]
        coming = [p for p in soon if p.lateness >= t.cascade_minutes + RAISE_MARGIN]
        late = started + [p.visit for p in coming]
        lingering = started + [p.visit for p in soon if p.lateness >= t.cascade_minutes * CLEAR_SHARE]
        # In booking order, and patients booked at one time in the order the provider is projected to see them, as
        # the visits started are (`_started_late`): by planned provider-in, a wave's patient of a type with longer
        # rooming and prep, seen first and on time, came after the others and did not end their run
        # (loadtests/fourth_days.py `waves`: precision 0.44 to 0.56).
        in_turn = sorted(projection.visits, key=lambda p: (floor.visits[p.visit].start, p.provider_in))
        links = _links(len(started), in_turn, coming, now, t.cascade_minutes)
        if back is not None:
            if links >= t.cascade_visits - 1e-9:
                # Raised again as itself, at once (the re-arm is for a wobble of the floor's, not a manager's change
                # set back): its id, when it was first raised and who acknowledged it kept, as a patient's wait after
                # an undone step.
                changes.append(AlertRaised(back.id, "cascade", _detail(projection, late), provider.id))
        elif current is None:
            if links >= t.cascade_visits - 1e-9 and not _just_cleared(floor, provider.id, now):
                # One active cascade per provider: that, not the id, is what servers sharing a log agree on.
                changes.append(floor.new_alert("cascade", _detail(projection, late), provider=provider.id))
        elif len(lingering) < t.cascade_visits:
            changes.append(AlertCleared(current.id))
        else:
            detail = _detail(projection, late or lingering)
            old = current.detail
            if (
                detail.affected != old.affected
                or abs((detail.lateness or 0) - (old.lateness or 0)) >= UPDATE_MINUTES
                or _moved(detail.recovers_at, old.recovers_at, now)
            ):
                changes.append(AlertUpdated(current.id, detail))
    # A provider taken out of the clinic file (the server restarted on it) is reviewed no more: their cascade
    # stayed on every wall until midnight.
    providers = {p.id for p in floor.clinic.providers}
    changes += [AlertCleared(a.id) for a in active if a.kind == "cascade" and a.provider not in providers]
    return changes


def cascade_soon(projection: ProviderProjection, now: dt.datetime, late_by: dt.timedelta) -> list[ProjectedVisit]:
    """The provider's visits a cascade looks at now: due within HORIZON, and late by the provider's delay (waiting
    for the provider, or a room their earlier patients hold) or already past L. A cascade is the provider's delay
    passing down the schedule: a visit late only because its own patient is late is not part of it, nor one moved
    here late from another provider (their delay, not this one's)."""
    return [
        p
        for p in projection.visits
        if p.planned_provider_in <= now + HORIZON
        and not p.fitted_in
        and (p.waits_for_provider or p.waits_for_room or p.planned_provider_in + late_by <= now)
    ]


def _links(
    started: int, projected: list[ProjectedVisit], coming: list[ProjectedVisit], now: dt.datetime, late_minutes: float
) -> float:
    """How many consecutive late visits the provider's run has, counting the visits already started late
    (`started`) and then, in booking order (`projected`: patients booked at one time in the order they are
    projected to be seen), those still ahead that are projected late (`coming`).

    A cascade is consecutive late visits: a patient still ahead who is projected to be seen less than L late
    ends the run, and the count starts again after them (counting the late ones on either side of an on-time
    patient raised false alerts in loadtests/alert_quality.py). A patient past their time and not come counts
    by how likely they still are to (some will not), and one likely not to come neither counts nor ends a run.
    At most NOT_COME_LINKS patients not yet come count in a run; the rest neither count nor end it.
    """
    counted = {p.visit for p in coming}
    run = best = float(started)
    not_come = 0
    for p in projected:  # in booking order
        if p.walk_in or p.fitted_in or p.planned_provider_in > now + HORIZON:
            continue
        if p.stage is Stage.scheduled and p.show < LIKELY_NO_SHOW:
            continue
        if p.visit in counted:
            if p.stage is Stage.scheduled:
                if not_come >= NOT_COME_LINKS:
                    continue
                not_come += 1
            run += p.show if p.stage is Stage.scheduled and p.own_lateness > 0 else 1.0
            best = max(best, run)
        elif p.lateness < late_minutes:
            run = 0.0
            not_come = 0
    return best


def _moved(recovers: dt.datetime | None, was: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether the projected recovery changed enough to tell the screens: came, went, or moved UPDATE_MINUTES. On
    time now (the projection's recovery is then now) and on time already when last told is no change: the alert
    was not updated every few minutes for the clock alone."""
    if recovers is None or was is None:
        return (recovers is None) != (was is None)
    if recovers <= now and was <= now:
        return False
    return abs(minutes(recovers - was)) >= UPDATE_MINUTES


def _just_cleared(floor: Floor, provider: str, now: dt.datetime) -> bool:
    """A provider's cascade cleared moments ago is not raised again at once: that would be a flap."""
    return any(
        a.kind == "cascade" and a.provider == provider and a.cleared_at is not None and now - a.cleared_at < REARM
        for a in floor.alerts.values()
    )


def _started_late(
    floor: Floor,
    provider: str,
    late_by: dt.timedelta,
    visits: list[Visit],
    now: dt.datetime,
    *,
    through_out_of_turn: bool = False,
) -> list[str]:
    """The provider's latest seen visits that started L or more late (by the clinic's planned provider-in),
    back to the last one on time: the links of a cascade already in progress.

    With `through_out_of_turn` (an alert already active), a patient seen on time only because they were taken
    out of turn (an earlier-booked patient, there in time, still waiting) does not end the chain: that run is
    not over, and ending it would clear the alert and raise it again moments later. The chain stays in booking
    order: in the order seen, a patient seen late because they came late would count as a link (it raised
    false alerts in loadtests/alert_quality.py). Two patients booked at one time go in the order seen: the
    provider can see only one at the booked time, and the other is the next of the run, whichever was booked
    first (the one booked first, seen on time, ended the run and cleared a cascade the moment the other was
    seen 36 minutes late: tests/core/test_projection_and_alerts.py).
    """
    booked = [v for v in visits if v.provider == provider and not v.walk_in and v.moved_from is None]
    seen = sorted(
        (v for v in booked if Stage.provider_in in v.times),
        key=lambda v: (v.start, v.times[Stage.provider_in]),
        reverse=True,
    )
    convention = convention_of(floor.clinic)
    # By the minutes each was planned with: a visit seen before a manager changed its type's is judged by those.
    planned = {v.id: planned_provider_in(v, floor.planned_type(v), convention) for v in booked}
    # Where the clinic's taps come late (`tap_lag`, learned from its past days), a visit counts as started late
    # only that much past L by its provider-in tap: a tap entered minutes after the provider walked in made a
    # visit really 5 to 9 minutes late a link (loadtests/alert_quality.py, `tap_lag`: 8 of 15 false alerts more
    # than on the same days tapped on time).
    late_by += dt.timedelta(minutes=floor.learned.tap_lag)
    untapped = walks_in_untapped(floor.learned, provider, visits)
    links = []
    for v in seen:
        came_in = _walked_in(floor, v, visits)
        if (
            untapped
            and not through_out_of_turn
            and v.stage is Stage.provider_in
            and came_in - planned[v.id] >= late_by
            and (now - came_in).total_seconds() < UNTAPPED_IN_SECONDS
        ):
            # Late by a tap just made, by a provider who often taps walking in only as the visit ends: its end may be
            # on its way (two taps a few seconds apart), and then it says nothing of when they walked in. Until then
            # the run goes back no further: neither this visit nor the late ones before it raise a cascade (going on
            # past it raised one on the visits before it that cleared when the end came, seconds later:
            # loadtests/fourth_days.py `waves`). On time by its tap it ends the run at once; an active cascade keeps
            # it as a link.
            break
        if came_in - planned[v.id] >= late_by:
            links.append(v.id)
        elif not (through_out_of_turn and _out_of_turn(v, booked, planned)):
            break
    return links[::-1]


def _cleared_by_thresholds(floor: Floor, provider: str) -> Alert | None:
    """The provider's last cascade, if a manager's change of the alert thresholds cleared it (made while it was up, and
    it cleared within REARM of it) and a patient it named is still waiting for the provider: should the run count K
    links again, as when the change is set back, it comes back as itself rather than as a new alert after the re-arm."""
    if not floor.thresholds_changed:
        return None
    mine = [a for a in floor.alerts.values() if a.kind == "cascade" and a.provider == provider]
    last = max(mine, key=lambda a: a.raised_at, default=None)
    if last is None or last.cleared_at is None:
        return None
    cleared = last.cleared_at
    if not any(last.raised_at <= at <= cleared and cleared - at < REARM for at in floor.thresholds_changed):
        return None
    waiting = (floor.visits.get(v) for v in last.detail.affected)
    return last if any(v is not None and v.stage in _WAITING for v in waiting) else None


def _cleared_links(floor: Floor, provider: str) -> set[str]:
    """The visits named by the provider's cascades that have cleared today."""
    return {
        v
        for a in floor.alerts.values()
        if a.kind == "cascade" and a.provider == provider and a.cleared_at is not None
        for v in a.detail.affected
    }


def _caught_up_after(
    floor: Floor, visit: str, visits: list[Visit], now: dt.datetime, projection: ProviderProjection
) -> bool:
    """Whether the provider, done with `visit` by now, had at that moment none of their other patients not yet done
    with due within the cascade's HORIZON (by their planned provider-in; a walk-in once here; one likely not to come
    aside), and has seen nobody since."""
    v = floor.visits.get(visit)
    free = v.provider_done if v is not None else None
    if v is None or free is None or free > now:
        return False
    unlikely = {p.visit for p in projection.visits if p.stage is Stage.scheduled and p.show < LIKELY_NO_SHOW}
    convention = convention_of(floor.clinic)
    for w in visits:
        if w is v or w.id in unlikely:
            continue
        done = w.provider_done
        if done is not None and done <= free:
            continue
        if any(at <= free for stage, at in w.times.items() if stage in ENDS):
            continue
        if Stage.provider_in in w.times:
            return False  # seen since: the provider's day went on
        arrived = w.times.get(Stage.arrived)
        if w.walk_in:
            if arrived is not None and arrived <= free:
                return False
        elif planned_provider_in(w, floor.clinic.visit_type_of(w.visit_type), convention) <= free + HORIZON:
            return False
    return True


def _walked_in(floor: Floor, v: Visit, visits: list[Visit]) -> dt.datetime:
    """When the provider walked in to a visit seen: its provider-in; for one tapped only as the visit ended
    (`untapped_in`), the provider's usual minutes on such a visit before its end, but not before its prep, nor
    before the provider was done with the patient they saw before it (`visits`: the provider's)."""
    came_in = v.times[Stage.provider_in]
    if not untapped_in(v):
        return came_in
    end = v.provider_done or came_in
    usual = floor.learned.expected(v.provider, floor.clinic.visit_type_of(v.visit_type), Stage.provider_in)
    earliest = [end - dt.timedelta(minutes=usual), *([v.times[Stage.prep_done]] if Stage.prep_done in v.times else [])]
    # The provider's visits over by this one's end. One who saw two patients at once among them (stepped out of a
    # visit to see another) may have walked in to this one before the other's end: the bound holds only for one who
    # saw one at a time. Judged on those visits alone, so that nothing tapped later moves it (a visit still going,
    # or walked in to since, made it come and go with a teach-back a few seconds apart, and a cascade with it).
    before = []
    for w in visits:
        done = w.provider_done
        if w.provider == v.provider and Stage.provider_in in w.times and done is not None and done <= end:
            before.append((w, done))
    if not provider_spans(w for w, _ in before):
        earliest += [done for w, done in before if w is not v and done < end]
    return min(came_in, max(earliest))


#: The stages of a patient still waiting for the provider.
_WAITING = (Stage.scheduled, Stage.arrived, Stage.roomed, Stage.prep_done)


def _out_of_turn(v: Visit, booked: list[Visit], planned: dict[str, dt.datetime]) -> bool:
    """Whether the provider saw `v` while an earlier-booked patient, there by their own planned provider-in
    and due by then, was still waiting for them (not yet seen, nor gone)."""
    seen_at = v.times[Stage.provider_in]
    for w in booked:
        arrived = w.times.get(Stage.arrived)
        if w.start >= v.start or arrived is None or arrived > planned[w.id] or planned[w.id] > seen_at:
            continue
        if any(at <= seen_at for stage, at in w.times.items() if stage not in _WAITING):
            continue  # seen (or gone) by then
        return True
    return False


def _detail(projection: ProviderProjection, affected: list[str]) -> AlertDetail:
    cause = projection.cause
    return AlertDetail(
        lateness=projection.lateness,
        affected=affected,
        recovers_at=projection.recovers_at,
        cause_visit=cause.visit if cause else None,
        cause_stage=cause.stage if cause else None,
        cause_minutes=cause.over_minutes if cause else None,
    )
