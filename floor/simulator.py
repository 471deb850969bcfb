"""A generated clinic day and the staff who work it, for the demo and for tests.

Pure: `plan_day` draws the day from a seeded random generator; `Staff.due(floor, now)` looks at the floor
and says which taps staff would make now. A pump (floor/demo.py) sends those taps to a running clinic.

A `World` (see `WORLDS`) changes how the day goes: the clinic's appointment convention, providers who start
late or are called away, patients early and late by other amounts, heavy-tailed visits, taps entered
minutes after the step, one medical assistant, few rooms, more no-shows. The default world is the day the
simulator always made; a world's own draws come from a second generator, so the same seed books the same
schedule in every world and the default world's day is unchanged.
"""

from __future__ import annotations

import datetime as dt
import math
import random

import msgspec
from msgspec import Struct

from floor.config import AppointmentTime, Clinic
from floor.core.commands import BookVisit, Command, MarkRoom, TakeStep, Tap
from floor.core.errors import Refusal
from floor.core.events import Event
from floor.core.floor import Floor, Visit
from floor.core.ids import Ids
from floor.core.journey import ENDS, Stage
from floor.core.rooms import RoomAction, RoomState

FIRST = (
    "Ava",
    "Liam",
    "Noah",
    "Emma",
    "Mia",
    "Lucas",
    "Sofia",
    "Mateo",
    "Amara",
    "Wei",
    "Priya",
    "Omar",
    "Hana",
    "Diego",
    "Grace",
    "Kofi",
    "Elena",
    "Yusuf",
    "Nora",
    "Ivan",
    "Leila",
    "Sam",
    "Ruth",
    "Tomas",
)
LAST = (
    "Nguyen",
    "Garcia",
    "Smith",
    "Okoye",
    "Chen",
    "Patel",
    "Kowalski",
    "Haddad",
    "Johnson",
    "Silva",
    "Murphy",
    "Tanaka",
    "Ali",
    "Rossi",
    "Novak",
    "Brown",
    "Mensah",
    "Khan",
    "Lopez",
    "Berg",
)

#: How much slower (>1) or faster (<1) than the visit type's expectation each demo provider works.
PACE = {"kim": 1.0, "okafor": 1.2, "silva": 0.9, "hart": 1.05}


class Arrival(Struct, frozen=True):
    """When patients come, in minutes relative to the time they were asked to (negative: early): most
    around `mean` (sd `sd`), a share `late_share` late by `late` minutes (uniform)."""

    mean: float
    sd: float
    late_share: float
    late: tuple[float, float]


class World(Struct, frozen=True):
    """The knobs of a simulated clinic world. Every default is the simulator's own default world."""

    name: str = "default"
    #: What a booked time means (the clinic's `[session] appointment_time`; see `World.clinic`). Under
    #: "provider", patients are asked to come 10 to 15 minutes early (`ask_early`), and the assistant rooms
    #: them the visit type's rooming and prep minutes (and 3 more) before the booked time.
    appointment_time: AppointmentTime = AppointmentTime.arrival
    #: Share of provider-days on which the provider walks in this many minutes after the session opens.
    late_start_share: float = 0.0
    late_start: tuple[float, float] = (15.0, 40.0)
    #: Share of provider-days on which the provider is pulled away mid-session for this many minutes.
    away_share: float = 0.0
    away: tuple[float, float] = (20.0, 45.0)
    #: Patients' arrival against the time they were asked to come; None: the default world's.
    arrival: Arrival | None = None
    #: Log-space sd of time with the provider (None: 0.25), and a share of visits whose time is multiplied
    #: by a Pareto(tail_alpha) factor (capped at 5): heavy tails.
    visit_sigma: float | None = None
    tail_share: float = 0.0
    tail_alpha: float = 1.5
    #: Share of taps entered this many minutes after the step really happened.
    tap_lag_share: float = 0.0
    tap_lag: tuple[float, float] = (1.0, 6.0)
    #: Share of the lagging steps whose tapper says when the step happened, as the tablet offers it (TOLD_MINUTES:
    #: the most minutes ago not more than the lag; a lag under two minutes goes unsaid).
    tap_lag_told: float = 0.0
    #: Medical assistants on the floor (each rooms and preps one patient at a time); None: enough of them.
    assistants: int | None = None
    #: How many of the clinic's rooms and providers are in use; None: all.
    rooms: int | None = None
    providers: int | None = None
    #: Share of booked patients who do not come; None: the default world's 7%.
    no_show: float | None = None

    def clinic(self, base: Clinic) -> Clinic:
        """The clinic of this world: `base` with its convention, and only the rooms and providers in use
        (rooms taken from each zone in turn)."""
        rooms = base.rooms
        if self.rooms is not None:
            zones: dict[str, list] = {}
            for r in base.rooms:
                zones.setdefault(r.zone, []).append(r)
            interleaved = [r for i in range(len(base.rooms)) for z in zones.values() if i < len(z) for r in [z[i]]]
            rooms = interleaved[: self.rooms]
        providers = base.providers if self.providers is None else base.providers[: self.providers]
        if (rooms, providers, self.appointment_time) == (base.rooms, base.providers, base.session.appointment_time):
            return base
        session = msgspec.structs.replace(base.session, appointment_time=self.appointment_time)
        return msgspec.structs.replace(base, session=session, rooms=rooms, providers=providers)


DEFAULT_WORLD = World()
#: The minutes ago a tablet offers for a step tapped late (static/tablet: "This tap happened").
TOLD_MINUTES = (0, 2, 5, 10, 15, 30)
_PROVIDER = AppointmentTime.provider
#: The benchmark's worlds (loadtests/alert_quality.py), by name: each changes one thing from the default
#: world, except "provider_time" (the other convention) and "hard" (most things at once).
WORLDS: dict[str, World] = {
    w.name: w
    for w in (
        DEFAULT_WORLD,
        World("provider_time", appointment_time=_PROVIDER, arrival=Arrival(-4, 5, 0.06, (5, 25))),
        World("late_start", late_start_share=0.4),
        World("pulled_away", away_share=0.5),
        World("punctuality", arrival=Arrival(-15, 8, 0.2, (5, 35))),
        World("heavy_tail", visit_sigma=0.5, tail_share=0.1),
        World("tap_lag", tap_lag_share=0.4),
        # The same late taps, most of whose tappers say on the tablet how long ago the step happened.
        World("tap_lag_told", tap_lag_share=0.4, tap_lag_told=0.7),
        World("one_assistant", assistants=1, providers=3),
        World("few_rooms", rooms=6),
        World("no_shows", no_show=0.15),
        World(
            "hard",
            appointment_time=_PROVIDER,
            arrival=Arrival(-3, 6, 0.12, (5, 30)),
            late_start_share=0.25,
            away_share=0.25,
            visit_sigma=0.45,
            tail_share=0.05,
            tap_lag_share=0.3,
            rooms=7,
            no_show=0.12,
        ),
    )
}


def ask_early(clinic: Clinic, visit_type: str) -> float:
    """Minutes before the booked time a patient is asked to come: 0 where the booked time is the patient's
    arrival; the visit type's rooming and prep minutes and 3 more (10 to 15) where it is the provider's."""
    if clinic.session.appointment_time is not AppointmentTime.provider:
        return 0.0
    sm = clinic.visit_type(visit_type).stage_minutes
    return float(min(max(sm.roomed + sm.prep_done + 3, 10), 15))


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


def plan_day(clinic: Clinic, day: dt.date, seed: int = 1, world: World = DEFAULT_WORLD) -> list[PlannedVisit]:
    rng = random.Random(seed)
    extra = random.Random(f"world-{seed}")  # the world's own draws: the main generator's stay as they were
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
        outcome = (
            Stage.no_show
            if roll < 0.07 and not walk_in
            else Stage.cancelled
            if roll < 0.10 and not walk_in
            else Stage.left_without_being_seen
            if roll < 0.12
            else Stage.checked_out
        )
        arrive = 0.0 if walk_in else rng.uniform(12, 30) if rng.random() < 0.05 else rng.gauss(-10, 5)
        planned = PlannedVisit(
            name(), provider, vtype.code, start, walk_in, arrive, minutes, outcome, rng.random() < 0.88
        )
        return planned if world == DEFAULT_WORLD else _in_world(planned, roll)

    def _in_world(planned: PlannedVisit, roll: float) -> PlannedVisit:
        sm = clinic.visit_type(planned.visit_type).stage_minutes
        if world.visit_sigma is not None or world.tail_share:
            median = sm.provider_in * PACE.get(planned.provider, 1.0)
            with_provider = _lognormal(extra, median, world.visit_sigma or 0.25)
            if extra.random() < world.tail_share:
                with_provider *= min(extra.paretovariate(world.tail_alpha), 5.0)
            planned.minutes[Stage.provider_in] = with_provider
        if world.no_show is not None and not planned.walk_in:
            ns = world.no_show
            planned.outcome = (
                Stage.no_show
                if roll < ns
                else Stage.cancelled
                if roll < ns + 0.03
                else Stage.left_without_being_seen
                if roll < ns + 0.05
                else Stage.checked_out
            )
        if not planned.walk_in:
            a = world.arrival
            offset = (
                planned.arrive_minutes
                if a is None
                else extra.uniform(*a.late)
                if extra.random() < a.late_share
                else extra.gauss(a.mean, a.sd)
            )
            planned.arrive_minutes = offset - ask_early(clinic, planned.visit_type)
        return planned

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


Away = dict[str, list[tuple[dt.datetime, dt.datetime]]]


def plan_absences(clinic: Clinic, day: dt.date, seed: int = 1, world: World = DEFAULT_WORLD) -> Away:
    """When each provider is not on the floor: a late start (from the session's opening) and a call away
    mid-session (starting between an hour after opening and two hours before closing, not over lunch)."""
    rng = random.Random(f"absences-{seed}")
    opens = clinic.local(day, clinic.session.opens)
    closes = clinic.local(day, clinic.session.closes)
    span = (closes - opens).total_seconds() / 60
    away: Away = {}
    for provider in clinic.providers:
        gaps = []
        if rng.random() < world.late_start_share:
            gaps.append((opens, opens + dt.timedelta(minutes=rng.uniform(*world.late_start))))
        if rng.random() < world.away_share:
            start = opens + dt.timedelta(minutes=rng.uniform(60, max(61.0, span - 120)))
            if clinic.local(day, dt.time(11, 30)) <= start < clinic.local(day, dt.time(13, 0)):
                start += dt.timedelta(minutes=90)
            gaps.append((start, start + dt.timedelta(minutes=rng.uniform(*world.away))))
        if gaps:
            away[provider.id] = gaps
    return away


#: The demo's disruption (`floor demo`, `demo_absences`): one provider held up at the hospital this many
#: minutes past the session's opening, while their patients come and are roomed as booked. Their first
#: patients wait, the wait passes down the schedule, and the provider (quicker than most) catches up before
#: lunch: a cascade alert raised, updated as it moves and cleared, early enough for a newcomer to watch it.
DEMO_LATE_START = ("hart", 50.0)
#: The demo's clinic clock starts this long before the session opens (`floor demo` without `--start`).
DEMO_LEAD = dt.timedelta(minutes=15)


def demo_start(clinic: Clinic, day: dt.date) -> dt.datetime:
    """Where the demo's clinic clock starts on `day`: a quarter of an hour before the session opens."""
    return clinic.local(day, clinic.session.opens) - DEMO_LEAD


def demo_absences(clinic: Clinic, day: dt.date) -> Away:
    """When providers are off the floor on the demo's day: `DEMO_LATE_START` (if the clinic has that
    provider). Everything else is the default world's day (`plan_day`)."""
    provider, late = DEMO_LATE_START
    if all(p.id != provider for p in clinic.providers):
        return {}
    opens = clinic.local(day, clinic.session.opens)
    return {provider: [(opens, opens + dt.timedelta(minutes=late))]}


def demo_staff(clinic: Clinic, day: dt.date, seed: int = 1) -> Staff:
    """The staff of the demo's day: the default world's generated day with the demo's late start."""
    return Staff(clinic, plan_day(clinic, day, seed), seed, away=demo_absences(clinic, day))


class Staff:
    """What the front desk, medical assistants and providers of the simulated day tap, given the floor.

    `world` and `away` (from `plan_absences`): how many assistants work, and when providers are off the
    floor (they start no visit then)."""

    def __init__(
        self,
        clinic: Clinic,
        plan: list[PlannedVisit],
        seed: int = 1,
        world: World = DEFAULT_WORLD,
        away: Away | None = None,
    ) -> None:
        self.clinic = clinic
        self.plan = plan
        self.world = world
        self.away = away or {}
        self.visit_ids: dict[int, str] = {}  # plan index -> visit id, once booked
        self._turnover = {r.id: 3 + random.Random(f"{seed}{r.id}").random() * 4 for r in clinic.rooms}
        zones = sorted({r.zone for r in clinic.rooms})
        # Each provider works in a home zone, spread over the zones.
        self._zone = {p.id: zones[i % len(zones)] for i, p in enumerate(clinic.providers)}

    def booked(self, index: int, visit_id: str) -> None:
        self.visit_ids[index] = visit_id

    def bookings_due(self, now: dt.datetime) -> list[tuple[int, BookVisit]]:
        """Scheduled visits are on the books from the start; walk-ins when they walk in."""
        return [
            (i, BookVisit(p.patient_name, p.provider, p.visit_type, None if p.walk_in else p.start, p.walk_in))
            for i, p in enumerate(self.plan)
            if i not in self.visit_ids and (not p.walk_in or now >= p.start)
        ]

    def due(self, floor: Floor, now: dt.datetime) -> list[Command]:
        taps: list[Command] = []
        busy = {v.provider for v in floor.visits.values() if v.stage is Stage.provider_in}
        busy |= {p for p, gaps in self.away.items() if any(a <= now < b for a, b in gaps)}
        free_rooms = [r for r in floor.rooms.values() if r.state is RoomState.ready]
        if self.world.assistants is not None:
            # Each assistant rooms and preps one patient at a time (the visit's roomed stage).
            working = sum(v.stage is Stage.roomed for v in floor.visits.values())
            free_rooms = free_rooms[: max(0, self.world.assistants - working)]
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
            if (
                room.state is RoomState.turnover
                and room.since is not None
                and now - room.since >= dt.timedelta(minutes=self._turnover[room.id])
            ):
                taps.append(MarkRoom(room.id, RoomAction.ready))
        return taps

    def _next(
        self, plan: PlannedVisit, visit: Visit, now: dt.datetime, busy: set[str], free_rooms: list
    ) -> TakeStep | None:
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
            # Roomed at about the appointment time (under the provider convention, early enough for rooming
            # and prep to be done by it), or after a short wait if late or walked in.
            ahead = (
                3
                if self.clinic.session.appointment_time is not AppointmentTime.provider
                else 3 + sum(self._minutes(plan.visit_type))
            )
            due = plan.start - dt.timedelta(minutes=ahead) if not plan.walk_in else since
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

    def _minutes(self, visit_type: str) -> tuple[int, int]:
        sm = self.clinic.visit_type(visit_type).stage_minutes
        return sm.roomed, sm.prep_done


def simulate_day(
    clinic: Clinic,
    day: dt.date,
    seed: int = 1,
    step: dt.timedelta = dt.timedelta(minutes=1),
    world: World = DEFAULT_WORLD,
) -> tuple[list[Event], Floor]:
    """Play a generated day through the pure core with no alerts: the events staff would tap, and the floor
    at the end (the ground truth of when every visit really started). Its ids are drawn from the seed, so the
    same seed plays the same day.

    `clinic` is the world's (`world.clinic(base)`). In a world whose taps lag, the events are the taps as
    entered (each lagging tap some minutes after its step, and never before the steps it follows), while the
    floor returned holds the steps as they really happened."""
    staff = Staff(clinic, plan_day(clinic, day, seed, world), seed, world, plan_absences(clinic, day, seed, world))
    ids = f"simulate-{day}-{seed}"
    floor = Floor(clinic, day, ids=Ids.seeded(ids))
    events: list[Event] = []
    lagging = world.tap_lag_share > 0
    # With lagging taps: what the clinic's log gets, and the taps not yet entered (entry time, command).
    entered = Floor(clinic, day, ids=Ids.seeded(ids)) if lagging else None
    recorded: list[Event] = []
    # Each: when it is entered, the tap, when its step happened, and whether its tapper says so.
    pending: list[tuple[dt.datetime, Command, dt.datetime, bool]] = []
    last_due: dict[str, dt.datetime] = {}
    lag_rng = random.Random(f"lag-{seed}")
    told_rng = random.Random(f"told-{seed}")

    def tap(command: Command, now: dt.datetime) -> Event | None:
        try:
            event = floor.decide(command, Tap("staff", "sim", now))
        except Refusal:
            return None
        floor.apply(event)
        events.append(event)
        if entered is not None:
            late = isinstance(command, (TakeStep, MarkRoom)) and lag_rng.random() < world.tap_lag_share
            due = now + dt.timedelta(minutes=lag_rng.uniform(*world.tap_lag) if late else 0)
            # A visit's steps are entered in the order they happened (a checkout entered before a lagging
            # teach-back would skip it).
            key = (
                command.visit
                if isinstance(command, TakeStep)
                else f"room {command.room}"
                if isinstance(command, MarkRoom)
                else event.change.visit
            )
            due = last_due[key] = max(due, last_due.get(key, due))
            told = late and isinstance(command, TakeStep) and told_rng.random() < world.tap_lag_told
            pending.append((due, command, now, told))
        return event

    def enter(now: dt.datetime) -> None:
        """Enter the taps due by now, in the order their steps happened; one the floor refuses yet (a step
        whose earlier step is still to be entered) waits for a later round."""
        assert entered is not None
        still = []
        for due, command, happened, told in pending:
            if due > now:
                still.append((due, command, happened, told))
                continue
            lag = (now - happened).total_seconds() / 60 if told else 0.0
            # The most minutes ago the tablet offers, not more than the lag, that the floor as entered takes (a
            # step cannot be put before the visit's last step as entered, which may itself have been late).
            for minutes in sorted((m for m in TOLD_MINUTES if m <= lag), reverse=True):
                try:
                    said = msgspec.structs.replace(command, minutes_ago=minutes) if minutes else command
                    event = entered.decide(said, Tap("staff", "sim", now))
                    break
                except Refusal:
                    continue
            else:
                still.append((due, command, happened, told))
                continue
            entered.apply(event)
            recorded.append(event)
        pending[:] = still

    now = clinic.local(day, clinic.session.opens) - dt.timedelta(minutes=30)
    end = clinic.local(day, clinic.session.closes) + dt.timedelta(hours=4)
    while now < end:
        for index, booking in staff.bookings_due(now):
            event = tap(booking, now)
            if event is not None:
                staff.booked(index, event.change.visit)
        for command in staff.due(floor, now):
            tap(command, now)
        if entered is not None:
            enter(now)
        if (
            len(staff.visit_ids) == len(staff.plan)
            and all(floor.visits[v].stage in ENDS for v in staff.visit_ids.values())
            and not pending
        ):
            break
        now += step
    if entered is not None:
        assert entered.visits.keys() == floor.visits.keys() and not pending
        return recorded, floor
    return events, floor
