"""/schema documents every route with its request and response types and the shape of its errors."""

from __future__ import annotations

import re

import pytest
from litestar.testing import TestClient

from floor.bootstrap import embedded_floors
from floor.config import demo_clinic
from floor.web.app import create_app

ROUTES = {
    ("get", "/api/clinics"): (None, "200", None),
    ("get", "/api/clinics/{clinic}/board"): (None, "200", "Board"),
    ("get", "/api/clinics/{clinic}/visits/{visit}"): (None, "200", "VisitHistory"),
    ("post", "/api/clinics/{clinic}/visits"): ("NewVisit", "201", "VisitAnswer"),
    ("post", "/api/clinics/{clinic}/visits/{visit}/events"): ("VisitTap", "201", "VisitAnswer"),
    ("post", "/api/clinics/{clinic}/rooms/{room}/events"): ("RoomTap", "201", "RoomAnswer"),
    ("post", "/api/clinics/{clinic}/providers/{provider}/presence"): ("PresenceTap", "201", "PresenceAnswer"),
    ("get", "/api/clinics/{clinic}/measures"): (None, "200", "ClinicMeasures"),
    ("get", "/api/clinics/{clinic}/lateness"): (None, "200", "LatenessOverDay"),
    ("get", "/api/clinics/{clinic}/learned"): (None, "200", "LearnedAnswer"),
    ("get", "/api/clinics/{clinic}/visits/{visit}/audit"): (None, "200", "AuditTrail"),
    ("post", "/api/clinics/{clinic}/alerts/{alert}/acknowledge"): (None, "201", "AlertAnswer"),
}


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict:
    app = create_app(embedded_floors([demo_clinic()], tmp_path_factory.mktemp("data")))
    with TestClient(app) as client:
        r = client.get("/schema/openapi.json")
        assert r.status_code == 200
        assert client.get("/schema").status_code == 200
        return r.json()


def _ref(schema: dict | None) -> str | None:
    return schema.get("$ref", "").rsplit("/", 1)[-1] if schema else None


def _json_schema(part: dict) -> dict | None:
    return part.get("content", {}).get("application/json", {}).get("schema")


@pytest.mark.parametrize(("method", "path"), list(ROUTES))
def test_every_route_is_documented_with_its_types_and_error_shapes(spec: dict, method: str, path: str) -> None:
    body, ok, answer = ROUTES[(method, path)]
    operation = spec["paths"][path][method]
    if body:
        assert _ref(_json_schema(operation["requestBody"])) == body
    responses = operation["responses"]
    assert ok in responses
    if answer:
        assert _ref(_json_schema(responses[ok])) == answer
    errors = {code: r for code, r in responses.items() if code.startswith(("4", "5"))}
    if "{clinic}" in path:
        assert "404" in errors
    for code, response in errors.items():
        assert _ref(_json_schema(response)) == "ErrorBody", f"{method} {path} {code}"
        assert response["description"]


def test_writes_document_their_refusals_and_the_idempotency_key(spec: dict) -> None:
    for method, path in ROUTES:
        if method == "post":
            operation = spec["paths"][path][method]
            assert {"400", "404", "503"} <= set(operation["responses"])
            assert "Idempotency-Key" in [p["name"] for p in operation["parameters"]]
    tap = spec["paths"]["/api/clinics/{clinic}/visits/{visit}/events"]["post"]["responses"]
    assert "illegal step" in tap["409"]["description"].lower()


def test_every_write_a_sign_in_makes_documents_the_throttle(spec: dict) -> None:
    # floor/web/auth.py throttles every write per sign-in (WRITES), so each such operation may answer 429.
    from floor.web.auth import WRITES

    checked = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method.upper() in WRITES and operation.get("security") != [{}]:  # [{}]: no sign-in needed
                assert "429" in operation["responses"], f"{method.upper()} {path}"
                checked += 1
    assert checked >= 10  # every tap, staff, display and schedule write


def test_every_write_documents_the_refusal_of_another_sites_page(spec: dict) -> None:
    # floor/web/auth.py's from_our_pages refuses every write a page of another site sends (its Origin): 403.
    from floor.web.auth import WRITES

    writes = {
        f"{method.upper()} {path}": operation["responses"]
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method.upper() in WRITES
    }
    assert [w for w, responses in writes.items() if "403" not in responses] == []
    assert "another site" in writes["POST /api/sign-in"]["403"]["description"]


def test_the_schema_documents_the_live_feed_and_its_messages(spec: dict) -> None:
    text = spec["info"]["description"]
    for words in (
        "/api/clinics/{clinic}/live",
        "since",
        '"kind": "snapshot"',
        '"kind": "event"',
        "heartbeat",
        "4404",
        "4400",
    ):
        assert words in text
    assert {
        "Board",
        "Event",
        "Visit",
        "Room",
        "ErrorBody",
        "VisitBooked",
        "StepTaken",
        "StepUndone",
        "RoomMarked",
    } <= set(spec["components"]["schemas"])


PUBLIC = {("post", "/api/sign-in"), ("post", "/api/displays/pairings"), ("post", "/api/displays/pairings/claim")}


def test_every_route_but_sign_in_and_pairing_needs_a_bearer_token_and_says_so(spec: dict) -> None:
    scheme = spec["components"]["securitySchemes"]["staff_or_display_token"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert spec["security"] == [{"staff_or_display_token": []}]
    operations = {(m, p): op for p, item in spec["paths"].items() for m, op in item.items()}
    assert set(operations) >= PUBLIC
    for key, op in operations.items():
        if key in PUBLIC:
            assert op.get("security") == [{}], f"{key} must be callable without a token"
        else:
            assert "security" not in op, f"{key} must not lift the token requirement"
            assert "401" in op["responses"], f"{key} does not document 401"
            if key[0] == "post" and key[1].startswith("/api/clinics/"):
                assert {"403", "429"} <= set(op["responses"]), f"{key} does not document 403 and 429"


# -- the document says what the server does (issue 18) ---------------------------------------------------------


def test_a_session_opens_and_closes_at_local_times_not_durations(spec: dict) -> None:
    session = spec["components"]["schemas"]["Session"]["properties"]
    for end in ("opens", "closes"):
        assert session[end]["format"] != "duration"
        assert session[end]["pattern"].startswith("^\\d{2}:\\d{2}")
    assert '"format": "duration"' not in str(spec).replace("'", '"')


@pytest.mark.parametrize("path", ["/api/clinics/{clinic}/export/encounters", "/api/clinics/{clinic}/export/measures"])
def test_exports_are_documented_as_json_objects(spec: dict, path: str) -> None:
    content = spec["paths"][path]["get"]["responses"]["200"]["content"]
    assert content["application/fhir+json"]["schema"]["type"] == "object"


def test_request_bodies_that_refuse_unknown_fields_say_so(spec: dict) -> None:
    schemas = spec["components"]["schemas"]
    for name in (
        "NewVisit",
        "VisitTap",
        "RoomTap",
        "PresenceTap",
        "SignIn",
        "NewStaff",
        "NewSecret",
        "PairDisplay",
        "ClaimDisplay",
    ):
        assert schemas[name]["additionalProperties"] is False, name


def test_the_202_answers_are_documented(spec: dict) -> None:
    claim = spec["paths"]["/api/displays/pairings/claim"]["post"]["responses"]
    assert _ref(_json_schema(claim["202"])) == "PairingWaiting"
    assert _ref(_json_schema(claim["200"])) == "DisplayToken"
    schedule = spec["paths"]["/api/clinics/{clinic}/schedule"]["post"]
    assert _ref(_json_schema(schedule["responses"]["202"])) == "Summary"
    assert {"text/csv", "application/fhir+json"} <= set(schedule["requestBody"]["content"])


def test_every_error_answer_of_every_operation_is_an_error_body(spec: dict) -> None:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")):
                    assert _ref(_json_schema(response)) == "ErrorBody", f"{method} {path} {code}"


def test_the_api_docs_page_needs_nothing_from_the_internet(tmp_path) -> None:
    """A clinic network often has no internet: /schema loaded Redoc from a CDN and Google's fonts, a blank page
    there (a newcomer's run). Its script comes from Floor now, and the page names no other host."""
    app = create_app(embedded_floors([demo_clinic()], tmp_path / "data"))
    with TestClient(app) as client:
        page = client.get("/schema")
        assert page.status_code == 200
        assert re.findall(r"https?://", page.text) == [], page.text
        scripts = re.findall(r'<script[^>]*src="([^"]+)"', page.text)
        assert scripts == ["/vendor/redoc/redoc.standalone.js"], page.text
        script = client.get(scripts[0])
        assert script.status_code == 200 and "Redoc" in script.text[:2000]
