"""A step tapped late, on the tablet: the provider chooses "5 minutes ago" in the tablet-wide control and taps
"provider in" on a card; the step is stored five minutes before the tap (the visit's time, the audit trail's
`happened` against its `at`), the toast says so, and the control is back to "Just now", so the next tap,
made without choosing, is stored as tapped. The server runs on a fast clinic clock from a fixed morning, so
the minutes the step must come after its last one pass in seconds."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, fast_clock_server, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.long]

API = f"/api/clinics/{CLINIC}"
MORNING = "2026-11-23T15:00:00+00:00"  # 09:00 at the demo clinic
SPEED = 120  # clinic minutes per real half second: the six minutes after prep in three seconds


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with fast_clock_server(tmp_path, MORNING, SPEED) as proc:
        yield proc


def _post(server: ServerProcess, path: str, headers: dict, body: dict) -> dict:
    answer = httpx.post(f"{server.url}{API}{path}", headers=headers, json=body, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _board(server: ServerProcess, headers: dict) -> dict:
    return httpx.get(f"{server.url}{API}/board", headers=headers, timeout=10).json()


def _serious(page: Page) -> list[str]:
    violations = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']}" for v in violations if v["impact"] in ("serious", "critical")]


def _entry(server: ServerProcess, manager: dict, visit: str, step: str) -> dict:
    answer = httpx.get(f"{server.url}{API}/visits/{visit}/audit", headers=manager, timeout=10)
    assert answer.status_code == 200, answer.text
    return next(e for e in answer.json()["entries"] if e.get("step") == step)


def test_a_provider_says_they_went_in_five_minutes_ago_and_the_next_tap_is_now_again(
    server: ServerProcess, screens: Screens
) -> None:
    desk, ma, manager = (server.signed_in(r) for r in (Role.front_desk, Role.medical_assistant, Role.manager))
    server.add_staff("kim", Role.provider, "Jenna Kim")
    booked = _post(
        server, "/visits", desk, {"patient_name": "Pat Doe", "provider": "kim", "visit_type": "follow", "walk_in": True}
    )
    visit = booked["visit"]["id"]
    _post(server, f"/visits/{visit}/events", ma, {"type": "roomed", "room": "e1"})
    prepped = dt.datetime.fromisoformat(
        _post(server, f"/visits/{visit}/events", ma, {"type": "prep_done"})["visit"]["times"]["prep_done"]
    )

    tablet = screens.open(f"{server.url}/")
    sign_in_page(tablet, "kim", PIN)
    tablet.wait_for_selector("#live[data-mode='live']", timeout=10_000)
    card = tablet.locator(f"[data-list='pr-waiting'] [data-visit='{visit}']")
    card.wait_for(timeout=10_000)
    control, bar = tablet.locator("#tap-late-minutes"), tablet.locator("#tap-late")
    assert control.input_value() == "0" and "set" not in (bar.get_attribute("class") or "")
    assert tablet.get_by_label("This tap happened").count() == 1  # labelled
    # Prep was done more than five clinic minutes ago: "provider in" five minutes ago comes after it.
    deadline = time.monotonic() + 20
    while dt.datetime.fromisoformat(_board(server, manager)["now"]) < prepped + dt.timedelta(minutes=6):
        assert time.monotonic() < deadline, "the clinic clock did not move"
        time.sleep(0.2)

    control.select_option("5")
    assert "set" in bar.get_attribute("class")  # it stands out while set
    assert tablet.locator("#tap-late-next").is_visible()
    assert _serious(tablet) == []  # set, too, the page passes axe
    card.locator("[data-action='next'][data-step='provider_in']").click()
    tablet.locator(f"[data-list='pr-with'] [data-visit='{visit}']").wait_for(timeout=10_000)
    toast = tablet.locator(".toast-text")
    toast.filter(has_text="Pat Doe: marked provider in · 5 min ago.").wait_for(timeout=10_000)
    # Back to "Just now" for the next tap, and plain again.
    assert control.input_value() == "0"
    assert "set" not in bar.get_attribute("class")
    assert tablet.locator("#tap-late-next").is_hidden()

    went_in = _entry(server, manager, visit, "provider_in")
    tapped, happened = dt.datetime.fromisoformat(went_in["at"]), dt.datetime.fromisoformat(went_in["happened"])
    assert tapped - happened == dt.timedelta(minutes=5)
    shown = next(v for v in _board(server, manager)["visits"] if v["id"] == visit)
    assert dt.datetime.fromisoformat(shown["times"]["provider_in"]) == happened
    assert dt.datetime.fromisoformat(next(s for s in shown["steps"] if s["step"] == "provider_in")["at"]) == happened

    # The visit's detail says when the step happened and that it was tapped later.
    card_with = tablet.locator(f"[data-list='pr-with'] [data-visit='{visit}']")
    card_with.locator("[data-action='detail']").click()
    tablet.locator("#visit-detail[open]").wait_for(timeout=10_000)
    line = tablet.locator("#visit-detail .history li", has_text="tapped later")
    line.wait_for(timeout=10_000)
    assert "Provider in" in line.inner_text() or "provider in" in line.inner_text().lower()
    tablet.locator("#visit-detail [data-detail='close']").click()

    # The next tap, made without choosing, is stored as tapped.
    tablet.locator(
        f"[data-list='pr-with'] [data-visit='{visit}'] [data-action='next'][data-step='teach_back_done']"
    ).click()
    tablet.locator(f"[data-list='pr-teach'] [data-visit='{visit}']").wait_for(timeout=10_000)
    taught = _entry(server, manager, visit, "teach_back_done")
    assert taught.get("happened") is None
    shown = next(v for v in _board(server, manager)["visits"] if v["id"] == visit)
    assert dt.datetime.fromisoformat(shown["times"]["teach_back_done"]) == dt.datetime.fromisoformat(taught["at"])
    toast.filter(has_text="Pat Doe: marked teach-back done.").wait_for(timeout=10_000)
    assert "min ago" not in toast.inner_text()
    assert control.input_value() == "0"

    # The manager's audit trail of the visit says it too.
    console = screens.open(f"{server.url}/manager.html", width=1280, height=900)
    sign_in_page(console, PEOPLE[Role.manager][0], PIN, device="manager-office")
    console.wait_for_selector(f"#audit-visit-visit option[value='{visit}']", state="attached", timeout=15_000)
    console.locator("#audit-visit").get_by_label("Visit", exact=True).select_option(visit)
    console.click("#audit-visit button[type=submit]")
    row = console.locator("#audit-table tr", has_text="Provider in")
    row.wait_for(timeout=10_000)
    assert "tapped later" in row.inner_text()
    assert "tapped later" not in console.locator("#audit-table tr", has_text="Teach-back done").inner_text()


def test_the_desk_adds_a_walk_in_who_came_ten_minutes_ago(server: ServerProcess, screens: Screens) -> None:
    """The same control goes with the next walk-in added: the patient arrived, and waits, from when they came."""
    manager = server.signed_in(Role.manager)
    server.signed_in(Role.front_desk)  # the desk's staff member exists
    desk = screens.open(f"{server.url}/")
    sign_in_page(desk, PEOPLE[Role.front_desk][0], PIN)
    desk.wait_for_selector("#live[data-mode='live']", timeout=10_000)
    # The clinic's clock must be ten minutes past its opening first (a tap entered late says a time today).
    control = desk.locator("#tap-late-minutes")
    control.select_option("10")
    desk.fill("#walkin-name", "Wren Ortiz")
    desk.select_option("#walkin-provider", "hart")
    desk.click("#walkin-submit")
    desk.locator("#walkin-message", has_text="Wren Ortiz").wait_for(timeout=10_000)
    assert control.input_value() == "0"  # back to "Just now"
    shown = next(v for v in _board(server, manager)["visits"] if v["patient_name"] == "Wren Ortiz")
    (booked,) = httpx.get(f"{server.url}{API}/visits/{shown['id']}/audit", headers=manager, timeout=10).json()[
        "entries"
    ]
    came = dt.datetime.fromisoformat(booked["happened"])
    assert dt.datetime.fromisoformat(booked["at"]) - came == dt.timedelta(minutes=10)
    assert dt.datetime.fromisoformat(shown["times"]["arrived"]) == came == dt.datetime.fromisoformat(shown["start"])
