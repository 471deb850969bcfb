"""A room's "Room ready" goes with the room version its card showed (static/tablet/rooms.js), as a visit's step
does: a tap on a room that changed since (cleaned, a patient roomed in it and gone: dirty again) is refused, and the
card says so as a visit's card says a conflict, pinned where it was tapped, in the tablet's language; a tap kept
while offline and sent again after a reload carries the version too, and its refusal is listed with the others.
The room is never taken as cleaned by a tap made before its last patient."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Route

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, book_visit, serious_violations, sign_in_page
from tests.browser.test_clinic_clock_and_conflict_notes import _hold_feed
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

API = f"/api/clinics/{CLINIC}"
MA = PEOPLE[Role.medical_assistant][0]


def _through_room(server: ServerProcess, desk: dict[str, str], ma: dict[str, str], name: str) -> None:
    """A walk-in roomed in East 1, who then leaves: the room is in turnover (dirty)."""
    visit = book_visit(server, desk, name)
    for body in ({"type": "roomed", "room": "e1"}, {"type": "left_without_being_seen"}):
        answer = httpx.post(f"{server.url}{API}/visits/{visit['id']}/events", headers=ma, json=body, timeout=10)
        assert answer.status_code == 201, answer.text


def _cleaned_and_dirtied_again(server: ServerProcess, desk: dict[str, str], ma: dict[str, str]) -> None:
    """On another tablet: East 1 cleaned, a second patient in and out: dirty again."""
    ready = httpx.post(f"{server.url}{API}/rooms/e1/events", headers=ma, json={"type": "ready"}, timeout=10)
    assert ready.status_code == 201, ready.text
    _through_room(server, desk, ma, "Bo Park")


def _state(server: ServerProcess, headers: dict[str, str]) -> str:
    board = httpx.get(f"{server.url}{API}/board", headers=headers, timeout=10).json()
    return next(r["state"] for r in board["rooms"] if r["id"] == "e1")


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("en", "Not sent: Changed meanwhile: East 1 is turnover now."),
        ("es", "No enviado: Cambió mientras tanto: East 1 ahora está en «limpieza»."),
    ],
)
def test_room_ready_on_a_room_dirtied_again_since_the_card_showed_it_is_refused_on_its_card(
    server: ServerProcess, screens: Screens, lang: str, said: str
) -> None:
    desk = server.signed_in(Role.front_desk)
    ma = server.signed_in(Role.medical_assistant, device="ma-2")
    _through_room(server, desk, ma, "Ann Lee")
    tablet = screens.open(f"{server.url}/?lang={lang}", width=768, height=1024)
    passing = _hold_feed(tablet)
    sign_in_page(tablet, MA, PIN, device="ma-1")
    card = tablet.locator("[data-list='ma-rooms'] li[data-room='e1']")
    card.wait_for(timeout=10_000)
    shown = int(card.get_attribute("data-version") or "")

    passing["on"] = False  # this tablet does not hear of what comes next
    _cleaned_and_dirtied_again(server, desk, ma)
    card.locator("[data-action='room-ready']").click()

    note = card.locator("[data-conflict]")
    note.wait_for(timeout=10_000)
    assert said in " ".join(note.inner_text().split()), note.inner_text()
    assert _state(server, ma) == "turnover"  # still dirty: nobody has cleaned it since Bo Park
    assert tablet.evaluate("() => document.activeElement?.dataset.action") == "dismiss"
    assert serious_violations(tablet) == []
    tablet.keyboard.press("Enter")
    note.wait_for(state="detached", timeout=10_000)
    # With the feed back, the card is as the room is now: a tap on its version is taken.
    passing["on"] = True
    tablet.reload()
    card.wait_for(timeout=10_000)
    assert int(card.get_attribute("data-version") or "") > shown
    card.locator("[data-action='room-ready']").click()
    card.wait_for(state="detached", timeout=10_000)
    assert _state(server, ma) == "ready"
    assert screens.errors == []


def test_a_room_ready_kept_offline_and_sent_again_after_a_reload_goes_with_the_version_it_was_tapped_on(
    server: ServerProcess, screens: Screens
) -> None:
    desk = server.signed_in(Role.front_desk)
    ma = server.signed_in(Role.medical_assistant, device="ma-2")
    _through_room(server, desk, ma, "Ann Lee")
    tablet = screens.open(f"{server.url}/", width=768, height=1024)
    sign_in_page(tablet, MA, PIN, device="ma-1")
    card = tablet.locator("[data-list='ma-rooms'] li[data-room='e1']")
    card.wait_for(timeout=10_000)
    shown = int(card.get_attribute("data-version") or "")

    def dropped(route: Route) -> None:
        route.abort("internetdisconnected")

    tablet.route(f"**{API}/rooms/**", dropped)
    card.locator("[data-action='room-ready']").click()
    kept = f"floor.outbox.{CLINIC}.{MA}"
    tablet.wait_for_function("k => (localStorage.getItem(k) || '').includes('expected_version')", arg=kept)
    entries = tablet.evaluate("k => JSON.parse(localStorage.getItem(k))", kept)
    assert [e["body"] for e in entries] == [{"type": "ready", "expected_version": shown}]

    _cleaned_and_dirtied_again(server, desk, ma)
    tablet.reload()
    tablet.locator("#whoami").wait_for(state="visible", timeout=10_000)
    tablet.unroute(f"**{API}/rooms/**", dropped)

    refused = tablet.locator("#kept-refused")
    refused.wait_for(timeout=20_000)
    assert "East 1 ready: Changed meanwhile: East 1 is turnover now." in refused.inner_text(), refused.inner_text()
    tablet.wait_for_function("k => localStorage.getItem(k) === null", arg=kept, timeout=10_000)
    assert _state(server, ma) == "turnover"
    assert screens.errors == []
