"""`floor demo` as a newcomer runs it shows the cascade alert in its first minutes: its day (one provider held
up at the start, floor/simulator.py `demo_staff`) raises a cascade that the hallway wall shows as "Running
late" and the manager's page lists (its lateness tile saying what its timeline says), and that clears when
the provider has caught up. The demo runs at 300x from its own default start; every wait is bounded by the
demo's first ten minutes at its default 30x."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from floor.config import demo_clinic
from floor.simulator import DEMO_LATE_START
from tests.browser.conftest import Demo, Screens, sign_in_page

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.long]

SPEED = 300
#: The demo's first ten minutes of real time at its default 30x, in clinic minutes; in seconds at SPEED.
FIRST_MINUTES = 10 * 30
WITHIN_S = FIRST_MINUTES * 60 / SPEED

WALL_CASCADE = "#alerts-list li.alert-cascade:not([hidden])"
MANAGER_CASCADE = "#alerts li.alert-cascade[data-state='active']"
SAME_DELAY = """(id) => {
  const tile = document.querySelector(`[data-measure='lateness'] li[data-provider='${id}'] .late-now`);
  const lane = document.querySelector(`#timeline g.lane[data-provider='${id}'] .lane-late`);
  return tile && lane && tile.textContent !== "" && tile.textContent === lane.textContent;
}"""
GONE = "([s, who]) => ![...document.querySelectorAll(s)].some(e => e.textContent.includes(who))"


@pytest.fixture
def demo(tmp_path) -> Iterator[Demo]:
    d = Demo(tmp_path / "demo.log", speed=SPEED)
    try:
        yield d
    finally:
        d.stop()


def test_the_demos_first_minutes_show_a_cascade_on_the_wall_and_the_managers_page(demo: Demo, screens: Screens) -> None:
    started = time.monotonic()
    provider = next(p for p in demo_clinic().providers if p.id == DEMO_LATE_START[0])
    wall = screens.open(f"{demo.url}/board.html", width=1920, height=1080)
    wall.wait_for_selector("#conn[data-mode='live']", timeout=20_000)
    manager = screens.open(f"{demo.url}/manager.html")
    sign_in_page(manager, "dana", demo.pins["dana"], device="office")

    def left_ms() -> float:
        return max(1.0, (WITHIN_S - (time.monotonic() - started)) * 1000)

    # (That it is raised before the provider's patients pile up is tests/core/test_demo_day.py's to check, on
    # the clinic clock: here the demo's clock runs on while a loaded machine opens the pages.)
    item = wall.locator(WALL_CASCADE).first
    item.wait_for(timeout=left_ms())
    assert item.locator(".alert-kind").text_content() == "Running late"
    assert provider.name in item.locator(".alert-text").text_content()
    assert wall.locator("#alerts-none").is_hidden()

    listed = manager.locator(MANAGER_CASCADE).first
    listed.wait_for(timeout=left_ms())
    assert listed.locator(".badge").text_content() == "Running late"
    assert f"{provider.name} running" in listed.locator(".alert-head").inner_text()

    # The manager's lateness tile says now what the timeline's label says: the provider's delay.
    manager.wait_for_function(SAME_DELAY, arg=provider.id, timeout=left_ms())

    # It clears once the provider has caught up, still within the demo's first ten minutes.
    for page, selector in ((wall, WALL_CASCADE), (manager, MANAGER_CASCADE)):
        page.wait_for_function(GONE, arg=[selector, provider.name], timeout=left_ms())
    # On the manager's page the cleared alert is folded away under "Cleared alerts", with nothing to acknowledge;
    # the active list stays first.
    cleared = (
        manager.locator("#alerts-cleared-list li.alert-cascade[data-state='cleared']")
        .filter(has_text=provider.name)
        .first
    )
    cleared.wait_for(state="attached", timeout=10_000)
    assert manager.locator("#alerts-cleared").evaluate("d => d.tagName === 'DETAILS' && !d.open")
    assert cleared.locator("button").count() == 0
    assert manager.locator("#alerts li[data-state='cleared']").count() == 0
