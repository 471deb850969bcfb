"""The manager's "What Floor has learned" says when the clinic's past days show taps entered after their steps,
and what Floor makes of it (floor/core/learning.py, `tap_lag`): here six provider changes of two past days
had the next patient's provider-in tapped before the last one's teach-back, 3 minutes at the median. And how
much a provider's day says about their pace (`pace_weight`).

The server runs in this process on a manual clinic clock, on a log holding the past days."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page

from floor.clock import ManualClock
from floor.config import demo_clinic
from floor.core.access import Role
from floor.core.learning import LEARN_DAYS, PACE_WEIGHTS
from floor.log.base import Record
from floor.log.embedded import EmbeddedLog
from tests.browser.conftest import Screens, sign_in_page
from tests.support.history import PastDay, write_days, write_late_tap_days
from tests.support.in_process_server import InProcessServer
from tests.support.staff import PEOPLE, PIN, test_floors

pytestmark = [pytest.mark.browser, pytest.mark.server]

CLINIC = demo_clinic()
TODAY = dt.date(2026, 11, 23)


@contextmanager
def serving(tmp_path: Path, write: Callable[[EmbeddedLog], Awaitable[object]]) -> Iterator[InProcessServer]:
    """A server on a log whose past days `write` wrote, a manager signed up."""

    async def past_days() -> None:
        log = EmbeddedLog(tmp_path)
        await write(log)
        await log.close()

    # Playwright's page API runs a loop in this thread: the log is written in one of its own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, past_days()).result()
    floors = test_floors(tmp_path, [CLINIC], clock=ManualClock(CLINIC.local(TODAY, dt.time(8))), tick_seconds=3600)
    with InProcessServer(floors) as server:
        person, name = PEOPLE[Role.manager]
        server.run(floors.sessions.add_staff(person, name, Role.manager, PIN, "test"))
        # The day is learned beside the start (floor.floors): a page drawn before that has the clinic file's minutes
        # in its delays until the next tick, and these servers do not tick. What the tests read is the learned day.
        runtime, deadline = floors.get(CLINIC.id), time.monotonic() + 60
        while runtime.learned_for != TODAY:
            assert time.monotonic() < deadline, "the server did not learn the day"
            time.sleep(0.05)
        yield server


def manager_page(server: InProcessServer, screens: Screens, line: str, starts: str) -> str:
    """The manager page's "What Floor has learned" line `line` (an element id), once it starts with `starts`."""
    return manager_console(server, screens, line, starts).locator(f"#{line}").inner_text()


def manager_console(server: InProcessServer, screens: Screens, line: str, starts: str) -> Page:
    """The manager page, signed in, once its element `line` starts with `starts`."""
    console = screens.open(f"{server.url}/manager.html")
    sign_in_page(console, PEOPLE[Role.manager][0], PIN, device="office")
    console.wait_for_function(
        f"() => document.querySelector('#{line}').textContent.startsWith({starts!r})", timeout=10_000
    )
    return console


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    with serving(tmp_path, lambda log: write_late_tap_days(log, CLINIC, TODAY, [(1, 2, 3), (3, 4, 5)])) as server:
        yield server


def test_the_manager_sees_that_taps_came_late_and_what_floor_makes_of_it(
    server: InProcessServer, screens: Screens
) -> None:
    text = manager_page(server, screens, "learned-taps", "Taps: in 6 of 10 provider changes")
    assert "tapped minutes before the last one's teach-back" in text, text
    assert "Floor takes taps to lag 3 min" in text, text
    assert "only that much past the cascade's minutes late" in text, text
    # Ten visits of those days foretold from the ones before them: too few to learn how much a day says.
    pace = manager_page(server, screens, "learned-pace", "Pace: ")
    assert pace.startswith("Pace: 10 past visits to judge by, too few to learn from"), pace
    assert "against 3 visits' worth of the usual minutes" in pace, pace


def test_the_manager_sees_a_provider_who_sees_two_patients_at_once_and_no_late_taps(
    tmp_path: Path, screens: Screens
) -> None:
    # Dr. Kim steps out of visits and sees the next patient meanwhile: each first teach-back 25 to 50 minutes
    # after the next provider-in. That is no tap entered late.
    two_days = [(25, 30, 35), (40, 45, 50)]
    with serving(tmp_path, lambda log: write_late_tap_days(log, CLINIC, TODAY, two_days)) as server:
        text = manager_page(server, screens, "learned-taps", "Taps: on time")
    assert "In 6 provider changes the provider went in to the next patient well before" in text, text
    assert "two patients at once (stepping out mid-visit), not a late tap" in text, text
    assert "lag" not in text, text


def test_the_manager_sees_which_visits_a_provider_steps_out_of(tmp_path: Path, screens: Screens) -> None:
    # Five past days: each a procedure Dr. Kim stepped out of 10 minutes in, to see a follow-up for 12, and came
    # back to for 18 more: 28 of her own minutes. The projection now expects her to step out of the next.
    def stepping_out(day: PastDay, n: int) -> None:
        day.stepping_out("kim", "procedure", "follow", before=10, meanwhile=12, rest=18)

    with serving(tmp_path, lambda log: write_days(log, CLINIC, TODAY, 5, stepping_out)) as server:
        text = manager_page(server, screens, "learned-steps-out", "Stepping out")
    kim = CLINIC.provider("kim").name
    procedure = CLINIC.visit_type("procedure").label
    assert f"{kim}, {procedure}: 5 of 5 past visits, 10 min in, 28 min of their own in all" in text, text
    assert "(Floor frees them for the next patient meanwhile)" in text, text
    assert CLINIC.visit_type("follow").label not in text, text  # never stepped out of a follow-up


def test_the_manager_sees_a_provider_who_taps_walking_in_only_as_the_visit_ends(
    tmp_path: Path, screens: Screens
) -> None:
    # Five past days of six follow-ups each: Dr. Kim tapped "provider in" only with the checkout in one of three.
    def untapped(day: PastDay, n: int) -> None:
        for k in range(6):
            day.seen("kim", "follow", with_provider=20, untapped_in=k % 3 == 0)

    with serving(tmp_path, lambda log: write_days(log, CLINIC, TODAY, 5, untapped)) as server:
        text = manager_page(server, screens, "learned-untapped-in", "Walking in tapped only as the visit ended")
    kim = CLINIC.provider("kim").name
    assert f"{kim}: 10 of 30 past visits (Floor takes a patient left waiting while they seem free" in text, text
    assert CLINIC.provider("okafor").name not in text, text


def test_the_manager_sees_a_provider_walking_in_untapped_today_in_a_clinic_with_no_past_days(
    tmp_path: Path, screens: Screens
) -> None:
    # No past days; this morning from 6:00 Dr. Kim tapped "provider in" only with the checkout on three of four visits.
    async def today(log: EmbeddedLog) -> None:
        day = PastDay(CLINIC, TODAY, opens=dt.time(6))
        for untapped in (True, False, True, True):
            day.seen("kim", "follow", with_provider=15, untapped_in=untapped)
        await log.append_all(CLINIC.id, [Record(e) for e in day.events])

    with serving(tmp_path, today) as server:
        console = manager_console(server, screens, "learned-untapped-in", "Walking in tapped only as the visit ended")
        text = console.locator("#learned-untapped-in").inner_text()
        # The day's measures leave those three out of the waits for the provider, and say so. They come with another
        # answer than what was learned (GET .../measures, or the feed's at a tick): waited for, not read at once.
        untapped = '3 visits with "provider in" tapped only at the visit\'s end, left out of the waits'
        console.locator("#measures-at", has_text=untapped).wait_for(timeout=10_000)
        measures = console.locator("#measures-at").inner_text()
        row = console.locator('#provider-measures tbody tr[data-provider="kim"]').text_content()
    kim = CLINIC.provider("kim").name
    assert f"{kim}: 3 of 4 today (Floor takes a patient left waiting while they seem free to be with them)" in text
    assert "past visit" not in text, text
    assert untapped in measures, measures
    assert "4 / 4 (3 start unknown)" in row, row


def test_the_manager_sees_how_much_a_providers_day_says_about_their_pace(tmp_path: Path, screens: Screens) -> None:
    # Four weeks of Dr. Kim's follow-ups, eight a day, each 12 minutes give or take its own spread and no day
    # slower than another: the heaviest weight foretold them best.
    draw = random.Random(7)

    def steady(day: PastDay, n: int) -> None:
        for _ in range(8):
            day.seen("kim", "follow", with_provider=12 * draw.lognormvariate(0, 0.3))

    with serving(tmp_path, lambda log: write_days(log, CLINIC, TODAY, LEARN_DAYS, steady)) as server:
        text = manager_page(server, screens, "learned-pace", "Pace: of the weights tried")
    heaviest = f"{max(PACE_WEIGHTS):g}"
    assert f"the usual minutes counting as {heaviest} visits against a provider's day so far" in text, text
    assert f"best foretold {LEARN_DAYS * 7} past visits from the ones before them that day" in text, text
    assert "A slow visit or two says little here about how the rest of the day will go." in text, text


def test_the_timeline_draws_the_provider_away_from_a_visit_they_usually_step_out_of(
    tmp_path: Path, screens: Screens
) -> None:
    # The same five past days; today, at 7:00, two procedures for Dr. Kim ready by 7:03, and the clinic's clock at
    # 8:00. The projection: into the first at 8:00, out at 8:10 to the second, back to the first at 8:20 for its
    # other 18 minutes, back to the second at 8:38. Each bar shows the provider away meanwhile, not with them.
    async def past_and_today(log: EmbeddedLog) -> None:
        seq = await write_days(
            log,
            CLINIC,
            TODAY,
            5,
            lambda day, n: day.stepping_out("kim", "procedure", "follow", before=10, meanwhile=12, rest=18),
        )
        today = PastDay(CLINIC, TODAY, base_seq=seq, opens=dt.time(7))
        today.two_ready("kim", "procedure", "procedure")
        await log.append_all(CLINIC.id, [Record(e) for e in today.events])

    with serving(tmp_path, past_and_today) as server:
        console = screens.open(f"{server.url}/manager.html", width=1280, height=900)
        sign_in_page(console, PEOPLE[Role.manager][0], PIN, device="office")
        away = console.locator("#timeline .proj-away")
        away.first.wait_for(state="attached", timeout=10_000)
        titles = sorted(away.nth(i).locator("title").text_content() for i in range(away.count()))
    assert [t.split(", with")[0] for t in titles] == [
        "P0 — provider away 8:10 AM–8:20 AM",
        "P1 — provider away 8:20 AM–8:38 AM",
    ], titles


def test_the_timeline_says_a_patient_is_presumed_seen_by_a_provider_who_taps_walking_in_only_as_a_visit_ends(
    tmp_path: Path, screens: Screens
) -> None:
    # Five past days: Dr. Kim tapped "provider in" only with the checkout in one visit of three. Today a follow-up of
    # hers has been prepped since 7:03 and the clinic's clock is 8:00, the session's opening: she is presumed in with
    # the patient from 8:00, and the visit's detail says that it is a presumption.
    async def past_and_today(log: EmbeddedLog) -> None:
        def untapped(day: PastDay, n: int) -> None:
            for k in range(6):
                day.seen("kim", "follow", with_provider=20, untapped_in=k % 3 == 0)

        seq = await write_days(log, CLINIC, TODAY, 5, untapped)
        today = PastDay(CLINIC, TODAY, base_seq=seq, opens=dt.time(7))
        (visit,), _ = today.two_ready("kim", "follow")
        await log.append_all(CLINIC.id, [Record(e) for e in today.events])
        ids.append(visit)

    ids: list[str] = []
    with serving(tmp_path, past_and_today) as server:
        console = screens.open(f"{server.url}/manager.html", width=1280, height=900)
        sign_in_page(console, PEOPLE[Role.manager][0], PIN, device="office")
        bar = console.locator(f"#timeline [data-provider='kim'] g.visit[data-visit='{ids[0]}']")
        bar.wait_for(timeout=10_000)
        bar.click()
        presumed = "provider in 8:00 AM (presumed: the provider often taps walking in only as a visit ends)"
        # "Projected" is there with the clinic file's minutes too: wait for the words asserted.
        console.locator("#visit-detail", has_text=presumed).wait_for(timeout=10_000)
        text = console.locator("#visit-detail").inner_text()
    assert presumed in text, text


def test_the_manager_sees_that_the_front_desk_checks_out_in_batches(tmp_path: Path, screens: Screens) -> None:
    # Seven past days, each three patients checked out together (5 seconds apart) 10 minutes after the last one's
    # teach-back: "waiting for checkout" waits for a batch that comes without the patient.
    def batches(day: PastDay, n: int) -> None:
        day.checked_out_together("kim", "follow")

    with serving(tmp_path, lambda log: write_days(log, CLINIC, TODAY, 7, batches)) as server:
        text = manager_page(server, screens, "learned-checkouts", "Checkouts:")
    assert "21 of 21 checkouts on past days and 0 of 0 today were tapped within 20 seconds of another" in text, text
    assert "the desk checks patients out in batches" in text, text
    # Each day's patients were taught back 50, 30 and 10 minutes before their batch: held at most HOLD_MOST.
    assert '"waiting for checkout" waits until a batch comes without them, at most 40 min after' in text, text
