"""Input limits on every way in (issue 18): a body nested too deep, a value of the wrong type, a name with
control or invisible characters, an id too long. Each is a 4xx naming the problem, never a 500; the JSON API
refuses what the schedule import refuses, by the same rule (floor.core.text)."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Iterator

import msgspec
import pytest
import structlog
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from structlog.testing import capture_logs

from floor.clock import ManualClock
from floor.close_codes import CLOSE_UNAUTHENTICATED
from floor.config import demo_clinic
from floor.core.access import Role
from floor.core.events import Event, StepTaken
from floor.core.journey import Stage
from floor.core.schedule import ScheduleRefused
from floor.core.text import unreadable
from floor.floors import Floors
from floor.log.base import LogCorrupt, Record
from floor.log.embedded import frame
from floor.schedule import Format, read
from floor.web.app import LOGGED_PATH, create_app
from floor.web.body import EMPTY_BODY, MAX_DEPTH, too_deep
from tests.support.records import record
from tests.support.staff import sign_in, test_floors

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in Chicago
DAY = dt.date(2026, 11, 23)
API = "/api/clinics/riverside"
WALK_IN = {"provider": "kim", "visit_type": "follow", "walk_in": True}
#: What the issue found the JSON API took: only a zero-width space, a NUL, an ANSI escape, a right-to-left override.
BAD_NAMES = ["\u200b", "Ann\x00Lee", "Ann \x1b[31mLee", "Ann \u202eeeL"]
#: Names a screen shows as nothing: Hangul fillers, the blank braille pattern, marks combining with nothing,
#: variation selectors (a hostile review got each of them booked).
BLANK_NAMES = [
    "\u3164",
    "\u2800",
    "\u115f\u1160",
    "\uffa0",
    "\u034f",
    "\ufe0f",
    "\u17b4",
    "\U000e0100",
    "\u0301",
    "\u0301\u0301",
    " \u3164 \u2800 ",
]


@pytest.fixture
def app(tmp_path) -> Iterator[tuple[TestClient, Floors]]:
    floors = test_floors(tmp_path, clock=ManualClock(START), tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        yield client, floors


def _nested(depth: int) -> bytes:
    return b'{"staff": "x", "deep": ' + b"[" * depth + b"]" * depth + b"}"


#: Path parameters filled in so a request reaches its handler (the body is read before the visit, room or
#: alert is looked up, so those need not exist).
_KNOWN = {
    "clinic": "riverside",
    "visit": "v1",
    "room": "e1",
    "provider": "kim",
    "alert": "a1",
    "staff": "nobody",
    "display": "d-00000000",
}


def _bodied_operations(client: TestClient) -> list[tuple[str, str, list[str]]]:
    """Every operation of the OpenAPI document that takes a request body: (method, path, its content types)."""
    spec = client.get("/schema/openapi.json").json()
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                url = re.sub(r"\{(\w+)\}", lambda m: _KNOWN[m.group(1)], path)
                found.append((method.upper(), url, list(operation["requestBody"]["content"])))
    return found


def test_json_nested_a_thousand_deep_is_refused_with_a_4xx_on_every_route_that_takes_a_body(app) -> None:
    """Issue 18: every JSON route, sign-in included, gave 500. Taken from the OpenAPI document, so a route added
    later is covered too; every content type it takes (a FHIR schedule is JSON as well)."""
    client, floors = app
    manager = sign_in(client, floors, Role.manager)
    operations = _bodied_operations(client)
    paths = {path for _, path, _ in operations}
    assert {"/api/sign-in", f"{API}/visits", "/api/displays/pairings/claim", "/api/staff", "/api/displays"} <= paths
    assert len(operations) >= 10
    for method, path, types in operations:
        for kind in (t for t in types if "json" in t):
            query = "?date=2026-11-23" if path.endswith("/schedule") else ""
            with capture_logs() as logs:
                answer = client.request(
                    method, path + query, content=_nested(1000), headers={**manager, "Content-Type": kind}
                )
            where = f"{method} {path} ({kind})"
            assert 400 <= answer.status_code < 500, f"{where}: {answer.status_code} {answer.text[:200]}"
            assert not [e for e in logs if e["log_level"] in ("error", "critical")], where
            if kind == "application/json":
                assert answer.status_code == 400, where
                assert answer.json()["error"] == "invalid_request"
                assert f"deeper than {MAX_DEPTH}" in answer.json()["message"], where
            else:  # a FHIR schedule: read by the schedule import, which says so in its own words
                assert answer.status_code == 422 and "nested deeper" in answer.text, f"{where}: {answer.text[:200]}"


def test_depth_counts_brackets_outside_strings_only() -> None:
    assert not too_deep(b'{"a": "' + b"[" * 100 + b'"}')
    assert not too_deep(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    assert too_deep(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))
    assert too_deep(b'{"a": "\\"", "b": ' + b"[" * 40 + b"]" * 40 + b"}")  # an escaped quote ends no string


@pytest.mark.parametrize("body", [b"", b"  \n"], ids=["nothing", "white-space"])
@pytest.mark.parametrize("path", [f"{API}/visits", "/api/sign-in", "/api/staff", "/api/displays/pairings/claim"])
def test_a_write_with_no_body_is_told_the_body_is_empty(app, path: str, body: bytes) -> None:
    client, floors = app
    manager = sign_in(client, floors, Role.manager)
    staff = len(client.get("/api/staff", headers=manager).json())
    answer = client.post(path, content=body, headers={**manager, "Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"] == f"The request is not valid: {EMPTY_BODY}"
    assert floors.get("riverside").floor.seq == 0
    assert len(client.get("/api/staff", headers=manager).json()) == staff


def test_a_number_sent_as_a_string_is_refused_naming_the_field(app) -> None:
    client, floors = app
    desk = sign_in(client, floors, Role.front_desk)
    visit = client.post(
        f"{API}/visits",
        json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "start": "2026-11-23T10:00:00"},
        headers=desk,
    ).json()["visit"]
    seq = floors.get("riverside").floor.seq
    answer = client.post(
        f"{API}/visits/{visit['id']}/events", json={"type": "arrived", "expected_version": "1"}, headers=desk
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == "expected_version"
    assert floors.get("riverside").floor.seq == seq
    assert (
        client.post(
            f"{API}/visits/{visit['id']}/events", json={"type": "arrived", "expected_version": 1}, headers=desk
        ).status_code
        == 201
    )


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"Idempotency-Key": "k" * 129}, "Idempotency-Key"),
        ({"Idempotency-Key": ""}, "Idempotency-Key"),
        ({"Idempotency-Key": "k1", "Idempotency-Stored-Only": "yes"}, "Idempotency-Stored-Only"),
    ],
)
def test_a_bad_header_is_refused_naming_the_header_as_sent(app, headers: dict, field: str) -> None:
    """The field a refusal names is what the client sent: a header by its name (as a key reused for another tap is
    refused naming `Idempotency-Key`), not the server's Python name for it (`idempotency_key`, `stored_only`),
    which no client sends and the tablet's refusals do not know (a hostile review)."""
    client, floors = app
    desk = sign_in(client, floors, Role.front_desk)
    seq = floors.get("riverside").floor.seq
    answer = client.post(f"{API}/visits", json={"patient_name": "Ann Lee", **WALK_IN}, headers={**desk, **headers})
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == field, answer.text
    assert field in answer.json()["message"]
    assert floors.get("riverside").floor.seq == seq


@pytest.mark.parametrize("name", BAD_NAMES + BLANK_NAMES)
def test_a_patient_name_with_control_or_invisible_characters_is_refused_naming_the_field(app, name: str) -> None:
    client, floors = app
    desk = sign_in(client, floors, Role.front_desk)
    answer = client.post(f"{API}/visits", json={"patient_name": name, **WALK_IN}, headers=desk)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "patient_name"
    assert floors.get("riverside").floor.seq == 0


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_staff_name_with_control_or_invisible_characters_is_refused(app, name: str) -> None:
    client, floors = app
    manager = sign_in(client, floors, Role.manager)
    answer = client.post(
        "/api/staff", json={"id": "new-person", "name": name, "role": "front_desk", "secret": "135790"}, headers=manager
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "name"


@pytest.mark.parametrize("name", BLANK_NAMES)
def test_a_name_a_screen_would_show_as_nothing_is_refused_as_having_nothing_visible(name: str) -> None:
    assert unreadable("patient_name", name) == "patient_name has nothing visible"


def test_a_character_newer_than_this_pythons_unicode_is_visible() -> None:
    """U+1FAE8 (Unicode 15's shaking face) and U+1F6DC are unassigned to Python 3.11: a screen may still draw them,
    and a server on a newer Python would take them; they are not "nothing visible"."""
    for text in ("\U0001fae8", "\U0001f6dc", "Ann \U0001fae8"):
        assert unreadable("notes", text, multiline=True) is None, ascii(text)


def test_names_in_any_script_with_their_joiners_and_marks_are_taken() -> None:
    decomposed = unicodedata.normalize("NFD", "José Núñez")
    for name in ["José Núñez", decomposed, "李小龙", "می\u200cخواهم", "שרה\u200f כהן", "O'Brien-Smith", "한\u3164지"]:
        assert unreadable("patient_name", name) is None, name
    assert unreadable("notes", "Interpreter:\tSpanish\nwheelchair", multiline=True) is None


def _csv(name: str, external_id: str = "A1") -> bytes:
    return (f"external_id,time,provider,visit_type,patient_name\n{external_id},08:00,kim,new,{name}\n").encode()


def _fhir(name: str, external_id: str = "EHR-1") -> bytes:
    appointment = {
        "resourceType": "Appointment",
        "id": "ap-1",
        "identifier": [{"value": external_id}],
        "status": "booked",
        "appointmentType": {"coding": [{"code": "new"}]},
        "start": "2026-11-23T08:00:00-06:00",
        "participant": [
            {"actor": {"reference": "Patient/pt-1", "display": name}, "status": "accepted"},
            {"actor": {"reference": "Practitioner/kim"}, "status": "accepted"},
        ],
    }
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": appointment}]}).encode()


def _problems(body: bytes, kind: Format) -> dict[str | None, str]:
    with pytest.raises(ScheduleRefused) as refused:
        read(body, kind, demo_clinic(), DAY)
    return {p.field: p.message for p in refused.value.problems}


@pytest.mark.parametrize("name", BAD_NAMES)
@pytest.mark.parametrize(("kind", "file"), [(Format.csv, _csv), (Format.fhir, _fhir)])
def test_the_schedule_import_refuses_the_same_names_by_the_same_rule(name: str, kind: Format, file) -> None:
    problems = _problems(file(name), kind)
    field = "patient_name" if kind is Format.csv else "participant"  # each file's own name for it
    assert problems[field] == unreadable("patient_name", name)


@pytest.mark.parametrize(("kind", "file"), [(Format.csv, _csv), (Format.fhir, _fhir)])
def test_an_external_id_of_a_hundred_thousand_characters_is_refused(kind: Format, file) -> None:
    problems = _problems(file("Ann Lee", "A" * 100_000), kind)
    assert "longer than" in problems["external_id" if kind is Format.csv else "identifier"]


@pytest.mark.parametrize(("kind", "file"), [(Format.csv, _csv), (Format.fhir, _fhir)])
def test_a_hundred_thousand_character_id_through_the_schedule_route_is_a_422_naming_it_not_echoed(
    app, kind: Format, file
) -> None:
    client, floors = app
    manager = sign_in(client, floors, Role.manager)
    body = file("Ann Lee", "A" * 100_000)
    if kind is Format.fhir:  # the resource's own id as long too: named in the answer, so shown cut
        body = body.replace(b'"id": "ap-1"', b'"id": "' + b"B" * 100_000 + b'"')
    media = "text/csv" if kind is Format.csv else "application/fhir+json"
    answer = client.post(
        f"{API}/schedule?date={DAY}&check=true", content=body, headers={**manager, "Content-Type": media}
    )
    assert answer.status_code == 422, answer.text[:300]
    fields = {e.get("field") for e in answer.json()["errors"]}
    assert fields & {"external_id", "identifier", "id"}, answer.text[:300]
    assert len(answer.content) < 4000, f"the answer echoes the id: {len(answer.content)} bytes"
    assert floors.get("riverside").floor.seq == 0


@pytest.mark.parametrize("path", ["export/encounters", "export/measures", "board", "measures"])
def test_a_day_before_the_log_begins_is_404_naming_it_not_a_day_of_zeros(app, path: str) -> None:
    """A day no day of the log goes back to (pruned, or before Floor kept this clinic): it was answered as a
    complete day with nobody seen."""
    client, floors = app
    manager = sign_in(client, floors, Role.manager)
    answer = client.get(f"{API}/{path}?day=1800-01-01", headers=manager)
    assert answer.status_code == 404, answer.text
    assert answer.json()["field"] == "day" and "no record of 1800-01-01" in answer.json()["message"]
    assert "its log begins on 2026-11-23" in answer.json()["message"]


def test_an_export_of_a_day_before_1900_is_written_in_utc() -> None:
    # Chicago kept local mean time (-05:50:36) until 1883: FHIR cannot write an offset with seconds.
    from floor import export
    from floor.days import day_measures

    clinic, day = demo_clinic(), dt.date(1800, 1, 1)
    for body in (
        export.to_json(export.encounters(clinic, day, [], True)),
        export.to_json(export.measure_report(clinic, day, day_measures(clinic, day, []))),
    ):
        text = body.decode()
        assert "1800-01-01" in text and "05:50:36Z" in text and "-05:50:36" not in text


def test_a_server_error_is_logged_with_its_traceback_and_answered_as_an_error_body(app, monkeypatch) -> None:
    client, floors = app
    manager = sign_in(client, floors, Role.manager)

    def broken():
        raise RuntimeError("the learned table is broken")

    monkeypatch.setattr(floors.get("riverside"), "learned_answer", broken)
    with capture_logs() as logs:
        answer = client.get(f"{API}/learned", headers=manager)
    assert answer.status_code == 500
    assert answer.json()["error"] == "internal" and "broken" not in answer.text
    [error] = [e for e in logs if e["event"] == "server_error"]
    assert isinstance(error["exc_info"], RuntimeError) and error["path"] == f"{API}/learned"


def test_a_socket_whose_first_message_nests_a_thousand_deep_is_closed_4401_not_an_error(app) -> None:
    client, _ = app
    deep = '{"type": "auth", "token": ' + "[" * 1000 + "]" * 1000 + "}"
    with capture_logs() as logs, client.websocket_connect(f"{API}/live") as ws:
        ws.send_text(deep)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text(timeout=5)
    assert closed.value.code == CLOSE_UNAUTHENTICATED
    assert "nested deeper" in str(closed.value.detail)
    assert not [e for e in logs if e["log_level"] in ("error", "critical")]


def test_a_long_path_is_logged_short(app) -> None:
    """The path and the clinic go on every log line of a request: a 60,000-character path, signed in or not,
    was 120 KB of log (a hostile review)."""
    client, _ = app
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        answer = client.get(f"/api/clinics/{'a' * 60_000}/board")
    assert answer.status_code == 401
    request = next(entry for entry in logs if entry["event"] == "request")
    assert request["path"] == f"/api/clinics/{'a' * 60_000}"[:LOGGED_PATH]
    assert all(len(entry.get("clinic") or "") <= 40 for entry in logs)
    assert len(json.dumps(logs, default=str)) < 10_000


def test_a_persons_audit_of_a_day_only_some_clinics_logs_hold_reads_those(tmp_path) -> None:
    """A person's audit goes through each of the manager's clinics: one whose log does not go back to the day
    does not make the whole answer a 404 while another's holds it."""
    lakeside = msgspec.structs.replace(demo_clinic(), id="lakeside", name="Lakeside Clinic")
    yesterday = START.date() - dt.timedelta(days=1)
    (tmp_path / "riverside").mkdir()
    (tmp_path / "riverside" / f"{yesterday}.log").write_bytes(frame(record(1, day=yesterday)))
    floors = test_floors(tmp_path, [demo_clinic(), lakeside], clock=ManualClock(START), tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        held = client.get(f"/api/staff/ma-rosa/audit?day={yesterday}", headers=manager)
        assert held.status_code == 200, held.text
        assert [(e["clinic"], e["seq"]) for e in held.json()["entries"]] == [("riverside", 1)]
        before = client.get("/api/staff/ma-rosa/audit?day=2026-01-01", headers=manager)
        assert before.status_code == 404 and before.json()["field"] == "day"


def test_a_log_holding_an_event_no_floor_can_fold_is_a_503_naming_it_and_readyz_says_why(app, monkeypatch) -> None:
    """tests/runtime/test_unfoldable_event.py meets such an event in a shared log; here, what the edges say: a
    tap is a 503 naming the event (it was a 500 and a traceback), and /readyz names it, not the network."""
    client, floors = app
    runtime = floors.get("riverside")
    why = "clinic riverside: its log's event at seq 7 (roomed on 2026-11-23, by ma on t9) cannot be folded (...)"

    async def meets_it(*args, **kwargs):
        runtime.today.unfoldable = why
        runtime.stale = True
        raise LogCorrupt(why)

    monkeypatch.setattr(runtime, "handle", meets_it)
    desk = sign_in(client, floors, Role.front_desk)
    with capture_logs() as logs:
        answer = client.post(
            f"{API}/visits",
            headers=desk,
            json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True},
        )
    assert answer.status_code == 503 and "Retry-After" not in answer.headers
    assert answer.json()["error"] == "log_damaged" and "event at seq 7" in answer.json()["message"]
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["log_damaged"]
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["problems"] == [
        "the embedded log of 1 of 1 clinics holds an event this server cannot fold: a person must repair it (the "
        "server's own log names the event)"
    ]
    assert "ma on t9" not in ready.text  # who tapped on which device is not for anyone who can reach /readyz


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00Z", "9999-12-31T23:00:00-12:00"])
def test_a_start_at_the_ends_of_the_calendar_is_refused_naming_it_not_a_500(app, start: str) -> None:
    """9999-12-31 is a common EHR placeholder; in the clinic's zone it is past the last date Python has (an ops
    review: a 500 on a booking, a schedule check and `floor import`)."""
    client, floors = app
    desk, manager = sign_in(client, floors, Role.front_desk), sign_in(client, floors, Role.manager)
    booked = client.post(
        f"{API}/visits",
        headers=desk,
        json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "start": start},
    )
    assert booked.status_code == 422 and booked.json()["field"] == "start", booked.text
    csv = f"external_id,time,provider,visit_type,patient_name\nEHR-1,{start},kim,follow,Ann Lee\n"
    for check in ("true", "false"):
        answer = client.post(
            f"{API}/schedule?date={START.date()}&check={check}",
            headers={**manager, "Content-Type": "text/csv"},
            content=csv.encode(),
        )
        assert answer.status_code == 422, answer.text
        assert [(e["line"], e["field"]) for e in answer.json()["errors"]] == [(2, "time")]


def test_a_damaged_past_day_is_a_503_naming_its_file_and_learning_leaves_only_it_out(tmp_path) -> None:
    """A day file damaged in the middle (`floor check` reports it): reading that day was a 500 and a traceback,
    and learning stopped at it, leaving out the intact days too (an ops review)."""
    damaged_day = START.date() - dt.timedelta(days=3)
    intact = [START.date() - dt.timedelta(days=2), START.date() - dt.timedelta(days=1)]
    intact_day = intact[-1]
    (tmp_path / "riverside").mkdir()
    whole = frame(record(1, day=damaged_day)) + frame(record(2, day=damaged_day))
    (tmp_path / "riverside" / f"{damaged_day}.log").write_bytes(
        whole[:20] + b"#" + whole[21:] + frame(record(3, day=damaged_day))
    )
    for seq, day in enumerate(intact, start=4):  # a server starts on the two newest days: these
        (tmp_path / "riverside" / f"{day}.log").write_bytes(frame(record(seq, day=day)))
    floors = test_floors(tmp_path, clock=ManualClock(START), tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        for path in ("board", "measures", "export/encounters"):
            answer = client.get(f"{API}/{path}?day={damaged_day}", headers=manager)
            assert answer.status_code == 503, answer.text
            assert f"{damaged_day}.log: damaged record at byte 0" in answer.json()["message"]
            assert "floor check" in answer.json()["message"] and "Nothing was stored" not in answer.json()["message"]
        assert client.get(f"{API}/board?day={intact_day}", headers=manager).status_code == 200
        with capture_logs() as logs:
            learned = client.blocking_portal.call(floors.get("riverside").learn)
        assert learned.days == intact
        [skipped] = [e for e in logs if e["event"] == "learning_left_out_a_day"]
        assert skipped["day"] == str(damaged_day)


def test_a_past_day_holding_an_event_no_floor_can_fold_is_a_503_naming_it_not_a_500(tmp_path) -> None:
    """The same event that today's floor answers 503 for (LogCorrupt) was a KeyError and a 500 on every read of a
    past day holding it (a hostile review)."""
    bad_day, yesterday = START.date() - dt.timedelta(days=2), START.date() - dt.timedelta(days=1)
    (tmp_path / "riverside").mkdir()
    first = record(1, day=bad_day).event
    unbooked = StepTaken("v-never-booked", Stage.roomed, Stage.arrived, room="e1")
    bad = Event(2, first.at + dt.timedelta(seconds=5), bad_day, "ma", "t9", 1, unbooked)
    (tmp_path / "riverside" / f"{bad_day}.log").write_bytes(frame(record(1, day=bad_day)) + frame(Record(bad)))
    (tmp_path / "riverside" / f"{yesterday}.log").write_bytes(frame(record(3, day=yesterday)))
    floors = test_floors(tmp_path, clock=ManualClock(START), tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        for path in ("board", "measures", "lateness", "export/encounters", "export/measures"):
            answer = client.get(f"{API}/{path}?day={bad_day}", headers=manager)
            assert answer.status_code == 503, (path, answer.text)
            assert "event at seq 2 (roomed" in answer.json()["message"], path


def test_one_clinics_damaged_log_leaves_the_server_ready_for_the_others_and_says_which(tmp_path) -> None:
    """Every server of a shared log meets the same event: /readyz 503 for one clinic's damage took every server
    out of rotation, and the other clinics down with it (a review). It names the clinic instead."""
    lakeside = msgspec.structs.replace(demo_clinic(), id="lakeside", name="Lakeside Clinic")
    floors = test_floors(tmp_path, [demo_clinic(), lakeside], clock=ManualClock(START), tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        runtime = floors.get("riverside")
        runtime.today.unfoldable, runtime.stale = "clinic riverside: its log's event at seq 7 cannot be folded", True
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["damaged_clinics"] == ["riverside"] and "seq 7" not in ready.json()["damaged"]
        floors.get("lakeside").today.unfoldable, floors.get("lakeside").stale = "clinic lakeside: ...", True
        assert client.get("/readyz").status_code == 503  # no clinic it can serve
