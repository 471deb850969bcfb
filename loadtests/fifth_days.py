"""A fifth model of clinic days, written apart from Floor and from the other models, scored held out.

    .venv/bin/python loadtests/fifth_days.py --days 20
    .venv/bin/python loadtests/fifth_days.py --days 20 --history 0
    .venv/bin/python loadtests/fifth_days.py --days 10 --scenarios oncology,ortho_cast --explain 3

Its author read only the clinic file (floor/config.py, floor/clinics/demo.toml), the floor's commands and events,
`Floor.decide`/`apply`, README.md, alert_quality.py's yardstick and the shared harness (model_days.py); not Floor's
simulator, the other models, nor Floor's projection, alerts or learning. Nothing here was tuned toward Floor's
alerts: only toward the sanity line (patients per provider-day, minutes late, share of provider-days with a cascade).

How a day is made. A minute-by-minute process simulation of patients, rooms, providers and the people who work
beside them (pools of technicians, nurses, medical assistants, a cast technician), then taps by staff from what
really happened, driven through the core's `decide`/`apply` as a server would (every tap must be accepted: a
refusal is a modelling bug and is counted). Each patient has:

- a booked time, by the clinic's convention (`appointment_time`): the arrival ("arrival") or the provider's
  walking in ("provider", patients asked to come earlier by so many minutes);
- an arrival (punctuality drawn per scenario, some early birds), or none (a no-show, tapped by the desk 20 to 40
  minutes after the booked time);
- something before they can be roomed (`pre_room`: an X-ray, a blood draw);
- phases after rooming, each with one worker of a pool (the first pool's worker rooms them; `prep_done` is tapped
  at the end of the last): rooming and intake, a cast taken off;
- a first touch by the provider before dilation (`prelook`; "provider in" is tapped then) and a wait after prep
  before the provider's exam (`wait_after_prep`: dilation), or a moment before which the provider will not go in
  (`ready_after`: lab results);
- the provider's minutes; then phases after the teach-back before checkout (a new cast by the cast technician,
  dressing, instructions), the room held throughout.

Who goes next. A free worker rooms the waiting patient (of the providers they serve, into a free room of that
provider's) booked earliest, then by arrival; a free provider takes, of their patients ready for them, the one
booked earliest (double-booked slots: by arrival). A provider may see a patient ready early. A provider running
behind (only `steady_behind`) shortens visits: 0.4 minutes per minute behind beyond 5, to 60% at most.

Rooms. A room is free for the next patient once the checkout has been tapped and the room cleaned (2 to 5
minutes), and only then is it marked ready (the tap comes first, so the core never sees a patient roomed into a
room not ready).

Taps. The desk taps arrivals within a minute, the rooming is tapped as it happens, the checkout within two
minutes. Prep done, provider in and the teach-back are tapped late with a scenario's probability (3 to 12 minutes
late), saying how long ago ("N minutes ago") 40% of the time; otherwise within a minute. A tap is never before the
visit's previous tap, nor says a time before the previous step's. Bookings are all made 90 minutes before the
session opens (no walk-ins, no reschedules, no presence taps, no undo).

Scenarios (K/L and the convention vary per clinic file; both conventions are used):

- `ophthalmology` (arrival, K=4, L=20): two ophthalmologists booked every 10 minutes (15 for a new patient),
  34 patients a day each, five lanes each, three technicians shared (one off
  sick on 20% of days). Dilated exams and new patients: the technician's work-up ends with drops; the patient
  dilates 20 to 30 minutes in the lane before the doctor's exam. Dr. Patel also looks once before dilation (35% of
  his dilated visits, 3 minutes): "provider in" is tapped then, and he sees others while the patient dilates.
- `oncology` (provider, K=3, L=15): three oncologists; patients on treatment come 60 minutes early for labs (the
  draw 5 to 20 minutes, the results 35 minutes median, 60 on a day the lab is backed up: 30% of days; 15% of
  them come late for the draw). A patient is roomed after the draw when a room is free; the provider does not go in
  before the results are back, prepped patient and free provider notwithstanding.
- `preop` (arrival, K=3, L=15): a pre-anaesthesia clinic: two anaesthetists, eight rooms shared, three nurses
  shared whose intake (history, ECG, medicines) takes 32 minutes median (48 for a high-risk patient); on 25% of
  days one is off sick and an agency nurse covers from 10:00. The anaesthetist's part is short (14 minutes).
- `ortho_cast` (provider, K=4, L=15): two orthopaedic surgeons, an MA each, one cast technician shared. Fracture
  and new-injury patients have an X-ray before rooming (12 minutes median, queue included; asked to come 20
  minutes early); 60% of fractures have their cast taken off by the cast technician before the surgeon sees them,
  and 35% are cast again after it (15 to 20 minutes, the room held; the others leave in a splint or boot).
- `steady_behind` (arrival, K=4, L=15): primary care whose three providers start 5 to 12 minutes late every day
  (the inbox) and whose visits run a little over their slots, catching up by rushing: mostly 5 to 12 minutes
  behind, now and then over. A precision trap.
- `double_booked` (provider, K=3, L=10): a safety-net clinic that double-books a third of its follow-up slots by
  design (25% no-shows); two MAs shared by three providers. On a weather day (30%) 45% of the morning's patients do
  not come and half of those who do come 10 to 45 minutes late, together as the roads clear.
- `derm_mislabelled` (arrival, K=3, L=10): dermatology; 22% of "skin check" bookings turn into a biopsy or an
  excision at the visit (24 minutes against 12; nobody re-labels them), and a quarter of patients (older ones)
  come 20 to 45 minutes early and are roomed early when a room is free.

Shortcuts: one session per clinic file, lunch a gap in the bookings (a provider running late works through it);
no walk-ins, transfers, presence taps or undo; a patient who comes is always seen (no one leaves unseen); the
cast technician, phlebotomy, radiology and the lab are not on the floor (only their minutes are); a dilating
patient stays in their lane (real clinics often move them to a sub-waiting area and reuse the lane: Floor's
journey has no step for that); minutes are whole.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from floor.config import AppointmentTime, Clinic, Provider, Room, Session, StageMinutes, Thresholds, VisitType
from floor.core.commands import BookVisit, Command, MarkRoom, TakeStep, Tap
from floor.core.errors import Refusal
from floor.core.events import Event, StepTaken, VisitBooked
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.rooms import RoomAction
from loadtests.model_days import Model, main, truth_floor

SEED = 9000


@dataclass(frozen=True)
class Kind:
    """A visit type: its code, label, slot and the clinic file's stage minutes (arrived, roomed, prep_done,
    provider_in, teach_back_done)."""

    code: str
    label: str
    slot: int
    file: tuple[int, int, int, int, int]


@dataclass
class Patient:
    n: int
    name: str
    provider: str
    kind: Kind
    start: int  # booked minute of the day, by the clinic's convention
    arrive: int | None  # None: a no-show
    exam: int  # the provider's minutes
    prep: list[tuple[str, int]]  # after rooming: (pool, minutes); the first pool's worker rooms them
    post: list[tuple[str | None, int]] = field(default_factory=list)  # after the teach-back, before checkout
    pre_room: int = 0
    prelook: int = 0
    wait_after_prep: int = 0
    ready_after: int = 0
    features: set[str] = field(default_factory=set)
    #: What really happened: minute of the day of each step.
    real: dict[Stage, int] = field(default_factory=dict)
    room: str | None = None
    # The engine's state.
    state: str = "coming"
    busy_until: int = 0
    phase: int = 0
    task: str = ""
    ready: int = 0
    roomable: int = 0
    #: The last tap's entry minute and the minute it said (for a visit's taps to stay in order).
    last_entry: int = 0
    last_said: int = 0


@dataclass(frozen=True)
class Habits:
    """How staff tap prep done, provider in and the teach-back: late with `late` probability (3 to 12 minutes),
    saying how long ago 40% of those times."""

    late: float
    said: float = 0.4


@dataclass
class Plan:
    """One day's bookings and who works: workers per pool (id, providers they serve), each provider's start."""

    patients: list[Patient]
    pools: dict[str, list[tuple]]
    starts: dict[str, int]
    notes: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Scenario:
    name: str
    clinic: Clinic
    kinds: dict[str, Kind]
    #: Rooms each provider's patients may be roomed in.
    rooms: dict[str, tuple[str, ...]]
    plan: Callable[[Scenario, random.Random], Plan]
    habits: Habits
    #: Minutes a behind provider takes off a visit per minute behind beyond 5 (0: none).
    rush: float = 0.0


@dataclass
class TapEntry:
    at: int  # minute entered
    order: int
    n: int  # tie-break: the order taps were made in
    actor: str
    patient: Patient | None
    step: Stage | None = None
    minutes_ago: int = 0
    room: str | None = None
    real: int | None = None  # when the step really happened
    book: bool = False
    mark_ready: str | None = None


@dataclass
class SimDay:
    clinic: Clinic
    plan: Plan
    events: list[Event]
    truth: Floor
    tapped: Floor
    refused: list


FIRST = ["Ana", "Ben", "Carla", "Dev", "Edith", "Femi", "Grace", "Hugo", "Iris", "Jon", "Kemal", "Lena", "Mo", "Nia"]
LAST = ["Abbott", "Baker", "Cruz", "Dunn", "Ekwueme", "Fox", "Gill", "Haas", "Ivers", "Jha", "Kato", "Lowe", "Meyer"]


def ln(rng: random.Random, median: float, sigma: float, floor: int = 1) -> int:
    """A lognormal whole number of minutes with this median."""
    return max(floor, round(median * math.exp(rng.gauss(0, sigma))))


def hm(h: int, m: int = 0) -> int:
    return 60 * h + m


def clinic_file(
    cid: str,
    name: str,
    tz: str,
    convention: AppointmentTime,
    k: int,
    late: int,
    providers: list[tuple[str, str, str]],
    rooms: list[tuple[str, str, str]],
    kinds: list[Kind],
    opens: dt.time = dt.time(7, 30),
    closes: dt.time = dt.time(17, 30),
) -> Clinic:
    return Clinic(
        id=cid,
        name=name,
        timezone=tz,
        session=Session(opens, closes, convention),
        rooms=[Room(r, label, zone) for r, label, zone in rooms],
        providers=[Provider(p, pname, initials) for p, pname, initials in providers],
        visit_types=[VisitType(kd.code, kd.label, kd.slot, StageMinutes(*kd.file)) for kd in kinds],
        thresholds=Thresholds(cascade_visits=k, cascade_minutes=late),
    )


def planned_in(clinic: Clinic, p: Patient) -> int:
    """The minute the provider is due, by the clinic's convention (as alert_quality's yardstick has it)."""
    if clinic.session.appointment_time is AppointmentTime.provider:
        return p.start
    return p.start + p.kind.file[1] + p.kind.file[2]


def book(
    rng: random.Random,
    provider: str,
    blocks: list[tuple[int, int]],
    kinds: list[tuple[Kind, float]],
    double: float = 0.0,
) -> list[tuple[Kind, int]]:
    """A provider's bookings: slots one after another through each block, the kind drawn by weight; with `double`,
    that share of the slots of the shortest kind booked twice."""
    out = []
    shortest = min(k.slot for k, _ in kinds)
    for lo, hi in blocks:
        t = lo
        while t < hi:
            kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
            if t + kind.slot > hi:
                kind = min((k for k, _ in kinds), key=lambda k: k.slot)
                if t + kind.slot > hi:
                    break
            out.append((kind, t))
            if kind.slot == shortest and rng.random() < double:
                out.append((kind, t))
            t += kind.slot
    return out


def arrival(rng: random.Random, due: int, mean: float, sd: float, early_birds: float = 0.03) -> int:
    """When a patient asked to come at `due` comes: `mean` (+: late) and `sd` minutes; a few very early."""
    if rng.random() < early_birds:
        return due - rng.randint(20, 45)
    return due + round(rng.gauss(mean, sd))


def patient(rng: random.Random, n: int, provider: str, kind: Kind, start: int, **kw) -> Patient:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {n}"
    return Patient(n=n, name=name, provider=provider, kind=kind, start=start, **kw)


# -- the scenarios ------------------------------------------------------------------------------------------------


def _rooms(prefix: str, label: str, zone: str, count: int) -> list[tuple[str, str, str]]:
    return [(f"{prefix}{i}", f"{label} {i}", zone) for i in range(1, count + 1)]


# Ophthalmology.
O_DILATED = Kind("dilated", "Dilated exam", 10, (5, 15, 20, 10, 3))
O_RETURN = Kind("return", "Return, no dilation", 10, (5, 10, 3, 8, 2))
O_NEW = Kind("new", "New patient", 15, (5, 20, 20, 15, 3))
OPHTHALMOLOGY = clinic_file(
    "eye-center",
    "Lakeside Eye Center",
    "America/New_York",
    AppointmentTime.arrival,
    4,
    20,
    [("patel", "Dr. Raj Patel", "RP"), ("nguyen", "Dr. Thu Nguyen", "TN")],
    _rooms("a", "Lane A", "a", 5) + _rooms("b", "Lane B", "b", 5),
    [O_DILATED, O_RETURN, O_NEW],
)


def ophthalmology(sc: Scenario, rng: random.Random) -> Plan:
    techs = [("tech1", ("patel", "nguyen")), ("tech2", ("patel", "nguyen")), ("tech3", ("patel", "nguyen"))]
    notes = set()
    if rng.random() < 0.2:
        techs.pop()
        notes.add("tech_off")
    patients: list[Patient] = []
    for prov in ("patel", "nguyen"):
        for kind, start in book(
            rng, prov, [(hm(8), hm(11, 45)), (hm(13), hm(16))], [(O_DILATED, 5), (O_RETURN, 3), (O_NEW, 2)]
        ):
            n = len(patients)
            came = None if rng.random() < 0.08 else arrival(rng, start, -4, 7)
            dilate = kind is not O_RETURN
            workup = ln(rng, {"dilated": 13, "return": 8, "new": 18}[kind.code], 0.3, 4)
            exam = ln(rng, {"dilated": 9, "return": 7, "new": 14}[kind.code], 0.35, 3)
            p = patient(rng, n, prov, kind, start, arrive=came, exam=exam, prep=[("tech", workup)])
            p.post = [(None, rng.randint(2, 4))]
            if dilate:
                p.wait_after_prep = rng.randint(20, 30)
                p.features.add("dilated")
                if prov == "patel" and rng.random() < 0.35:
                    p.prelook = 3
                    p.features.add("prelook")
            patients.append(p)
    starts = {p: hm(8) + rng.randint(0, 10) for p in ("patel", "nguyen")}
    return Plan(patients, {"tech": techs}, starts, notes)


# Oncology.
C_FOLLOW = Kind("follow", "Follow-up on treatment", 20, (10, 8, 2, 18, 5))
C_CHEMO = Kind("prechemo", "Pre-chemotherapy check", 20, (10, 8, 2, 15, 5))
C_NEW = Kind("new", "New consult", 60, (10, 15, 5, 45, 10))
ONCOLOGY = clinic_file(
    "cancer-center",
    "Prairie Cancer Center",
    "America/Chicago",
    AppointmentTime.provider,
    3,
    15,
    [("reyes", "Dr. Lucia Reyes", "LR"), ("cohen", "Dr. Sam Cohen", "SC"), ("banerjee", "Dr. Mita Banerjee", "MB")],
    _rooms("o", "Onc", "north", 9),
    [C_FOLLOW, C_CHEMO, C_NEW],
)


def oncology(sc: Scenario, rng: random.Random) -> Plan:
    provs = ("reyes", "cohen", "banerjee")
    nurses = {p: [(f"rn-{p}", (p,))] for p in provs}
    backed_up = rng.random() < 0.3
    notes = {"lab_backed_up"} if backed_up else set()
    patients: list[Patient] = []
    for prov in provs:
        for kind, start in book(
            rng, prov, [(hm(8, 30), hm(12)), (hm(13), hm(16))], [(C_FOLLOW, 5), (C_CHEMO, 4), (C_NEW, 1)]
        ):
            n = len(patients)
            exam = ln(rng, {"follow": 18, "prechemo": 15, "new": 50}[kind.code], 0.3, 5)
            vitals = ln(rng, 7, 0.25, 3)
            p = patient(rng, n, prov, kind, start, arrive=None, exam=exam, prep=[("rn", vitals)])
            p.post = [(None, rng.randint(5, 10))]
            if rng.random() < 0.06:
                patients.append(p)  # no-show
                continue
            if kind is C_NEW:
                p.arrive = arrival(rng, start - 30, -3, 8)
            else:
                p.features.add("labs")
                p.arrive = arrival(rng, start - 45, 0, 8) if rng.random() < 0.15 else arrival(rng, start - 60, -3, 8)
                p.pre_room = rng.randint(5, 20)
                turnaround = ln(rng, 60 if backed_up else 35, 0.3, 15)
                p.ready_after = p.arrive + p.pre_room + turnaround
            patients.append(p)
    starts = {p: hm(8, 30) + rng.randint(0, 5) for p in provs}
    return Plan(patients, {"rn": [w for ws in nurses.values() for w in ws]}, starts, notes)


# Pre-anaesthesia.
P_PREOP = Kind("preop", "Pre-op assessment", 20, (5, 35, 5, 15, 5))
P_COMPLEX = Kind("highrisk", "High-risk pre-op", 40, (5, 50, 5, 25, 5))
PREOP = clinic_file(
    "preop",
    "Summit Pre-Anaesthesia Clinic",
    "America/Denver",
    AppointmentTime.arrival,
    3,
    15,
    [("lind", "Dr. Karin Lind", "KL"), ("okoro", "Dr. Ifeanyi Okoro", "IO")],
    _rooms("p", "Assessment", "main", 8),
    [P_PREOP, P_COMPLEX],
)


def preop(sc: Scenario, rng: random.Random) -> Plan:
    provs = ("lind", "okoro")
    nurses = [(f"rn{i}", provs) for i in range(1, 4)]
    notes = set()
    if rng.random() < 0.25:
        nurses[-1] = ("rn-cover", provs, hm(10))  # one off sick, an agency nurse from 10:00
        notes.add("nurse_off")
    patients: list[Patient] = []
    for prov in provs:
        for kind, start in book(rng, prov, [(hm(8), hm(12)), (hm(13), hm(16))], [(P_PREOP, 4), (P_COMPLEX, 1)]):
            n = len(patients)
            intake = ln(rng, 48 if kind is P_COMPLEX else 32, 0.25, 15)
            exam = ln(rng, 24 if kind is P_COMPLEX else 14, 0.3, 5)
            came = None if rng.random() < 0.05 else arrival(rng, start, -6, 8)
            p = patient(rng, n, prov, kind, start, arrive=came, exam=exam, prep=[("rn", intake)])
            p.features.add("nurse_intake")
            p.post = [(None, rng.randint(3, 6))]
            patients.append(p)
    starts = {p: hm(8, 30) + rng.randint(0, 5) for p in provs}
    return Plan(patients, {"rn": nurses}, starts, notes)


# Orthopaedics.
T_FRACTURE = Kind("fracture", "Fracture follow-up", 10, (15, 5, 5, 8, 10))
T_NEW = Kind("injury", "New injury", 20, (20, 8, 2, 15, 5))
T_POSTOP = Kind("postop", "Post-op check", 10, (10, 5, 5, 8, 3))
ORTHO = clinic_file(
    "ortho",
    "Bayview Orthopaedics",
    "America/Los_Angeles",
    AppointmentTime.provider,
    4,
    15,
    [("brooks", "Dr. Hannah Brooks", "HB"), ("tanaka", "Dr. Ken Tanaka", "KT")],
    _rooms("c", "Clinic", "ortho", 8),
    [T_FRACTURE, T_NEW, T_POSTOP],
)


def ortho_cast(sc: Scenario, rng: random.Random) -> Plan:
    provs = ("brooks", "tanaka")
    patients: list[Patient] = []
    for prov in provs:
        for kind, start in book(
            rng, prov, [(hm(8), hm(12)), (hm(13), hm(15, 30))], [(T_FRACTURE, 4), (T_NEW, 2), (T_POSTOP, 4)]
        ):
            n = len(patients)
            exam = ln(rng, {"fracture": 8, "injury": 15, "postop": 7}[kind.code], 0.35, 3)
            came = None if rng.random() < 0.06 else arrival(rng, start - 20, -2, 8)
            p = patient(rng, n, prov, kind, start, arrive=came, exam=exam, prep=[(f"ma-{prov}", rng.randint(3, 5))])
            if kind is not T_POSTOP:
                p.pre_room = ln(rng, 12, 0.4, 4)
                p.features.add("xray")
            if kind is T_FRACTURE and rng.random() < 0.6:
                p.prep.append(("cast", rng.randint(8, 12)))
                p.features.add("cast_off")
            if kind is T_FRACTURE and rng.random() < 0.35:
                p.post = [("cast", rng.randint(15, 20))]
                p.features.add("recast")
            else:
                p.post = [(None, rng.randint(2, 5))]
            patients.append(p)
    pools = {f"ma-{p}": [(f"ma-{p}", (p,))] for p in provs} | {"cast": [("casttech", provs)]}
    starts = {p: hm(8) + rng.randint(0, 8) for p in provs}
    return Plan(patients, pools, starts)


# Primary care, steadily behind.
S_FOLLOW = Kind("follow", "Follow-up", 20, (8, 8, 2, 15, 3))
S_ANNUAL = Kind("annual", "Annual physical", 40, (8, 10, 2, 30, 4))
S_SICK = Kind("sick", "Same-day sick", 20, (8, 8, 2, 15, 3))
STEADY = clinic_file(
    "maple-pc",
    "Maple Street Primary Care",
    "America/New_York",
    AppointmentTime.arrival,
    4,
    15,
    [("diaz", "Dr. Elena Diaz", "ED"), ("walsh", "Dr. Owen Walsh", "OW"), ("chen", "Li Chen, NP", "LC")],
    _rooms("m", "Room", "main", 9),
    [S_FOLLOW, S_ANNUAL, S_SICK],
)


def steady_behind(sc: Scenario, rng: random.Random) -> Plan:
    provs = ("diaz", "walsh", "chen")
    patients: list[Patient] = []
    for prov in provs:
        over = rng.gauss(1.45, 0.08)  # the provider's day: how far their visits run over
        for kind, start in book(
            rng, prov, [(hm(8), hm(11, 40)), (hm(13), hm(16, 20))], [(S_FOLLOW, 6), (S_ANNUAL, 2), (S_SICK, 2)]
        ):
            n = len(patients)
            exam = ln(rng, over * {"follow": 16, "annual": 30, "sick": 14}[kind.code], 0.3, 5)
            came = None if rng.random() < 0.08 else arrival(rng, start, -2, 6)
            p = patient(rng, n, prov, kind, start, arrive=came, exam=exam, prep=[(f"ma-{prov}", ln(rng, 10, 0.25, 4))])
            p.post = [(None, rng.randint(2, 4))]
            patients.append(p)
    pools = {f"ma-{p}": [(f"ma-{p}", (p,))] for p in provs}
    starts = {p: hm(8) + rng.randint(5, 12) for p in provs}
    return Plan(patients, pools, starts)


# Safety-net clinic, double-booked by design.
D_FOLLOW = Kind("follow", "Follow-up", 15, (10, 6, 2, 13, 3))
D_NEW = Kind("new", "New patient", 30, (10, 10, 2, 25, 4))
DOUBLE = clinic_file(
    "eastside-chc",
    "Eastside Community Health",
    "America/Chicago",
    AppointmentTime.provider,
    3,
    10,
    [("moreno", "Dr. Ana Moreno", "AM"), ("king", "Dr. Marcus King", "MK"), ("farah", "Amina Farah, NP", "AF")],
    _rooms("e", "Exam", "east", 9),
    [D_FOLLOW, D_NEW],
)


def double_booked(sc: Scenario, rng: random.Random) -> Plan:
    provs = ("moreno", "king", "farah")
    weather = rng.random() < 0.3
    patients: list[Patient] = []
    for prov in provs:
        for kind, start in book(
            rng, prov, [(hm(8), hm(11, 45)), (hm(13), hm(16))], [(D_FOLLOW, 4), (D_NEW, 1)], double=1 / 3
        ):
            n = len(patients)
            exam = ln(rng, 26 if kind is D_NEW else 13, 0.35, 4)
            morning = start < hm(10, 30)
            gone = 0.45 if weather and morning else 0.25
            came = None if rng.random() < gone else arrival(rng, start - 15, -3, 10)
            p = patient(rng, n, prov, kind, start, arrive=came, exam=exam, prep=[("ma", ln(rng, 6, 0.3, 3))])
            p.post = [(None, rng.randint(2, 5))]
            if weather and morning and came is not None and rng.random() < 0.5:
                p.arrive = max(came, start + rng.randint(10, 45))
                p.features.add("late_for_weather")
            patients.append(p)
    pools = {"ma": [("ma1", provs), ("ma2", provs)]}
    starts = {p: hm(8) + rng.randint(0, 5) for p in provs}
    return Plan(patients, pools, starts, {"weather"} if weather else set())


# Dermatology, mislabelled bookings.
M_SKIN = Kind("skin", "Skin check", 15, (5, 5, 2, 10, 2))
M_NEW = Kind("new", "New patient", 30, (5, 8, 2, 20, 3))
M_PROC = Kind("excision", "Excision", 30, (5, 10, 5, 20, 5))
DERM = clinic_file(
    "desert-derm",
    "Desert Dermatology",
    "America/Phoenix",
    AppointmentTime.arrival,
    3,
    10,
    [("ito", "Dr. Yuki Ito", "YI"), ("larsen", "Dr. Per Larsen", "PL")],
    _rooms("d", "Derm", "derm", 6),
    [M_SKIN, M_NEW, M_PROC],
)


def derm_mislabelled(sc: Scenario, rng: random.Random) -> Plan:
    provs = ("ito", "larsen")
    patients: list[Patient] = []
    for prov in provs:
        for kind, start in book(
            rng, prov, [(hm(8), hm(11, 45)), (hm(13), hm(16, 15))], [(M_SKIN, 6), (M_NEW, 2), (M_PROC, 1)]
        ):
            n = len(patients)
            exam = ln(rng, {"skin": 12, "new": 22, "excision": 24}[kind.code], 0.3, 3)
            mislabelled = kind is M_SKIN and rng.random() < 0.22
            if mislabelled:
                exam = ln(rng, 24, 0.25, 12)
            early = rng.random() < 0.25
            came = (
                None if rng.random() < 0.07 else (start - rng.randint(20, 45) if early else arrival(rng, start, -3, 6))
            )
            p = patient(rng, n, prov, kind, start, arrive=came, exam=exam, prep=[(f"ma-{prov}", ln(rng, 5, 0.3, 2))])
            p.post = [(None, rng.randint(2, 5 if kind is not M_PROC else 8))]
            if mislabelled:
                p.features.add("mislabelled")
            if early and came is not None:
                p.features.add("early_bird")
            patients.append(p)
    pools = {f"ma-{p}": [(f"ma-{p}", (p,))] for p in provs}
    starts = {p: hm(8) + rng.randint(0, 6) for p in provs}
    return Plan(patients, pools, starts)


def _scenario(name, clinic, plan, habits, rooms=None, rush=0.0) -> Scenario:
    every = tuple(r.id for r in clinic.rooms)
    rooms = rooms or {p.id: every for p in clinic.providers}
    return Scenario(name, clinic, {k.code: k for k in map(_kind, clinic.visit_types)}, rooms, plan, habits, rush)


def _kind(v: VisitType) -> Kind:
    sm = v.stage_minutes
    return Kind(
        v.code, v.label, v.slot_minutes, (sm.arrived, sm.roomed, sm.prep_done, sm.provider_in, sm.teach_back_done)
    )


SCENARIOS: dict[str, Scenario] = {
    sc.name: sc
    for sc in (
        _scenario(
            "ophthalmology",
            OPHTHALMOLOGY,
            ophthalmology,
            Habits(0.15),
            {"patel": tuple(f"a{i}" for i in range(1, 6)), "nguyen": tuple(f"b{i}" for i in range(1, 6))},
        ),
        _scenario(
            "oncology",
            ONCOLOGY,
            oncology,
            Habits(0.10),
            {
                p: tuple(f"o{i}" for i in range(j * 3 + 1, j * 3 + 4))
                for j, p in enumerate(("reyes", "cohen", "banerjee"))
            },
        ),
        _scenario("preop", PREOP, preop, Habits(0.20)),
        _scenario(
            "ortho_cast",
            ORTHO,
            ortho_cast,
            Habits(0.30),
            {"brooks": tuple(f"c{i}" for i in range(1, 5)), "tanaka": tuple(f"c{i}" for i in range(5, 9))},
        ),
        _scenario(
            "steady_behind",
            STEADY,
            steady_behind,
            Habits(0.15),
            {p: tuple(f"m{i}" for i in range(j * 3 + 1, j * 3 + 4)) for j, p in enumerate(("diaz", "walsh", "chen"))},
            rush=0.4,
        ),
        _scenario(
            "double_booked",
            DOUBLE,
            double_booked,
            Habits(0.20),
            {p: tuple(f"e{i}" for i in range(j * 3 + 1, j * 3 + 4)) for j, p in enumerate(("moreno", "king", "farah"))},
        ),
        _scenario(
            "derm_mislabelled",
            DERM,
            derm_mislabelled,
            Habits(0.10),
            {"ito": ("d1", "d2", "d3"), "larsen": ("d4", "d5", "d6")},
        ),
    )
}


# -- the day as it really goes, and its taps ----------------------------------------------------------------------


class Engine:
    def __init__(self, sc: Scenario, plan: Plan, rng: random.Random) -> None:
        self.sc, self.plan, self.rng = sc, plan, rng
        self.clinic = sc.clinic
        self.workers = {
            pool: [[w[0], set(w[1]), w[2] if len(w) > 2 else 0] for w in ws] for pool, ws in plan.pools.items()
        }
        self.room_free = {r.id: 0 for r in self.clinic.rooms}
        self.prov_free = dict(plan.starts)
        self.taps: list[TapEntry] = []

    def add(self, entry: TapEntry) -> None:
        entry.n = len(self.taps)
        self.taps.append(entry)

    def step(self, p: Patient, stage: Stage, t: int, lag: str = "prompt") -> None:
        """`stage` really happened at `t`; its tap, as staff enter it."""
        p.real[stage] = t
        rng, said = self.rng, 0
        if lag == "habit" and rng.random() < self.sc.habits.late:
            entry = t + rng.randint(3, 12)
            if rng.random() < self.sc.habits.said:
                said = entry - t
        elif lag == "room":
            entry = t
        elif lag == "checkout":
            entry = t + rng.randint(0, 2)
        else:
            entry = t + rng.randint(0, 1)
        entry = max(entry, p.last_entry)
        said = min(said, entry - p.last_said, 60)
        p.last_entry, p.last_said = entry, entry - said
        actor = {Stage.arrived: "desk", Stage.checked_out: "desk", Stage.provider_in: p.provider}.get(stage, "staff")
        self.add(
            TapEntry(
                entry,
                2 + list(Stage).index(stage),
                0,
                actor,
                p,
                stage,
                said,
                p.room if stage is Stage.roomed else None,
                t,
            )
        )

    def worker(self, pool: str, provider: str, t: int) -> list | None:
        for w in self.workers.get(pool, []):
            if w[2] <= t and provider in w[1]:
                return w
        return None

    def start_phase(self, p: Patient, phases: list, t: int) -> bool:
        pool, minutes = phases[p.phase]
        if pool is not None:
            w = self.worker(pool, p.provider, t)
            if w is None:
                return False
            w[2] = t + minutes
        p.busy_until = t + minutes
        return True

    def run(self) -> None:
        clinic, pats = self.clinic, self.plan.patients
        opens = clinic.session.opens.hour * 60 + clinic.session.opens.minute
        for p in pats:
            if p.arrive is None:
                self.add(TapEntry(p.start + self.rng.randint(20, 40), 2, 0, "desk", p, Stage.no_show))
                p.state = "done"
        t = opens - 60
        while any(p.state != "done" for p in pats):
            if t > hm(23):
                raise RuntimeError(f"{self.sc.name}: the day did not end")
            self.tick(t)
            t += 1
        # Bookings come before everything, in booking order.
        for p in pats:
            self.add(TapEntry(opens - 90, 0, 0, "scheduler", p, book=True))

    def tick(self, t: int) -> None:
        pats = self.plan.patients
        order = sorted((p for p in pats if p.state != "done"), key=lambda p: (p.start, p.arrive or 0, p.n))
        for p in order:
            if p.state == "coming" and p.arrive <= t:
                p.state, p.roomable = "here", t + p.pre_room
                self.step(p, Stage.arrived, t)
            elif p.state == "prep" and p.busy_until == t:
                p.phase += 1
                if p.phase < len(p.prep):
                    p.state = "prepq"
                else:
                    self.step(p, Stage.prep_done, t, "habit")
                    p.state, p.task = "waitprov", "prelook" if p.prelook else "exam"
                    p.ready = t if p.prelook else max(t + p.wait_after_prep, p.ready_after)
            elif p.state == "prelook" and p.busy_until == t:
                p.state, p.task = "waitprov", "exam"
                p.ready = max(t + p.wait_after_prep, p.ready_after)
            elif p.state == "exam" and p.busy_until == t:
                self.step(p, Stage.teach_back_done, t, "habit")
                p.state, p.phase = "postq", 0
            elif p.state == "post" and p.busy_until == t:
                p.phase += 1
                p.state = "postq"
        for p in order:
            if p.state == "postq":
                if p.phase >= len(p.post):
                    self.checkout(p, t)
                elif self.start_phase(p, p.post, t):
                    p.state = "post"
            elif p.state == "prepq" and self.start_phase(p, p.prep, t):
                p.state = "prep"
        # Rooming: the waiting patient booked earliest, into a free room of their provider's, by a free worker.
        for p in order:
            if p.state != "here" or p.roomable > t:
                continue
            room = next(
                (r for r in self.sc.rooms[p.provider] if self.room_free[r] is not None and self.room_free[r] <= t), None
            )
            if room is None or not self.start_phase(p, p.prep, t):
                continue
            self.room_free[room] = None
            p.room, p.state, p.phase = room, "prep", 0
            self.step(p, Stage.roomed, t, "room")
        # Providers: of their patients ready for them, the one booked earliest.
        for prov, free in self.prov_free.items():
            if free > t:
                continue
            ready = [p for p in order if p.provider == prov and p.state == "waitprov" and p.ready <= t]
            if not ready:
                continue
            p = ready[0]
            if Stage.provider_in not in p.real:
                self.step(p, Stage.provider_in, t, "habit")
            if p.task == "prelook":
                minutes, p.state = p.prelook, "prelook"
            else:
                minutes, p.state = p.exam, "exam"
                behind = t - planned_in(self.clinic, p)
                if self.sc.rush and behind > 5:
                    minutes = max(round(0.6 * minutes), minutes - round(self.sc.rush * (behind - 5)))
                    p.exam = minutes
            p.busy_until = t + minutes
            self.prov_free[prov] = t + minutes

    def checkout(self, p: Patient, t: int) -> None:
        self.step(p, Stage.checked_out, t, "checkout")
        p.state = "done"
        ready = max(t + self.rng.randint(2, 5), p.last_entry + 1)
        self.room_free[p.room] = ready
        self.add(TapEntry(ready, 1, 0, "staff", None, mark_ready=p.room))


def simulate(sc: Scenario, day: dt.date, seed: int) -> SimDay:
    """One day of a scenario: the plan, what really happened, the taps through the core, the truth floor."""
    rng = random.Random(f"{sc.name}:{seed}")
    plan = sc.plan(sc, rng)
    engine = Engine(sc, plan, rng)
    engine.run()
    clinic = sc.clinic
    midnight = clinic.local(day, dt.time(0))

    def at(minute: int) -> dt.datetime:
        return (midnight + dt.timedelta(minutes=minute)).astimezone(dt.UTC)

    floor = Floor(clinic, day, 0, Ids.seeded(f"fifth:{sc.name}:{seed}"))
    ids: dict[int, str] = {}
    events: list[Event] = []
    real: dict[int, dt.datetime] = {}
    refused: list = []
    for tap in sorted(engine.taps, key=lambda e: (e.at, e.order, e.n)):
        command: Command
        if tap.book:
            p = tap.patient
            command = BookVisit(p.name, p.provider, p.kind.code, start=midnight + dt.timedelta(minutes=p.start))
        elif tap.mark_ready is not None:
            command = MarkRoom(tap.mark_ready, RoomAction.ready)
        else:
            if tap.patient.n not in ids:
                refused.append((tap.step, "never booked"))
                continue
            command = TakeStep(ids[tap.patient.n], tap.step, room=tap.room, minutes_ago=tap.minutes_ago)
        try:
            event = floor.decide(command, Tap(tap.actor, f"{tap.actor}-tablet", at(tap.at)))
        except Refusal as e:
            refused.append((tap.step or ("book" if tap.book else "ready"), e.message))
            continue
        floor.apply(event)
        events.append(event)
        if isinstance(event.change, VisitBooked):
            ids[tap.patient.n] = event.change.visit
        elif isinstance(event.change, StepTaken) and tap.real is not None:
            real[event.seq] = at(tap.real)
    return SimDay(clinic, plan, events, truth_floor(clinic, day, events, real), floor, refused)


MODEL = Model.of(SCENARIOS, simulate)


if __name__ == "__main__":
    main(MODEL, __doc__, SEED)
