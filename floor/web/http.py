"""HTTP routes: decode the request, hand the command to the clinic's runtime, send its answer."""

from __future__ import annotations

import hashlib
from typing import Annotated, NamedTuple

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, HeaderParameter, JSONBody

from floor.bootstrap import Floors
from floor.core.commands import AcknowledgeAlert, BookVisit, Command, MarkRoom, TakeStep, UndoStep
from floor.core.journey import Stage
from floor.core.measures import ClinicMeasures
from floor.runtime import Answer, ClinicRuntime, Idempotency
from floor.web.errors import errors
from floor.wire import (
    AlertAnswer,
    Board,
    ClinicSummary,
    NewVisit,
    RoomAnswer,
    RoomTap,
    VisitAnswer,
    VisitHistory,
    VisitTap,
)

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(name="Idempotency-Key", min_length=1, max_length=128, required=False,
              description="Send the same key when retrying a tap: it is applied once and the first answer "
                          "is returned again (with `Idempotent-Replayed: true`)."),
]


class Tapper(NamedTuple):
    """Who tapped and on which device. Until staff sign-in lands these come from headers."""

    actor: str
    device: str


def tapper(request: Request) -> Tapper:
    headers = request.headers
    return Tapper(headers.get("x-floor-actor", "unknown")[:64], headers.get("x-floor-device", "unknown")[:64])


def clinic_runtime(floors: NamedDependency[Floors], clinic: FromPath[str]) -> ClinicRuntime:
    return floors.get(clinic)


async def _tap(request: Request, runtime: ClinicRuntime, command: Command, who: Tapper,
               key: str | None) -> Response:
    idem = None
    if key is not None:
        body = await request.body()
        fingerprint = hashlib.sha256(f"{request.method} {request.url.path}\n".encode() + body).hexdigest()
        idem = Idempotency(key, fingerprint)
    answer: Answer = await runtime.handle(command, who.actor, who.device, idem)
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(answer.body, status_code=answer.status, media_type="application/json", headers=headers)


Runtime = NamedDependency[ClinicRuntime]
Who = NamedDependency[Tapper]


@get("/", summary="The clinics this server runs")
async def list_clinics(floors: NamedDependency[Floors]) -> list[ClinicSummary]:
    return [r.summary() for r in floors.runtimes.values()]


@get("/{clinic:str}/board", summary="The clinic's floor now: rooms, today's visits, providers",
     responses=errors(400, 404))
async def board(runtime: Runtime) -> Board:
    return runtime.board()


@get("/{clinic:str}/visits/{visit:str}", summary="A visit with its full event history (undos included)",
     responses=errors(400, 404))
async def visit_history(runtime: Runtime, visit: FromPath[str]) -> VisitHistory:
    return runtime.history(visit)


@post("/{clinic:str}/visits", summary="Schedule a visit for today, or add a walk-in",
      responses=errors(400, 404, 422, 503))
async def add_visit(request: Request, runtime: Runtime, data: JSONBody[NewVisit], who: Who,
                    idempotency_key: IdempotencyKey = None) -> Response[VisitAnswer]:
    command = BookVisit(data.patient_name.strip(), data.provider, data.visit_type, data.start, data.walk_in,
                        data.notes)
    return await _tap(request, runtime, command, who, idempotency_key)


@post("/{clinic:str}/visits/{visit:str}/events",
      summary="Tap a visit's next step, end it, or undo its last step",
      responses=errors(400, 404, 409, 422, 503))
async def visit_event(request: Request, runtime: Runtime, visit: FromPath[str], data: JSONBody[VisitTap],
                      who: Who, idempotency_key: IdempotencyKey = None) -> Response[VisitAnswer]:
    command: Command
    if data.type == "undo":
        command = UndoStep(visit, data.expected_version)
    else:
        command = TakeStep(visit, Stage(data.type), data.room, data.expected_version)
    return await _tap(request, runtime, command, who, idempotency_key)


@post("/{clinic:str}/rooms/{room:str}/events", summary="Mark a room ready (cleaned), blocked or unblocked",
      responses=errors(400, 404, 409, 503))
async def room_event(request: Request, runtime: Runtime, room: FromPath[str], data: JSONBody[RoomTap], who: Who,
                     idempotency_key: IdempotencyKey = None) -> Response[RoomAnswer]:
    return await _tap(request, runtime, MarkRoom(room, data.type, data.reason), who, idempotency_key)


@post("/{clinic:str}/alerts/{alert:str}/acknowledge", summary="Acknowledge an alert (a manager saw it)",
      responses=errors(400, 404, 409, 503))
async def acknowledge_alert(request: Request, runtime: Runtime, alert: FromPath[str], who: Who,
                            idempotency_key: IdempotencyKey = None) -> Response[AlertAnswer]:
    return await _tap(request, runtime, AcknowledgeAlert(alert), who, idempotency_key)


@get("/{clinic:str}/measures", summary="Today's measures, for the clinic and each provider",
     responses=errors(400, 404))
async def measures(runtime: Runtime) -> ClinicMeasures:
    return runtime.measures()


def clinics_router(floors: Floors) -> Router:
    return Router(
        "/api/clinics",
        route_handlers=[list_clinics, board, visit_history, measures, add_visit, visit_event, room_event,
                        acknowledge_alert],
        dependencies={
            "floors": Provide(lambda: floors, use_cache=True, sync_to_thread=False),
            "runtime": Provide(clinic_runtime, sync_to_thread=False),
            "who": Provide(tapper, sync_to_thread=False),
        },
        tags=["clinics"],
    )
