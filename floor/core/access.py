"""Who may do what: each staff role taps only its own steps; managers may do everything; everyone only in
the clinics they work in (see "clinics" below).

Pure rules for the edges' guards: every route and the live socket declares the `Act` it performs (or that its
tap's own action is checked here, by the core), and one guard asks `may(role, act)` and answers 403 with
`refusal_text` when not (floor/web/auth.py). tests/web/test_route_access.py checks every route against this
table.
"""

from __future__ import annotations

from enum import StrEnum

from floor.core.journey import Stage
from floor.core.rooms import RoomAction


class Role(StrEnum):
    front_desk = "front_desk"
    medical_assistant = "medical_assistant"
    provider = "provider"
    manager = "manager"


class Act(StrEnum):
    """Actions that are not a visit's step or a room mark."""

    #: The floor now, with names: the board, a visit and its history, the live feed, the list of clinics.
    read_floor = "read_floor"
    book = "book"  # schedule a visit or add a walk-in
    #: Send a patient who is here and waiting to another provider.
    move_visit = "move_visit"
    undo = "undo"
    acknowledge_alert = "acknowledge_alert"
    read_measures = "read_measures"
    read_audit = "read_audit"
    #: A past day's board: its patients' names, for reports, not for the floor.
    read_history = "read_history"
    #: What Floor learned from past days (expected minutes per provider and visit type).
    read_learned = "read_learned"
    #: A day's visits and measures as FHIR resources or CSV, to take elsewhere.
    export_records = "export_records"
    #: Import a day's schedule; see and withdraw the schedules kept for days ahead.
    manage_schedule = "manage_schedule"
    manage_staff = "manage_staff"
    manage_displays = "manage_displays"
    #: Say a provider is running late, stepped away or back: a provider for themself only (see may_mark).
    mark_presence = "mark_presence"
    #: Change the clinic's set-up from the browser: add a room, change its label or zone, take it out.
    set_up_clinic = "set_up_clinic"


Action = Stage | RoomAction | Act

_DESK, _MA, _PROVIDER = Role.front_desk, Role.medical_assistant, Role.provider

#: Who besides a manager may take each action.
ALLOWED: dict[Action, frozenset[Role]] = {
    Act.read_floor: frozenset({_DESK, _MA, _PROVIDER}),
    Act.book: frozenset({_DESK}),
    Act.move_visit: frozenset({_DESK}),
    Stage.arrived: frozenset({_DESK}),
    Stage.no_show: frozenset({_DESK}),
    Stage.cancelled: frozenset({_DESK}),
    Stage.roomed: frozenset({_MA}),
    Stage.prep_done: frozenset({_MA}),
    Stage.provider_in: frozenset({_PROVIDER}),
    Stage.teach_back_done: frozenset({_PROVIDER}),
    Stage.checked_out: frozenset({_DESK, _MA, _PROVIDER}),
    # A patient who gives up waiting is noticed at the desk or by the assistant who was to room them.
    Stage.left_without_being_seen: frozenset({_DESK, _MA}),
    RoomAction.ready: frozenset({_MA}),
    RoomAction.blocked: frozenset({_MA}),
    RoomAction.unblocked: frozenset({_MA}),
    Act.undo: frozenset({_DESK, _MA, _PROVIDER}),  # their own steps only: see may_undo
    Act.acknowledge_alert: frozenset(),
    Act.read_measures: frozenset(),
    Act.read_audit: frozenset(),
    Act.read_history: frozenset(),
    Act.read_learned: frozenset(),
    Act.export_records: frozenset(),
    Act.manage_schedule: frozenset(),
    Act.manage_staff: frozenset(),
    Act.manage_displays: frozenset(),
    Act.mark_presence: frozenset({_MA, _PROVIDER}),  # a provider for themself only: see may_mark_presence
    Act.set_up_clinic: frozenset(),
}

_WORDS = {
    Role.front_desk: "front desk",
    Role.medical_assistant: "medical assistants",
    Role.provider: "providers",
    Role.manager: "managers",
}


def may(role: Role, action: Action) -> bool:
    return role is Role.manager or role in ALLOWED[action]


def may_undo(role: Role, person: str, step_taken_by: str) -> bool:
    """A mistaken tap is undone by whoever made it, or by a manager."""
    return role is Role.manager or (may(role, Act.undo) and person == step_taken_by)


def may_mark_presence(role: Role, own_provider: str | None, provider: str) -> bool:
    """A provider says where they themself are (`own_provider`: the provider id their account is linked to);
    an assistant or a manager may say it of any provider (the one who sees them leave, or hears they are
    running late)."""
    return may(role, Act.mark_presence) and (role is not Role.provider or own_provider == provider)


#: What each action is called in a sentence ("Front desk cannot room a patient").
_DOING: dict[Action, str] = {
    Act.read_floor: "read the floor",
    Act.book: "add visits",
    Act.move_visit: "move a patient to another provider",
    Stage.arrived: "check a patient in",
    Stage.no_show: "mark a no-show",
    Stage.cancelled: "cancel a visit",
    Stage.roomed: "room a patient",
    Stage.prep_done: "mark prep done",
    Stage.provider_in: "mark the provider in",
    Stage.teach_back_done: "mark the teach-back done",
    Stage.checked_out: "check a patient out",
    Stage.left_without_being_seen: "mark a patient left unseen",
    RoomAction.ready: "mark a room ready",
    RoomAction.blocked: "block a room",
    RoomAction.unblocked: "unblock a room",
    Act.undo: "undo a step",
    Act.acknowledge_alert: "acknowledge alerts",
    Act.read_measures: "read the measures",
    Act.read_audit: "read the audit trail",
    Act.read_history: "read a past day's board",
    Act.read_learned: "read what Floor has learned",
    Act.export_records: "export the clinic's records",
    Act.manage_schedule: "import or withdraw schedules",
    Act.manage_staff: "manage staff",
    Act.manage_displays: "manage displays",
    Act.mark_presence: "say where a provider is",
    Act.set_up_clinic: "change the clinic's set-up",
}


def refusal_text(role: Role, action: Action) -> str:
    who = sorted({_WORDS[r] for r in ALLOWED[action]} | {"managers"})
    return f"{_WORDS[role].capitalize()} cannot {_DOING[action]}: that is for {' and '.join(who)}."


# -- clinics ------------------------------------------------------------------------------------------
#
# A staff account belongs to one or several clinics, or to every clinic the server runs (ALL_CLINICS). It
# reads, taps and watches only its clinics; a manager manages the staff and displays of their clinics only.

#: Stands for every clinic the server runs (now and later), in a staff account's clinics.
ALL_CLINICS = "*"


def clinics_of(stored: tuple[str, ...] | None) -> tuple[str, ...]:
    """An account's clinics as stored. An account added before clinics were recorded (None) keeps every
    clinic, as it had: upgrading must not lock a running floor out mid-shift. The server logs each such
    account when it starts (floor.floors), and a manager narrows them with `floor staff clinics`."""
    return (ALL_CLINICS,) if stored is None else stored


def in_clinic(clinics: tuple[str, ...], clinic: str) -> bool:
    """Whether an account of these clinics may read, tap or watch this clinic's floor."""
    return ALL_CLINICS in clinics or clinic in clinics


def within(clinics: tuple[str, ...], of: tuple[str, ...]) -> bool:
    """Whether every clinic of `clinics` is one of `of`: a manager of `of` may add, unlock, reset, remove or
    list staff of `clinics` (a member of clinics A and B is managed by a manager of both, or of all), and give
    a new account only clinics they have themself."""
    if ALL_CLINICS in of:
        return True
    return ALL_CLINICS not in clinics and set(clinics) <= set(of)


def other_clinic_text(clinic: str) -> str:
    return f"You are not on the staff of clinic {clinic!r}; a manager of that clinic can add you."


#: The actor and device of Floor's own events (alerts raised and cleared): no staff id.
SYSTEM_ACTOR = "floor"
