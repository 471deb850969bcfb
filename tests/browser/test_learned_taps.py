"""The manager's "What Floor has learned" says when the clinic's past days show taps entered after their steps,
and what Floor makes of it (floor/core/learning.py, `tap_lag`): here six provider changes of two past days
had the next patient's provider-in tapped before the last one's teach-back, 3 minutes at the median.

The server runs in this process on a manual clinic clock, on a log holding the past days."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from floor.clock import ManualClock
from floor.config import demo_clinic
from floor.core.access import Role
from floor.log.embedded import EmbeddedLog
from tests.browser.conftest import Screens, sign_in_page
from tests.support.history import write_late_tap_days
from tests.support.in_process_server import InProcessServer
from tests.support.staff import PEOPLE, PIN, test_floors

pytestmark = [pytest.mark.browser, pytest.mark.server]

CLINIC = demo_clinic()
TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    async def past_days() -> None:
        log = EmbeddedLog(tmp_path)
        await write_late_tap_days(log, CLINIC, TODAY, [(1, 2, 3), (3, 4, 5)])
        await log.close()

    # Playwright's page API runs a loop in this thread: the log is written in one of its own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, past_days()).result()
    floors = test_floors(tmp_path, [CLINIC], clock=ManualClock(CLINIC.local(TODAY, dt.time(8))), tick_seconds=3600)
    with InProcessServer(floors) as server:
        person, name = PEOPLE[Role.manager]
        server.run(floors.sessions.add_staff(person, name, Role.manager, PIN, "test"))
        yield server


def test_the_manager_sees_that_taps_came_late_and_what_floor_makes_of_it(
    server: InProcessServer, screens: Screens
) -> None:
    console = screens.open(f"{server.url}/manager.html")
    sign_in_page(console, PEOPLE[Role.manager][0], PIN, device="office")
    console.wait_for_function(
        "() => /^Taps: in 6 of 10 provider changes/.test(document.querySelector('#learned-taps').textContent)",
        timeout=10_000,
    )
    text = console.locator("#learned-taps").inner_text()
    assert "tapped before the last one's teach-back" in text, text
    assert "Floor takes taps to lag 3 min" in text, text
    assert "only that much past the cascade's minutes late" in text, text
    # Ten visits of those days foretold from the ones before them: too few to learn how much a day says.
    pace = console.locator("#learned-pace").inner_text()
    assert pace.startswith("Pace: 10 past visits to judge by, too few to learn from"), pace
    assert "against 3 visits' worth of the usual minutes" in pace, pace
