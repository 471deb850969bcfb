"""When a sign-in ends mid-shift (expired, signed out elsewhere, a new PIN), "nothing the sign-in showed stays on
the page: the lists had patient names" (session.js signedOut). An open visit detail (or a confirm dialog) is a
modal <dialog> on document.body, outside #app: it stays open over the sign-in form, with the patient's name, the
visit code and the visit's history, for whoever picks the tablet up next (a hostile review). Now the sign-in's end
closes and removes them (a confirm so closed answers "no"); signed in again, the detail opens as before."""

from __future__ import annotations

import httpx
import pytest

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, book_visit, sign_in_page
from tests.server.conftest import ServerProcess, bearer
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.mark.parametrize("which", ["detail", "confirm"])
def test_no_patient_stays_on_screen_once_the_sign_in_has_ended(
    server: ServerProcess, screens: Screens, which: str
) -> None:
    desk_headers = server.signed_in(Role.front_desk)
    visit = book_visit(server, desk_headers, "Marisol Quintero", start="2026-11-23T09:10:00")
    page = screens.open(f"{server.url}/", width=1280, height=800)
    sign_in_page(page, PEOPLE[Role.front_desk][0], PIN)
    card = page.locator(f"[data-list='desk-arrivals'] li[data-visit='{visit['id']}']")
    card.wait_for(timeout=10_000)
    page.wait_for_selector("#live.live-live", timeout=10_000)
    if which == "detail":
        card.locator("[data-action=detail]").click()
        page.locator("#visit-detail ol.history li").first.wait_for(timeout=10_000)
    else:
        card.locator("[data-step='no_show']").click()
        page.locator("dialog[data-confirm]").wait_for(timeout=10_000)

    # The sign-in ends (here: signed out from elsewhere; an expiry or a new PIN closes the feed the same way).
    token = page.evaluate("() => sessionStorage.getItem('floor.tablet.token')")
    assert httpx.post(f"{server.url}/api/sign-out", headers=bearer(token), timeout=10).status_code in (200, 204)
    page.locator("#sign-in").wait_for(state="visible", timeout=10_000)
    page.wait_for_timeout(300)

    shown = page.evaluate("() => [...document.querySelectorAll('dialog[open]')].map(d => d.innerText).join(' | ')")
    assert "Marisol Quintero" not in shown, f"signed out, and still on screen: {shown!r}"
    assert page.locator("dialog").count() == 0

    sign_in_page(page, PEOPLE[Role.front_desk][0], PIN)
    card.locator("[data-action=detail]").click()
    page.locator("#visit-detail ol.history li").first.wait_for(timeout=10_000)
    assert "Marisol Quintero" in page.locator("#visit-detail").inner_text()
    if which == "confirm":  # the confirm closed by the sign-in's end sent nothing
        now = httpx.get(f"{server.url}/api/clinics/{CLINIC}/visits/{visit['id']}", headers=desk_headers, timeout=10)
        assert now.json()["visit"]["stage"] == "scheduled"
