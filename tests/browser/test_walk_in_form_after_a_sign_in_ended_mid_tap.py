"""A desk adds a walk-in while the tablet cannot reach the server: the form's button says "Sending…" and is held
while the walk-in waits. Her sign-in ends meanwhile and a colleague signs in on the tablet: the walk-in stays kept
for her (listed as hers), but the colleague's "Add walk-in" button still said "Sending…" and could not be pressed,
until the page was reloaded (a hostile review of the tablets). Signing out lets go of the form as it does of
everything else the sign-in showed."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Route

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, sign_in_page
from tests.server.conftest import ServerProcess, bearer
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

DESK = PEOPLE[Role.front_desk][0]
NEXT = "desk-ben"


def _no_taps(route: Route) -> None:
    if route.request.method == "POST" and "/api/sign-in" not in route.request.url:
        route.abort("internetdisconnected")
    else:
        route.continue_()


def test_the_next_person_can_add_a_walk_in(server: ServerProcess, screens: Screens) -> None:
    server.signed_in(Role.front_desk)
    server.add_staff(NEXT, Role.front_desk, "Ben Ruiz")
    tablet = screens.open(f"{server.url}/", width=768, height=1024)
    sign_in_page(tablet, DESK, PIN, device="front-desk-1")
    tablet.wait_for_selector("#live.live-live", timeout=10_000)
    token = tablet.evaluate("() => sessionStorage.getItem('floor.tablet.token')")

    tablet.route(f"**/api/clinics/{CLINIC}/**", _no_taps)
    tablet.fill("#walkin-name", "Ann Lee")
    tablet.select_option("#walkin-provider", "kim")
    tablet.click("#walkin-submit")
    tablet.wait_for_function(
        "k => JSON.parse(localStorage.getItem(k) || '[]').length === 1", arg=f"floor.outbox.{CLINIC}.{DESK}"
    )
    assert httpx.post(f"{server.url}/api/sign-out", headers=bearer(token), timeout=10).status_code in (200, 204)
    tablet.locator("#sign-in").wait_for(state="visible", timeout=10_000)
    sign_in_page(tablet, NEXT, PIN, device="front-desk-1")
    tablet.wait_for_selector("#live.live-live", timeout=10_000)

    button = tablet.locator("#walkin-submit")
    assert button.is_enabled(), f"the next person's walk-in button is held: {button.inner_text()!r}"
    assert button.inner_text() == "Add walk-in"
