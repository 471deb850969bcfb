"""HTTP routes: decode the request, hand the command to the clinic's runtime, build its answer (`tap_answer`)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated

import msgspec
import structlog
from litestar import Request, Response, Router, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from floor import audit
from floor.config import Clinic, Provider, Room, StageMinutes, Thresholds, VisitType
from floor.core.access import Act, in_clinic
from floor.core.commands import (
    AcknowledgeAlert,
    BookVisit,
    Command,
    MarkPresence,
    MarkRoom,
    MoveVisit,
    SetProviders,
    SetRooms,
    SetThresholds,
    SetVisitTypes,
    TakeStep,
    UndoPresence,
    UndoRoomMark,
    UndoStep,
)
from floor.core.errors import Refusal, Why
from floor.core.journey import Stage
from floor.core.measures import ClinicMeasures
from floor.core.presence import Presence
from floor.core.projection import visit_plan
from floor.core.rooms import RoomAction
from floor.floors import Floors
from floor.log.base import LogUnavailable
from floor.runtime import Answer, ClinicRuntime, Idempotency
from floor.sessions import Caller
from floor.web.auth import Rule, allowed, caller, require
from floor.web.errors import errors
from floor.wire import (
    AlertAnswer,
    AuditTrail,
    Board,
    ClinicSummary,
    LatenessOverDay,
    LearnedAnswer,
    NewVisit,
    PresenceAnswer,
    PresenceTap,
    ProvidersSetUp,
    RoomAnswer,
    RoomsSetUp,
    RoomTap,
    SetUpAnswer,
    ThresholdsSetUp,
    VisitAnswer,
    VisitHistory,
    VisitTap,
    VisitTypesSetUp,
    encode,
)

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=128,
        required=False,
        description="Send the same key when retrying a tap: it is applied once and the first answer "
        "is returned again (with `Idempotent-Replayed: true`).",
    ),
]


StoredOnly = Annotated[
    bool,
    HeaderParameter(
        name="Idempotency-Stored-Only",
        required=False,
        description="`true`: answer the tap only if it was already stored under its Idempotency-Key (the first "
        "answer, with `Idempotent-Replayed: true`), else `404` naming `Idempotency-Key`, storing nothing. A tablet "
        "asks so, after the clinic's midnight, of a tap kept from the day before: its answer may have been lost.",
    ),
]


def clinic_runtime(floors: NamedDependency[Floors], clinic: FromPath[str]) -> ClinicRuntime:
    return floors.get(clinic)


async def _tap(
    request: Request,
    runtime: ClinicRuntime,
    command: Command,
    who: Caller,
    key: str | None,
    same_as: msgspec.Struct | None = None,
    stored_only: bool = False,
) -> Response:
    """`same_as`: what of the request the Idempotency-Key fingerprint covers (encoded only when there is a key),
    if not its raw body. `stored_only`: answer it only if stored already (the Idempotency-Stored-Only header)."""
    if stored_only and key is None:
        raise Refusal(
            Why.invalid,
            "Idempotency-Stored-Only asks after a tap stored under its key: send the key.",
            field="Idempotency-Key",
        )
    idem = None
    if key is not None:
        # The person is part of the request: another person's retry with the same key is a new tap.
        head = f"{request.method} {request.url.path} {who.person}\n".encode()
        raw = hashlib.sha256(head + await request.body()).hexdigest()
        if same_as is None:
            idem = Idempotency(key, raw, stored_only=stored_only)
        else:
            # Keys stored before the fingerprint was of the decoded tap hold the raw body's: a retry made across
            # the upgrade is still the tap it was.
            fingerprint = hashlib.sha256(head + encode(same_as)).hexdigest()
            idem = Idempotency(key, fingerprint, formerly=raw, stored_only=stored_only)
    answer = await runtime.handle(command, who.person, who.device, idem, who.role, who.provider)
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(
        encode(tap_answer(command, answer, runtime.clinic)),
        status_code=HTTP_201_CREATED,
        media_type="application/json",
        headers=headers,
    )


def tap_answer(
    command: Command, answer: Answer, clinic: Clinic
) -> VisitAnswer | RoomAnswer | AlertAnswer | PresenceAnswer | SetUpAnswer:
    """The tapper's answer: the event stored and what it changed of what was tapped (a retry's, as first)."""
    event, touched = answer.event, answer.touched
    if isinstance(command, SetRooms):
        return SetUpAnswer(event.seq, event, event.seq, rooms=touched.rooms)
    if isinstance(command, SetProviders):
        providers = getattr(event.change, "providers", None) or []
        return SetUpAnswer(
            event.seq, event, event.seq, providers=[Provider(p.id, p.name, p.initials) for p in providers]
        )
    if isinstance(command, SetThresholds):
        return SetUpAnswer(event.seq, event, event.seq, thresholds=getattr(event.change, "thresholds", None))
    if isinstance(command, SetVisitTypes):
        return SetUpAnswer(event.seq, event, event.seq, visit_types=getattr(event.change, "visit_types", None) or [])
    if isinstance(command, MarkRoom | UndoRoomMark):
        return RoomAnswer(event.seq, event, touched.rooms[0])
    if isinstance(command, AcknowledgeAlert):
        return AlertAnswer(event.seq, event, touched.alert)
    if isinstance(command, MarkPresence | UndoPresence):
        assert touched.presence is not None
        return PresenceAnswer(event.seq, event, touched.presence)
    assert touched.visit is not None
    return VisitAnswer(event.seq, event, touched.visit, visit_plan(touched.visit, clinic))


Runtime = NamedDependency[ClinicRuntime]
Day = Annotated[dt.date | None, QueryParameter(description="A clinic day, YYYY-MM-DD (default: today)")]
Who = NamedDependency[Caller]


@get(
    "/",
    summary="The clinics this server runs that the caller works in",
    responses=errors(401, 403),
    opt={"act": Act.read_floor},
)
async def list_clinics(floors: NamedDependency[Floors], who: Who) -> list[ClinicSummary]:
    return [r.summary() for r in floors.runtimes.values() if in_clinic(who.clinics, r.id)]


@get(
    "/{clinic:str}/board",
    summary="The clinic's floor now: rooms, today's visits, providers; or a past day's as it closed (`day`)",
    responses=errors(400, 401, 403, 404, 422),
    opt={"act": Act.read_floor},
)
async def board(runtime: Runtime, who: Who, day: Day = None) -> Board:
    if day is None or day == runtime.floor.day:
        return runtime.board()
    require(who, Act.read_history)  # a past day's board is a report, not the floor
    return await runtime.board_on(day)


@get(
    "/{clinic:str}/visits/{visit:str}",
    summary="A visit with its full event history (undos included)",
    responses=errors(400, 401, 403, 404),
    opt={"act": Act.read_floor},
)
async def visit_history(runtime: Runtime, visit: FromPath[str]) -> VisitHistory:
    return runtime.history(visit)


@post(
    "/{clinic:str}/visits",
    summary="Schedule a visit for today, or add a walk-in",
    responses=errors(400, 401, 403, 404, 422, 429, 503),
    opt={"act": Rule.taps},
)
async def add_visit(
    request: Request,
    runtime: Runtime,
    data: JSONBody[NewVisit],
    who: Who,
    idempotency_key: IdempotencyKey = None,
    stored_only: StoredOnly = False,
) -> Response[VisitAnswer]:
    command = BookVisit(
        data.patient_name.strip(),
        data.provider,
        data.visit_type,
        data.start,
        data.walk_in,
        data.notes,
        minutes_ago=data.minutes_ago,
    )
    # A tablet that was offline resends a walk-in with its minutes_ago grown by the minutes it waited (as a step):
    # the same walk-in for its Idempotency-Key, whatever its minutes_ago.
    same_as = msgspec.structs.replace(data, minutes_ago=0)
    return await _tap(request, runtime, command, who, idempotency_key, same_as, stored_only)


@post(
    "/{clinic:str}/visits/{visit:str}/events",
    summary="Tap a visit's next step, end it, or undo its last step (whoever made it, or a manager); undoing a "
    "walk-in with no step yet takes it off the floor (booked by mistake); or move a patient who is here and "
    "waiting to another provider (the front desk or a manager)",
    responses=errors(400, 401, 403, 404, 409, 422, 429, 503),
    opt={"act": Rule.taps},
)
async def visit_event(
    request: Request,
    runtime: Runtime,
    visit: FromPath[str],
    data: JSONBody[VisitTap],
    who: Who,
    idempotency_key: IdempotencyKey = None,
    stored_only: StoredOnly = False,
) -> Response[VisitAnswer]:
    command: Command
    if data.provider is not None and data.type != "move":
        raise Refusal(Why.invalid, "Only a move names a provider.", field="provider")
    if data.type == "move":
        if data.provider is None:
            raise Refusal(Why.invalid, "A move names the provider the patient goes to.", field="provider")
        for name, given in (("room", data.room), ("minutes_ago", data.minutes_ago)):
            if given:
                raise Refusal(Why.invalid, f"A move takes no {name}: the patient goes to the provider now.", field=name)
        command = MoveVisit(visit, data.provider, data.expected_version)
    elif data.type == "undo":
        if data.minutes_ago:
            raise Refusal(
                Why.invalid, "An undo takes no minutes_ago: it reverses the last step now.", field="minutes_ago"
            )
        if data.room is not None:
            # Taken and dropped, "undo the rooming into East 1" would undo whatever the last step is (a walk-in's
            # booking: the patient taken off the floor).
            raise Refusal(
                Why.invalid, "An undo takes no room: it reverses the visit's last step, in whatever room.", field="room"
            )
        command = UndoStep(visit, data.expected_version)
    else:
        command = TakeStep(visit, Stage(data.type), data.room, data.expected_version, minutes_ago=data.minutes_ago)
    # A tablet that was offline resends a step with its minutes_ago grown by the minutes it waited (the step is
    # stored when tapped): the same tap for its Idempotency-Key, whatever its minutes_ago.
    same_as = msgspec.structs.replace(data, minutes_ago=0)
    return await _tap(request, runtime, command, who, idempotency_key, same_as, stored_only)


@post(
    "/{clinic:str}/rooms/{room:str}/events",
    summary="Mark a room ready (cleaned), blocked or unblocked, or undo its last mark (whoever made it, or a manager)",
    responses=errors(400, 401, 403, 404, 409, 422, 429, 503),
    opt={"act": Rule.taps},
)
async def room_event(
    request: Request,
    runtime: Runtime,
    room: FromPath[str],
    data: JSONBody[RoomTap],
    who: Who,
    idempotency_key: IdempotencyKey = None,
    stored_only: StoredOnly = False,
) -> Response[RoomAnswer]:
    command: Command
    if data.type == "undo":
        if data.reason:
            raise Refusal(Why.invalid, "An undo takes no reason.", field="reason")
        command = UndoRoomMark(room, data.expected_version)
    else:
        command = MarkRoom(room, RoomAction(data.type), data.reason, data.expected_version)
    return await _tap(request, runtime, command, who, idempotency_key, stored_only=stored_only)


@put(
    "/{clinic:str}/rooms",
    summary="Set the clinic's rooms, the whole list: add a room, change its label or zone, take one out (refused while "
    "a patient is in it); or `use_file`: the clinic file's rooms. Sent with the set-up `version` the page showed "
    "(the board's `setup_version`). The rooms stand over the clinic file's from then on (managers)",
    responses=errors(400, 401, 403, 404, 409, 422, 429, 503),
    opt={"act": Act.set_up_clinic},
    status_code=HTTP_201_CREATED,
)
async def set_rooms(
    request: Request,
    floors: NamedDependency[Floors],
    runtime: Runtime,
    data: JSONBody[RoomsSetUp],
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[SetUpAnswer]:
    if data.use_file and data.rooms:
        raise Refusal(Why.invalid, "Send no rooms with use_file: the clinic file's are taken.", field="rooms")
    rooms = list(runtime.today.file.rooms) if data.use_file else [Room(r.id, r.label, r.zone) for r in data.rooms]
    return await _set_up(request, floors, runtime, SetRooms(rooms, data.version, data.use_file), who, idempotency_key)


@put(
    "/{clinic:str}/providers",
    summary="Set the clinic's providers, the whole list: add a provider, change their name or initials, take one out "
    "(refused while a visit of theirs today is not over); or `use_file`: the clinic file's providers. Sent with the "
    "set-up `version` the page showed (the board's `setup_version`). They stand over the clinic file's from then on "
    "(managers)",
    responses=errors(400, 401, 403, 404, 409, 422, 429, 503),
    opt={"act": Act.set_up_clinic},
    status_code=HTTP_201_CREATED,
)
async def set_providers(
    request: Request,
    floors: NamedDependency[Floors],
    runtime: Runtime,
    data: JSONBody[ProvidersSetUp],
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[SetUpAnswer]:
    if data.use_file and data.providers:
        raise Refusal(Why.invalid, "Send no providers with use_file: the clinic file's are taken.", field="providers")
    providers = (
        list(runtime.today.file.providers)
        if data.use_file
        else [Provider(p.id, p.name, p.initials) for p in data.providers]
    )
    command = SetProviders(providers, data.version, data.use_file)
    return await _set_up(request, floors, runtime, command, who, idempotency_key)


@put(
    "/{clinic:str}/visit-types",
    summary="Set the clinic's visit types, the whole list: add a type, change its label, slot minutes or minutes for "
    "each stage (visits of it are planned and projected by the new minutes from then on), take one out (refused "
    "while a visit of it today is not over); or `use_file`: the clinic file's visit types. Sent with the set-up "
    "`version` the page showed (the board's `setup_version`). They stand over the clinic file's from then on "
    "(managers)",
    responses=errors(400, 401, 403, 404, 409, 422, 429, 503),
    opt={"act": Act.set_up_clinic},
    status_code=HTTP_201_CREATED,
)
async def set_visit_types(
    request: Request,
    floors: NamedDependency[Floors],
    runtime: Runtime,
    data: JSONBody[VisitTypesSetUp],
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[SetUpAnswer]:
    if data.use_file and data.visit_types:
        raise Refusal(
            Why.invalid, "Send no visit types with use_file: the clinic file's are taken.", field="visit_types"
        )
    types = (
        list(runtime.today.file.visit_types)
        if data.use_file
        else [
            VisitType(v.code, v.label, v.slot_minutes, StageMinutes(**msgspec.structs.asdict(v.stage_minutes)))
            for v in data.visit_types
        ]
    )
    command = SetVisitTypes(types, data.version, data.use_file)
    return await _set_up(request, floors, runtime, command, who, idempotency_key)


@put(
    "/{clinic:str}/thresholds",
    summary="Set the clinic's alert thresholds, all of them: the minutes a patient may wait in each stage before a "
    "dwell alert, the cascade alert's visits and minutes, a room's turnover minutes (the alerts are reviewed by them "
    "from the next review); or `use_file`: the clinic file's thresholds. Sent with the set-up `version` the page "
    "showed (the board's `setup_version`). They stand over the clinic file's from then on (managers)",
    responses=errors(400, 401, 403, 404, 409, 422, 429, 503),
    opt={"act": Act.set_up_clinic},
    status_code=HTTP_201_CREATED,
)
async def set_thresholds(
    request: Request,
    floors: NamedDependency[Floors],
    runtime: Runtime,
    data: JSONBody[ThresholdsSetUp],
    who: Who,
    idempotency_key: IdempotencyKey = None,
) -> Response[SetUpAnswer]:
    if data.use_file == (data.thresholds is not None):
        raise Refusal(
            Why.invalid,
            "Send the thresholds, or use_file for the clinic file's: one of the two.",
            field="thresholds",
        )
    thresholds = (
        runtime.today.file.thresholds
        if data.thresholds is None
        else Thresholds(**msgspec.structs.asdict(data.thresholds))
    )
    command = SetThresholds(thresholds, data.version, data.use_file)
    return await _set_up(request, floors, runtime, command, who, idempotency_key)


async def _set_up(
    request: Request,
    floors: Floors,
    runtime: ClinicRuntime,
    command: SetRooms | SetProviders | SetVisitTypes | SetThresholds,
    who: Caller,
    key: str | None,
) -> Response[SetUpAnswer]:
    """Store a change of the set-up, and keep the set-up beside the log at once (else at the next tick): a server
    started later starts from it."""
    response = await _tap(request, runtime, command, who, key)
    try:
        await floors.keep_setup(runtime)
    except LogUnavailable as e:
        structlog.get_logger("floor").warning("setup_not_kept_yet", clinic=runtime.id, error=str(e)[:300])
    return response


@post(
    "/{clinic:str}/providers/{provider:str}/presence",
    summary="Say a provider is running late to clinic, stepped away (back in `back_in_minutes`, if known) or back; "
    "or undo the last such tap. A provider for themself; a medical assistant or manager for any provider",
    responses=errors(400, 401, 403, 404, 409, 422, 429, 503),
    opt={"act": Rule.taps},
)
async def presence_event(
    request: Request,
    runtime: Runtime,
    provider: FromPath[str],
    data: JSONBody[PresenceTap],
    who: Who,
    idempotency_key: IdempotencyKey = None,
    stored_only: StoredOnly = False,
) -> Response[PresenceAnswer]:
    command: Command
    if data.type == "undo":
        if data.back_in_minutes is not None:
            raise Refusal(Why.invalid, "An undo takes no minutes.", field="back_in_minutes")
        if data.minutes_ago:
            raise Refusal(
                Why.invalid, "An undo takes no minutes_ago: it reverses the last tap now.", field="minutes_ago"
            )
        command = UndoPresence(provider, data.expected_version)
    else:
        command = MarkPresence(
            provider, Presence(data.type), data.back_in_minutes, data.expected_version, minutes_ago=data.minutes_ago
        )
    # A tablet that was offline resends it with minutes_ago grown by the minutes it waited: the same tap for its
    # Idempotency-Key, whatever its minutes_ago.
    same_as = msgspec.structs.replace(data, minutes_ago=0)
    return await _tap(request, runtime, command, who, idempotency_key, same_as, stored_only)


@post(
    "/{clinic:str}/alerts/{alert:str}/acknowledge",
    summary="Acknowledge an alert (a manager saw it)",
    responses=errors(400, 401, 403, 404, 409, 422, 429, 503),
    opt={"act": Rule.taps},
)
async def acknowledge_alert(
    request: Request,
    runtime: Runtime,
    alert: FromPath[str],
    who: Who,
    idempotency_key: IdempotencyKey = None,
    stored_only: StoredOnly = False,
) -> Response[AlertAnswer]:
    return await _tap(request, runtime, AcknowledgeAlert(alert), who, idempotency_key, stored_only=stored_only)


@get(
    "/{clinic:str}/visits/{visit:str}/audit",
    summary="Who did each step of a visit, on which device, when; undos included (managers)",
    responses=errors(400, 401, 403, 404, 422),
    opt={"act": Act.read_audit},
)
async def visit_audit(runtime: Runtime, visit: FromPath[str], day: Day = None) -> AuditTrail:
    _, events = await runtime.day_events(day)
    entries = audit.of_visit(runtime.id, visit, events)
    if not entries:
        raise Refusal(Why.not_found, f"No visit {visit!r} on that day.")
    return AuditTrail(entries)


@get(
    "/{clinic:str}/lateness",
    summary="Each provider's projected lateness through a day (managers)",
    responses=errors(400, 401, 403, 404, 422),
    opt={"act": Act.read_measures},
)
async def lateness(
    runtime: Runtime,
    day: Day = None,
    every: Annotated[int, QueryParameter(ge=1, le=60, description="minutes between points")] = 10,
) -> LatenessOverDay:
    return await runtime.lateness_over_day(day, every)


@get(
    "/{clinic:str}/measures",
    summary="A day's measures (default today; a past day's as it closed), for the clinic and each provider (managers)",
    responses=errors(400, 401, 403, 404, 422),
    opt={"act": Act.read_measures},
)
async def measures(runtime: Runtime, day: Day = None) -> ClinicMeasures:
    return await runtime.measures_on(day)


@get(
    "/{clinic:str}/learned",
    summary="What Floor learned from the clinic's past days: per provider and visit type the configured and "
    "expected minutes of each stage and from how many visits, no-shows and arrival lateness (managers)",
    responses=errors(400, 401, 403, 404),
    opt={"act": Act.read_learned},
)
async def learned(runtime: Runtime) -> LearnedAnswer:
    return runtime.learned_answer()


def clinics_router(floors: Floors) -> Router:
    return clinic_routes(
        floors,
        [
            list_clinics,
            board,
            visit_history,
            visit_audit,
            lateness,
            measures,
            learned,
            add_visit,
            visit_event,
            room_event,
            set_rooms,
            set_providers,
            set_visit_types,
            set_thresholds,
            presence_event,
            acknowledge_alert,
        ],
        tag="clinics",
    )


def clinic_routes(floors: Floors, handlers: list, tag: str) -> Router:
    """Routes under /api/clinics for signed-in staff of the clinic, each as the act it declares allows (the
    `allowed` guard), given the floors, the clinic's runtime and the caller."""
    return Router(
        "/api/clinics",
        route_handlers=handlers,
        dependencies={
            "floors": Provide(lambda: floors, use_cache=True, sync_to_thread=False),
            "runtime": Provide(clinic_runtime, sync_to_thread=False),
            "who": Provide(caller, sync_to_thread=False),
        },
        guards=[allowed],
        tags=[tag],
    )
