"""A generated clinic day and the staff who work it, for the demo and for tests.

Pure: `plan_day` draws the day from a seeded random generator; `Staff.due(floor, now)` looks at the floor
and says which taps staff would make now. A pump (floor/demo.py) sends those taps to a running clinic.
"""

from __future__ import annotations

import datetime as dt
import math
import random

from msgspec import Struct

from floor.config import Clinic
from floor.core.commands import BookVisit, Command, MarkRoom, TakeStep, Tap
from floor.core.errors import Refusal
from floor.core.events import Event
from floor.core.floor import Floor, Visit
from floor.core.ids import Ids
from floor.core.journey import ENDS, Stage
from floor.core.rooms import RoomAction, RoomState

FIRST = ("Ava", "Liam", "Noah", "Emma", "Mia", "Lucas", "Sofia", "Mateo", "Amara", "Wei", "Priya", "Omar",
         "Hana", "Diego", "Grace", "Kofi", "Elena", "Yusuf", "Nora", "Ivan", "Leila", "Sam", "Ruth", "Tomas")
LAST = ("Nguyen", "Garcia", "Smith", "Okoye", "Chen", "Patel", "Kowalski", "Haddad", "Johnson", "Silva",
        "Murphy", "Tanaka", "Ali", "Rossi", "Novak", "Brown", "Mensah", "Khan", "Lopez", "Berg")

#: How much slower (>1) or faster (<1) than the visit type's expectation each demo provider works.
PACE = {"kim": 1.0, "okafor": 1.2, "silva": 0.9, "hart": 1.05}


class PlannedVisit(Struct):
    patient_name: str
    provider: str
    visit_type: str
    start: dt.datetime
    walk_in: bool
    arrive_minutes: float  # relative to start (negative: early)
    minutes: dict[Stage, float]  # how long this visit will really spend in each stage
    outcome: Stage  # checked_out, no_show, cancelled or left_without_being_seen
    teach_back: bool


def _lognormal(rng: random.Random, median: float, sigma: float = 0.35) -> float:
    return max(0.5, median * math.exp(rng.gauss(0.0, sigma)))


def _complexity(rng: random.Random) -> float:
    """Now and then a visit turns out complicated and runs two or three times its usual length."""
    return rng.uniform(1.8, 3.0) if rng.random() < 0.06 else 1.0


def plan_day(clinic: Clinic, day: dt.date, seed: int = 1) -> list[PlannedVisit]:
    rng = random.Random(seed)
    opens = clinic.local(day, clinic.session.opens)
    closes = clinic.local(day, clinic.session.closes)
    lunch = (clinic.local(day, dt.time(12, 0)), clinic.local(day, dt.time(13, 0)))
    types = clinic.visit_types
    plan: list[PlannedVisit] = []
    names: set[str] = set()

    def name() -> str:
        while True:
            candidate = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            if candidate not in names:
                names.add(candidate)
                return candidate

    def visit(provider: str, vtype, start: dt.datetime, walk_in: bool) -> PlannedVisit:
        pace = PACE.get(provider, 1.0)
        sm = vtype.stage_minutes
        minutes = {
            # Waiting to be roomed: patients are roomed a few minutes before their time (see Staff), or
            # this long after arriving if they come late or walk in.
            Stage.arrived: _lognormal(rng, 3, 0.4),
            Stage.roomed: _lognormal(rng, max(sm.roomed, 1), 0.25),
            Stage.prep_done: _lognormal(rng, max(min(sm.prep_done, 3), 1), 0.3),
            Stage.provider_in: _lognormal(rng, sm.provider_in * pace, 0.25) * _complexity(rng),
            Stage.teach_back_done: _lognormal(rng, max(sm.teach_back_done, 1)),
        }
        roll = rng.random()
        outcome = (Stage.no_show if roll < 0.07 and not walk_in else Stage.cancelled if roll < 0.10 and not walk_in
                   else Stage.left_without_being_seen if roll < 0.12 else Stage.checked_out)
        arrive = 0.0 if walk_in else rng.uniform(12, 30) if rng.random() < 0.05 else rng.gauss(-10, 5)
        return PlannedVisit(name(), provider, vtype.code, start, walk_in, arrive,
                            minutes, outcome, rng.random() < 0.88)

    for provider in clinic.providers:
        t = opens
        while True:
            vtype = rng.choices(types, weights=[3 if v.code == "follow" else 1 for v in types])[0]
            if lunch[0] <= t < lunch[1]:
                t = lunch[1]
            if t + dt.timedelta(minutes=vtype.slot_minutes) > closes:
                break
            plan.append(visit(provider.id, vtype, t, walk_in=False))
            # A small buffer now and then absorbs delay, as well-run schedules do.
            t += dt.timedelta(minutes=vtype.slot_minutes + (10 if rng.random() < 0.2 else 0))
    for _ in range(4):
        at = opens + dt.timedelta(minutes=rng.uniform(30, (closes - opens).total_seconds() / 60 - 90))
        plan.append(visit(rng.choice(clinic.providers).id, rng.choice(types), at, walk_in=True))
    plan.sort(key=lambda p: p.start)
    return plan


class Staff:
    """What the front desk, medical assistants and providers of the simulated day tap, given the floor."""

    def __init__(self, clinic: Clinic, plan: list[PlannedVisit], seed: int = 1) -> None:
        self.clinic = clinic
        self.plan = plan
        self.visit_ids: dict[int, str] = {}  # plan index -> visit id, once booked
        self._turnover = {r.id: 3 + random.Random(f"{seed}{r.id}").random() * 4 for r in clinic.rooms}
        zones = sorted({r.zone for r in clinic.rooms})
        # Each provider works in a home zone, spread over the zones.
        self._zone = {p.id: zones[i % len(zones)] for i, p in enumerate(clinic.providers)}

    def booked(self, index: int, visit_id: str) -> None:
        self.visit_ids[index] = visit_id

    def bookings_due(self, now: dt.datetime) -> list[tuple[int, BookVisit]]:
        """Scheduled visits are on the books from the start; walk-ins when they walk in."""
        return [(i, BookVisit(p.patient_name, p.provider, p.visit_type, p.start, p.walk_in))
                for i, p in enumerate(self.plan)
                if i not in self.visit_ids and (not p.walk_in or now >= p.start)]

    def due(self, floor: Floor, now: dt.datetime) -> list[Command]:
        taps: list[Command] = []
        busy = {v.provider for v in floor.visits.values() if v.stage is Stage.provider_in}
        free_rooms = [r for r in floor.rooms.values() if r.state is RoomState.ready]
        for i, plan in enumerate(self.plan):
            visit = floor.visits.get(self.visit_ids.get(i, ""))
            if visit is None:
                continue
            tap = self._next(plan, visit, now, busy, free_rooms)
            if tap is not None:
                taps.append(tap)
                if tap.step is Stage.provider_in:
                    busy.add(visit.provider)
        for room in floor.rooms.values():
            if room.state is RoomState.turnover and room.since is not None and \
                    now - room.since >= dt.timedelta(minutes=self._turnover[room.id]):
                taps.append(MarkRoom(room.id, RoomAction.ready))
        return taps

    def _next(self, plan: PlannedVisit, visit: Visit, now: dt.datetime, busy: set[str],
              free_rooms: list) -> TakeStep | None:
        stage = visit.stage
        since = visit.times.get(stage, now)
        waited = (now - since).total_seconds() / 60
        if stage is Stage.scheduled:
            late = (now - plan.start).total_seconds() / 60
            if plan.outcome is Stage.cancelled and late >= -90:
                return TakeStep(visit.id, Stage.cancelled)
            if plan.outcome is Stage.no_show:
                return TakeStep(visit.id, Stage.no_show) if late >= 20 else None
            return TakeStep(visit.id, Stage.arrived) if late >= plan.arrive_minutes else None
        if stage is Stage.arrived:
            if plan.outcome is Stage.left_without_being_seen and waited >= plan.minutes[stage] + 25:
                return TakeStep(visit.id, Stage.left_without_being_seen)
            # Roomed at about the appointment time, or after a short wait if late or walked in.
            due = plan.start - dt.timedelta(minutes=3) if not plan.walk_in else since
            if waited >= plan.minutes[stage] and now >= due and free_rooms:
                zone = self._zone[visit.provider]
                room = next((r for r in free_rooms if r.zone == zone), free_rooms[0])
                free_rooms.remove(room)
                return TakeStep(visit.id, Stage.roomed, room.id)
            return None
        if stage is Stage.roomed:
            return TakeStep(visit.id, Stage.prep_done) if waited >= plan.minutes[stage] else None
        if stage is Stage.prep_done:
            if visit.provider in busy or waited < plan.minutes[stage]:
                return None
            return TakeStep(visit.id, Stage.provider_in)
        if stage is Stage.provider_in and waited >= plan.minutes[stage]:
            return TakeStep(visit.id, Stage.teach_back_done if plan.teach_back else Stage.checked_out)
        if stage is Stage.teach_back_done and waited >= plan.minutes[stage]:
            return TakeStep(visit.id, Stage.checked_out)
        return None


def simulate_day(clinic: Clinic, day: dt.date, seed: int = 1,
                 step: dt.timedelta = dt.timedelta(minutes=1)) -> tuple[list[Event], Floor]:
    """Play a generated day through the pure core with no alerts: the events staff would tap, and the floor
    at the end (the ground truth of when every visit really started). Its ids are drawn from the seed, so the
    same seed plays the same day."""
    staff = Staff(clinic, plan_day(clinic, day, seed), seed)
    floor = Floor(clinic, day, ids=Ids.seeded(f"simulate-{day}-{seed}"))
    events: list[Event] = []

    def tap(command: Command, now: dt.datetime) -> Event | None:
        try:
            event = floor.decide(command, Tap("staff", "sim", now))
        except Refusal:
            return None
        floor.apply(event)
        events.append(event)
        return event

    now = clinic.local(day, clinic.session.opens) - dt.timedelta(minutes=30)
    end = clinic.local(day, clinic.session.closes) + dt.timedelta(hours=4)
    while now < end:
        for index, booking in staff.bookings_due(now):
            event = tap(booking, now)
            if event is not None:
                staff.booked(index, event.change.visit)
        for command in staff.due(floor, now):
            tap(command, now)
        if len(staff.visit_ids) == len(staff.plan) and all(
                floor.visits[v].stage in ENDS for v in staff.visit_ids.values()):
            break
        now += step
    return events, floor
