"""Keyboard only: the front desk's tools ("This tap happened" and the search bar) stay stuck at the top while the
list scrolls. Going back up the list with Shift+Tab, each focused button is brought into view below the stuck bars,
not under them (WCAG 2.2 2.4.11, focus not obscured), upright, sideways and on a phone, where the bars are of other
heights (tablet/stuck.js measures them). Focusing a control of the stuck bars does not scroll the list."""

from __future__ import annotations

import pytest

from floor.core.access import Role
from tests.browser.conftest import Screens, import_day, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

DAY = "2026-11-23"

SEEN = """() => {
  const a = document.activeElement, r = a.getBoundingClientRect();
  const covers = [...document.querySelectorAll('.tap-late, .desk-tools')].map(n => n.getBoundingClientRect().bottom);
  return { what: (a.textContent || '').trim().slice(0, 30), top: r.top, covered: Math.max(...covers) };
}"""


@pytest.mark.parametrize("size", [(768, 1024), (1280, 800), (390, 844)])
def test_a_button_focused_going_back_up_the_list_is_not_hidden_under_the_stuck_tools(
    server: ServerProcess, screens: Screens, size: tuple[int, int]
) -> None:
    rows = []
    for i in range(60):
        minutes = 8 * 60 + i * 9
        rows.append(f"EHR-{i},{minutes // 60:02d}:{minutes % 60:02d},kim,follow,Patient {i:02d}")
    import_day(server, server.signed_in(Role.manager), DAY, rows)
    server.signed_in(Role.front_desk)
    desk = screens.open(f"{server.url}/", width=size[0], height=size[1])
    sign_in_page(desk, PEOPLE[Role.front_desk][0], PIN)
    desk.select_option("#desk-when", "all")
    desk.wait_for_function(
        "() => document.querySelectorAll(\"[data-list='desk-arrivals'] li[data-visit]\").length === 60", timeout=10_000
    )
    # Down the list from the keyboard to the 30th card's Check in, then back up one control at a time.
    desk.locator("[data-list='desk-arrivals'] li[data-visit]").nth(30).locator("[data-action=next]").focus()
    hidden = []
    for _ in range(25):
        desk.keyboard.press("Shift+Tab")
        seen = desk.evaluate(SEEN)
        if seen["top"] < seen["covered"]:  # under the stuck bars, wholly or in part
            hidden.append(seen)
    assert not hidden, f"{len(hidden)} of 25 focused controls under the stuck tools, e.g. {hidden[:3]}"

    # The stuck bars' own controls are in view where they are: focusing them does not move the list.
    before = desk.evaluate("() => scrollY")
    for control in ("#desk-search", "#desk-when", "#tap-late-minutes"):
        desk.focus(control)
        assert desk.evaluate("() => scrollY") == before, control
