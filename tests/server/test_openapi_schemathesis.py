"""The OpenAPI document is true (issue 18): schemathesis generates requests for every operation in
/schema/openapi.json and sends them to a real server with the token of every role (and a wall display's),
and every answer must be documented: no server error, a documented status code and content type, a body
that matches its schema.

A few examples per operation and role keep it well under a minute; Hypothesis is derandomized, so a run
is repeatable, and does not shrink (the failures are listed, not minimised)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
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


#: Operations whose success this test does not reach: an alert needs clinic time to pass (tests/web covers it).
NO_SUCCESS_HERE = {"POST /api/clinics/{clinic}/alerts/{alert}/acknowledge"}
DAY = "2026-11-23"  # the test server's clinic day (tests/server/conftest.py, CLINIC_MORNING)
LATER = "2026-11-30"


def _a_days_work(send: Callable[..., Any], booked: str) -> None:
    """Requests that succeed, one or more per operation, as the clinic's people make them in a day."""
    c = "/api/clinics/{clinic}"
    for who in ("manager", "front_desk", "medical_assistant", "provider", "display"):
        send(who, "GET", "/api/me")
    for who in ("manager", "front_desk", "medical_assistant", "provider"):
        send(who, "GET", "/api/clinics")
        send(who, "GET", f"{c}/board")
        send(who, "GET", f"{c}/visits/{{visit}}")
    send("medical_assistant", "POST", f"{c}/visits/{{visit}}/events", {"type": "roomed", "room": "e1"})
    send("medical_assistant", "POST", f"{c}/visits/{{visit}}/events", {"type": "prep_done"})
    send("manager", "POST", f"{c}/visits/{{visit}}/events", {"type": "provider_in"})
    send("manager", "POST", f"{c}/visits/{{visit}}/events", {"type": "teach_back_done"})
    send("manager", "POST", f"{c}/visits/{{visit}}/events", {"type": "undo"})
    send("manager", "POST", f"{c}/visits/{{visit}}/events", {"type": "teach_back_done"})
    send("front_desk", "POST", f"{c}/visits/{{visit}}/events", {"type": "checked_out"})
    send("medical_assistant", "POST", f"{c}/rooms/{{room}}/events", {"type": "ready"})
    send("medical_assistant", "POST", f"{c}/rooms/{{room}}/events", {"type": "blocked", "reason": "Broken bed"})
    send("medical_assistant", "POST", f"{c}/rooms/{{room}}/events", {"type": "undo"})
    scheduled = {"patient_name": "Bo Diaz", "provider": "kim", "visit_type": "new", "start": f"{DAY}T11:00:00"}
    send("front_desk", "POST", f"{c}/visits", scheduled)
    send("manager", "POST", f"{c}/providers/{{provider}}/presence", {"type": "stepped_away", "back_in_minutes": 10})
    send("manager", "POST", f"{c}/providers/{{provider}}/presence", {"type": "back"})
    for path in ("measures", "lateness", "export/encounters", "export/measures"):
        send("manager", "GET", f"{c}/{path}", day=DAY)
    send("manager", "GET", f"{c}/export/measures", day=DAY, format="csv")
    send("manager", "GET", f"{c}/learned")
    send("manager", "GET", f"{c}/visits/{{visit}}/audit")
    send("manager", "GET", "/api/staff/{staff}/audit", params={"staff": "desk-ana"})
    csv = "external_id,time,provider,visit_type,patient_name\nA-1,14:00,kim,new,Cy Moss\n"
    send("manager", "POST", f"{c}/schedule", csv, "text/csv", date=DAY, check="true")
    send("manager", "POST", f"{c}/schedule", csv, "text/csv", date=LATER)
    send("manager", "GET", f"{c}/schedule/upcoming")
    send("manager", "DELETE", f"{c}/schedule", date=LATER)
    new = {"id": "desk-new", "name": "Noor Adeyemi", "role": "front_desk", "secret": "5151", "clinics": ["riverside"]}
    send("manager", "POST", "/api/staff", new)
    send("manager", "GET", "/api/staff")
    send("manager", "POST", "/api/staff/{staff}/unlock", params={"staff": "desk-new"})
    send("manager", "PUT", "/api/staff/{staff}/secret", {"secret": "6262"}, params={"staff": "desk-new"})
    send("anonymous", "POST", "/api/sign-in", {"staff": "desk-new", "secret": "6262", "device": "tablet-9"})
    send("manager", "DELETE", "/api/staff/{staff}", params={"staff": "desk-new"})
    started = send("anonymous", "POST", "/api/displays/pairings")
    send("anonymous", "POST", "/api/displays/pairings/claim", {"claim": started["claim"]})
    pair = {"code": started["code"], "clinic": "riverside", "zone": "east", "label": "Hall 2"}
    display = send("manager", "POST", "/api/displays", pair)["id"]
    send("anonymous", "POST", "/api/displays/pairings/claim", {"claim": started["claim"]})
    send("manager", "GET", "/api/displays")
    send(
        "manager", "PUT", "/api/displays/{display}", {"label": "West hall", "zone": "west"}, params={"display": display}
    )
    send("manager", "DELETE", "/api/displays/{display}", params={"display": display})
    # The clinic's set-up from the browser: a room, a provider and a visit type added, a threshold changed, each with
    # the set-up version last seen.
    board = send("manager", "GET", f"{c}/board")
    rooms = [{"id": r["id"], "label": r["label"], "zone": r["zone"]} for r in board["rooms"]]
    north = {"id": "n9", "label": "North 9", "zone": "east"}
    changed = send("manager", "PUT", f"{c}/rooms", {"version": board["setup_version"], "rooms": [*rooms, north]})
    providers = [{"id": p["id"], "name": p["name"], "initials": p["initials"]} for p in board["providers"]]
    patel = {"id": "patel", "name": "Dr. Ravi Patel", "initials": "RP"}
    body = {"version": changed["setup_version"], "providers": [*providers, patel]}
    providers_changed = send("manager", "PUT", f"{c}/providers", body)
    tele = {
        "code": "tele",
        "label": "Telehealth",
        "slot_minutes": 15,
        "stage_minutes": {"arrived": 0, "roomed": 0, "prep_done": 2, "provider_in": 10, "teach_back_done": 2},
    }
    body = {"version": providers_changed["setup_version"], "visit_types": [*board["visit_types"], tele]}
    types_changed = send("manager", "PUT", f"{c}/visit-types", body)
    thresholds = {**board["thresholds"], "turnover": 12}
    send("manager", "PUT", f"{c}/thresholds", {"version": types_changed["setup_version"], "thresholds": thresholds})
    assert booked


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
    #: Per caller, the operations that answered 2xx: the tokens worked and requests got past the guards.
    reached: dict[str, set[str]] = {who: set() for who in callers}

    # Generated requests seldom succeed at a write (a random provider, visit or code is refused), so first a
    # day's work with requests that do, through the same checks: every success answer is held to its schema.
    by_route = {(op.method.upper(), op.path): op for op in operations}

    def send(who: str, method: str, path: str, body: Any = NOT_SET, media_type: str | None = None, **query: Any):
        nonlocal cases
        known = {name: value for name, value in {**KNOWN, "visit": visit}.items() if "{" + name + "}" in path}
        case = by_route[(method, path)].Case(
            path_parameters={**known, **query.pop("params", {})}, body=body, query=query or None, media_type=media_type
        )
        cases += 1
        try:
            answer = case.call_and_validate(base_url=server.url, headers=callers[who], checks=CHECKS, timeout=30)
        except BaseException as failure:
            if isinstance(failure, KeyboardInterrupt):
                raise
            failures.append(f"{who}: {method} {case.formatted_path} (a day's work): {_text(failure)[:1500]}")
            return None
        assert 200 <= answer.status_code < 300, f"{who}: {method} {path}: {answer.status_code} {answer.text[:300]}"
        reached[who].add(f"{method} {path}")
        return answer.json() if "json" in answer.headers.get("content-type", [""])[0] else None

    _a_days_work(send, visit)

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
                answer = case.call_and_validate(base_url=server.url, headers=headers, checks=CHECKS, timeout=30)
                if answer.status_code == 429 and (case.method.upper(), operation.path) == SIGN_OUT:
                    # The requests before it spent this sign-in's share of taps (how many depends on how fast
                    # they went): sign out as a client does, once the wait the answer names is over.
                    time.sleep(float(answer.headers.get("Retry-After", "1")))
                    answer = case.call_and_validate(base_url=server.url, headers=headers, checks=CHECKS, timeout=30)
                if 200 <= answer.status_code < 300:
                    reached[who].add(f"{case.method} {operation.path}")
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
    # Not a run of refusals: every token was taken, and staff got past the clinic's guard.
    assert cases >= len(operations) * len(callers)
    for who in callers:
        if who != "anonymous":
            assert "GET /api/me" in reached[who], f"{who}'s token was never taken"
    for role in Role:
        assert "GET /api/clinics/{clinic}/board" in reached[role.value], f"{role} never read the board"
    # Every operation's success answer was held to the document at least once.
    answered = set().union(*reached.values())
    unanswered = {f"{op.method.upper()} {op.path}" for op in operations} - answered - NO_SUCCESS_HERE
    assert not unanswered, f"no success answer was checked for {sorted(unanswered)}"


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
        # No day of the log goes back that far: a 404 naming the day (tests/web/test_input_limits.py writes the
        # export of such a day in UTC).
        assert answer.status_code == 404, answer.text
        assert answer.json()["field"] == "day"
    assert "server_error" not in server.log()
