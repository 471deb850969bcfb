"""FHIR schedule import at the edges of the spec: references in every form FHIR allows, a choice among several
practitioners, a patient's many names, and files that are awkward to read (a byte-order mark, nesting no
Bundle needs, a start without its offset). Each is booked as the team would expect, or refused with a
problem naming the entry and field, never an error of the server."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from floor.config import demo_clinic
from floor.core.schedule import Appointment, ScheduleRefused
from floor.schedule import Format, read
from floor.schedule.fhir_bundle import read_bundle

CLINIC = demo_clinic()  # providers kim, okafor, silva, hart
DAY = dt.date(2026, 11, 23)
KIM = {  # the EHR's Practitioner for Dr. Kim: the clinic's id is among its identifiers, not its id
    "resourceType": "Practitioner",
    "id": "pr-4471",
    "identifier": [
        {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"},
        {"system": "https://riverside.example.org/floor-provider", "value": "kim"},
    ],
}


def _actor(reference: str, status: str = "accepted", kind: str | None = None, **actor: Any) -> dict[str, Any]:
    participant: dict[str, Any] = {"actor": {"reference": reference, **actor}, "status": status}
    if kind:
        participant["type"] = [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": kind}]}
        ]
    return participant


def _appointment(*participants: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": "ap-1",
        "identifier": [{"value": "EHR-1"}],
        "status": "booked",
        "appointmentType": {"coding": [{"code": "new"}]},
        "start": "2026-11-23T08:00:00-06:00",
        "participant": [_actor("Patient/pt-1", display="Ann Lee"), *participants],
        **fields,
    }


def _bundle(appointment: dict[str, Any], *entries: dict[str, Any]) -> bytes:
    """The appointment last, after the entries (each a resource, or an entry with its fullUrl)."""
    listed = [e if "resource" in e else {"resource": e} for e in entries]
    return json.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": [*listed, {"resource": appointment}]}
    ).encode()


def _read(body: bytes) -> Appointment:
    [appointment] = read(body, Format.fhir, CLINIC, DAY)
    return appointment


def _refused(body: bytes) -> dict[str | None, str]:
    with pytest.raises(ScheduleRefused) as refused:
        read(body, Format.fhir, CLINIC, DAY)
    return {p.field: p.message for p in refused.value.problems}


# -- references ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    [
        "https://ehr.example.org/fhir/Practitioner/kim",  # absolute, not in the Bundle: matched by its id
        "Practitioner/kim/_history/3",  # versioned
        "https://ehr.example.org/fhir/Practitioner/kim/_history/3",
    ],
)
def test_a_practitioner_not_in_the_bundle_is_matched_by_the_id_in_any_form_of_its_reference(reference: str) -> None:
    assert _read(_bundle(_appointment(_actor(reference)))).provider == "kim"


@pytest.mark.parametrize(
    ("reference", "full_url"),
    [
        ("Practitioner/pr-4471/_history/3", None),  # the version is not part of the id
        (
            "https://ehr.example.org/fhir/Practitioner/pr-4471/_history/3",
            "https://ehr.example.org/fhir/Practitioner/pr-4471",
        ),
        ("https://elsewhere.example.org/r4/Practitioner/pr-4471", "urn:uuid:0d4e2f3a-1b2c-4d5e-8f90-a1b2c3d4e5f6"),
        ("urn:oid:2.16.840.1.113883.19.5", "urn:oid:2.16.840.1.113883.19.5"),
    ],
)
def test_a_reference_resolves_to_its_bundle_entry_by_full_url_or_type_and_id(
    reference: str, full_url: str | None
) -> None:
    entry = {"fullUrl": full_url, "resource": KIM} if full_url else KIM
    assert _read(_bundle(_appointment(_actor(reference)), entry)).provider == "kim"


def test_an_absolute_patient_reference_not_in_the_bundle_takes_its_display() -> None:
    appointment = _appointment(_actor("Practitioner/kim"))
    appointment["participant"][0] = _actor("https://ehr.example.org/fhir/Patient/pt-1", display="Ann Lee")
    assert _read(_bundle(appointment)).patient_name == "Ann Lee"


# -- which practitioner --------------------------------------------------------------------------------------------


def test_a_practitioner_who_is_not_the_clinics_is_passed_over_for_one_who_is() -> None:
    appointment = _appointment(_actor("Practitioner/res-77", kind="PART"), _actor("Practitioner/kim", kind="ATND"))
    assert _read(_bundle(appointment)).provider == "kim"


def test_a_practitioner_who_declined_is_not_the_provider() -> None:
    appointment = _appointment(_actor("Practitioner/hart", status="declined"), _actor("Practitioner/kim"))
    assert _read(_bundle(appointment)).provider == "kim"


def test_a_cancelled_appointment_whose_practitioner_declined_is_still_read() -> None:
    appointment = _appointment(_actor("Practitioner/hart", status="declined"), status="cancelled")
    assert (_read(_bundle(appointment)).provider, _read(_bundle(appointment)).status) == ("hart", "cancelled")


@pytest.mark.parametrize(("first", "second"), [(None, "ATND"), ("SPRF", "PPRF"), ("PART", "SPRF")])
def test_the_attending_or_performing_practitioner_is_preferred(first: str | None, second: str) -> None:
    appointment = _appointment(_actor("Practitioner/hart", kind=first), _actor("Practitioner/kim", kind=second))
    assert _read(_bundle(appointment)).provider == "kim"


def test_when_no_practitioner_is_the_clinics_the_problem_names_each_of_them() -> None:
    appointment = _appointment(
        _actor("Practitioner/res-77"), _actor("https://ehr.example.org/fhir/Practitioner/res-78")
    )
    problems = _refused(_bundle(appointment))
    assert "res-77" in problems["participant"] and "res-78" in problems["participant"]
    assert "kim, okafor, silva, hart" in problems["participant"]


def test_a_practitioner_role_is_followed_to_its_practitioner() -> None:
    contained = _appointment(
        _actor("#role"),
        contained=[
            {"resourceType": "PractitionerRole", "id": "role", "practitioner": {"reference": "#pr"}},
            {**KIM, "id": "pr"},
        ],
    )
    assert _read(_bundle(contained)).provider == "kim"
    role = {"resourceType": "PractitionerRole", "id": "role-9", "practitioner": {"reference": "Practitioner/pr-4471"}}
    assert _read(_bundle(_appointment(_actor("PractitionerRole/role-9")), KIM, role)).provider == "kim"


def test_a_logical_reference_is_matched_by_its_identifier_value() -> None:
    appointment = _appointment(
        {"actor": {"type": "Practitioner", "identifier": {"value": "kim"}}, "status": "accepted"}
    )
    assert _read(_bundle(appointment)).provider == "kim"


def test_a_logical_reference_without_its_type_is_the_attender_by_the_participants_role() -> None:
    """`type` is optional in R4 and often left out: the whole file was refused, "no participant is a Practitioner"
    (a review)."""
    attender = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "ATND"}]}
    appointment = _appointment({"actor": {"identifier": {"value": "kim"}}, "status": "accepted", "type": [attender]})
    assert _read(_bundle(appointment)).provider == "kim"
    unknown_role = _appointment({"actor": {"identifier": {"value": "kim"}}, "status": "accepted"})
    assert "participant" in _refused(_bundle(unknown_role))  # no role, no type: not taken for a practitioner


def test_an_appointment_with_no_patient_participant_is_refused_naming_its_participants() -> None:
    """A patient known by an identifier alone, its `type` left out, is not taken for the patient (it may be anyone);
    the file was refused "patient_name: the patient's display name is missing", a field no Bundle has, beside a
    display that was there (a hostile review). The problem names the participant and says what it lacks."""
    untyped = {"actor": {"identifier": {"system": "urn:oid:1.2.3", "value": "MRN-7"}, "display": "Ann Lee"}}
    appointment = _appointment(_actor("Practitioner/kim"))
    appointment["participant"][0] = {**untyped, "status": "accepted"}
    problems = _refused(_bundle(appointment))
    assert list(problems) == ["participant[0].actor"]
    assert "no participant is a Patient" in problems["participant[0].actor"]
    assert '"type": "Patient"' in problems["participant[0].actor"]
    nobody = _appointment(_actor("Practitioner/kim"))
    del nobody["participant"][0]
    assert _refused(_bundle(nobody)) == {"participant": "no participant is a Patient"}
    typed = _appointment(_actor("Practitioner/kim"))
    typed["participant"][0] = {"actor": {**untyped["actor"], "type": "Patient"}, "status": "accepted"}
    assert (_read(_bundle(typed)).patient_name, _read(_bundle(typed)).patient_id) == ("Ann Lee", "urn:oid:1.2.3|MRN-7")


def test_a_bundles_problems_name_the_appointments_own_fields_not_the_csv_columns() -> None:
    """A visit type none of the clinic's, a comment too long, an id twice, a name too long: refused naming
    `visit_type`, `notes`, `external_id` and `patient_name`, CSV columns no Bundle has (its start was already
    named `start`; a hostile review)."""
    unknown_type = _appointment(_actor("Practitioner/kim"), appointmentType={"coding": [{"code": "yoga"}]})
    assert list(_refused(_bundle(unknown_type))) == ["appointmentType"]
    long_comment = _appointment(_actor("Practitioner/kim"), comment="x" * 501)
    assert list(_refused(_bundle(long_comment))) == ["comment"]
    long_name = _appointment(_actor("Practitioner/kim"))
    long_name["participant"][0] = _actor("Patient/pt-1", display="A" * 81)
    assert list(_refused(_bundle(long_name))) == ["participant"]
    twice = _appointment(_actor("Practitioner/kim"))
    assert list(_refused(_bundle(twice, {**twice, "id": "ap-2"}))) == ["identifier"]


def test_a_visit_type_code_in_capitals_is_the_clinics() -> None:
    """The clinic's codes are lower case; an EHR's "NEW" was refused (CSV files and practitioner ids match any case)."""
    appointment = _appointment(_actor("Practitioner/kim"), appointmentType={"coding": [{"code": "NEW"}]})
    assert _read(_bundle(appointment)).visit_type == "new"


def _searchset(appointment: dict[str, Any], **bundle: Any) -> dict[str, Any]:
    entry = {"resource": appointment, "search": {"mode": "match"}}
    return {"resourceType": "Bundle", "type": "searchset", "entry": [entry], **bundle}


@pytest.mark.parametrize(
    ("bundle", "field"),
    [
        (
            {"total": 40, "link": [{"relation": "next", "url": "https://ehr.example.org/fhir/Appointment?page=2"}]},
            "link",
        ),
        ({"total": 40}, "total"),
    ],
    ids=["a next page not followed", "fewer than it matched"],
)
def test_a_page_of_a_search_is_not_taken_for_the_whole_day(bundle: dict[str, Any], field: str) -> None:
    """A nightly pull that did not follow the pages kept a part of the day as the whole of it (a review)."""
    body = json.dumps(_searchset(_appointment(_actor("Practitioner/kim")), **bundle)).encode()
    assert field in _refused(body)
    whole = json.dumps(_searchset(_appointment(_actor("Practitioner/kim")), total=1)).encode()
    assert _read(whole).provider == "kim"


def test_a_failed_search_is_refused_not_taken_for_a_day_with_nobody() -> None:
    failed = {
        "resource": {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "timeout", "diagnostics": "the query timed out"}],
        },
        "search": {"mode": "outcome"},
    }
    body = json.dumps({"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": [failed]}).encode()
    problems = _refused(body)
    assert "the query timed out" in problems["issue"]
    note = {"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "info"}]}}
    mixed = _searchset(_appointment(_actor("Practitioner/kim")))
    mixed["entry"].append(note)  # an information note beside the day's appointments is no failure
    assert _read(json.dumps(mixed).encode()).provider == "kim"


def test_a_bundle_of_other_resources_is_no_schedule_and_one_with_nothing_in_it_is_a_day_with_nobody() -> None:
    patients = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Patient"}}] * 2,
    }
    assert _refused(json.dumps(patients).encode()) == {
        "entry": "the Bundle holds no Appointment (2 Patient): a schedule is a Bundle of Appointments"
    }
    note = {"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "info"}]}}
    for empty in ({"type": "collection"}, {"type": "searchset", "total": 0, "entry": [note]}):
        assert read(json.dumps({"resourceType": "Bundle", **empty}).encode(), Format.fhir, CLINIC, DAY) == []


# -- the patient's name --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "shown"),
    [
        (
            [
                {"use": "old", "text": "Maiden Name"},
                {"use": "nickname", "text": "Annie"},
                {"given": ["Ann"], "family": "Lee"},
            ],
            "Ann Lee",
        ),
        (
            [
                {"use": "official", "text": "Ann Old", "period": {"end": "2025-06-01"}},
                {"use": "usual", "text": "Ann Lee"},
            ],
            "Ann Lee",
        ),  # an official name that ended before the appointment
        ([{"use": "maiden", "text": "Ann Park"}, {"use": "temp", "text": "Baby Lee"}], "Baby Lee"),
        ([{"use": "anonymous", "text": "Patient 7"}, {"use": "nickname", "text": "Annie"}], "Annie"),
    ],
)
def test_the_patients_current_name_is_shown(names: list[dict[str, Any]], shown: str) -> None:
    appointment = _appointment(_actor("Practitioner/kim"))
    appointment["participant"][0] = _actor("Patient/pt-1")
    assert _read(_bundle(appointment, {"resourceType": "Patient", "id": "pt-1", "name": names})).patient_name == shown


# -- awkward files -------------------------------------------------------------------------------------------------


def test_a_byte_order_mark_is_not_part_of_the_json() -> None:
    assert _read(b"\xef\xbb\xbf" + _bundle(_appointment(_actor("Practitioner/kim")))).provider == "kim"


def test_json_nested_deeper_than_any_bundle_is_a_problem_not_a_crash() -> None:
    assert "nested" in _refused(b"[" * 100_000)[None]


def test_a_resource_nested_deeper_than_the_models_can_follow_is_a_problem_of_its_entry() -> None:
    extension: dict[str, Any] = {"url": "https://example.org/x", "valueString": "x"}
    for _ in range(300):
        extension = {"url": "https://example.org/x", "extension": [extension]}
    appointment = _appointment(_actor("Practitioner/kim"), extension=[extension])
    _, problems = read_bundle(_bundle(appointment), CLINIC, DAY)
    assert [(p.entry, p.resource, p.field) for p in problems] == [(0, "Appointment/ap-1", "extension")]
    assert "nested" in problems[0].message


def test_a_start_without_its_offset_is_named_with_an_example() -> None:
    _, problems = read_bundle(
        _bundle(_appointment(_actor("Practitioner/kim"), start="2026-11-23T08:00:00")), CLINIC, DAY
    )
    assert [(p.where, p.field) for p in problems] == [("entry 0 (Appointment/ap-1)", "start")]
    assert "UTC offset" in problems[0].message and "2026-11-23T08:00:00-06:00" in problems[0].message


@pytest.mark.parametrize("written", ["2026-11-23T09:00-06:00", "2026-11-23T09:00:00-0600", "2026-11-23 09:00:00-06:00"])
def test_a_start_with_its_offset_written_another_way_is_shown_as_fhir_writes_it(written: str) -> None:
    """Without its seconds, or with the offset as -0600: refused (FHIR's instant has one form) as "not a date and
    time with its UTC offset, e.g. 2026-11-23T08:00:00-06:00", when it has one (a hostile review)."""
    [problem] = _refused(_bundle(_appointment(_actor("Practitioner/kim"), start=written))).values()
    assert "not a date and time with its UTC offset" not in problem
    assert "2026-11-23T09:00:00-06:00" in problem and "seconds" in problem


def test_a_booked_appointment_whose_every_practitioner_declined_is_refused_saying_so() -> None:
    problems = _refused(_bundle(_appointment(_actor("Practitioner/hart", status="declined"))))
    assert "declined" in problems["participant"] and "Practitioner/hart" in problems["participant"]


def test_a_data_type_is_not_a_resource() -> None:
    problems = _refused(_bundle(_appointment(_actor("Practitioner/kim")), {"resourceType": "HumanName"}))
    assert "unknown resourceType 'HumanName'" in problems["resourceType"]


@pytest.mark.parametrize("kind", [7, "Nonsense", None])
def test_a_contained_resource_of_no_known_type_is_a_problem_not_a_crash(kind: Any) -> None:
    appointment = _appointment(_actor("Practitioner/kim"), contained=[{"resourceType": kind, "id": "x"}])
    _, problems = read_bundle(_bundle(appointment), CLINIC, DAY)
    assert [(p.entry, p.field, p.message) for p in problems] == [
        (0, "contained[0].resourceType", f"unknown resourceType {kind!r}")
    ]


@pytest.mark.parametrize(
    ("patient", "entries", "expected"),
    [
        # an MRN among the Patient's identifiers is taken first
        (
            _actor("Patient/pt-1"),
            [
                {
                    "resourceType": "Patient",
                    "id": "pt-1",
                    "name": [{"text": "Ann Lee"}],
                    "identifier": [
                        {"system": "urn:ssn", "value": "x"},
                        {"system": "urn:mrn", "value": "77", "type": {"coding": [{"code": "MR"}]}},
                    ],
                }
            ],
            "urn:mrn|77",
        ),
        # the Patient's id when it has no identifier
        (
            _actor("Patient/pt-1"),
            [{"resourceType": "Patient", "id": "pt-1", "name": [{"text": "Ann Lee"}]}],
            "Patient/pt-1",
        ),
        # a reference to a Patient outside the Bundle, absolute and versioned
        (_actor("https://ehr.example.org/fhir/Patient/pt-9/_history/3", display="Ann Lee"), [], "Patient/pt-9"),
        # a logical reference by identifier
        (
            {"actor": {"type": "Patient", "display": "Ann Lee", "identifier": {"value": "M-5"}}, "status": "accepted"},
            [],
            "M-5",
        ),
        # a reference within this Bundle only names nobody across files
        (_actor("urn:uuid:6f1c0b9e-0000-4000-8000-000000000001", display="Ann Lee", type="Patient"), [], None),
    ],
)
def test_the_patient_is_known_by_an_identifier_or_their_resource_id(
    patient: dict[str, Any], entries: list[dict[str, Any]], expected: str | None
) -> None:
    appointment = _appointment(_actor("Practitioner/kim"))
    appointment["participant"][0] = patient
    assert _read(_bundle(appointment, *entries)).patient_id == expected
