"""A fourth, independent model of outpatient clinic days, to score Floor's cascade alert on days nobody tuned it to.

Written blind: from an idea of how outpatient clinics run, not from Floor's projection, alerts, learning, simulator
or the other benchmark worlds. Each day is first lived (a discrete-event simulation of people, rooms and minutes),
then tapped (each member of staff with their own habits), and the taps go through Floor.decide / Floor.apply in the
order and at the minutes they were entered. A second Floor holds the same events stamped with when each step
really happened: the ground truth, scored with loadtests/alert_quality.py's true_cascades and Score unchanged.

    PYTHONPATH=. python loadtests/fourth_days.py [--days 20] [--scenarios a,b] [--seed 5000] [--history 14]
                                                  [--explain N]

How a day is lived (every scenario)
-----------------------------------
Minutes since midnight, clinic time. A small process simulator (generators and a time-ordered queue) with pools of
people and rooms that serve their waiting list in order of a key, skipping requests the free item does not fit.

* A booked patient arrives (the scenario's arrival habit, relative to the booked time), queues at the front desk
  (2 clerks, 1-4 minutes a check-in); "arrived" is when check-in is done. No-shows are marked by the desk 15-45
  minutes after the booked time; 3% of bookings (6% on the holiday Monday) are cancelled early in the morning.
* Rooming needs a room the patient may use (the provider's pod, the shared pool, or a video room) and then a
  medical assistant (MA: the provider's own MA, a float, or the pool). Patients are not roomed more than
  `room_ahead` minutes before their booked time. "roomed" is the patient entering the room; the MA's intake
  (vitals, medications, screening) ends at "prep_done". Shortcut: the room is taken first and the MA second, so
  a free room can sit reserved for a minute or two while its MA finishes something else.
* The provider is a pool of one: they take the waiting prepped patient with the smallest key (the booked time, or
  the arrival in wave clinics), finish before anything else, and chart 1-3 minutes (scenario) before the next.
  Returning to a patient they stepped out of, and a block they must go to (lunch, admin hour, a consult), come
  before a new patient. "provider_in" is the provider walking in; "teach_back_done" the provider's part ending
  (5% of visits skip the teach-back and are checked out without it). The patient then spends the visit type's
  `after` minutes in the room (shots, after-visit summary) and leaves: "checked_out".
* The room is cleaned by an MA (2-5 minutes, a wipe of 0.5-1.5 in the shot clinic; first come first served with
  the MAs' other work) and is ready again; a video room is ready as soon as the call ends.
* Providers arrive 0-10 minutes before the session opens, or late on some days (the scenario says how often). An
  MA taps "running late" on about half of those mornings, before the provider comes.
* Every duration is lognormal around the scenario's mean (coefficient of variation 0.35 for provider time, 0.3
  for intake) and every choice is drawn from one random.Random seeded by the scenario name and the day's seed: the
  same seed gives the same day and the same events. (Teach-back: 0.4; minutes in the room after it: 0.5.)

How a day is tapped (every scenario)
------------------------------------
Every person (desk clerk, MA, provider) has habits, drawn once per person from the scenario's mixture (seeded by
the scenario and the person, so they keep them from day to day):

* a tap lag (exponential, mean 0.3-2.5 minutes), or batch tapping (entered together at moments about 12-15
  minutes apart, when they get back to the tablet);
* whether a tap 3 or more minutes late says when it happened (minutes_ago, rounded to 5 as people say it; capped
  at Floor's 60 and never before the visit's previous step or the room's ready mark, as Floor requires);
* forgetting a step (roomed, prep_done, provider_in, a room's ready mark; the teach-back is then not tapped at
  all): it is tapped when a later tap needs it, by its own person, at that moment and without minutes_ago (the
  provider taps in and the tablet shows the patient still roomed, so the MA taps prep done; the MA rooms a
  patient in a room still shown in turnover, so they mark it ready first; a room still shown occupied gets its
  checkout tapped first). That is the only way a tap is moved: pulled in earlier, never refused;
* MAs who tap roomed only on leaving the room (with prep done), providers who tap provider_in only on leaving.
Checkout is tapped by the desk when the patient stops there on the way out (1-3 minutes after leaving the room,
plus the clerk's lag), or by the MA in the room, by the scenario's share; a video visit's by the MA who connected
it. Bookings come from the schedule at 06:30 (an import), walk-ins are booked at the desk as they come (written
when a walk-in booked late could not say when they came; Floor's booking has minutes_ago since, unused here).

The scenarios (K/L: the clinic's cascade_visits / cascade_minutes; the convention: [session] appointment_time)
------------------------------------------------------------------------------------------------------------
teaching (3/15, provider): a resident continuity clinic. Four residents (PGY-1 slowest, PGY-3 fastest) are
    Floor's providers; one attending precepts them all (1:4) and is not in the clinic file (Floor has no role for
    a provider who sees nobody's patients as their own). The resident sees the patient (provider_in), leaves to
    present to the attending (first come first served; presenting takes about 5 minutes, the PGY-1 6.5), the
    attending joins them in the room (about 5 minutes) for 40% of follow-ups and 80% of new patients, then the
    resident closes with the teach-back. The resident is held the whole time: this program tells residents not
    to start a new patient with one unprecepted. The attending is paged away 1-2 times a session (5-15 minutes).
    Slots: follow-up 40 minutes, same-day acute 30, new 60, 08:00-12:00 and 13:00-17:00, 90% filled, a same-day
    add-on double-booked in 30% of sessions: 10-12 patients a resident-day, fewer than attendings see, as in
    residency clinics. Residents come late from the wards on 20% of mornings. Patients are asked to come 15
    minutes early; 12% no-shows. Rooms: two per resident; two MAs shared.
waves (3/20, arrival): wave scheduling in adult primary care: three patients per provider booked at the top of
    each hour (08-11, 13-15), seen in the order they arrive. The wave's second and third patients are late by
    the clinic's own yardstick by design; a cascade is a wave spilling into the next. Three providers, three rooms
    and one MA each; 20% of visits are annual physicals in the same 20-minute share of the hour. 95% of places
    booked, 10% no-shows, a tenth of patients 10-25 minutes late.
shots_inr (5/10, arrival): a nurse-run injection and anticoagulation (INR) clinic, 07:30-15:30. Five nurses are the
    providers; 10 shared rooms (no nurse's patients in more than three); two MAs room and do the fingerstick.
    5-10 minute visits: INR checks in 15-minute slots, shots and injections in 10, an anticoagulation start in 30
    that runs over; 80% of slots booked. A 30-minute lunch per nurse staggered 11:00-13:00 (held even when
    behind), about 15 flu/COVID walk-ins a day (twice the rate over lunch, 11:30-13:00) sent by the desk to the
    nurse with the fewest waiting; a walk-in not roomed in 30-60 minutes leaves unseen. On 20% of days one of the
    two MAs is out sick and nobody covers. Elderly INR patients come early; 7% no-shows.
interpreter (3/12, arrival): a community health center. Four providers (one speaks Spanish and needs no
    interpreter), 10 shared rooms, three MAs. 30% of patients need a Spanish interpreter (two in-person
    interpreters shared by the clinic: the visit waits for one after prep and holds them until the teach-back;
    after 15 minutes' wait the MA brings a video cart instead), 10% another language (video cart, two carts,
    2-10 minutes to connect). Interpreted visits take 1.5 times the provider's minutes (intake 1.3: the MA uses a
    phone line). 20-minute follow-ups, 30-minute well-child visits, 40-minute new patients, 90% booked.
    Transport makes a fifth of patients 5-20 minutes late and a fifth 10-40 minutes early; 15% no-shows.
holiday_monday (2/20, provider): a family medicine practice on the Monday after a long weekend: overbooked
    (15-minute grid 80% filled plus a sick add-on double-booked in 12% of slots, 18% no-shows), 40% of patients
    come 20-45 minutes early, 1-3 sick walk-ins per provider, providers late in Monday traffic on 15% of days and
    charting their post-holiday inbox 1.5-5 minutes between patients. The clinic file's minutes are
    systematically wrong: new patients take about 37 provider minutes (with the teach-back) against 20 in the
    file, follow-ups about 12 against 15. Pods of two rooms per provider plus two shared rooms, one MA each plus a
    float. The worst day of the seven on purpose: more provider-days with a cascade than the others.
consults (3/10, arrival): a cardiology clinic. Three cardiologists, 8 shared rooms, two MAs and an ECG technician
    (ECG at intake for ECG follow-ups). Each cardiologist has a 30-minute phone/admin block in the schedule at
    10:00 or 14:30, and goes to it at its time even when behind (one always taps stepped away with the minutes,
    one sometimes, one never). On 30% of days a cardiologist is called to the hospital for a consult (25-75
    minutes) after the patient in hand, without telling anyone; an MA taps "stepped away" (no minutes) a third of
    the time, 10-20 minutes after noticing. 15% of visits are stepped out of for a test (orthostatic vitals,
    repeat ECG, 8-15 minutes by the technician) while the cardiologist sees the next patient, then resumed (Floor
    sees one provider_in, and two visits in it at once). 90% of slots booked, 8% no-shows.
telehealth (3/15, provider): behavioural health medication management with video visits. Three prescribers, five
    shared exam rooms and one video room each (Floor requires every visit to be roomed: a video visit is "roomed"
    in its prescriber's video room when the MA connects the patient and does the intake; nobody cleans it, the MA
    marks it ready after the call). 42% of visits are video. A third of video patients join 0-12 minutes late,
    15% with device trouble (5-20 minutes late), 14% never join; 5% of visits become a crisis (safety planning,
    20-40 extra minutes). 20-minute medication visits (13 minutes' talk, notes 1-4 minutes after), new
    evaluations an hour, in person or by video; 92% booked, 10% in-person no-shows.

Shortcuts, said once: no lab draws, imaging or procedures beyond those named; no patient is moved to another
provider after booking (Floor allows a reschedule only while a visit is still scheduled, not a pooled queue of
arrived patients); an MA never holds two patients; a provider's block starts only after the patient in hand;
nobody undoes a tap (no mistaken taps are modelled). Ground truth is the day as lived, with Floor's clinic-file
convention as the yardstick (alert_quality.planned_provider_in).
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import random
import sys
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from floor.config import Clinic, parse_clinic
from floor.core.access import Role
from floor.core.commands import BookVisit, Command, MarkPresence, MarkRoom, TakeStep, Tap
from floor.core.errors import Refusal
from floor.core.events import Event, StepTaken, VisitBooked
from floor.core.floor import MAX_MINUTES_AGO, Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.presence import Presence
from floor.core.rooms import RoomAction
from loadtests.model_days import Model, main, truth_floor

INF = math.inf

# ---------------------------------------------------------------------------------------------------------------
# A small process simulator: processes are generators that yield waits; a wait is called with the simulator and
# the continuation to call (with a value) when it is over.

Wait = Callable[["Sim", Callable[..., None]], None]
Process = Generator[Wait, object, None]


class Sim:
    def __init__(self) -> None:
        self.now = 0.0
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self.n = count()

    def call(self, at: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (at, next(self.n), fn))

    def spawn(self, process: Process, at: float | None = None) -> None:
        self.call(self.now if at is None else max(at, self.now), lambda: self._resume(process, None))

    def _resume(self, process: Process, value: object) -> None:
        try:
            wait = process.send(value)
        except StopIteration:
            return
        wait(self, lambda v=None: self._resume(process, v))

    def run(self) -> None:
        while self._queue:
            self.now, _, fn = heapq.heappop(self._queue)
            fn()


def hold(minutes: float) -> Wait:
    return lambda sim, k: sim.call(sim.now + max(0.0, minutes), k)


def until(at: float) -> Wait:
    return lambda sim, k: sim.call(max(sim.now, at), k)


@dataclass(eq=False)
class _Request:
    key: tuple
    n: int
    fits: Callable[[str], bool] | None
    took: Callable[[str], None] | None
    k: Callable[..., None]


class Pool:
    """People or rooms: a request waits until a free item fits it; the waiting list is served in key order, a
    request that no free item fits letting the next one through. With `patience`, a request gives up (None)."""

    def __init__(self, sim: Sim, items: tuple[str, ...] | list[str] = ()) -> None:
        self.sim = sim
        self.free = list(items)
        self.waiting: list[_Request] = []

    def get(
        self,
        key: tuple,
        fits: Callable[[str], bool] | None = None,
        took: Callable[[str], None] | None = None,
        patience: float | None = None,
    ) -> Wait:
        def wait(sim: Sim, k: Callable[..., None]) -> None:
            request = _Request(key, next(sim.n), fits, took, k)
            self.waiting.append(request)
            if patience is not None:
                sim.call(sim.now + patience, lambda: self._give_up(request))
            self._grant()

        return wait

    def _give_up(self, request: _Request) -> None:
        if any(r is request for r in self.waiting):
            self.waiting.remove(request)
            self.sim.call(self.sim.now, lambda: request.k(None))

    def put(self, item: str) -> None:
        self.free.append(item)
        self._grant()

    def _grant(self) -> None:
        self.waiting.sort(key=lambda r: (r.key, r.n))
        for request in list(self.waiting):
            if not self.free:
                break
            item = next((i for i in self.free if request.fits is None or request.fits(i)), None)
            if item is None:
                continue
            self.free.remove(item)
            self.waiting.remove(request)
            if request.took is not None:
                request.took(item)
            self.sim.call(self.sim.now, lambda k=request.k, i=item: k(i))


def lognormal(rng: random.Random, mean: float, cv: float = 0.35) -> float:
    sigma = math.sqrt(math.log(1 + cv * cv))
    return rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)


# ---------------------------------------------------------------------------------------------------------------
# Scenarios: the clinic file, the visit types' real minutes, and the day's habits.


@dataclass(frozen=True)
class Kind:
    """A visit type: its clinic-file minutes (arrived, roomed, prep_done, provider_in, teach_back_done) and what it
    really takes (MA intake, provider time before the teach-back, teach-back, minutes in the room after it)."""

    code: str
    label: str
    slot: int
    file: tuple[int, int, int, int, int]
    intake: float
    exam: float
    teach: float
    after: float
    video: bool = False


@dataclass(frozen=True)
class Habit:
    lag: float = 0.5  # mean minutes between a step and its tap
    batch: float = 0.0  # > 0: taps entered together about this many minutes apart
    backdate: float = 0.0  # chance a tap 3+ minutes late gives minutes_ago
    forget: float = 0.0  # chance a step is not tapped on its own
    at_exit: float = 0.0  # MA: roomed tapped on leaving the room; provider: provider_in tapped on leaving


#: The habits people have, by role; each scenario weighs them.
HABITS: dict[str, tuple[Habit, ...]] = {
    "desk": (Habit(0.3, backdate=0.2), Habit(1.5, backdate=0.5), Habit(0.0, batch=12, backdate=0.3)),
    "ma": (
        Habit(0.8, backdate=0.5, forget=0.02, at_exit=0.1),  # taps as it goes
        Habit(0.8, backdate=0.5, forget=0.03, at_exit=0.85),  # taps roomed and prep done on leaving the room
        Habit(0.0, batch=15, backdate=0.3, forget=0.06),  # taps at the workstation between patients
    ),
    "provider": (
        Habit(0.4, backdate=0.3, forget=0.03),  # taps at the door
        Habit(1.0, backdate=0.4, forget=0.05, at_exit=0.6),  # taps in on the way out
        Habit(2.5, backdate=0.2, forget=0.2),  # forgets; the teach-back tap pulls provider_in in
    ),
}


@dataclass(eq=False)
class Patient:
    n: int
    name: str
    provider: str
    kind: Kind
    start: float  # booked minutes (walk-in: arrival)
    walk_in: bool = False
    fate: str = "seen"  # seen, no_show, cancelled, lwbs (left without being seen)
    arrive: float = 0.0
    language: str | None = None  # "spanish" or "other": needs an interpreter
    key: float = 0.0  # order of service (booked time, or arrival)
    patience: float | None = None
    real: dict[Stage, float] = field(default_factory=dict)
    room: str | None = None
    desk: str = ""
    ma: str = ""
    checkout_by: tuple[str, Role] = ("", Role.front_desk)
    teach_back: bool = True
    precept_wait: float | None = None
    interpreter_wait: float | None = None
    stepped_out: bool = False
    crisis: bool = False
    ecg: bool = False


@dataclass
class Scenario:
    name: str
    clinic: Clinic
    kinds: dict[str, Kind]
    pods: dict[str, tuple[str, ...]] | None = None  # provider -> own rooms (None: all rooms shared)
    shared_rooms: tuple[str, ...] = ()  # with pods: rooms any provider's patients may use
    video_rooms: dict[str, str] = field(default_factory=dict)  # provider -> their video room
    room_cap: int = 99  # rooms one provider's patients may hold at once
    mas: dict[str, str] | None = None  # provider -> own MA (None: a pool of `ma_pool`)
    ma_pool: int = 2
    float_mas: int = 0
    desks: int = 2
    room_ahead: float = 30.0  # minutes before the booked time a patient may be roomed
    by_arrival: bool = False  # seen in order of arrival, not booking
    chart: tuple[float, float] = (1.0, 3.0)  # minutes between patients
    clean: tuple[float, float] = (2.0, 5.0)  # minutes an MA takes to turn a room over
    ma_out: float = 0.0  # chance an MA of the pool calls out sick (nobody covers)
    late_start: tuple[float, float, float] = (0.1, 10, 25)  # chance, minutes
    desk_checkout: float = 0.6
    weights: dict[str, tuple[float, ...]] = field(
        default_factory=lambda: {"desk": (0.6, 0.3, 0.1), "ma": (0.5, 0.3, 0.2), "provider": (0.5, 0.3, 0.2)}
    )
    # the day's schedule, each patient's arrival (offset from booked time; None: no-show), walk-ins
    book: Callable[[Scenario, random.Random], list[Patient]] = lambda sc, rng: []
    arrival: Callable[[Scenario, random.Random, Patient], float | None] = lambda sc, rng, p: 0.0
    walk_ins: Callable[[Scenario, random.Random], list[tuple[float, str]]] = lambda sc, rng: []
    # features
    teaching: bool = False
    interpreters: int = 0
    carts: int = 0
    techs: int = 0
    lunches: dict[str, tuple[float, float]] = field(default_factory=dict)  # provider -> (at, minutes)
    admin: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # provider -> (at, minutes, tap %)
    consult: float = 0.0  # chance per provider-day of an unannounced hospital consult
    step_out: float = 0.0  # chance a visit is stepped out of for a test
    crisis: float = 0.0
    speed: dict[str, float] = field(default_factory=dict)

    @property
    def providers(self) -> list[str]:
        return [p.id for p in self.clinic.providers]

    @property
    def opens(self) -> float:
        t = self.clinic.session.opens
        return t.hour * 60 + t.minute

    @property
    def closes(self) -> float:
        t = self.clinic.session.closes
        return t.hour * 60 + t.minute


def make_clinic(
    cid: str,
    name: str,
    hours: tuple[str, str],
    convention: str,
    kl: tuple[int, int],
    rooms: list[tuple[str, str, str]],
    providers: list[tuple[str, str, str]],
    kinds: list[Kind],
) -> Clinic:
    lines = [
        f'id = "{cid}"',
        f'name = "{name}"',
        'timezone = "America/New_York"',
        "[session]",
        f"opens = {hours[0]}:00",
        f"closes = {hours[1]}:00",
        f'appointment_time = "{convention}"',
        "[thresholds]",
        f"cascade_visits = {kl[0]}",
        f"cascade_minutes = {kl[1]}",
    ]
    for rid, label, zone in rooms:
        lines += ["[[rooms]]", f'id = "{rid}"', f'label = "{label}"', f'zone = "{zone}"']
    for pid, pname, initials in providers:
        lines += ["[[providers]]", f'id = "{pid}"', f'name = "{pname}"', f'initials = "{initials}"']
    for k in kinds:
        a, r, p, i, t = k.file
        lines += [
            "[[visit_types]]",
            f'code = "{k.code}"',
            f'label = "{k.label}"',
            f"slot_minutes = {k.slot}",
            f"stage_minutes = {{ arrived = {a}, roomed = {r}, prep_done = {p}, provider_in = {i}, "
            f"teach_back_done = {t} }}",
        ]
    return parse_clinic("\n".join(lines), cid)


FIRST = ("Ana", "Ben", "Carla", "Deon", "Elif", "Femi", "Grace", "Hugo", "Iris", "Jun", "Kemal", "Lena", "Malik")
LAST = ("Rivera", "Nguyen", "Okafor", "Schmidt", "Haddad", "Kowalski", "Tanaka", "Mensah", "Ortiz", "Brennan")


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def grid(
    sc: Scenario,
    rng: random.Random,
    provider: str,
    blocks: list[tuple[float, float]],
    mix: dict[str, float],
    fill: float,
    out: list[Patient],
    step: float | None = None,
) -> None:
    """Book `provider`'s blocks slot by slot: a visit type drawn by `mix` (one that fits before the block ends),
    booked with chance `fill`; an empty slot is `step` minutes (default the shortest type's slot)."""
    shortest = step or min(sc.kinds[c].slot for c in mix)
    for start, end in blocks:
        t = start
        while t + shortest <= end:
            fits = {c: w for c, w in mix.items() if t + sc.kinds[c].slot <= end}
            code = rng.choices(list(fits), list(fits.values()))[0]
            if rng.random() < fill:
                out.append(Patient(len(out), _name(rng), provider, sc.kinds[code], t))
                t += sc.kinds[code].slot
            else:
                t += shortest


def _hm(h: int, m: int = 0) -> float:
    return h * 60 + m


# -- teaching ---------------------------------------------------------------------------------------------------

TEACH_KINDS = [
    Kind("follow", "Follow-up", 40, (10, 8, 4, 40, 5), intake=8, exam=22, teach=4, after=4),
    Kind("acute", "Same-day acute", 30, (10, 8, 4, 35, 4), intake=7, exam=18, teach=3, after=3),
    Kind("new", "New patient", 60, (10, 10, 5, 60, 5), intake=11, exam=38, teach=5, after=5),
]


def _teaching_book(sc: Scenario, rng: random.Random) -> list[Patient]:
    out: list[Patient] = []
    for p in sc.providers:
        for block in ((_hm(8), _hm(12)), (_hm(13), _hm(17))):
            grid(sc, rng, p, [block], {"follow": 0.6, "acute": 0.25, "new": 0.15}, 0.9, out)
            if rng.random() < 0.3:  # a same-day add-on, double-booked
                slot = rng.randrange(int(block[0]), int(block[1]) - 60, 30)
                out.append(Patient(len(out), _name(rng), p, sc.kinds["acute"], slot))
    return out


def _teaching_arrival(sc: Scenario, rng: random.Random, p: Patient) -> float | None:
    if rng.random() < 0.12:
        return None
    return rng.uniform(0, 20) if rng.random() < 0.12 else rng.gauss(-14, 9)


def teaching() -> Scenario:
    kinds = TEACH_KINDS
    residents = [("r1", "Dr. Ada Park (PGY-1)", "AP"), ("r2", "Dr. Ben Osei (PGY-2)", "BO")]
    residents += [("r3", "Dr. Cy Lund (PGY-2)", "CL"), ("r4", "Dr. Dana Roy (PGY-3)", "DR")]
    rooms = [(f"t{i}", f"Team room {i}", "teaching") for i in range(1, 9)]
    clinic = make_clinic(
        "teaching", "Resident Continuity Clinic", ("08:00", "17:00"), "provider", (3, 15), rooms, residents, kinds
    )
    return Scenario(
        "teaching",
        clinic,
        {k.code: k for k in kinds},
        pods={f"r{i}": (f"t{2 * i - 1}", f"t{2 * i}") for i in range(1, 5)},
        ma_pool=2,
        room_ahead=30,
        chart=(1, 4),
        late_start=(0.2, 10, 30),
        desk_checkout=0.7,
        book=_teaching_book,
        arrival=_teaching_arrival,
        teaching=True,
        speed={"r1": 1.25, "r2": 1.1, "r3": 1.05, "r4": 0.9},
        weights={"desk": (0.6, 0.3, 0.1), "ma": (0.5, 0.3, 0.2), "provider": (0.25, 0.4, 0.35)},
    )


# -- waves ------------------------------------------------------------------------------------------------------

WAVE_KINDS = [
    Kind("follow", "Follow-up", 20, (5, 6, 3, 15, 3), intake=6, exam=14, teach=3, after=3),
    Kind("annual", "Annual physical", 20, (5, 8, 3, 25, 4), intake=9, exam=24, teach=4, after=5),
]


def _waves_book(sc: Scenario, rng: random.Random) -> list[Patient]:
    out: list[Patient] = []
    for p in sc.providers:
        for hour in (8, 9, 10, 11, 13, 14, 15):
            for _ in range(3):
                if rng.random() < 0.95:
                    kind = sc.kinds["annual" if rng.random() < 0.2 else "follow"]
                    out.append(Patient(len(out), _name(rng), p, kind, _hm(hour)))
    return out


def _waves_arrival(sc: Scenario, rng: random.Random, p: Patient) -> float | None:
    if rng.random() < 0.10:
        return None
    return rng.uniform(10, 25) if rng.random() < 0.10 else rng.gauss(-3, 8)


def waves() -> Scenario:
    kinds = WAVE_KINDS
    provs = [("lee", "Dr. Min Lee", "ML"), ("adeyemi", "Dr. Tolu Adeyemi", "TA"), ("ross", "Kate Ross, PA", "KR")]
    rooms = [(f"{z}{i}", f"{z.upper()}{i}", z) for z in ("a", "b", "c") for i in (1, 2, 3)]
    clinic = make_clinic(
        "waves", "Hillcrest Internal Medicine", ("08:00", "16:30"), "arrival", (3, 20), rooms, provs, kinds
    )
    ids = [p[0] for p in provs]
    return Scenario(
        "waves",
        clinic,
        {k.code: k for k in kinds},
        pods={p: tuple(f"{z}{i}" for i in (1, 2, 3)) for p, z in zip(ids, "abc", strict=True)},
        mas={p: f"ma-{p}" for p in ids},
        room_ahead=20,
        by_arrival=True,
        book=_waves_book,
        arrival=_waves_arrival,
        speed={"lee": 1.0, "adeyemi": 1.08, "ross": 0.95},
    )


# -- shots_inr --------------------------------------------------------------------------------------------------

SHOT_KINDS = [
    Kind("inr", "INR check", 15, (3, 2, 3, 8, 2), intake=3.5, exam=6.5, teach=2, after=1),
    Kind("vaccine", "Vaccine", 10, (3, 1, 2, 5, 1), intake=2, exam=4, teach=1, after=1.5),
    Kind("injection", "Injection", 10, (3, 1, 2, 5, 1), intake=2, exam=5, teach=1, after=1),
    Kind("anticoag_start", "Anticoagulation start", 30, (3, 3, 3, 25, 5), intake=4, exam=30, teach=8, after=2),
]


def _shots_book(sc: Scenario, rng: random.Random) -> list[Patient]:
    out: list[Patient] = []
    mix = {"inr": 0.55, "vaccine": 0.2, "injection": 0.2, "anticoag_start": 0.05}
    for p in sc.providers:
        lunch, minutes = sc.lunches[p]
        grid(sc, rng, p, [(_hm(7, 30), lunch), (lunch + minutes, _hm(15, 15))], mix, 0.8, out, step=10)
    return out


def _shots_arrival(sc: Scenario, rng: random.Random, p: Patient) -> float | None:
    if rng.random() < 0.07:
        return None
    if p.kind.code in ("inr", "anticoag_start"):
        return rng.uniform(5, 15) if rng.random() < 0.05 else rng.gauss(-8, 8)
    return rng.uniform(5, 15) if rng.random() < 0.1 else rng.gauss(-3, 6)


def _shots_walk_ins(sc: Scenario, rng: random.Random) -> list[tuple[float, str]]:
    """About 30 a day, twice as many an hour over lunch (11:30-13:00) as otherwise."""
    out, t = [], _hm(7, 45)
    while True:
        t += rng.expovariate(1 / 18)
        if t >= _hm(15):
            return out
        if _hm(11, 30) <= t < _hm(13) or rng.random() < 0.5:
            out.append((t, "vaccine"))


def shots_inr() -> Scenario:
    kinds = SHOT_KINDS
    nurses = [(f"n{i}", f"Nurse {n}", n[:2].upper()) for i, n in enumerate(("Amos", "Bea", "Cruz", "Dee", "Eun"), 1)]
    rooms = [(f"s{i}", f"Shot room {i}", "shots") for i in range(1, 11)]
    clinic = make_clinic(
        "shots", "Anticoagulation and Injection Clinic", ("07:30", "15:30"), "arrival", (5, 10), rooms, nurses, kinds
    )
    lunches = {f"n{i}": (_hm(11) + 30 * (i - 1), 30.0) for i in range(1, 6)}
    lunches = {p: (min(at, _hm(13)), m) for p, (at, m) in lunches.items()}
    return Scenario(
        "shots_inr",
        clinic,
        {k.code: k for k in kinds},
        room_cap=3,
        ma_pool=2,
        room_ahead=20,
        chart=(0.5, 1.5),
        clean=(0.5, 1.5),
        ma_out=0.2,
        late_start=(0.05, 10, 20),
        desk_checkout=0.3,
        book=_shots_book,
        arrival=_shots_arrival,
        walk_ins=_shots_walk_ins,
        lunches=lunches,
        speed={"n1": 1.0, "n2": 0.9, "n3": 1.1, "n4": 1.0, "n5": 1.15},
    )


# -- interpreter ------------------------------------------------------------------------------------------------

CHC_KINDS = [
    Kind("follow", "Follow-up", 20, (10, 8, 3, 15, 3), intake=7, exam=14, teach=3, after=3),
    Kind("new", "New patient", 40, (10, 12, 4, 30, 5), intake=12, exam=30, teach=5, after=5),
    Kind("wcc", "Well child", 30, (10, 10, 4, 22, 4), intake=10, exam=20, teach=4, after=8),
]


def _chc_book(sc: Scenario, rng: random.Random) -> list[Patient]:
    out: list[Patient] = []
    for p in sc.providers:
        grid(sc, rng, p, [(_hm(8), _hm(12)), (_hm(13), _hm(17))], {"follow": 0.6, "new": 0.15, "wcc": 0.25}, 0.9, out)
    for patient in out:
        u = rng.random()
        language = "spanish" if u < 0.30 else "other" if u < 0.40 else None
        if language == "spanish" and patient.provider == "garcia":
            language = None  # Dr. Garcia sees Spanish-speaking patients herself
        patient.language = language
    return out


def _chc_arrival(sc: Scenario, rng: random.Random, p: Patient) -> float | None:
    if rng.random() < 0.15:
        return None
    u = rng.random()
    return rng.uniform(5, 20) if u < 0.2 else rng.uniform(-40, -10) if u < 0.4 else rng.gauss(-5, 5)


def interpreter() -> Scenario:
    kinds = CHC_KINDS
    provs = [("garcia", "Dr. Lucia Garcia", "LG"), ("fox", "Dr. Sam Fox", "SF"), ("ito", "Mei Ito, NP", "MI")]
    provs.append(("baker", "Dr. Omar Baker", "OB"))
    rooms = [(f"c{i}", f"Exam {i}", "main") for i in range(1, 11)]
    clinic = make_clinic(
        "chc", "Eastside Community Health Center", ("08:00", "17:00"), "arrival", (3, 12), rooms, provs, kinds
    )
    return Scenario(
        "interpreter",
        clinic,
        {k.code: k for k in kinds},
        room_cap=3,
        ma_pool=3,
        room_ahead=15,
        late_start=(0.1, 10, 25),
        book=_chc_book,
        arrival=_chc_arrival,
        interpreters=2,
        carts=2,
        speed={"garcia": 1.05, "fox": 0.95, "ito": 1.0, "baker": 1.0},
    )


# -- holiday_monday ---------------------------------------------------------------------------------------------

FM_KINDS = [
    Kind("follow", "Follow-up", 15, (10, 6, 3, 15, 3), intake=6, exam=10.5, teach=2, after=3),
    Kind("sick", "Sick visit", 15, (10, 6, 3, 12, 3), intake=6, exam=12, teach=3, after=3),
    Kind("new", "New patient", 30, (10, 8, 3, 20, 4), intake=12, exam=32, teach=5, after=5),
]


def _fm_book(sc: Scenario, rng: random.Random) -> list[Patient]:
    out: list[Patient] = []
    for p in sc.providers:
        grid(sc, rng, p, [(_hm(8), _hm(12)), (_hm(13), _hm(17))], {"follow": 0.6, "sick": 0.25, "new": 0.15}, 0.8, out)
        for slot in range(int(_hm(8)), int(_hm(16, 45)), 15):
            if _hm(12) <= slot < _hm(13):
                continue
            if rng.random() < 0.12:  # a sick add-on, double-booked
                out.append(Patient(len(out), _name(rng), p, sc.kinds["sick"], slot))
    return out


def _fm_arrival(sc: Scenario, rng: random.Random, p: Patient) -> float | None:
    if rng.random() < 0.18:
        return None
    u = rng.random()
    return rng.uniform(-45, -20) if u < 0.4 else rng.uniform(0, 20) if u < 0.55 else rng.gauss(-12, 6)


def _fm_walk_ins(sc: Scenario, rng: random.Random) -> list[tuple[float, str]]:
    n = sum(rng.randint(1, 3) for _ in sc.providers)
    return sorted((rng.uniform(_hm(8), _hm(15, 30)), "sick") for _ in range(n))


def holiday_monday() -> Scenario:
    kinds = FM_KINDS
    provs = [("moreau", "Dr. Claire Moreau", "CM"), ("singh", "Dr. Ravi Singh", "RS")]
    provs += [("walsh", "Dr. Erin Walsh", "EW"), ("kato", "Ken Kato, PA", "KK")]
    ids = [p[0] for p in provs]
    rooms = [(f"{p[:2]}{i}", f"{p.title()} {i}", p) for p in ids for i in (1, 2)]
    rooms += [("x1", "Shared 1", "shared"), ("x2", "Shared 2", "shared")]
    clinic = make_clinic("fm", "Maple Family Medicine", ("08:00", "17:00"), "provider", (2, 20), rooms, provs, kinds)
    return Scenario(
        "holiday_monday",
        clinic,
        {k.code: k for k in kinds},
        pods={p: (f"{p[:2]}1", f"{p[:2]}2") for p in ids},
        shared_rooms=("x1", "x2"),
        mas={p: f"ma-{p}" for p in ids},
        float_mas=1,
        room_ahead=45,
        chart=(1.5, 5),
        late_start=(0.15, 10, 30),
        desk_checkout=0.7,
        book=_fm_book,
        arrival=_fm_arrival,
        walk_ins=_fm_walk_ins,
        speed={"moreau": 1.0, "singh": 0.92, "walsh": 1.1, "kato": 1.0},
        weights={"desk": (0.4, 0.35, 0.25), "ma": (0.35, 0.3, 0.35), "provider": (0.4, 0.3, 0.3)},
    )


# -- consults ---------------------------------------------------------------------------------------------------

CARDIO_KINDS = [
    Kind("follow", "Follow-up", 20, (10, 8, 4, 15, 3), intake=7, exam=15, teach=3, after=3),
    Kind("ecg_follow", "Follow-up with ECG", 20, (10, 15, 4, 15, 3), intake=7, exam=14, teach=3, after=2),
    Kind("new", "New consult", 40, (10, 10, 4, 30, 5), intake=10, exam=30, teach=5, after=5),
]


def _cardio_book(sc: Scenario, rng: random.Random) -> list[Patient]:
    out: list[Patient] = []
    for p in sc.providers:
        at, minutes, _ = sc.admin[p]
        cuts = sorted([(_hm(8), _hm(12)), (_hm(13), _hm(16, 30))])
        blocks = []
        for a, b in cuts:
            if a <= at < b:
                blocks += [(a, at), (at + minutes, b)]
            else:
                blocks.append((a, b))
        grid(sc, rng, p, blocks, {"follow": 0.45, "ecg_follow": 0.35, "new": 0.2}, 0.9, out)
    return out


def _cardio_arrival(sc: Scenario, rng: random.Random, p: Patient) -> float | None:
    if rng.random() < 0.08:
        return None
    return rng.uniform(5, 20) if rng.random() < 0.1 else rng.gauss(-8, 7)


def consults() -> Scenario:
    kinds = CARDIO_KINDS
    provs = [("abara", "Dr. Ngozi Abara", "NA"), ("lind", "Dr. Erik Lind", "EL"), ("shah", "Dr. Priya Shah", "PS")]
    rooms = [(f"k{i}", f"Cardiology {i}", "cardio") for i in range(1, 9)]
    clinic = make_clinic(
        "cardio", "Heart and Vascular Clinic", ("08:00", "16:30"), "arrival", (3, 10), rooms, provs, kinds
    )
    return Scenario(
        "consults",
        clinic,
        {k.code: k for k in kinds},
        room_cap=3,
        ma_pool=2,
        techs=1,
        room_ahead=20,
        chart=(1, 3),
        book=_cardio_book,
        arrival=_cardio_arrival,
        admin={"abara": (_hm(10), 30, 1.0), "lind": (_hm(14, 30), 30, 0.4), "shah": (_hm(10), 30, 0.0)},
        consult=0.3,
        step_out=0.15,
        speed={"abara": 1.0, "lind": 1.1, "shah": 0.95},
    )


# -- telehealth -------------------------------------------------------------------------------------------------

BH_KINDS = [
    Kind("med", "Medication management", 20, (10, 6, 4, 15, 2), intake=6, exam=13, teach=2, after=2),
    Kind(
        "med_video",
        "Medication management (video)",
        20,
        (5, 4, 2, 15, 2),
        intake=4,
        exam=12.5,
        teach=2,
        after=0.5,
        video=True,
    ),
    Kind("eval", "New evaluation", 60, (10, 10, 5, 50, 5), intake=12, exam=48, teach=4, after=3),
    Kind(
        "eval_video", "New evaluation (video)", 60, (5, 6, 3, 50, 5), intake=6, exam=48, teach=4, after=0.5, video=True
    ),
]


def _bh_book(sc: Scenario, rng: random.Random) -> list[Patient]:
    out: list[Patient] = []
    mix = {"med": 0.5, "med_video": 0.36, "eval": 0.08, "eval_video": 0.06}
    for p in sc.providers:
        grid(sc, rng, p, [(_hm(8), _hm(12)), (_hm(13), _hm(17))], mix, 0.92, out)
    return out


def _bh_arrival(sc: Scenario, rng: random.Random, p: Patient) -> float | None:
    if p.kind.video:
        if rng.random() < 0.14:
            return None
        u = rng.random()
        return rng.uniform(5, 20) if u < 0.15 else rng.uniform(0, 12) if u < 0.45 else rng.gauss(-4, 3)
    if rng.random() < 0.10:
        return None
    return rng.uniform(0, 15) if rng.random() < 0.15 else rng.gauss(-10, 6)


def telehealth() -> Scenario:
    kinds = BH_KINDS
    provs = [("quinn", "Dr. Avery Quinn", "AQ"), ("mbeki", "Thandi Mbeki, PMHNP", "TM")]
    provs.append(("costa", "Dr. Rui Costa", "RC"))
    rooms = [(f"b{i}", f"Office {i}", "clinic") for i in range(1, 6)]
    rooms += [(f"video-{p[0]}", f"Video {p[1].split()[-1]}", "video") for p in provs]
    clinic = make_clinic(
        "bh", "Riverbend Behavioral Health", ("08:00", "17:00"), "provider", (3, 15), rooms, provs, kinds
    )
    return Scenario(
        "telehealth",
        clinic,
        {k.code: k for k in kinds},
        video_rooms={p[0]: f"video-{p[0]}" for p in provs},
        room_cap=2,
        ma_pool=2,
        room_ahead=15,
        chart=(1, 4),
        late_start=(0.1, 5, 20),
        desk_checkout=0.5,
        book=_bh_book,
        arrival=_bh_arrival,
        crisis=0.05,
        speed={"quinn": 1.0, "mbeki": 0.95, "costa": 1.08},
    )


def _scenarios() -> dict[str, Scenario]:
    built = [teaching(), waves(), shots_inr(), interpreter(), holiday_monday(), consults(), telehealth()]
    return {sc.name: sc for sc in built}


SCENARIOS = _scenarios()


# ---------------------------------------------------------------------------------------------------------------
# The day as lived.


@dataclass
class Presence_:
    """A presence tap someone will make: when it is due (real), about whom, by whom."""

    real: float
    provider: str
    status: Presence
    back_in: int | None
    who: str
    role: Role


@dataclass
class Block:
    provider: str
    kind: str  # lunch, admin, consult, late
    start: float
    end: float


class World:
    def __init__(self, sc: Scenario, seed: int) -> None:
        self.sc = sc
        self.rng = random.Random(f"{sc.name}/{seed}")
        self.sim = Sim()
        rooms = [r.id for r in sc.clinic.rooms]
        self.rooms = Pool(self.sim, rooms)
        self.held = dict.fromkeys(sc.providers, 0)
        ma_ids = list(sc.mas.values()) if sc.mas else [f"ma{i}" for i in range(1, sc.ma_pool + 1)]
        if sc.mas is None and self.rng.random() < sc.ma_out:
            ma_ids.pop()
        ma_ids += [f"float{i}" for i in range(1, sc.float_mas + 1)]
        self.mas = Pool(self.sim, ma_ids)
        self.desk = Pool(self.sim, [f"desk{i}" for i in range(1, sc.desks + 1)])
        self.providers = {p: Pool(self.sim) for p in sc.providers}
        self.attending = Pool(self.sim, ["attending"])
        self.interpreters = Pool(self.sim, [f"interp{i}" for i in range(1, sc.interpreters + 1)])
        self.carts = Pool(self.sim, [f"cart{i}" for i in range(1, sc.carts + 1)])
        self.techs = Pool(self.sim, [f"tech{i}" for i in range(1, sc.techs + 1)])
        self.patients: list[Patient] = []
        self.presence: list[Presence_] = []
        self.blocks: list[Block] = []
        #: Each room's uses: (patient, left the room, ready again, who made it ready).
        self.turnovers: dict[str, list[tuple[Patient, float, float, str]]] = {r: [] for r in rooms}
        self.speed = {p: sc.speed.get(p, 1.0) * self.rng.gauss(1, 0.06) for p in sc.providers}
        self.cancel_at: dict[int, float] = {}

    def run(self) -> None:
        sc, rng = self.sc, self.rng
        self.patients = sc.book(sc, rng)
        for p in self.patients:
            p.key = p.start
            if rng.random() < (0.06 if sc.name == "holiday_monday" else 0.03):
                p.fate = "cancelled"
                self.cancel_at[p.n] = rng.uniform(_hm(6, 45), max(_hm(7), p.start - 60))
                continue
            offset = sc.arrival(sc, rng, p)
            if offset is None:
                p.fate = "no_show"
                continue
            p.arrive = p.start + offset
            p.crisis = rng.random() < sc.crisis
            p.ecg = p.kind.code == "ecg_follow"
            self.sim.spawn(self.visit(p), at=p.arrive)
        for at, code in sc.walk_ins(sc, rng):
            p = Patient(len(self.patients), _name(rng), "", sc.kinds[code], at, walk_in=True, arrive=at)
            p.key, p.patience = at + 10, rng.uniform(30, 60)
            self.patients.append(p)
            self.sim.spawn(self.visit(p), at=at)
        for provider in sc.providers:
            self._provider_day(provider)
        self._attending_pages()
        self.sim.run()

    # -- the providers' day

    def _provider_day(self, provider: str) -> None:
        sc, rng = self.sc, self.rng
        late_chance, lo, hi = sc.late_start
        comes = sc.opens - rng.uniform(0, 10)
        if rng.random() < late_chance:
            comes = sc.opens + rng.uniform(lo, hi)
            self.blocks.append(Block(provider, "late", sc.opens, comes))
            if rng.random() < 0.5:
                said = sc.opens + rng.uniform(0, min(8, comes - sc.opens - 1))
                minutes = round((comes - said) / 5) * 5 or 5
                who = next(iter(sc.mas.values())) if sc.mas else "ma1"
                self.presence.append(
                    Presence_(said, provider, Presence.running_late, minutes, who, Role.medical_assistant)
                )
        self.sim.call(comes, lambda: self.providers[provider].put(provider))
        if provider in sc.lunches:
            at, minutes = sc.lunches[provider]
            self.sim.spawn(self._block(provider, "lunch", at, minutes, None), at=at)
        if provider in sc.admin:
            at, minutes, taps = sc.admin[provider]
            self.sim.spawn(self._block(provider, "admin", at, minutes, rng.random() < taps), at=at)
        if rng.random() < sc.consult:
            at = rng.uniform(_hm(9), _hm(15))
            self.sim.spawn(self._block(provider, "consult", at, rng.uniform(25, 75), False), at=at)

    def _block(self, provider: str, kind: str, at: float, minutes: float, tapped: bool | None) -> Process:
        """The provider leaves for a block once the patient in hand is done; `tapped`: they say so, with the
        minutes (None: nobody needs telling, as for lunch; False: nobody says; an MA may notice a consult)."""
        p = yield self.providers[provider].get((-1, at))
        start = self.sim.now
        self.blocks.append(Block(provider, kind, start, start + minutes))
        if tapped:
            self.presence.append(
                Presence_(start, provider, Presence.stepped_away, int(minutes), provider, Role.provider)
            )
        elif kind == "consult" and self.rng.random() < 0.35:
            noticed = start + self.rng.uniform(10, 20)
            if noticed < start + minutes - 3:
                self.presence.append(
                    Presence_(noticed, provider, Presence.stepped_away, None, "ma1", Role.medical_assistant)
                )
        yield hold(minutes)
        if tapped and self.rng.random() < 0.5:
            self.presence.append(Presence_(self.sim.now, provider, Presence.back, None, provider, Role.provider))
        self.providers[provider].put(p)

    def _attending_pages(self) -> None:
        """The attending is paged away once or twice a session (teaching)."""
        if not self.sc.teaching:
            return
        for start, end in ((_hm(8), _hm(12)), (_hm(13), _hm(17))):
            for _ in range(self.rng.choice((1, 1, 2))):
                at = self.rng.uniform(start + 20, end - 30)
                self.sim.spawn(self._page(at, self.rng.uniform(5, 15)), at=at)

    def _page(self, at: float, minutes: float) -> Process:
        a = yield self.attending.get((-1, at))
        yield hold(minutes)
        self.attending.put(a)

    # -- a patient's visit

    def _room_fits(self, p: Patient) -> Callable[[str], bool]:
        sc = self.sc
        if p.kind.video:
            own = sc.video_rooms[p.provider]
            return lambda r: r == own
        video = set(sc.video_rooms.values())
        if sc.pods is not None:
            mine = set(sc.pods[p.provider]) | set(sc.shared_rooms)
            return lambda r: r in mine
        return lambda r: r not in video and self.held[p.provider] < sc.room_cap

    def _ma_fits(self, p: Patient) -> Callable[[str], bool] | None:
        if self.sc.mas is None:
            return None
        own = self.sc.mas[p.provider]
        return lambda m: m == own or m.startswith("float")

    def _pick_provider(self) -> str:
        """The desk sends a walk-in to the provider with the fewest patients waiting for them."""
        waiting = dict.fromkeys(self.sc.providers, 0)
        for q in self.patients:
            if q.provider and Stage.arrived in q.real and Stage.provider_in not in q.real and q.fate == "seen":
                waiting[q.provider] += 1
        least = min(waiting.values())
        return self.rng.choice([p for p, n in waiting.items() if n == least])

    def visit(self, p: Patient) -> Process:
        sc, rng, sim = self.sc, self.rng, self.sim
        d = yield self.desk.get((sim.now,))
        p.desk = d
        yield hold(rng.triangular(1, 4, 1.5))
        self.desk.put(d)
        p.real[Stage.arrived] = sim.now
        if p.walk_in:
            p.provider = self._pick_provider()
        else:
            yield until(p.start - sc.room_ahead)
        speed = self.speed[p.provider]
        fits = self._room_fits(p)

        def took(room: str) -> None:
            self.held[p.provider] += 1

        room = yield self.rooms.get((p.arrive if sc.by_arrival else p.key,), fits, took, p.patience)
        if room is None:
            p.fate = "lwbs"
            p.real[Stage.left_without_being_seen] = sim.now
            return
        ma = yield self.mas.get((sim.now,), self._ma_fits(p))
        p.room, p.ma = str(room), str(ma)
        p.real[Stage.roomed] = sim.now
        interpreted = p.language is not None
        yield hold(lognormal(rng, p.kind.intake * (1.3 if interpreted else 1.0), 0.3))
        if p.ecg:
            tech = yield self.techs.get((sim.now,))
            yield hold(lognormal(rng, 8, 0.25))
            self.techs.put(tech)
        p.real[Stage.prep_done] = sim.now
        self.mas.put(ma)
        helper = None
        if interpreted:
            asked = sim.now
            if p.language == "spanish":
                helper = yield self.interpreters.get((p.key,), patience=15)
            if helper is None:
                helper = yield self.carts.get((p.key,))
                yield hold(rng.uniform(2, 10))
            p.interpreter_wait = sim.now - asked
        order = (1, p.arrive if sc.by_arrival else p.key)
        doc = yield self.providers[p.provider].get(order)
        p.real[Stage.provider_in] = sim.now
        factor = speed * (1.5 if interpreted else 1.0)
        exam = lognormal(rng, p.kind.exam * factor)
        if p.crisis:
            exam += rng.uniform(20, 40)
        if rng.random() < sc.step_out:
            p.stepped_out = True
            yield hold(exam * 0.6)
            self.providers[p.provider].put(doc)
            tech = yield (self.techs if sc.techs else self.mas).get((sim.now,))
            yield hold(rng.uniform(8, 15))
            (self.techs if sc.techs else self.mas).put(tech)
            doc = yield self.providers[p.provider].get((0, sim.now))
            exam *= 0.4
        yield hold(exam)
        if sc.teaching:
            asked = sim.now
            a = yield self.attending.get((0, sim.now))
            p.precept_wait = sim.now - asked
            yield hold(lognormal(rng, 5 * (1.3 if p.provider == "r1" else 1.0), 0.3))
            if rng.random() < (0.8 if p.kind.code == "new" else 0.4):
                yield hold(lognormal(rng, 5, 0.4))
            self.attending.put(a)
        p.teach_back = rng.random() >= 0.05
        if p.teach_back:
            yield hold(lognormal(rng, p.kind.teach * (1.5 if interpreted else 1.0), 0.4))
        p.real[Stage.teach_back_done] = sim.now
        if helper is not None:
            (self.interpreters if helper.startswith("interp") else self.carts).put(helper)
        sim.call(sim.now + rng.uniform(*sc.chart), lambda: self.providers[p.provider].put(doc))
        yield hold(lognormal(rng, p.kind.after, 0.5))
        p.real[Stage.checked_out] = sim.now
        if rng.random() < sc.desk_checkout or p.kind.video:
            p.checkout_by = (
                p.desk if not p.kind.video else p.ma,
                Role.front_desk if not p.kind.video else Role.medical_assistant,
            )
        else:
            p.checkout_by = (p.ma, Role.medical_assistant)
        sim.spawn(self._turnover(p, room))

    def _turnover(self, p: Patient, room: str) -> Process:
        left = self.sim.now
        self.held[p.provider] -= 1
        if p.kind.video:
            self.turnovers[room].append((p, left, left, p.ma))
            self.rooms.put(room)
            return
        ma = yield self.mas.get((self.sim.now,), self._ma_fits(p))
        yield hold(self.rng.uniform(*self.sc.clean))
        self.mas.put(ma)
        self.turnovers[room].append((p, left, self.sim.now, str(ma)))
        self.rooms.put(room)


# ---------------------------------------------------------------------------------------------------------------
# The day as tapped.


@dataclass(eq=False)
class Intent:
    """A tap someone will make: what, about what, by whom; when the step really happened (`real`) and when they
    mean to enter it (`entry`; INF: forgotten, entered when a later tap needs it or at the day's end). `needs`:
    taps Floor must have first (pulled in, at the same minute, if not entered yet)."""

    kind: str  # book, walk_in, step, ready, presence
    real: float
    entry: float
    who: str
    role: Role
    patient: Patient | None = None
    step: Stage | None = None
    room: str | None = None
    backdate: bool = False
    presence: Presence_ | None = None
    needs: list[Intent] = field(default_factory=list)
    forgotten: bool = False
    done: bool = False


@dataclass
class Refused:
    what: str
    why: str

    def __str__(self) -> str:
        return f"{self.what}: {self.why}"


class Tablets:
    def __init__(self, world: World, day: dt.date, seed: int) -> None:
        self.world = world
        self.sc = world.sc
        self.day = day
        self.rng = random.Random(f"{self.sc.name}/{seed}/taps")
        self.base = self.sc.clinic.local(day, dt.time(0))
        self.floor = Floor(self.sc.clinic, day, 0, Ids.seeded(f"{self.sc.name}/{seed}"))
        self.events: list[Event] = []
        self.refused: list[Refused] = []
        #: seq -> when the step (or walk-in) really happened, for the truth floor.
        self.real: dict[int, dt.datetime] = {}
        self.visit_id: dict[int, str] = {}
        self.intents: list[Intent] = []
        self._moments: dict[str, list[float]] = {}

    def at(self, minutes: float) -> dt.datetime:
        return self.base + dt.timedelta(seconds=round(minutes * 60))

    def habit(self, person: str, kind: str) -> Habit:
        choice = random.Random(f"{self.sc.name}/{person}")
        return choice.choices(HABITS[kind], self.sc.weights[kind])[0]

    def entry(self, person: str, kind: str, real: float) -> float:
        habit = self.habit(person, kind)
        if habit.batch:
            moments = self._moments.get(person)
            if moments is None:
                t, moments = self.sc.opens - 30 + self.rng.uniform(0, habit.batch), []
                while t < self.sc.closes + 240:
                    moments.append(t)
                    t += habit.batch * self.rng.uniform(0.6, 1.4)
                self._moments[person] = moments
            return next((m for m in moments if m >= real + 0.3), real + 1)
        return real + self.rng.expovariate(1 / max(habit.lag, 0.05))

    def _intend(self, intent: Intent) -> Intent:
        self.intents.append(intent)
        return intent

    def _step(self, p: Patient, step: Stage, who: str, role: Role, kind: str, needs: Intent, real: float) -> Intent:
        habit = self.habit(who, kind)
        forgot = step in (Stage.roomed, Stage.prep_done, Stage.provider_in) and self.rng.random() < habit.forget
        entry = INF if forgot else self.entry(who, kind, real)
        backdate = self.rng.random() < habit.backdate
        return self._intend(
            Intent("step", real, entry, who, role, p, step, backdate=backdate, needs=[needs], forgotten=forgot)
        )

    def plan(self) -> None:
        """Every tap the day's staff will make, with when they mean to make it."""
        w = self.world
        booked = sorted((p for p in w.patients if not p.walk_in), key=lambda p: (p.start, p.n))
        first: dict[int, Intent] = {}
        for p in booked:
            first[p.n] = self._intend(Intent("book", _hm(6, 30), _hm(6, 30), "schedule", Role.front_desk, p))
        rooming: dict[int, Intent] = {}
        checkout: dict[int, Intent] = {}
        for p in sorted(w.patients, key=lambda p: (p.arrive if p.walk_in else p.start, p.n)):
            if p.fate == "cancelled":
                at = w.cancel_at[p.n]
                self._intend(Intent("step", at, at, "desk1", Role.front_desk, p, Stage.cancelled, needs=[first[p.n]]))
                continue
            if p.fate == "no_show":
                at = p.start + self.rng.uniform(15, 45)
                self._intend(Intent("step", at, at, "desk1", Role.front_desk, p, Stage.no_show, needs=[first[p.n]]))
                continue
            arrived = p.real[Stage.arrived]
            if p.walk_in:
                last = self._intend(
                    Intent("walk_in", arrived, self.entry(p.desk, "desk", arrived), p.desk, Role.front_desk, p)
                )
            else:
                last = self._step(p, Stage.arrived, p.desk, Role.front_desk, "desk", first[p.n], arrived)
            if p.fate == "lwbs":
                at = p.real[Stage.left_without_being_seen]
                noticed = at + self.rng.uniform(0, 10)
                self._intend(
                    Intent("step", at, noticed, p.desk, Role.front_desk, p, Stage.left_without_being_seen, needs=[last])
                )
                continue
            roomed = self._step(p, Stage.roomed, p.ma, Role.medical_assistant, "ma", last, p.real[Stage.roomed])
            roomed.room = p.room
            rooming[p.n] = roomed
            prep = self._step(p, Stage.prep_done, p.ma, Role.medical_assistant, "ma", roomed, p.real[Stage.prep_done])
            if roomed.entry < INF and prep.entry < INF and self.rng.random() < self.habit(p.ma, "ma").at_exit:
                roomed.entry = prep.entry  # tapped on leaving the room, just before prep done
            doc = self._step(
                p, Stage.provider_in, p.provider, Role.provider, "provider", prep, p.real[Stage.provider_in]
            )
            teach_real = p.real[Stage.teach_back_done]
            last = doc
            forgot_teach = self.rng.random() < self.habit(p.provider, "provider").forget / 2
            if p.teach_back and not forgot_teach:
                last = self._step(p, Stage.teach_back_done, p.provider, Role.provider, "provider", doc, teach_real)
                if doc.entry < INF and self.rng.random() < self.habit(p.provider, "provider").at_exit:
                    doc.entry = last.entry  # tapped in on the way out, with the teach-back
            who, role = p.checkout_by
            out_real = p.real[Stage.checked_out]
            seen_at = out_real + (self.rng.uniform(1, 3) if role is Role.front_desk and not p.kind.video else 0)
            kind = "desk" if role is Role.front_desk else "ma"
            out = Intent(
                "step",
                out_real,
                self.entry(who, kind, seen_at),
                who,
                role,
                p,
                Stage.checked_out,
                backdate=self.rng.random() < self.habit(who, kind).backdate,
                needs=[last],
            )
            checkout[p.n] = self._intend(out)
        # Rooms: each use after the first needs the room marked ready after the previous patient left.
        for room, uses in w.turnovers.items():
            occupants = sorted((p for p in w.patients if p.room == room), key=lambda p: p.real[Stage.roomed])
            for (p, _left, ready, ma), following in zip(uses, [*occupants[1:], None], strict=True):
                habit = self.habit(ma, "ma")
                entry = INF if self.rng.random() < habit.forget else self.entry(ma, "ma", ready)
                mark = self._intend(
                    Intent(
                        "ready",
                        ready,
                        entry,
                        ma,
                        Role.medical_assistant,
                        p,
                        room=room,
                        needs=[checkout[p.n]],
                        forgotten=entry == INF,
                    )
                )
                if following is not None:
                    rooming[following.n].needs.append(mark)
        for mark in w.presence:
            kind = "provider" if mark.role is Role.provider else "ma"
            entry = mark.real if mark.status is Presence.running_late else self.entry(mark.who, kind, mark.real)
            self._intend(Intent("presence", mark.real, entry, mark.who, mark.role, presence=mark))

    def run(self) -> None:
        self.plan()
        finite = [i.entry for i in self.intents if i.entry < INF]
        sweep = max(finite) + 5
        queue = [(i.entry if i.entry < INF else sweep, n, i) for n, i in enumerate(self.intents)]
        heapq.heapify(queue)
        while queue:
            now, _, intent = heapq.heappop(queue)
            if not intent.done:
                self.enter(intent, now)

    def enter(self, intent: Intent, now: float) -> None:
        for need in intent.needs:
            if not need.done:
                need.forgotten = need.forgotten or need.entry > now
                self.enter(need, now)
        intent.done = True
        at = self.at(now)
        p = intent.patient
        command: Command
        if intent.kind in ("book", "walk_in"):
            assert p is not None
            walk_in = intent.kind == "walk_in"
            command = BookVisit(p.name, p.provider, p.kind.code, None if walk_in else self.at(p.start), walk_in)
        elif intent.kind == "step":
            assert p is not None and intent.step is not None
            visit = self.visit_id[p.n]
            command = TakeStep(visit, intent.step, intent.room, minutes_ago=self._minutes_ago(intent, visit, at))
        elif intent.kind == "ready":
            assert intent.room is not None
            command = MarkRoom(intent.room, RoomAction.ready)
        else:
            mark = intent.presence
            assert mark is not None
            command = MarkPresence(mark.provider, mark.status, mark.back_in)
        provider = intent.who if intent.role is Role.provider else None
        tap = Tap(intent.who, f"tablet-{intent.who}", at, intent.role, provider)
        try:
            event = self.floor.decide(command, tap)
        except Refusal as e:
            self.refused.append(Refused(f"{intent.kind} {intent.step} {p.n if p else ''} at {at:%H:%M}", e.message))
            return
        self.floor.apply(event)
        self.events.append(event)
        if isinstance(event.change, VisitBooked):
            assert p is not None
            self.visit_id[p.n] = event.change.visit
            if p.walk_in:
                self.real[event.seq] = self.at(intent.real)
        elif isinstance(event.change, StepTaken):
            self.real[event.seq] = self.at(intent.real)

    def _minutes_ago(self, intent: Intent, visit: str, at: dt.datetime) -> int:
        """What the tapper says: nothing, or about how long ago it happened (to 5 minutes past 7); never before
        the visit's last step or the room's ready mark, which Floor would refuse (the tablet says why)."""
        if not intent.backdate or intent.forgotten:
            return 0
        late = (at - self.at(intent.real)).total_seconds() / 60
        if late < 3:
            return 0
        said = int(late) if late < 7.5 else 5 * round(late / 5)
        v = self.floor.visits[visit]
        bounds = [max(v.times.values())]
        if intent.room is not None and (since := self.floor.rooms[intent.room].since) is not None:
            bounds.append(since)
        limit = min(int((at - b).total_seconds() // 60) for b in bounds)
        return max(0, min(said, MAX_MINUTES_AGO, limit))


@dataclass
class SimDay:
    clinic: Clinic
    day: dt.date
    events: list[Event]
    tapped: Floor
    truth: Floor
    refused: list[Refused]
    world: World


def simulate(sc: Scenario, day: dt.date, seed: int) -> SimDay:
    world = World(sc, seed)
    world.run()
    tablets = Tablets(world, day, seed)
    tablets.run()
    truth = truth_floor(sc.clinic, day, tablets.events, tablets.real)
    return SimDay(sc.clinic, day, tablets.events, tablets.floor, truth, tablets.refused, world)


#: The scenarios for loadtests/model_days.py, which scores them with alert_quality's yardstick.
MODEL = Model.of(SCENARIOS, simulate)


if __name__ == "__main__":
    main(MODEL, __doc__, default_seed=5000)
