"""A clinic day given back in the health-care standard: each visit as a FHIR R4 `Encounter`, the day's measures
as a `MeasureReport`, and the measures as CSV for a spreadsheet. Pure: a day's events and the clinic in,
validated resources out (no I/O).

Resources are built with `fhir.resources` (its R4B models: FHIR 4.3, whose Encounter and MeasureReport are
R4's), so every resource leaving here has passed the library's validation.

The journey is the fold's (`floor.core.floor.Floor`): an undone step is gone from the visit's steps, so its
period is removed from `statusHistory` and the stage before it runs on, unbroken, until the next step that
stood. The undone tap itself stays in the log and in the audit trail (`/visits/{visit}/audit`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.measurereport import MeasureReport

from floor.config import Clinic
from floor.core.events import Event
from floor.core.floor import Floor, Visit
from floor.core.journey import ENDS, IN_ROOM, Stage
from floor.core.measures import ClinicMeasures, Durations, Measures, Share
from floor.days import fold_day

#: Floor's own code systems and extensions live under this URN (they name nothing outside Floor).
FLOOR = "urn:floor"
STAGE_EXTENSION = f"{FLOOR}:fhir:journey-stage"
END_EXTENSION = f"{FLOOR}:fhir:journey-end"
#: On a MeasureReport: what the clinic's booked times mean ("arrival" or "provider"), the yardstick of its
#: on-time starts and lateness (`[session] appointment_time`), so a reader comparing clinics can tell.
APPOINTMENT_TIME_EXTENSION = f"{FLOOR}:fhir:appointment-time"
MEASURE = f"{FLOOR}:measure:clinic-day"

#: Floor's stage → Encounter.status (R4's codes). Rooming and prep are the medical assistant's intake,
#: which FHIR calls triage. A no-show never began, so it is `cancelled`; a patient who left unseen had
#: arrived and is gone, so the encounter is `finished`: both carry the journey's end (END_EXTENSION).
STATUS: dict[Stage, str] = {
    Stage.scheduled: "planned",
    Stage.arrived: "arrived",
    Stage.roomed: "triaged",
    Stage.prep_done: "triaged",
    Stage.provider_in: "in-progress",
    Stage.teach_back_done: "in-progress",
    Stage.checked_out: "finished",
    Stage.cancelled: "cancelled",
    Stage.no_show: "cancelled",
    Stage.left_without_being_seen: "finished",
}
#: The ends whose status alone would not say what happened.
END_REASONS = {Stage.no_show: "No-show", Stage.left_without_being_seen: "Left without being seen"}
AMBULATORY = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"}
PRIMARY_PERFORMER = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
            "code": "PPRF",
            "display": "primary performer",
        }
    ]
}
UCUM = "http://unitsofmeasure.org"


def _when(at: dt.datetime) -> str:
    """A FHIR dateTime: its offset to the minute. A zone's old local mean time has seconds in its offset
    (Chicago's was -05:50:36 until 1883), which FHIR cannot write: such a time is given in UTC."""
    offset = at.utcoffset()
    if offset is not None and offset.seconds % 60:
        at = at.astimezone(dt.UTC)
    return at.isoformat()


def _fhir_id(*parts: object) -> str:
    """A FHIR id (letters, digits, - and ., at most 64): clinic ids may hold `_`."""
    return "-".join(str(p) for p in parts).replace("_", "-")[:64]


def _full_url(*parts: object) -> str:
    # Stable across exports of the same day, so a receiving system can tell a re-export from a new record.
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, ':'.join(map(str, (FLOOR, *parts))))}"


# -- encounters -------------------------------------------------------------------------------------


def stage_periods(visit: Visit) -> list[tuple[Stage, dt.datetime, dt.datetime | None]]:
    """The visit's journey as the fold leaves it: the stage it was booked at, then each step that stood,
    each lasting until the next. The last has no end unless the visit ended (then it is the end itself)."""
    first = Stage.arrived if visit.walk_in else Stage.scheduled
    booked = visit.times.get(first, visit.start)
    marks = [(first, booked), *((s.step, s.at) for s in visit.steps)]
    if visit.stage in ENDS and marks[-1][0] is not visit.stage and visit.stage in visit.times:
        # Ended by no step of its own: a walk-in booked by mistake and removed (`walk_in_removed`). Its end is in
        # the history, and the stage before it closes there (it was left open: a hostile review).
        marks.append((visit.stage, visit.times[visit.stage]))
    periods = []
    for i, (stage, start) in enumerate(marks):
        end = marks[i + 1][1] if i + 1 < len(marks) else (start if stage in ENDS else None)
        # A patient may come before their visit is booked (an add-on booked while they sat in the waiting room, their
        # arrival tapped "minutes ago"; or a no-show said of a time before the booking): the booking lasted nothing.
        # Its period ran backwards (FHIR's per-1: a validating server refused the Encounter; a review).
        periods.append((stage, min(start, end) if end is not None else start, end))
    return periods


def room_periods(visit: Visit) -> list[tuple[str, dt.datetime, dt.datetime | None]]:
    """(room, in, out or None) for each room the visit held, from its steps that stood."""
    held: list[tuple[str, dt.datetime, dt.datetime | None]] = []
    for step in visit.steps:
        if step.step is Stage.roomed and step.room is not None:
            held.append((step.room, step.at, None))
        elif held and held[-1][2] is None and step.step not in IN_ROOM:
            held[-1] = (held[-1][0], held[-1][1], step.at)
    return held


def _period(start: dt.datetime | None, end: dt.datetime | None) -> dict:
    period = {}
    if start is not None:
        period["start"] = _when(start)
    if end is not None:
        period["end"] = _when(end)
    return period


def _stage_extension(stage: Stage) -> list[dict]:
    return [{"url": STAGE_EXTENSION, "valueCode": stage.value}]


def _patient(patient_id: str | None) -> dict[str, Any]:
    """The patient as the schedule named them (floor.schedule.fhir_bundle._patient_id), for the EHR to match."""
    if not patient_id:
        return {}
    if patient_id.startswith("Patient/"):
        return {"reference": patient_id}
    system, _, value = patient_id.rpartition("|")
    if ":" in system and value:  # a FHIR identifier's system|value, as read from a Bundle
        return {"identifier": {"system": system, "value": value}}
    return {"identifier": {"value": patient_id}}  # a CSV's patient_id


def encounter(
    clinic: Clinic, day: dt.date, visit: Visit, closed: bool = False, floor: Floor | None = None
) -> Encounter:
    """One visit as an R4 Encounter, validated. `closed`: the day is over, so a visit still open (never
    checked out, or never marked a no-show) ended in a way Floor was not told: its status is `unknown`. `floor`:
    the day's, which names its rooms, providers and visit types as the day had them (set from the browser during it,
    maybe)."""
    provider = floor.provider_of(visit.provider) if floor is not None else clinic.provider(visit.provider)
    # As the day named it: a type added or taken out from the browser during it is in no clinic file.
    vtype = floor.visit_type_named(visit.visit_type) if floor is not None else clinic.visit_type(visit.visit_type)
    identifiers = [{"system": f"{FLOOR}:{clinic.id}:visit", "value": f"{day.isoformat()}/{visit.id}"}]
    # The schedule's own id (an imported visit's), so the EHR can match the encounter to its appointment.
    external = getattr(visit, "external_id", None)
    if external:
        # In the EHR's own namespace when the schedule gave it, so the EHR matches it without a mapping.
        system = getattr(visit, "external_system", None) or f"{FLOOR}:{clinic.id}:external-id"
        identifiers.append({"system": system, "value": str(external)})

    def status(stage: Stage) -> str:
        return "entered-in-error" if visit.entered_in_error and stage is Stage.cancelled else STATUS[stage]

    current = "unknown" if closed and visit.stage not in ENDS else status(visit.stage)

    history = [
        {"status": status(stage), "period": _period(start, end), "extension": _stage_extension(stage)}
        for stage, start, end in stage_periods(visit)
    ]
    participant = {
        "type": [PRIMARY_PERFORMER],
        "individual": {
            "identifier": {"system": f"{FLOOR}:{clinic.id}:provider", "value": visit.provider},
            "display": provider.name if provider else visit.provider,
        },
    }
    seen = visit.times.get(Stage.provider_in)
    if seen is not None:
        # With the provider: from provider-in to the teach-back (or the checkout without one), as measured.
        left = visit.provider_done
        participant["period"] = _period(seen, left)
    locations = []
    for room_id, came, went in room_periods(visit):
        room = clinic.room(room_id)
        label = floor.room_label(room_id) if floor is not None else (room.label if room else None)
        locations.append(
            {
                "location": {
                    "identifier": {"system": f"{FLOOR}:{clinic.id}:room", "value": room_id},
                    "display": label or room_id,
                },
                "status": "active" if went is None else "completed",
                "period": _period(came, went),
            }
        )
    # A visit's notes are for the team on the floor, not the record: they are not exported.
    resource: dict = {
        "resourceType": "Encounter",
        "id": _fhir_id(clinic.id, day.isoformat(), visit.id),
        "identifier": identifiers,
        "status": current,
        "statusHistory": history,
        "class": AMBULATORY,
        "type": [
            {
                "coding": [
                    {
                        "system": f"{FLOOR}:{clinic.id}:visit-type",
                        "code": visit.visit_type,
                        **({"display": vtype.label} if vtype else {}),
                    }
                ]
            }
        ],
        "subject": {"display": visit.patient_name, **_patient(getattr(visit, "patient_id", None))},
        "participant": [participant],
        "serviceProvider": {"display": clinic.name},
        "extension": _stage_extension(visit.stage),
    }
    if external:
        # Encounter.appointment, so an EHR matching encounters to its appointments finds the link where R4 puts it.
        resource["appointment"] = [{"type": "Appointment", "identifier": identifiers[-1]}]
    arrived = visit.times.get(Stage.arrived)
    if arrived is not None:
        ended = visit.times.get(visit.stage) if visit.stage in ENDS else None
        resource["period"] = _period(arrived, ended)
    if visit.stage in END_REASONS:
        resource["extension"].append(
            {
                "url": END_EXTENSION,
                "valueCodeableConcept": {
                    "coding": [{"system": f"{FLOOR}:journey-end", "code": visit.stage.value}],
                    "text": END_REASONS[visit.stage],
                },
            }
        )
    if locations:
        resource["location"] = locations
    return Encounter.model_validate(resource)


def encounters(clinic: Clinic, day: dt.date, events: list[Event], closed: bool = False) -> Bundle:
    """Every visit of the day, as a collection Bundle of Encounters (in booking order); `closed` for a day
    that is over."""
    floor = fold_day(clinic, day, events)
    entries = [
        {
            "fullUrl": _full_url(clinic.id, day.isoformat(), "visit", v.id),
            "resource": encounter(clinic, day, v, closed, floor),
        }
        for v in floor.visits.values()
    ]
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": _fhir_id(clinic.id, day.isoformat(), "encounters"),
            "type": "collection",
            "timestamp": _when(floor.last_at or clinic.local(day, dt.time())),
            "entry": entries,
        }
    )


# -- measures ---------------------------------------------------------------------------------------


#: The measures in the report, in order: (name, kind). Kinds: count, durations, share, minutes.
MEASURES: tuple[tuple[str, str], ...] = (
    ("booked", "count"),
    ("seen", "count"),
    ("checked_out", "count"),
    ("no_show", "count"),
    ("cancelled", "count"),
    ("left_without_being_seen", "count"),
    ("waiting", "count"),
    ("arrival_to_roomed", "durations"),
    ("roomed_to_provider", "durations"),
    ("arrival_to_provider", "durations"),
    ("time_with_provider", "durations"),
    ("cycle_time", "durations"),
    ("on_time_starts", "share"),
    ("teach_back_rate", "share"),
    ("no_show_rate", "share"),
    ("current_lateness", "minutes"),
    ("worst_lateness", "minutes"),
    ("alerts_raised", "count"),
    ("untapped_in", "count"),
)


def _code(name: str) -> dict:
    return {"coding": [{"system": f"{FLOOR}:measure", "code": name}], "text": name.replace("_", " ")}


def _quantity(value: float, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _population(code: str, count: int) -> dict:
    return {
        "code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/measure-population", "code": code}]},
        "count": count,
    }


def _scored(m: Measures, name: str, kind: str) -> list[tuple[str, dict]]:
    """(group code, the group's population and score) of one measure: durations give a median and a p90."""
    value = getattr(m, name)
    if kind == "durations":
        d: Durations = value
        pop = [_population("measure-population", d.count)]
        return [
            (
                f"{name}.{stat}",
                {"population": pop, **({"measureScore": _quantity(score, "min")} if score is not None else {})},
            )
            for stat, score in (("median", d.median), ("p90", d.p90))
        ]
    if kind == "share":
        s: Share = value
        part = {"population": [_population("denominator", s.count), _population("numerator", s.hits)]}
        if s.rate is not None:
            part["measureScore"] = _quantity(s.rate, "1")
        return [(name, part)]
    if kind == "minutes":
        return [(name, {"measureScore": _quantity(value, "min")})]
    return [(name, {"measureScore": _quantity(value, "{visits}" if name != "alerts_raised" else "{alerts}")})]


def measure_report(clinic: Clinic, day: dt.date, measures: ClinicMeasures, closed: bool = False) -> MeasureReport:
    """The day's measures as a summary MeasureReport: a group per measure (durations: one for the median, one
    for the p90, in minutes; shares: numerator, denominator and rate), each stratified by provider. Lateness
    and on-time starts are by the clinic's own plan; which one (what its booked times mean) is said in an
    extension (APPOINTMENT_TIME_EXTENSION). `closed` for a day that is over: `complete`; today's is `pending`,
    its session closed or not, as a tap can still change it (a patient still with the provider at the close was
    checked out after it, and the next day's report, the same id, said other figures; a review)."""
    groups = []
    for name, kind in MEASURES:
        by_provider = {pid: dict(_scored(m, name, kind)) for pid, m in measures.providers.items()}
        for code, part in _scored(measures.clinic, name, kind):
            strata = []
            for pid, parts in by_provider.items():
                provider = clinic.provider(pid)
                stratum = {
                    "value": {
                        "coding": [{"system": f"{FLOOR}:{clinic.id}:provider", "code": pid}],
                        "text": provider.name if provider else pid,
                    },
                    **parts[code],
                }
                strata.append(stratum)
            group = {"code": _code(code), **part}
            if strata:
                group["stratifier"] = [{"code": [_code("provider")], "stratum": strata}]
            groups.append(group)
    opens = clinic.local(day, dt.time())
    return MeasureReport.model_validate(
        {
            "resourceType": "MeasureReport",
            "id": _fhir_id(clinic.id, day.isoformat(), "measures"),
            "status": "complete" if closed else "pending",
            "type": "summary",
            "measure": MEASURE,
            "extension": [{"url": APPOINTMENT_TIME_EXTENSION, "valueCode": clinic.session.appointment_time.value}],
            "date": _when(measures.at),
            "reporter": {"display": clinic.name},
            "period": {
                "start": _when(opens),
                "end": _when(clinic.local(day + dt.timedelta(days=1), dt.time()) - dt.timedelta(seconds=1)),
            },
            "group": groups,
        }
    )


#: What a spreadsheet takes a cell starting with as a formula (and runs: `=HYPERLINK(...)`, `=cmd|...`).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(text: str) -> str:
    """A text cell a spreadsheet shows as written: one it would take as a formula is given a leading apostrophe
    (OWASP's CSV injection advice; the spreadsheet shows the text, not the apostrophe). Commas, quotes and line breaks
    are the csv module's to quote."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def measures_csv(clinic: Clinic, day: dt.date, measures: ClinicMeasures, closed: bool = False) -> str:
    """The same measures as CSV: one row per scope (the clinic, then each provider, by id and by name, as the page
    and the MeasureReport name them), one column per value. Each row says when the figures were taken (`as_of`, in
    the clinic's time with its offset) and, as the MeasureReport's status, whether the day can still change them
    (`pending`, today's) or not (`complete`, `closed`: a day gone by)."""
    columns: list[str] = []
    for name, kind in MEASURES:
        if kind == "durations":
            columns += [f"{name}_count", f"{name}_median", f"{name}_p90"]
        elif kind == "share":
            columns += [f"{name}_count", f"{name}_hits", f"{name}_rate"]
        else:
            columns.append(name)

    def row(m: Measures) -> list[object]:
        values: list[object] = []
        for name, kind in MEASURES:
            v = getattr(m, name)
            if kind == "durations":
                values += [v.count, v.median, v.p90]
            elif kind == "share":
                values += [v.count, v.hits, v.rate]
            else:
                values.append(v)
        return ["" if v is None else v for v in values]

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # The booked time's meaning, as the MeasureReport's extension says it: on-time starts and lateness are
    # measured by it, so two clinics' rows side by side in a spreadsheet can be told apart.
    convention = clinic.session.appointment_time.value
    # When, and whether final: a morning's download read as the day's figures beside the days gone by (a review).
    scope = [clinic.id, day.isoformat(), _when(measures.at.astimezone(clinic.tz)), "complete" if closed else "pending"]
    writer.writerow(["clinic", "day", "as_of", "status", "appointment_time", "provider", "provider_name", *columns])
    writer.writerow([*scope, convention, "", "", *row(measures.clinic)])
    for pid, m in measures.providers.items():
        provider = clinic.provider(pid)
        name = spreadsheet_text(provider.name) if provider else pid  # one the clinic file no longer has: its id
        writer.writerow([*scope, convention, pid, name, *row(m)])
    return out.getvalue()


def to_json(resource: Bundle | Encounter | MeasureReport) -> bytes:
    return resource.model_dump_json(exclude_none=True).encode()
