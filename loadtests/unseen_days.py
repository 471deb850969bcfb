"""Cascade alerts scored on clinic days from a model Floor was not tuned to: clinics and a clinic-day process
written apart from floor/simulator.py (whose code its author did not read), scored with alert_quality's own
yardstick (`true_cascades`, `Score`, the plain baseline) so that the two benchmarks differ only in the days.

The model's assumptions, plainly:

- Clinics. Four clinic files of their own (a two-provider family practice, a four-provider cardiology clinic
  on the "provider" appointment convention with K=3, L=15, a three-provider pediatric clinic with 10-minute
  sick visits, and the demo clinic). What a clinic REALLY takes differs from its file: each visit type has a
  factor (a family practice configured 10 minutes with the provider for a follow-up that really takes 13),
  rooming (MA intake) is slower or faster than configured, and each provider has a personal pace (0.85-1.2).
- Schedule. Each provider's day is a template of back-to-back slots of the visit types' slot minutes, with a
  lunch block, some slots left empty, some double-booked (a second patient at the same time). Booked 30
  minutes before the session opens. Same-day cancellations are tapped before the visit; on the "provider"
  convention patients are asked to come a fixed number of minutes early.
- Patients. Arrival = asked time + a mixture: most a few minutes early, some a few late, a heavy tail of very
  late ones (exponential). The front desk marks a patient not here 10-25 minutes after the booked time a
  no-show; a patient who then turns up is worked in as a walk-in half the time. True no-shows at a rate per
  scenario. Walk-ins arrive as a Poisson stream and go to the provider with the fewest patients left.
  A patient waiting in the lobby over 50 minutes may leave unseen.
- Medical assistants (a count the clinic file does not know) room patients: one free MA, one ready room and
  fewer than N rooms held by that provider are needed; patients are taken by their planned provider-in (a
  walk-in 20 minutes after arriving), so a later patient can be roomed first. The MA walks them in (1-2 min,
  tapped roomed) and does the intake (lognormal around the configured roomed minutes times the clinic's
  intake factor, tapped prep_done), then is free. A checked-out room is cleaned 2-8 minutes later (tapped
  ready), by other staff.
- Providers start at the session's opening plus a delay (usually 0-5 min, in bad scenarios 15-45), see the
  earliest-booked of their ready patients (so out of booking order when an earlier one is not ready), with a
  lognormal service time (sigma 0.3-0.4) around configured x type factor x personal pace, a share of complex
  visits 1.7-2.6 times longer, and speed up by 12% when 15+ minutes behind, 22% when 30+. Then 1-3 minutes
  of charting before the next. Teach-back (wrap-up, discharge, vaccines) holds the room, not the provider,
  and is skipped now and then. Interruptions (phone calls, a procedure elsewhere) of 10-40 minutes come as a
  Poisson process between visits; a hospital call of 30-75 minutes in some scenarios. Lunch: from the lunch
  block's start once no morning patient is ready, back at the block's end or after 20 minutes if later.
  In some scenarios staff tap the provider's presence (running late, stepped away, back) some of the time.
- Taps are entered as the step happens (no lag).

How it differs in spirit from floor/simulator.py, as far as one can say without reading it: here nothing is
drawn per visit in isolation; delays come out of queues for MAs, rooms and the provider, so lateness is
created by resources and by the schedule template (double-booking, empty slots, lunch) rather than sampled;
providers react to being behind; and the clinic files are deliberately wrong about their own durations.

    .venv/bin/python loadtests/unseen_days.py --days 20
    .venv/bin/python loadtests/unseen_days.py --days 5 --scenarios family_typical,peds_flu --explain 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import itertools
import math
import random
import sys
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from floor.config import AppointmentTime, Clinic, demo_clinic_path, parse_clinic
from floor.core.commands import BookVisit, MarkPresence, MarkRoom, TakeStep, Tap
from floor.core.errors import Refusal
from floor.core.events import Event
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.learned import EMPTY, Learned
from floor.core.learning import learn
from floor.core.presence import Presence
from floor.core.rooms import RoomAction
from floor.days import fold_day
from loadtests.alert_quality import (
    TARGETS,
    Case,
    Score,
    explain,
    print_cases,
    print_intervals,
    print_table_header,
    scored_day,
    table_row,
    true_cascades,
)

DAY = dt.date(2027, 3, 9)
#: Past days' seeds start this far from the scored days'.
HISTORY_SEEDS = 500_000

# -- clinics --------------------------------------------------------------------------------------------------


def _clinic_toml(
    cid: str,
    name: str,
    opens: str,
    closes: str,
    convention: str,
    k: int,
    late: int,
    rooms: int,
    providers: list[str],
    types: dict[str, tuple[int, tuple[int, int, int, int, int]]],
) -> str:
    lines = [
        f'id = "{cid}"',
        f'name = "{name}"',
        'timezone = "America/Denver"',
        "[session]",
        f"opens = {opens}:00",
        f"closes = {closes}:00",
        f'appointment_time = "{convention}"',
        "[thresholds]",
        f"cascade_visits = {k}",
        f"cascade_minutes = {late}",
    ]
    for i in range(rooms):
        lines += ["[[rooms]]", f'id = "r{i + 1}"', f'label = "Room {i + 1}"', f'zone = "{"ab"[i % 2]}"']
    for p in providers:
        lines += ["[[providers]]", f'id = "{p}"', f'name = "Dr. {p.title()}"', f'initials = "{p[:2].upper()}"']
    for code, (slot, (a, r, pr, pi, tb)) in types.items():
        lines += [
            "[[visit_types]]",
            f'code = "{code}"',
            f'label = "{code.title()}"',
            f"slot_minutes = {slot}",
            f"stage_minutes = {{ arrived = {a}, roomed = {r}, prep_done = {pr}, provider_in = {pi}, "
            f"teach_back_done = {tb} }}",
        ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Site:
    """A clinic file and what the clinic really is beside it."""

    clinic: Clinic
    #: Real minutes with the provider / configured, per visit type.
    real: dict[str, float]
    #: Real MA intake minutes / configured `roomed` minutes.
    intake: float
    mas: int
    #: Rooms one provider may hold at once.
    rooms_each: int
    mix: dict[str, float]
    lunch: tuple[str, str]
    #: "provider" convention: minutes before the booked time patients are asked to come.
    ask_early: int = 0


def _sites() -> dict[str, Site]:
    family = parse_clinic(
        _clinic_toml(
            "oakfamily",
            "Oak Street Family Practice",
            "08:00",
            "16:30",
            "arrival",
            3,
            10,
            5,
            ["reyes", "novak"],
            {
                "follow": (15, (5, 5, 2, 10, 3)),
                "new": (30, (8, 8, 3, 22, 4)),
                "wellness": (30, (5, 8, 2, 18, 4)),
                "sick": (15, (5, 4, 2, 10, 2)),
            },
        ),
        "oakfamily",
    )
    cardio = parse_clinic(
        _clinic_toml(
            "lakeshore",
            "Lakeshore Cardiology",
            "07:30",
            "16:00",
            "provider",
            3,
            15,
            12,
            ["adeyemi", "brandt", "chou", "duarte"],
            {
                "consult": (40, (10, 12, 3, 30, 5)),
                "followup": (20, (6, 8, 2, 14, 3)),
                "device": (20, (5, 10, 2, 12, 3)),
                "postop": (15, (5, 6, 2, 10, 2)),
            },
        ),
        "lakeshore",
    )
    kids = parse_clinic(
        _clinic_toml(
            "sunnyside",
            "Sunnyside Pediatrics",
            "08:30",
            "16:30",
            "arrival",
            3,
            10,
            8,
            ["patel", "okoro", "lindqvist"],
            {
                "sick": (10, (5, 4, 1, 8, 2)),
                "well": (20, (6, 8, 2, 15, 5)),
                "adhd": (20, (5, 5, 1, 15, 2)),
                "newborn": (30, (5, 10, 2, 20, 5)),
            },
        ),
        "sunnyside",
    )
    demo = parse_clinic(demo_clinic_path().read_bytes(), "demo")
    return {
        "family": Site(
            family,
            {"follow": 1.3, "new": 1.15, "wellness": 1.1, "sick": 1.0},
            1.4,
            2,
            3,
            {"follow": 0.4, "new": 0.1, "wellness": 0.2, "sick": 0.3},
            ("12:00", "13:00"),
        ),
        "cardio": Site(
            cardio,
            {"consult": 1.15, "followup": 1.05, "device": 0.85, "postop": 1.2},
            0.9,
            5,
            3,
            {"consult": 0.2, "followup": 0.45, "device": 0.2, "postop": 0.15},
            ("12:00", "12:45"),
            ask_early=20,
        ),
        "kids": Site(
            kids,
            {"sick": 1.2, "well": 1.0, "adhd": 1.3, "newborn": 1.0},
            1.1,
            3,
            3,
            {"sick": 0.45, "well": 0.35, "adhd": 0.1, "newborn": 0.1},
            ("12:30", "13:30"),
        ),
        "demo": Site(
            demo,
            {"new": 1.1, "follow": 1.05, "annual": 1.0, "procedure": 1.15},
            1.0,
            3,
            3,
            {"new": 0.15, "follow": 0.5, "annual": 0.25, "procedure": 0.1},
            ("12:00", "13:00"),
        ),
    }


SITES = _sites()

# -- scenarios ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    site: str
    #: Overrides of the site's reality (None: the site's).
    real: dict[str, float] | None = None
    intake: float | None = None
    mas: int | None = None
    mix: dict[str, float] | None = None
    service_sigma: float = 0.33
    complex_share: float = 0.06
    #: Arrival offset from the asked time: early normal (mean, sd) for most, late share and the tail's mean.
    early: tuple[float, float] = (-6.0, 5.0)
    late_share: float = 0.15
    late_tail: float = 12.0
    no_show: float = 0.07
    cancel: float = 0.04
    walk_ins_per_hour: float = 0.3
    double_book: float = 0.04
    empty_slot: float = 0.1
    #: Chance a provider starts late, and the delay's range (minutes) if so; else 0-5 minutes.
    start_late: float = 0.1
    start_late_minutes: tuple[int, int] = (10, 25)
    interruptions_per_day: float = 0.6
    interruption_minutes: tuple[int, int] = (10, 40)
    hospital_call: float = 0.0
    #: Chance each presence change is tapped (running late, stepped away, back).
    presence_taps: float = 0.0
    #: Provider ids and minutes: starts exactly that late (tests).
    forced_late: dict[str, int] = field(default_factory=dict)


SCENARIOS: dict[str, Params] = {
    # A well-run family practice on a good day: durations as configured, punctual patients, slack.
    "family_calm": Params(
        "family",
        real={"follow": 1.0, "new": 0.95, "wellness": 0.95, "sick": 0.9},
        intake=1.0,
        early=(-8, 4),
        late_share=0.05,
        late_tail=6,
        no_show=0.05,
        empty_slot=0.2,
        double_book=0.0,
        start_late=0.0,
        interruptions_per_day=0.2,
        interruption_minutes=(5, 12),
        walk_ins_per_hour=0.1,
    ),
    # The same practice as it really runs: the file under-states visits and intake.
    "family_typical": Params("family"),
    # One MA out sick, a couple of double-booked slots: rooming is the bottleneck.
    "family_one_ma": Params("family", mas=1, double_book=0.08, empty_slot=0.05),
    "cardio_calm": Params(
        "cardio",
        real={"consult": 1.0, "followup": 1.0, "device": 0.85, "postop": 1.0},
        complex_share=0.02,
        start_late=0.0,
        interruptions_per_day=0.2,
        double_book=0.0,
        empty_slot=0.15,
    ),
    # A busy specialty clinic: complex visits, double-booking, hospital calls.
    "cardio_busy": Params(
        "cardio",
        complex_share=0.12,
        double_book=0.12,
        empty_slot=0.03,
        hospital_call=0.3,
        interruptions_per_day=0.8,
        presence_taps=0.3,
    ),
    # Pediatrics in flu season: short sick visits, walk-ins, no-shows, late families.
    "peds_flu": Params(
        "kids",
        mix={"sick": 0.7, "well": 0.2, "adhd": 0.05, "newborn": 0.05},
        walk_ins_per_hour=2.0,
        no_show=0.15,
        double_book=0.15,
        late_share=0.25,
        late_tail=15,
        service_sigma=0.4,
    ),
    "peds_calm": Params(
        "kids",
        real={"sick": 1.0, "well": 0.95, "adhd": 1.0, "newborn": 0.95},
        intake=1.0,
        walk_ins_per_hour=0.2,
        empty_slot=0.2,
        double_book=0.0,
        start_late=0.0,
        interruptions_per_day=0.2,
        late_share=0.08,
    ),
    # The demo clinic's file, run by this model's process.
    "demo_unseen": Params("demo"),
    # Providers often start late (rounds at the hospital); staff tap it half the time.
    "late_starts": Params("demo", start_late=0.45, start_late_minutes=(15, 45), presence_taps=0.5),
    # Interrupted providers, never tapped as away.
    "interrupted": Params("demo", interruptions_per_day=2.0, interruption_minutes=(10, 40), hospital_call=0.25),
}

# -- the day process ------------------------------------------------------------------------------------------


@dataclass
class Patient:
    n: int
    provider: str
    vtype: str
    start: float  # booked time, minutes from the session's opening
    walk_in: bool = False
    visit: str = ""
    stage: Stage = Stage.scheduled
    arrived_at: float = math.inf
    room: str | None = None
    #: Rooming priority: planned provider-in (walk-ins: 20 minutes after arriving).
    priority: float = 0.0


@dataclass
class Doc:
    id: str
    pace: float
    available: float = 0.0  # not before this (late start, away, lunch, charting)
    busy: bool = False
    lunched: bool = False
    interruptions: list[float] = field(default_factory=list)
    away_tapped: bool = False


class Day:
    """One clinic day: a discrete-event process whose taps go through Floor.decide/apply as they happen."""

    def __init__(self, site: Site, p: Params, day: dt.date, seed: int) -> None:
        self.site, self.p, self.day = site, p, day
        self.clinic = c = site.clinic
        self.rng = random.Random(seed)
        self.floor = Floor(c, day, 0, Ids.seeded(seed))
        self.events: list[Event] = []
        self.refused: list[tuple[str, str]] = []
        self.opens = c.local(day, c.session.opens)
        self.heap: list[tuple[float, int, object, tuple]] = []
        self.count = itertools.count()
        self.now = -30.0
        self.real = p.real or site.real
        self.intake = p.intake if p.intake is not None else site.intake
        self.mas_free = p.mas if p.mas is not None else site.mas
        self.rooms_ready = [r.id for r in c.rooms]
        self.patients: list[Patient] = []
        self.lobby: list[Patient] = []
        self.ready: dict[str, list[Patient]] = {pr.id: [] for pr in c.providers}
        self.held: Counter[str] = Counter()

        def minute_of(s: str) -> float:
            t = dt.time.fromisoformat(s)
            return (dt.datetime.combine(day, t) - dt.datetime.combine(day, c.session.opens)).total_seconds() / 60

        self.lunch = (minute_of(site.lunch[0]), minute_of(site.lunch[1]))
        self.closes = minute_of(c.session.closes.isoformat())
        self.docs: dict[str, Doc] = {}
        for pr in c.providers:
            # A provider's own pace is theirs every day (so history can learn it).
            pace = random.Random(zlib.crc32(f"{c.id}/{pr.id}".encode())).uniform(0.85, 1.2)
            self.docs[pr.id] = Doc(pr.id, pace)

    # -- taps --

    def tap(self, command) -> Event | None:
        at = self.opens + dt.timedelta(minutes=self.now)
        try:
            event = self.floor.decide(command, Tap("staff", "sim", at))
        except Refusal as e:
            self.refused.append((type(command).__name__, str(e)))
            return None
        self.floor.apply(event)
        self.events.append(event)
        return event

    def step(self, pt: Patient, step: Stage, room: str | None = None) -> None:
        if self.tap(TakeStep(pt.visit, step, room=room)) is not None:
            pt.stage = step

    def at(self, t: float, fn, *args) -> None:
        heapq.heappush(self.heap, (t, next(self.count), fn, args))

    # -- the day --

    def run(self) -> tuple[list[Event], Floor]:
        r, p = self.rng, self.p
        self.schedule()
        for d in self.docs.values():
            late = p.forced_late.get(d.id)
            if late is None:
                late = r.uniform(*p.start_late_minutes) if r.random() < p.start_late else r.uniform(0, 5)
            d.available = late
            if late >= 10 and r.random() < p.presence_taps:
                self.at(r.uniform(-10, 5), self.presence, d, Presence.running_late, round(late))
            t = 0.0
            while True:
                t += r.expovariate(p.interruptions_per_day / self.closes) if p.interruptions_per_day else math.inf
                if t >= self.closes - 30:
                    break
                d.interruptions.append(t)
            if r.random() < p.hospital_call:
                d.interruptions.append(-r.uniform(60, 200))  # negative: a long one (the hospital)
            d.interruptions.sort(key=abs)
            self.at(late, self.wake, d)
        n = len(self.patients)
        t = 0.0
        while p.walk_ins_per_hour:
            t += r.expovariate(p.walk_ins_per_hour / 60)
            if t >= self.closes - 45:
                break
            self.at(t, self.walk_in, n)
            n += 1
        while self.heap:
            t, _, fn, args = heapq.heappop(self.heap)
            self.now = max(self.now, t)
            fn(*args)
            self.dispatch()
        return self.events, self.floor

    def schedule(self) -> None:
        r, p, c = self.rng, self.p, self.clinic
        mix = p.mix or self.site.mix
        codes, weights = list(mix), list(mix.values())
        booked: list[Patient] = []
        for pr in c.providers:
            for lo, hi in ((0.0, self.lunch[0]), (self.lunch[1], self.closes)):
                t = lo
                while True:
                    code = r.choices(codes, weights)[0]
                    slot = c.visit_type(code).slot_minutes
                    if t + slot > hi:
                        break
                    if r.random() >= p.empty_slot:
                        booked.append(Patient(len(booked), pr.id, code, t))
                        if r.random() < p.double_book:
                            booked.append(Patient(len(booked), pr.id, codes[0], t))
                    t += slot
        for pt in booked:
            start = self.opens + dt.timedelta(minutes=pt.start)
            e = self.tap(BookVisit(f"Patient {pt.n}", pt.provider, pt.vtype, start=start))
            pt.visit = e.change.visit
            pt.priority = self.planned(pt)
            self.patients.append(pt)
            fate = r.random()
            if fate < p.cancel:
                self.at(r.uniform(-29, max(-29, pt.start - 20)), self.cancel, pt)
                continue
            # The front desk marks whoever is not here a no-show some minutes after the booked time.
            self.at(pt.start + r.uniform(10, 25), self.no_show, pt)
            if fate < p.cancel + p.no_show:
                continue
            asked = pt.start - self.site.ask_early
            if r.random() < p.late_share:
                offset = r.uniform(0, 5) + r.expovariate(1 / p.late_tail)
            else:
                offset = min(r.gauss(*p.early), 4.0)
            self.at(max(-25.0, asked + offset), self.arrive, pt)

    def planned(self, pt: Patient) -> float:
        c = self.clinic
        if c.session.appointment_time is AppointmentTime.provider:
            return pt.start
        sm = c.visit_type(pt.vtype).stage_minutes
        return pt.start + sm.roomed + sm.prep_done

    # -- patients --

    def cancel(self, pt: Patient) -> None:
        self.step(pt, Stage.cancelled)

    def no_show(self, pt: Patient) -> None:
        if pt.stage is Stage.scheduled:
            self.step(pt, Stage.no_show)

    def arrive(self, pt: Patient) -> None:
        checkin = self.rng.uniform(1, 3)
        self.at(self.now + checkin, self.checked_in, pt)

    def checked_in(self, pt: Patient) -> None:
        if pt.stage is Stage.no_show:
            # Came too late and was marked a no-show: worked in as a walk-in half the time.
            if self.rng.random() < 0.5:
                self.book_walk_in(Patient(len(self.patients) + 10_000, pt.provider, pt.vtype, self.now))
            return
        if pt.stage is not Stage.scheduled:
            return
        self.step(pt, Stage.arrived)
        self.join_lobby(pt)

    def join_lobby(self, pt: Patient) -> None:
        pt.arrived_at = self.now
        self.lobby.append(pt)
        self.at(self.now + 50 + self.rng.uniform(0, 30), self.maybe_leave, pt)

    def maybe_leave(self, pt: Patient) -> None:
        if pt.stage is Stage.arrived and pt in self.lobby and self.rng.random() < 0.3:
            self.lobby.remove(pt)
            self.step(pt, Stage.left_without_being_seen)

    def walk_in(self, n: int) -> None:
        left = Counter(
            pt.provider for pt in self.patients if pt.stage in (Stage.scheduled, Stage.arrived, Stage.roomed)
        )
        provider = min(self.docs, key=lambda d: (left[d], self.rng.random()))
        mix = self.p.mix or self.site.mix
        code = max(mix, key=lambda k: (mix[k], k))
        self.book_walk_in(Patient(n + 20_000, provider, code, self.now, walk_in=True))

    def book_walk_in(self, pt: Patient) -> None:
        pt.walk_in = True
        e = self.tap(BookVisit(f"Walk-in {pt.n}", pt.provider, pt.vtype, walk_in=True))
        if e is None:
            return
        pt.visit, pt.stage, pt.priority = e.change.visit, Stage.arrived, self.now + 20
        self.patients.append(pt)
        self.join_lobby(pt)

    # -- rooms and MAs --

    def dispatch(self) -> None:
        if self.mas_free and self.rooms_ready and self.lobby:
            for pt in sorted(self.lobby, key=lambda x: (x.priority, x.n)):
                if not (self.mas_free and self.rooms_ready):
                    break
                if self.held[pt.provider] >= self.site.rooms_each:
                    continue
                self.mas_free -= 1
                self.lobby.remove(pt)
                room = self.rooms_ready.pop(0)
                self.held[pt.provider] += 1
                self.at(self.now + self.rng.uniform(1, 2), self.room_in, pt, room)
        for d in self.docs.values():
            self.start_next(d)

    def room_in(self, pt: Patient, room: str) -> None:
        self.step(pt, Stage.roomed, room)
        pt.room = room
        configured = self.clinic.visit_type(pt.vtype).stage_minutes.roomed
        minutes = max(1.0, configured * self.intake * self.rng.lognormvariate(0, 0.3))
        self.at(self.now + minutes, self.prepped, pt)

    def prepped(self, pt: Patient) -> None:
        self.step(pt, Stage.prep_done)
        self.mas_free += 1
        self.ready[pt.provider].append(pt)

    def checkout(self, pt: Patient) -> None:
        self.step(pt, Stage.checked_out)
        self.held[pt.provider] -= 1
        self.at(self.now + self.rng.uniform(2, 8), self.cleaned, pt.room)

    def cleaned(self, room: str) -> None:
        if self.tap(MarkRoom(room, RoomAction.ready)) is not None:
            self.rooms_ready.append(room)

    # -- providers --

    def presence(self, d: Doc, status: Presence, minutes: int | None = None) -> None:
        if self.tap(MarkPresence(d.id, status, minutes)) is not None:
            d.away_tapped = status is not Presence.back

    def wake(self, d: Doc) -> None:
        if d.away_tapped:
            self.presence(d, Presence.back)
        self.start_next(d)

    def start_next(self, d: Doc) -> None:
        if d.busy or self.now < d.available - 1e-9:
            return
        r = self.rng
        # An interruption due: away now (a negative one is the long hospital call, due at its absolute time).
        if d.interruptions and abs(d.interruptions[0]) <= self.now:
            due = d.interruptions.pop(0)
            minutes = r.uniform(30, 75) if due < 0 else r.uniform(*self.p.interruption_minutes)
            self.away(d, minutes)
            return
        if not d.lunched and self.now >= self.lunch[0]:
            morning = [
                pt
                for pt in self.patients
                if pt.provider == d.id and pt.start < self.lunch[0] and pt.stage in (Stage.roomed, Stage.prep_done)
            ]
            if not morning:
                d.lunched = True
                self.away(d, max(20.0, self.lunch[1] - self.now), tap=False)
                return
        waiting = self.ready[d.id]
        if not waiting:
            return
        pt = min(waiting, key=lambda x: (x.priority if x.walk_in else x.start, x.n))
        waiting.remove(pt)
        self.step(pt, Stage.provider_in)
        vt = self.clinic.visit_type(pt.vtype)
        minutes = vt.stage_minutes.provider_in * self.real.get(pt.vtype, 1.0) * d.pace
        minutes *= r.lognormvariate(0, self.p.service_sigma)
        if r.random() < self.p.complex_share:
            minutes *= r.uniform(1.7, 2.6)
        behind = self.now - self.planned(pt) if not pt.walk_in else 0
        minutes *= 0.78 if behind >= 30 else 0.88 if behind >= 15 else 1.0
        d.busy = True
        self.at(self.now + max(3.0, minutes), self.provider_done, d, pt, behind)

    def away(self, d: Doc, minutes: float, tap: bool = True) -> None:
        if tap and self.rng.random() < self.p.presence_taps:
            told = max(1, round(minutes * self.rng.uniform(0.7, 1.3)))
            self.presence(d, Presence.stepped_away, min(told, 240))
        d.available = self.now + minutes
        self.at(d.available, self.wake, d)

    def provider_done(self, d: Doc, pt: Patient, behind: float) -> None:
        r = self.rng
        skip = r.random() < (0.15 if behind >= 15 else 0.04)
        wrap = self.clinic.visit_type(pt.vtype).stage_minutes.teach_back_done * r.uniform(0.6, 1.5)
        if skip:
            self.at(self.now + r.uniform(1, 3), self.checkout, pt)
        else:
            self.step(pt, Stage.teach_back_done)
            self.at(self.now + max(1.0, wrap), self.checkout, pt)
        d.busy = False
        d.available = self.now + r.uniform(1, 3)  # charting
        self.at(d.available, self.wake, d)


def simulate(scenario: str, day: dt.date, seed: int, params: Params | None = None) -> Day:
    p = params or SCENARIOS[scenario]
    d = Day(SITES[p.site], p, day, seed)
    d.run()
    return d


# -- scoring --------------------------------------------------------------------------------------------------


def _seed(scenario: str, seed: int) -> int:
    return zlib.crc32(scenario.encode()) % 10_000 * 1_000_000 + seed


def history(scenario: str, days: int, seed: int) -> Learned:
    clinic = SITES[SCENARIOS[scenario].site].clinic
    past = []
    for n in range(days):
        day = DAY - dt.timedelta(days=n + 1)
        d = simulate(scenario, day, _seed(scenario, HISTORY_SEEDS + seed + n))
        past.append(fold_day(clinic, day, d.events))
    return learn(clinic, past)


def run_scenario(name: str, days: int, seed: int, past_days: int) -> tuple[Score, Score, list[Case], int]:
    clinic = SITES[SCENARIOS[name].site].clinic
    learned = history(name, past_days, seed) if past_days else EMPTY
    floor_score, plain_score = Score(), Score()
    cases: list[Case] = []
    refused = 0
    for n in range(days):
        d = simulate(name, DAY, _seed(name, seed + n))
        refused += len(d.refused)
        truth = true_cascades(clinic, d.floor)
        lines, alerts, _ = scored_day(clinic, d.events, truth, learned, floor_score, plain_score)
        cases += explain(clinic, seed + n, truth, alerts, lines, d.floor)
    return floor_score, plain_score, cases, refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=20, help="scored days per scenario (default 20)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated, of: {', '.join(SCENARIOS)}")
    parser.add_argument("--seed", type=int, default=1, help="the first day's seed (default 1)")
    parser.add_argument("--history", type=int, default=14, metavar="DAYS", help="past days learned from (default 14)")
    parser.add_argument(
        "--explain", type=int, default=0, metavar="N", help="print N failing cases per kind and scenario"
    )
    args = parser.parse_args()
    names = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if unknown := [s for s in names if s not in SCENARIOS]:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    print(
        f"{args.days} days per scenario from seed {args.seed}, Floor learned from {args.history} past days; "
        "recall, precision, median lead (min), false alerts per provider-day"
    )
    rule = print_table_header("scenario", 15, kl=True)
    total_floor, total_plain = Score(), Score()
    started = time.perf_counter()
    explained: list[tuple[str, list[Case]]] = []
    refusals = 0
    scores: list[tuple[str, Score]] = []
    for name in names:
        clinic = SITES[SCENARIOS[name].site].clinic
        kl = f"{clinic.thresholds.cascade_visits}/{clinic.thresholds.cascade_minutes}"
        floor_score, plain_score, cases, refused = run_scenario(name, args.days, args.seed, args.history)
        refusals += refused
        total_floor += floor_score
        total_plain += plain_score
        explained.append((name, cases))
        scores.append((name, floor_score))
        print(table_row(name, floor_score, plain_score, 15, kl), flush=True)
    print(rule)
    print(table_row("overall", total_floor, total_plain, 15, ""))
    print_intervals([*scores, ("overall", total_floor)])
    print(
        f"targets: recall >= {TARGETS['recall']}, precision >= {TARGETS['precision']}, median lead >= "
        f"{TARGETS['lead']:.0f} min, recall above plain; "
        f"taps refused by the core: {refusals}  ({time.perf_counter() - started:.0f} s)"
    )
    if args.explain:
        print_cases(explained, args.explain)


if __name__ == "__main__":
    main()
