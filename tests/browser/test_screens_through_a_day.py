"""The screens through a whole simulated clinic day (`floor demo` on a fast clock): the wall and the waiting
room never show a patient's name, the wall's DOM and JS heap stay bounded, and every page passes axe-core
with no serious or critical violations."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import CLINIC, Demo, Screens, serious_violations, sign_in_page

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.long]

#: 1200x: the clinic day (07:45 to about 17:30) passes in about half a minute.
SPEED = 1200

#: Every text node, attribute value, the title and form values: whatever a passer-by could see or a
#: screen reader could say.
EVERYTHING_VISIBLE = """() => {
  const parts = [document.title];
  const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let node = walker.currentNode; node; node = walker.nextNode()) {
    if (node.nodeType === Node.TEXT_NODE) { parts.push(node.nodeValue); continue; }
    for (const attr of node.attributes) parts.push(attr.value);
    if ('value' in node && typeof node.value === 'string') parts.push(node.value);
  }
  return parts.join('\\n');
}"""

HEAP_AND_NODES = """() => {
  if (window.gc) window.gc();
  return {heap: performance.memory.usedJSHeapSize, nodes: document.getElementsByTagName('*').length};
}"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    d = Demo(tmp_path_factory.mktemp("demo") / "demo.log", speed=SPEED)
    try:
        yield d
    finally:
        d.stop()


def _names(demo: Demo, manager: dict[str, str]) -> set[str]:
    board = httpx.get(f"{demo.url}/api/clinics/{CLINIC}/board", headers=manager, timeout=10).json()
    return {v["patient_name"] for v in board["visits"]}


def _leaks(text: str, names: set[str], staff_words: set[str]) -> list[str]:
    words = {w for n in names for w in n.split() if len(w) > 2} - staff_words
    return sorted(n for n in names if n in text) + sorted(w for w in words if w in text)


def test_through_a_whole_day_the_wall_shows_no_name_and_stays_bounded(demo: Demo, screens: Screens) -> None:
    manager = demo.sign_in("dana")
    board = httpx.get(f"{demo.url}/api/clinics/{CLINIC}/board", headers=manager, timeout=10).json()
    staff_words = {w.strip(",.") for p in board["providers"] for w in p["name"].split()}
    wall = screens.open(f"{demo.url}/board.html", width=1920, height=1080)
    waiting = screens.open(f"{demo.url}/waiting.html", width=1920, height=1080)
    for page in (wall, waiting):
        page.wait_for_selector("#conn[data-mode='live']", timeout=20_000)

    names: set[str] = set()
    samples: list[dict] = []
    scans = tokens_shown = 0
    ended_at = None
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        names |= _names(demo, manager)
        for page in (wall, waiting):
            leaked = _leaks(page.evaluate(EVERYTHING_VISIBLE), names, staff_words)
            assert not leaked, f"{page.url} shows {leaked[:5]}"
            scans += 1
        samples.append(wall.evaluate(HEAP_AND_NODES))
        tokens_shown = max(
            tokens_shown,
            wall.evaluate(
                "() => [...document.querySelectorAll('[data-token]')].filter(e => e.textContent.trim()).length"
            ),
        )
        done = "demo_day_finished" in demo.log()
        if done and ended_at is None:
            ended_at = time.monotonic()
        if ended_at is not None and time.monotonic() - ended_at > 5:
            break
        time.sleep(0.2)
    assert ended_at is not None, "the demo day did not finish"
    # Scans across the whole day: how many fit in it depends on the machine against the demo's clock (92 on a
    # loaded two-core machine, where more than 100 was asked once); 50 (25 of each page) still spans the day.
    assert len(names) > 50 and scans > 50
    # The scans saw a working floor: patients in rooms by their tokens, a line per provider in the waiting room.
    assert tokens_shown >= 3
    assert waiting.locator("[data-provider]").count() == len(board["providers"])

    warm, rest = samples[: len(samples) // 4], samples[len(samples) // 4 :]
    first_heap, last_heap = max(s["heap"] for s in warm), samples[-1]["heap"]
    most_nodes = max(s["nodes"] for s in rest)
    print(
        f"\nwall through the day: {len(samples)} samples, nodes {min(s['nodes'] for s in samples)}.."
        f"{max(s['nodes'] for s in samples)}, heap after GC {first_heap / 1e6:.1f} MB warm -> "
        f"{max(s['heap'] for s in rest) / 1e6:.1f} MB max -> {last_heap / 1e6:.1f} MB at the end"
    )
    assert most_nodes <= 1.25 * max(s["nodes"] for s in warm) + 50, samples
    assert last_heap <= 1.5 * first_heap + 2_000_000, samples


@pytest.mark.parametrize("path", ["board.html", "waiting.html"])
def test_wall_and_waiting_room_pass_axe(demo: Demo, screens: Screens, path: str) -> None:
    page = screens.open(f"{demo.url}/{path}", width=1920, height=1080)
    page.wait_for_selector("#conn[data-mode='live']", timeout=20_000)
    assert serious_violations(page) == []


def test_a_display_waiting_for_its_code_passes_axe(screens: Screens, tmp_path: Path) -> None:
    """Not the demo (it pairs at once): a real server, where the wall shows its code."""
    from tests.server.conftest import ServerProcess

    server = ServerProcess(tmp_path / "data", tmp_path / "server.log")
    server.start()
    try:
        page = screens.open(f"{server.url}/board.html", width=1920, height=1080)
        page.wait_for_function("() => /[A-Z0-9]{3}/.test(document.querySelector('#pairing-code').textContent)")
        assert serious_violations(page) == []
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("staff", "path"), [("ana", ""), ("ben", ""), ("kim", ""), ("dana", ""), ("dana", "manager.html")]
)
def test_tablet_and_manager_pages_pass_axe(demo: Demo, screens: Screens, staff: str, path: str) -> None:
    page = screens.open(f"{demo.url}/{path}", width=1280, height=800)
    assert serious_violations(page) == []  # the sign-in form
    sign_in_page(page, staff, demo.pins[staff])
    # The first snapshot rendered: the feed turns the page's connection pill live as it hands the page its
    # snapshot, in the same task (static/lib/feed.js).
    page.wait_for_selector("#conn[data-mode='live']" if path else "#live[data-mode='live']", timeout=10_000)
    if path == "manager.html":
        page.wait_for_selector("#learned-stages tbody tr", timeout=10_000)  # what Floor has learned, too
    assert serious_violations(page) == []
