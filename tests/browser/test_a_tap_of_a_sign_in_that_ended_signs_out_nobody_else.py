"""An assistant's tap waits for the network (a room's "Room ready", her "Stepped away" for Dr. Kim) while her sign-in
ends (her shift's 12 hours are up, a manager set her a new PIN); the tablet signs her out and a colleague signs in.
Her tap's next retry is answered 401, as it should be: it stays kept for her next sign-in here. But that 401 signed
the colleague out ("Your sign-in ended"), a minute into her shift, the lists and her own taps on their way gone
with it (a hostile review of the tablets). A 401 ends the sign-in its tap went with, never the one on the tablet
since."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Route

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, book_visit, sign_in_page
from tests.server.conftest import ServerProcess, bearer
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

API = f"/api/clinics/{CLINIC}"
MA = PEOPLE[Role.medical_assistant][0]
NEXT = "ma-cruz"


def _no_taps(route: Route) -> None:
    """The network gives the tablet nothing but its pages and reads: its taps wait."""
    if route.request.method == "POST" and "/api/sign-in" not in route.request.url:
        route.abort("internetdisconnected")
    else:
        route.continue_()


@pytest.mark.parametrize("what", ["room", "presence"])
def test_a_waiting_tap_of_an_ended_sign_in_leaves_the_next_person_signed_in(
    server: ServerProcess, screens: Screens, what: str
) -> None:
    desk = server.signed_in(Role.front_desk)
    ma = server.signed_in(Role.medical_assistant, device="ma-2")
    server.add_staff(NEXT, Role.medical_assistant, "Cruz Ortiz")
    visit = book_visit(server, desk, "Ann Lee")
    for body in ({"type": "roomed", "room": "e1"}, {"type": "left_without_being_seen"}):
        answer = httpx.post(f"{server.url}{API}/visits/{visit['id']}/events", headers=ma, json=body, timeout=10)
        assert answer.status_code == 201, answer.text
    tablet = screens.open(f"{server.url}/", width=768, height=1024)
    sign_in_page(tablet, MA, PIN, device="ma-1")
    tablet.wait_for_selector("#live.live-live", timeout=10_000)
    token = tablet.evaluate("() => sessionStorage.getItem('floor.tablet.token')")

    tablet.route(f"**{API}/**", _no_taps)
    if what == "room":
        tablet.locator("[data-list='ma-rooms'] li[data-room='e1'] [data-action='room-ready']").click()
    else:
        tablet.select_option("#presence-provider", "kim")
        tablet.locator("button[data-presence='stepped_away']").click()
    tablet.wait_for_function(
        "k => JSON.parse(localStorage.getItem(k) || '[]').length === 1", arg=f"floor.outbox.{CLINIC}.{MA}"
    )
    # Her sign-in ends meanwhile: the feed says so and the tablet shows the sign-in form.
    assert httpx.post(f"{server.url}/api/sign-out", headers=bearer(token), timeout=10).status_code in (200, 204)
    tablet.locator("#sign-in").wait_for(state="visible", timeout=10_000)
    sign_in_page(tablet, NEXT, PIN, device="ma-1")
    tablet.wait_for_selector("#live.live-live", timeout=10_000)

    tablet.unroute(f"**{API}/**", _no_taps)
    tablet.evaluate("() => window.dispatchEvent(new Event('online'))")  # her waiting tap goes at once: 401
    tablet.wait_for_function(  # answered 401 (not sent again after the online event), kept for her
        "k => performance.getEntriesByType('resource').filter((r) => r.name.includes(k)).length > 0",
        arg="/rooms/e1/events" if what == "room" else "/providers/kim/presence",
        timeout=10_000,
    )
    tablet.wait_for_timeout(1_000)
    assert tablet.locator("#sign-in").is_hidden(), "the next person was signed out by the first one's tap"
    assert tablet.evaluate("() => sessionStorage.getItem('floor.tablet.token')") is not None
    assert tablet.locator("#whoami").get_attribute("data-staff") == NEXT
    others = tablet.locator("#kept-others:not([hidden])")  # hers, kept, waiting for her next sign-in here
    others.wait_for(timeout=10_000)
    assert f"(tapped by {MA})" in others.inner_text(), others.inner_text()
