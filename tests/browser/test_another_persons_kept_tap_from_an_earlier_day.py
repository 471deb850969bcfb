"""A desk adds a walk-in late in the evening while the tablet cannot reach the server, and her sign-in ends before
it gets through: the walk-in is kept on the tablet for her next sign-in here. A tap made on an earlier clinic day is
never sent; yet the next morning the colleague who signed in on that tablet was shown it among taps "waiting for
another person to sign in here again", and would be every day until she came back to this tablet (a hostile review
of the tablets). Such a tap is now said once as not sent, and let go of. The server runs a fast clinic clock from
23:50, so midnight comes in seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Route

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, fast_clock_server, serious_violations, sign_in_page
from tests.server.conftest import ServerProcess, bearer
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

API = f"/api/clinics/{CLINIC}"
EVENING = "2026-11-24T05:50:00+00:00"  # 23:50 at the clinic, on the 23rd
SPEED = 30  # clinic minutes per two real seconds
DESK = PEOPLE[Role.front_desk][0]
NEXT = "desk-ben"
KEPT = f"floor.outbox.{CLINIC}.{DESK}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with fast_clock_server(tmp_path, EVENING, SPEED) as proc:
        yield proc


def _no_taps(route: Route) -> None:
    if route.request.method == "POST" and "/api/sign-in" not in route.request.url:
        route.abort("internetdisconnected")
    else:
        route.continue_()


def test_another_persons_tap_kept_from_an_earlier_day_is_said_once_as_not_sent(
    server: ServerProcess, screens: Screens
) -> None:
    manager = server.signed_in(Role.manager)
    server.signed_in(Role.front_desk)
    server.add_staff(NEXT, Role.front_desk, "Ben Ruiz")
    tablet = screens.open(f"{server.url}/", width=768, height=1024)
    sign_in_page(tablet, DESK, PIN, device="front-desk-1")
    tablet.wait_for_selector("#live.live-live", timeout=10_000)
    token = tablet.evaluate("() => sessionStorage.getItem('floor.tablet.token')")

    tablet.route(f"**{API}/**", _no_taps)
    tablet.fill("#walkin-name", "Ann Lee")
    tablet.select_option("#walkin-provider", "kim")
    tablet.click("#walkin-submit")
    tablet.wait_for_function("k => JSON.parse(localStorage.getItem(k) || '[]').length === 1", arg=KEPT)
    assert httpx.post(f"{server.url}/api/sign-out", headers=bearer(token), timeout=10).status_code in (200, 204)
    tablet.locator("#sign-in").wait_for(state="visible", timeout=10_000)
    tablet.unroute(f"**{API}/**", _no_taps)
    tablet.evaluate("() => window.dispatchEvent(new Event('online'))")  # answered 401: kept for her
    tablet.locator("#kept-waiting:not([hidden])").wait_for(timeout=10_000)
    board = httpx.get(f"{server.url}{API}/board", headers=manager, timeout=10).json()
    assert board["day"] == "2026-11-23", "midnight came too soon for the test"

    deadline = time.monotonic() + 60
    while httpx.get(f"{server.url}{API}/board", headers=manager, timeout=10).json()["day"] != "2026-11-24":
        assert time.monotonic() < deadline, "the clinic clock did not move"
        time.sleep(0.3)
    # The next morning, on the same tablet (the page loaded again: it hears the fast clock from the snapshot).
    tablet.reload()
    sign_in_page(tablet, NEXT, PIN, device="front-desk-1")
    tablet.wait_for_selector("#live.live-live", timeout=10_000)

    refused = tablet.locator("#kept-refused:not([hidden])")
    refused.wait_for(timeout=10_000)
    assert "Walk-in Ann Lee: not sent, it was made on an earlier day." in refused.inner_text(), refused.inner_text()
    assert f"(tapped by {DESK})" in refused.inner_text()
    assert tablet.locator("#kept-others").is_hidden(), tablet.locator("#kept-others").inner_text()
    assert tablet.evaluate("k => localStorage.getItem(k)", KEPT) is None
    assert serious_violations(tablet) == []
    board = httpx.get(f"{server.url}{API}/board", headers=manager, timeout=10).json()
    assert board["visits"] == []
