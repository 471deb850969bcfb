"""Export routes (managers): a clinic day's visits as a FHIR Bundle of Encounters, its measures as a
FHIR MeasureReport or CSV. Today's so far, or any past day the log still keeps (`?day=`)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from litestar import Response, Router, get
from litestar.params import QueryParameter

from floor.core.access import Act
from floor.floors import Floors
from floor.web.errors import errors
from floor.web.http import Day, Runtime, clinic_routes

#: The FHIR media type for JSON (what FHIR servers and clients send and expect).
FHIR_JSON = "application/fhir+json"


@get(
    "/{clinic:str}/export/encounters",
    media_type=FHIR_JSON,
    summary="A day's visits as a FHIR R4 Bundle (collection) of Encounters: status, status history, rooms "
    "and the provider follow each journey (managers)",
    responses=errors(400, 401, 403, 404, 422),
    opt={"act": Act.export_records},
)
async def export_encounters(runtime: Runtime, day: Day = None) -> Response[bytes]:
    from floor import export  # FHIR models take half a second to import: only when someone exports

    on, events = await runtime.day_events(day)
    clinic = await runtime.clinic_on(on)  # a past day by the clinic file it ran on
    # Building and validating a few hundred resources is CPU work: off the loop that serves the taps.
    closed = on < runtime.floor.day
    body = await asyncio.to_thread(lambda: export.to_json(export.encounters(clinic, on, events, closed)))
    return Response(body, media_type=FHIR_JSON)


@get(
    "/{clinic:str}/export/measures",
    media_type=FHIR_JSON,
    summary="A day's measures as a FHIR R4 MeasureReport (or `format=csv`): today's so far, a past day's as "
    "it closed (managers)",
    responses=errors(400, 401, 403, 404, 422),
    opt={"act": Act.export_records},
)
async def export_measures(
    runtime: Runtime,
    day: Day = None,
    format: Annotated[
        Literal["fhir", "csv"], QueryParameter(description="fhir (a MeasureReport, the default) or csv")
    ] = "fhir",
) -> Response[bytes]:
    from floor import export

    measures = await runtime.measures_on(day)
    on = day or runtime.floor.day
    clinic = await runtime.clinic_on(on)  # a past day by the clinic file it ran on
    closed = on < runtime.floor.day
    if format == "csv":
        return Response(
            export.measures_csv(clinic, on, measures, closed).encode(),
            media_type="text/csv",  # Litestar adds "; charset=utf-8" to a text type
            headers={"Content-Disposition": f'attachment; filename="{clinic.id}-{on}-measures.csv"'},
        )
    body = await asyncio.to_thread(lambda: export.to_json(export.measure_report(clinic, on, measures, closed)))
    return Response(body, media_type=FHIR_JSON)


def export_router(floors: Floors) -> Router:
    return clinic_routes(floors, [export_encounters, export_measures], tag="export")


__all__ = ["export_router"]
