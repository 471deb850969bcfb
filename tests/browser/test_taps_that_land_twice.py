"""A double tap lands twice. On "Check in" the first tap checks the patient in and their card leaves the arrivals
list at once (this tablet's own answer): the next card slides up under the finger, and the second tap, a quarter of
a second later at the same place, checked in the next patient, who had not come (a hostile review). The same for
"Provider in" on a provider's tablet, and for Enter pressed twice: focus goes to the toast's Undo once the answer
comes, and the second Enter undid the check-in. A tap at another place, or at the same place once the guard time
is over, is a tap of its own and is sent."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, book_visit, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

DAY = "2026-11-23"  # the test servers' clinic day (tests/server/conftest.py CLINIC_MORNING: 09:00 there)
ARRIVALS = "[data-list='desk-arrivals'] li[data-visit]"


def _stages(server: ServerProcess, headers: dict[str, str]) -> dict[str, str]:
    board = httpx.get(f"{server.url}/api/clinics/{CLINIC}/board", headers=headers, timeout=10).json()
    return {v["patient_name"]: v["stage"] for v in board["visits"]}


def _desk_with_four_expected(server: ServerProcess, screens: Screens, size: tuple[int, int]) -> tuple[Page, dict]:
    desk_headers = server.signed_in(Role.front_desk)
    for name, at in (("Ann Lee", "09:00"), ("Bo Chen", "09:10"), ("Cruz Diaz", "09:20"), ("Dee Obi", "09:30")):
        book_visit(server, desk_headers, name, start=f"{DAY}T{at}:00")
    desk = screens.open(f"{server.url}/", width=size[0], height=size[1])
    sign_in_page(desk, PEOPLE[Role.front_desk][0], PIN)
    desk.wait_for_selector("#live.live-live", timeout=10_000)
    first = desk.locator(ARRIVALS).first
    first.wait_for(timeout=10_000)
    assert first.locator(".patient").inner_text() == "Ann Lee"
    return desk, desk_headers


def _middle(page: Page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


@pytest.mark.parametrize("size", [(768, 1024), (1280, 800)])
def test_a_double_tap_on_check_in_checks_in_only_the_patient_tapped(
    server: ServerProcess, screens: Screens, size: tuple[int, int]
) -> None:
    desk, desk_headers = _desk_with_four_expected(server, screens, size)
    x, y = _middle(desk, f"{ARRIVALS} >> nth=0 >> button[data-action=next]")
    desk.mouse.click(x, y)  # the first tap of a double tap ...
    desk.wait_for_timeout(250)  # ... and its second, a quarter of a second later, at the same place
    desk.mouse.click(x, y)
    desk.wait_for_timeout(1500)
    stages = _stages(server, desk_headers)
    assert stages["Ann Lee"] == "arrived"
    assert stages["Bo Chen"] == "scheduled", f"a double tap on Ann Lee's Check in also checked in Bo Chen: {stages}"
    # The toast still offers the undo of the tap that was meant, and says the second tap sent nothing: it may have
    # been aimed at Bo Chen, who slid there (a review: nothing said so, and the desk believed him checked in).
    toast = desk.locator("#toast-region")
    assert "Ann Lee" in toast.inner_text() and "Bo Chen" in toast.inner_text() and toast.locator(".undo").count() == 1


def test_quick_taps_meant_for_other_patients_are_sent(server: ServerProcess, screens: Screens) -> None:
    """The guard holds back only a tap where the card just tapped was, within a moment: a tap on another card,
    elsewhere on the screen, goes at once, and one at the same place once the moment is over goes too."""
    desk, desk_headers = _desk_with_four_expected(server, screens, (768, 1600))  # two cards on the screen
    x, y = _middle(desk, f"{ARRIVALS} >> nth=0 >> button[data-action=next]")
    desk.mouse.click(x, y)  # Ann Lee
    desk.locator(f"{ARRIVALS} >> nth=0 >> .patient").filter(has_text="Bo Chen").wait_for(timeout=10_000)
    # Cruz Diaz, second now, below where Ann Lee was: tapped at once.
    desk.mouse.click(*_middle(desk, f"{ARRIVALS} >> nth=1 >> button[data-action=next]"))
    desk.wait_for_timeout(1000)  # longer than the guard
    desk.mouse.click(x, y)  # Bo Chen, where Ann Lee was: a tap of its own by now
    desk.wait_for_timeout(1500)
    stages = _stages(server, desk_headers)
    assert [stages[n] for n in ("Ann Lee", "Bo Chen", "Cruz Diaz", "Dee Obi")] == [
        "arrived",
        "arrived",
        "arrived",
        "scheduled",
    ], stages


def test_a_tap_after_a_scroll_is_aimed_at_what_the_scroll_brought(server: ServerProcess, screens: Screens) -> None:
    """A page scrolled between two quick taps: the second is aimed at the card the scroll brought under the finger,
    and is sent (as a test's tap on a card below the fold, which scrolls it into view first)."""
    desk, desk_headers = _desk_with_four_expected(server, screens, (768, 1024))
    x, y = _middle(desk, f"{ARRIVALS} >> nth=0 >> button[data-action=next]")
    desk.mouse.click(x, y)  # Ann Lee
    desk.locator(f"{ARRIVALS} >> nth=0 >> .patient").filter(has_text="Bo Chen").wait_for(timeout=10_000)
    _, cruz_y = _middle(desk, f"{ARRIVALS} >> nth=1 >> button[data-action=next]")
    desk.evaluate("dy => document.scrollingElement.scrollBy(0, dy)", cruz_y - y)
    assert _middle(desk, f"{ARRIVALS} >> nth=1 >> button[data-action=next]")[1] == pytest.approx(y, abs=2)
    desk.mouse.click(x, y)  # Cruz Diaz, scrolled to where Ann Lee was
    desk.wait_for_timeout(1500)
    stages = _stages(server, desk_headers)
    assert [stages[n] for n in ("Ann Lee", "Bo Chen", "Cruz Diaz")] == ["arrived", "scheduled", "arrived"], stages


def test_a_double_press_of_enter_on_check_in_leaves_the_patient_checked_in(
    server: ServerProcess, screens: Screens
) -> None:
    """From the keyboard the same double press lands on the toast's Undo (focus is put there once the answer
    comes): it is not taken for an undo so soon after focus moved there; a press later is."""
    desk, desk_headers = _desk_with_four_expected(server, screens, (768, 1024))
    desk.locator(f"{ARRIVALS} >> nth=0 >> button[data-action=next]").focus()
    desk.keyboard.press("Enter")
    desk.wait_for_timeout(250)
    desk.keyboard.press("Enter")
    desk.wait_for_timeout(1500)
    stages = _stages(server, desk_headers)
    assert stages["Ann Lee"] == "arrived", f"a double press of Enter checked Ann Lee in and undid it: {stages}"
    undo = desk.locator("#toast-region [data-action='undo']")
    assert desk.evaluate("() => document.activeElement?.dataset.action") == "undo"
    undo.press("Enter")  # meant: an undo
    desk.wait_for_function(
        "() => /Ann Lee/.test(document.querySelector('#toast-region')?.innerText || '') &&"
        " !document.querySelector('#toast-region [data-action=undo]')",
        timeout=10_000,
    )
    desk.wait_for_timeout(500)
    assert _stages(server, desk_headers)["Ann Lee"] == "scheduled"


def test_a_double_tap_on_provider_in_starts_only_the_patient_tapped(server: ServerProcess, screens: Screens) -> None:
    """The provider's tablet the same way: "Provider in" on the first patient waiting in a room, the card moves to
    "With you", the next waiting patient's button slides under the finger."""
    desk_headers = server.signed_in(Role.front_desk)
    ma = server.signed_in(Role.medical_assistant)
    server.add_staff("kim", Role.provider, "Jenna Kim")
    api = f"{server.url}/api/clinics/{CLINIC}/visits"
    for name, room in (("Ann Lee", "e1"), ("Bo Chen", "e2"), ("Cruz Diaz", "e3")):
        visit = book_visit(server, desk_headers, name)
        for body in ({"type": "roomed", "room": room}, {"type": "prep_done"}):
            assert httpx.post(f"{api}/{visit['id']}/events", headers=ma, json=body, timeout=10).status_code == 201
    tablet = screens.open(f"{server.url}/", width=768, height=1024)
    sign_in_page(tablet, "kim", PIN)
    tablet.wait_for_selector("#live.live-live", timeout=10_000)
    first = tablet.locator("[data-list='pr-waiting'] li[data-visit]").first
    first.wait_for(timeout=10_000)
    name = first.locator(".patient").inner_text()
    first.locator("button[data-action=next]").scroll_into_view_if_needed()
    x, y = _middle(tablet, "[data-list='pr-waiting'] li[data-visit] >> nth=0 >> button[data-action=next]")
    tablet.mouse.click(x, y)
    tablet.wait_for_timeout(250)
    tablet.mouse.click(x, y)
    tablet.wait_for_timeout(1500)
    stages = _stages(server, desk_headers)
    started = sorted(n for n, s in stages.items() if s == "provider_in")
    assert started == [name], f"a double tap on {name}'s Provider in started {started}"
