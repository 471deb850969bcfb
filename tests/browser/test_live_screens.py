"""The screens in a real browser: a tap on a tablet reaches an open wall live, no reload (one server, and
across two servers sharing Redis), a stale tap shows the conflict, and a wall rides out a server restart."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, WebSocketRoute

from floor.config import demo_clinic
from floor.core.access import Role
from floor.schedule.upcoming import FileUpcoming, UpcomingSchedule
from tests.browser.conftest import CLINIC, Screens, pair_wall, serious_violations, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.redis_server import RedisServer
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.long]

MA = PEOPLE[Role.medical_assistant][0]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", tmp_path / "server.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def _walk_in(server: ServerProcess, desk: dict[str, str], name: str = "Ann Lee") -> dict:
    answer = httpx.post(
        f"{server.url}/api/clinics/{CLINIC}/visits",
        headers=desk,
        timeout=10,
        json={"patient_name": name, "provider": "kim", "visit_type": "follow", "walk_in": True},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["visit"]


def _room_on_tablet(tablet: Page, visit: str, room: str) -> None:
    """Tap 'Room' on the visit's card and pick the room."""
    card = tablet.locator(f"[data-visit='{visit}']")
    card.wait_for(timeout=10_000)
    card.locator("[data-action='next'][data-step='roomed']").click()
    pick = tablet.locator(f"[data-pick-room='{room}']")
    pick.wait_for(timeout=10_000)
    pick.click()


def _tile_shows(wall: Page, room: str, stage: str, within_ms: int = 10_000) -> None:
    """The wall shows the room's stage. How fast a tap reaches an open wall is a figure of
    `loadtests/tap_latency.py` (tap to wall, printed), not a test's: a starved CI machine may take longer."""
    wall.wait_for_selector(f"[data-room='{room}'][data-stage='{stage}']", timeout=within_ms)


def test_a_tap_on_a_tablet_appears_on_an_open_wall_live(server: ServerProcess, screens: Screens) -> None:
    manager, desk = server.signed_in(Role.manager), server.signed_in(Role.front_desk)
    server.add_staff(MA, Role.medical_assistant)
    wall = screens.open(f"{server.url}/board.html", width=1920, height=1080)
    pair_wall(wall, server, manager)
    visit = _walk_in(server, desk)
    token = wall.locator("[data-room='e1'] [data-token]")

    tablet = screens.open(f"{server.url}/")
    sign_in_page(tablet, MA, PIN)
    wall.evaluate("() => { window.notReloaded = true; }")
    _room_on_tablet(tablet, visit["id"], "e1")
    _tile_shows(wall, "e1", "roomed")
    assert wall.evaluate("() => window.notReloaded") is True, "the wall was reloaded: pushed, it need not be"
    assert token.inner_text().strip() and "Ann" not in wall.content()


def test_the_same_across_two_servers_sharing_redis(tmp_path: Path, screens: Screens) -> None:
    redis = RedisServer(tmp_path / "redis").start()
    a = ServerProcess(tmp_path / "a", tmp_path / "a.log", "--redis", redis.url)
    b = ServerProcess(tmp_path / "b", tmp_path / "b.log", "--redis", redis.url)
    try:
        a.start()
        b.start()
        manager, desk = a.signed_in(Role.manager), a.signed_in(Role.front_desk)
        a.add_staff(MA, Role.medical_assistant)
        wall = screens.open(f"{b.url}/board.html", width=1920, height=1080)
        pair_wall(wall, b, manager)  # paired through B with a token A issued: one directory
        visit = _walk_in(a, desk)
        tablet = screens.open(f"{a.url}/")
        sign_in_page(tablet, MA, PIN)
        wall.evaluate("() => { window.notReloaded = true; }")
        _room_on_tablet(tablet, visit["id"], "e2")
        _tile_shows(wall, "e2", "roomed")
        assert wall.evaluate("() => window.notReloaded") is True, "the wall was reloaded: pushed, it need not be"
    finally:
        a.stop()
        b.stop()
        redis.stop()


def test_a_stale_tap_shows_the_conflict_and_who_got_there_first(server: ServerProcess, screens: Screens) -> None:
    desk = server.signed_in(Role.front_desk)
    server.add_staff(MA, Role.medical_assistant)
    server.add_staff("ma-cruz", Role.medical_assistant, "Cruz Diaz")
    visit = _walk_in(server, desk)
    tablet = screens.open(f"{server.url}/")
    # This tablet's feed is held back, as on a slow network: it still shows the visit waiting.
    held: list[str] = []
    passing = {"on": True}

    def relay(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        ws.on_message(lambda m: upstream.send(m))
        upstream.on_message(lambda m: ws.send(m) if passing["on"] else held.append(m))

    tablet.route_web_socket("**/live*", relay)
    sign_in_page(tablet, MA, PIN)
    tablet.locator(f"[data-visit='{visit['id']}'][data-stage='arrived']").wait_for(timeout=10_000)
    passing["on"] = False
    # Another assistant rooms the patient first, from their own tablet.
    other = server.sign_in("ma-cruz", device="tablet-west")
    first = httpx.post(
        f"{server.url}/api/clinics/{CLINIC}/visits/{visit['id']}/events",
        headers=other,
        json={"type": "roomed", "room": "e3", "expected_version": visit["version"]},
        timeout=10,
    )
    assert first.status_code == 201, first.text

    _room_on_tablet(tablet, visit["id"], "e1")
    conflict = tablet.locator(f"[data-visit='{visit['id']}'] [data-conflict]")
    conflict.wait_for(timeout=10_000)
    assert "ma-cruz" in conflict.inner_text() or "Cruz" in conflict.inner_text()
    # Nothing was overwritten: the visit is in the other assistant's room.
    board = httpx.get(f"{server.url}/api/clinics/{CLINIC}/board", headers=desk, timeout=10).json()
    assert next(v for v in board["visits"] if v["id"] == visit["id"])["room"] == "e3"


def test_a_provider_says_they_stepped_away_the_wall_shows_it_and_undo_takes_it_back(
    server: ServerProcess, screens: Screens
) -> None:
    manager = server.signed_in(Role.manager)
    server.add_staff("kim", Role.provider, "Jenna Kim")  # signed in as the clinic's provider kim
    wall = screens.open(f"{server.url}/board.html", width=1920, height=1080)
    pair_wall(wall, server, manager)
    row = wall.locator("tr[data-provider='JK'] .full-name")
    row.wait_for(timeout=10_000)

    tablet = screens.open(f"{server.url}/")
    sign_in_page(tablet, "kim", PIN)
    card = tablet.locator("#presence")
    card.wait_for(timeout=10_000)
    assert tablet.locator("#presence-title").inner_text() == "Where are you?"
    assert "You are on the floor." in tablet.locator("#presence-now").inner_text()
    assert serious_violations(tablet) == []
    for button in card.locator(".presence-actions button, .presence-minutes label").all():
        assert button.bounding_box()["height"] >= 44
    tablet.get_by_label("20 min").check()
    tablet.get_by_role("button", name="Stepped away").click()
    tablet.locator(".toast", has_text="You are stepped away.").wait_for(timeout=10_000)
    tablet.locator("#presence-now", has_text="stepped away, back about").wait_for(timeout=10_000)
    wall.wait_for_function(
        "() => document.querySelector(\"tr[data-provider='JK'] .full-name\").textContent.endsWith(' · away')",
        timeout=10_000,
    )
    assert tablet.get_by_role("button", name="Stepped away").get_attribute("aria-pressed") == "true"

    tablet.locator(".toast [data-action='undo']").click()
    tablet.locator(".toast", has_text="Undone: You are on the floor.").wait_for(timeout=10_000)
    wall.wait_for_function(
        "() => !document.querySelector(\"tr[data-provider='JK'] .full-name\").textContent.includes('away')",
        timeout=10_000,
    )
    trail = httpx.get(f"{server.url}/api/staff/kim/audit", headers=manager, timeout=10).json()["entries"]
    assert [(e["type"], e["person"], e["device"]) for e in trail] == [
        ("presence_stepped_away", "kim", "tablet-1"),
        ("presence_undo", "kim", "tablet-1"),
    ]


def test_after_a_server_restart_the_wall_reconnects_and_shows_the_current_state(
    server: ServerProcess, screens: Screens
) -> None:
    manager, desk = server.signed_in(Role.manager), server.signed_in(Role.front_desk)
    ma = server.signed_in(Role.medical_assistant)
    wall = screens.open(f"{server.url}/board.html", width=1920, height=1080)
    pair_wall(wall, server, manager)
    visit = _walk_in(server, desk)
    wall.evaluate("window.sameDocument = true")

    server.stop()
    wall.wait_for_selector("#conn:not([data-mode='live'])", timeout=10_000)
    server.start()  # same port, same data directory
    moved = httpx.post(
        f"{server.url}/api/clinics/{CLINIC}/visits/{visit['id']}/events",
        headers=ma,
        timeout=10,
        json={"type": "roomed", "room": "w4"},
    )
    assert moved.status_code == 201, moved.text  # sign-ins survive the restart
    _tile_shows(wall, "w4", "roomed", within_ms=20_000)
    wall.wait_for_selector("#conn[data-mode='live']", timeout=10_000)
    assert wall.evaluate("window.sameDocument === true")  # no reload


def test_a_wall_that_saw_a_step_a_restored_backup_lost_shows_the_logs_board(
    server: ServerProcess, screens: Screens, tmp_path: Path
) -> None:
    """The data directory goes back to a backup taken before the wall's last update, and another tap is stored at
    that seq (by another process on the restored directory, before the wall can reconnect). The wall resumes with
    the seq and mark of the update it applied (static/lib/feed.js): by seq alone it was in step and kept showing
    a patient roomed that the log never roomed."""
    manager, desk = server.signed_in(Role.manager), server.signed_in(Role.front_desk)
    ma = server.signed_in(Role.medical_assistant)
    wall = screens.open(f"{server.url}/board.html", width=1920, height=1080)
    pair_wall(wall, server, manager)
    visit = _walk_in(server, desk)
    backup = tmp_path / "backup"
    server.stop()
    shutil.copytree(server.data_dir, backup)
    server.start()
    moved = httpx.post(
        f"{server.url}/api/clinics/{CLINIC}/visits/{visit['id']}/events",
        headers=ma,
        timeout=10,
        json={"type": "roomed", "room": "w4"},
    )
    assert moved.status_code == 201, moved.text
    _tile_shows(wall, "w4", "roomed", within_ms=20_000)
    urls: list[str] = []
    wall.on("websocket", lambda ws: urls.append(ws.url))
    wall.evaluate("window.sameDocument = true")

    server.stop()
    shutil.rmtree(server.data_dir)
    shutil.copytree(backup, server.data_dir)
    other = ServerProcess(server.data_dir, tmp_path / "other.log")
    other.start()
    try:
        _walk_in(other, desk, "Bo Diaz")  # stored at the seq the wall's last update had
    finally:
        other.stop()
    server.start()
    wall.wait_for_selector("#conn[data-mode='live']", timeout=20_000)
    wall.wait_for_selector("[data-room='w4']:not([data-stage='roomed'])", timeout=10_000)
    assert any(f"since={moved.json()['seq']}&mark=" in url for url in urls), urls
    assert wall.evaluate("window.sameDocument === true")  # no reload


def test_a_schedule_sent_ahead_that_cannot_be_booked_is_an_alert_on_the_managers_screen(
    tmp_path: Path, screens: Screens
) -> None:
    # The evening before, tomorrow's file was taken; overnight the clinic lost a provider it names. The server
    # that opens the day books none of it, and says so where the managers look.
    clinic = demo_clinic()
    # The server's clinic clock is given (it runs on from 07:00 of a fixed day): the test does not depend on the
    # date or time it runs at, nor cross midnight between keeping the file and the server opening the day.
    today = dt.date(2026, 11, 23)
    opens = clinic.local(today, dt.time(7, 0))
    body = (
        b"external_id,time,provider,visit_type,patient_name\n"
        b"EHR-1,09:00,kim,follow,Ann Lee\nEHR-2,09:20,dr-gone,follow,Bo Chen\n"
    )
    kept = UpcomingSchedule(CLINIC, today, "csv", body, 2, opens - dt.timedelta(hours=12), "mgr-dana", "tablet-1")
    data = tmp_path / "data"
    # In a thread of its own: sync Playwright keeps an event loop running on this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, FileUpcoming(data).put(kept)).result()
    server = ServerProcess(data, tmp_path / "server.log", "--clock-start", opens.isoformat())
    server.start()
    try:
        manager_id, _ = PEOPLE[Role.manager]
        server.add_staff(manager_id, Role.manager)
        page = screens.open(f"{server.url}/manager.html")
        sign_in_page(page, manager_id, PIN)
        alert = page.locator("li.alert-schedule[data-alert]")
        alert.wait_for(timeout=10_000)
        text = alert.inner_text()
        assert "not booked" in text and "unknown provider 'dr-gone'" in text and "line 3" in text
        board = httpx.get(
            f"{server.url}/api/clinics/{CLINIC}/board", headers=server.sign_in(manager_id), timeout=10
        ).json()
        assert board["visits"] == []
        # The one alert for today's schedule (its id is random; the day is its episode).
        assert [(a["id"], a["episode"]) for a in board["alerts"]] == [
            (alert.get_attribute("data-alert"), f"schedule-{today}")
        ]
        # What Floor has learned: a new clinic has no past days, and expects the clinic file's minutes.
        page.wait_for_function(
            "() => /No past days yet/.test(document.querySelector('#learned-summary').textContent)", timeout=10_000
        )
        rows = page.locator("#learned-stages tbody tr")
        assert rows.count() == len(clinic.providers) * len(clinic.visit_types)
        kim_follow = page.locator("#learned-stages tr[data-provider='kim'][data-visit-type='follow']")
        assert kim_follow.locator("th[scope='row']").inner_text() == "Dr. Jenna Kim"
        assert kim_follow.locator("td[data-stage='provider_in']").inner_text().startswith("12 min")
    finally:
        server.stop()


def test_a_zones_wall_shows_its_zone_and_forgets_a_patient_roomed_in_another(
    server: ServerProcess, screens: Screens
) -> None:
    manager, ma = server.signed_in(Role.manager), server.signed_in(Role.medical_assistant)
    desk = server.signed_in(Role.front_desk)
    wall = screens.open(f"{server.url}/board.html", width=1920, height=1080)
    pair_wall(wall, server, manager, zone="east")
    wall.wait_for_selector("[data-room='e1']", timeout=10_000)
    assert wall.locator("[data-room='w1']").count() == 0
    visits = [_walk_in(server, desk, name) for name in ("Ann Lee", "Bo Chan")]
    wall.wait_for_function("() => document.querySelector('#waiting-count').textContent === '2'", timeout=10_000)

    def room(visit: dict, where: str) -> None:
        answer = httpx.post(
            f"{server.url}/api/clinics/{CLINIC}/visits/{visit['id']}/events",
            headers=ma,
            json={"type": "roomed", "room": where},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text

    room(visits[0], "w1")  # another zone: the east wall stops counting it as waiting, and never shows it
    wall.wait_for_function("() => document.querySelector('#waiting-count').textContent === '1'", timeout=10_000)
    room(visits[1], "e2")
    _tile_shows(wall, "e2", "roomed", within_ms=5_000)
    assert wall.locator("[data-room='w1']").count() == 0
