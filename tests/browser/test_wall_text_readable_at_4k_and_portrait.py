"""The wall's alerts are read from across the hall: 30 px on a 55-inch 1920x1080 screen is the project's own
yardstick (test_at_1920x1080_the_wall_lists_alerts_most_urgent_first_whole_and_readable_from_3_m). The same panel
turned upright (1080x1920) has the same pixels per inch, so it needs 30 px too; a 55-inch 3840x2160 panel has twice
the pixels per inch, so it needs 60 px for the same letters. The root size is capped at 26 px and drops to 13 px
under 1100 px wide, so on those screens the hall reads text a third smaller (4K) or two-thirds the size (portrait)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Screens
from tests.browser.test_wall_and_languages import _board, _open_on_feed
from tests.server.conftest import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.mark.parametrize(
    ("width", "height", "needed"),
    [(3840, 2160, 60), (1080, 1920, 30)],
    ids=["4k-landscape", "1080p-portrait"],
)
def test_the_walls_alerts_are_as_readable_from_the_hall_as_on_a_1080p_screen(
    module_server: ServerProcess, screens: Screens, width: int, height: int, needed: int
) -> None:
    wall = _open_on_feed(screens, f"{module_server.url}/board.html", _board(["en"]))
    wall.set_viewport_size({"width": width, "height": height})
    wall.locator("#alerts-list li.alert:not([hidden])").first.wait_for(timeout=10_000)
    wall.wait_for_timeout(1200)
    sizes = wall.evaluate(
        "() => [...document.querySelectorAll('#alerts-list li.alert:not([hidden]) .alert-text')]"
        ".map(n => parseFloat(getComputedStyle(n).fontSize))"
    )
    assert sizes and min(sizes) >= needed, f"alert text {min(sizes):.1f} px at {width}x{height}, needs {needed}"


def test_upright_the_providers_table_and_the_waiting_room_show_whole_in_spanish(
    module_server: ServerProcess, screens: Screens
) -> None:
    """Upright, the bottom row is narrower than the floor side of a landscape wall: beside the waiting room the
    providers' table lost its last column, and in Spanish ("EN CONSULTORIO") it squeezed the waiting room to a
    sliver. The table gets the whole width; the waiting room sits beside the alerts."""
    wall = _open_on_feed(screens, f"{module_server.url}/board.html", _board(["es"]))
    wall.set_viewport_size({"width": 1080, "height": 1920})
    wall.locator("#waiting-title", has_text="Sala de espera").wait_for(timeout=10_000)
    wall.wait_for_timeout(1200)
    boxes = wall.evaluate(
        """() => {
            const table = document.querySelector('#providers');
            const panel = table.parentElement.getBoundingClientRect();
            const last = [...document.querySelectorAll('#providers td.late')].map(n => n.getBoundingClientRect());
            const waiting = document.querySelector('#waiting');
            return {late_inside: last.every(r => r.right <= panel.right + 0.5),
                    table_whole: table.scrollWidth <= table.parentElement.clientWidth + 1,
                    waiting_width: waiting.getBoundingClientRect().width,
                    waiting_whole: waiting.scrollWidth <= waiting.clientWidth + 1};
        }"""
    )
    assert boxes["late_inside"] and boxes["table_whole"], boxes
    assert boxes["waiting_width"] >= 250 and boxes["waiting_whole"], boxes


@pytest.mark.parametrize(
    ("width", "height", "scale"),
    [(1920, 1080, 1), (3840, 2160, 2), (1080, 1920, 1)],
    ids=["1080p-landscape", "4k-landscape", "1080p-portrait"],
)
def test_the_waiting_rooms_lines_are_as_readable_on_a_4k_or_upright_screen(
    module_server: ServerProcess, screens: Screens, width: int, height: int, scale: int
) -> None:
    """The waiting room, read from the chairs: its provider lines as large for the eye on a 4K or an upright
    screen as on a 1080p one (20 px or more at 1080p, twice that at 4K; capped at 30 px and 14 px upright)."""
    page = _open_on_feed(screens, f"{module_server.url}/waiting.html", _board(["en"]))
    page.set_viewport_size({"width": width, "height": height})
    page.locator("li.line:not([hidden])").first.wait_for(timeout=10_000)
    page.wait_for_timeout(600)
    size = page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert size >= 20 * scale, f"the waiting room's text {size:.1f} px at {width}x{height}"
    whole = page.evaluate(
        "() => [...document.querySelectorAll('li.line:not([hidden])')]"
        ".every(n => n.scrollWidth <= n.clientWidth + 1 && n.getBoundingClientRect().right <= innerWidth + 0.5)"
    )
    assert whole, "a provider's line is cut off"
