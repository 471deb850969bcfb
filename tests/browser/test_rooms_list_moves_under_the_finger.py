"""The assistant's "rooms to clean" list: each room in turnover with its one big "Ready" button, one under another.
A room marked ready leaves the list and the next room slides into its place. The guard against a tap on what just
moved under the finger (lists.js markMoved, taps.js) covers visit cards only (`li[data-visit]`), not room cards:
a double tap on "Ready", or a tap just after another assistant readied the room above, marks the next room ready
while it has not been cleaned, and the next patient is roomed into it (a hostile review). Room cards are guarded as
visit cards are: a tap aimed at what just moved sends nothing; a tap once the moment is over does."""

from __future__ import annotations

import httpx
import pytest

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, book_visit, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]


def _rooms_in_turnover(server: ServerProcess, rooms: tuple[str, ...]) -> dict[str, str]:
    desk = server.signed_in(Role.front_desk)
    ma = server.signed_in(Role.medical_assistant, device="ma-2")
    for i, room in enumerate(rooms):
        visit = book_visit(server, desk, f"Patient {i}")
        api = f"{server.url}/api/clinics/{CLINIC}/visits/{visit['id']}/events"
        for body in ({"type": "roomed", "room": room}, {"type": "left_without_being_seen"}):
            assert httpx.post(api, headers=ma, json=body, timeout=10).status_code == 201
    return ma


def _states(server: ServerProcess, headers: dict[str, str]) -> dict[str, str]:
    board = httpx.get(f"{server.url}/api/clinics/{CLINIC}/board", headers=headers, timeout=10).json()
    return {r["id"]: r["state"] for r in board["rooms"]}


def _ready_button_of_first_room(page):
    first = page.locator("[data-list='ma-rooms'] li[data-room]").first
    first.wait_for(timeout=10_000)
    button = first.locator("[data-action='room-ready']")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box is not None
    return first.get_attribute("data-room"), box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_a_double_tap_on_ready_readies_only_the_room_tapped(server: ServerProcess, screens: Screens) -> None:
    ma = _rooms_in_turnover(server, ("e1", "e2", "e3"))
    page = screens.open(f"{server.url}/", width=768, height=1024)
    sign_in_page(page, PEOPLE[Role.medical_assistant][0], PIN, device="ma-1")
    page.wait_for_selector("#live.live-live", timeout=10_000)
    room, x, y = _ready_button_of_first_room(page)
    page.mouse.click(x, y)
    page.wait_for_timeout(250)
    page.mouse.click(x, y)
    page.wait_for_timeout(1500)
    ready = sorted(r for r, s in _states(server, ma).items() if s == "ready" and r in ("e1", "e2", "e3"))
    assert ready == [room], f"a double tap on {room}'s Ready readied {ready}"


def test_a_tap_on_a_room_another_assistant_just_readied_does_not_ready_the_next(
    server: ServerProcess, screens: Screens
) -> None:
    ma = _rooms_in_turnover(server, ("e1", "e2", "e3"))
    page = screens.open(f"{server.url}/", width=768, height=1024)
    sign_in_page(page, PEOPLE[Role.medical_assistant][0], PIN, device="ma-1")
    page.wait_for_selector("#live.live-live", timeout=10_000)
    room, x, y = _ready_button_of_first_room(page)
    # The other assistant readies that room; on this screen the next one slides up into its place.
    answer = httpx.post(f"{server.url}/api/clinics/{CLINIC}/rooms/{room}/events", headers=ma, json={"type": "ready"})
    assert answer.status_code == 201, answer.text
    page.wait_for_function(
        "id => document.querySelector(\"[data-list='ma-rooms'] li[data-room]\")?.dataset.room !== id", arg=room
    )
    page.mouse.click(x, y)  # aimed at the room the other assistant readied
    page.wait_for_timeout(1500)
    ready = sorted(r for r, s in _states(server, ma).items() if s == "ready" and r in ("e1", "e2", "e3"))
    assert ready == [room], f"a tap aimed at {room} readied {ready}: the room under the finger had changed"
    assert page.locator("#toast-region").inner_text().startswith("The list just changed under your tap")
    # A moment later the room now there is the one aimed at: its Ready is sent.
    nxt = page.locator("[data-list='ma-rooms'] li[data-room]").first.get_attribute("data-room")
    page.mouse.click(x, y)
    page.wait_for_function(
        "id => !document.querySelector(`[data-list='ma-rooms'] li[data-room='${id}']`)", arg=nxt, timeout=10_000
    )
    assert _states(server, ma)[nxt] == "ready"
