"""Hostile review: a FHIR Appointment carrying a `modifierExtension` Floor does not know is booked as if it were
plain. FHIR R4 (Extensibility, 2.4.4 "modifierExtension"): an application processing a resource SHALL check for
modifier extensions, and one it does not understand means it must refuse the resource (or handle it in a way that
safely accounts for it): such an extension changes what the rest of the resource means (a hold, a tentative slot,
"do not treat as a booking"). Floor must refuse the file naming the entry and the field, as it refuses anything
else it cannot take whole."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from floor.config import demo_clinic
from floor.core.schedule import ScheduleRefused
from floor.schedule import Format, read

CLINIC = demo_clinic()
DAY = dt.date(2026, 11, 23)


def _bundle(**more: object) -> bytes:
    appointment = {
        "resourceType": "Appointment",
        "id": "ap-1",
        "status": "booked",
        "start": "2026-11-23T09:00:00-06:00",
        "appointmentType": {"coding": [{"code": "new"}]},
        "participant": [
            {"actor": {"reference": "Practitioner/kim"}, "status": "accepted"},
            {"actor": {"type": "Patient", "display": "Maria Lopez"}, "status": "accepted"},
        ],
        **more,
    }
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": appointment}]}).encode()


def test_a_plain_appointment_is_read() -> None:
    (appointment,) = read(_bundle(), Format.fhir, CLINIC, DAY)
    assert (appointment.external_id, appointment.provider) == ("ap-1", "kim")


@pytest.mark.parametrize(
    "where",
    [
        {"modifierExtension": [{"url": "https://ehr.example.org/fhir/tentative-hold", "valueBoolean": True}]},
        {
            "participant": [
                {
                    "actor": {"reference": "Practitioner/kim"},
                    "status": "accepted",
                    "modifierExtension": [{"url": "https://ehr.example.org/fhir/not-attending", "valueBoolean": True}],
                },
                {"actor": {"type": "Patient", "display": "Maria Lopez"}, "status": "accepted"},
            ]
        },
    ],
    ids=["on the appointment", "on its practitioner"],
)
def test_an_appointment_with_a_modifier_extension_floor_does_not_know_is_refused(where: dict) -> None:
    with pytest.raises(ScheduleRefused) as refused:
        appointments = read(_bundle(**where), Format.fhir, CLINIC, DAY)
        pytest.fail(f"booked as a plain appointment: {appointments}")
    assert [p.entry for p in refused.value.problems] == [0]
    assert "modifierExtension" in (refused.value.problems[0].field or "")


def test_a_cancelled_appointment_with_one_is_refused_too() -> None:
    # A cancellation checks no provider or patient (it books nothing), but an extension may change what it means.
    hold = {"url": "https://ehr.example.org/fhir/cancellation-pending", "valueBoolean": True}
    with pytest.raises(ScheduleRefused) as refused:
        read(_bundle(status="cancelled", modifierExtension=[hold]), Format.fhir, CLINIC, DAY)
    assert [(p.entry, p.field) for p in refused.value.problems] == [(0, "modifierExtension")]
    assert "cancellation-pending" in refused.value.problems[0].message
