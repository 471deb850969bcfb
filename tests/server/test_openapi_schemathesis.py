"""The OpenAPI document is true (issue 18): schemathesis generates requests for every operation in
/schema/openapi.json and sends them to a real server with the token of every role (and a wall display's),
and every answer must be documented: no server error, a documented status code and content type, a body
that matches its schema.

A few examples per operation and role keep it well under a minute; Hypothesis is derandomized, so a run
is repeatable, and does not shrink (the failures are listed, not minimised)."""

from __future__ import annotations

import os

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from floor.core.access import Role
from tests.server.conftest import ServerProcess, bearer
from tests.support.staff import PEOPLE, PIN

pytestmark = pytest.mark.server

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: Examples per operation and caller; FLOOR_SCHEMATHESIS_EXAMPLES=50 for a longer hunt on a developer's machine.
EXAMPLES = int(os.environ.get("FLOOR_SCHEMATHESIS_EXAMPLES", "3"))
#: FLOOR_SCHEMATHESIS_MODE=all adds requests the schema says are invalid (each must be refused with a 4xx).
MODE = os.environ.get("FLOOR_SCHEMATHESIS_MODE", "positive")
#: Path parameters that name what exists, so requests reach past "no such clinic" (others are generated).
KNOWN = {"clinic": "riverside", "provider": "kim", "room": "e1"}
#: Ends the token it is sent with: run last for each caller.
SIGN_OUT = ("POST", "/api/sign-out")


def _text(failure: BaseException) -> str:
    inner = getattr(failure, "exceptions", None)
    return "; ".join(_text(e) for e in inner) if inner else f"{type(failure).__name__}: {failure}"


def display_token(server: ServerProcess, manager: dict[str, str]) -> dict[str, str]:
    started = httpx.post(f"{server.url}/api/displays/pairings", timeout=10).json()
    paired = httpx.post(
        f"{server.url}/api/displays",
        json={"code": started["code"], "clinic": "riverside", "label": "Hall 1"},
        headers=manager,
        timeout=10,
    )
    assert paired.status_code == 201, paired.text
    claimed = httpx.post(f"{server.url}/api/displays/pairings/claim", json={"claim": started["claim"]}, timeout=10)
    assert claimed.status_code == 200, claimed.text
    return bearer(claimed.json()["token"])


def test_every_operation_answers_as_documented_for_every_role(server: ServerProcess) -> None:
    manager = server.signed_in(Role.manager)  # the one account the CLI adds; the others through the API
    callers = {Role.manager.value: manager}
    for role, (staff_id, name) in PEOPLE.items():
        if role is not Role.manager:
            added = httpx.post(
                f"{server.url}/api/staff",
                json={"id": staff_id, "name": name, "role": role.value, "secret": PIN},
                headers=manager,
                timeout=30,
            )
            assert added.status_code == 201, added.text
            callers[role.value] = server.sign_in(staff_id)
    callers["display"] = display_token(server, callers[Role.manager.value])
    callers["anonymous"] = {}
    walk_in = {"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True}
    booked = httpx.post(
        f"{server.url}/api/clinics/riverside/visits", json=walk_in, headers=callers[Role.front_desk.value], timeout=10
    )
    assert booked.status_code == 201, booked.text
    visit = booked.json()["visit"]["id"]
    schema = schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: (op.method.upper(), op.path) == SIGN_OUT)
    assert len(operations) >= 29
    failures: list[str] = []
    cases = 0

    def fuzz(operation: schemathesis.APIOperation, who: str, headers: dict[str, str], mode: GenerationMode) -> None:
        known = {name: value for name, value in KNOWN.items() if "{" + name + "}" in operation.path}
        if "{visit}" in operation.path:
            known["visit"] = visit

        @given(case=operation.as_strategy(path_parameters=known, generation_mode=mode))
        @settings(
            max_examples=EXAMPLES if headers else 1,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            nonlocal cases
            cases += 1
            try:
                case.call_and_validate(base_url=server.url, headers=headers, checks=CHECKS, timeout=30)
            except BaseException as failure:  # schemathesis's FailureGroup: listed, it does not stop the run
                if isinstance(failure, KeyboardInterrupt):
                    raise
                failures.append(f"{who}: {case.method} {case.formatted_path}: {_text(failure)[:1500]}")

        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing in the operation can be made invalid

    modes = list(GenerationMode) if MODE == "all" else [GenerationMode(MODE)]
    for operation in operations:
        for who, headers in callers.items():
            for mode in modes:
                fuzz(operation, who, headers, mode)
    report = "\n\n".join(failures[:60])
    assert not failures, f"{len(failures)} of {cases} cases failed:\n\n{report}\n\n{server.log()[-3000:]}"


def test_what_gave_500s_over_the_network_is_answered_and_logged(server: ServerProcess) -> None:
    """Issue 18's server errors, against the real server: JSON nested a thousand deep (sign-in included), and
    the export of a day before 1900 (Chicago's local mean time has seconds in its offset)."""
    manager = server.signed_in(Role.manager)
    deep = b'{"staff": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    for path in ("/api/sign-in", "/api/clinics/riverside/visits"):
        answer = httpx.post(
            f"{server.url}{path}", content=deep, timeout=10, headers={**manager, "Content-Type": "application/json"}
        )
        assert answer.status_code == 400, answer.text
        assert "nests deeper" in answer.json()["message"]
    for export in ("encounters", "measures"):
        answer = httpx.get(
            f"{server.url}/api/clinics/riverside/export/{export}?day=1800-01-01", headers=manager, timeout=30
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["resourceType"] in ("Bundle", "MeasureReport")
    assert "server_error" not in server.log()
