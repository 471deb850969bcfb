"""Cascade alerts on a third model's clinic days: clinics unlike a one-provider-one-patient queue.

A clinic-day generator written apart from Floor's simulator and from the second model (loadtests/unseen_days.py),
and without reading Floor's projection, alerts or learning: Floor was first scored here on days whose
assumptions nobody had tuned it to. (It has been changed since for what those days showed: providers who see
two patients at once, loadtests/README.md. These days are no longer held out; a fourth model would be.)
The yardstick is alert_quality's, unchanged (`true_cascades`, `Score`, `scored_day`, `misses`, `explain`):
a true cascade is K or more consecutive seen booked visits of one provider that really
started L or more minutes after their planned provider-in by the clinic's own convention, K and L the clinic's.
Floor first learns from past days of the same scenario (`--history`, seeds far from the scored ones) as a server
learns from its log: the days as tapped.

    .venv/bin/python loadtests/third_days.py --days 20
    .venv/bin/python loadtests/third_days.py --days 10 --scenarios ortho_xray,derm_split --explain 3

How a day is made. First the day really happens (a discrete-event simulation in minutes after local midnight);
then staff tap it, each person with their own habits, and the taps go through `Floor.decide` and `Floor.apply`
in the order they were entered, at the time they were entered. The truth floor is the same events, each step
stamped with when it really happened (and a walk-in booked when they really came), so its visits have the same
ids as the tapped floor's.

The model's assumptions:

- People, not a queue. A front desk (one or two people) checks patients in one at a time (1 to 4 minutes each,
  so a van's patients queue there); medical assistants (MAs: a team MA per provider, or a pool) take a patient
  into a room and do the intake (vitals, history: "roomed" to "prep_done"); providers see their own patients;
  rooms are shared by the whole clinic and are cleaned for 2 to 5 minutes after each patient leaves.
- Who is roomed next: an MA takes, of the checked-in patients it serves, the one whose provider is due first
  (the planned provider-in by the clinic's convention; a walk-in counts as due 20 minutes after check-in), when a
  room is clean, the patient is no more than 10 minutes ahead of the planned rooming, and the provider has
  fewer than 2 patients roomed and not yet seen (3 in the orthopedic, dermatology and women's clinics).
- Who is seen next: a provider who is free first goes back to a patient whose imaging, labs, numbing or nurse
  procedure is done; otherwise takes the ready ("prep_done") patient of theirs who is due first, but no booked
  patient more than 10 minutes before their planned provider-in (the provider charts meanwhile), or 30 minutes
  while a patient of theirs is away (the provider fills the wait). A provider who is not there yet (late to
  clinic, at lunch) sees nobody.
- Providers who interleave (1): some visit types (an x-ray follow-up, a new patient sent for imaging, a cast,
  an excision waiting for the anaesthetic, a visit with an ultrasound, a laceration being irrigated) have the
  provider walk in (provider_in), spend a share of their minutes, step out while the patient waits, see other
  patients meanwhile, and come back for the rest and the teach-back. The visit stays "provider_in" all that
  time and keeps its room, so a provider may have two or three patients at provider_in at once. Taps are still
  one per step.
- Arrivals (2): patients are asked to come at the booked time (clinics on "arrival") or some minutes before it
  (clinics on "provider"); most come within a few minutes of that, some very early (15 to 60 minutes by clinic),
  some late (5 to 25 minutes) and 2% very late (30 to 60 minutes; one checked in more than 15 minutes after
  the planned provider-in is fitted in like a walk-in). A transport van brings 3 to 5 patients booked around
  the same time together, often late (up to 40 minutes); siblings come together to a pediatric clinic.
- A clinic-wide slowdown (3): on some days the EHR is down for 20 to 40 minutes, and every check-in, intake,
  provider minute, imaging wait and discharge in that window goes 1.6 to 2.4 times slower.
- Schedules (4): slots of each visit type's configured length booked back to back per provider and session;
  long procedure visits (45 to 60 minutes) mixed with short ones (10 to 15), front-loaded (procedures first)
  in some clinics, a dermatology morning with a skin check booked 20 minutes into most excisions; afternoons
  overbooked (a second patient in some slots); split sessions with a lunch gap (a provider stays for notes and
  any ready patient until 15 minutes after the morning's end, and whose morning ran over still takes 15 to 25
  minutes of lunch; a morning patient ready later is seen after lunch); an afternoon-only and an evening clinic.
- The clinic file is wrong (7): what visits really take (medians per visit type, times a pace per provider and
  a pace per provider-day, times a log-normal spread per visit) differs from the clinic file's minutes, by up
  to about half, in either direction (an x-ray follow-up's stage with the provider, away time and all, is much
  longer than its file says; a cast's shorter). No-shows (7 to 15%) and same-day cancellations (4 to 10%) by clinic;
  walk-ins in three clinics, fitted in by the provider the desk gives them to.
- Per-person tap habits (5), not per-tap noise: a provider who taps provider_in 2 to 9 minutes after walking
  in; one who taps late and says so ("N minutes ago"); an MA who taps roomed and prep_done together at the end
  of the intake; an MA who forgets prep_done until the provider's tap pulls it in; a desk that taps checkouts in
  batches every 15 to 25 minutes; a desk that marks patients who have not come no-show 20 to 40 minutes after
  their time (and undoes it when one walks in after all); a provider who taps the teach-back minutes late.
  Everyone else taps as the step happens. A tap that needs an earlier step not yet tapped (a provider-in before
  the MA's prep_done, a checkout before the teach-back) brings that step in first, at the same moment (the
  tablet shows the visit is not there yet, and the one who owes the tap is asked for it). An MA who finds no room
  ready on the tablet marks ready a room in turnover, or has the desk check out a patient who has left, first.
- Settings (6): K and L by clinic ((3, 10), (2, 15), (4, 5), (3, 15), (2, 10), (4, 8)), both conventions.
- Presence: in the evening clinic a provider who comes from a day job is late on some days, and the MA marks
  them running late (with minutes, if the provider said) on most of those days.

Shortcuts taken: only check-in queues at the desk (a checkout takes no desk time); an MA does a patient's whole
intake at once, and nurses and imaging are never a queue (an away time is drawn per visit); providers step away
only to another patient (no phone calls, no pulled-away providers; late to clinic in one clinic); nobody leaves
without being seen; rooms are one pool (no procedure rooms) and never blocked; nothing is rescheduled; a patient
marked no-show who comes after all is undone and checked in, never turned away; walk-ins go to the provider of
the session with the fewest so far; the clinic's habits, paces and mixes are the same every day (only the draws
differ); staff roles are not checked (taps go in as Floor's own, role None), one tablet per person.

Every day is seeded and deterministic (`random.Random` with a string seed per part: the day, the schedule,
each visit's minutes, the taps), on a fixed date (alert_quality's `DAY`; past days the days before it) in each
clinic's own time zone (Chicago, New York, Denver, Phoenix, Los Angeles, Detroit, Indianapolis); no wall
clock. A tap the floor refuses is a modelling bug: they are counted and printed, never hidden.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import random
import sys
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from floor.config import AppointmentTime, Clinic, parse_clinic
from floor.core.commands import BookVisit, Command, MarkPresence, MarkRoom, TakeStep, Tap, UndoStep
from floor.core.errors import Refusal
from floor.core.events import Event
from floor.core.floor import MAX_MINUTES_AGO, Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.presence import Presence
from floor.core.rooms import RoomAction, RoomState
from loadtests.model_days import Model, main, truth_floor

# ---------------------------------------------------------------------------------------------------------------
# Scenarios: a clinic file each, and how the clinic really runs.


@dataclass(frozen=True)
class Real:
    """What a visit type really takes in a clinic (median minutes), whatever its clinic file says."""

    intake: float  # the MA's rooming and intake: roomed -> prep_done
    provider: float  # the provider's own minutes with the patient (both parts, for one who steps out)
    discharge: float  # teach-back done -> out of the room and checked out
    #: The share of these visits in which the provider steps out mid-visit, for how long (minutes, uniform) the
    #: patient is away or waiting, and the share of the provider's minutes spent before stepping out.
    step_out: float = 0.0
    away: tuple[float, float] = (0.0, 0.0)
    first_part: float = 0.4


@dataclass(frozen=True)
class Habit:
    """How one person taps. Steps not named in `lag` are tapped as they happen."""

    #: Minutes (uniform) after a step happens that it is tapped.
    lag: dict[Stage, tuple[float, float]] = field(default_factory=dict)
    #: An MA who taps roomed and prep_done together at the end of the intake.
    together: bool = False
    #: A desk that taps checkouts in batches, every so many minutes (0: as they happen).
    batch: float = 0.0
    #: One who taps late says so ("N minutes ago", whole minutes, as the tablet allows).
    says_when: bool = False
    #: The chance a step is forgotten, until a later step's tap brings it in (or 45 minutes later).
    forget: dict[Stage, float] = field(default_factory=dict)
    #: A desk: minutes after a booked time a patient who has not come is marked no-show (uniform).
    no_show_after: tuple[float, float] = (20.0, 40.0)


@dataclass(frozen=True)
class Block:
    """A session of the day (a clinic may have a morning and an afternoon with a lunch gap between)."""

    start: str
    end: str
    #: Visit types booked (weights); in the block's first `front_minutes`, `front` instead (front-loading).
    mix: dict[str, float]
    front: dict[str, float] = field(default_factory=dict)
    front_minutes: float = 0.0
    #: The chance a slot is booked twice (a second patient of `overbook_type` at the same time).
    overbook: float = 0.0
    overbook_type: str = ""
    #: (type, short type, minutes, chance): a visit of the type gets, by that chance, a visit of the short type
    #: booked that many minutes into its slot, seen while the first waits (a check during an excision's numbing).
    beside: tuple[str, str, float, float] | None = None


@dataclass(frozen=True)
class Van:
    """Patients booked around `around` who come together (a transport van, a family): `size` of them, at the
    earliest one's asked time plus `delay` minutes (uniform)."""

    around: str
    size: tuple[int, int]
    delay: tuple[float, float]


@dataclass(frozen=True)
class Scenario:
    name: str
    about: str
    clinic: Clinic
    blocks: tuple[Block, ...]
    real: dict[str, Real]
    #: Each MA and the providers they room for (empty: anyone's patients, a pool).
    mas: dict[str, tuple[str, ...]]
    desks: int = 1
    #: Tap habits by person: a provider's id, an MA's name, or "desk" (the front desk).
    habits: dict[str, Habit] = field(default_factory=dict)
    #: Who taps the teach-back: "provider", or "ma" (the visit's MA, as the patient is discharged).
    teach_back_by: str = "provider"
    #: Each provider's pace against the real medians (1: as they say; absent: 1).
    pace: dict[str, float] = field(default_factory=dict)
    #: Which blocks each provider works (absent: all).
    works: dict[str, tuple[int, ...]] = field(default_factory=dict)
    #: The spread of a provider's pace from day to day, and of each visit's minutes (log-normal sigmas).
    day_sigma: float = 0.08
    visit_sigma: float = 0.3
    no_show: float = 0.08
    cancel: float = 0.04
    #: Minutes before the booked time that patients are asked to come.
    asked_lead: float = 0.0
    #: Patients who come early and late: (share, least minutes, most minutes).
    early: tuple[float, float, float] = (0.1, 20.0, 45.0)
    late: tuple[float, float, float] = (0.15, 5.0, 20.0)
    #: Patients who come very late (30 to 60 minutes after their asked time): fitted in like walk-ins.
    very_late: float = 0.02
    vans: tuple[Van, ...] = ()
    #: Walk-ins an hour, and their visit type.
    walk_ins: float = 0.0
    walk_in_type: str = ""
    #: The chance of a day with the EHR down, for how many minutes, how much slower everything goes.
    slowdown: float = 0.0
    slow_minutes: tuple[float, float] = (20.0, 40.0)
    slow_factor: tuple[float, float] = (1.6, 2.4)
    #: Providers late to their first session on some days: (chance, least minutes, most minutes).
    provider_late: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    #: The chance the MA marks a provider who is 10+ minutes late "running late".
    presence_told: float = 0.0
    #: Patients of one provider roomed and not yet seen, at most.
    roomed_ahead: int = 2
    checkin: tuple[float, float] = (1.0, 3.0)


def _clinic(
    cid: str,
    name: str,
    tz: str,
    opens: str,
    closes: str,
    convention: str,
    k: int,
    late: int,
    rooms: int,
    providers: list[tuple[str, str, str]],
    types: list[tuple[str, str, int, int, int, int, int, int]],
) -> Clinic:
    """A clinic file, written as TOML and parsed as Floor parses one. `types`: code, label, slot minutes, and the
    stage minutes arrived, roomed, prep_done, provider_in, teach_back_done."""
    lines = [
        f'id = "{cid}"',
        f'name = "{name}"',
        f'timezone = "{tz}"',
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
    for pid, pname, initials in providers:
        lines += ["[[providers]]", f'id = "{pid}"', f'name = "{pname}"', f'initials = "{initials}"']
    for code, label, slot, arrived, roomed, prep, with_provider, teach in types:
        lines += [
            "[[visit_types]]",
            f'code = "{code}"',
            f'label = "{label}"',
            f"slot_minutes = {slot}",
            f"stage_minutes = {{ arrived = {arrived}, roomed = {roomed}, prep_done = {prep}, "
            f"provider_in = {with_provider}, teach_back_done = {teach} }}",
        ]
    return parse_clinic("\n".join(lines) + "\n", f"<{cid}>")


PROMPT = Habit()
DESK_BATCH_20 = Habit(batch=20.0)

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "ortho_xray",
            "orthopedics; providers step out while patients go to x-ray or have a cast made; split day",
            _clinic(
                "lakeshore-ortho",
                "Lakeshore Orthopedics",
                "America/Chicago",
                "07:30",
                "17:00",
                "arrival",
                3,
                10,
                9,
                [
                    ("ramos", "Dr. Rita Ramos", "RR"),
                    ("becker", "Dr. Max Becker", "MB"),
                    ("osei", "Kofi Osei, PA", "KO"),
                ],
                [
                    ("fu", "Follow-up", 15, 8, 6, 3, 10, 3),
                    ("xray", "Follow-up with x-ray", 20, 8, 6, 3, 22, 3),
                    ("new", "New patient", 30, 10, 10, 3, 22, 4),
                    ("cast", "Cast or injection", 45, 8, 10, 4, 35, 5),
                ],
            ),
            (
                Block(
                    "08:00",
                    "12:00",
                    {"fu": 0.4, "xray": 0.3, "new": 0.15, "cast": 0.15},
                    overbook=0.05,
                    overbook_type="fu",
                ),
                Block(
                    "13:00",
                    "16:30",
                    {"fu": 0.45, "xray": 0.3, "new": 0.1, "cast": 0.15},
                    overbook=0.1,
                    overbook_type="fu",
                ),
            ),
            {
                "fu": Real(5, 11, 3),
                "xray": Real(5, 13, 3, step_out=1.0, away=(12, 25), first_part=0.35),
                "new": Real(11, 24, 4, step_out=0.4, away=(15, 30), first_part=0.5),
                "cast": Real(9, 26, 6, step_out=0.6, away=(10, 20), first_part=0.3),
            },
            {"kayla": ("ramos",), "dev": ("becker",), "june": ("osei",)},
            habits={
                "ramos": Habit(lag={Stage.provider_in: (3, 8)}),
                "kayla": Habit(together=True),
                "desk": DESK_BATCH_20,
            },
            pace={"ramos": 1.05, "becker": 0.95, "osei": 1.1},
            no_show=0.07,
            roomed_ahead=3,
            provider_late={"becker": (0.2, 5, 15)},
        ),
        Scenario(
            "van_seniors",
            "senior health; transport vans bring patients in waves, many come very early; K=2 L=15, provider time",
            _clinic(
                "eastside-senior",
                "Eastside Senior Health",
                "America/New_York",
                "07:15",
                "17:30",
                "provider",
                2,
                15,
                10,
                [
                    ("adeyemi", "Dr. Tunde Adeyemi", "TA"),
                    ("cho", "Dr. Grace Cho", "GC"),
                    ("novak", "Dr. Ivan Novak", "IN"),
                    ("price", "Lena Price, NP", "LP"),
                ],
                [
                    ("chronic", "Chronic care", 30, 10, 12, 3, 22, 5),
                    ("med", "Medication review", 20, 8, 10, 3, 14, 4),
                    ("wellness", "Annual wellness", 40, 10, 15, 3, 28, 6),
                ],
            ),
            (
                Block("08:00", "12:00", {"chronic": 0.45, "med": 0.35, "wellness": 0.2}),
                Block("13:00", "17:00", {"chronic": 0.45, "med": 0.4, "wellness": 0.15}),
            ),
            {"chronic": Real(15, 23, 7), "med": Real(12, 15, 5), "wellness": Real(18, 30, 8)},
            {"ana": (), "ben": (), "cruz": ()},
            habits={
                "novak": Habit(lag={Stage.provider_in: (2, 6)}, says_when=True),
                "ben": Habit(forget={Stage.prep_done: 0.3}),
                "ana": Habit(lag={Stage.teach_back_done: (0, 3)}),
                "cruz": Habit(lag={Stage.teach_back_done: (0, 3)}),
            },
            teach_back_by="ma",
            pace={"adeyemi": 1.0, "cho": 1.1, "novak": 0.95, "price": 1.05},
            no_show=0.12,
            cancel=0.05,
            asked_lead=30,
            early=(0.25, 25, 60),
            late=(0.1, 5, 20),
            vans=(Van("08:15", (3, 5), (-10, 40)), Van("13:15", (3, 5), (-10, 40))),
            checkin=(2.0, 4.0),
        ),
        Scenario(
            "ehr_down",
            "family practice, half its days with the EHR down 20-40 min; walk-ins; a pool of four MAs for five",
            _clinic(
                "northgate-fp",
                "Northgate Family Practice",
                "America/Denver",
                "07:30",
                "17:30",
                "arrival",
                3,
                10,
                12,
                [
                    ("garcia", "Dr. Luis Garcia", "LG"),
                    ("hale", "Dr. Nora Hale", "NH"),
                    ("ito", "Dr. Ken Ito", "KI"),
                    ("moss", "Beth Moss, NP", "BM"),
                    ("quinn", "Dr. Sean Quinn", "SQ"),
                ],
                [
                    ("sick", "Sick visit", 15, 8, 6, 2, 12, 3),
                    ("follow", "Follow-up", 20, 8, 7, 3, 15, 3),
                    ("physical", "Physical", 40, 8, 12, 3, 28, 5),
                    ("new", "New patient", 40, 10, 12, 3, 30, 5),
                ],
            ),
            (
                Block("08:00", "12:00", {"sick": 0.3, "follow": 0.4, "physical": 0.2, "new": 0.1}),
                Block("13:00", "17:00", {"sick": 0.35, "follow": 0.4, "physical": 0.15, "new": 0.1}),
            ),
            {
                "sick": Real(6, 11, 3),
                "follow": Real(7, 16, 3),
                "physical": Real(13, 30, 5),
                "new": Real(13, 32, 5),
            },
            {"pam": (), "raj": (), "sue": (), "tom": ()},
            desks=2,
            habits={"sue": Habit(forget={Stage.prep_done: 0.3}), "hale": Habit(lag={Stage.teach_back_done: (2, 6)})},
            pace={"garcia": 1.0, "hale": 1.1, "ito": 0.9, "moss": 1.05, "quinn": 1.0},
            walk_ins=0.8,
            walk_in_type="sick",
            slowdown=0.5,
        ),
        Scenario(
            "derm_split",
            "dermatology; excisions first (numbing: the provider steps out), overbooked afternoon; K=4 L=5",
            _clinic(
                "mesa-derm",
                "Mesa Dermatology",
                "America/Phoenix",
                "07:00",
                "18:30",
                "arrival",
                4,
                5,
                9,
                [
                    ("lee", "Dr. Ann Lee", "AL"),
                    ("fontaine", "Dr. Paul Fontaine", "PF"),
                    ("baptiste", "Dr. Ida Baptiste", "IB"),
                ],
                [
                    ("check", "Skin check", 15, 5, 5, 2, 10, 2),
                    ("quick", "Quick follow-up", 10, 5, 4, 2, 7, 2),
                    ("excision", "Excision", 60, 8, 12, 5, 40, 6),
                    ("postop", "Post-surgery check", 20, 5, 6, 2, 12, 3),
                ],
            ),
            (
                Block(
                    "07:30",
                    "11:30",
                    {"check": 0.45, "quick": 0.3, "postop": 0.2, "excision": 0.05},
                    front={"excision": 0.6, "check": 0.2, "quick": 0.2},
                    front_minutes=120,
                    beside=("excision", "check", 20, 0.7),
                ),
                Block(
                    "14:00", "18:00", {"check": 0.45, "quick": 0.35, "postop": 0.2}, overbook=0.3, overbook_type="quick"
                ),
            ),
            {
                "check": Real(5, 11, 2),
                "quick": Real(4, 8, 2),
                "excision": Real(14, 38, 6, step_out=1.0, away=(10, 15), first_part=0.2),
                "postop": Real(6, 12, 3),
            },
            {"rosa": ("lee",), "luz": ("fontaine",), "mia": ("baptiste",)},
            habits={"lee": Habit(lag={Stage.provider_in: (4, 9)}), "rosa": Habit(together=True), "desk": DESK_BATCH_20},
            pace={"lee": 1.0, "fontaine": 1.1, "baptiste": 0.9},
            no_show=0.1,
            cancel=0.05,
            roomed_ahead=3,
        ),
        Scenario(
            "evening_urgent",
            "after-hours clinic 16-21h, many walk-ins, a provider late from a day job; K=3 L=15, provider time",
            _clinic(
                "harbor-after-hours",
                "Harbor After-Hours Clinic",
                "America/Los_Angeles",
                "15:30",
                "21:30",
                "provider",
                3,
                15,
                8,
                [("abara", "Dr. Chika Abara", "CA"), ("dunn", "Dr. Owen Dunn", "OD"), ("vega", "Rosa Vega, PA", "RV")],
                [
                    ("urgent", "Urgent visit", 15, 5, 6, 2, 13, 3),
                    ("follow", "Follow-up", 20, 5, 6, 2, 15, 3),
                    ("lac", "Laceration repair", 45, 5, 8, 3, 35, 5),
                ],
            ),
            (Block("16:00", "21:00", {"urgent": 0.55, "follow": 0.3, "lac": 0.15}),),
            {
                "urgent": Real(7, 14, 3),
                "follow": Real(6, 14, 3),
                "lac": Real(8, 30, 5, step_out=0.7, away=(10, 20), first_part=0.25),
            },
            {"kai": (), "liv": ()},
            habits={
                "kai": Habit(together=True),
                "vega": Habit(lag={Stage.teach_back_done: (1, 4)}),
                "desk": Habit(batch=25),
            },
            pace={"abara": 0.95, "dunn": 1.1, "vega": 1.0},
            no_show=0.15,
            cancel=0.1,
            asked_lead=15,
            early=(0.05, 20, 40),
            late=(0.3, 5, 25),
            walk_ins=2.0,
            walk_in_type="urgent",
            provider_late={"dunn": (0.35, 10, 35)},
            presence_told=0.6,
        ),
        Scenario(
            "womens_afternoon",
            "women's health, afternoons only; procedures first, ultrasounds mid-visit, prenatal overbooked; K=2 L=10",
            _clinic(
                "cedar-womens",
                "Cedar Women's Health",
                "America/Detroit",
                "12:00",
                "18:30",
                "provider",
                2,
                10,
                6,
                [("mendez", "Dr. Sofia Mendez", "SM"), ("wolfe", "Dr. Hannah Wolfe", "HW")],
                [
                    ("prenatal", "Prenatal check", 15, 5, 6, 2, 10, 3),
                    ("colpo", "Colposcopy or IUD", 45, 5, 10, 4, 30, 6),
                    ("annual", "Annual exam", 30, 5, 8, 3, 20, 4),
                    ("us", "Visit with ultrasound", 30, 5, 6, 2, 25, 3),
                ],
            ),
            (
                Block(
                    "12:30",
                    "17:30",
                    {"prenatal": 0.5, "annual": 0.2, "us": 0.2, "colpo": 0.1},
                    front={"colpo": 0.5, "annual": 0.2, "us": 0.3},
                    front_minutes=120,
                    overbook=0.25,
                    overbook_type="prenatal",
                ),
            ),
            {
                "prenatal": Real(7, 11, 3),
                "colpo": Real(12, 38, 6),
                "annual": Real(9, 20, 4),
                "us": Real(6, 14, 3, step_out=1.0, away=(15, 25), first_part=0.4),
            },
            {"tess": ("mendez",), "uma": ("wolfe",)},
            habits={
                "wolfe": Habit(lag={Stage.provider_in: (3, 10)}, says_when=True),
                "tess": Habit(together=True),
                "desk": Habit(batch=15),
            },
            pace={"mendez": 1.0, "wolfe": 1.1},
            day_sigma=0.12,
            asked_lead=20,
            roomed_ahead=3,
        ),
        Scenario(
            "peds_walkins",
            "pediatrics, five providers; siblings come together, sick walk-ins, overbooked afternoon; K=4 L=8",
            _clinic(
                "sunny-peds",
                "Sunny Pediatrics",
                "America/Indiana/Indianapolis",
                "07:30",
                "17:30",
                "arrival",
                4,
                8,
                14,
                [
                    ("ng", "Dr. Amy Ng", "AN"),
                    ("ortiz", "Dr. Leo Ortiz", "LO"),
                    ("patel", "Dr. Ravi Patel", "RP"),
                    ("sato", "Dr. Emi Sato", "ES"),
                    ("young", "Kim Young, NP", "KY"),
                ],
                [
                    ("sick", "Sick visit", 15, 6, 5, 2, 10, 3),
                    ("wcc", "Well-child check", 30, 6, 10, 3, 18, 6),
                    ("adhd", "ADHD or behaviour", 30, 5, 6, 2, 25, 3),
                ],
            ),
            (
                Block("08:00", "12:00", {"sick": 0.4, "wcc": 0.45, "adhd": 0.15}),
                Block("13:30", "17:00", {"sick": 0.5, "wcc": 0.35, "adhd": 0.15}, overbook=0.2, overbook_type="sick"),
            ),
            {
                "sick": Real(5, 9, 3),
                "wcc": Real(12, 20, 6, step_out=0.25, away=(8, 15), first_part=0.6),
                "adhd": Real(6, 28, 3),
            },
            {"abby": (), "carl": (), "dina": (), "eve": ()},
            desks=2,
            habits={
                "patel": Habit(lag={Stage.provider_in: (2, 5)}),
                "abby": Habit(together=True),
                "carl": Habit(forget={Stage.prep_done: 0.3}),
                "desk": DESK_BATCH_20,
            },
            pace={"ng": 1.0, "ortiz": 1.1, "patel": 0.95, "sato": 1.0, "young": 1.1},
            works={"young": (1,)},
            no_show=0.1,
            cancel=0.05,
            early=(0.2, 15, 40),
            late=(0.15, 5, 15),
            vans=(
                Van("09:00", (2, 3), (-15, 20)),
                Van("10:30", (2, 3), (-15, 20)),
                Van("14:30", (2, 3), (-15, 20)),
                Van("15:30", (2, 3), (-15, 20)),
            ),
            walk_ins=1.2,
            walk_in_type="sick",
        ),
    )
}

# ---------------------------------------------------------------------------------------------------------------
# The day as it really happens.

ORDER = (Stage.arrived, Stage.roomed, Stage.prep_done, Stage.provider_in, Stage.teach_back_done, Stage.checked_out)
#: A forgotten tap is remembered this many minutes later, if no later step's tap brought it in first.
FORGOTTEN = 45.0
#: A provider starts a booked patient at most this many minutes before the planned provider-in (charting first).
EARLIEST = 10.0
#: ... or this many, while one of their patients is away (at imaging, numbing): the provider fills the wait.
EARLIEST_BETWEEN = 30.0
#: A provider done with a session's patients stays this many minutes past its end (notes) before lunch.
NOTES = 15.0
FIRST_NAMES = ("Ada", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ian", "Jo", "Kai", "Lia", "Max", "Nia")
LAST_NAMES = ("Abbott", "Baker", "Chen", "Diaz", "Evans", "Ford", "Gray", "Hill", "Irwin", "Jones", "Khan", "Lopez")


def _minutes(hhmm: str) -> float:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


@dataclass
class Patient:
    """One visit of the day, as it really goes (minutes after local midnight)."""

    n: int
    name: str
    provider: str
    vtype: str
    block: int
    start: float | None  # the booked time; None: a walk-in
    fate: str  # "come", "no_show", "cancel"
    planned: float  # the planned provider-in, by the clinic's convention (a walk-in: when it came)
    room_from: float  # the earliest an MA rooms it
    door: float = math.inf  # when it really came in
    call: float = math.inf  # a cancellation: when it called
    van: bool = False
    checkin_work: float = 0.0
    intake_work: float = 0.0
    provider_work: float = 0.0
    steps_out: bool = False
    away: float = 0.0
    first_part: float = 0.0
    discharge_work: float = 0.0
    clean_work: float = 0.0
    #: Real times of each step.
    t: dict[Stage, float] = field(default_factory=dict)
    checked_in: float | None = None
    ma: str | None = None
    desk: int = 0
    room: int | None = None
    clean_at: float | None = None
    #: Where the visit is in the simulation: "out", "desk", "waiting", "intake", "ready", "with", "away",
    #: "back", "done".
    where: str = "out"

    @property
    def walk_in(self) -> bool:
        return self.start is None

    @property
    def key(self) -> float:
        """Who is due first: the planned provider-in; a walk-in, or a patient checked in more than 15 minutes after
        it, is fitted in 20 minutes after its check-in."""
        came = self.checked_in if self.checked_in is not None else self.door
        if self.walk_in or came > self.planned + 15:
            return came + 20
        return self.planned


@dataclass
class Provider:
    id: str
    blocks: tuple[int, ...]
    block: int
    available: float  # sees nobody from `away_from` until this (not there yet, lunch)
    busy: bool = False
    away_from: float = -math.inf
    late: float = 0.0
    pace: float = 1.0
    #: The least lunch between two sessions (minutes).
    lunch: float = 20.0


@dataclass
class Slowdown:
    start: float
    end: float
    factor: float

    def finish(self, at: float, work: float) -> float:
        """When `work` minutes of work started at `at` is done, the slow window taken `factor` times as long."""
        if at < self.start:
            if at + work <= self.start:
                return at + work
            work -= self.start - at
            at = self.start
        if at < self.end:
            room = (self.end - at) / self.factor
            if work <= room:
                return at + work * self.factor
            work -= room
            at = self.end
        return at + work


class World:
    """The day as it really happens: patients come, the desk checks them in, MAs room them, providers see them."""

    def __init__(self, sc: Scenario, seed: int, slowdown: bool | None = None) -> None:
        self.sc = sc
        self.clinic = sc.clinic
        rday = random.Random(f"third:{sc.name}:{seed}:day")
        #: The EHR down for a while: drawn every day (so a day without it is the same day otherwise).
        happens = rday.random() < sc.slowdown
        window = Slowdown(
            rday.uniform(_minutes(sc.blocks[0].start) + 60, _minutes(sc.blocks[-1].end) - 60),
            0.0,
            rday.uniform(*sc.slow_factor),
        )
        window.end = window.start + rday.uniform(*sc.slow_minutes)
        self.slow = window if (happens if slowdown is None else slowdown) else None
        self.providers: dict[str, Provider] = {}
        for p in self.clinic.providers:
            blocks = sc.works.get(p.id, tuple(range(len(sc.blocks))))
            chance, lo, hi = sc.provider_late.get(p.id, (0.0, 0.0, 0.0))
            late = rday.uniform(lo, hi) if rday.random() < chance else 0.0
            day_pace = math.exp(rday.gauss(0, sc.day_sigma))
            pace = sc.pace.get(p.id, 1.0) * day_pace
            self.providers[p.id] = Provider(
                p.id, blocks, blocks[0], 0.0, late=late, pace=pace, lunch=rday.uniform(15, 25)
            )
        self.patients = self._schedule(random.Random(f"third:{sc.name}:{seed}:schedule"))
        rwork = random.Random(f"third:{sc.name}:{seed}:work")
        for p in self.patients:
            self._draw_work(p, rwork)

    # -- the schedule ------------------------------------------------------------------------------------------

    def _planned(self, vtype: str, start: float) -> float:
        if self.clinic.session.appointment_time is AppointmentTime.provider:
            return start
        sm = self.clinic.visit_type(vtype).stage_minutes
        return start + sm.roomed + sm.prep_done

    def _booked(self, n: int, rng: random.Random, provider: str, vtype: str, block: int, start: float) -> Patient:
        sm = self.clinic.visit_type(vtype).stage_minutes
        planned = self._planned(vtype, start)
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        return Patient(n, name, provider, vtype, block, start, "come", planned, planned - sm.roomed - sm.prep_done - 10)

    def _schedule(self, rng: random.Random) -> list[Patient]:
        sc = self.sc
        patients: list[Patient] = []
        for prov in self.providers.values():
            for b in prov.blocks:
                block = sc.blocks[b]
                t, end = _minutes(block.start), _minutes(block.end)
                while True:
                    weights = (
                        block.front if block.front and t < _minutes(block.start) + block.front_minutes else block.mix
                    )
                    codes = [c for c in weights if t + self.clinic.visit_type(c).slot_minutes <= end]
                    if not codes:
                        break
                    vtype = rng.choices(codes, [weights[c] for c in codes])[0]
                    patients.append(self._booked(len(patients), rng, prov.id, vtype, b, t))
                    if block.overbook and rng.random() < block.overbook:
                        patients.append(self._booked(len(patients), rng, prov.id, block.overbook_type, b, t))
                    if block.beside and vtype == block.beside[0] and rng.random() < block.beside[3]:
                        short, offset = block.beside[1], block.beside[2]
                        patients.append(self._booked(len(patients), rng, prov.id, short, b, t + offset))
                    t += self.clinic.visit_type(vtype).slot_minutes
        # Who comes, and when.
        early_share, early_lo, early_hi = sc.early
        late_share, late_lo, late_hi = sc.late
        for p in patients:
            r = rng.random()
            p.fate = "no_show" if r < sc.no_show else "cancel" if r < sc.no_show + sc.cancel else "come"
            asked = p.start - sc.asked_lead
            r = rng.random()
            if r < early_share:
                p.door = asked - rng.uniform(early_lo, early_hi)
            elif r < early_share + late_share:
                p.door = asked + rng.uniform(late_lo, late_hi)
            elif r < early_share + late_share + sc.very_late:
                p.door = asked + rng.uniform(30, 60)
            else:
                p.door = asked + max(-15.0, min(5.0, rng.gauss(-5, 4)))
            first = min(_minutes(b.start) for b in sc.blocks)
            p.call = rng.uniform(first - 60, max(first - 50, p.start - 20))
        for van in sc.vans:
            around = _minutes(van.around)
            near = sorted(
                (p for p in patients if not p.van and abs(p.start - sc.asked_lead - around) <= 40),
                key=lambda p: (abs(p.start - sc.asked_lead - around), p.n),
            )[: rng.randint(*van.size)]
            delay = rng.uniform(*van.delay)
            if near:
                came = min(p.start for p in near) - sc.asked_lead + delay
                for p in near:
                    p.van, p.fate, p.door = True, "come", came + rng.uniform(0, 1.5)
        for p in patients:
            if p.fate != "come":
                p.door = math.inf
            if p.fate != "cancel":
                p.call = math.inf
        # Walk-ins, given to the provider of that session with the fewest so far.
        if sc.walk_ins:
            given: dict[str, int] = dict.fromkeys(self.providers, 0)
            for b, block in enumerate(sc.blocks):
                t, end = _minutes(block.start), _minutes(block.end) - 30
                while True:
                    t += rng.expovariate(sc.walk_ins / 60)
                    if t >= end:
                        break
                    there = [pid for pid, prov in self.providers.items() if b in prov.blocks]
                    pid = min(there, key=lambda x: (given[x], rng.random()))
                    given[pid] += 1
                    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
                    patients.append(
                        Patient(len(patients), name, pid, sc.walk_in_type, b, None, "come", t, -math.inf, t)
                    )
        return patients

    def _draw_work(self, p: Patient, rng: random.Random) -> None:
        sc = self.sc
        real = sc.real[p.vtype]
        spread = sc.visit_sigma

        def draw(median: float, sigma: float) -> float:
            return median * min(3.0, max(0.4, math.exp(rng.gauss(0, sigma))))

        p.checkin_work = rng.uniform(*sc.checkin)
        p.intake_work = draw(real.intake, 0.25)
        p.provider_work = draw(real.provider * self.providers[p.provider].pace, spread)
        p.steps_out = rng.random() < real.step_out
        p.away = rng.uniform(*real.away)
        p.first_part = real.first_part
        p.discharge_work = draw(real.discharge, 0.3)
        p.clean_work = rng.uniform(2, 5)

    # -- the simulation ----------------------------------------------------------------------------------------

    def _work(self, at: float, work: float) -> float:
        return self.slow.finish(at, work) if self.slow else at + work

    def run(self) -> None:
        sc = self.sc
        self.now = 0.0
        self._heap: list[tuple[float, int, str, Patient | int | None]] = []
        self._tick = count()
        self._wakes: set[float] = set()
        self.ready_rooms = set(range(len(self.clinic.rooms)))
        self.free_desks = list(range(sc.desks))
        self.free_mas = list(sc.mas)
        self.desk_queue: list[Patient] = []
        for p in self.patients:
            if p.fate == "come":
                self._at(p.door, "door", p)
        for prov in self.providers.values():
            first = [
                p.planned for p in self.patients if p.provider == prov.id and p.block == prov.block and not p.walk_in
            ]
            block_start = min(first, default=_minutes(sc.blocks[prov.block].start))
            prov.available = block_start - 5 + prov.late
            self._at(prov.available, "wake", None)
        while self._heap:
            self.now, _, kind, what = heapq.heappop(self._heap)
            self._happen(kind, what)
            self._dispatch()
        stuck = [p for p in self.patients if p.fate == "come" and p.where != "done"]
        if stuck:
            raise RuntimeError(f"{sc.name}: {len(stuck)} patients never checked out (first: {stuck[0]})")

    def _at(self, at: float, kind: str, what: Patient | int | None) -> None:
        if kind == "wake":
            if at in self._wakes:
                return
            self._wakes.add(at)
        heapq.heappush(self._heap, (at, next(self._tick), kind, what))

    def _happen(self, kind: str, what) -> None:
        now, p = self.now, what
        if kind == "door":
            p.t[Stage.arrived] = now
            p.where = "desk"
            self.desk_queue.append(p)
        elif kind == "checked_in":
            p.checked_in = now
            p.where = "waiting"
            self.free_desks.append(p.desk)
            if p.room_from > now:
                self._at(p.room_from, "wake", None)
        elif kind == "intake_done":
            p.t[Stage.prep_done] = now
            p.where = "ready"
            self.free_mas.append(p.ma)
        elif kind == "stepped_out":
            p.where = "away"
            self.providers[p.provider].busy = False
            self._at(self._work(now, p.away), "back", p)
        elif kind == "back":
            p.where = "back"
        elif kind == "seen":
            p.t[Stage.teach_back_done] = now
            p.where = "discharge"
            self.providers[p.provider].busy = False
            self._at(self._work(now, p.discharge_work), "out", p)
        elif kind == "out":
            p.t[Stage.checked_out] = now
            p.where = "done"
            p.clean_at = now + p.clean_work
            self._at(p.clean_at, "clean", p.room)
        elif kind == "clean":
            self.ready_rooms.add(what)

    def _dispatch(self) -> None:
        now = self.now
        while self.free_desks and self.desk_queue:
            p = self.desk_queue.pop(0)
            p.desk = self.free_desks.pop(0)
            p.where = "at desk"
            self._at(self._work(now, p.checkin_work), "checked_in", p)
        for ma in list(self.free_mas):
            if not self.ready_rooms:
                break
            serves = self.sc.mas[ma]
            ahead = {pid: 0 for pid in self.providers}
            for q in self.patients:
                if q.where in ("intake", "ready"):
                    ahead[q.provider] += 1
            waiting = [
                q
                for q in self.patients
                if q.where == "waiting"
                and q.room_from <= now
                and (not serves or q.provider in serves)
                and ahead[q.provider] < self.sc.roomed_ahead
            ]
            if not waiting:
                continue
            p = min(waiting, key=lambda q: (q.key, q.n))
            p.room = min(self.ready_rooms)
            self.ready_rooms.discard(p.room)
            p.ma, p.where = ma, "intake"
            self.free_mas.remove(ma)
            p.t[Stage.roomed] = now
            self._at(self._work(now, p.intake_work), "intake_done", p)
        for prov in self.providers.values():
            if prov.busy or prov.away_from <= now < prov.available:
                continue
            mine = [p for p in self.patients if p.provider == prov.id]
            back = [p for p in mine if p.where == "back"]
            if back:
                p = min(back, key=lambda q: (q.key, q.n))
                prov.busy, p.where = True, "with"
                self._at(self._work(now, p.provider_work * (1 - p.first_part)), "seen", p)
                continue
            ready = [p for p in mine if p.where == "ready" and p.block <= prov.block]
            early = EARLIEST_BETWEEN if any(p.where == "away" for p in mine) else EARLIEST
            due = [p for p in ready if p.walk_in or p.planned - early <= now]
            if ready and not due:
                self._at(min(p.planned for p in ready) - early, "wake", None)
            if due:
                p = min(due, key=lambda q: (q.key, q.n))
                prov.busy, p.where = True, "with"
                p.t[Stage.provider_in] = now
                if p.steps_out:
                    self._at(self._work(now, p.provider_work * p.first_part), "stepped_out", p)
                else:
                    self._at(self._work(now, p.provider_work), "seen", p)
                continue
            self._maybe_lunch(prov, mine)

    def _maybe_lunch(self, prov: Provider, mine: list[Patient]) -> None:
        """A provider with none of this session's patients roomed or with them goes on to the next session, once
        this one's time is nearly up or all its patients are done: they stay for notes until NOTES minutes after
        the session's end (seeing any patient who is ready meanwhile), then take a lunch of 15 to 25 minutes at
        least; a patient of the session who is ready later is seen after lunch."""
        later = [b for b in prov.blocks if b > prov.block]
        if not later:
            return
        busy = [p for p in mine if p.block <= prov.block and p.where in ("intake", "ready", "with", "away", "back")]
        if busy:
            return
        current = [p for p in mine if p.block == prov.block and not p.walk_in]
        open_ = [p for p in current if p.fate == "come" and p.where != "done"]
        nearly_up = self.now >= _minutes(self.sc.blocks[prov.block].end) - 10
        if not nearly_up and open_:
            return
        nxt = later[0]
        starts = [p.planned for p in mine if p.block == nxt and not p.walk_in]
        prov.block = nxt
        prov.away_from = max(self.now, _minutes(self.sc.blocks[nxt - 1].end) + NOTES)
        next_start = min(starts, default=_minutes(self.sc.blocks[nxt].start))
        prov.available = max(next_start - 5, prov.away_from + prov.lunch)
        self._at(prov.available, "wake", None)


# ---------------------------------------------------------------------------------------------------------------
# The day as tapped.


@dataclass
class Intent:
    """A tap someone will enter: a step of a visit, a room marked ready, a no-show sweep, a presence mark."""

    kind: str
    patient: Patient | None
    stage: Stage | None
    actor: str
    real: float  # when the step really happened (minutes)
    says_when: bool = False
    room: str | None = None
    provider: str | None = None
    back_in: int | None = None
    done: bool = False


@dataclass
class SimDay:
    """One simulated day: the taps as entered (`events`), the floor they fold to (`tapped`), the truth floor
    (`truth`: the same visits, each step when it really happened), the taps refused (modelling bugs), and the
    simulation itself (`world`)."""

    clinic: Clinic
    day: dt.date
    events: list[Event]
    tapped: Floor
    truth: Floor
    refused: list[str]
    world: World


class Tablets:
    """Staff tapping the day, each by their own habits, through `Floor.decide` and `Floor.apply`."""

    def __init__(self, world: World, day: dt.date, seed: int) -> None:
        self.world = world
        self.sc = world.sc
        self.clinic = world.clinic
        self.day = day
        self.midnight = self.clinic.local(day, dt.time(0, 0))
        self.rng = random.Random(f"third:{self.sc.name}:{seed}:taps")
        self.floor = Floor(self.clinic, day, 0, Ids.seeded(f"third:{self.sc.name}:{seed}"))
        self.events: list[Event] = []
        self.real: dict[int, dt.datetime] = {}
        self.refused: list[str] = []
        self.vid: dict[int, str] = {}
        self.pending: dict[int, dict[Stage, Intent]] = {}
        self.ready_for: dict[str, Intent] = {}
        self.occupant: dict[str, Patient] = {}
        self._heap: list[tuple[float, int, Intent]] = []
        self._tick = count()
        rooms = self.clinic.rooms
        self.room_ids = [r.id for r in rooms]
        batch = self.sc.habits.get("desk", PROMPT).batch
        self.batch_offset = self.rng.uniform(0, batch) if batch else 0.0

    def at(self, minutes: float) -> dt.datetime:
        return self.midnight + dt.timedelta(seconds=round(minutes * 60))

    def habit(self, actor: str) -> Habit:
        return self.sc.habits.get(actor, PROMPT)

    def do(self, command: Command, actor: str, minutes: float, real: float | None = None) -> Event | None:
        device = f"tablet-{actor}"
        try:
            event = self.floor.decide(command, Tap(actor, device, self.at(minutes)))
        except Refusal as e:
            self.refused.append(f"{actor} at {self.at(minutes):%H:%M}: {type(command).__name__} refused: {e.message}")
            return None
        self.floor.apply(event)
        self.events.append(event)
        if real is not None:
            self.real[event.seq] = self.at(real)
        return event

    # -- what each person will tap, and when --------------------------------------------------------------------

    def _who(self, p: Patient, stage: Stage) -> str:
        if stage in (Stage.arrived, Stage.no_show, Stage.cancelled):
            return f"desk{p.desk + 1}" if stage is Stage.arrived else "desk1"
        if stage is Stage.checked_out:
            return "desk1"
        if stage in (Stage.roomed, Stage.prep_done):
            return p.ma
        if stage is Stage.teach_back_done and self.sc.teach_back_by == "ma":
            return p.ma
        return p.provider

    def _when(self, p: Patient, stage: Stage, actor: str) -> float:
        habit = self.habit("desk" if actor.startswith("desk") else actor)
        real = p.t[stage]
        if habit.forget.get(stage, 0.0) and self.rng.random() < habit.forget[stage]:
            return real + FORGOTTEN
        lo, hi = habit.lag.get(stage, (0.0, 0.0))
        lag = self.rng.uniform(lo, hi) if hi else 0.0
        if habit.together and stage is Stage.roomed:
            return p.t[Stage.prep_done] + lag
        if habit.batch and stage is Stage.checked_out:
            k = math.ceil((real + lag - self.batch_offset) / habit.batch)
            return self.batch_offset + k * habit.batch
        return real + lag

    def _intend(self, at: float, intent: Intent) -> None:
        heapq.heappush(self._heap, (at, next(self._tick), intent))

    def plan(self) -> None:
        world, sc = self.world, self.sc
        booked = [p for p in world.patients if not p.walk_in]
        book_at = min(_minutes(b.start) for b in sc.blocks) - 90
        for p in sorted(booked, key=lambda q: (q.provider, q.start, q.n)):
            event = self.do(BookVisit(p.name, p.provider, p.vtype, start=self.at(p.start)), "scheduler", book_at)
            if event is not None:
                self.vid[p.n] = event.change.visit
        desk = self.habit("desk")
        for p in world.patients:
            self.pending[p.n] = {}
            if p.fate == "cancel":
                self._intend(p.call + self.rng.uniform(0, 5), Intent("step", p, Stage.cancelled, "desk1", p.call))
                continue
            if not p.walk_in:
                sweep = p.start + self.rng.uniform(*desk.no_show_after)
                if p.door > sweep:
                    self._intend(sweep, Intent("sweep", p, Stage.no_show, "desk1", sweep))
            if p.fate != "come":
                continue
            for stage in ORDER:
                actor = self._who(p, stage)
                intent = Intent("step", p, stage, actor, p.t[stage], says_when=self.habit(actor).says_when)
                self.pending[p.n][stage] = intent
                when = p.checked_in if stage is Stage.arrived else self._when(p, stage, actor)
                self._intend(when, intent)
        for prov in world.providers.values():
            if prov.late >= 10 and self.rng.random() < sc.presence_told:
                back_in = round(prov.late / 5) * 5 if self.rng.random() < 0.5 else None
                start = prov.available - prov.late + 5
                intent = Intent("presence", None, None, next(iter(sc.mas)), start, provider=prov.id, back_in=back_in)
                self._intend(start + 2, intent)

    # -- tapping ------------------------------------------------------------------------------------------------

    def run(self) -> None:
        self.plan()
        while self._heap:
            at, _, intent = heapq.heappop(self._heap)
            if intent.done:
                continue
            if intent.kind == "step":
                self.step(intent, at)
            elif intent.kind == "ready":
                self.mark_ready(intent, at)
            elif intent.kind == "sweep":
                intent.done = True
                if intent.patient.n in self.vid:
                    self.do(TakeStep(self.vid[intent.patient.n], Stage.no_show), intent.actor, at, at)
            elif intent.kind == "presence":
                intent.done = True
                self.do(MarkPresence(intent.provider, Presence.running_late, intent.back_in), intent.actor, at)

    def step(self, intent: Intent, at: float) -> None:
        """Tap one step at `at`, bringing in first any earlier step of the visit not tapped yet."""
        if intent.done:
            return
        p, stage = intent.patient, intent.stage
        for earlier in ORDER[: ORDER.index(stage)] if stage in ORDER else ():
            before = self.pending[p.n].get(earlier)
            if before is not None and not before.done:
                self.step(before, at)
        intent.done = True
        if stage is Stage.arrived and p.walk_in:
            event = self.do(BookVisit(p.name, p.provider, p.vtype, walk_in=True), intent.actor, at, intent.real)
            if event is not None:
                self.vid[p.n] = event.change.visit
            return
        visit = self.vid.get(p.n)
        if visit is None:
            self.refused.append(f"{p.name}: {stage.value} for a visit never booked")
            return
        if stage is Stage.arrived and self.floor.visits[visit].stage is Stage.no_show:
            self.do(UndoStep(visit), intent.actor, at)
        room = self.room_for(p, at) if stage is Stage.roomed else None
        event = self.do(
            TakeStep(visit, stage, room, minutes_ago=self._minutes_ago(intent, visit, at)),
            intent.actor,
            at,
            intent.real,
        )
        if event is None:
            return
        if stage is Stage.roomed:
            self.occupant[room] = p
        if stage is Stage.checked_out and event.change.room is not None:
            room = event.change.room
            ready = Intent("ready", p, None, p.ma, p.clean_at, room=room)
            self.ready_for[room] = ready
            self._intend(max(at, p.clean_at + self.rng.uniform(0, 2)), ready)

    def _minutes_ago(self, intent: Intent, visit: str, at: float) -> int:
        """Whole minutes a late tapper says the step happened before the tap: no more than it did, nor before
        the visit's last step or (rooming) its room's last change, as the tablet allows."""
        if not intent.says_when or intent.stage is Stage.roomed:
            return 0
        minutes = math.floor((self.at(at) - self.at(intent.real)).total_seconds() / 60)
        tapped = self.floor.visits[visit]
        last = max(tapped.times.values(), default=None)
        if last is not None:
            minutes = min(minutes, math.floor((self.at(at) - last).total_seconds() / 60))
        return max(0, min(MAX_MINUTES_AGO, minutes))

    def mark_ready(self, intent: Intent, at: float) -> None:
        intent.done = True
        room = intent.room
        if self.ready_for.get(room) is intent:
            del self.ready_for[room]
            self.do(MarkRoom(room, RoomAction.ready), intent.actor, at)

    def room_for(self, p: Patient, at: float) -> str:
        """The room an MA taps: the one the patient is in if the tablet has it ready, else another ready one; with
        none ready, a room in turnover marked ready first, or the desk asked to check out a patient who has left."""
        rooms = self.floor.rooms
        mine = self.room_ids[p.room]
        if rooms[mine].state is RoomState.ready:
            return mine
        ready = [r for r in self.room_ids if rooms[r].state is RoomState.ready]
        if ready:
            return ready[0]
        turnover = [r for r in self.room_ids if rooms[r].state is RoomState.turnover and r in self.ready_for]
        if not turnover:
            left = [
                r
                for r in self.room_ids
                if rooms[r].state is RoomState.occupied
                and r in self.occupant
                and self.occupant[r].t.get(Stage.checked_out, math.inf) <= at
            ]
            for r in left[:1]:
                out = self.pending[self.occupant[r].n][Stage.checked_out]
                self.step(out, at)
            turnover = [r for r in self.room_ids if rooms[r].state is RoomState.turnover and r in self.ready_for]
        for r in turnover[:1]:
            self.mark_ready(self.ready_for[r], at)
            return r
        return mine  # none to be had: the tap is refused, and counted


def simulate(sc: Scenario, day: dt.date, seed: int, slowdown: bool | None = None) -> SimDay:
    """One day of a scenario: `slowdown` True or False forces the clinic-wide slowdown on or off (None: as the
    day's own draw says), the day otherwise the same."""
    world = World(sc, seed, slowdown)
    world.run()
    tablets = Tablets(world, day, seed)
    tablets.run()
    truth = truth_floor(sc.clinic, day, tablets.events, tablets.real)
    return SimDay(sc.clinic, day, tablets.events, tablets.floor, truth, tablets.refused, world)


#: The scenarios for loadtests/model_days.py, which scores them with alert_quality's yardstick.
MODEL = Model.of(SCENARIOS, simulate)


if __name__ == "__main__":
    main(MODEL, __doc__, default_seed=3000)
