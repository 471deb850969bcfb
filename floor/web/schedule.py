"""Schedule import over HTTP: a manager posts the day's schedule file (CSV or a FHIR R4 Bundle) as the body,
for today or a day ahead (kept until that day opens); days ahead can be listed and withdrawn."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import structlog
from litestar import Request, Response, Router, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter
from msgspec import Struct

from floor.core.access import Act
from floor.core.errors import Refusal, Why
from floor.core.schedule import ScheduleRefused, Summary
from floor.floors import Floors
from floor.runtime import ClinicRuntime
from floor.schedule import DAYS_AHEAD, format_of, import_schedule, withdraw_upcoming
from floor.schedule import upcoming as upcoming_
from floor.schedule.upcoming import UpcomingDay
from floor.sessions import Caller
from floor.web.errors import errors
from floor.web.http import clinic_routes
from floor.wire import ErrorBody

log = structlog.get_logger("floor.web")

#: A day's FHIR Bundle with its Patient and Practitioner entries runs to a few hundred KiB for a busy clinic,
#: more than the 64 KiB every other request may carry.
MAX_SCHEDULE_BYTES = 4 * 1024 * 1024

Date = Annotated[
    dt.date,
    QueryParameter(
        description="The clinic day the schedule is for, YYYY-MM-DD: today, or "
        f"up to {DAYS_AHEAD} days ahead (a past day is read-only)"
    ),
]

KeptAt = Annotated[
    dt.datetime | None,
    QueryParameter(
        description="When the schedule to withdraw was kept (its `staged_at` as listed): a file kept since, "
        "another one for the day, is not withdrawn (409 `stale_version`); without it, whatever is kept goes"
    ),
]

Replaces = Annotated[
    str | None,
    QueryParameter(
        description="For a day ahead: the file this one replaces, as the manager saw it when checking theirs: "
        "its `staged_at` as listed, or `none` when no file was kept for the day. A file kept or withdrawn since "
        "(another manager's) is not replaced: 409 `stale_version` naming what is kept now, and nothing is kept. "
        "Without it, whatever is kept for the day is replaced"
    ),
]

Check = Annotated[
    bool, QueryParameter(description="true: only check the file and say what importing it would do; nothing is stored")
]


KEPT = ResponseSpec(
    Summary,
    description="A later day's schedule, checked and kept: `books_at` says when it is "
    "booked; the counts say what it will do then.",
    generate_examples=False,
)


@post(
    "/{clinic:str}/schedule",
    status_code=200,
    request_max_body_size=MAX_SCHEDULE_BYTES,
    summary="Import the day's schedule: CSV (text/csv) or a FHIR R4 Bundle of Appointments "
    "(application/fhir+json) (managers)",
    description="The body is the file. Appointments are matched to today's visits by their external id: new "
    "ones are booked, changed times or providers update the visit (while it is still scheduled), "
    "cancelled ones cancel it; importing the same file again changes nothing. A file with any "
    "problem is refused whole (422, `errors` naming each CSV line or Bundle entry and the field) "
    "and nothing is stored; a stored import is stored whole. A later day's file is checked the same "
    "way and kept (202, `books_at` says when): it is booked when that day opens, and importing "
    "that day again replaces it (with `replaces`, only the file the manager saw: 409 `stale_version` if another "
    "was kept or it was withdrawn since). With `check=true` the file is checked and planned the same way "
    "but nothing is stored or kept: 422 lists every problem, 200 says what importing would do "
    "(`checked: true`). See README, Schedule import.",
    responses={**errors(400, 401, 403, 404, 409, 413, 422, 429, 503), 202: KEPT},
    opt={"act": Act.manage_schedule},
)
async def import_day(
    request: Request,
    runtime: NamedDependency[ClinicRuntime],
    who: NamedDependency[Caller],
    floors: NamedDependency[Floors],
    date: Date,
    check: Check = False,
    replaces: Replaces = None,
) -> Response[Summary]:
    try:
        body = await request.body()
    except RequestEntityTooLarge:
        # Litestar's words alone did not say the limit, nor what to leave out (a hostile review).
        raise RequestEntityTooLarge(
            detail=f"The schedule file is larger than {MAX_SCHEDULE_BYTES // (1024 * 1024)} MiB: send one clinic's "
            "day, and a FHIR Bundle without what Floor does not read (each Patient needs only its name and "
            "identifier)."
        ) from None
    over = _replaces(replaces)
    kind = format_of(request.headers.get("content-type"), body=body)
    if kind is None:
        raise Refusal(
            Why.invalid,
            "Send the schedule as text/csv, or as application/fhir+json (a FHIR R4 Bundle of Appointment resources).",
            field="Content-Type",
        )
    try:
        summary = await import_schedule(
            runtime, body, kind, date, who.person, who.device, who.role, floors.upcoming, check=check, replaces=over
        )
    except ScheduleRefused as refused:
        body_ = ErrorBody("invalid", str(refused), errors=refused.problems, error_count=refused.count)
        return Response(body_, status_code=422, media_type="application/json")  # type: ignore[return-value]
    status = 202 if summary.books_at and not check else 200
    return Response(summary, status_code=status, media_type="application/json")


def _replaces(text: str | None) -> upcoming_.Replaces:
    if text is None:
        return upcoming_.ANYTHING
    if text.strip().lower() == "none":
        return None
    try:
        at = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise Refusal(
            Why.invalid,
            "replaces: the `staged_at` of the kept file this one replaces, as listed (a date and time with its "
            "offset), or `none` when no file was kept for the day.",
            field="replaces",
        )
    return at


class UpcomingDays(Struct):
    days: list[UpcomingDay]


@get(
    "/{clinic:str}/schedule/upcoming",
    summary="Schedules imported for days ahead, waiting for their day (managers)",
    responses=errors(401, 403, 404, 503),
    opt={"act": Act.manage_schedule},
)
async def upcoming_days(runtime: NamedDependency[ClinicRuntime], floors: NamedDependency[Floors]) -> UpcomingDays:
    kept = [await floors.upcoming.get(runtime.id, day) for day in await floors.upcoming.days(runtime.id)]
    return UpcomingDays([UpcomingDay.of(s) for s in kept if s is not None])


@delete(
    "/{clinic:str}/schedule",
    status_code=204,
    summary="Withdraw the schedule kept for a day ahead (managers)",
    description="Visits already booked are not touched: only a day that has not opened yet has a schedule waiting.",
    responses=errors(400, 401, 403, 404, 409, 429, 503),
    opt={"act": Act.manage_schedule},
)
async def withdraw_day(
    runtime: NamedDependency[ClinicRuntime],
    floors: NamedDependency[Floors],
    who: NamedDependency[Caller],
    date: Date,
    kept_at: KeptAt = None,
) -> None:
    await withdraw_upcoming(runtime, floors.upcoming, date, who.person, who.device, kept_at)


def schedule_router(floors: Floors) -> Router:
    return clinic_routes(floors, [import_day, upcoming_days, withdraw_day], tag="clinics")
