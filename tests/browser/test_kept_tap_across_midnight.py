"""A tap kept on a tablet that stays open and offline across the clinic's midnight is not sent on the new day: a
walk-in added at 23:56 went through at 00:02 and was booked on the new day (its minutes_ago, reaching back into the
day before, was refused and the tablet sent it once more "as tapped"), and an assistant's "Stepped away" for Dr. Kim
marked her away on the new day's floor (a hostile review). A reload already left such taps out ("made on an
earlier day"); the page open all night now does the same, and says so in the list of kept taps not stored. The
server runs a fast clinic clock from 23:50, so midnight comes in seconds; the tablet learns the server's clock from
the live feed (an event the test makes), as it does at real speed."""

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
EVENING = "2026-11-24T05:55:00+00:00"  # 23:55 at the clinic, on the 23rd
MIDNIGHT = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)  # the 24th opens at the clinic
SPEED = 30  # clinic minutes per two real seconds


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with fast_clock_server(tmp_path, EVENING, SPEED) as proc:
        yield proc


def _board(server: ServerProcess, headers: dict) -> dict:
    return httpx.get(f"{server.url}{API}/board", headers=headers, timeout=10).json()


def _no_taps(route: Route) -> None:
    """Back online, taps still not getting through until the tablet has heard the new day's clock."""
    if route.request.method == "POST":
        route.abort("internetdisconnected")
    else:
        route.continue_()


def _after_midnight(server: ServerProcess, tablet: Page, headers: dict) -> None:
    """Past the clinic's midnight, and the tablet has heard it: another desk books a visit on the new day."""
    deadline = time.monotonic() + 60
    while dt.datetime.fromisoformat(_board(server, headers)["now"]) < MIDNIGHT + dt.timedelta(minutes=2):
        assert time.monotonic() < deadline, "the clinic clock did not move"
        time.sleep(0.2)
    body = {"patient_name": "Cruz Diaz", "provider": "kim", "visit_type": "follow", "walk_in": True}
    answer = httpx.post(f"{server.url}{API}/visits", headers=headers, json=body, timeout=10)
    assert answer.status_code == 201, answer.text
    tablet.locator(f"[data-visit='{answer.json()['visit']['id']}']").first.wait_for(timeout=10_000)


@pytest.mark.parametrize("what", ["walk-in", "presence"])
def test_a_tap_kept_offline_across_midnight_is_not_sent_on_the_new_day(
    server: ServerProcess, screens: Screens, what: str
) -> None:
    desk_headers, manager = server.signed_in(Role.front_desk), server.signed_in(Role.manager)
    role = Role.front_desk if what == "walk-in" else Role.medical_assistant
    server.signed_in(role)
    person = PEOPLE[role][0]
    kept = f"floor.outbox.{CLINIC}.{person}"
    tablet = screens.open(f"{server.url}/")
    sign_in_page(tablet, person, PIN)
    tablet.wait_for_selector("#live[data-mode='live']", timeout=10_000)

    tablet.context.set_offline(True)
    if what == "walk-in":
        tablet.fill("#walkin-name", "Ann Lee")
        tablet.select_option("#walkin-provider", "kim")
        tablet.click("#walkin-submit")
    else:
        tablet.select_option("#presence-provider", "kim")
        tablet.locator("button[data-presence='stepped_away']").click()
    tablet.wait_for_function("k => JSON.parse(localStorage.getItem(k) || '[]').length === 1", arg=kept)
    assert dt.datetime.fromisoformat(_board(server, manager)["now"]) < MIDNIGHT, "tapped after midnight: too slow"
    # What the tablet promises of the tap kept offline, it keeps: sent once the network is back, not after midnight.
    until = "if that is before the clinic's midnight"
    tablet.locator("#offline-detail", has_text=until).wait_for(timeout=10_000)
    if what == "walk-in":
        assert until in tablet.locator("#walkin-message").inner_text()

    tablet.route(f"**{API}/**", _no_taps)
    tablet.context.set_offline(False)
    _after_midnight(server, tablet, desk_headers)
    # The feed starts over (a reconnect): its snapshot finds the tap kept, made the day before, still being sent.
    tablet.evaluate("() => document.querySelector('#clinic').dispatchEvent(new Event('change'))")
    # The feed is back (the pill says the tap still waits: it only asks the server, after midnight, whether it was
    # stored, and gets no answer yet).
    tablet.wait_for_timeout(1000)
    tablet.wait_for_selector("#live[data-mode='offline']", timeout=10_000)
    tablet.wait_for_timeout(500)
    tablet.unroute(f"**{API}/**", _no_taps)
    tablet.evaluate("() => window.dispatchEvent(new Event('online'))")  # the waiting retry goes at once
    tablet.wait_for_function("k => localStorage.getItem(k) === null", arg=kept, timeout=20_000)

    board = _board(server, manager)
    assert board["day"] == "2026-11-24", board["day"]
    assert [v["patient_name"] for v in board["visits"]] == ["Cruz Diaz"], "yesterday's walk-in booked today"
    [kim] = [p for p in board["presence"] if p["provider"] == "kim"]
    assert kim["status"] == "back" and kim["version"] == 0, f"yesterday's presence tap said today: {kim}"
    refused = tablet.locator("#kept-refused:not([hidden])")
    refused.wait_for(timeout=10_000)
    assert "made on an earlier day" in refused.inner_text(), refused.inner_text()
    # Said once: by its sender, not again by the snapshot after the reconnect.
    assert tablet.locator("#kept-refused-list li").count() == 1, "said twice"
