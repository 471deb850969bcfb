"""The schedule as a FHIR R4 Bundle of Appointment resources, validated with `fhir.resources`.

Version: fhir.resources 8 models FHIR R5 at its top level and R4B in `fhir.resources.R4B`; the R4 models
live only in fhir.resources 6, which needs pydantic 1. R4B is R4 with a few resources outside scheduling
changed (medication definitions, subscriptions): Appointment, Patient, Practitioner, PractitionerRole,
Location and Bundle are R4's, so an R4 Bundle validates as R4B. The FHIR export uses the same models.

Mapping (README, "Schedule import"):
- external id: the Appointment's first `identifier.value`, else its `id`;
- status: `Appointment.status` (floor.core.schedule.STATUSES);
- time: `Appointment.start` (an instant, with its offset);
- provider: among the participants that are a Practitioner (or a PractitionerRole, through its
  `practitioner`) and have not declined (on a cancelled appointment or a no-show, declined ones too, last),
  one that is a clinic provider: an attender (ATND), then a primary (PPRF), then a secondary performer
  (SPRF), then the first other. A Practitioner matches by
  one of its `identifier` values, then its `id` (the resource's, or the id in a reference the Bundle does
  not carry, or a logical reference's `identifier.value`);
- patient name: the participant Patient's current `name` (official, usual, then one without a use, then
  the rest, maiden last; `old` ones and those not in effect at the start are never shown: `text`, else given and
  family names), else the participant's `actor.display`;
- visit type: the first code of `appointmentType.coding`, then of `serviceType[].coding`, that is one of
  the clinic's visit type codes;
- notes: `Appointment.comment`. Locations are accepted and not used: rooms are chosen on the floor;
- a `modifierExtension` on the Appointment or a participant refuses it: Floor knows none.

References are read as FHIR writes them: `#id` (a contained resource), a `urn:uuid:`/`urn:oid:` or other
`fullUrl` of an entry, or `[base URL/]Type/id[/_history/version]`, which resolves to the entry with that
`fullUrl`, else to the entry whose resource is `Type/id` (the version is not part of the id).
Problems name the Bundle entry (its index, and the resource's type and id) and the field.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import msgspec
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.appointment import AppointmentParticipant
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.fhirresourcemodel import FHIRResourceModel
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.reference import Reference
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from floor.config import Clinic
from floor.core.schedule import STATUSES, Appointment, Intent, Problem, books_nothing

_BOM = b"\xef\xbb\xbf"  # Windows tools write it; it is not JSON
#: A literal reference (FHIR R4 3.1.3.1): an optional base URL, the type and id, an optional version.
_LITERAL = re.compile(
    r"(?P<base>https?://\S+?/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/[A-Za-z0-9\-.]{1,64})?"
)
#: Participant types (v3 ParticipationType) of whoever sees the patient, most likely first.
_PERFORMERS = ("ATND", "PPRF", "SPRF")
#: HumanName.use, best first; `old` names are never shown.
_NAME_USES: tuple[str | None, ...] = ("official", "usual", None, "nickname", "temp", "anonymous", "maiden")
_NESTED = "nested deeper than any schedule needs"

M = TypeVar("M", bound=BaseModel)
Resolve = Callable[[str | None], FHIRResourceModel | None]


class _InvalidEntry(Exception):
    """A reference to an entry that did not validate: that entry's problem already says why."""


#: A resource id longer than FHIR allows (64) is shown cut to this, so a refusal does not echo a huge one back.
_SHOWN_ID = 64


def _where(index: int, resource: dict[str, Any]) -> tuple[str, str | None]:
    kind, rid = resource.get("resourceType"), resource.get("id")
    if isinstance(rid, str) and len(rid) > _SHOWN_ID:
        rid = rid[:_SHOWN_ID] + "…"
    name = f"{kind}/{rid}" if kind and rid else kind if isinstance(kind, str) else None
    return (f"entry {index} ({name})" if name else f"entry {index}"), name


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")


def read_bundle(body: bytes, clinic: Clinic, day: dt.date) -> tuple[list[Appointment], list[Problem]]:
    try:
        data = msgspec.json.decode(body.removeprefix(_BOM))
    except msgspec.DecodeError as e:
        return [], [Problem("file", f"not JSON: {e}")]
    except RecursionError:
        return [], [Problem("file", f"not read: the JSON is {_NESTED}")]
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        return [], [
            Problem("file", 'expected a FHIR Bundle (resourceType "Bundle") of Appointment resources', "resourceType")
        ]
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        return [], [Problem("Bundle", "entry must be a list", "entry")]
    problems: list[Problem] = _partial(data, entries) + _not_a_schedule(entries)
    # The Bundle's own fields first, then each resource on its own so that a problem names its entry.
    shell = {
        **data,
        "entry": [{k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e for e in entries],
    }
    _, errors = _validate(Bundle, shell, clinic, day)
    problems += [_problem_at(loc, message, entries) for loc, message in errors]
    resources: list[FHIRResourceModel | None] = []
    for i, entry in enumerate(entries):
        raw = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(raw, dict):
            problems.append(Problem(f"entry {i}", "the entry has no resource", "resource", entry=i))
            resources.append(None)
            continue
        where, name = _where(i, raw)
        model = _is_resource(raw.get("resourceType"))
        if model is None:
            problems.append(
                Problem(
                    where, f"unknown resourceType {raw.get('resourceType')!r}", "resourceType", entry=i, resource=name
                )
            )
            resources.append(None)
            continue
        resource, errors = _validate(model, raw, clinic, day)
        problems += [Problem(where, message, _field(loc) or None, entry=i, resource=name) for loc, message in errors]
        resources.append(resource)
    # Appointments that validated are mapped even when other entries did not, so one answer lists every
    # problem; a reference to an entry that did not validate resolves to None (its problem is listed).
    index: dict[str, FHIRResourceModel | None] = {}
    for entry, resource in zip(entries, resources, strict=True):
        raw = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(entry, dict) and isinstance(entry.get("fullUrl"), str):
            index[entry["fullUrl"]] = resource
        if isinstance(raw, dict) and raw.get("id"):
            index.setdefault(f"{raw.get('resourceType')}/{raw.get('id')}", resource)
    appointments = []
    for i, resource in enumerate(resources):
        if isinstance(resource, FhirAppointment):
            where, name = _where(i, entries[i]["resource"])
            found, trouble = _appointment(resource, i, where, name, index, clinic)
            appointments += found
            problems += trouble
    return appointments, problems


def _partial(data: dict[str, Any], entries: list[Any]) -> list[Problem]:
    """Why the Bundle is not the whole day, if it is not: a page of a search whose next page was not followed, a
    search that says it matched more than it holds, or one that failed (an OperationOutcome with an error). Each
    had been taken as the day's whole schedule, and a day kept ahead replaced by a part of it (a review)."""
    problems: list[Problem] = []
    links = data.get("link") if isinstance(data.get("link"), list) else []
    if any(isinstance(link, dict) and link.get("relation") == "next" for link in links):
        problems.append(
            Problem("Bundle", "a page of a search, its next page not followed: send every page in one Bundle", "link")
        )
    total = data.get("total")
    matched = sum(
        1
        for e in entries
        if isinstance(e, dict)
        and isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType") == "Appointment"
        and (not isinstance(e.get("search"), dict) or e["search"].get("mode", "match") == "match")
    )
    if isinstance(total, int) and total > matched:
        problems.append(
            Problem("Bundle", f"the search matched {total} appointments, and this Bundle holds {matched}", "total")
        )
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "OperationOutcome":
            continue
        issues = resource.get("issue") if isinstance(resource.get("issue"), list) else []
        failed = [x for x in issues if isinstance(x, dict) and x.get("severity") in ("error", "fatal")]
        if failed:
            said = "; ".join(str(x.get("diagnostics") or x.get("code") or "?") for x in failed)[:200]
            problems.append(
                Problem(f"entry {i}", f"the search failed (OperationOutcome: {said}): send it again", "issue", entry=i)
            )
    return problems


def _not_a_schedule(entries: list[Any]) -> list[Problem]:
    """Why a Bundle of other resources is no schedule: one holding no Appointment and something else (Floor's own
    Encounter export sent back, a Bundle of Patients) was taken for a day with nobody booked, answered "nothing to
    change", and for a day ahead it replaced the file kept for that day (a hostile review). A Bundle with nothing
    in it (or only a search's notes) is a day with nobody booked."""
    kinds = Counter(
        kind
        for e in entries
        if isinstance(e, dict)
        and isinstance(e.get("resource"), dict)
        and isinstance(kind := e["resource"].get("resourceType"), str)
        and kind != "OperationOutcome"
    )
    if not kinds or "Appointment" in kinds:
        return []
    held = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common(3)) + (" and more" if len(kinds) > 3 else "")
    return [
        Problem("Bundle", f"the Bundle holds no Appointment ({held}): a schedule is a Bundle of Appointments", "entry")
    ]


def _validate(
    model: type[M], raw: dict[str, Any], clinic: Clinic, day: dt.date
) -> tuple[M | None, list[tuple[tuple[Any, ...], str]]]:
    """The model, or where and why it is not one."""
    try:
        return model.model_validate(raw), []
    except ValidationError as e:
        return None, [(err["loc"], _message(err, clinic, day)) for err in e.errors()]
    except RecursionError:  # the models recurse once per level: a file can nest deeper than the stack
        return None, [((max(raw, key=lambda k: _depth(raw[k])),) if raw else (), _NESTED)]
    except (KeyError, TypeError):
        # fhir.resources raises these, not a ValidationError, for a contained resource of no known type.
        contained = raw.get("contained")
        for n, inner in enumerate(contained if isinstance(contained, list) else []):
            kind = inner.get("resourceType") if isinstance(inner, dict) else None
            if _is_resource(kind) is None:
                return None, [(("contained", n, "resourceType"), f"unknown resourceType {kind!r}")]
        return None, [((), "a resource inside it is of no type this server knows")]


def _message(error: ErrorDetails, clinic: Clinic, day: dt.date) -> str:
    """The library's message, or a plainer one for a time the library cannot read."""
    message, value = error["msg"], error.get("input")
    what = next((str(p) for p in reversed(error["loc"]) if isinstance(p, str)), "time")
    if not isinstance(value, str) or "value string does not match spec regex" not in message:
        return message
    try:
        naive = dt.datetime.fromisoformat(value) if "T" in value else None
    except ValueError:
        naive = None
    if naive is not None and naive.tzinfo is None:
        # Which zone the EHR meant is a guess: the clinic's, in the example only.
        return f"the {what} {value} needs its UTC offset, e.g. {naive.replace(tzinfo=clinic.tz).isoformat()}"
    if naive is not None or (naive := _aware(value)) is not None:
        # A time with its offset, written another way (no seconds, -0600, a space for the T): said as FHIR writes
        # it, not "not a date and time with its UTC offset" (a hostile review).
        form = "a T, seconds, the offset as ±hh:mm"
        return f"the {what} {value} is not written as FHIR writes a time ({form}): {naive.isoformat()}"
    if "Instant" in message:
        example = clinic.local(day, dt.time(8)).isoformat()
        return f"{value!r} is not a date and time with its UTC offset, e.g. {example}"
    if "DateTime" in message:
        return f"{value!r} is not a date, or a date and time with its UTC offset"
    return message


def _aware(value: str) -> dt.datetime | None:
    """`value` read as a date and time with its offset however it is written (a space for the T), or None."""
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _is_resource(kind: Any) -> type[FHIRResourceModel] | None:
    """The model of a resource type. The library also has models of data types (HumanName) and of the
    abstract Resource: those are not resources a Bundle can carry."""
    try:
        model = get_fhir_model_class(kind) if isinstance(kind, str) else None
    except (ValueError, KeyError):
        return None
    if model is None or not issubclass(model, FHIRResourceModel) or model.__name__ in ("Resource", "DomainResource"):
        return None
    return model


def _depth(value: Any) -> int:
    """How deep a JSON value nests (without recursing: it is called for values too deep to recurse into)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _problem_at(loc: tuple[Any, ...], message: str, entries: list[Any]) -> Problem:
    if len(loc) >= 2 and loc[0] == "entry" and isinstance(loc[1], int):
        i = loc[1]
        raw = entries[i].get("resource", {}) if isinstance(entries[i], dict) else {}
        where, name = _where(i, raw if isinstance(raw, dict) else {})
        return Problem(where, message, _field(loc[2:]) or None, entry=i, resource=name)
    return Problem("Bundle", message, _field(loc) or None)


def _resolver(container: FHIRResourceModel, index: dict[str, FHIRResourceModel | None]) -> Resolve:
    """References made from inside `container`: `#id` names one of its contained resources."""
    contained = {r.id: r for r in getattr(container, "contained", None) or [] if r.id}

    def resolve(reference: str | None) -> FHIRResourceModel | None:
        if not reference:
            return None
        if reference.startswith("#"):
            return contained.get(reference[1:])
        keys = [reference]
        if literal := _LITERAL.fullmatch(reference):
            # An EHR may refer to its own server's URL for an entry the Bundle lists under a urn:uuid.
            keys += [f"{literal['base'] or ''}{literal['type']}/{literal['id']}", f"{literal['type']}/{literal['id']}"]
        for key in keys:
            if key in index:
                if index[key] is None:
                    raise _InvalidEntry(reference)
                return index[key]
        return None

    return resolve


class _Practitioner(NamedTuple):
    """A Practitioner participant, and the clinic provider it is, if any."""

    n: int
    label: str
    ids: list[str]
    provider: str | None
    declined: bool
    rank: int


def _appointment(
    a: FhirAppointment, i: int, where: str, name: str | None, index: dict[str, FHIRResourceModel | None], clinic: Clinic
) -> tuple[list[Appointment], list[Problem]]:
    resolve = _resolver(a, index)

    def problem(message: str, field: str) -> Problem:
        return Problem(where, message, field, entry=i, resource=name)

    # FHIR R4 (2.4.4): an extension that changes what the resource means (a hold, a tentative slot, "not a
    # booking") SHALL be understood or the resource refused. Floor knows none: booked as plain, it was a visit
    # the EHR never meant (a hostile review). Refused whatever the status: it may change a cancellation too.
    unknown = [
        problem(f"an extension Floor does not know changes what {what} means ({_urls(extensions)}): not taken", field)
        for extensions, what, field in [
            (a.modifierExtension, "the appointment", "modifierExtension"),
            *(
                (p.modifierExtension, "the participant", f"participant[{n}].modifierExtension")
                for n, p in enumerate(a.participant or [])
            ),
        ]
        if extensions
    ]
    identifier = next((x for x in a.identifier or [] if x.value), None)
    external_id = identifier.value if identifier else a.id or ""
    external_system = identifier.system if identifier else None
    start = a.start if isinstance(a.start, dt.datetime) else None
    practitioners: list[_Practitioner] = []
    patient_name = ""
    patient_id: str | None = None
    problems: list[Problem] = []
    patient_seen = False
    untyped: list[int] = []  # participants whose actor says not what it is (by identifier or display alone)
    try:
        for n, participant in enumerate(a.participant or []):
            actor = participant.actor
            if actor is None:
                continue
            target = resolve(actor.reference)
            kind = target.get_resource_type() if target is not None else actor.type or _literal_type(actor.reference)
            if kind is None and actor.reference is None and actor.identifier is not None and _performs(participant):
                # A logical reference by identifier alone, its `type` left out (optional in R4, and often left
                # out): the attender, by the participant's role, is a practitioner (a review).
                kind = "Practitioner"
            if kind in ("Practitioner", "PractitionerRole"):
                practitioners.append(_practitioner(n, participant, actor, kind, target, resolve, index, clinic))
            elif kind is None:
                untyped.append(n)
            elif kind == "Patient" and not patient_seen:
                patient_seen = True
                try:
                    at = start.astimezone(clinic.tz) if start else None
                except OverflowError:  # a placeholder year (9999): the start is refused below, not a 500
                    at = None
                patient_name = _patient_name(target, at) or actor.display or ""
                patient_id = _patient_id(target, actor)
                if not patient_name:
                    problems.append(problem("the patient has no name to show", f"participant[{n}].actor"))
    except _InvalidEntry:
        return [], unknown
    if not patient_seen:
        # Not the check's "display name missing" (a field no Bundle has): which participant, and what it lacks.
        problems.append(
            problem(
                "no participant is a Patient; this one does not say what it is (if it is the patient, give its "
                'actor "type": "Patient")',
                f"participant[{untyped[0]}].actor",
            )
            if untyped
            else problem("no participant is a Patient", "participant")
        )
    # A practitioner who declined does not see the patient. A cancelled appointment's often all have, and
    # its provider only has to be the clinic's: they still name it.
    ended = STATUSES.get(a.status or "") in (Intent.cancel, Intent.no_show)
    present = [p for p in practitioners if ended or not p.declined]
    chosen = min((p for p in present if p.provider), key=lambda p: (p.declined, p.rank, p.n), default=None)
    if chosen is None:
        known = ", ".join(p.id for p in clinic.providers)
        seen = "; ".join(f"{p.label} ({', '.join(p.ids) or 'no id'})" for p in present)
        if practitioners and not present:
            problems.append(
                problem(
                    f"every Practitioner declined ({', '.join(p.label for p in practitioners)}): "
                    "no one is there to see the patient",
                    "participant",
                )
            )
        elif not present:
            problems.append(problem("no participant is a Practitioner", "participant"))
        elif len(present) == 1:
            problems.append(
                problem(
                    f"the Practitioner {seen} is none of this clinic's providers ({known}): match "
                    "an identifier value or its id",
                    f"participant[{present[0].n}].actor",
                )
            )
        else:
            problems.append(
                problem(
                    f"none of the Practitioners {seen} is one of this clinic's providers ({known}): "
                    "match an identifier value or its id",
                    "participant",
                )
            )
    provider = chosen.provider if chosen else next((i for p in present for i in p.ids), "")
    codes = [
        c.code
        for concept in [a.appointmentType, *(a.serviceType or [])]
        if concept is not None
        for c in concept.coding or []
        if c.code
    ]
    # The clinic's codes are lower case; an EHR's may not be ("NEW"), as CSV files' and practitioner ids may not.
    visit_type = next((c.lower() for c in codes if clinic.visit_type(c.lower()) is not None), codes[0] if codes else "")
    if not codes:
        problems.append(problem("no appointmentType or serviceType code to match a visit type", "appointmentType"))
    if books_nothing(a.status or ""):
        problems = []  # its provider, visit type and patient are not checked (floor.core.schedule.books_nothing)
    if unknown or problems:
        return [], unknown + problems
    return [
        Appointment(
            where,
            external_id,
            a.status or "",
            start,
            provider or "",
            visit_type,
            patient_name,
            a.comment or "",
            entry=i,
            resource=name,
            external_system=external_system,
            patient_id=patient_id,
        )
    ], []


def _urls(extensions: list[Extension]) -> str:
    """The extensions' urls, a few and each cut short: a refusal does not echo a huge file back."""
    urls = [x.url or "no url" for x in extensions[:3]]
    shown = [url if len(url) <= _SHOWN_URL else url[:_SHOWN_URL] + "…" for url in urls]
    return ", ".join(shown) + (f" and {len(extensions) - 3} more" if len(extensions) > 3 else "")


#: An extension's url is shown cut to this.
_SHOWN_URL = 120


def _patient_id(patient: FHIRResourceModel | None, actor: Reference) -> str | None:
    """The patient as the EHR knows them across files: an identifier (an MRN first), else a reference to the
    Patient resource by its id. Not a `urn:uuid:` reference, which names a resource within one Bundle only."""
    identifiers = [*(getattr(patient, "identifier", None) or []), *([actor.identifier] if actor.identifier else [])]
    usable = [i for i in identifiers if i.value]
    medical = [i for i in usable if any(c.code == "MR" for c in (i.type.coding or [] if i.type else []))]
    if chosen := (medical or usable)[:1]:
        return f"{chosen[0].system}|{chosen[0].value}" if chosen[0].system else chosen[0].value
    reference = actor.reference or ""
    if reference.startswith("#"):
        return None  # a contained resource's id is the Appointment's own
    if patient is not None and getattr(patient, "id", None):
        return f"Patient/{patient.id}"
    if reference.startswith("urn:") or "Patient/" not in reference:
        return None
    return "Patient/" + reference.rsplit("Patient/", 1)[1].split("/_history", 1)[0]


def _performs(participant: AppointmentParticipant) -> bool:
    """Whether the participant's role is a performer's (attender, primary or secondary performer)."""
    return any(c.code in _PERFORMERS for concept in participant.type or [] for c in concept.coding or [])


def _literal_type(reference: str | None) -> str | None:
    literal = _LITERAL.fullmatch(reference or "")
    return literal["type"] if literal else None


def _practitioner(
    n: int,
    participant: AppointmentParticipant,
    actor: Reference,
    kind: str,
    target: FHIRResourceModel | None,
    resolve: Resolve,
    index: dict[str, FHIRResourceModel | None],
    clinic: Clinic,
) -> _Practitioner:
    label = actor.reference or (f"identifier {actor.identifier.value}" if actor.identifier else actor.display) or "?"
    who: Reference | None = actor
    if kind == "PractitionerRole":
        # `#` references in a contained role are to the Appointment's contained resources: FHIR does not nest them.
        within = resolve if target is None or label.startswith("#") else _resolver(target, index)
        who = getattr(target, "practitioner", None)
        target = within(who.reference) if who is not None else None
        if target is not None and target.get_resource_type() != "Practitioner":
            target = None
    ids = _practitioner_ids(target, who) if who is not None else []
    codes = [c.code for concept in participant.type or [] for c in concept.coding or [] if c.code]
    rank = min((_PERFORMERS.index(c) for c in codes if c in _PERFORMERS), default=len(_PERFORMERS))
    return _Practitioner(
        n, label, ids, next((i for i in ids if clinic.provider(i)), None), participant.status == "declined", rank
    )


def _practitioner_ids(practitioner: FHIRResourceModel | None, reference: Reference) -> list[str]:
    """Candidate provider ids (lowercased: clinic ids are): the Practitioner's identifier values, then its id;
    for one the Bundle does not carry, the id in its reference; a logical reference's identifier value."""
    if practitioner is not None:
        ids = [x.value for x in getattr(practitioner, "identifier", None) or [] if x.value]
        ids += [practitioner.id] if practitioner.id else []
    else:
        literal = _LITERAL.fullmatch(reference.reference or "")
        ids = [literal["id"]] if literal and literal["type"] == "Practitioner" else []
    if reference.identifier is not None and reference.identifier.value:
        ids.append(reference.identifier.value)
    return [i.lower() for i in ids]


def _patient_name(patient: FHIRResourceModel | None, at: dt.datetime | None) -> str:
    names = [n for n in getattr(patient, "name", None) or [] if n.use != "old" and _in_effect(n.period, at)]
    names.sort(key=lambda n: _NAME_USES.index(n.use) if n.use in _NAME_USES else len(_NAME_USES))
    for n in names:
        if n.text:
            return n.text.strip()
        parts = [*(n.given or []), n.family or ""]
        if text := " ".join(p for p in parts if p).strip():
            return text
    return ""


def _in_effect(period: Period | None, at: dt.datetime | None) -> bool:
    if period is None or at is None:
        return True
    begun = period.start is None or operator.le(*_comparable(period.start, at))
    ended = period.end is not None and operator.lt(*_comparable(period.end, at))
    return begun and not ended


def _comparable(bound: Any, at: dt.datetime) -> tuple[Any, Any]:
    """A period's bound and `at`, to the bound's precision: FHIR gives it as an instant, a date, or a partial
    date (`2020`, `2020-05`, kept as text by the library)."""
    if isinstance(bound, dt.datetime):
        return (bound if bound.tzinfo else bound.replace(tzinfo=at.tzinfo)), at
    if isinstance(bound, dt.date):
        return bound, at.date()
    return str(bound), at.isoformat()[: len(str(bound))]
