"""An independent model of a clinic day and its measures, written from the README and the measures' docstrings
(not from floor.core.measures): the differential tests drive Floor's core with commands and this model with the
same accepted commands, then compare the measures.

Only Floor's decisions (accepted or refused) are taken from Floor; every time, stage and figure here is the
model's own.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from fractions import Fraction

from floor.config import AppointmentTime, Clinic

ARRIVED, ROOMED, PREP, PIN, TB, OUT = "arrived", "roomed", "prep_done", "provider_in", "teach_back_done", "checked_out"
NO_SHOW, CANCELLED, LWBS, SCHEDULED = "no_show", "cancelled", "left_without_being_seen", "scheduled"
ENDS = {OUT, NO_SHOW, CANCELLED, LWBS}
GRACE = dt.timedelta(minutes=5)
MEMORY = dt.timedelta(minutes=60)
PATIENT_LATE = 5.0


@dataclass
class MVisit:
    id: str
    provider: str
    booked_with: str
    walk_in: bool
    start: dt.datetime
    vtype: str
    stage: str
    times: dict[str, dt.datetime] = field(default_factory=dict)
    steps: list[tuple[str, str, dt.datetime]] = field(default_factory=list)  # (step, previous, when)
    without_tb: bool = False
    error: bool = False
    moved_at: dt.datetime | None = None  # last move to a provider other than the one booked with

    @property
    def moved_in(self) -> bool:
        return self.provider != self.booked_with and not self.walk_in

    def done(self) -> dt.datetime | None:
        return self.times.get(TB) or self.times.get(OUT)

    def untapped(self) -> bool:
        pin, end = self.times.get(PIN), self.done()
        return pin is not None and end is not None and (end - pin).total_seconds() < 60


class Model:
    def __init__(
        self, clinic: Clinic, *, walk_in_waits_from_move: bool = True, clinic_counts_came_late: bool = False
    ) -> None:
        self.clinic = clinic
        self.visits: dict[str, MVisit] = {}
        #: The README: "the new provider's wait for them starts at the move" (a walk-in moved too).
        self.walk_in_waits_from_move = walk_in_waits_from_move
        #: The Measures docstring: the clinic's lateness is "the largest over its providers".
        self.clinic_counts_came_late = clinic_counts_came_late

    # -- what happened ----------------------------------------------------------------------------
    def book(self, vid: str, provider: str, vtype: str, start: dt.datetime, walk_in: bool, when: dt.datetime) -> None:
        v = MVisit(
            vid, provider, provider, walk_in, when if walk_in else start, vtype, ARRIVED if walk_in else SCHEDULED
        )
        v.times[v.stage] = when
        self.visits[vid] = v

    def step(self, vid: str, step: str, when: dt.datetime, error: bool = False) -> None:
        v = self.visits[vid]
        v.steps.append((step, v.stage, when))
        v.without_tb = step == OUT and v.stage != TB
        v.stage = step
        v.times[step] = when
        v.error = error

    def undo(self, vid: str) -> None:
        v = self.visits[vid]
        step, previous, _ = v.steps.pop()
        del v.times[step]
        v.stage = previous
        v.without_tb = False
        v.error = False
        if previous == SCHEDULED and v.provider != v.booked_with:
            v.provider, v.moved_at = v.booked_with, None

    def remove_walk_in(self, vid: str, when: dt.datetime) -> None:
        v = self.visits[vid]
        v.stage, v.error = CANCELLED, True

    def reschedule(self, vid: str, start: dt.datetime, provider: str, vtype: str) -> None:
        """The schedule moved a visit not yet come: its time, provider and type are the new ones."""
        v = self.visits[vid]
        v.start, v.vtype = start, vtype
        v.provider = v.booked_with = provider
        v.moved_at = None

    def move(self, vid: str, provider: str, when: dt.datetime) -> None:
        v = self.visits[vid]
        if v.stage == SCHEDULED:  # booked on the floor, not come: booked with the other provider
            v.provider = v.booked_with = provider
            return
        v.provider = provider
        v.moved_at = when

    # -- the plan ------------------------------------------------------------------------------------
    def vtype(self, code: str):
        return self.clinic.visit_type_of(code)

    def planned_in(self, v: MVisit) -> dt.datetime:
        sm = self.vtype(v.vtype).stage_minutes
        start = v.start.astimezone(dt.UTC)  # minutes of real time, whatever the clocks do
        if self.clinic.session.appointment_time is AppointmentTime.provider and not v.walk_in:
            return start
        return start + dt.timedelta(minutes=sm.roomed + sm.prep_done)

    def planned_roomed(self, v: MVisit) -> dt.datetime:
        sm = self.vtype(v.vtype).stage_minutes
        return self.planned_in(v) - dt.timedelta(minutes=sm.roomed + sm.prep_done)

    def came_late(self, v: MVisit) -> bool:
        return (
            not v.walk_in
            and ARRIVED in v.times
            and (v.times[ARRIVED] - self.planned_roomed(v)).total_seconds() / 60 >= PATIENT_LATE
        )

    # -- the measures ---------------------------------------------------------------------------------
    def measures(self, now: dt.datetime) -> dict:
        real = [v for v in self.visits.values() if not v.error]
        out = {"providers": {}}
        pids = [p.id for p in self.clinic.providers] + sorted(
            {v.provider for v in real} - {p.id for p in self.clinic.providers}
        )
        for pid in pids:
            mine = [v for v in real if v.provider == pid]
            booked = [v for v in real if v.booked_with == pid]
            out["providers"][pid] = self._measures(mine, booked, now, provider=True)
        out["clinic"] = self._measures(real, real, now, provider=False)
        # The clinic's lateness: the largest over its providers; a patient moved once here counts (neither's), but
        # not one who came late (late by their own doing, the clinic's as little as the provider's).
        provs = out["providers"].values()
        moved = [v for v in real if v.moved_in and not self.came_late(v)]
        if self.clinic_counts_came_late:
            sched = [v for v in real if not v.walk_in]
            mc, mw = self._lateness(sched, now)
        else:
            mc, mw = self._lateness(moved, now) if moved else (0.0, 0.0)
        out["clinic"]["current_lateness"] = max([mc, *(m["current_lateness"] for m in provs)])
        out["clinic"]["worst_lateness"] = max([mw, *(m["worst_lateness"] for m in provs)])
        return out

    def _from(self, v: MVisit, first: str, provider: bool) -> dt.datetime:
        begun = v.times[first]
        if provider and v.moved_at is not None and (v.moved_in or (v.walk_in and self.walk_in_waits_from_move)):
            begun = max(begun, v.moved_at)
        return begun

    def _span(self, vs, first, then, provider) -> tuple:
        spans = []
        for v in vs:
            if first in v.times and then in v.times:
                if (
                    provider
                    and v.moved_at is not None
                    and (v.moved_in or (v.walk_in and self.walk_in_waits_from_move))
                    and v.moved_at > v.times[then]
                ):
                    continue
                spans.append(mins(v.times[then] - self._from(v, first, provider)))
        return dur(spans)

    def _measures(self, mine, booked, now, provider: bool) -> dict:
        tapped = [v for v in mine if not v.untapped()]
        sched = [v for v in mine if not v.walk_in and not (provider and v.moved_in)]
        # On-time starts leave out a patient who came late: their late start was their own (README).
        started = [v for v in sched if PIN in v.times and not v.untapped() and not self.came_late(v)]
        out_seen = [v for v in mine if v.stage == OUT and PIN in v.times]
        # A patient still only booked (not come, not marked a no-show) is neither a show nor a no-show (README).
        due = [
            v
            for v in booked
            if not v.walk_in and (v.start <= now or v.stage in ENDS) and v.stage not in (CANCELLED, SCHEDULED)
        ]
        m = {
            "booked": len(mine),
            "seen": sum(PIN in v.times for v in mine),
            "checked_out": sum(v.stage == OUT for v in mine),
            "no_show": sum(v.stage == NO_SHOW for v in mine),
            "cancelled": sum(v.stage == CANCELLED for v in mine),
            "left_without_being_seen": sum(v.stage == LWBS for v in mine),
            "waiting": sum(v.stage == ARRIVED for v in mine),
            "arrival_to_roomed": self._span(mine, ARRIVED, ROOMED, provider),
            "roomed_to_provider": self._span(tapped, ROOMED, PIN, provider),
            "arrival_to_provider": self._span(tapped, ARRIVED, PIN, provider),
            "time_with_provider": dur([mins(v.done() - v.times[PIN]) for v in tapped if PIN in v.times and v.done()]),
            "cycle_time": dur([mins(v.times[OUT] - v.times[ARRIVED]) for v in mine if OUT in v.times]),
            "on_time_starts": share(len(started), sum(v.times[PIN] - self.planned_in(v) <= GRACE for v in started)),
            "teach_back_rate": share(len(out_seen), sum(not v.without_tb for v in out_seen)),
            "no_show_rate": share(len(due), sum(v.stage == NO_SHOW for v in due)),
            "untapped_in": len(mine) - len(tapped),
        }
        if provider:
            m["current_lateness"], m["worst_lateness"] = self._lateness(
                [v for v in sched if not self.came_late(v)], now
            )
        return m

    def _lateness(self, sched, now) -> tuple[float, float]:
        def late(v):
            return max(Fraction(0), mins(v.times[PIN] - self.planned_in(v)))

        started = [v for v in sched if PIN in v.times and not v.untapped()]
        waiting = [
            v
            for v in sched
            if self.planned_in(v) <= now and PIN not in v.times and v.stage not in ENDS and v.stage != SCHEDULED
        ]
        if waiting:
            cur = mins(now - min(self.planned_in(v) for v in waiting))
        else:
            last = max(started, key=lambda v: v.times[PIN], default=None)
            cur = late(last) if last is not None and now - last.times[PIN] <= MEMORY else Fraction(0)
        # A patient who left unseen waited until they left: that long past their planned provider-in (README).
        left = [mins(v.times[LWBS] - self.planned_in(v)) for v in sched if v.stage == LWBS]
        worst = max([cur, *map(late, started), *left])
        return half_up(cur, 1), half_up(worst, 1)


def mins(td: dt.timedelta) -> Fraction:
    """A span in minutes, exactly (to the microsecond the times hold)."""
    return Fraction(td // dt.timedelta(microseconds=1), 60_000_000)


def half_up(value, places: int) -> float:
    """Rounded as a spreadsheet rounds (README: durations to 0.1, rates to 0.001), a half up: exactly, in fractions."""
    exact = Fraction(value)
    scale = 10**places
    return float(Fraction(math.floor(exact * scale + Fraction(1, 2)), scale))


def dur(values) -> tuple:
    values = sorted(values)
    if not values:
        return (0, None, None)
    n = len(values)
    med = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    return (n, half_up(med, 1), half_up(values[math.ceil(0.9 * n) - 1], 1))


def share(count: int, hits: int) -> tuple:
    return (count, hits, half_up(Fraction(hits, count), 3) if count else None)


def floors_measures(m) -> dict:
    """Floor's Measures as the model's plain dict."""
    out = {}
    for name in m.__struct_fields__:
        value = getattr(m, name)
        if hasattr(value, "median"):
            value = (value.count, value.median, value.p90)
        elif hasattr(value, "rate"):
            value = (value.count, value.hits, value.rate)
        out[name] = value
    out.pop("alerts_raised")
    return out
