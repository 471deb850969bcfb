"""A step tapped while the tablet is offline and sent minutes later is stored when it was tapped: the tablet adds
the minutes since the tap (its server clock) to the step's minutes_ago, on each retry and after a reload, under
the same Idempotency-Key. The server runs a fast clinic clock, so the minutes pass in seconds; the tablet learns
the server's clock from the live feed (an event the test makes), as it does when the clock runs at real speed."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, Route

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, fast_clock_server, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.long]

API = f"/api/clinics/{CLINIC}"
DESK = PEOPLE[Role.front_desk][0]
KEPT = f"floor.outbox.{CLINIC}.{DESK}"
MORNING = "2026-11-23T15:00:00+00:00"  # 09:00 at the clinic
SPEED = 30  # clinic minutes per two real seconds
LATE = dt.timedelta(minutes=6)  # how long the tap waits to be sent, in clinic time


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with fast_clock_server(tmp_path, MORNING, SPEED) as proc:
        yield proc


def _now(server: ServerProcess, headers: dict) -> dt.datetime:
    board = httpx.get(f"{server.url}{API}/board", headers=headers, timeout=10).json()
    return dt.datetime.fromisoformat(board["now"])


def _book(server: ServerProcess, headers: dict, name: str) -> dict:
    body = {"patient_name": name, "provider": "kim", "visit_type": "follow", "start": "2026-11-23T09:20:00"}
    answer = httpx.post(f"{server.url}{API}/visits", headers=headers, json=body, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()["visit"]


def _no_taps(route: Route) -> None:
    """Back online, taps still not getting through until the tablet has heard the server's clock again."""
    if route.request.method == "POST":
        route.abort("internetdisconnected")
    else:
        route.continue_()


def _wait_clinic_time(server: ServerProcess, headers: dict, until: dt.datetime) -> None:
    deadline = time.monotonic() + 60
    while _now(server, headers) < until:
        assert time.monotonic() < deadline, "the clinic clock did not move"
        time.sleep(0.2)


def _sync(server: ServerProcess, desk: Page, headers: dict, name: str) -> None:
    """Another desk books a visit: its event tells the tablet the server's clock."""
    visit = _book(server, headers, name)
    desk.locator(f"[data-visit='{visit['id']}']").first.wait_for(timeout=10_000)


@pytest.mark.parametrize("reload", [False, True], ids=["retried", "after-reload"])
def test_a_step_tapped_offline_is_stored_when_it_was_tapped(
    server: ServerProcess, screens: Screens, reload: bool
) -> None:
    headers, manager = server.signed_in(Role.front_desk), server.signed_in(Role.manager)
    server.signed_in(Role.front_desk)
    visit = _book(server, headers, "Ann Lee")
    desk = screens.open(f"{server.url}/")
    sign_in_page(desk, DESK, PIN)
    desk.wait_for_selector("#live[data-mode='live']", timeout=10_000)
    arrived = desk.locator(f"[data-list='desk-arrivals'] [data-visit='{visit['id']}'] [data-step='arrived']")
    arrived.wait_for(timeout=10_000)

    _sync(server, desk, headers, "Bo Chen")
    desk.context.set_offline(True)
    before = _now(server, manager)
    arrived.click()
    after = _now(server, manager)
    desk.wait_for_function("k => JSON.parse(localStorage.getItem(k) || '[]').length === 1", arg=KEPT)
    tapped = before + (after - before) / 2

    _wait_clinic_time(server, manager, tapped + LATE)  # the tap waits, offline, for six clinic minutes
    desk.route(f"**{API}/visits/**", _no_taps)
    desk.context.set_offline(False)
    if reload:
        desk.reload()
        desk.wait_for_selector("#whoami", state="visible", timeout=10_000)
        desk.wait_for_function("() => document.querySelectorAll('#offline-taps li').length === 1", timeout=10_000)
    _sync(server, desk, headers, "Cruz Diaz")
    desk.unroute(f"**{API}/visits/**", _no_taps)
    desk.evaluate("() => window.dispatchEvent(new Event('online'))")  # the waiting retry goes at once
    desk.wait_for_function("k => localStorage.getItem(k) === null", arg=KEPT, timeout=20_000)

    trail = httpx.get(f"{server.url}{API}/visits/{visit['id']}/audit", headers=manager, timeout=10).json()
    [step] = [e for e in trail["entries"] if "arrived" in (e.get("step"), e["type"])]
    assert step.get("happened"), f"stored when sent, not when tapped: {step}"
    at, happened = dt.datetime.fromisoformat(step["at"]), dt.datetime.fromisoformat(step["happened"])
    assert at - tapped >= LATE
    assert abs(happened - tapped) <= dt.timedelta(minutes=1), (tapped, happened, at)


def _sync_arrived(server: ServerProcess, tablet: Page, headers: dict, name: str) -> None:
    """A patient comes (another desk's taps): an assistant's tablet shows them, and hears the server's clock."""
    visit = _book(server, headers, name)
    came = httpx.post(
        f"{server.url}{API}/visits/{visit['id']}/events", headers=headers, json={"type": "arrived"}, timeout=10
    )
    assert came.status_code == 201, came.text
    tablet.locator(f"[data-visit='{visit['id']}']").first.wait_for(timeout=10_000)


def test_a_presence_tap_made_offline_is_stored_when_it_was_made(server: ServerProcess, screens: Screens) -> None:
    """An assistant says "stepped away" for Dr. Kim while the tablet is offline: it was stored as said when it got
    through, six minutes on, so her start meanwhile did not end it and her patients read late till then (a
    review). It goes with its minutes_ago grown, as a step does."""
    headers, manager = server.signed_in(Role.front_desk), server.signed_in(Role.manager)
    server.signed_in(Role.medical_assistant)
    ma_id = PEOPLE[Role.medical_assistant][0]
    ma = screens.open(f"{server.url}/")
    sign_in_page(ma, ma_id, PIN)
    ma.wait_for_selector("#live[data-mode='live']", timeout=10_000)
    ma.select_option("#presence-provider", "kim")
    _sync_arrived(server, ma, headers, "Bo Chen")
    ma.context.set_offline(True)
    before = _now(server, manager)
    ma.locator("button[data-presence='stepped_away']").click()
    after = _now(server, manager)
    kept = f"floor.outbox.{CLINIC}.{ma_id}"
    ma.wait_for_function("k => JSON.parse(localStorage.getItem(k) || '[]').length === 1", arg=kept)
    tapped = before + (after - before) / 2
    _wait_clinic_time(server, manager, tapped + LATE)
    ma.route(f"**{API}/providers/**", _no_taps)
    ma.context.set_offline(False)
    _sync_arrived(server, ma, headers, "Cruz Diaz")
    ma.unroute(f"**{API}/providers/**", _no_taps)
    ma.evaluate("() => window.dispatchEvent(new Event('online'))")
    ma.wait_for_function("k => localStorage.getItem(k) === null", arg=kept, timeout=20_000)

    board = httpx.get(f"{server.url}{API}/board", headers=manager, timeout=10).json()
    [kim] = [p for p in board["presence"] if p["provider"] == "kim"]
    assert kim["status"] == "stepped_away", kim
    since = dt.datetime.fromisoformat(kim["since"])
    assert abs(since - tapped) <= dt.timedelta(minutes=1), (tapped, since)
