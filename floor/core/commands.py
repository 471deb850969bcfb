"""Commands: what staff ask the floor to do, imperative. The floor answers with an event or a refusal."""

from __future__ import annotations

import datetime as dt

from msgspec import Struct

from floor.config import Provider, Room, Thresholds, VisitType
from floor.core.access import Role
from floor.core.journey import Stage
from floor.core.presence import Presence
from floor.core.rooms import RoomAction


class BookVisit(Struct, frozen=True):
    patient_name: str
    provider: str
    visit_type: str
    start: dt.datetime | None = None
    walk_in: bool = False
    notes: str = ""
    #: The appointment's id in the clinic's schedule (EHR), when the visit came from a schedule import.
    external_id: str | None = None
    #: The system (namespace URI) of that id in the EHR, when the schedule gave one (a FHIR identifier's).
    external_system: str | None = None
    #: The patient's id in the EHR, when the schedule gave one (floor.core.schedule.Appointment.patient_id).
    patient_id: str | None = None
    #: A walk-in booked after they came: they came this many minutes before the tap (1 to MAX_MINUTES_AGO; 0: as
    #: booked). Not for a scheduled visit.
    minutes_ago: int = 0


class RescheduleVisit(Struct, frozen=True):
    """Move a visit that is still only scheduled to a new time, provider or visit type (a schedule import
    brings the EHR's change); the visit keeps its id, so its history stays one visit."""

    visit: str
    start: dt.datetime
    provider: str
    visit_type: str
    notes: str = ""
    expected_version: int | None = None


class MoveVisit(Struct, frozen=True):
    """Move a patient who is here and waiting (arrived, roomed or prep done) to another provider: the desk or a
    manager sends them to the one who can see them sooner. Moving them back is another move. A visit booked on
    the floor and not yet arrived is booked with the other provider instead (a schedule's visit is moved in
    the schedule)."""

    visit: str
    provider: str
    expected_version: int | None = None


class TakeStep(Struct, frozen=True):
    visit: str
    step: Stage
    room: str | None = None
    expected_version: int | None = None
    #: Only with `cancelled`: the booking was a mistake (see StepTaken).
    entered_in_error: bool = False
    #: A step tapped late: it happened this many minutes before the tap (1 to MAX_MINUTES_AGO; 0: as tapped).
    #: The visit's times, its measures and the projection then hold when it happened, not when it was tapped.
    minutes_ago: int = 0


class UndoStep(Struct, frozen=True):
    """Undo the visit's last step; a walk-in with no step yet is its booking: the walk-in is taken off the floor
    (booked by mistake)."""

    visit: str
    expected_version: int | None = None


class MarkRoom(Struct, frozen=True):
    """Mark a room ready (cleaned), blocked (with its reason, if any) or unblocked. `expected_version`: the room
    version the screen saw (0: a room untouched today), to refuse a mark on a room that changed meanwhile (a late
    "ready" on a room dirtied again since would send the next patient into a room nobody cleaned); None: not
    checked (a client that sends none)."""

    room: str
    action: RoomAction
    reason: str = ""
    expected_version: int | None = None


class UndoRoomMark(Struct, frozen=True):
    """Undo the room's last mark (ready, blocked, unblocked), if nothing changed the room since
    (`expected_version`: the room version the screen saw)."""

    room: str
    expected_version: int | None = None


class AcknowledgeAlert(Struct, frozen=True):
    alert: str


class MarkPresence(Struct, frozen=True):
    """Say where a provider is: running late to clinic or stepped away (back in so many minutes, if known),
    or back. A provider marks themself; an assistant or a manager any provider."""

    provider: str
    status: Presence
    back_in_minutes: int | None = None
    expected_version: int | None = None
    #: Said late (a tablet that was offline): it was so this many minutes before the tap (1 to MAX_MINUTES_AGO).
    minutes_ago: int = 0


class UndoPresence(Struct, frozen=True):
    """Undo the provider's last presence tap (`expected_version`: the presence version the screen saw)."""

    provider: str
    expected_version: int | None = None


class SetRooms(Struct, frozen=True):
    """Set the clinic's rooms (a manager, from the browser): the whole new list, each room's id, label and zone. A
    room not in it is taken out (refused while a patient is in it), one not on the floor is added, ready; a room's
    id is what it is known by, its label and zone may change. `expected_version`: the set-up version the page showed
    (`Floor.setup_version`), to refuse a list drawn before another manager's change. `from_file`: these are the
    clinic file's rooms, chosen back (the file's rooms lead again from the next day on)."""

    rooms: list[Room]
    expected_version: int | None = None
    from_file: bool = False


class SetProviders(Struct, frozen=True):
    """Set the clinic's providers (a manager, from the browser): the whole new list, each provider's id, name and
    initials. One not in it is taken out (refused while a visit of theirs today is not over: move their patients
    first), one new is added; a provider's id is what visits and sign-ins know them by, their name and initials may
    change. `expected_version` and `from_file` as SetRooms'."""

    providers: list[Provider]
    expected_version: int | None = None
    from_file: bool = False


class SetVisitTypes(Struct, frozen=True):
    """Set the clinic's visit types (a manager, from the browser): the whole new list, each type's code, label, slot
    minutes and minutes for each stage, as a clinic file has them. One not in it is taken out (refused while a visit
    of it today is not over), one new is added; a type's code is what visits and schedules know it by, its label and
    minutes may change (the projection and the alerts plan by the new minutes from the next fold). `expected_version`
    and `from_file` as SetRooms'."""

    visit_types: list[VisitType]
    expected_version: int | None = None
    from_file: bool = False


class SetThresholds(Struct, frozen=True):
    """Set the clinic's alert thresholds (a manager, from the browser): all of them, as a clinic file's `[thresholds]`
    (the minutes a patient may wait in each stage before a dwell alert, the cascade alert's K visits and L minutes,
    a room's turnover minutes). Alerts are reviewed by them from the next review. `expected_version` and `from_file`
    as SetRooms'."""

    thresholds: Thresholds
    expected_version: int | None = None
    from_file: bool = False


Command = (
    BookVisit
    | RescheduleVisit
    | MoveVisit
    | TakeStep
    | UndoStep
    | MarkRoom
    | UndoRoomMark
    | AcknowledgeAlert
    | MarkPresence
    | UndoPresence
    | SetRooms
    | SetProviders
    | SetVisitTypes
    | SetThresholds
)


class Tap(Struct, frozen=True):
    """Who asked, in which role, from which device, and when the server received it.

    `role` None is Floor itself (alert reviews, replays, the demo's simulated staff): no role check.
    `provider`: a provider's sign-in, the clinic provider id their account is linked to (None: not linked)."""

    actor: str
    device: str
    now: dt.datetime
    role: Role | None = None
    provider: str | None = None
