"""A wall's room tile says, for an occupied room, the visit's token, its stage and the minutes in that stage (and
"over N min limit" when it is): that is what the hall reads it for. The demo clinic has ten rooms in two zones;
clinics with a dozen rooms, or a third zone, are common. Those must still show whole on one 1920x1080 screen, and
in portrait (1080x1920) no tile may be drawn over another or over the waiting room."""

from __future__ import annotations

import msgspec
import pytest
from playwright.sync_api import Page

from floor.core.journey import Stage
from floor.core.rooms import RoomState
from floor.hallway import HallwayBoard, HallwayRoom, HallwayVisit
from tests.browser.conftest import Screens
from tests.browser.test_wall_and_languages import _board, _open_on_feed, ago
from tests.server.conftest import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.server]


def _clinic(zones: int, per_zone: int) -> HallwayBoard:
    """Every room occupied by a patient roomed 20 minutes ago (over the 10-minute limit for prep)."""
    rooms, visits = [], []
    for z in ("east", "west", "north")[:zones]:
        for i in range(1, per_zone + 1):
            room, token = f"{z[0]}{i}", f"{z[0].upper()}{i:02d}"
            rooms.append(HallwayRoom(room, f"{z.title()} {i}", z, RoomState.occupied, ago(20), token))
            visits.append(HallwayVisit(token, "JK", Stage.roomed, ago(20), ago(30), False, room))
    return msgspec.structs.replace(_board(["en"], 600), rooms=rooms, visits=visits)


def _cut_off(page: Page) -> list[str]:
    """Each tile's parts that do not show whole inside it (room: parts)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.tile')].flatMap(t => {
            const box = t.getBoundingClientRect();
            const cut = ['.room-label', '.token', '.stage', '.mins', '.note'].filter(sel => {
                const r = t.querySelector(sel).getBoundingClientRect();
                return r.height === 0 || r.bottom > box.bottom + 0.5 || r.top < box.top - 0.5;
            });
            return cut.length ? [`${t.dataset.room}: ${cut.join(' ')}`] : [];
        })"""
    )


@pytest.mark.parametrize(("zones", "per_zone"), [(2, 6), (3, 4)])
def test_at_1920x1080_a_twelve_room_clinic_shows_each_rooms_token_stage_and_minutes(
    module_server: ServerProcess, screens: Screens, zones: int, per_zone: int
) -> None:
    wall = _open_on_feed(screens, f"{module_server.url}/board.html", _clinic(zones, per_zone))
    wall.locator(".tile").nth(zones * per_zone - 1).wait_for(timeout=10_000)
    wall.wait_for_timeout(1200)  # a render with the minutes counted
    assert "over 10 min limit" in wall.locator(".tile").first.inner_text()  # the text is there...
    cut = _cut_off(wall)
    assert not cut, f"tiles whose token, stage or minutes are cut off: {cut}"  # ...and must be seen


def test_in_portrait_a_sixteen_room_clinic_draws_no_tile_over_another_or_the_waiting_room(
    module_server: ServerProcess, screens: Screens
) -> None:
    wall = _open_on_feed(screens, f"{module_server.url}/board.html", _clinic(2, 8))
    wall.set_viewport_size({"width": 1080, "height": 1920})
    wall.locator(".tile").nth(15).wait_for(timeout=10_000)
    wall.wait_for_timeout(1200)
    overlaps = wall.evaluate(
        """() => {
            const tiles = [...document.querySelectorAll('.tile')];
            const boxes = tiles.map(t => t.getBoundingClientRect());
            const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
            const out = [];
            const waiting = document.querySelector('#waiting').getBoundingClientRect();
            boxes.forEach((a, i) => {
                if (hit(a, waiting)) out.push(`${tiles[i].dataset.room} over the waiting room`);
                boxes.forEach((b, j) => {
                    if (j > i && hit(a, b)) out.push(`${tiles[i].dataset.room} over ${tiles[j].dataset.room}`);
                });
            });
            return out;
        }"""
    )
    assert not overlaps, overlaps
