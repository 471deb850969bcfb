"""The manager's "What Floor has learned" says how much a provider's day says about their pace
(floor/core/learning.py, `pace_weight`): here four weeks of Dr. Kim's follow-ups, eight a day, each 12 minutes
give or take its own spread and no day slower than another, so the heaviest weight foretold them best.

The server runs in this process on a manual clinic clock, on a log holding the past days."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from floor.clock import ManualClock
from floor.config import demo_clinic
from floor.core.access import Role
from floor.core.learning import LEARN_DAYS, PACE_WEIGHTS
from floor.log.embedded import EmbeddedLog
from tests.browser.conftest import Screens, sign_in_page
from tests.support.history import PastDay, write_days
from tests.support.in_process_server import InProcessServer
from tests.support.staff import PEOPLE, PIN, test_floors

pytestmark = [pytest.mark.browser, pytest.mark.server]

CLINIC = demo_clinic()
TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    draw = random.Random(7)

    def steady(day: PastDay, n: int) -> None:
        for _ in range(8):
            day.seen("kim", "follow", with_provider=12 * draw.lognormvariate(0, 0.3))

    async def past_days() -> None:
        log = EmbeddedLog(tmp_path)
        await write_days(log, CLINIC, TODAY, LEARN_DAYS, steady)
        await log.close()

    # Playwright's page API runs a loop in this thread: the log is written in one of its own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, past_days()).result()
    floors = test_floors(tmp_path, [CLINIC], clock=ManualClock(CLINIC.local(TODAY, dt.time(8))), tick_seconds=3600)
    with InProcessServer(floors) as server:
        person, name = PEOPLE[Role.manager]
        server.run(floors.sessions.add_staff(person, name, Role.manager, PIN, "test"))
        yield server


def test_the_manager_sees_how_much_a_providers_day_says_about_their_pace(
    server: InProcessServer, screens: Screens
) -> None:
    console = screens.open(f"{server.url}/manager.html")
    sign_in_page(console, PEOPLE[Role.manager][0], PIN, device="office")
    console.wait_for_function(
        "() => document.querySelector('#learned-pace').textContent.startsWith('Pace: of the weights tried')",
        timeout=10_000,
    )
    text = console.locator("#learned-pace").inner_text()
    heaviest = f"{max(PACE_WEIGHTS):g}"
    assert f"the usual minutes counting as {heaviest} visits against a provider's day so far" in text, text
    assert f"best foretold {LEARN_DAYS * 7} past visits from the ones before them that day" in text, text
    assert "A slow visit or two says little here about how the rest of the day will go." in text, text
