"""A walk-in added at 23:58 reached the server and was stored, but its answer was lost (the network went as it came
back); the tablet's retry went after the clinic's midnight, and the tablet said it "not sent, it was made on an
earlier day" though the server held it, booked once on the day it was made (a review of the clinic's day). The retry
after midnight now asks the server whether the tap was stored under its Idempotency-Key (never storing it anew), and
the tablet says it was stored that day, not "not sent"; nothing is booked on the new day. The server runs a fast
clinic clock from 23:55, so midnight comes in seconds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Route

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, fast_clock_server, sign_in_page
from tests.browser.test_kept_tap_across_midnight import EVENING, MIDNIGHT, SPEED, _after_midnight, _board
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.long]

API = f"/api/clinics/{CLINIC}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with fast_clock_server(tmp_path, EVENING, SPEED) as proc:
        yield proc


class AnswerLost:
    """The first tap reaches the server, its answer never comes back; every later one does not get through."""

    def __init__(self) -> None:
        self.stored = 0

    def __call__(self, route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        if self.stored == 0:
            self.stored = route.fetch().status
        route.abort("internetdisconnected")


def test_a_walk_in_stored_before_midnight_whose_answer_was_lost_is_said_stored_not_not_sent(
    server: ServerProcess, screens: Screens
) -> None:
    desk_headers, manager = server.signed_in(Role.front_desk), server.signed_in(Role.manager)
    person = PEOPLE[Role.front_desk][0]
    kept = f"floor.outbox.{CLINIC}.{person}"
    tablet = screens.open(f"{server.url}/")
    sign_in_page(tablet, person, PIN)
    tablet.wait_for_selector("#live[data-mode='live']", timeout=10_000)

    lost = AnswerLost()
    tablet.route(f"**{API}/**", lost)
    tablet.fill("#walkin-name", "Ann Lee")
    tablet.select_option("#walkin-provider", "kim")
    tablet.click("#walkin-submit")
    tablet.wait_for_function("k => JSON.parse(localStorage.getItem(k) || '[]').length === 1", arg=kept)
    tablet.wait_for_timeout(300)
    assert lost.stored == 201, "the walk-in did not reach the server"
    assert dt.datetime.fromisoformat(_board(server, manager)["now"]) < MIDNIGHT, "tapped after midnight: too slow"

    _after_midnight(server, tablet, desk_headers)
    tablet.unroute(f"**{API}/**", lost)
    tablet.evaluate("() => window.dispatchEvent(new Event('online'))")  # the waiting retry goes at once
    tablet.wait_for_function("k => localStorage.getItem(k) === null", arg=kept, timeout=20_000)

    evening = httpx.get(f"{server.url}{API}/board?day=2026-11-23", headers=manager, timeout=10).json()
    assert [v["patient_name"] for v in evening["visits"]] == ["Ann Lee"], "not stored once on the 23rd"
    today = _board(server, manager)
    assert [v["patient_name"] for v in today["visits"]] == ["Cruz Diaz"], "booked again on the new day"
    said = tablet.locator("#walkin-message")
    said.filter(has_text="stored before midnight").wait_for(timeout=10_000)
    assert "Ann Lee" in said.inner_text(), said.inner_text()
    assert tablet.locator("#kept-refused").is_hidden(), tablet.locator("#kept-refused").inner_text()
    assert tablet.locator(".toast-text", has_text="stored before midnight").count() == 1
    # Yesterday's visit is not put on today's lists.
    assert tablet.locator("[data-visit]", has_text="Ann Lee").count() == 0
