"""Schedule import over HTTP: a manager posts the day's schedule file (CSV or a FHIR R4 Bundle) as the body."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Request, Response, Router, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from floor.bootstrap import Floors
from floor.core.errors import Refusal, Why
from floor.core.schedule import ScheduleRefused, Summary
from floor.runtime import ClinicRuntime
from floor.schedule import format_of, import_schedule
from floor.sessions import Caller
from floor.web.auth import managers_only
from floor.web.errors import errors
from floor.web.http import clinic_routes
from floor.wire import ErrorBody

#: A day's FHIR Bundle with its Patient and Practitioner entries runs to a few hundred KiB for a busy clinic,
#: more than the 64 KiB every other request may carry.
MAX_SCHEDULE_BYTES = 4 * 1024 * 1024

Date = Annotated[dt.date, QueryParameter(description="The clinic day the schedule is for, YYYY-MM-DD: today "
                                                     "(a past day is read-only; a future day is not open yet)")]


@post("/{clinic:str}/schedule", status_code=200, request_max_body_size=MAX_SCHEDULE_BYTES,
      summary="Import the day's schedule: CSV (text/csv) or a FHIR R4 Bundle of Appointments "
              "(application/fhir+json) (managers)",
      description="The body is the file. Appointments are matched to today's visits by their external id: new "
                  "ones are booked, changed times or providers update the visit (while it is still scheduled), "
                  "cancelled ones cancel it; importing the same file again changes nothing. A file with any "
                  "problem is refused whole (422, `errors` naming each CSV line or Bundle entry and the field) "
                  "and nothing is stored. See README, Schedule import.",
      responses=errors(400, 401, 403, 404, 422, 429, 503), guards=[managers_only],
      opt={"does": "import the schedule"})
async def import_day(request: Request, runtime: NamedDependency[ClinicRuntime], who: NamedDependency[Caller],
                     date: Date) -> Response[Summary]:
    body = await request.body()
    kind = format_of(request.headers.get("content-type"), body=body)
    if kind is None:
        raise Refusal(Why.invalid, "Send the schedule as text/csv, or as application/fhir+json (a FHIR R4 Bundle "
                      "of Appointment resources).", field="Content-Type")
    try:
        summary = await import_schedule(runtime, body, kind, date, who.person, who.device, who.role)
    except ScheduleRefused as refused:
        body_ = ErrorBody("invalid", str(refused), errors=refused.problems)
        return Response(body_, status_code=422, media_type="application/json")  # type: ignore[return-value]
    return Response(summary, status_code=200, media_type="application/json")


def schedule_router(floors: Floors) -> Router:
    return clinic_routes(floors, [import_day], tag="clinics")
