"""What goes over the wire: request bodies, answers, and live-feed messages. All JSON, all msgspec."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

from floor.config import Provider, Session, Thresholds, VisitType
from floor.core.access import Role
from floor.core.events import Event
from floor.core.floor import MAX_MINUTES_AGO, Alert, Room, Visit
from floor.core.journey import STEPS
from floor.core.measures import ClinicMeasures
from floor.core.presence import MAX_AWAY_MINUTES, Presence, ProviderPresenceView
from floor.core.projection import ProjectedVisit, VisitPlan
from floor.core.rooms import RoomAction
from floor.core.schedule import Problem
from floor.credentials import MAX_DEVICE_KEY

PatientName = Annotated[str, Meta(min_length=1, max_length=80, pattern=r"\S")]
Ref = Annotated[str, Meta(min_length=1, max_length=40)]
Notes = Annotated[str, Meta(max_length=500)]
Version = Annotated[int, Meta(ge=1)]

VisitStep = Literal[(*(s.value for s in STEPS), "undo", "move")]  # type: ignore[valid-type]


class Audience(StrEnum):
    """Who a live feed is encoded for; each update is encoded once per audience.

    Staff and managers see the same events (with names); only managers get the measures. Wall displays
    get the hallway projection (floor.hallway), which has no names."""

    staff = "staff"
    manager = "manager"
    display = "display"


#: A display paired to one zone has a feed of its own, keyed `display:<zone>` beside the Audience values.
ZONED_DISPLAY = "display:"


def display_audience(zone: str | None) -> str:
    """The feed a wall display receives: the whole clinic's hallway, or one zone's (floor.hallway)."""
    return Audience.display if zone is None else f"{ZONED_DISPLAY}{zone}"


def display_zone(audience: str) -> str | None:
    """For a display's audience, its zone (None: the whole clinic)."""
    return audience[len(ZONED_DISPLAY) :] if audience.startswith(ZONED_DISPLAY) else None


def is_display(audience: str) -> bool:
    return audience == Audience.display or audience.startswith(ZONED_DISPLAY)


# -- requests ------------------------------------------------------------------------------------


class NewVisit(Struct, forbid_unknown_fields=True):
    """Schedule a visit for today (`start`, ISO 8601; without an offset it is clinic time) or add a walk-in."""

    patient_name: PatientName
    provider: Ref
    visit_type: Ref
    start: dt.datetime | None = None
    walk_in: bool = False
    notes: Notes = ""
    #: A walk-in booked after they came: they came this many minutes before the tap (0: as booked). Walk-ins only.
    minutes_ago: Annotated[int, Meta(ge=0, le=MAX_MINUTES_AGO)] = 0


class VisitTap(Struct, forbid_unknown_fields=True):
    """Move a visit to its next stage, end it, or undo its last step. `room` only with `roomed`. Or `move` a
    patient who is here and waiting to another `provider` (only with `move`)."""

    type: VisitStep
    room: Ref | None = None
    provider: Ref | None = None
    expected_version: Version | None = None
    #: A step tapped late: it happened this many minutes before the tap (0: as tapped). Not with `undo`.
    minutes_ago: Annotated[int, Meta(ge=0, le=MAX_MINUTES_AGO)] = 0


class RoomTap(Struct, forbid_unknown_fields=True):
    """Mark a room ready (cleaned), blocked (with its reason: only a block takes one) or unblocked; or `undo` its
    last mark. `expected_version`: the room version the screen saw (0: a room untouched today), to refuse a tap on
    a room that changed meanwhile (409 `stale_version`); without it the tap is not checked."""

    type: Literal[(*(a.value for a in RoomAction), "undo")]  # type: ignore[valid-type]
    reason: Annotated[str, Meta(max_length=200)] = ""
    expected_version: Annotated[int, Meta(ge=0)] | None = None


class RoomSpec(Struct, forbid_unknown_fields=True):
    """A room as a manager sets it: its id (what taps and the log know it by: it cannot change), its label (what
    every screen shows) and its zone (which walls show it). Checked by the rules a clinic file's rooms are."""

    id: Annotated[str, Meta(max_length=64)]
    label: Annotated[str, Meta(max_length=200)]
    zone: Annotated[str, Meta(max_length=64)]


class RoomsSetUp(Struct, forbid_unknown_fields=True):
    """The clinic's rooms, the whole list, as the manager's page sets them: a room left out is taken out, one new is
    added (ready), a label or zone changed is changed. `version`: the set-up version the page showed (the board's
    `setup_version`): a list drawn before another change is refused (409 `stale_version`). `use_file`: the clinic
    file's rooms instead (send no `rooms`): they lead again from the next day on."""

    version: Annotated[int, Meta(ge=0)]
    rooms: Annotated[list[RoomSpec], Meta(max_length=500)] = []
    use_file: bool = False


class ProviderSpec(Struct, forbid_unknown_fields=True):
    """A provider as a manager sets them: their id (what visits and sign-ins know them by: it cannot change), their
    name and their initials (what the walls show). Checked by the rules a clinic file's providers are."""

    id: Annotated[str, Meta(max_length=64)]
    name: Annotated[str, Meta(max_length=200)]
    initials: Annotated[str, Meta(max_length=8)]


class ProvidersSetUp(Struct, forbid_unknown_fields=True):
    """The clinic's providers, the whole list, as RoomsSetUp: one left out is taken out (refused while a visit of
    theirs today is not over), one new is added, a name or initials changed are changed. `use_file`: the clinic
    file's providers instead (send no `providers`)."""

    version: Annotated[int, Meta(ge=0)]
    providers: Annotated[list[ProviderSpec], Meta(max_length=200)] = []
    use_file: bool = False


class StageMinutesSpec(Struct, forbid_unknown_fields=True):
    """A visit type's expected minutes in each stage (from it until the next), as a clinic file's `stage_minutes`:
    0 to 600 each, the provider's at least 1 (checked by the clinic file's rules: 422 naming the stage)."""

    arrived: int
    roomed: int
    prep_done: int
    provider_in: int
    teach_back_done: int


class VisitTypeSpec(Struct, forbid_unknown_fields=True):
    """A visit type as a manager sets it: its code (what visits and schedules know it by: it cannot change), its
    label (what screens show), its slot and stage minutes (what the projection and the alerts plan by). Checked by the
    rules a clinic file's visit types are."""

    code: Annotated[str, Meta(max_length=64)]
    label: Annotated[str, Meta(max_length=200)]
    slot_minutes: int
    stage_minutes: StageMinutesSpec


class VisitTypesSetUp(Struct, forbid_unknown_fields=True):
    """The clinic's visit types, the whole list, as RoomsSetUp: one left out is taken out (refused while a visit of it
    today is not over), one new is added, a label or minutes changed are changed (visits of it are planned by the new
    minutes from then on). `use_file`: the clinic file's visit types instead (send no `visit_types`)."""

    version: Annotated[int, Meta(ge=0)]
    visit_types: Annotated[list[VisitTypeSpec], Meta(max_length=100)] = []
    use_file: bool = False


class ThresholdsSpec(Struct, forbid_unknown_fields=True):
    """The clinic's alert thresholds as a manager sets them, all of them, as a clinic file's `[thresholds]`: the
    minutes a patient may wait in each stage before a dwell alert, the cascade alert's K visits and L minutes, a
    room's turnover minutes (checked by the clinic file's rules: 422 naming the threshold)."""

    waiting_to_be_roomed: int
    waiting_for_prep: int
    waiting_for_provider: int
    waiting_for_checkout: int
    cascade_visits: int
    cascade_minutes: int
    turnover: int


class ThresholdsSetUp(Struct, forbid_unknown_fields=True):
    """The clinic's alert thresholds, as RoomsSetUp: `version` the set-up version the page showed; `use_file`: the
    clinic file's thresholds instead (send no `thresholds`)."""

    version: Annotated[int, Meta(ge=0)]
    thresholds: ThresholdsSpec | None = None
    use_file: bool = False


class SetUpAnswer(Struct):
    """A change of the clinic's set-up, stored: the event, the set-up version it makes, and what it set: the floor's
    rooms now (a change of the rooms), the providers or the visit types (a change of them)."""

    seq: int
    event: Event
    setup_version: int
    rooms: list[Room] = []
    providers: list[Provider] = []
    visit_types: list[VisitType] = []
    thresholds: Thresholds | None = None


class PresenceTap(Struct, forbid_unknown_fields=True):
    """Say where a provider is (`running_late` to clinic, `stepped_away`, `back`), with the minutes until they
    expect to be back if known; or `undo` the provider's last presence tap. `expected_version`: the presence
    version the screen saw (a `presence` of the board or the answer), to refuse a tap on a presence that
    changed meanwhile."""

    type: Literal["running_late", "stepped_away", "back", "undo"]
    back_in_minutes: Annotated[int, Meta(ge=1, le=MAX_AWAY_MINUTES)] | None = None
    expected_version: Annotated[int, Meta(ge=0)] | None = None
    #: Said late: it was so this many minutes before the tap (a tablet that was offline sends the minutes it
    #: waited, as for a step).
    minutes_ago: Annotated[int, Meta(ge=0, le=MAX_MINUTES_AGO)] = 0


# -- answers -------------------------------------------------------------------------------------


class VisitAnswer(Struct):
    seq: int
    event: Event
    visit: Visit
    #: The visit's plan by the clinic's convention (when the patient is due, when the provider is).
    plan: VisitPlan | None = None


class RoomAnswer(Struct):
    seq: int
    event: Event
    room: Room


class PresenceAnswer(Struct):
    seq: int
    event: Event
    presence: ProviderPresenceView


class VisitHistory(Struct):
    visit: Visit
    events: list[Event]


class ClinicSummary(Struct):
    id: str
    name: str
    timezone: str
    day: dt.date
    seq: int
    #: The clinic's screen languages, its default first (clinic file `[display] languages`).
    languages: list[str] = msgspec.field(default_factory=lambda: ["en"])


class ProviderDelay(Struct):
    """How far behind a provider runs now (minutes, the core's `provider_delay`: a patient who came late does
    not count; 0 on time) and when the schedule recovers (null: not this session, or nobody waiting); `pace`
    is how long their visits take against plan today; `visits` are the waiting visits with their projected
    provider-in and provider-out (the manager's timeline)."""

    provider: str
    lateness: float
    recovers_at: dt.datetime | None
    pace: float
    visits: list[ProjectedVisit] = []
    #: The provider is marked away (`running_late` to clinic or `stepped_away`); null: on the floor.
    away: Presence | None = None


class AlertAnswer(Struct):
    seq: int
    event: Event
    alert: Alert


class Board(Struct):
    clinic: str
    name: str
    timezone: str
    day: dt.date
    seq: int
    now: dt.datetime
    session: Session
    rooms: list[Room]
    visits: list[Visit]
    providers: list[Provider]
    visit_types: list[VisitType]
    thresholds: Thresholds
    #: Today's alerts, active (cleared_at null) and cleared.
    alerts: list[Alert] = []
    #: Each provider's projected delay now.
    delays: list[ProviderDelay] = []
    #: Each provider's presence (`back` with no `since`: nobody said anything today).
    presence: list[ProviderPresenceView] = []
    #: Each visit's plan by the clinic's convention (`[session] appointment_time`): when the patient is due to
    #: be roomed and the provider due in. The pages' "due" and "late" count from these.
    plans: list[VisitPlan] = []
    #: True while the server cannot reach a shared log: this board may be behind.
    stale: bool = False
    #: How many times faster than real time the clinic's clock runs: 1, but in a rehearsal (`floor demo`).
    #: A sign-in's end is real time, so a tablet does not show it on a clinic clock that runs fast.
    clock_speed: float = 1.0
    #: The version of the clinic's set-up (its rooms): what a change of the rooms is sent with (RoomsSetUp).
    setup_version: int = 0
    #: The clinic file's rooms, where the rooms now (set from the browser) differ from them; else null.
    file_rooms: list[RoomSpec] | None = None
    #: The clinic file's providers, where the providers now (set from the browser) differ from them; else null.
    file_providers: list[Provider] | None = None
    #: The clinic file's visit types, where the visit types now (set from the browser) differ from them; else null.
    file_visit_types: list[VisitType] | None = None
    #: The clinic file's alert thresholds, where the thresholds now (set from the browser) differ from them; else null.
    file_thresholds: Thresholds | None = None


class ErrorBody(Struct, omit_defaults=True):
    """Every error answer: a machine-readable `error`, a `message` for people, and facts where they help."""

    error: str
    message: str
    field: str | None = None
    stage: str | None = None
    allowed: list[str] | None = None
    visit: Visit | None = None
    room: str | None = None
    room_state: str | None = None
    ready_rooms: list[str] | None = None
    version: int | None = None
    #: A provider the refusal is about (one taken out of the clinic while a visit of theirs is not over).
    provider: str | None = None
    #: A visit type the refusal is about (one taken out of the clinic while a visit of it is not over).
    visit_type: str | None = None
    #: A refused schedule import: every problem, each naming its CSV line or Bundle entry and the field (the first
    #: 200 of a file with more, the last entry counting the rest).
    errors: list[Problem] | None = None
    #: A refused schedule import: how many problems the file has in all.
    error_count: int | None = None


# -- live feed -----------------------------------------------------------------------------------


#: A screen keeps the `mark` of the last update it applied (floor.log.base.mark, the event at its seq) and resumes
#: with `?since=SEQ&mark=MARK`: where the log no longer holds that event at that seq (a backup restored, a Redis
#: failover that lost the tail), the screen gets a snapshot, not the updates after a seq of another history.


class SnapshotMessage(Struct, tag="snapshot", tag_field="kind"):
    seq: int
    board: Board
    #: The mark of the event at `seq`, as far as this server knows it: '' or the last day's last event's before the
    #: day's first event (a screen at or before the day's start gets a snapshot whatever its mark).
    mark: str = ""
    #: The clinic's set-up as this snapshot drew it (floor.config.setup_mark): a screen resuming with another
    #: gets a snapshot, so rooms, providers and visit types changed in the clinic file reach it after a restart.
    setup: str = ""


class EventMessage(Struct, tag="event", tag_field="kind"):
    """One event, with the visit, rooms, alert or provider's presence it changed as they are now."""

    seq: int
    event: Event
    visit: Visit | None
    rooms: list[Room]
    alert: Alert | None = None
    presence: ProviderPresenceView | None = None
    #: The visit's plan by the clinic's convention, with the visit.
    plan: VisitPlan | None = None
    #: The event's mark (floor.log.base.mark), for resuming.
    mark: str = ""


class HeartbeatMessage(Struct, tag="heartbeat", tag_field="kind"):
    """Every tick, and at once when the feed goes stale or recovers."""

    seq: int
    now: dt.datetime
    stale: bool = False


class MeasuresMessage(Struct, tag="measures", tag_field="kind"):
    """Every tick: today's measures and each provider's projected delay (they change as time passes)."""

    seq: int
    measures: ClinicMeasures
    delays: list[ProviderDelay]


class DelaysMessage(Struct, tag="delays", tag_field="kind"):
    """Every tick, to staff who are not managers: each provider's projected delay."""

    seq: int
    delays: list[ProviderDelay]


LiveMessage = SnapshotMessage | EventMessage | HeartbeatMessage | MeasuresMessage | DelaysMessage

encoder = msgspec.json.Encoder()


def encode(obj: object) -> bytes:
    return encoder.encode(obj)


# -- staff, sign-in, displays, audit -------------------------------------------------------------

StaffId = Annotated[str, Meta(min_length=2, max_length=40)]
Secret = Annotated[str, Meta(min_length=1, max_length=128)]
Device = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[\w .:-]+$")]


DeviceKey = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_DEVICE_KEY,
        description=(
            "The `device_key` this device got when it last signed in as this staff member, if any. While it holds "
            "(until their PIN changes), this attempt is counted against the device, not the account: the account's "
            "wait after others' wrong PINs does not apply, and wrong PINs sent with it make only this device wait. "
            "A key that does not hold changes nothing."
        ),
    ),
]


class SignIn(Struct, forbid_unknown_fields=True):
    """Sign in on a tablet: your staff id, your PIN or password, the tablet's name (recorded with taps), and the
    device key an earlier sign-in as you gave this tablet, if it has one."""

    staff: StaffId
    secret: Secret
    device: Device
    device_key: DeviceKey | None = None


#: A clinic's id, or "*" for every clinic the server runs.
ClinicOrAll = Annotated[str, Meta(min_length=1, max_length=40, pattern=r"^(\*|[a-z0-9][a-z0-9_-]{0,31})$")]


class NewStaff(Struct, forbid_unknown_fields=True):
    id: StaffId
    name: Annotated[str, Meta(min_length=1, max_length=80)]
    role: Role
    secret: Secret
    #: The clinics they work in ("*": every clinic). Default: the clinic, if the server runs one; else the
    #: adding manager's clinics (a manager of every clinic must say).
    clinics: Annotated[list[ClinicOrAll], Meta(min_length=1, max_length=50)] | None = None
    #: Role provider: the clinic provider id this account is (a `providers[].id` of a clinic on this server),
    #: so the tablet knows whose patients are theirs.
    provider: Annotated[str, Meta(min_length=1, max_length=32)] | None = None


class NewSecret(Struct, forbid_unknown_fields=True):
    secret: Secret


class StaffView(Struct):
    """A staff member as managers see them (never the stored hash)."""

    id: str
    name: str
    role: Role
    #: Waiting after wrong PINs in a row (until `locked_until`, or a manager's unlock).
    locked: bool
    #: Wrong PINs in a row held against the account.
    failures: int
    added_at: dt.datetime
    added_by: str
    #: The clinics they work in; ["*"]: every clinic.
    clinics: list[str] = []
    locked_until: dt.datetime | None = None
    provider: str | None = None


class Me(Struct, omit_defaults=True):
    """Who this token belongs to."""

    kind: Literal["staff", "display"]
    id: str
    device: str
    expires_at: dt.datetime
    name: str = ""
    role: Role | None = None
    clinic: str | None = None
    zone: str | None = None
    #: A staff member's clinics (["*"]: every clinic the server runs); a display has its `clinic` instead.
    clinics: list[str] = []
    #: A provider's sign-in: the clinic provider id the account is linked to.
    provider: str | None = None


class PairDisplay(Struct, forbid_unknown_fields=True):
    """Approve the code a new wall display shows, for a clinic and (optionally) one of its zones."""

    code: Annotated[str, Meta(min_length=4, max_length=12)]
    clinic: Ref
    zone: Ref | None = None
    #: What the managers' list calls it ("Dr. Kim's hall"): any readable text (floor.sessions.approve_pairing).
    label: Annotated[str, Meta(max_length=60)] = ""


class ChangeDisplay(Struct, forbid_unknown_fields=True):
    """A paired wall display's name and zone (null: the whole clinic), both as they should be now."""

    label: Annotated[str, Meta(max_length=60)]
    zone: Ref | None


class ClaimDisplay(Struct, forbid_unknown_fields=True):
    """The display collects its token with the claim secret it got with its code."""

    claim: Annotated[str, Meta(min_length=10, max_length=200)]


class PairingWaiting(Struct):
    status: Literal["waiting"] = "waiting"


class AuditEntry(Struct, omit_defaults=True):
    """One stored event: what changed, who tapped it, on which device, when."""

    clinic: str
    day: dt.date
    seq: int
    at: dt.datetime
    person: str
    device: str
    type: str
    visit: str | None = None
    step: str | None = None
    undone: str | None = None
    room: str | None = None
    alert: str | None = None
    #: A booking: whom and what it was booked for. A reschedule: the values it changed to, only those it changed.
    start: dt.datetime | None = None
    provider: str | None = None
    visit_type: str | None = None
    #: A reschedule: the values it replaced, only those it changed.
    previous_start: dt.datetime | None = None
    previous_provider: str | None = None
    previous_visit_type: str | None = None
    #: A reschedule changed the team's notes. Said, not shown: notes are free text and may name the patient.
    notes_changed: bool = False
    #: A check-out without a teach-back: the quality gap the event records.
    without_teach_back: bool = False
    #: A step tapped late, or a walk-in added after they came: when it happened (`at` is when it was tapped).
    happened: dt.datetime | None = None
    #: A cancellation because the booking was a mistake (the schedule said entered-in-error).
    entered_in_error: bool = False
    #: An undo: the seq of the entry it reversed.
    undone_seq: int | None = None
    #: A room blocked: the reason given, if any.
    reason: str | None = None
    #: A presence tap: what it said of the provider (`provider` names them), and the minutes they gave.
    presence: str | None = None
    back_in_minutes: int | None = None
    #: A change of the clinic's set-up from the browser, in words, one line per change ("Added room Exam 5 in
    #: zone east").
    changes: list[str] = []


class AuditTrail(Struct):
    entries: list[AuditEntry]


class LatenessPoint(Struct):
    at: dt.datetime
    #: Minutes each provider was projected behind at that moment, by provider id.
    lateness: dict[str, float]


class LatenessOverDay(Struct):
    """Each provider's projected lateness through the day, as it was known at each moment."""

    day: dt.date
    every_minutes: int
    points: list[LatenessPoint]


class LearnedStage(Struct):
    """One stage of a provider's visits of one type: the clinic file's minutes, what Floor now expects, and
    what past days showed (their median, over how many visits)."""

    stage: str
    configured: int
    expected: float
    median: float | None
    visits: int


class LearnedStepsOut(Struct):
    """How often the provider stepped out of visits of this type on past days (walked in to another patient
    meanwhile): of `visits` seen to their end, `stepped`; the median minutes before stepping out and of the
    provider's own minutes on the visit; `expected`: whether the projection expects them to step out of the next
    (more than half of at least a few), and so frees them for the next patient meanwhile."""

    visits: int
    stepped: int
    before: float | None
    own: float | None
    expected: bool


class LearnedVisitType(Struct):
    visit_type: str
    label: str
    stages: list[LearnedStage]
    steps_out: LearnedStepsOut | None = None


class LearnedProvider(Struct):
    """A provider's visit types, and how their booked patients came: the no-show share (shrunk toward the
    prior), the median minutes after planned rooming they arrived, and the median minutes from arrival to
    the provider walking in."""

    provider: str
    name: str
    booked: int
    no_shows: int
    no_show_share: float | None
    arrivals: int
    arrival_late_median: float | None
    arrival_to_provider: float | None
    arrival_to_provider_visits: int
    visit_types: list[LearnedVisitType]
    #: Of `seen_out` past visits seen to their end, `untapped_in` had their provider-in tapped only as they ended;
    #: today so far, `untapped_in_today` of `seen_out_today`. `walks_in_untapped`: past days and today together say
    #: it happens often enough that a patient left waiting while the provider seems free is taken to be with them
    #: (floor/core/projection.py `walks_in_untapped`).
    seen_out: int = 0
    untapped_in: int = 0
    walks_in_untapped: bool = False
    seen_out_today: int = 0
    untapped_in_today: int = 0


class LearnedAnswer(Struct):
    """What Floor learned from the clinic's past days for `day`: from `days` past days (the last `max_days`
    the log holds), each stage's median shrunk toward the configured minutes with `prior_visits` visits'
    worth of belief. `learned` is false while today's learning is still under way."""

    day: dt.date
    learned: bool
    days: int
    first_day: dt.date | None
    last_day: dt.date | None
    max_days: int
    prior_visits: float
    providers: list[LearnedProvider]
    #: Whether the clinic's taps come after their steps: of `provider_changes` (a visit ended at a teach-back
    #: tap, then the provider's next), `late_tap_changes` had the next provider-in tapped a few minutes before
    #: that teach-back (by a provider who does not see two patients at once as often: `two_at_once_changes`);
    #: `tap_lag`, the minutes a tap is taken to lag (0: none), which a visit already started must be late past
    #: the cascade's minutes to count as one of its late visits.
    provider_changes: int = 0
    late_tap_changes: int = 0
    tap_lag: float = 0.0
    #: How many visits' worth of belief the usual minutes have against a provider's day so far when the
    #: projection reckons the day's pace: the weight that best foretold `pace_visits` past visits from the
    #: ones before them that day (0: too few to judge; the projection's own `pace_prior`).
    pace_weight: float = 0.0
    pace_visits: int = 0
    pace_prior: float = 0.0
    #: Provider changes where the provider walked in to the next patient longer before the last one's
    #: teach-back than a late tap would be: two patients at once (stepping out mid-visit), not a late tap.
    two_at_once_changes: int = 0
    #: How the front desk taps checkouts (floor/core/checkouts.py): of `checkouts` on past days, `checkouts_batched`
    #: were tapped within `batch_seconds` of another patient's, and of today's so far, `checkouts_batched_today` of
    #: `checkouts_today`. `checkouts_judged`: at least `batch_evidence` in all, enough to judge the desk.
    #: `checkouts_in_batches`: they say the desk checks out in batches, and "waiting for checkout" waits for a batch
    #: to come without the patient, at most `checkout_hold` minutes after their teach-back (None: nobody is held).
    checkouts: int = 0
    checkouts_batched: int = 0
    checkouts_today: int = 0
    checkouts_batched_today: int = 0
    checkouts_judged: bool = False
    checkouts_in_batches: bool = False
    checkout_hold: float | None = None
    batch_seconds: float = 0.0
    batch_evidence: int = 0
