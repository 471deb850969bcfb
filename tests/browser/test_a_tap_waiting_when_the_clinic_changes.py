"""A front desk working two clinics checks Ann Lee in at Riverside while the tablet cannot reach the server, then
turns the tablet to North. The tap waits and goes through (Ann is checked in at Riverside, once), but its answer was
put on the floor on screen: Ann Lee, Riverside's patient, was listed among North's arrivals, a card whose taps went
to North and were refused there; and an assistant's "Room ready" for Riverside's East 1 showed North's East 1,
dirty, as ready (a hostile review of the tablets). A tap's answer goes on the floor of the clinic it was tapped in
only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Route

from floor.config import demo_clinic_path
from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, book_visit, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

DESK = PEOPLE[Role.front_desk][0]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    text = demo_clinic_path().read_text()
    riverside, north = tmp_path / "riverside.toml", tmp_path / "north.toml"
    riverside.write_text(text)
    north.write_text(text.replace('id = "riverside"', 'id = "north"', 1).replace("Riverside Family", "North Family", 1))
    proc = ServerProcess(tmp_path / "data", tmp_path / "server.log", "--clinic", str(riverside), "--clinic", str(north))
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def _no_taps(route: Route) -> None:
    if route.request.method == "POST" and "/api/sign-in" not in route.request.url:
        route.abort("internetdisconnected")
    else:
        route.continue_()


def _dirty_east_1(server: ServerProcess, clinic: str, desk: dict, ma: dict) -> None:
    """A walk-in roomed in East 1 who left: the room is in turnover."""
    api = f"{server.url}/api/clinics/{clinic}/visits"
    walk_in = {"patient_name": "Bo Chen", "provider": "kim", "visit_type": "follow", "walk_in": True}
    visit = httpx.post(api, headers=desk, json=walk_in, timeout=10).json()["visit"]
    for body in ({"type": "roomed", "room": "e1"}, {"type": "left_without_being_seen"}):
        answer = httpx.post(f"{api}/{visit['id']}/events", headers=ma, json=body, timeout=10)
        assert answer.status_code == 201, answer.text


def test_a_room_mark_answered_after_the_clinic_changed_is_not_put_on_the_other_clinics_room(
    server: ServerProcess, screens: Screens
) -> None:
    desk, ma = server.signed_in(Role.front_desk), server.signed_in(Role.medical_assistant, device="ma-2")
    for clinic in (CLINIC, "north"):
        _dirty_east_1(server, clinic, desk, ma)
    tablet = screens.open(f"{server.url}/", width=768, height=1024)
    sign_in_page(tablet, PEOPLE[Role.medical_assistant][0], PIN)
    tablet.locator("#clinic-field").wait_for(timeout=10_000)
    tablet.select_option("#clinic", CLINIC)
    ready = tablet.locator("[data-list='ma-rooms'] li[data-room='e1'] [data-action='room-ready']")
    ready.wait_for(timeout=10_000)

    tablet.route("**/api/clinics/**", _no_taps)
    ready.click()
    tablet.locator("#offline-taps li").first.wait_for(timeout=10_000)
    tablet.select_option("#clinic", "north")
    tablet.locator("#clinic-title", has_text="North").wait_for(timeout=10_000)
    north_e1 = tablet.locator("[data-list='ma-rooms'] li[data-room='e1']")
    north_e1.wait_for(timeout=10_000)
    tablet.unroute("**/api/clinics/**", _no_taps)
    tablet.evaluate("() => window.dispatchEvent(new Event('online'))")
    kept = f"floor.outbox.{CLINIC}.{PEOPLE[Role.medical_assistant][0]}"
    tablet.wait_for_function("k => localStorage.getItem(k) === null", arg=kept, timeout=20_000)
    tablet.wait_for_timeout(500)

    board = httpx.get(f"{server.url}/api/clinics/north/board", headers=desk, timeout=10).json()
    [room] = [r for r in board["rooms"] if r["id"] == "e1"]
    assert room["state"] == "turnover"
    assert north_e1.get_attribute("data-state") == "turnover", "North's East 1 shown as Riverside's"
    assert north_e1.get_attribute("data-version") == str(room["version"])


def test_a_tap_answered_after_the_clinic_changed_is_not_put_on_the_other_clinics_floor(
    server: ServerProcess, screens: Screens
) -> None:
    desk = server.signed_in(Role.front_desk)
    ann = book_visit(server, desk, "Ann Lee", start="2026-11-23T09:30:00")
    tablet = screens.open(f"{server.url}/", width=768, height=1024)
    sign_in_page(tablet, DESK, PIN)
    tablet.locator("#clinic-field").wait_for(timeout=10_000)
    tablet.select_option("#clinic", CLINIC)
    check_in = tablet.locator(f"[data-list='desk-arrivals'] li[data-visit='{ann['id']}'] [data-step='arrived']")
    check_in.wait_for(timeout=10_000)

    tablet.route("**/api/clinics/**", _no_taps)
    check_in.click()
    tablet.locator("#offline-taps li").first.wait_for(timeout=10_000)
    tablet.select_option("#clinic", "north")
    tablet.locator("#clinic-title", has_text="North").wait_for(timeout=10_000)
    tablet.unroute("**/api/clinics/**", _no_taps)
    tablet.evaluate("() => window.dispatchEvent(new Event('online'))")
    tablet.wait_for_function(
        "k => localStorage.getItem(k) === null", arg=f"floor.outbox.{CLINIC}.{DESK}", timeout=20_000
    )
    tablet.wait_for_timeout(500)

    visit = httpx.get(f"{server.url}/api/clinics/{CLINIC}/visits/{ann['id']}", headers=desk, timeout=10).json()
    assert visit["visit"]["stage"] == "arrived"
    assert tablet.locator(f"[data-visit='{ann['id']}']").count() == 0, "Riverside's patient on North's lists"
