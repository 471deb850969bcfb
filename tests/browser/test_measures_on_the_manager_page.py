"""The manager's "Today's measures" show the measures the README lists, with the figures the API gives
(`GET .../measures`, the export's): the server runs in this process on a manual clinic clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from floor.core.commands import BookVisit, TakeStep
from floor.core.journey import Stage
from floor.log.base import Record
from floor.log.embedded import EmbeddedLog
from tests.browser.conftest import Screens
from tests.browser.test_learned_on_the_manager_page import CLINIC, TODAY, manager_console, serving
from tests.support.history import PastDay

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_the_waiting_room_wait_is_on_the_manager_page_as_the_api_gives_it(tmp_path: Path, screens: Screens) -> None:
    """Arrival to roomed (the waiting room) is the first of the README's measures and in the API and both exports,
    and the manager's page had no tile nor column for it: the quality manager could not put the waiting room's wait
    in front of the medical director from the page. This morning kim's two patients waited 12 and 20 minutes to be
    roomed (median 16) and okafor's one 4."""

    async def today(log: EmbeddedLog) -> None:
        day = PastDay(CLINIC, TODAY, opens=dt.time(6))
        for provider, booked, waited in (("kim", 0, 12), ("kim", 45, 20), ("okafor", 90, 4)):
            start = CLINIC.local(TODAY, dt.time(6)) + dt.timedelta(minutes=booked)
            visit = day.tap(BookVisit(f"P{booked}{provider}", provider, "follow", start)).change.visit
            day.now = start
            day.tap(TakeStep(visit, Stage.arrived))
            room = next(r.id for r in day.floor.rooms.values() if r.state.value == "ready")
            day.tap(TakeStep(visit, Stage.roomed, room), after=waited)
            day.tap(TakeStep(visit, Stage.prep_done), after=3)
            day.tap(TakeStep(visit, Stage.provider_in), after=2)
            day.tap(TakeStep(visit, Stage.checked_out), after=10)
        await log.append_all(CLINIC.id, [Record(e) for e in day.events])

    with serving(tmp_path, today) as server:
        console = manager_console(server, screens, "measures-at", "As of")
        # The measures' answer can come before the live feed's board: until then the table's rows are named by the
        # providers' ids. Its rows are read by name below (the table is folded away: attached, not visible).
        kim = CLINIC.provider("kim").name
        named = console.locator("#provider-measures tbody tr[data-provider='kim'] th", has_text=kim)
        named.wait_for(state="attached", timeout=10_000)
        api = console.evaluate(
            """async (clinic) => {
                const token = sessionStorage.getItem("floor.tablet.token");
                const headers = { authorization: `Bearer ${token}` };
                const r = await fetch(`/api/clinics/${clinic}/measures`, { headers });
                return r.json();
            }""",
            CLINIC.id,
        )
        tile = console.locator("[data-measure='arrival_to_roomed']").inner_text()
        # The table is folded away (a closed <details>): its text, not what is drawn.
        heads = console.locator("#provider-measures thead th").all_text_contents()
        rows = {
            r.locator("th").text_content(): r.locator("td").all_text_contents()
            for r in console.locator("#provider-measures tbody tr").all()
        }
    assert api["clinic"]["arrival_to_roomed"] == {"count": 3, "median": 12, "p90": 20}
    assert "waiting room" in tile.lower() and "12 min" in tile and "p90 20 min · 3 visits" in tile, tile
    column = heads.index("Waiting room (median)") - 1  # the row's th is its provider
    assert rows[kim][column] == "16 min", rows
    assert rows[CLINIC.provider("okafor").name][column] == "4 min", rows


def test_the_visits_tile_accounts_for_every_booked_visit_not_seen(tmp_path: Path, screens: Screens) -> None:
    """The "Visits" tile read "1 / 3 seen of booked · 1 checked out · 0 waiting · 1 no-show": the third booking,
    cancelled, was counted as booked and said nowhere, so the medical director looked for a patient not seen."""

    async def today(log: EmbeddedLog) -> None:
        day = PastDay(CLINIC, TODAY, opens=dt.time(6))
        day.seen("kim", "follow")
        start = CLINIC.local(TODAY, dt.time(7))
        for patient, end in (("Bo", Stage.no_show), ("Cy", Stage.cancelled)):
            visit = day.tap(BookVisit(patient, "kim", "follow", start)).change.visit
            day.tap(TakeStep(visit, end))
        await log.append_all(CLINIC.id, [Record(e) for e in day.events])

    with serving(tmp_path, today) as server:
        console = manager_console(server, screens, "measures-at", "As of")
        tile = console.locator("[data-measure='visits']").inner_text()
    assert "1 / 3" in tile and "1 no-show" in tile and "1 cancelled" in tile, tile


def test_the_tables_late_now_says_it_is_measured_where_the_tile_and_timeline_say_projected(
    tmp_path: Path, screens: Screens
) -> None:
    """The table's "Late now" (measured: the longest wait past the plan, or the last start's lateness, held an hour)
    stood beside the tile's and the timeline's "Projected … late" (the provider's projected delay) with no word of
    which was which, and the two can differ: the column is described by a note saying so, and the tile's note
    points to it."""

    async def today(log: EmbeddedLog) -> None:
        day = PastDay(CLINIC, TODAY, opens=dt.time(6))
        day.seen("kim", "follow")
        await log.append_all(CLINIC.id, [Record(e) for e in day.events])

    with serving(tmp_path, today) as server:
        console = manager_console(server, screens, "measures-at", "As of")
        described = console.evaluate(
            """() => {
                const th = [...document.querySelectorAll('#provider-measures thead th')]
                    .find((h) => h.textContent === 'Late now / worst');
                return th && document.getElementById(th.getAttribute('aria-describedby'))?.textContent;
            }"""
        )
        tile = console.locator("[data-measure='lateness']").inner_text()
    assert described, "the Late now column is described by no note"
    note = " ".join(described.split())
    assert note.startswith("Late now is measured, not projected"), note
    assert "kept for an hour" in note and "Projected … late" in note and "can differ" in note, note
    assert 'The "Late now" of the table by provider is measured, not projected' in tile, tile
