"""Events: what happened on the floor, past tense. The log stores them; live state is their fold."""

from __future__ import annotations

import datetime as dt

from msgspec import Struct

from floor.config import Id, Label, Thresholds, VisitType
from floor.core.journey import Stage
from floor.core.presence import Presence
from floor.core.rooms import RoomAction, RoomState


class VisitBooked(Struct, tag="visit_booked", frozen=True):
    """A visit was added to the day: scheduled ahead, or a walk-in who is already here."""

    visit: str
    patient_name: str
    provider: str
    visit_type: str
    start: dt.datetime
    walk_in: bool = False
    notes: str = ""
    #: The appointment's id in the clinic's schedule, for visits a schedule import booked (None: booked here).
    external_id: str | None = None
    #: The system (namespace URI) of that id in the EHR, when the schedule gave one (a FHIR identifier's).
    external_system: str | None = None
    #: The visit's three-character token on the wall, distinct among the day's visits (None: booked before
    #: tokens were stored, when the token was derived from the id; see floor.core.ids.legacy_token).
    token: str | None = None
    #: A walk-in booked late: when they came (BookVisit.minutes_ago), their `start` too; None: at the event's time.
    happened: dt.datetime | None = None
    #: The patient's id in the EHR, when the schedule gave one.
    patient_id: str | None = None


class VisitRescheduled(Struct, tag="visit_rescheduled", frozen=True):
    """A scheduled visit (not yet arrived) moved to a new start, provider or visit type: the schedule
    changed in the clinic's EHR and was imported again; or, for a visit booked on the floor, the desk or a
    manager moved it to another provider (MoveVisit). The full new values, and the ones they replace."""

    visit: str
    start: dt.datetime
    provider: str
    visit_type: str
    notes: str
    previous_start: dt.datetime
    previous_provider: str
    previous_visit_type: str


class VisitMoved(Struct, tag="visit_moved", frozen=True):
    """A patient who is here and waiting was moved to another provider on the floor (MoveVisit)."""

    visit: str
    provider: str
    previous_provider: str


class StepTaken(Struct, tag="step_taken", frozen=True):
    """A visit moved on. `room` is the room entered (roomed) or left (checked out, left unseen)."""

    visit: str
    step: Stage
    previous: Stage
    room: str | None = None
    # Checking out without a teach-back is allowed, and recorded as the quality gap it is.
    without_teach_back: bool = False
    #: A cancellation because the booking was a mistake (the schedule's `entered-in-error`): the visit should
    #: never have been on the floor, so it is left out of the day's measures and exported as such.
    entered_in_error: bool = False
    #: When the step happened, if it was tapped late (TakeStep.minutes_ago); None: at the event's time.
    happened: dt.datetime | None = None


class StepUndone(Struct, tag="step_undone", frozen=True):
    """A mistaken step was reversed; the visit is back at `stage`. The undone event stays in the log."""

    visit: str
    undone_seq: int
    step: Stage
    stage: Stage
    room: str | None = None


class WalkInRemoved(Struct, tag="walk_in_removed", frozen=True):
    """A walk-in booked by mistake was taken off the floor (the undo of its booking, before any step): it ends
    as a cancellation entered in error, left out of the measures like any booking that should never have been
    on the floor. The booking stays in the log."""

    visit: str
    undone_seq: int


class RoomMarked(Struct, tag="room_marked", frozen=True):
    """Staff marked a room ready (cleaned), blocked, or unblocked."""

    room: str
    action: RoomAction
    reason: str = ""


class RoomMarkUndone(Struct, tag="room_mark_undone", frozen=True):
    """A mistaken room mark was reversed: the room is back in `state`, as it was before the mark. The undone
    event stays in the log."""

    room: str
    undone_seq: int
    action: RoomAction
    state: RoomState


class ProviderPresence(Struct, tag="provider_presence", frozen=True):
    """Staff said where a provider is: running late to clinic, stepped away (for `back_in_minutes`, if they
    said), or back on the floor."""

    provider: str
    status: Presence
    back_in_minutes: int | None = None
    #: When it was said, if it reached the log late (MarkPresence.minutes_ago); None: at the event's time.
    happened: dt.datetime | None = None


class PresenceUndone(Struct, tag="presence_undone", frozen=True):
    """A mistaken presence tap was reversed: the provider's presence is the one before it again. The undone
    event stays in the log."""

    provider: str
    undone_seq: int
    status: Presence


class SetUpRoom(Struct, frozen=True):
    """A room as a set-up change stores it: its id, label and zone (a clinic file's room, floor.config.Room)."""

    id: Id
    label: Label
    zone: Id


class SetUpProvider(Struct, frozen=True):
    """A provider as a set-up change stores them: id, name and initials (a clinic file's, floor.config.Provider)."""

    id: Id
    name: Label
    initials: str


class SetUpChanged(Struct, tag="set_up_changed", frozen=True):
    """A manager changed the clinic's set-up from the browser (SetRooms, SetProviders, SetVisitTypes, SetThresholds):
    the whole new list of what changed (rooms, providers, visit types, or the alert thresholds; None: not changed),
    and the one it replaces (what the audit trail words). From this event on the floor's clinic has them, and so
    does every day after it (floor/runtime: the set-up kept per clinic), until changed again. `from_file`: the
    clinic file's, chosen back: from the next day on the clinic file's lead again."""

    rooms: list[SetUpRoom] | None = None
    previous_rooms: list[SetUpRoom] | None = None
    providers: list[SetUpProvider] | None = None
    previous_providers: list[SetUpProvider] | None = None
    #: Visit types as a clinic file has them (floor.config.VisitType: code, label, slot and stage minutes).
    visit_types: list[VisitType] | None = None
    previous_visit_types: list[VisitType] | None = None
    #: The alert thresholds, all of them (floor.config.Thresholds).
    thresholds: Thresholds | None = None
    previous_thresholds: Thresholds | None = None
    from_file: bool = False


class AlertDetail(Struct, frozen=True, omit_defaults=True):
    """What an alert says. Cascade: how late the provider is, the visits projected L+ minutes late, when the
    schedule recovers (None: not this session) and the cause. Dwell: minutes in the stage and the limit.
    Schedule: why the schedule kept for the day could not be booked when it opened."""

    lateness: float | None = None
    affected: list[str] = []
    recovers_at: dt.datetime | None = None
    cause_visit: str | None = None
    cause_stage: Stage | None = None
    cause_minutes: float | None = None
    minutes: float | None = None
    limit: int | None = None
    problems: list[str] = []


class AlertRaised(Struct, tag="alert_raised", frozen=True):
    """Floor saw trouble coming (cascade), a patient waiting too long (dwell), or a schedule kept for the day
    that it could not book (schedule). One alert per episode: a patient's wait cleared by a step since undone is
    raised again under the alert's own id (the same wait, the same alert, as first raised and acknowledged)."""

    alert: str
    kind: str  # "cascade", "dwell" or "schedule"
    detail: AlertDetail
    provider: str | None = None
    visit: str | None = None
    stage: Stage | None = None
    #: What makes two raises the same episode (a dwell's visit, stage and entry; a schedule's day), so that
    #: servers sharing a log raise it once. None: the id was the episode (alerts raised before ids were
    #: random, and cascades, one active per provider).
    episode: str | None = None


class AlertUpdated(Struct, tag="alert_updated", frozen=True):
    alert: str
    detail: AlertDetail


class AlertCleared(Struct, tag="alert_cleared", frozen=True):
    alert: str


class AlertAcknowledged(Struct, tag="alert_acknowledged", frozen=True):
    """A manager saw the alert; the event's actor says who."""

    alert: str


AlertChange = AlertRaised | AlertUpdated | AlertCleared

Change = (
    VisitBooked
    | VisitRescheduled
    | VisitMoved
    | StepTaken
    | StepUndone
    | WalkInRemoved
    | RoomMarked
    | RoomMarkUndone
    | AlertChange
    | AlertAcknowledged
    | ProviderPresence
    | PresenceUndone
    | SetUpChanged
)


class Event(Struct, frozen=True):
    """One entry of a clinic's log. `seq` is gap-free per clinic; `version` is the new version of the
    visit (or room, alert, provider's presence) the event is about."""

    seq: int
    at: dt.datetime
    day: dt.date
    actor: str
    device: str
    version: int
    change: Change

    @property
    def visit(self) -> str | None:
        return getattr(self.change, "visit", None)

    @property
    def type(self) -> str:
        c = self.change
        if isinstance(c, StepTaken):
            return c.step.value
        if isinstance(c, StepUndone):
            return "undo"
        if isinstance(c, RoomMarked):
            return f"room_{c.action.value}"
        if isinstance(c, RoomMarkUndone):
            return "room_undo"
        if isinstance(c, ProviderPresence):
            return f"presence_{c.status.value}"
        if isinstance(c, PresenceUndone):
            return "presence_undo"
        if not isinstance(c, VisitBooked):
            return type(c).__struct_config__.tag
        return "walk_in" if c.walk_in else "booked"
