"""Clinic days: two days across midnight in Auckland (a day ahead of UTC), past days read-only and readable
(measures, board, export), a restart that loads only today, and retention that prunes old days."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.measurereport import MeasureReport
from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.config import AppointmentTime
from floor.core.access import Role
from floor.fanout import Hub
from floor.log.base import Record
from floor.log.embedded import EmbeddedLog
from floor.log.files import OsFiles
from floor.runtime import ClinicRuntime
from floor.web.app import create_app
from tests.support.clinics import quiet_clinic
from tests.support.records import T0, event
from tests.support.staff import sign_in, test_floors

AUCKLAND = msgspec.structs.replace(quiet_clinic(), timezone="Pacific/Auckland")
TZ = AUCKLAND.tz
FIRST, SECOND = dt.date(2026, 11, 23), dt.date(2026, 11, 24)
API = "/api/clinics/riverside"


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ).astimezone(dt.UTC)


def test_two_clinic_days_across_midnight_in_auckland(tmp_path: Path) -> None:
    clock = ManualClock(local(FIRST, 9))  # 09:00 on the 23rd in Auckland is still the 22nd in UTC
    floors = test_floors(tmp_path, [AUCKLAND], clock=clock, tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)

        def post(path: str, body: dict, minutes: float = 5) -> dict:
            clock.advance(minutes=minutes)
            answer = client.post(f"{API}{path}", json=body, headers=manager)
            assert answer.status_code == 201, answer.text
            return answer.json()

        def walk_in(name: str) -> str:
            return post(
                "/visits", {"patient_name": name, "provider": "kim", "visit_type": "follow", "walk_in": True}, minutes=0
            )["visit"]["id"]

        seen = walk_in("Ann Lee")
        for step in (
            {"type": "roomed", "room": "e1"},
            {"type": "prep_done"},
            {"type": "provider_in"},
            {"type": "teach_back_done"},
            {"type": "checked_out"},
        ):
            post(f"/visits/{seen}/events", step)
        missed = post(
            "/visits",
            {
                "patient_name": "Bo Chen",
                "provider": "okafor",
                "visit_type": "follow",
                "start": local(FIRST, 10).isoformat(),
            },
        )["visit"]["id"]
        clock.set(local(FIRST, 10, 20))
        post(f"/visits/{missed}/events", {"type": "no_show"}, minutes=0)
        clock.set(local(FIRST, 23, 40))
        late = walk_in("Cy Diaz")
        post(f"/visits/{late}/events", {"type": "roomed", "room": "e2"})
        first_day = client.get(f"{API}/measures", headers=manager).json()

        # 00:10 on the 24th in Auckland; in UTC it is still the 23rd. The next tap opens the new day.
        clock.set(local(SECOND, 0, 10))
        assert clock.now().date() == FIRST
        today = post(
            "/visits",
            {"patient_name": "Di Evans", "provider": "kim", "visit_type": "follow", "walk_in": True},
            minutes=0,
        )
        assert today["event"]["day"] == str(SECOND)
        board = client.get(f"{API}/board", headers=manager).json()
        assert board["day"] == str(SECOND) and [v["patient_name"] for v in board["visits"]] == ["Di Evans"]
        assert all(r["state"] == "ready" for r in board["rooms"])  # a new day opens with every room ready
        assert sorted(p.name for p in (tmp_path / "riverside").glob("*.log")) == [f"{FIRST}.log", f"{SECOND}.log"]

        # The first day is closed: a tap naming one of its visits changes nothing.
        seq = floors.get("riverside").floor.seq
        refused = client.post(f"{API}/visits/{late}/events", json={"type": "prep_done"}, headers=manager)
        assert refused.status_code == 404 and "today" in refused.json()["message"]
        assert floors.get("riverside").floor.seq == seq

        # Its measures, board and journeys stay readable.
        past = client.get(f"{API}/measures", params={"day": str(FIRST)}, headers=manager)
        assert past.status_code == 200, past.text
        clinic = past.json()["clinic"]
        assert (clinic["booked"], clinic["checked_out"], clinic["no_show"], clinic["seen"]) == (3, 1, 1, 1)
        assert clinic["cycle_time"] == {"count": 1, "median": 25.0, "p90": 25.0}
        assert clinic["arrival_to_roomed"]["count"] == 2
        assert past.json()["providers"]["okafor"]["no_show"] == 1
        for name in ("booked", "checked_out", "no_show", "cycle_time", "arrival_to_roomed", "teach_back_rate"):
            assert clinic[name] == first_day["clinic"][name], name
        assert client.get(f"{API}/measures", headers=manager).json()["clinic"]["booked"] == 1

        old_board = client.get(f"{API}/board", params={"day": str(FIRST)}, headers=manager).json()
        assert old_board["day"] == str(FIRST)
        assert {v["patient_name"]: v["stage"] for v in old_board["visits"]} == {
            "Ann Lee": "checked_out",
            "Bo Chen": "no_show",
            "Cy Diaz": "roomed",
        }
        assert {r["id"]: r["state"] for r in old_board["rooms"]}["e2"] == "occupied"
        # A past day's patients are for reports: the floor's staff see today's board only.
        desk = sign_in(client, floors, Role.front_desk)
        refused = client.get(f"{API}/board", params={"day": str(FIRST)}, headers=desk)
        assert refused.status_code == 403 and "past day" in refused.json()["message"]
        assert client.get(f"{API}/board", headers=desk).status_code == 200

        exported = client.get(f"{API}/export/encounters", params={"day": str(FIRST)}, headers=manager)
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/fhir+json")
        bundle = Bundle.model_validate_json(exported.content)
        # Cy Diaz was still in a room when the day closed: how that visit ended, Floor was never told.
        assert sorted(e.resource.status for e in bundle.entry) == ["cancelled", "finished", "unknown"]
        report = MeasureReport.model_validate_json(
            client.get(f"{API}/export/measures", params={"day": str(FIRST)}, headers=manager).content
        )
        assert report.status == "complete"
        assert {g.code.coding[0].code: g for g in report.group}["booked"].measureScore.value == 3
        csv = client.get(f"{API}/export/measures", params={"day": str(FIRST), "format": "csv"}, headers=manager)
        assert csv.status_code == 200
        clinic_row = csv.text.splitlines()[1].split(",")
        # As it closed, in the clinic's time: a day gone by's figures, final.
        assert clinic_row[:2] == ["riverside", str(FIRST)] and clinic_row[2].startswith(f"{FIRST}T"), clinic_row
        assert clinic_row[3:8] == ["complete", "arrival", "", "", "3"], clinic_row
        assert csv.headers["content-type"] == "text/csv; charset=utf-8"  # once (it was said twice)

        tomorrow = client.get(f"{API}/measures", params={"day": str(SECOND + dt.timedelta(days=1))}, headers=manager)
        assert tomorrow.status_code == 422 and tomorrow.json()["field"] == "day"

    # After a restart on the second day, only that day is loaded; the first is still read from the log.
    floors = test_floors(tmp_path, [AUCKLAND], clock=clock, tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        assert [e.day for e in floors.get("riverside").events] == [SECOND]
        again = client.get(f"{API}/measures", params={"day": str(FIRST)}, headers=manager).json()
        assert again["clinic"]["booked"] == 3 and again["clinic"]["cycle_time"]["median"] == 25.0


class CountingFiles(OsFiles):
    def __init__(self) -> None:
        self.read_paths: list[Path] = []

    def read(self, path: Path) -> bytes:
        self.read_paths.append(Path(path))
        return super().read(path)


@pytest.mark.anyio
async def test_startup_reads_only_the_newest_days_whatever_the_history(tmp_path: Path) -> None:
    last = dt.date(2026, 11, 23)
    writer = EmbeddedLog(tmp_path)
    await writer.open()
    seq = 0
    for n in range(60):
        for _ in range(5):
            seq += 1
            await writer.append("riverside", Record(event(seq, day=last - dt.timedelta(days=59 - n))))
    await writer.close()

    files = CountingFiles()
    clinic = quiet_clinic()
    clock = ManualClock(dt.datetime.combine(last, dt.time(15), tzinfo=clinic.tz))
    runtime = ClinicRuntime(clinic, EmbeddedLog(tmp_path, files), clock, Hub())
    await runtime.start()
    assert runtime.floor.seq == seq and [e.day for e in runtime.events] == [last] * 5
    # Today's file (for the floor and the last seq) and yesterday's (idempotency receipts): 2 of 60 days.
    assert {p.stem for p in files.read_paths} == {str(last), str(last - dt.timedelta(days=1))}


@pytest.mark.anyio
async def test_a_starting_server_prunes_the_days_past_retention(tmp_path: Path) -> None:
    last = dt.date(2026, 11, 23)
    writer = EmbeddedLog(tmp_path)
    seq = 0
    for n in range(10):
        seq += 1
        await writer.append("riverside", Record(event(seq, day=last - dt.timedelta(days=9 - n))))
    await writer.close()
    clinic = quiet_clinic()
    floors = test_floors(
        tmp_path, [clinic], clock=ManualClock(dt.datetime.combine(last, dt.time(15), tzinfo=clinic.tz))
    )
    floors.retention_days = 3
    await floors.start()
    try:
        for _ in range(100):  # the prune runs beside the start
            days = sorted(p.stem for p in (tmp_path / "riverside").glob("*.log"))
            if len(days) == 3:
                break
            await asyncio.sleep(0.02)
        assert days == [str(last - dt.timedelta(days=n)) for n in (2, 1, 0)]
        assert floors.get("riverside").floor.seq == seq
    finally:
        await floors.stop()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_floor_export_reads_a_day_from_the_data_directory(tmp_path: Path, capsys, monkeypatch) -> None:
    from floor.cli import main

    async def write() -> None:
        writer = EmbeddedLog(tmp_path)
        for seq in (1, 2, 3):
            await writer.append("riverside", Record(event(seq)))
        await writer.close()

    asyncio.run(write())
    monkeypatch.delenv("FLOOR_CLINICS", raising=False)
    monkeypatch.delenv("FLOOR_REDIS_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    # `main` points the logs at this test's captured stderr, which later tests would find closed.
    monkeypatch.setattr("floor.cli.configure", lambda level: None)
    # The export asks the clock whether the day is still open: the afternoon of the day the events were stored.
    clock = ManualClock(T0 + dt.timedelta(hours=2))
    monkeypatch.setattr("floor.cli.CLOCK", clock)
    before = (tmp_path / "riverside" / "2026-11-23.log").read_bytes()
    main(["export", "--clinic", "riverside", "--data-dir", str(tmp_path)])  # today, by that clock
    bundle = Bundle.model_validate_json(capsys.readouterr().out)
    assert [e.resource.status for e in bundle.entry] == ["arrived"] * 3
    main(["export", "--clinic", "riverside", "--day", "2026-11-23", "--data-dir", str(tmp_path), "--what", "measures"])
    report = MeasureReport.model_validate_json(capsys.readouterr().out)
    assert {g.code.coding[0].code: g for g in report.group}["waiting"].measureScore.value == 3
    main(
        [
            "export",
            "--clinic",
            "riverside",
            "--day",
            "2026-11-23",
            "--data-dir",
            str(tmp_path),
            "--what",
            "measures-csv",
        ]
    )
    # Today's, as of now (the clock's, in the clinic's time), and the day can still change it.
    as_of = clock.now().astimezone(ZoneInfo("America/Chicago")).isoformat()
    assert capsys.readouterr().out.splitlines()[1].startswith(f"riverside,2026-11-23,{as_of},pending,arrival,,,3,")
    # A week later the day has closed: visits it left open are unknown, not still arrived (an EHR keeps those open).
    clock.advance(days=7)
    main(["export", "--clinic", "riverside", "--day", "2026-11-23", "--data-dir", str(tmp_path)])
    bundle = Bundle.model_validate_json(capsys.readouterr().out)
    assert [e.resource.status for e in bundle.entry] == ["unknown"] * 3
    assert (tmp_path / "riverside" / "2026-11-23.log").read_bytes() == before  # read, never written
    # A day the log does not hold, or not yet begun, is no day of zeros (a review: a cron job with a wrong day or
    # --data-dir sent "complete" reports of zeros, exit 0): refused in a line, as the API refuses them.
    for day, why in (("2026-11-01", "its log begins on 2026-11-23"), ("2027-01-04", "has not begun yet")):
        with pytest.raises(SystemExit) as refused:
            main(["export", "--clinic", "riverside", "--day", day, "--data-dir", str(tmp_path), "--what", "measures"])
        assert why in str(refused.value.code), refused.value.code
    with pytest.raises(SystemExit) as refused:
        main(["export", "--clinic", "riverside", "--day", "2026-11-20", "--data-dir", str(tmp_path / "wrong")])
    assert "holds no day of this clinic" in str(refused.value.code)
    assert capsys.readouterr().out == ""


def test_a_past_day_is_measured_and_exported_by_the_clinic_file_it_ran_on(tmp_path: Path) -> None:
    """The clinic switched to appointment_time = "provider" overnight: yesterday's on-time start (provider in at
    9:09 for a 9:00 booking, rooming and prep after the booked time) became 9 minutes late, and its export said
    "provider" (a review). A past day is read by the clinic file it ran on, kept as it ran."""
    chicago = quiet_clinic()
    clock = ManualClock(dt.datetime.combine(FIRST, dt.time(8, 50), tzinfo=chicago.tz))
    floors = test_floors(tmp_path, [chicago], clock=clock, tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        start = dt.datetime.combine(FIRST, dt.time(9, 0), tzinfo=chicago.tz)
        body = {"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "start": start.isoformat()}
        visit = client.post(f"{API}/visits", json=body, headers=manager).json()["visit"]["id"]
        for minutes, step in ((5, {"type": "arrived"}), (10, {"type": "roomed", "room": "e1"})):
            clock.set(start + dt.timedelta(minutes=minutes - 5))
            assert client.post(f"{API}/visits/{visit}/events", json=step, headers=manager).status_code == 201
        for minutes, step in ((6, "prep_done"), (9, "provider_in"), (25, "checked_out")):
            clock.set(start + dt.timedelta(minutes=minutes))
            answer = client.post(f"{API}/visits/{visit}/events", json={"type": step}, headers=manager)
            assert answer.status_code == 201, answer.text
        as_ran = client.get(f"{API}/measures", headers=manager).json()["clinic"]
        assert as_ran["on_time_starts"]["hits"] == 1
    assert (tmp_path / "riverside" / "clinic" / f"{FIRST}.json").exists()

    clock.set(dt.datetime.combine(SECOND, dt.time(8, 0), tzinfo=chicago.tz))
    switched = msgspec.structs.replace(
        chicago, session=msgspec.structs.replace(chicago.session, appointment_time=AppointmentTime.provider)
    )
    floors = test_floors(tmp_path, [switched], clock=clock, tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        past = client.get(f"{API}/measures", params={"day": str(FIRST)}, headers=manager).json()["clinic"]
        assert past["on_time_starts"] == as_ran["on_time_starts"]
        assert past["worst_lateness"] == as_ran["worst_lateness"]
        csv = client.get(f"{API}/export/measures", params={"day": str(FIRST), "format": "csv"}, headers=manager)
        assert csv.text.splitlines()[1].startswith(f"riverside,{FIRST},{FIRST}T17:00:00-06:00,complete,arrival,")
        report = client.get(f"{API}/export/measures", params={"day": str(FIRST)}, headers=manager).json()
        assert "arrival" in str(report["extension"])
        assert client.get(f"{API}/board", headers=manager).json()["session"]["appointment_time"] == "provider"
