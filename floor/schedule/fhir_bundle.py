"""The schedule as a FHIR R4 Bundle of Appointment resources, validated with `fhir.resources`.

Version: fhir.resources 8 models FHIR R5 at its top level and R4B in `fhir.resources.R4B`; the R4 models
live only in fhir.resources 6, which needs pydantic 1. R4B is R4 with a few resources outside scheduling
changed (medication definitions, subscriptions): Appointment, Patient, Practitioner, Location and Bundle
are R4's, so an R4 Bundle validates as R4B. The FHIR export uses the same models.

Mapping (README, "Schedule import"):
- external id: the Appointment's first `identifier.value`, else its `id`;
- status: `Appointment.status` (floor.core.schedule.STATUSES);
- time: `Appointment.start` (an instant, with its offset);
- provider: the first participant whose actor is a Practitioner; one of the clinic's provider ids is
  looked for among the Practitioner's `identifier` values, then its `id` (the resource's, or the id in a
  `Practitioner/<id>` reference that the Bundle does not carry);
- patient name: the participant Patient's `name` (official or usual first: `text`, else given and family
  names), else the participant's `actor.display`;
- visit type: the first code of `appointmentType.coding`, then of `serviceType[].coding`, that is one of
  the clinic's visit type codes;
- notes: `Appointment.comment`. Locations are accepted and not used: rooms are chosen on the floor.

References resolve to contained resources (`#id`), to Bundle entries by `fullUrl`, or by `Type/id`.
Problems name the Bundle entry (its index, and the resource's type and id) and the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.fhirresourcemodel import FHIRResourceModel
from pydantic import ValidationError

from floor.config import Clinic
from floor.core.schedule import Appointment, Problem, books_nothing


def _where(index: int, resource: dict[str, Any]) -> tuple[str, str | None]:
    kind, rid = resource.get("resourceType"), resource.get("id")
    name = f"{kind}/{rid}" if kind and rid else kind if isinstance(kind, str) else None
    return (f"entry {index} ({name})" if name else f"entry {index}"), name


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")


def read_bundle(body: bytes, clinic: Clinic, day: dt.date) -> tuple[list[Appointment], list[Problem]]:
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as e:
        return [], [Problem("file", f"not JSON: {e}")]
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        return [], [Problem("file", "expected a FHIR Bundle (resourceType \"Bundle\") of Appointment resources",
                            "resourceType")]
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        return [], [Problem("Bundle", "entry must be a list", "entry")]
    problems: list[Problem] = []
    # The Bundle's own fields first, then each resource on its own so that a problem names its entry.
    shell = {**data, "entry": [{k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
                               for e in entries]}
    try:
        Bundle.model_validate(shell)
    except ValidationError as e:
        problems += [_problem_at(err["loc"], err["msg"], entries) for err in e.errors()]
    resources: list[FHIRResourceModel | None] = []
    for i, entry in enumerate(entries):
        raw = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(raw, dict):
            problems.append(Problem(f"entry {i}", "the entry has no resource", "resource", entry=i))
            resources.append(None)
            continue
        where, name = _where(i, raw)
        try:
            model = get_fhir_model_class(str(raw.get("resourceType")))
        except (ValueError, KeyError):
            problems.append(Problem(where, f"unknown resourceType {raw.get('resourceType')!r}", "resourceType",
                                    entry=i, resource=name))
            resources.append(None)
            continue
        try:
            resources.append(model.model_validate(raw))
        except ValidationError as e:
            problems += [Problem(where, err["msg"], _field(err["loc"]), entry=i, resource=name) for err in e.errors()]
            resources.append(None)
    # Appointments that validated are mapped even when other entries did not, so one answer lists every
    # problem; a reference to an entry that did not validate resolves to None (its problem is listed).
    index: dict[str, FHIRResourceModel | None] = {}
    for entry, resource in zip(entries, resources, strict=True):
        raw = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(entry, dict) and isinstance(entry.get("fullUrl"), str):
            index[entry["fullUrl"]] = resource
        if isinstance(raw, dict) and raw.get("id"):
            index[f"{raw.get('resourceType')}/{raw.get('id')}"] = resource
    appointments = []
    for i, resource in enumerate(resources):
        if isinstance(resource, FhirAppointment):
            where, name = _where(i, entries[i]["resource"])
            found, trouble = _appointment(resource, i, where, name, index, clinic)
            appointments += found
            problems += trouble
    return appointments, problems


def _problem_at(loc: tuple[Any, ...], message: str, entries: list[Any]) -> Problem:
    if len(loc) >= 2 and loc[0] == "entry" and isinstance(loc[1], int):
        i = loc[1]
        raw = entries[i].get("resource", {}) if isinstance(entries[i], dict) else {}
        where, name = _where(i, raw if isinstance(raw, dict) else {})
        return Problem(where, message, _field(loc[2:]) or None, entry=i, resource=name)
    return Problem("Bundle", message, _field(loc) or None)


def _appointment(a: FhirAppointment, i: int, where: str, name: str | None,
                 index: dict[str, FHIRResourceModel | None], clinic: Clinic) -> tuple[list[Appointment], list[Problem]]:
    contained = {f"#{r.id}": r for r in a.contained or [] if r.id}

    def resolve(reference: str | None) -> FHIRResourceModel | None:
        return (contained.get(reference) or index.get(reference)) if reference else None

    def problem(message: str, field: str) -> Problem:
        return Problem(where, message, field, entry=i, resource=name)

    external_id = next((x.value for x in a.identifier or [] if x.value), None) or a.id or ""
    providers: list[str] = []
    patient_name = ""
    problems: list[Problem] = []
    for n, participant in enumerate(a.participant or []):
        actor = participant.actor
        if actor is None:
            continue
        reference = actor.reference or ""
        if reference in index and index[reference] is None:
            return [], []  # it refers to an entry that did not validate: that entry's problem says why
        target = resolve(reference)
        kind = target.get_resource_type() if target is not None else (actor.type or reference.split("/")[0])
        if kind == "Practitioner" and not providers:
            providers = _practitioner_ids(target, reference)
            if providers and not any(clinic.provider(p) for p in providers):
                known = ", ".join(p.id for p in clinic.providers)
                problems.append(problem(f"the Practitioner {reference} ({', '.join(providers)}) is none of this "
                                        f"clinic's providers ({known}): match an identifier value or its id",
                                        f"participant[{n}].actor"))
        elif kind == "Patient" and not patient_name:
            patient_name = _patient_name(target) or actor.display or ""
            if not patient_name:
                problems.append(problem("the patient has no name to show", f"participant[{n}].actor"))
    if not providers:
        problems.append(problem("no participant is a Practitioner", "participant"))
    provider = next((p for p in providers if clinic.provider(p) is not None), providers[0] if providers else "")
    codes = [c.code for concept in [a.appointmentType, *(a.serviceType or [])] if concept is not None
             for c in concept.coding or [] if c.code]
    visit_type = next((c for c in codes if clinic.visit_type(c) is not None), codes[0] if codes else "")
    if not codes:
        problems.append(problem("no appointmentType or serviceType code to match a visit type", "appointmentType"))
    start = a.start if isinstance(a.start, dt.datetime) else None
    if problems and not books_nothing(a.status or "", start):
        return [], problems
    return [Appointment(where, external_id, a.status or "", start, provider, visit_type, patient_name,
                        a.comment or "", entry=i, resource=name)], []


def _practitioner_ids(practitioner: FHIRResourceModel | None, reference: str) -> list[str]:
    """Candidate provider ids: the Practitioner's identifier values, then its id (lowercased: clinic ids are)."""
    if practitioner is None:
        _, _, rid = reference.rpartition("/")
        return [rid.lower()] if reference.startswith("Practitioner/") and rid else []
    ids = [x.value for x in getattr(practitioner, "identifier", None) or [] if x.value]
    if practitioner.id:
        ids.append(practitioner.id)
    return [i.lower() for i in ids]


def _patient_name(patient: FHIRResourceModel | None) -> str:
    names = list(getattr(patient, "name", None) or [])
    names.sort(key=lambda n: {"official": 0, "usual": 1}.get(n.use or "", 2))
    for n in names:
        if n.text:
            return n.text.strip()
        parts = [*(n.given or []), n.family or ""]
        if text := " ".join(p for p in parts if p).strip():
            return text
    return ""
