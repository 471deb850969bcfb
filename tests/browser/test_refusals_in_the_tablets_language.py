"""On a Spanish tablet every refusal is said in Spanish (README, Languages; lib/refusals.js), but a visit's detail
put the server's English sentence into its Spanish frame: "No se pudo deshacer: The visit changed first…"
(visit-detail.js used err.message), and a sign-in ended mid-shift read "Su sesión terminó (signed out, expired or
revoked)." (connection.js put the feed's English close reason in). Both are now said from lib/refusals.js and the
language files; on an English tablet the server's sentence stays, without its "(version 3, you had version 2)",
which says nothing to staff (a hostile review)."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Route

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, book_visit, sign_in_page
from tests.server.conftest import ServerProcess, bearer
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]


def _undo_refused_in_the_detail(server: ServerProcess, screens: Screens, lang: str) -> str:
    """A desk checks Ann Ruiz in and opens her detail; an assistant rooms her just before the desk's undo reaches
    the server. What the detail says."""
    desk_headers = server.signed_in(Role.front_desk)
    visit = book_visit(server, desk_headers, "Ana Ruiz", start="2026-11-23T09:10:00")
    ma = server.signed_in(Role.medical_assistant, device="ma-2")
    page = screens.open(f"{server.url}/?lang={lang}", width=768, height=1024)
    sign_in_page(page, PEOPLE[Role.front_desk][0], PIN, device="Recepcion 1")
    card = page.locator(f"[data-list='desk-arrivals'] li[data-visit='{visit['id']}']")
    card.wait_for(timeout=10_000)
    card.locator("[data-action=next]").click()  # checked in by this desk
    waiting = page.locator(f"[data-list='desk-waiting'] li[data-visit='{visit['id']}']")
    waiting.wait_for(timeout=10_000)
    waiting.locator("[data-action=detail]").click()
    undo = page.locator("#visit-detail [data-detail='undo']")
    undo.wait_for(timeout=10_000)

    def assistant_first(route: Route) -> None:
        if route.request.method == "POST":
            now = httpx.get(f"{server.url}/api/clinics/{CLINIC}/visits/{visit['id']}", headers=ma, timeout=10).json()
            answer = httpx.post(
                f"{server.url}/api/clinics/{CLINIC}/visits/{visit['id']}/events",
                headers=ma,
                json={"type": "roomed", "room": "e2", "expected_version": now["visit"]["version"]},
                timeout=10,
            )
            assert answer.status_code == 201, answer.text
        route.continue_()

    page.route(f"**/visits/{visit['id']}/events", assistant_first)
    undo.click()
    message = page.locator("#visit-detail [data-detail-message]:not([hidden])")
    message.wait_for(timeout=10_000)
    return message.inner_text()


def test_an_undo_refused_in_the_detail_is_said_in_spanish(server: ServerProcess, screens: Screens) -> None:
    text = _undo_refused_in_the_detail(server, screens, "es")
    assert text.startswith("No se pudo deshacer"), text
    assert "changed first" not in text and "version" not in text, f"the server's English on a Spanish tablet: {text!r}"


def test_an_undo_refused_in_the_detail_in_english_names_no_versions(server: ServerProcess, screens: Screens) -> None:
    text = _undo_refused_in_the_detail(server, screens, "en")
    assert text.startswith("Could not undo: The visit changed first: it is now roomed"), text
    assert "version" not in text, text


def test_a_sign_in_that_ends_mid_shift_is_said_in_spanish(server: ServerProcess, screens: Screens) -> None:
    """The live feed's close reason (the server's English) was put into the Spanish sentence."""
    server.signed_in(Role.front_desk)
    page = screens.open(f"{server.url}/?lang=es", width=768, height=1024)
    sign_in_page(page, PEOPLE[Role.front_desk][0], PIN, device="Recepcion 1")
    page.wait_for_selector("#live.live-live", timeout=10_000)
    token = page.evaluate("() => sessionStorage.getItem('floor.tablet.token')")
    httpx.post(f"{server.url}/api/sign-out", headers=bearer(token), timeout=10)
    message = page.locator("#sign-in-message:not([hidden])")
    message.wait_for(timeout=10_000)
    text = message.inner_text()
    assert text.startswith("Su sesión terminó"), text
    assert "expired" not in text and "revoked" not in text, f"English on the Spanish tablet: {text!r}"
