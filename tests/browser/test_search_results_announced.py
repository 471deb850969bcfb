"""Finding a patient with a screen reader: the desk types a name in the search box and the arrivals list is
replaced by what was found, but nothing tells a screen reader so. No live region says how many visits were found,
or that none were (WCAG 2.2 4.1.3, status messages): the person has to leave the box and hunt through the page
to learn whether the search found anyone (a hostile review). A status line for screen readers says it now, in the
tablet's language."""

from __future__ import annotations

import pytest

from floor.core.access import Role
from tests.browser.conftest import Screens, book_visit, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

LIVE = """() => [...document.querySelectorAll('[role=status], [role=alert], [aria-live]')]
  .filter((n) => n.getAttribute('aria-live') !== 'off' && !n.closest('[hidden]'))
  .map((n) => n.textContent.replace(/\\s+/g, ' ').trim()).filter(Boolean)"""


def test_a_search_says_to_a_screen_reader_how_many_patients_it_found(server: ServerProcess, screens: Screens) -> None:
    desk = server.signed_in(Role.front_desk)
    for name, at in (("Ann Lee", "09:10"), ("Bo Lee", "09:20"), ("Cruz Leon", "09:30"), ("Dee Obi", "09:40")):
        book_visit(server, desk, name, start=f"2026-11-23T{at}:00")
    page = screens.open(f"{server.url}/", width=768, height=1024)
    sign_in_page(page, PEOPLE[Role.front_desk][0], PIN)
    page.wait_for_selector("#live.live-live", timeout=10_000)
    search = page.get_by_role("searchbox", name="Find a patient: name or visit code")
    search.fill("le")
    page.locator("[data-list='desk-found'] li[data-visit]").nth(2).wait_for(timeout=10_000)
    page.wait_for_timeout(500)
    said = page.evaluate(LIVE)
    assert any("3" in text for text in said), f"three found; what live regions say: {said}"
    search.fill("zzz")
    page.locator("[data-list='desk-found'] .empty:not([hidden])").wait_for(timeout=10_000)
    page.wait_for_timeout(500)
    empty = page.locator("[data-list='desk-found'] .empty").inner_text()
    said = page.evaluate(LIVE)
    assert any(empty in text for text in said), f"none found ({empty!r}); what live regions say: {said}"
    search.fill("")
    page.locator("[data-list='desk-arrivals']").wait_for(timeout=10_000)
    assert page.locator("#desk-found").inner_text() == ""


def test_the_search_status_is_said_in_spanish(server: ServerProcess, screens: Screens) -> None:
    desk = server.signed_in(Role.front_desk)
    for name, at in (("Ann Lee", "09:10"), ("Bo Lee", "09:20")):
        book_visit(server, desk, name, start=f"2026-11-23T{at}:00")
    page = screens.open(f"{server.url}/?lang=es", width=768, height=1024)
    sign_in_page(page, PEOPLE[Role.front_desk][0], PIN)
    page.wait_for_selector("#live.live-live", timeout=10_000)
    page.fill("#desk-search", "lee")
    page.locator("[data-list='desk-found'] li[data-visit]").nth(1).wait_for(timeout=10_000)
    page.wait_for_function("() => document.querySelector('#desk-found').textContent === '2 visitas encontradas.'")
    page.fill("#desk-search", "ann")
    page.wait_for_function("() => document.querySelector('#desk-found').textContent === '1 visita encontrada.'")
