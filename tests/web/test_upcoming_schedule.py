"""A schedule imported ahead of its day: checked whole when it comes (422 and nothing kept if bad), kept
(202), listed, replaced by a newer file or withdrawn, and booked onto the floor, as the manager who sent it,
when the clinic day opens; kept across a restart, and booked by a server that starts on the day."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import msgspec
import pytest
from litestar.testing import TestClient
from structlog.testing import capture_logs

from floor.clock import ManualClock
from floor.core.access import Role
from floor.core.events import AlertRaised
from floor.fanout import Hub
from floor.floors import Floors
from floor.runtime import ClinicRuntime
from floor.schedule import Format, book_upcoming, import_schedule
from floor.schedule.upcoming import UpcomingSchedule
from floor.web.app import create_app
from tests.support.clinics import quiet_clinic
from tests.support.staff import sign_in, test_floors

DATA = Path(__file__).resolve().parent.parent / "data"
EVENING = dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.UTC)  # 18:30 on the 23rd in Chicago
TOMORROW = dt.date(2026, 11, 24)
URL = f"/api/clinics/riverside/schedule?date={TOMORROW}"
CSV = {"Content-Type": "text/csv"}


def _tomorrows_csv() -> bytes:
    """The sample CSV: its HH:MM times are on whatever day it is imported for."""
    return (DATA / "schedule-riverside.csv").read_bytes()


def _visits(client, headers) -> dict[str, dict]:
    board = client.get("/api/clinics/riverside/board", headers=headers).json()
    return {v["external_id"]: v for v in board["visits"] if v["external_id"]}


def _wait_for(check, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, "the day opened but its schedule was not booked"
        time.sleep(0.02)
    return found


def _serve(tmp_path: Path, clock: ManualClock):
    # Ticks every 50 ms, so the day's opening is seen at once (a server ticks every 15 s).
    floors = test_floors(tmp_path, clock=clock, tick_seconds=0.05)
    return floors, TestClient(create_app(floors))


def test_tomorrows_schedule_is_kept_then_booked_when_the_day_opens(tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    floors, client = _serve(tmp_path, clock)
    with client:
        manager = sign_in(client, floors, Role.manager)
        first = client.post(
            URL, content=_tomorrows_csv().replace(b"Maria Lopez", b"Maria Lopes"), headers={**manager, **CSV}
        )
        assert first.status_code == 202, first.text
        r = client.post(URL, content=_tomorrows_csv(), headers={**manager, **CSV})  # a corrected file replaces it
        assert r.status_code == 202, r.text
        summary = r.json()
        assert (summary["added"], summary["unchanged"], summary["day"]) == (5, 1, str(TOMORROW))
        assert dt.datetime.fromisoformat(summary["books_at"]) == dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)
        assert client.blocking_portal.call(floors.log.last_seq, "riverside") == 0, "a day ahead was booked now"
        assert _visits(client, manager) == {}
        listed = client.get("/api/clinics/riverside/schedule/upcoming", headers=manager).json()["days"]
        assert [(d["day"], d["format"], d["appointments"], d["staged_by"]) for d in listed] == [
            (str(TOMORROW), "csv", 6, "mgr-dana")
        ]

        clock.set(dt.datetime(2026, 11, 24, 6, 0, 5, tzinfo=dt.UTC))  # just past midnight in Chicago
        visits = _wait_for(lambda: _visits(client, manager))
        assert sorted(visits) == ["EHR-1001", "EHR-1002", "EHR-1003", "EHR-1004", "EHR-1006"]
        assert visits["EHR-1001"]["patient_name"] == "Maria Lopez"
        history = client.get(f"/api/clinics/riverside/visits/{visits['EHR-1001']['id']}/audit", headers=manager).json()
        assert history["entries"][0]["person"] == "mgr-dana"
        _wait_for(lambda: client.get("/api/clinics/riverside/schedule/upcoming", headers=manager).json()["days"] == [])
        # On the day, the same file changes nothing.
        again = client.post(URL, content=_tomorrows_csv(), headers={**manager, **CSV})
        assert again.status_code == 200 and again.json()["unchanged"] == 6


def test_a_bad_file_for_a_day_ahead_is_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    floors, client = _serve(tmp_path, ManualClock(EVENING))
    with client:
        manager = sign_in(client, floors, Role.manager)
        r = client.post(URL, content=(DATA / "schedule-riverside-bad.csv").read_bytes(), headers={**manager, **CSV})
        assert r.status_code == 422 and r.json()["errors"], r.text
        # A row pinned to the 23rd is named: a file for the wrong day is refused, not booked a day late.
        pinned = _tomorrows_csv().replace(b"EHR-1006,10:00,", b"EHR-1006,2026-11-23T10:00:00-06:00,")
        wrong_day = client.post(URL, content=pinned, headers={**manager, **CSV})
        assert wrong_day.status_code == 422 and "not on 2026-11-24" in wrong_day.text
        assert client.get("/api/clinics/riverside/schedule/upcoming", headers=manager).json()["days"] == []
        desk = sign_in(client, floors, Role.front_desk)
        assert client.post(URL, content=_tomorrows_csv(), headers={**desk, **CSV}).status_code == 403


def test_a_kept_schedule_can_be_withdrawn(tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    floors, client = _serve(tmp_path, clock)
    with client:
        manager = sign_in(client, floors, Role.manager)
        assert client.post(URL, content=_tomorrows_csv(), headers={**manager, **CSV}).status_code == 202
        assert client.delete(URL, headers=manager).status_code == 204
        gone = client.delete(URL, headers=manager)
        assert gone.status_code == 404 and "No schedule is waiting" in gone.json()["message"]
        clock.set(dt.datetime(2026, 11, 24, 6, 0, 5, tzinfo=dt.UTC))
        _wait_for(lambda: client.get("/api/clinics/riverside/board", headers=manager).json()["day"] == str(TOMORROW))
        time.sleep(0.2)  # a few ticks of the new day
        assert _visits(client, manager) == {}


def test_a_withdrawal_goes_with_the_file_seen_and_leaves_one_kept_since(tmp_path: Path) -> None:
    """A manager withdraws the file their page listed; another manager kept a newer one for the day meanwhile: it
    stays, and the refusal says what is kept now (a late Withdraw took the newer file away: a review of the
    console)."""
    clock = ManualClock(EVENING)
    floors, client = _serve(tmp_path, clock)
    with client:
        manager = sign_in(client, floors, Role.manager)
        assert client.post(URL, content=_tomorrows_csv(), headers={**manager, **CSV}).status_code == 202
        listed = client.get("/api/clinics/riverside/schedule/upcoming", headers=manager).json()["days"]
        seen = listed[0]["staged_at"]
        clock.set(EVENING + dt.timedelta(minutes=5))
        one = b"external_id,time,provider,visit_type,patient_name\nX-1,10:00,kim,follow,Ann Lee\n"
        assert client.post(URL, content=one, headers={**manager, **CSV}).status_code == 202
        late = client.delete(f"{URL}&kept_at={quote(seen)}", headers=manager)
        assert late.status_code == 409, late.text
        assert late.json()["error"] == "stale_version" and late.json()["field"] == "kept_at"
        assert "changed since" in late.json()["message"] and "1 appointments" in late.json()["message"]
        now = client.get("/api/clinics/riverside/schedule/upcoming", headers=manager).json()["days"]
        assert [d["appointments"] for d in now] == [1]
        assert client.delete(f"{URL}&kept_at={quote(now[0]['staged_at'])}", headers=manager).status_code == 204
        assert client.get("/api/clinics/riverside/schedule/upcoming", headers=manager).json()["days"] == []


def test_a_checked_file_is_kept_only_over_the_file_its_manager_saw(tmp_path: Path) -> None:
    """A manager checks a file for tomorrow (nothing kept then), another keeps theirs meanwhile, and the first
    keeps theirs after the check saying nothing would be replaced: refused, naming the file kept now, and the
    other manager's file stays (Keep replaced it unseen: the check warned at check time only)."""
    clock = ManualClock(EVENING)
    floors, client = _serve(tmp_path, clock)
    with client:
        manager = sign_in(client, floors, Role.manager)
        one = b"external_id,time,provider,visit_type,patient_name\nX-1,10:00,kim,follow,Ann Lee\n"
        checked = client.post(f"{URL}&check=true", content=_tomorrows_csv(), headers={**manager, **CSV})
        assert checked.status_code == 200, checked.text
        assert client.post(f"{URL}&replaces=none", content=one, headers={**manager, **CSV}).status_code == 202
        clock.set(EVENING + dt.timedelta(minutes=5))
        late = client.post(f"{URL}&replaces=none", content=_tomorrows_csv(), headers={**manager, **CSV})
        assert late.status_code == 409, late.text
        assert late.json()["error"] == "stale_version" and late.json()["field"] == "replaces"
        assert "changed since" in late.json()["message"] and "1 appointments" in late.json()["message"]
        listed = client.get("/api/clinics/riverside/schedule/upcoming", headers=manager).json()["days"]
        assert [d["appointments"] for d in listed] == [1]
        # Over the file as listed now, it is kept; over that one again (it was replaced), it is not.
        seen = quote(listed[0]["staged_at"])
        assert (
            client.post(f"{URL}&replaces={seen}", content=_tomorrows_csv(), headers={**manager, **CSV}).status_code
            == 202
        )
        again = client.post(f"{URL}&replaces={seen}", content=one, headers={**manager, **CSV})
        assert again.status_code == 409 and "6 appointments" in again.json()["message"]
        assert client.delete(URL, headers=manager).status_code == 204
        gone = client.post(f"{URL}&replaces={seen}", content=one, headers={**manager, **CSV})
        assert gone.status_code == 409 and "withdrawn" in gone.json()["message"]
        bad = client.post(f"{URL}&replaces=yesterday", content=one, headers={**manager, **CSV})
        assert bad.status_code == 422 and bad.json()["field"] == "replaces"
        assert client.get("/api/clinics/riverside/schedule/upcoming", headers=manager).json()["days"] == []


def test_a_kept_schedule_survives_a_restart_and_a_server_starting_on_the_day_books_it(tmp_path: Path) -> None:
    floors, client = _serve(tmp_path, ManualClock(EVENING))
    with client:
        manager = sign_in(client, floors, Role.manager)
        assert client.post(URL, content=_tomorrows_csv(), headers={**manager, **CSV}).status_code == 202
    # Down over midnight; back at 07:00 on the day.
    floors, client = _serve(tmp_path, ManualClock(dt.datetime(2026, 11, 24, 13, 0, tzinfo=dt.UTC)))
    with client:
        manager = sign_in(client, floors, Role.manager)
        visits = _wait_for(lambda: _visits(client, manager))
        assert len(visits) == 5


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextlib.asynccontextmanager
async def _kept_for_tomorrow(tmp_path: Path) -> AsyncIterator[tuple[ManualClock, Floors, ClinicRuntime]]:
    """A server in the evening, with tomorrow's file kept by a manager."""
    clock = ManualClock(EVENING)
    floors = test_floors(tmp_path, [quiet_clinic()], clock=clock, tick_seconds=3600)
    await floors.start()
    runtime = floors.get("riverside")
    try:
        await import_schedule(
            runtime, _tomorrows_csv(), Format.csv, TOMORROW, "mgr-dana", "t1", Role.manager, floors.upcoming
        )
        yield clock, floors, runtime
    finally:
        await floors.stop()


@pytest.mark.anyio
async def test_a_kept_schedule_the_clinic_can_no_longer_take_is_reported_and_dropped(tmp_path: Path) -> None:
    async with _kept_for_tomorrow(tmp_path) as (clock, floors, runtime):
        # Dr Silva left the clinic overnight: her appointment can no longer be booked.
        runtime.clinic = msgspec.structs.replace(
            runtime.clinic, providers=[p for p in runtime.clinic.providers if p.id != "silva"]
        )
        clock.set(dt.datetime(2026, 11, 24, 6, 0, 5, tzinfo=dt.UTC))
        runtime.tick()
        with capture_logs() as logs:
            await book_upcoming(runtime, floors.upcoming)
        refused = [line for line in logs if line["event"] == "upcoming_schedule_refused"]
        assert len(refused) == 1 and refused[0]["log_level"] == "error"
        assert any("silva" in p for p in refused[0]["problems"])
        assert runtime.floor.visits == {}, "part of a refused file was booked"
        assert await floors.upcoming.days("riverside") == []
        # The managers see it on the floor, not only in the server's log; once, however often it is tried.
        (alert,) = runtime.floor.alerts.values()
        assert alert.kind == "schedule" and alert.active and alert.episode == f"schedule-{TOMORROW}"
        assert any("line 5: provider: unknown provider 'silva'" in p for p in alert.detail.problems)
        # Raised again (another server, a retry): a new id, the same episode, and still one alert.
        again = runtime.floor.new_alert("schedule", alert.detail, episode=f"schedule-{TOMORROW}")
        assert again.alert != alert.id
        await runtime.raise_alert(again)
        await runtime.raise_alert(AlertRaised(alert.id, "schedule", alert.detail))
        assert [e.type for e in runtime.events] == ["alert_raised"]


@pytest.mark.anyio
async def test_two_servers_opening_the_day_book_the_kept_schedule_once(tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    floors = test_floors(tmp_path, [quiet_clinic()], clock=clock, tick_seconds=3600)
    await floors.start()
    try:
        here = floors.get("riverside")
        await import_schedule(
            here, _tomorrows_csv(), Format.csv, TOMORROW, "mgr-dana", "t1", Role.manager, floors.upcoming
        )
        clock.set(dt.datetime(2026, 11, 24, 6, 0, 5, tzinfo=dt.UTC))
        # A second server on the same log (as with Redis) opens the same day at the same moment.
        there = ClinicRuntime(here.clinic, floors.log, clock, Hub())
        await there.start()
        here.tick()
        await asyncio.gather(book_upcoming(here, floors.upcoming), book_upcoming(there, floors.upcoming))
        await here.writer.catch_up()
        external = sorted(v.external_id for v in here.floor.visits.values())
        assert external == ["EHR-1001", "EHR-1002", "EHR-1003", "EHR-1004", "EHR-1006"]
    finally:
        await floors.stop()


def test_floor_import_keeps_a_later_days_file_for_the_server_to_book(tmp_path: Path, capsys, monkeypatch) -> None:
    from floor import cli

    monkeypatch.setattr(cli, "configure", lambda level: None)
    monkeypatch.setattr(cli, "CLOCK", ManualClock(EVENING))  # the evening before the day the file is for
    clinic = quiet_clinic()
    tomorrow = TOMORROW
    schedule = DATA / "schedule-riverside.csv"
    data = tmp_path / "data"
    cli.main(["import", str(schedule), "--clinic", "riverside", "--data-dir", str(data), "--date", str(tomorrow)])
    out = capsys.readouterr().out
    assert f"riverside {tomorrow}: kept; it is booked when the day opens" in out and "5 to add" in out
    assert not list(data.glob("riverside/*.log")), "a day ahead was booked at once"

    on_the_day = ManualClock(clinic.local(tomorrow, dt.time(7, 0)).astimezone(dt.UTC))
    floors, client = _serve(data, on_the_day)
    with client:
        manager = sign_in(client, floors, Role.manager)
        assert sorted(_wait_for(lambda: _visits(client, manager))) == [
            "EHR-1001",
            "EHR-1002",
            "EHR-1003",
            "EHR-1004",
            "EHR-1006",
        ]


def test_a_schedule_kept_only_after_its_day_opened_is_booked_by_the_next_tick(tmp_path: Path) -> None:
    """A day-ahead file sent just before midnight and kept just after it (reading and planning a large file takes a
    moment): the day's opening had looked and found nothing, and it was never booked, though answered "books at
    midnight" (a hostile review). Every tick looks."""
    clock = ManualClock(EVENING)
    floors, client = _serve(tmp_path, clock)
    with client:
        manager = sign_in(client, floors, Role.manager)
        clock.set(dt.datetime(2026, 11, 24, 6, 0, 5, tzinfo=dt.UTC))  # the day opens, nothing kept for it
        _wait_for(lambda: floors.get("riverside").floor.day == TOMORROW)
        time.sleep(0.2)  # several ticks look and find nothing
        late = UpcomingSchedule("riverside", TOMORROW, "csv", _tomorrows_csv(), 6, clock.now(), "mgr-dana", "t1")
        client.blocking_portal.call(floors.upcoming.put, late)
        visits = _wait_for(lambda: _visits(client, manager))
        assert sorted(visits) == ["EHR-1001", "EHR-1002", "EHR-1003", "EHR-1004", "EHR-1006"]


def test_a_schedule_cannot_be_withdrawn_once_its_day_has_opened(tmp_path: Path) -> None:
    """Withdrawn while its day's opening booked it, it was answered 204 and every visit booked all the same (a
    hostile review). Once the day has opened its schedule is the floor's: 409, saying where to change it."""
    clock = ManualClock(EVENING)
    floors, client = _serve(tmp_path, clock)
    with client:
        manager = sign_in(client, floors, Role.manager)
        assert client.post(URL, content=_tomorrows_csv(), headers={**manager, **CSV}).status_code == 202
        clock.set(dt.datetime(2026, 11, 24, 6, 0, 0, 500, tzinfo=dt.UTC))  # midnight, before any tick sees it
        refused = client.delete(URL, headers=manager)
        assert refused.status_code == 409, refused.text
        assert refused.json()["field"] == "date" and "has opened" in refused.json()["message"]
        visits = _wait_for(lambda: _visits(client, manager))
        assert sorted(visits) == ["EHR-1001", "EHR-1002", "EHR-1003", "EHR-1004", "EHR-1006"]


@pytest.mark.anyio
async def test_a_file_imported_for_today_supersedes_the_one_kept_for_today(tmp_path: Path) -> None:
    """The evening's file was kept for tomorrow; in the morning, before it was booked (the server down at
    midnight), a fresh extract moved Maria Lopez to 10:30 with Dr Okafor. Booked afterwards, the kept file moved
    her back (a review)."""
    async with _kept_for_tomorrow(tmp_path) as (clock, floors, runtime):
        clock.set(dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC))  # 6:00 on the 24th in Chicago
        runtime.tick()
        fresh = _tomorrows_csv().replace(b"EHR-1001,08:00,kim,new", b"EHR-1001,10:30,okafor,new")
        await import_schedule(runtime, fresh, Format.csv, TOMORROW, "mgr-dana", "t1", Role.manager, floors.upcoming)
        assert await floors.upcoming.days("riverside") == []
        await book_upcoming(runtime, floors.upcoming)  # the day's booking, late: nothing older left to book
        [maria] = [v for v in runtime.floor.visits.values() if v.external_id == "EHR-1001"]
        assert (maria.provider, maria.start.astimezone(runtime.clinic.tz).time()) == ("okafor", dt.time(10, 30))


def test_a_check_or_a_day_kept_ahead_names_no_visit_it_has_not_booked(tmp_path: Path) -> None:
    # A row the file would add named a visit id (`"visit": "vk27..."`, and `floor import` of a day ahead printed
    # "line 2: EHR-1001 added vk27..."), drawn by the plan and never any visit's: the import then booked that row
    # under another id. Rows that would add name none; a row about a visit already on the floor names it.
    clock = ManualClock(EVENING)
    floors, client = _serve(tmp_path, clock)
    with client:
        manager = sign_in(client, floors, Role.manager)
        ahead = client.post(URL, content=_tomorrows_csv(), headers={**manager, **CSV})
        assert ahead.status_code == 202, ahead.text
        assert [r.get("visit") for r in ahead.json()["rows"] if r["outcome"] == "added"] == [None] * 5
        today = "/api/clinics/riverside/schedule?date=2026-11-23"
        checked = client.post(f"{today}&check=true", content=_tomorrows_csv(), headers={**manager, **CSV})
        assert checked.status_code == 200, checked.text
        assert [r.get("visit") for r in checked.json()["rows"] if r["outcome"] == "added"] == [None] * 5
        booked = client.post(today, content=_tomorrows_csv(), headers={**manager, **CSV}).json()
        ids = {r["external_id"]: r["visit"] for r in booked["rows"] if r["outcome"] == "added"}
        assert set(ids.values()) == {v["id"] for v in _visits(client, manager).values()}
        again = client.post(f"{today}&check=true", content=_tomorrows_csv(), headers={**manager, **CSV}).json()
        assert {
            r["external_id"]: r["visit"] for r in again["rows"] if r["outcome"] == "unchanged" and "visit" in r
        } == ids
