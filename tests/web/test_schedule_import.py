"""Schedule import over HTTP, with the sample files in tests/data/: a CSV and a FHIR R4 Bundle are booked,
importing again changes nothing, a changed file updates (never duplicates) and cancels, a bad file is refused
whole with 422 naming each line or entry and the field, and nothing is written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.core.access import Role
from floor.web.app import create_app
from tests.support.staff import sign_in, test_floors

DATA = Path(__file__).resolve().parent.parent / "data"
START = dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.UTC)  # 07:00 in Chicago, before the first appointment
DAY = "2026-11-23"
URL = f"/api/clinics/riverside/schedule?date={DAY}"
CSV = {"Content-Type": "text/csv"}
FHIR = {"Content-Type": "application/fhir+json"}


@pytest.fixture
def app(tmp_path):
    floors = test_floors(tmp_path, clock=ManualClock(START))
    with TestClient(create_app(floors)) as client:
        yield client, floors, sign_in(client, floors, Role.manager)


def _post(client, headers, name: str, kind: dict[str, str], url: str = URL):
    return client.post(url, content=(DATA / name).read_bytes(), headers={**headers, **kind})


def _seq(client, floors) -> int:
    return client.blocking_portal.call(floors.log.last_seq, "riverside")


def _visits(client, headers) -> dict[str, dict]:
    board = client.get("/api/clinics/riverside/board", headers=headers).json()
    return {v["external_id"]: v for v in board["visits"] if v["external_id"]}


def _counts(summary: dict) -> dict[str, int]:
    return {k: summary[k] for k in ("added", "updated", "cancelled", "no_show", "unchanged", "not_applied")}


def test_a_csv_schedule_is_booked_and_importing_it_again_changes_nothing(app) -> None:
    client, floors, manager = app
    r = _post(client, manager, "schedule-riverside.csv", CSV)
    assert r.status_code == 200, r.text
    summary = r.json()
    # EHR-1005 is cancelled in the file and was never on the floor: nothing to do.
    assert _counts(summary) == {
        "added": 5,
        "updated": 0,
        "cancelled": 0,
        "no_show": 0,
        "unchanged": 1,
        "not_applied": 0,
    }
    assert [row["where"] for row in summary["rows"]] == [f"line {n}" for n in range(2, 8)]
    visits = _visits(client, manager)
    assert sorted(visits) == ["EHR-1001", "EHR-1002", "EHR-1003", "EHR-1004", "EHR-1006"]
    lopez = visits["EHR-1001"]
    assert (lopez["patient_name"], lopez["provider"], lopez["visit_type"], lopez["stage"], lopez["notes"]) == (
        "Maria Lopez",
        "kim",
        "new",
        "scheduled",
        "Interpreter: Spanish",
    )
    assert dt.datetime.fromisoformat(lopez["start"]) == dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC)
    assert visits["EHR-1003"]["patient_name"] == "O'Brien, Liam"
    seq = _seq(client, floors)
    assert summary["seq"] == seq == 5

    again = _post(client, manager, "schedule-riverside.csv", CSV)
    assert again.status_code == 200, again.text
    assert _counts(again.json()) == {
        "added": 0,
        "updated": 0,
        "cancelled": 0,
        "no_show": 0,
        "unchanged": 6,
        "not_applied": 0,
    }
    assert _seq(client, floors) == seq, "importing the same file again stored events"


def test_a_changed_schedule_updates_and_cancels_visits_without_duplicating_them(app) -> None:
    client, floors, manager = app
    assert _post(client, manager, "schedule-riverside.csv", CSV).status_code == 200
    before = _visits(client, manager)
    # Liam O'Brien (EHR-1003) arrives before the new file comes: the file now cancels him, which the floor
    # cannot do any more. Tom Weber (EHR-1006) is moved in the file and stays where he is.
    r = client.post(
        f"/api/clinics/riverside/visits/{before['EHR-1003']['id']}/events", json={"type": "arrived"}, headers=manager
    )
    assert r.status_code == 201, r.text
    seq = _seq(client, floors)

    r = _post(client, manager, "schedule-riverside-changed.csv", CSV)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert _counts(summary) == {
        "added": 1,
        "updated": 2,
        "cancelled": 0,
        "no_show": 0,
        "unchanged": 3,
        "not_applied": 1,
    }
    rows = {row["external_id"]: row for row in summary["rows"]}
    assert rows["EHR-1001"]["outcome"] == rows["EHR-1002"]["outcome"] == "updated"
    assert rows["EHR-1003"]["outcome"] == "not_applied" and "arrived" in rows["EHR-1003"]["reason"]
    assert rows["EHR-1007"]["outcome"] == "added"
    assert _seq(client, floors) == seq + 3

    after = _visits(client, manager)
    assert len(after) == 6, "an updated appointment was booked again"
    assert after["EHR-1001"]["id"] == before["EHR-1001"]["id"]
    assert dt.datetime.fromisoformat(after["EHR-1001"]["start"]) == dt.datetime(2026, 11, 23, 14, 30, tzinfo=dt.UTC)
    assert (after["EHR-1002"]["id"], after["EHR-1002"]["provider"]) == (before["EHR-1002"]["id"], "okafor")
    assert after["EHR-1003"]["stage"] == "arrived"
    history = client.get(f"/api/clinics/riverside/visits/{after['EHR-1001']['id']}", headers=manager).json()
    assert [e["change"]["type"] for e in history["events"]] == ["visit_booked", "visit_rescheduled"]
    assert history["events"][1]["change"]["previous_start"] == before["EHR-1001"]["start"]

    # The EHR then cancels Sam Chen (EHR-1002): his scheduled visit becomes cancelled.
    text = (
        (DATA / "schedule-riverside-changed.csv")
        .read_text()
        .replace("EHR-1002,08:20,okafor,follow,Sam Chen,,booked", "EHR-1002,08:20,okafor,follow,Sam Chen,,cancelled")
    )
    r = client.post(URL, content=text.encode(), headers={**manager, **CSV})
    assert r.status_code == 200, r.text
    assert r.json()["cancelled"] == 1
    assert _visits(client, manager)["EHR-1002"]["stage"] == "cancelled"
    again = client.post(URL, content=text.encode(), headers={**manager, **CSV}).json()
    assert (again["cancelled"], again["updated"], again["added"]) == (0, 0, 0)


def test_a_bad_csv_is_refused_whole_naming_each_line_and_field(app) -> None:
    client, floors, manager = app
    seq = _seq(client, floors)
    r = _post(client, manager, "schedule-riverside-bad.csv", CSV)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid"
    found = {(e["line"], e.get("field")) for e in body["errors"]}
    assert found == {
        (3, "time"),
        (4, "provider"),
        (5, "visit_type"),
        (6, "patient_name"),
        (7, "external_id"),
        (8, "status"),
        (9, None),
    }
    unknown = next(e for e in body["errors"] if e.get("field") == "provider")
    assert "dr-who" in unknown["message"] and unknown["where"] == "line 4"
    assert _seq(client, floors) == seq, "a refused file wrote something"
    assert _visits(client, manager) == {}


def test_a_fhir_bundle_is_booked_by_identifier_and_id_and_importing_it_again_changes_nothing(app) -> None:
    client, floors, manager = app
    r = _post(client, manager, "schedule-riverside.fhir.json", FHIR)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert _counts(summary) == {
        "added": 3,
        "updated": 0,
        "cancelled": 0,
        "no_show": 0,
        "unchanged": 1,
        "not_applied": 0,
    }
    assert summary["rows"][0]["where"] == "entry 4 (Appointment/ap-1)"
    visits = _visits(client, manager)
    # Dr. Kim by her identifier (the Practitioner's id is the EHR's own), Dr. Okafor by the Practitioner id.
    assert {k: (v["patient_name"], v["provider"], v["visit_type"]) for k, v in visits.items()} == {
        "EHR-1001": ("Maria Lopez", "kim", "new"),  # the official name, not the old one
        "EHR-1002": ("Sam Chen", "kim", "follow"),  # a contained Patient; the code from serviceType
        "EHR-1003": ("Liam O'Brien", "okafor", "annual"),  # the reference's display; arrived only books
    }
    assert all(v["stage"] == "scheduled" for v in visits.values())
    assert visits["EHR-1001"]["notes"] == "Interpreter: Spanish"
    seq = _seq(client, floors)
    again = _post(client, manager, "schedule-riverside.fhir.json", {"Content-Type": "application/json"})
    assert again.status_code == 200, again.text
    assert again.json()["unchanged"] == 4 and _seq(client, floors) == seq


def test_a_bad_fhir_bundle_is_refused_naming_the_entry_the_resource_and_the_field(app) -> None:
    client, floors, manager = app
    seq = _seq(client, floors)
    r = _post(client, manager, "schedule-riverside-bad.fhir.json", FHIR)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert [(e["entry"], e["resource"], e["field"]) for e in errors] == [
        (1, "Patient/pt-7", "birthDate"),  # a resource the library refuses
        (2, "Appointment/ap-20", "status"),  # a required field missing
        (3, "Appointment/ap-21", "participant[1].actor"),  # a Practitioner that is none of the clinic's
    ]
    assert "pr-9000" in errors[2]["message"]
    assert _seq(client, floors) == seq


def test_only_managers_import_only_today_or_soon_and_only_a_schedule_file(app) -> None:
    client, floors, manager = app
    desk = sign_in(client, floors, Role.front_desk)
    body = (DATA / "schedule-riverside.csv").read_bytes()
    r = client.post(URL, content=body, headers={**desk, **CSV})
    assert r.status_code == 403
    assert r.json()["message"] == "Front desk cannot import or withdraw schedules: that is for managers."
    past = client.post("/api/clinics/riverside/schedule?date=2026-11-22", content=body, headers={**manager, **CSV})
    assert past.status_code == 422 and "read-only" in past.json()["message"]
    far = client.post("/api/clinics/riverside/schedule?date=2026-12-25", content=body, headers={**manager, **CSV})
    assert far.status_code == 422 and "too far ahead" in far.json()["message"] and far.json()["field"] == "date"
    wrong = client.post(URL, content=body, headers={**manager, "Content-Type": "application/xml"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "Content-Type"
    assert (
        client.post(
            "/api/clinics/nowhere/schedule?date=2026-11-23", content=body, headers={**manager, **CSV}
        ).status_code
        == 404
    )
    assert _seq(client, floors) == 0


# -- floor import -------------------------------------------------------------------------------------------------


@pytest.fixture
def main(monkeypatch):
    """`floor` in-process, leaving logging as the tests set it (the CLI would bind it to this test's stderr)."""
    from floor import cli

    monkeypatch.setattr(cli, "configure", lambda level: None)
    monkeypatch.setattr(cli, "CLOCK", ManualClock(START))  # `floor import` books on the clinic day of this clock
    return cli.main


def test_floor_import_books_on_the_data_dir_that_a_server_then_serves(tmp_path, capsys, main) -> None:

    data = tmp_path / "data"
    schedule = DATA / "schedule-riverside.csv"
    main(["import", str(schedule), "--clinic", "riverside", "--data-dir", str(data)])
    out = capsys.readouterr().out
    assert "5 added, 0 updated, 0 cancelled, 0 no-show, 1 unchanged, 0 not applied (log at seq 5)" in out
    main(["import", str(schedule), "--clinic", "riverside", "--data-dir", str(data)])
    assert "0 added, 0 updated, 0 cancelled, 0 no-show, 6 unchanged, 0 not applied (log at seq 5)" in (
        capsys.readouterr().out
    )

    floors = test_floors(data, clock=ManualClock(START))
    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        assert sorted(_visits(client, manager)) == ["EHR-1001", "EHR-1002", "EHR-1003", "EHR-1004", "EHR-1006"]
        history = client.get(
            f"/api/clinics/riverside/visits/{_visits(client, manager)['EHR-1001']['id']}", headers=manager
        ).json()
        assert (history["events"][0]["actor"], history["events"][0]["device"]) == ("floor import", "cli")


def test_floor_import_refuses_a_bad_file_and_a_data_dir_a_server_is_using(tmp_path, capsys, main) -> None:
    from floor.log.owner import hold

    data = tmp_path / "data"
    with pytest.raises(SystemExit, match=r"7 problem\(s\); nothing was imported"):
        main(["import", str(DATA / "schedule-riverside-bad.csv"), "--clinic", "riverside", "--data-dir", str(data)])
    err = capsys.readouterr().err
    assert "schedule-riverside-bad.csv: line 4: provider: unknown provider 'dr-who'" in err
    assert not list(data.glob("riverside/*.log")), "a refused file wrote the log"

    server = hold(data)  # as `floor serve` does while it runs
    try:
        with pytest.raises(SystemExit, match=r"a Floor server is running on .*nothing was imported") as refused:
            main(["import", str(DATA / "schedule-riverside.csv"), "--clinic", "riverside", "--data-dir", str(data)])
        assert "/api/clinics/riverside/schedule?date=" in str(refused.value)
    finally:
        server.close()
    assert not list(data.glob("riverside/*.log"))


def test_checking_a_file_says_what_importing_it_would_do_and_stores_nothing(app) -> None:
    client, floors, manager = app
    before = _seq(client, floors)
    bad = _post(client, manager, "schedule-riverside-bad.csv", CSV, url=f"{URL}&check=true")
    assert bad.status_code == 422, bad.text
    assert bad.json()["errors"] and all(e["where"].startswith("line ") for e in bad.json()["errors"])
    good = _post(client, manager, "schedule-riverside.csv", CSV, url=f"{URL}&check=true")
    assert good.status_code == 200, good.text
    assert good.json()["checked"] is True
    assert _counts(good.json())["added"] == 5
    assert _seq(client, floors) == before and _visits(client, manager) == {}
    ahead = _post(
        client, manager, "schedule-riverside.csv", CSV, url="/api/clinics/riverside/schedule?date=2026-11-24&check=true"
    )
    assert ahead.status_code == 200 and ahead.json()["checked"] is True and ahead.json()["books_at"]
    assert client.get("/api/clinics/riverside/schedule/upcoming", headers=manager).json() == {"days": []}
    stored = _post(client, manager, "schedule-riverside.csv", CSV)
    assert stored.status_code == 200 and stored.json()["checked"] is False
    assert len(_visits(client, manager)) == 5


def test_floors_own_encounter_export_sent_back_as_a_schedule_is_refused_not_taken_for_an_empty_day(app) -> None:
    """The day's export imported into a server (a round trip an IT team tries) is a Bundle of Encounters, not
    Appointments: it was answered 200 "nothing to change" for today, and for a day ahead 202, the day's kept file
    replaced by one that books nobody (a hostile review). Refused 422 naming what the Bundle holds; nothing kept."""
    client, floors, manager = app
    assert _post(client, manager, "schedule-riverside.fhir.json", FHIR).status_code == 200
    exported = client.get("/api/clinics/riverside/export/encounters", headers=manager)
    assert exported.status_code == 200
    encounters = len(exported.json()["entry"])
    assert encounters > 0
    tomorrow = "/api/clinics/riverside/schedule?date=2026-11-24"
    assert _post(client, manager, "schedule-riverside.csv", CSV, url=tomorrow).status_code == 202
    seq = _seq(client, floors)
    for url in (URL, URL + "&check=true", tomorrow):
        r = client.post(url, content=exported.content, headers={**manager, **FHIR})
        assert r.status_code == 422, r.text
        [problem] = r.json()["errors"]
        assert problem["where"] == "Bundle" and problem["field"] == "entry"
        assert "no Appointment" in problem["message"] and f"{encounters} Encounter" in problem["message"]
    assert _seq(client, floors) == seq
    [kept] = client.get("/api/clinics/riverside/schedule/upcoming", headers=manager).json()["days"]
    assert (kept["day"], kept["format"], kept["appointments"]) == ("2026-11-24", "csv", 6)


def test_a_schedule_file_over_the_limit_is_refused_saying_the_limit(app) -> None:
    """A busy clinic's Bundle with its full Patient resources can pass 4 MiB: the answer was "Request Entity Too
    Large", which the manager's screen showed as it was, without the limit or what to do (a hostile review)."""
    client, floors, manager = app
    seq = _seq(client, floors)
    r = client.post(URL, content=b" " * (4 * 1024 * 1024 + 1), headers={**manager, **FHIR})
    assert r.status_code == 413
    message = r.json()["message"]
    assert "4 MiB" in message and "Patient" in message
    assert _seq(client, floors) == seq


def test_a_file_sent_as_the_other_format_is_refused_saying_which_media_type_to_send(app) -> None:
    """README's curl line for day.csv, reused for the day's Bundle without changing `Content-Type` (or the other way
    round): the Bundle was six messages of unknown and missing columns ('{'), the CSV "not JSON: invalid
    character (byte 0)"; neither said the file was sent as the wrong kind (a hostile review)."""
    client, floors, manager = app
    seq = _seq(client, floors)
    for name, sent, send in (
        ("schedule-riverside.fhir.json", CSV, "application/fhir+json"),
        ("schedule-riverside.csv", FHIR, "text/csv"),
    ):
        r = _post(client, manager, name, sent)
        assert r.status_code == 422, r.text
        [problem] = r.json()["errors"]
        assert problem["field"] == "Content-Type" and f"Content-Type: {send}" in problem["message"]
    assert _seq(client, floors) == seq


def test_a_schedule_sent_without_its_date_or_with_another_date_form_is_refused_naming_date(app) -> None:
    """Without `?date=` the 400 named no field, and with 11/23/2026 it said "Invalid RFC3339 encoded date", not how
    to write it (a hostile review)."""
    client, _, manager = app
    body = (DATA / "schedule-riverside.csv").read_bytes()
    for url in ("/api/clinics/riverside/schedule", "/api/clinics/riverside/schedule?date=11/23/2026"):
        r = client.post(url, content=body, headers={**manager, **CSV})
        assert r.status_code == 400, r.text
        assert r.json()["field"] == "date" and "YYYY-MM-DD" in r.json()["message"]
    exported = client.get("/api/clinics/riverside/export/encounters?day=23-11-2026", headers=manager)
    assert exported.json()["field"] == "day" and "YYYY-MM-DD" in exported.json()["message"]
