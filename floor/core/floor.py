"""A clinic's floor for one day: rooms and visits, built by folding events.

`decide` checks a command against the rules and returns the event it would cause (or raises a
Refusal) without changing anything; `apply` folds a stored event in. Time comes in with the tap.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterable

import msgspec
from msgspec import Struct, field

from floor.config import Clinic, Provider, VisitType, stand_in
from floor.config import Room as RoomSetUp
from floor.core.access import Act, Action, may, may_mark_presence, may_undo, refusal_text
from floor.core.commands import (
    AcknowledgeAlert,
    BookVisit,
    Command,
    MarkPresence,
    MarkRoom,
    MoveVisit,
    RescheduleVisit,
    SetProviders,
    SetRooms,
    SetThresholds,
    SetVisitTypes,
    TakeStep,
    Tap,
    UndoPresence,
    UndoRoomMark,
    UndoStep,
)
from floor.core.errors import Refusal, Why
from floor.core.events import (
    AlertAcknowledged,
    AlertChange,
    AlertCleared,
    AlertDetail,
    AlertRaised,
    AlertUpdated,
    Event,
    PresenceUndone,
    ProviderPresence,
    RoomMarked,
    RoomMarkUndone,
    SetUpChanged,
    SetUpProvider,
    SetUpRoom,
    StepTaken,
    StepUndone,
    VisitBooked,
    VisitMoved,
    VisitRescheduled,
    WalkInRemoved,
)
from floor.core.ids import Ids, NoIds, legacy_token
from floor.core.journey import ENDS, Stage, allowed_steps, enters_room, is_allowed, leaves_room
from floor.core.learned import EMPTY, Learned
from floor.core.presence import MAX_AWAY_MINUTES, Presence, PresenceMark, ProviderPresenceView
from floor.core.rooms import ROOM_ACTIONS, RoomAction, RoomState, allowed_room_actions
from floor.core.text import names_any, unreadable


class StepRecord(Struct):
    """A step that undo can still reverse."""

    seq: int
    step: Stage
    previous: Stage
    at: dt.datetime
    room: str | None = None
    #: Who tapped it: they (or a manager) may undo it.
    by: str = ""
    #: On which device they tapped it (a person may have several tablets).
    device: str = ""
    #: When it was tapped, if tapped late saying how long ago it happened (`at`); None: tapped as it happened.
    tapped: dt.datetime | None = None
    #: The room's `since` before the step (for a rooming, ready since then; None: since the day began): its undo puts
    #: the room back as it was, since included. Taken in the fold, never stored: a log of any age folds to it.
    room_since: dt.datetime | None = None


class Visit(Struct):
    id: str
    patient_name: str
    provider: str
    visit_type: str
    start: dt.datetime
    walk_in: bool
    notes: str
    stage: Stage
    version: int
    room: str | None = None
    #: When the visit reached each stage it has reached (undone stages are removed).
    times: dict[Stage, dt.datetime] = field(default_factory=dict)
    without_teach_back: bool = False
    #: Cancelled because the booking was a mistake: not counted in the measures.
    entered_in_error: bool = False
    steps: list[StepRecord] = field(default_factory=list)
    #: The appointment's id in the clinic's schedule (EHR), for visits a schedule import booked.
    external_id: str | None = None
    #: That id's system in the EHR, if the schedule gave one: the export names the appointment by both.
    external_system: str | None = None
    #: The patient's id in the EHR, when the schedule gave one: a rebooked appointment is not a second visit.
    patient_id: str | None = None
    #: Its three characters on the wall (the hallway shows no id and no name), distinct among the day's visits.
    token: str = ""
    #: Who booked it (the booking event's actor): a walk-in booked by mistake is taken off by them, or a manager.
    booked_by: str = ""
    #: The seq of its booking.
    booked_seq: int = 0
    #: The provider the visit was booked with, while it is with another (moved on the floor: MoveVisit); None
    #: while with them. The new provider fits the patient into their day, as a walk-in: the patient's lateness
    #: is not their delay, nor a link of their cascade.
    moved_from: str | None = None
    #: When it was last moved to another provider (None: never): the new provider's wait for them starts then.
    moved_at: dt.datetime | None = None
    #: How many times it was moved: events that change the visit's version during a stay in a stage.
    moves: int = 0

    @property
    def booked_with(self) -> str:
        """The provider the visit was booked with: when its patients come (late, or not at all) is a habit of
        theirs, whoever a patient was moved to on the floor."""
        return self.moved_from or self.provider

    @property
    def provider_done(self) -> dt.datetime | None:
        """When the provider was done with the patient: the teach-back, or the checkout where there was none (None:
        not yet)."""
        return self.times.get(Stage.teach_back_done) or self.times.get(Stage.checked_out)


class RoomMarkRecord(Struct):
    """A room's last mark, which undo can still reverse while nothing else has changed the room."""

    seq: int
    action: RoomAction
    #: The room as it was before the mark.
    previous: RoomState
    previous_since: dt.datetime | None
    #: Who tapped it: they (or a manager) may undo it.
    by: str
    #: The room's version after the mark: a later change to the room makes it too late to undo.
    version: int
    #: The reason the room was blocked with before the mark (an undone unblock blocks it again with it).
    previous_reason: str | None = None


class Room(Struct):
    id: str
    label: str
    zone: str
    state: RoomState = RoomState.ready
    visit: str | None = None
    since: dt.datetime | None = None
    version: int = 0
    #: Blocked: the reason staff gave, if any (what the room's tile and the manager's console show).
    reason: str | None = None
    #: The last mark, while it can be undone (None: no mark, or the room changed since).
    last_mark: RoomMarkRecord | None = None

    def undoable_mark(self) -> RoomMarkRecord | None:
        mark = self.last_mark
        return mark if mark is not None and mark.version == self.version else None


class Alert(Struct):
    id: str
    kind: str
    detail: AlertDetail
    raised_at: dt.datetime
    version: int = 1
    provider: str | None = None
    visit: str | None = None
    stage: Stage | None = None
    updated_at: dt.datetime | None = None
    cleared_at: dt.datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_at: dt.datetime | None = None
    #: What makes a raise the same episode as this one (see AlertRaised.episode; the id if it said none).
    episode: str | None = None

    @property
    def active(self) -> bool:
        return self.cleared_at is None


class Touched(Struct):
    """What one event changed, so a screen can update without refetching."""

    visit: Visit | None
    rooms: list[Room]
    alert: Alert | None = None
    #: A provider's presence, as it is after a presence tap or its undo.
    presence: ProviderPresenceView | None = None


#: The stages a patient can be moved to another provider in: here, and the provider not yet with them. (A visit
#: booked on the floor can also be moved before the patient comes: `Floor._move`.)
MOVABLE = (Stage.arrived, Stage.roomed, Stage.prep_done)
_NOT_HERE = (
    "only a patient who is here and waiting, or a visit booked on the floor not yet come, can be moved to another "
    "provider"
)
_NOT_MOVABLE = {
    Stage.scheduled: "a visit booked from the clinic's schedule is moved there until the patient is here",
    Stage.provider_in: "the provider is already with them",
    Stage.teach_back_done: "the provider is already with them",
}


def _removable(visit: Visit) -> bool:
    """A walk-in with no step yet: undoing its booking takes it off the floor."""
    return visit.walk_in and visit.stage is Stage.arrived and not visit.steps


#: The most minutes before its tap a step tapped late may say it happened (TakeStep.minutes_ago).
MAX_MINUTES_AGO = 60


def _human(stage: Stage) -> str:
    return stage.value.replace("_", " ")


def _human_presence(status: Presence) -> str:
    return {
        Presence.running_late: "running late to clinic",
        Presence.stepped_away: "stepped away",
        Presence.back: "back",
    }[status]


def with_set_up(clinic: Clinic, change: SetUpChanged) -> Clinic:
    """`clinic` with the rooms, providers, visit types and thresholds `change` set (the parts it leaves as they were,
    None, kept): what a floor's fold of it does to its clinic, and what a server taking a change it missed does."""
    parts: dict[str, object] = {}
    if change.rooms is not None:
        parts["rooms"] = [RoomSetUp(r.id, r.label, r.zone) for r in change.rooms]
    if change.providers is not None:
        parts["providers"] = [Provider(p.id, p.name, p.initials) for p in change.providers]
    if change.visit_types is not None:
        parts["visit_types"] = list(change.visit_types)
    if change.thresholds is not None:
        parts["thresholds"] = change.thresholds
    return msgspec.structs.replace(clinic, **parts)


def _stored(rooms: Iterable[RoomSetUp]) -> list[SetUpRoom]:
    return [SetUpRoom(r.id, r.label, r.zone) for r in rooms]


_AT = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")


def _field_of(error: str, kind: str) -> str:
    """The field a clinic's validation error is about: the path msgspec gives (`rooms[2].zone`), or the one
    `Clinic.__post_init__` begins with ("rooms[1].label has ..."); the list (`kind`) when neither."""
    at = _AT.search(error)
    if at is not None and at["path"].startswith(kind):
        return at["path"]
    head = re.match(rf"{kind}\[\d+\](\.\w+)?", error)
    return head[0] if head is not None else kind


def _readable(error: str, kind: str, items: list) -> str:
    """A validation error as a manager reads it: a room, provider or visit type by its id (a visit type's code)
    rather than its place in the list (the file's `rooms[3].label` is "the label of room e4"), without msgspec's
    path."""
    text = _AT.sub("", error)
    field = _field_of(error, kind)
    if text.startswith("Expected `str` matching regex"):
        rule = (
            "1 to 3 capital letters"
            if field.endswith(".initials")
            else "lowercase letters, digits, - and _ (at most 32)"
        )
        text = f"{field} must be {rule}"
    elif text.startswith("Expected `str` of length"):
        text = f"{field} must be 1 to 60 characters"
    elif text.startswith("Expected `int` >= 1") or (
        text.startswith("Expected `int` <=") and field.endswith((".provider_in", ".slot_minutes"))
    ):  # at least a minute with the provider, and a slot of one
        text = f"{field} must be 1 to 600 minutes"
    elif text.startswith(("Expected `int` >= 0", "Expected `int` <=")):
        text = f"{field} must be 0 to 600 minutes"
    one = _ONE[kind]
    if text.startswith("Expected `array` of length >= 1"):  # msgspec's words for an empty list
        text = f"the clinic needs at least one {one}"
    # A visit type is known by its code (the file's, and the form's, word for it), a room or provider by its id.
    key = "code" if kind == "visit_types" else "id"
    text = re.sub(rf"^{kind}\[\d+\]: duplicate id ", f"another {one} already has the {key} ", text)

    def name(m: re.Match[str]) -> str:
        i = int(m[1])
        key = getattr(items[i], "code", None) or getattr(items[i], "id", "") if i < len(items) else ""
        it = f"{one} {key}" if key.strip() else f"{one} {i + 1}"
        if not m[2]:
            return it
        what = m[2].replace("stage_minutes.", "").replace("_", " ")
        return f"the {what}{' minutes' if m[2].startswith('stage_minutes.') else ''} of {it}"

    return re.sub(rf"{kind}\[(\d+)\](?:\.(\w+(?:\.\w+)?))?", name, text)


#: What one of each kind of set-up is called in a sentence.
_ONE = {"rooms": "room", "providers": "provider", "visit_types": "visit type"}


class Floor:
    """`ids` gives new visits and alerts their ids (random in production, never from the seq: a log that loses
    its last events reuses their seqs). A floor built without it folds stored events but decides none."""

    def __init__(self, clinic: Clinic, day: dt.date, seq: int = 0, ids: Ids | None = None) -> None:
        self.clinic = clinic
        self.day = day
        self.seq = seq
        self.ids = ids if ids is not None else NoIds()
        self.last_at: dt.datetime | None = None
        self.rooms: dict[str, Room] = {r.id: Room(r.id, r.label, r.zone) for r in clinic.rooms}
        self.visits: dict[str, Visit] = {}
        #: Visit ids by the schedule appointment they were booked from: an import looks up every row.
        self._by_external_id: dict[str, str] = {}
        #: Today's alerts, active and cleared (their history).
        self.alerts: dict[str, Alert] = {}
        #: The wall tokens of today's visits: a new visit draws one none of them has.
        self._tokens: set[str] = set()
        #: What the clinic's past days say its visits take (floor/core/learning.py): the projection's
        #: expectations. The runtime sets it when it opens a day; until then, the configured minutes.
        self.learned: Learned = EMPTY
        #: Each provider's presence taps today that undo can still reverse; the last is their presence now.
        self.presence: dict[str, list[PresenceMark]] = {}
        #: Each provider's presence version: how many presence events (taps and undos) they have had today.
        self.presence_versions: dict[str, int] = {}
        #: Rooms today's log names that the clinic file no longer has (taken out, the server restarted): kept
        #: so the log folds, out of `rooms` so nobody is roomed there, no wall shows them and no undo returns there.
        self._gone_rooms: dict[str, Room] = {}
        #: Providers a set-up change took out today: their visits still name them (the exports, the audit).
        self._gone_providers: dict[str, Provider] = {}
        #: The set-up's version: the seq of the event that set the rooms from the browser (SetUpChanged), today's
        #: or, kept per clinic, a day before's (the runtime sets it when it opens a day); 0: the clinic file's.
        self.setup_version = 0
        #: The visit types in force until each of today's changes of them (when it was made, the types before it):
        #: a visit the provider walked in to before a change is judged by the minutes it was planned with
        #: (`planned_type`). Replaced, never appended to (`preview` shares it with the floor).
        self._types_until: list[tuple[dt.datetime, list[VisitType]]] = []
        #: When a manager changed the alert thresholds today: a cascade such a change cleared comes back as itself
        #: should they be set back (floor.core.alerts `_cleared_by_thresholds`). Replaced, never appended to.
        self.thresholds_changed: list[dt.datetime] = []

    @classmethod
    def fold(
        cls, clinic: Clinic, day: dt.date, base_seq: int, events: Iterable[Event], ids: Ids | None = None
    ) -> Floor:
        floor = cls(clinic, day, base_seq, ids)
        for event in events:
            floor.apply(event)
        return floor

    # -- deciding -------------------------------------------------------------------------------

    def decide(self, command: Command, tap: Tap) -> Event:
        at = self._stamp(tap)
        if tap.role is not None:
            self._permit(command, tap)
        match command:
            case BookVisit():
                change, version = self._book(command, at), 1
            case RescheduleVisit():
                change, version = self._reschedule(command), self.visits[command.visit].version + 1
            case MoveVisit():
                change, version = self._move(command), self.visits[command.visit].version + 1
            case TakeStep():
                change, version = self._step(command, at), self.visits[command.visit].version + 1
            case UndoStep():
                change, version = self._undo(command), self.visits[command.visit].version + 1
            case MarkRoom():
                change, version = self._mark(command), self.rooms[command.room].version + 1
            case UndoRoomMark():
                change, version = self._undo_mark(command), self.rooms[command.room].version + 1
            case AcknowledgeAlert():
                change, version = self._acknowledge(command), self.alerts[command.alert].version + 1
            case MarkPresence():
                change, version = self._presence(command, at), self.presence_versions.get(command.provider, 0) + 1
            case UndoPresence():
                change, version = self._undo_presence(command), self.presence_versions.get(command.provider, 0) + 1
            case SetRooms():
                change, version = self._set_rooms(command), self.seq + 1
            case SetProviders():
                change, version = self._set_providers(command), self.seq + 1
            case SetVisitTypes():
                change, version = self._set_visit_types(command), self.seq + 1
            case SetThresholds():
                change, version = self._set_thresholds(command), self.seq + 1
        return Event(self.seq + 1, at, self.day, tap.actor, tap.device, version, change)

    def record(self, change: AlertChange, tap: Tap) -> Event:
        """The event for an alert change Floor itself decided (see floor.core.alerts.review)."""
        at = self._stamp(tap)
        current = self.alerts.get(change.alert)
        return Event(self.seq + 1, at, self.day, tap.actor, tap.device, current.version + 1 if current else 1, change)

    def _permit(self, command: Command, tap: Tap) -> None:
        """Each role taps only its own steps; an undo is for whoever made the step, or a manager."""
        action: Action
        match command:
            case BookVisit() | RescheduleVisit():
                action = Act.book
            case MoveVisit():
                action = Act.move_visit
            case TakeStep():
                action = command.step
            case UndoStep():
                action = Act.undo
            case MarkRoom():
                action = command.action
            case UndoRoomMark():
                action = Act.undo
            case AcknowledgeAlert():
                action = Act.acknowledge_alert
            case MarkPresence():
                action = Act.mark_presence
            case UndoPresence():
                action = Act.undo
            case SetRooms() | SetProviders() | SetVisitTypes() | SetThresholds():
                action = Act.set_up_clinic
        assert tap.role is not None
        if not may(tap.role, action):
            raise Refusal(Why.forbidden, refusal_text(tap.role, action))
        if isinstance(command, MarkPresence) and not may_mark_presence(tap.role, tap.provider, command.provider):
            raise Refusal(
                Why.forbidden,
                f"A provider says where they themself are, not {command.provider}: medical "
                "assistants and managers can say it for any provider.",
                field="provider",
            )
        if isinstance(command, UndoPresence):
            marks = self.presence.get(command.provider)
            if command.expected_version not in (None, self.presence_versions.get(command.provider, 0)):
                return  # `_undo_presence` refuses it as stale (409)
            if marks and not may_undo(tap.role, tap.actor, marks[-1].by):
                raise Refusal(
                    Why.forbidden,
                    f"Only {marks[-1].by or 'the person who tapped it'} or a manager can "
                    f"undo {_human_presence(marks[-1].status)}.",
                )
        if isinstance(command, UndoStep):
            visit = self.visits.get(command.visit)
            if visit is not None and command.expected_version not in (None, visit.version):
                return  # the tablet undoes a step it saw, not the one taken since: `_undo` says so (409)
            last = visit.steps[-1] if visit is not None and visit.steps else None
            if last is not None and not may_undo(tap.role, tap.actor, last.by):
                raise Refusal(
                    Why.forbidden,
                    f"Only {last.by or 'the person who tapped it'} or a manager can undo {_human(last.step)}.",
                    visit=visit.id,
                )
            if (
                visit is not None
                and last is None
                and _removable(visit)
                and not may_undo(tap.role, tap.actor, visit.booked_by)
            ):
                raise Refusal(
                    Why.forbidden,
                    f"Only {visit.booked_by or 'the person who booked it'} or a manager can "
                    "take off a walk-in booked by mistake.",
                    visit=visit.id,
                )
        if isinstance(command, UndoRoomMark):
            room = self.rooms.get(command.room)
            if room is None or command.expected_version not in (None, room.version):
                return  # `_undo_mark` refuses it (404, 409)
            mark = room.undoable_mark()
            if mark is not None and not may_undo(tap.role, tap.actor, mark.by):
                raise Refusal(
                    Why.forbidden,
                    f"Only {mark.by} or a manager can undo {room.label} marked {mark.action.value}.",
                    room=room.id,
                )

    def _stamp(self, tap: Tap) -> dt.datetime:
        """The event's time: the tap's, but never before the last event (a clock stepped back), and the day's first
        never before the day began (its midnight, clinic time): a clock that opened the day a little fast, then
        stepped back, stamped the new day's first taps on the day before, before the last day's last event, and a
        walk-in booked then came on the day before (a review of time). From the floor's own day and events, so a
        floor folded from the log stamps as the one that stored them; the day before's last event, decided before
        this midnight, is never after it."""
        if self.last_at is not None:
            return max(tap.now, self.last_at)
        began = self.clinic.local(self.day, dt.time()).astimezone(dt.UTC)
        return began if tap.now < began else tap.now

    def _acknowledge(self, c: AcknowledgeAlert) -> AlertAcknowledged:
        alert = self.alerts.get(c.alert)
        if alert is None:
            raise Refusal(Why.not_found, f"No alert {c.alert!r} today.")
        if alert.acknowledged_by is not None:
            raise Refusal(Why.illegal_step, f"The alert was already acknowledged by {alert.acknowledged_by}.")
        return AlertAcknowledged(alert.id)

    def _book(self, c: BookVisit, at: dt.datetime) -> VisitBooked:
        for name, value, multiline in (("patient_name", c.patient_name, False), ("notes", c.notes, True)):
            if why := unreadable(name, value, multiline):
                raise Refusal(Why.invalid, f"Not booked: {why}.", field=name)
        self._check_provider_and_type(c.provider, c.visit_type)
        if c.walk_in and c.start is not None:
            # Taken and dropped, the caller would think the time it sent was kept.
            raise Refusal(
                Why.invalid,
                "A walk-in starts when booked; to say they came earlier, send minutes_ago instead of start.",
                field="start",
            )
        if c.minutes_ago and not c.walk_in:
            raise Refusal(
                Why.invalid,
                "minutes_ago is for a walk-in booked after they came; a scheduled visit has its start.",
                field="minutes_ago",
            )
        # A walk-in booked after they came is here since then: their arrival, and their place among the patients
        # waiting, are when they came.
        happened = self._ago(c.minutes_ago, at) if c.walk_in else None
        if c.walk_in:
            start = happened or at
        elif c.start is None:
            raise Refusal(Why.invalid, "A scheduled visit needs a start time (or set walk_in).", field="start")
        else:
            start = self._today(c.start)
        if c.external_id is not None and (twin := self.by_external_id(c.external_id)) is not None:
            # One appointment, one visit: a second import of it updates the first visit instead.
            raise Refusal(
                Why.taken,
                f"Appointment {c.external_id!r} is already on today's floor as {twin.id}.",
                field="external_id",
                visit=twin.id,
            )
        return VisitBooked(
            self.ids.visit(self.visits),
            c.patient_name,
            c.provider,
            c.visit_type,
            start,
            c.walk_in,
            c.notes,
            c.external_id,
            c.external_system,
            token=self.ids.token(self._tokens),
            happened=happened,
            patient_id=c.patient_id,
        )

    def _room(self, room_id: str) -> Room:
        """The room an event names: the clinic's, or one the clinic file has since lost (`_gone_rooms`)."""
        room = self.rooms.get(room_id)
        if room is None:
            room = self._gone_rooms.setdefault(room_id, Room(room_id, room_id, ""))
        return room

    def room_label(self, room_id: str) -> str:
        """A room of today's as the day named it: the clinic's now, or one taken out since (its id if it never had a
        label here: a clinic file edited under the day's log)."""
        room = self.rooms.get(room_id) or self._gone_rooms.get(room_id)
        return room.label if room is not None else room_id

    def planned_type(self, visit: Visit, stage: Stage = Stage.provider_in) -> VisitType:
        """The visit type `visit` is judged by at `stage` (measures, the cascade's links): the clinic's now, or, for a
        visit that reached `stage` before a manager changed the types today, the one in force when it did, so a
        morning seen on time is not re-judged late by the afternoon's minutes. A visit not there yet: today's."""
        at = visit.times.get(stage) if self._types_until else None
        if at is not None:
            for until, types in self._types_until:
                if at < until:
                    then = next((t for t in types if t.code == visit.visit_type), None)
                    return then if then is not None else stand_in(tuple(types), visit.visit_type)
        return self.clinic.visit_type_of(visit.visit_type)

    def visit_type_named(self, code: str) -> VisitType | None:
        """A visit type of today's as the day last had it: the clinic's now, or one a set-up change took out since."""
        known = self.clinic.visit_type(code)
        for _, types in reversed(self._types_until):
            known = known or next((t for t in types if t.code == code), None)
        return known

    def provider_of(self, provider_id: str) -> Provider | None:
        """A provider of today's: the clinic's now, or one a set-up change took out since."""
        return self.clinic.provider(provider_id) or self._gone_providers.get(provider_id)

    def new_alert(
        self,
        kind: str,
        detail: AlertDetail,
        *,
        episode: str | None = None,
        provider: str | None = None,
        visit: str | None = None,
        stage: Stage | None = None,
    ) -> AlertRaised:
        """A raise of a new alert, with a fresh id (an alert's id says nothing of its visit: the wall shows it)."""
        return AlertRaised(self.ids.alert(self.alerts), kind, detail, provider, visit, stage, episode)

    def episodes(self) -> set[str]:
        """The episodes of today's alerts, active and cleared: one that was raised is not raised again."""
        return {a.episode for a in self.alerts.values() if a.episode is not None}

    def token(self, visit_id: str) -> str:
        """The wall token of one of today's visits."""
        visit = self.visits.get(visit_id)
        return visit.token if visit is not None else legacy_token(visit_id)

    def _reschedule(self, c: RescheduleVisit) -> VisitRescheduled:
        visit = self._visit(c.visit, c.expected_version)
        if visit.stage is not Stage.scheduled:
            # Once the patient is here the floor's own taps lead: their provider and room are already in play.
            raise Refusal(
                Why.illegal_step,
                f"The visit is {_human(visit.stage)}; only a visit still scheduled can "
                "be moved to another time or provider.",
                visit=visit.id,
                stage=visit.stage.value,
            )
        self._check_provider_and_type(c.provider, c.visit_type)
        start = self._today(c.start)
        if (start.astimezone(dt.UTC), c.provider, c.visit_type, c.notes) == (
            visit.start.astimezone(dt.UTC),
            visit.provider,
            visit.visit_type,
            visit.notes,
        ):  # instants, as the schedule compares them (floor/core/schedule.py `_row`)
            raise Refusal(
                Why.invalid, "The visit already has that start, provider, visit type and notes.", visit=visit.id
            )
        return VisitRescheduled(
            visit.id, start, c.provider, c.visit_type, c.notes, visit.start, visit.provider, visit.visit_type
        )

    def _move(self, c: MoveVisit) -> VisitMoved | VisitRescheduled:
        visit = self._visit(c.visit, c.expected_version)
        booked_here = visit.stage is Stage.scheduled and visit.external_id is None
        if visit.stage not in MOVABLE and not booked_here:
            raise Refusal(
                Why.illegal_step,
                f"The visit is {_human(visit.stage)}: {_NOT_MOVABLE.get(visit.stage, _NOT_HERE)}.",
                visit=visit.id,
                stage=visit.stage.value,
            )
        if self.clinic.provider(c.provider) is None:
            known = ", ".join(p.id for p in self.clinic.providers)
            raise Refusal(Why.invalid, f"No provider {c.provider!r} in this clinic (known: {known}).", field="provider")
        if c.provider == visit.provider:
            raise Refusal(Why.invalid, f"The visit is already with {c.provider}.", field="provider", visit=visit.id)
        if booked_here:
            # Not here yet, and booked on the floor (no schedule leads it): booked with the other provider at the
            # same time, theirs to plan for, as a schedule import would move it.
            return VisitRescheduled(
                visit.id,
                visit.start,
                c.provider,
                visit.visit_type,
                visit.notes,
                visit.start,
                visit.provider,
                visit.visit_type,
            )
        return VisitMoved(visit.id, c.provider, visit.provider)

    def _check_provider_and_type(self, provider: str, visit_type: str) -> None:
        if self.clinic.provider(provider) is None:
            known = ", ".join(p.id for p in self.clinic.providers)
            raise Refusal(Why.invalid, f"No provider {provider!r} in this clinic (known: {known}).", field="provider")
        if self.clinic.visit_type(visit_type) is None:
            known = ", ".join(v.code for v in self.clinic.visit_types)
            raise Refusal(
                Why.invalid, f"No visit type {visit_type!r} in this clinic (known: {known}).", field="visit_type"
            )

    def _today(self, start: dt.datetime) -> dt.datetime:
        """A start on today's clinic day (a start without a zone is clinic time). A clinic time the clocks skip
        (02:30 the morning they go forward) is refused, as a schedule file's is (`Clinic.shows`): taken, the patient
        was booked at 03:30 without a word (a review). One they show twice (the night they go back) is the first
        time round, daylight time, as a schedule file's is: the second is sent with its offset."""
        clinic = self.clinic
        if (start.tzinfo is None or start.tzinfo == clinic.tz) and not clinic.shows(start):
            raise Refusal(
                Why.invalid,
                f"Start {start:%Y-%m-%d %H:%M} does not exist in {clinic.timezone}: the clocks go forward over it; "
                "send the time the clinic's clocks will show.",
                field="start",
            )
        start = start if start.tzinfo else start.replace(tzinfo=clinic.tz)
        if self.clinic.day_of(start) != self.day:
            raise Refusal(
                Why.invalid,
                f"Start {self.clinic.local_text(start)} is not on "
                f"today's clinic day ({self.day}); visits are added for today.",
                field="start",
            )
        return start

    def by_external_id(self, external_id: str) -> Visit | None:
        """Today's visit booked from that schedule appointment, if any."""
        visit = self._by_external_id.get(external_id)
        return self.visits[visit] if visit is not None else None

    def _visit(self, visit_id: str, expected_version: int | None) -> Visit:
        visit = self.visits.get(visit_id)
        if visit is None:
            raise Refusal(Why.not_found, f"No visit {visit_id!r} today.", visit=visit_id)
        if expected_version is not None and expected_version != visit.version:
            raise Refusal(
                Why.stale_version,
                f"The visit changed first: it is now {_human(visit.stage)} (version {visit.version}, "
                f"you had version {expected_version}).",
                visit=visit_id,
                stage=visit.stage.value,
                version=visit.version,
            )
        return visit

    def _step(self, c: TakeStep, at: dt.datetime) -> StepTaken:
        visit = self._visit(c.visit, c.expected_version)
        happened = self._happened(c, visit, at)
        if not is_allowed(visit.stage, c.step):
            allowed = allowed_steps(visit.stage)
            options = " or ".join(_human(s) for s in allowed) if allowed else "nothing (the visit is over)"
            raise Refusal(
                Why.illegal_step,
                f"The visit is {_human(visit.stage)}; from there it can go to {options}, not {_human(c.step)}.",
                visit=visit.id,
                stage=visit.stage.value,
                allowed=[s.value for s in allowed],
            )
        if enters_room(c.step):
            if c.room is None:
                raise Refusal(Why.invalid, "Rooming a patient needs the room.", field="room", visit=visit.id)
            room = self.rooms.get(c.room)
            if room is None:
                raise Refusal(Why.invalid, f"No room {c.room!r} in this clinic.", field="room", visit=visit.id)
            if room.state is not RoomState.ready:
                ready = [r.id for r in self.rooms.values() if r.state is RoomState.ready]
                raise Refusal(
                    Why.room_unavailable,
                    f"{room.label} is {room.state.value}, not ready.",
                    visit=visit.id,
                    room=room.id,
                    room_state=room.state.value,
                    ready_rooms=ready,
                )
            if happened is not None and room.since is not None and happened < room.since:
                raise Refusal(
                    Why.invalid,
                    f"{room.label} has been ready only since {room.since.astimezone(self.clinic.tz):%H:%M}: "
                    f"a patient roomed {c.minutes_ago} minutes ago was not in it.",
                    field="minutes_ago",
                    visit=visit.id,
                    room=room.id,
                )
            return StepTaken(visit.id, c.step, visit.stage, room=room.id, happened=happened)
        if c.room is not None:
            raise Refusal(
                Why.invalid,
                f"A room is only given when rooming a patient, not for {_human(c.step)}.",
                field="room",
                visit=visit.id,
            )
        if c.entered_in_error and c.step is not Stage.cancelled:
            raise Refusal(
                Why.invalid,
                "Only a cancellation can say the booking was entered in error.",
                field="entered_in_error",
                visit=visit.id,
            )
        if c.entered_in_error:
            return StepTaken(visit.id, c.step, visit.stage, entered_in_error=True, happened=happened)
        room_left = visit.room if leaves_room(visit.stage, c.step) else None
        skipped = c.step is Stage.checked_out and visit.stage is not Stage.teach_back_done
        return StepTaken(visit.id, c.step, visit.stage, room=room_left, without_teach_back=skipped, happened=happened)

    def _ago(self, minutes_ago: int, at: dt.datetime, visit: str | None = None) -> dt.datetime | None:
        """When a tap entered late says its step happened: `minutes_ago` (1 to MAX_MINUTES_AGO) before `at`, today;
        None for 0 (as tapped)."""
        if minutes_ago == 0:
            return None
        if not 0 < minutes_ago <= MAX_MINUTES_AGO:
            raise Refusal(
                Why.invalid,
                f"minutes_ago must be from 0 to {MAX_MINUTES_AGO}; a tap entered later than that is entered as now.",
                field="minutes_ago",
                visit=visit,
            )
        happened = at - dt.timedelta(minutes=minutes_ago)
        if self.clinic.day_of(happened) != self.day:
            raise Refusal(Why.invalid, "A tap entered late must say a time today.", field="minutes_ago", visit=visit)
        return happened

    def _happened(self, c: TakeStep, visit: Visit, at: dt.datetime) -> dt.datetime | None:
        """When a step tapped late happened (None: tapped as it happened). Not before the visit's last step, nor
        on another day."""
        happened = self._ago(c.minutes_ago, at, visit.id)
        if happened is None:
            return None
        # The booking is no step: a patient may have come before their visit was booked (an add-on booked while they
        # sat in the waiting room), and arrived when they came. A walk-in's booking is their arrival, a step (when
        # they came, if they were booked late): nothing of theirs is before it.
        last = max((when for stage, when in visit.times.items() if stage is not Stage.scheduled), default=None)
        if last is not None and happened < last:
            raise Refusal(
                Why.invalid,
                f"The visit's last step was at {last.astimezone(self.clinic.tz):%H:%M}: this one cannot have happened "
                f"{c.minutes_ago} minutes ago, before it.",
                field="minutes_ago",
                visit=visit.id,
            )
        if visit.moved_at is not None and happened < visit.moved_at and c.step is Stage.provider_in:
            # Rooming and prep are the assistants', whoever the provider; the provider they were moved to came in
            # after the move (and every later step follows the provider in).
            raise Refusal(
                Why.invalid,
                f"The patient was moved to {visit.provider} at {visit.moved_at.astimezone(self.clinic.tz):%H:%M}: "
                f"this step cannot have happened {c.minutes_ago} minutes ago, before it.",
                field="minutes_ago",
                visit=visit.id,
            )
        return happened

    def _undo(self, c: UndoStep) -> StepUndone | WalkInRemoved:
        visit = self._visit(c.visit, c.expected_version)
        if not visit.steps and _removable(visit):
            return WalkInRemoved(visit.id, visit.booked_seq)
        if not visit.steps:
            raise Refusal(
                Why.nothing_to_undo,
                f"The visit is {_human(visit.stage)} and has no step to undo.",
                visit=visit.id,
                stage=visit.stage.value,
            )
        last = visit.steps[-1]
        if last.room is not None and not enters_room(last.step):
            # Undoing a step that released a room puts the patient back in it, if nobody else is there.
            room = self.rooms.get(last.room)
            if room is None:
                raise Refusal(
                    Why.room_unavailable,
                    f"Cannot undo {_human(last.step)}: room {last.room} is no longer in the clinic.",
                    visit=visit.id,
                    room=last.room,
                )
            if room.state not in (RoomState.turnover, RoomState.ready):
                raise Refusal(
                    Why.room_unavailable,
                    f"Cannot undo {_human(last.step)}: {room.label} is now {room.state.value}.",
                    visit=visit.id,
                    room=room.id,
                    room_state=room.state.value,
                )
        return StepUndone(visit.id, last.seq, last.step, last.previous, last.room)

    def presence_of(self, provider: str) -> PresenceMark | None:
        """The provider's standing presence tap (None: nobody said anything today, or it was undone)."""
        marks = self.presence.get(provider)
        return marks[-1] if marks else None

    def away(self, provider: str) -> PresenceMark | None:
        """The provider's standing mark of being away (running late, stepped away): the last presence tap, if it
        said away and the provider has started no patient since (one who is seeing patients is back, tapped or
        not)."""
        mark = self.presence_of(provider)
        if mark is None or not mark.away:
            return None
        started = (v.times.get(Stage.provider_in) for v in self.visits.values() if v.provider == provider)
        return None if any(at is not None and at > mark.since for at in started) else mark

    def presence_view(self, provider: str) -> ProviderPresenceView:
        """As screens show it: the standing mark, or back (no mark, or an away mark the provider's starting a
        patient since has ended, as `away` has it: the tablet said "stepped away" while she was seeing patients)."""
        mark = self.presence_of(provider)
        version = self.presence_versions.get(provider, 0)
        if mark is None or (mark.away and self.away(provider) is None):
            return ProviderPresenceView(provider, Presence.back, version=version)
        return ProviderPresenceView(provider, mark.status, mark.since, mark.back_at, mark.by, version)

    def _known_provider(self, provider: str, expected_version: int | None) -> None:
        if self.clinic.provider(provider) is None:
            known = ", ".join(p.id for p in self.clinic.providers)
            raise Refusal(Why.not_found, f"No provider {provider!r} in this clinic (known: {known}).", field="provider")
        version = self.presence_versions.get(provider, 0)
        if expected_version is not None and expected_version != version:
            mark = self.presence_of(provider)
            now = _human_presence(mark.status) if mark is not None else "not marked"
            raise Refusal(
                Why.stale_version,
                f"{provider}'s presence changed first: it is now {now} (version "
                f"{version}, you had version {expected_version}).",
                field="expected_version",
                version=version,
            )

    def _presence(self, c: MarkPresence, at: dt.datetime) -> ProviderPresence:
        self._known_provider(c.provider, c.expected_version)
        if c.status is Presence.back:
            if c.back_in_minutes is not None:
                raise Refusal(
                    Why.invalid,
                    "Back needs no minutes: back_in_minutes is only for running late or stepped away.",
                    field="back_in_minutes",
                )
        elif c.back_in_minutes is not None and not 1 <= c.back_in_minutes <= MAX_AWAY_MINUTES:
            raise Refusal(
                Why.invalid, f"back_in_minutes must be from 1 to {MAX_AWAY_MINUTES}.", field="back_in_minutes"
            )
        if c.status is Presence.running_late and any(
            v.provider == c.provider and Stage.provider_in in v.times for v in self.visits.values()
        ):
            raise Refusal(
                Why.illegal_step,
                f"{c.provider} has already seen patients today: running late to clinic "
                "is for a provider not there yet (say stepped away).",
                field="status",
            )
        happened = self._ago(c.minutes_ago, at)
        last = self.presence_of(c.provider)
        if happened is not None and last is not None and happened < last.since:
            raise Refusal(
                Why.invalid,
                f"{c.provider}'s presence was last said at {self.clinic.local_text(last.since)}: this tap cannot "
                f"have been made {c.minutes_ago} minutes ago, before it.",
                field="minutes_ago",
            )
        # "back" is taken even with no mark standing: it also tells Floor the provider is on the floor, so the
        # projection stops presuming them away (floor.core.projection.absent_until).
        return ProviderPresence(c.provider, c.status, c.back_in_minutes, happened)

    def _undo_presence(self, c: UndoPresence) -> PresenceUndone:
        self._known_provider(c.provider, c.expected_version)
        mark = self.presence_of(c.provider)
        if mark is None:
            raise Refusal(Why.nothing_to_undo, f"{c.provider} has no presence tap to undo today.")
        return PresenceUndone(c.provider, mark.seq, mark.status)

    def _room_at(self, room_id: str, expected_version: int | None) -> Room:
        """The room a mark or its undo is for, at the version the screen saw (None: not checked)."""
        room = self.rooms.get(room_id)
        if room is None:
            raise Refusal(Why.not_found, f"No room {room_id!r} in this clinic.")
        if expected_version is not None and expected_version != room.version:
            raise Refusal(
                Why.stale_version,
                f"{room.label} changed first: it is now {room.state.value} (version "
                f"{room.version}, you had version {expected_version}).",
                room=room.id,
                room_state=room.state.value,
                version=room.version,
            )
        return room

    def _set_rooms(self, c: SetRooms) -> SetUpChanged:
        """The clinic's rooms set from the browser, checked by the rules a clinic file's rooms are
        (`Clinic.__post_init__`, the file's field constraints): the one source of truth for both."""
        rooms = list(c.rooms)
        self._check_set_up(c.expected_version, "rooms", rooms, ("id", "label", "zone"), rooms=rooms)
        labels = {r.id: r.label for r in self.clinic.rooms}
        for i, r in enumerate(rooms):
            # Every hallway wall shows a room's label: never a patient's name, as a blocked room's reason (`_mark`).
            if labels.get(r.id) != r.label and self.names_a_patient(r.label):
                raise Refusal(
                    Why.invalid,
                    "Rooms not changed: the label names one of today's patients, and every hallway wall shows it.",
                    field=f"rooms[{i}].label",
                )
        wanted = {r.id for r in rooms}
        for room in self.rooms.values():
            if room.id not in wanted and room.state is RoomState.occupied:
                raise Refusal(
                    Why.room_unavailable,
                    f"{room.label} has a patient in it: take it out once they have left it.",
                    field="rooms",
                    room=room.id,
                    room_state=room.state.value,
                )
        return SetUpChanged(rooms=_stored(rooms), previous_rooms=_stored(self.clinic.rooms), from_file=c.from_file)

    def _set_providers(self, c: SetProviders) -> SetUpChanged:
        """The clinic's providers set from the browser, checked as a clinic file's are. One taken out must have no
        visit today that is not over: their patients are moved to another provider first (a visit with a provider
        the clinic no longer has is still seen and projected, as after a clinic file edit, but nobody could book,
        move or mark them)."""
        providers = list(c.providers)
        self._check_set_up(c.expected_version, "providers", providers, ("id", "name", "initials"), providers=providers)
        wanted = {p.id for p in providers}
        for p in self.clinic.providers:
            if p.id in wanted:
                continue
            open_visits = [v for v in self.visits.values() if v.provider == p.id and v.stage not in ENDS]
            if open_visits:
                raise Refusal(
                    Why.illegal_step,
                    f"{p.name} still has "
                    + (
                        "a visit today that is not over: move it to another provider (or end it) first."
                        if len(open_visits) == 1
                        else f"{len(open_visits)} visits today that are not over: move them to another provider "
                        "(or end them) first."
                    ),
                    field="providers",
                    provider=p.id,
                )
        return SetUpChanged(
            providers=[SetUpProvider(p.id, p.name, p.initials) for p in providers],
            previous_providers=[SetUpProvider(p.id, p.name, p.initials) for p in self.clinic.providers],
            from_file=c.from_file,
        )

    def _set_visit_types(self, c: SetVisitTypes) -> SetUpChanged:
        """The clinic's visit types set from the browser, checked as a clinic file's are. One taken out must have no
        visit today that is not over (the projection would plan it by a stand-in's minutes, `Clinic.visit_type_of`,
        and nobody could book it again): the visits are ended, or booked again as another type, first. A type's
        minutes may change while visits of it are on the floor: they are planned and projected by the new ones."""
        types = list(c.visit_types)
        self._check_set_up(c.expected_version, "visit_types", types, ("code", "label"), visit_types=types)
        wanted = {v.code for v in types}
        for vtype in self.clinic.visit_types:
            if vtype.code in wanted:
                continue
            open_visits = [v for v in self.visits.values() if v.visit_type == vtype.code and v.stage not in ENDS]
            if open_visits:
                raise Refusal(
                    Why.illegal_step,
                    f"{vtype.label}: "
                    + (
                        "a visit of it today is not over: it can be taken out once it is."
                        if len(open_visits) == 1
                        else f"{len(open_visits)} visits of it today are not over: it can be taken out once they are."
                    ),
                    field="visit_types",
                    visit_type=vtype.code,
                )
        return SetUpChanged(
            visit_types=types, previous_visit_types=list(self.clinic.visit_types), from_file=c.from_file
        )

    def _set_thresholds(self, c: SetThresholds) -> SetUpChanged:
        """The clinic's alert thresholds set from the browser, checked as a clinic file's `[thresholds]` are (minutes
        1 to 600, the cascade's visits 1 to 50). The alerts are reviewed by them from the next review: a patient's
        dwell alert under a limit raised past their wait clears, one under a limit lowered below it is raised."""
        self._check_version(c.expected_version)
        if c.thresholds == self.clinic.thresholds:
            raise Refusal(Why.invalid, "The clinic already has these thresholds: nothing changed.", field="thresholds")
        try:
            checked = msgspec.structs.replace(self.clinic, thresholds=c.thresholds)
            msgspec.convert(msgspec.to_builtins(checked), type=Clinic)  # the file's field constraints
        except (msgspec.ValidationError, ValueError) as e:
            at = _AT.search(str(e))
            field = at["path"] if at is not None and at["path"].startswith("thresholds.") else "thresholds"
            name = field.removeprefix("thresholds.")
            rule = "1 to 50 visits" if name == "cascade_visits" else "1 to 600 minutes"
            raise Refusal(
                Why.invalid,
                f"Thresholds not changed: {name.replace('_', ' ')} must be {rule}.",
                field=field,
            ) from None
        return SetUpChanged(thresholds=c.thresholds, previous_thresholds=self.clinic.thresholds, from_file=c.from_file)

    def _check_version(self, expected_version: int | None) -> None:
        """A set-up change as the page saw the set-up (`expected_version`): refused after another change, naming
        `version`, the field the set-up PUT routes send it in (they named `expected_version`, a visit tap's field,
        one the request did not have)."""
        if expected_version is not None and expected_version != self.setup_version:
            raise Refusal(
                Why.stale_version,
                "The clinic's set-up changed first (another manager, or another page): look at it again "
                f"(version {self.setup_version}, you had version {expected_version}).",
                field="version",
                version=self.setup_version,
            )

    def _check_set_up(
        self, expected_version: int | None, kind: str, items: list, fields: tuple[str, ...], **change: list
    ) -> None:
        """A set-up change as the page saw the set-up (`expected_version`), each item with every field given, and
        what a clinic file with it could be (`Clinic.__post_init__` and the file's field constraints)."""
        self._check_version(expected_version)
        one, whose = _ONE[kind], "their" if kind == "providers" else "its"
        for i, item in enumerate(items):
            for name in fields:
                if not getattr(item, name).strip():
                    raise Refusal(
                        Why.invalid,
                        f"Every {one} needs {whose} {name}: {one} {i + 1} has none.",
                        field=f"{kind}[{i}].{name}",
                    )
        if items == list(getattr(self.clinic, kind)):
            raise Refusal(
                Why.invalid, f"The clinic already has these {kind.replace('_', ' ')}: nothing changed.", field=kind
            )
        try:
            checked = msgspec.structs.replace(self.clinic, **change)  # Clinic.__post_init__
            msgspec.convert(msgspec.to_builtins(checked), type=Clinic)  # the file's field constraints
        except (msgspec.ValidationError, ValueError) as e:
            raise Refusal(
                Why.invalid,
                f"{kind.replace('_', ' ').capitalize()} not changed: {_readable(str(e), kind, items)}.",
                field=_field_of(str(e), kind),
            ) from None

    def _undo_mark(self, c: UndoRoomMark) -> RoomMarkUndone:
        room = self._room_at(c.room, c.expected_version)
        mark = room.undoable_mark()
        if mark is None:
            raise Refusal(
                Why.nothing_to_undo,
                f"{room.label} is {room.state.value} and has no mark to undo (a "
                "patient's step changed it since, or it was undone already).",
                room=room.id,
                room_state=room.state.value,
            )
        if mark.previous is RoomState.occupied:  # never: an occupied room takes no mark
            raise Refusal(Why.room_unavailable, f"{room.label} cannot go back to occupied.", room=room.id)
        return RoomMarkUndone(room.id, mark.seq, mark.action, mark.previous)

    def _mark(self, c: MarkRoom) -> RoomMarked:
        # The room as the screen showed it: a "ready" sent late (offline) on a room cleaned, used and left dirty
        # again since is refused, never taken as this clean.
        room = self._room_at(c.room, c.expected_version)
        if c.reason and c.action is not RoomAction.blocked:
            # Taken and dropped, the caller would think the wall shows it.
            raise Refusal(
                Why.invalid, f"Only a block takes a reason; {c.action.value} takes none.", field="reason", room=room.id
            )
        if c.action not in ROOM_ACTIONS[room.state]:
            allowed = allowed_room_actions(room.state)
            options = " or ".join(a.value for a in allowed) if allowed else "nothing until its patient leaves"
            raise Refusal(
                Why.illegal_step,
                f"{room.label} is {room.state.value}; it can be marked {options}, not {c.action.value}.",
                room=room.id,
                room_state=room.state.value,
                allowed=[a.value for a in allowed],
            )
        # The reason is shown on the public hallway wall: the same rule as any text the team types, and never a
        # patient's name ("Held for Ann Lee" reached every wall: a hostile review). Floor knows the day's names;
        # the refusal does not repeat the one it found (it says why, the manager knows what they typed). Here,
        # not in the fold: a reason stored before this rule still folds.
        if why := unreadable("reason", c.reason):
            raise Refusal(Why.invalid, f"Not marked: {why}.", field="reason")
        if c.reason and self.names_a_patient(c.reason):
            raise Refusal(
                Why.invalid,
                "Not marked: the reason names one of today's patients, and every hallway wall shows it. Say why "
                'the room is blocked without a name (e.g. "isolation").',
                field="reason",
            )
        return RoomMarked(room.id, c.action, c.reason)

    def names_a_patient(self, text: str) -> bool:
        """Whether `text` holds the whole name of one of the day's patients (floor.core.text `names_any`)."""
        return names_any(text, (v.patient_name for v in self.visits.values()))

    # -- folding --------------------------------------------------------------------------------

    def preview(self, event: Event) -> Touched:
        """What `apply(event)` would produce, leaving this floor unchanged (the answer is built before the
        event is stored, and the floor only moves once it is)."""
        scratch = Floor.__new__(Floor)
        scratch.__dict__.update(self.__dict__)
        scratch.visits = dict(self.visits)
        scratch.rooms = dict(self.rooms)
        if isinstance(event.change, VisitBooked):
            scratch._tokens = set(self._tokens)
            if event.change.external_id is not None:
                scratch._by_external_id = dict(self._by_external_id)
        visit = event.visit
        if visit in scratch.visits:
            scratch.visits[visit] = copy.deepcopy(scratch.visits[visit])
        room = getattr(event.change, "room", None)
        if room in scratch.rooms:
            scratch.rooms[room] = copy.copy(scratch.rooms[room])
        if isinstance(event.change, SetUpChanged) and event.change.rooms is not None:  # every room may change
            scratch.rooms = {k: copy.copy(r) for k, r in self.rooms.items()}
            scratch._gone_rooms = {k: copy.copy(r) for k, r in self._gone_rooms.items()}
        scratch.alerts = dict(self.alerts)
        if isinstance(event.change, VisitMoved):  # the patient's dwell alert follows them
            for key, a in self.alerts.items():
                if a.visit == visit and a.active:
                    scratch.alerts[key] = copy.copy(a)
        if isinstance(event.change, ProviderPresence | PresenceUndone):
            scratch.presence = {
                **self.presence,
                event.change.provider: list(self.presence.get(event.change.provider, [])),
            }
            scratch.presence_versions = dict(self.presence_versions)
        alert = getattr(event.change, "alert", None)
        if alert in scratch.alerts:
            scratch.alerts[alert] = copy.copy(scratch.alerts[alert])
        return scratch.apply(event)

    def apply(self, event: Event) -> Touched:
        """Fold `event` in. One that cannot be folded (a step on a visit never booked: a log written by hand, or
        by an older Floor's bug) raises, and leaves the floor's seq where it was: the next try meets it again."""
        if event.seq != self.seq + 1:
            raise ValueError(f"event {event.seq} does not follow {self.seq}")
        seq, last_at = self.seq, self.last_at
        try:
            touched = self._apply(event)
        except Exception:
            self.seq, self.last_at = seq, last_at
            raise
        if touched.visit is not None and touched.presence is None:
            # A provider marked away who starts a patient is back (`away`), and away again if that start is
            # undone: the screens are told with the step, or they went on showing the mark (a review).
            mark = self.presence_of(touched.visit.provider)
            if mark is not None and mark.away:
                touched.presence = self.presence_view(touched.visit.provider)
        return touched

    def _apply(self, event: Event) -> Touched:
        self.seq = event.seq
        self.last_at = event.at if self.last_at is None else max(self.last_at, event.at)
        match event.change:
            case VisitBooked() as c:
                stage = Stage.arrived if c.walk_in else Stage.scheduled
                visit = Visit(
                    c.visit,
                    c.patient_name,
                    c.provider,
                    c.visit_type,
                    c.start,
                    c.walk_in,
                    c.notes,
                    stage,
                    event.version,
                    times={stage: c.happened or event.at},
                    external_id=c.external_id,
                    external_system=c.external_system,
                    patient_id=c.patient_id,
                    token=c.token or legacy_token(c.visit),
                    booked_by=event.actor,
                    booked_seq=event.seq,
                )
                self.visits[visit.id] = visit
                self._tokens.add(visit.token)
                if c.external_id is not None:
                    self._by_external_id[c.external_id] = visit.id
                return Touched(visit, [])
            case VisitRescheduled() as c:
                visit = self.visits[c.visit]
                visit.start, visit.provider, visit.visit_type, visit.notes = c.start, c.provider, c.visit_type, c.notes
                # The schedule says who they are booked with now (a patient moved on the floor, their arrival then
                # undone, is scheduled again and the schedule leads).
                visit.moved_from = None
                visit.version = event.version
                return Touched(visit, [])
            case VisitMoved() as c:
                visit = self.visits[c.visit]
                booked_with = visit.booked_with
                visit.provider = c.provider
                # A walk-in was booked with nobody: the one who sees them fits them in anyway.
                visit.moved_from = None if visit.walk_in or c.provider == booked_with else booked_with
                visit.moved_at = event.at
                visit.moves += 1
                visit.version = event.version
                # Their wait, if too long, is now the new provider's patient's: the wall and the manager name them.
                waiting = next(
                    (a for a in self.alerts.values() if a.active and a.kind == "dwell" and a.visit == visit.id), None
                )
                if waiting is not None:
                    waiting.provider, waiting.updated_at = c.provider, event.at
                return Touched(visit, [], waiting)
            case StepTaken() as c:
                visit = self.visits[c.visit]
                when = c.happened or event.at
                rooms = []
                room_since = None
                if c.room is not None:
                    room = self._room(c.room)
                    room_since = room.since
                    if enters_room(c.step):
                        self._set_room(room, RoomState.occupied, visit.id, when)
                        visit.room = room.id
                    else:
                        self._set_room(room, RoomState.turnover, None, when)
                        visit.room = None
                    rooms.append(room)
                tapped = event.at if c.happened is not None else None
                visit.steps.append(
                    StepRecord(
                        event.seq, c.step, c.previous, when, c.room, event.actor, event.device, tapped, room_since
                    )
                )
                visit.stage = c.step
                visit.times[c.step] = when
                visit.without_teach_back = c.without_teach_back
                visit.entered_in_error = c.entered_in_error
                visit.version = event.version
                return Touched(visit, rooms)
            case StepUndone() as c:
                visit = self.visits[c.visit]
                undone = visit.steps.pop()
                visit.times.pop(c.step, None)
                visit.stage = c.stage
                if c.stage is Stage.scheduled and visit.moved_from is not None:
                    # Their arrival was a mistake: not here, they are no longer moved; back with the provider
                    # they are booked with (before arrival the schedule leads, and a move is for one who is here).
                    visit.provider, visit.moved_from, visit.moved_at = visit.moved_from, None, None
                visit.without_teach_back = False
                visit.entered_in_error = False
                visit.version = event.version
                rooms = []
                if c.room is not None:
                    room = self._room(c.room)
                    # Back as it was, since included (as an undone room mark): a room ready since 9:00 that the wrong
                    # patient was roomed in at 9:10 was ready all along, and the right one may have gone in at 9:10.
                    if enters_room(c.step):
                        self._set_room(room, RoomState.ready, None, undone.room_since)
                        visit.room = None
                    else:
                        self._set_room(room, RoomState.occupied, visit.id, undone.room_since or event.at)
                        visit.room = room.id
                    rooms.append(room)
                return Touched(visit, rooms)
            case WalkInRemoved() as c:
                visit = self.visits[c.visit]
                visit.stage = Stage.cancelled
                visit.times[Stage.cancelled] = event.at
                visit.entered_in_error = True
                visit.version = event.version
                return Touched(visit, [])
            case RoomMarked() as c:
                room = self._room(c.room)
                before, since, previous_reason = room.state, room.since, room.reason
                self._set_room(room, ROOM_ACTIONS[room.state][c.action], None, event.at)
                if room.state is RoomState.blocked:
                    room.reason = c.reason or None
                room.last_mark = RoomMarkRecord(
                    event.seq, c.action, before, since, event.actor, room.version, previous_reason
                )
                return Touched(None, [room])
            case RoomMarkUndone() as c:
                room = self._room(c.room)
                mark = room.last_mark
                # Back as it was, since included: a room in turnover again has waited since its patient left.
                self._set_room(room, c.state, None, mark.previous_since if mark else event.at)
                room.reason = mark.previous_reason if mark and c.state is RoomState.blocked else None
                room.last_mark = None
                return Touched(None, [room])
            case AlertRaised() as c:
                alert = Alert(
                    c.alert,
                    c.kind,
                    c.detail,
                    event.at,
                    event.version,
                    c.provider,
                    c.visit,
                    c.stage,
                    episode=c.episode or c.alert,
                )
                if (before := self.alerts.get(c.alert)) is not None:
                    # Raised again as itself (a patient's wait back after an undone step): as first raised, and
                    # acknowledged if it was.
                    alert.raised_at = before.raised_at
                    alert.acknowledged_by, alert.acknowledged_at = before.acknowledged_by, before.acknowledged_at
                self.alerts[alert.id] = alert
                return Touched(None, [], alert)
            case AlertUpdated() as c:
                alert = self.alerts[c.alert]
                alert.detail, alert.updated_at, alert.version = c.detail, event.at, event.version
                return Touched(None, [], alert)
            case AlertCleared() as c:
                alert = self.alerts[c.alert]
                alert.cleared_at, alert.version = event.at, event.version
                return Touched(None, [], alert)
            case AlertAcknowledged() as c:
                alert = self.alerts[c.alert]
                alert.acknowledged_by, alert.acknowledged_at = event.actor, event.at
                alert.version = event.version
                return Touched(None, [], alert)
            case ProviderPresence() as c:
                since = c.happened or event.at
                back_at = since + dt.timedelta(minutes=c.back_in_minutes) if c.back_in_minutes else None
                self.presence.setdefault(c.provider, []).append(
                    PresenceMark(event.seq, c.status, since, back_at, event.actor)
                )
                self.presence_versions[c.provider] = event.version
                return Touched(None, [], presence=self.presence_view(c.provider))
            case PresenceUndone() as c:
                self.presence[c.provider].pop()
                self.presence_versions[c.provider] = event.version
                return Touched(None, [], presence=self.presence_view(c.provider))
            case SetUpChanged() as c:
                clinic = with_set_up(self.clinic, c)
                rooms: list[Room] = self._set_up(clinic.rooms) if c.rooms is not None else []
                if c.providers is not None:
                    kept = {p.id for p in clinic.providers}
                    self._gone_providers.update((p.id, p) for p in self.clinic.providers if p.id not in kept)
                if c.visit_types is not None:
                    # The projection and the alerts plan by the clinic's types (`Clinic.visit_type_of`): from here on
                    # by these minutes; a visit of a type taken out (over by then) by the stand-in's.
                    self._types_until = [*self._types_until, (event.at, list(self.clinic.visit_types))]
                if c.thresholds is not None:  # the alerts' next review is by these
                    self.thresholds_changed = [*self.thresholds_changed, event.at]
                self.clinic = clinic
                self.setup_version = event.seq
                return Touched(None, rooms)
        raise TypeError(f"unknown change {event.change!r}")

    def _set_up(self, rooms: list[RoomSetUp]) -> list[Room]:
        """The floor's rooms become `rooms`, in their order: a room kept keeps its state (its label and zone as
        given), a new one is ready, one taken out is kept with the rooms the clinic no longer has (`_gone_rooms`, as
        a clinic file edited under the day's log), and one taken out earlier today and added back is ready again,
        its version going on from where it was (a tablet's card of it from before is stale)."""
        wanted = {r.id for r in rooms}
        for room_id in [i for i in self.rooms if i not in wanted]:
            self._gone_rooms[room_id] = self.rooms.pop(room_id)
        now: dict[str, Room] = {}
        for r in rooms:
            room = self.rooms.get(r.id)
            if room is None:
                gone = self._gone_rooms.pop(r.id, None)
                room = Room(r.id, r.label, r.zone, version=gone.version + 1 if gone is not None else 0)
            room.label, room.zone = r.label, r.zone
            now[r.id] = room
        self.rooms = now
        return list(now.values())

    @staticmethod
    def _set_room(room: Room, state: RoomState, visit: str | None, at: dt.datetime | None) -> None:
        room.state, room.visit, room.since, room.reason = state, visit, at, None
        room.version += 1
