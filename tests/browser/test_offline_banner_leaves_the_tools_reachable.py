"""Offline on a busy morning the front desk keeps checking patients in (taps are kept and sent later). The offline
banner stays at the top while the list scrolls, and "This tap happened" and the desk's search bar stick below it,
not under it: the search box, "Show arrivals" and "This tap happened" can still be reached by touch. The banner is
of a few lines however many taps wait (the rest scrolls in it, by touch or from the keyboard), and a button
focused going back up the list is brought into view below all three bars."""

from __future__ import annotations

import pytest

from floor.core.access import Role
from tests.browser.conftest import Screens, import_day, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

REACH = """() => Object.fromEntries(['desk-search', 'desk-when', 'tap-late-minutes'].map((id) => {
  const r = document.getElementById(id).getBoundingClientRect();
  const points = [[r.left + 4, r.top + 4], [r.left + r.width / 2, r.top + r.height / 2], [r.right - 4, r.bottom - 4]];
  const under = points.map(([x, y]) => document.elementFromPoint(x, y)).find((hit) => hit?.id !== id);
  return [id, under === undefined ? 'reachable' : `under #${under?.closest('[id]')?.id}`];
}))"""

FOCUSED = """() => {
  const r = document.activeElement.getBoundingClientRect();
  const stuck = Math.max(...[...document.querySelectorAll('.banner, .tap-late, .desk-tools')]
    .map((n) => n.getBoundingClientRect().bottom));
  return { what: document.activeElement.textContent.trim().slice(0, 30), top: r.top, stuck };
}"""


@pytest.mark.parametrize("size", [(768, 1024), (1280, 800)])
def test_offline_the_desk_can_still_reach_its_search_and_this_tap_happened(
    server: ServerProcess, screens: Screens, size: tuple[int, int]
) -> None:
    rows = [
        f"EHR-{i},{(8 * 60 + i * 9) // 60:02d}:{(8 * 60 + i * 9) % 60:02d},kim,follow,Patient {i:02d}"
        for i in range(60)
    ]
    import_day(server, server.signed_in(Role.manager), "2026-11-23", rows)
    server.signed_in(Role.front_desk)
    page = screens.open(f"{server.url}/", width=size[0], height=size[1])
    sign_in_page(page, PEOPLE[Role.front_desk][0], PIN)
    page.wait_for_selector("#live.live-live", timeout=10_000)
    page.select_option("#desk-when", "all")
    page.locator("[data-list='desk-arrivals'] li[data-visit]").nth(30).wait_for(timeout=10_000)
    page.context.set_offline(True)
    try:
        for _ in range(5):  # five patients checked in while the network is down
            page.locator(
                "[data-list='desk-arrivals'] li[data-visit]:not([data-sending]) [data-action=next]"
            ).first.click()
            page.wait_for_timeout(700)
        page.wait_for_function("() => document.querySelectorAll('#offline-taps li').length === 5", timeout=10_000)
        page.mouse.wheel(0, 1200)  # further down the list
        page.wait_for_timeout(500)
        reach = page.evaluate(REACH)
        height = page.evaluate("() => document.getElementById('offline').getBoundingClientRect().height")
        assert set(reach.values()) == {"reachable"}, f"offline, banner {height:.0f}px tall: {reach}"
        assert height <= size[1] / 4, f"the banner takes {height:.0f}px of {size[1]}"
        # What does not fit scrolls in the banner, and the keyboard can scroll it too (it takes focus).
        more = page.locator("#offline .banner-more")
        more.focus()
        page.keyboard.press("End")
        page.wait_for_timeout(500)  # a smooth scroll
        last = page.evaluate(
            """() => { const box = document.querySelector('#offline .banner-more').getBoundingClientRect();
                 const li = document.querySelector('#offline-taps li:last-child').getBoundingClientRect();
                 return li.top >= box.top - 1 && li.bottom <= box.bottom + 1; }"""
        )
        # Back up the list from the keyboard: each focused control below the three stuck bars.
        page.locator("[data-list='desk-arrivals'] li[data-visit]").nth(30).locator("[data-action=next]").focus()
        hidden = []
        for _ in range(12):
            page.keyboard.press("Shift+Tab")
            seen = page.evaluate(FOCUSED)
            if seen["top"] < seen["stuck"]:
                hidden.append(seen)
    finally:
        page.context.set_offline(False)
    assert last, "the last tap waiting cannot be scrolled into the banner's view"
    assert not hidden, f"focused controls under the stuck bars: {hidden[:3]}"
