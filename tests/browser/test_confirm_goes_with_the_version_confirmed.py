"""A step that ends a visit asks first (a dialog). The card's tap goes on "yes" with the version of the card found
*after* the dialog closed, not the one the person confirmed: a patient another assistant roomed while the dialog
was open is marked "left without being seen" from their room, with no conflict shown (taps.js confirmStep; a hostile
review). "Yes" now goes with the version the card showed when tapped: the server refuses it, and the card says what
happened meanwhile."""

from __future__ import annotations

import httpx
import pytest

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, book_visit, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_left_unseen_confirmed_after_another_tablet_roomed_the_patient_is_refused(
    server: ServerProcess, screens: Screens
) -> None:
    desk = server.signed_in(Role.front_desk)
    visit = book_visit(server, desk, "Ann Lee")  # a walk-in: here and waiting to be roomed
    other_ma = server.signed_in(Role.medical_assistant, device="ma-tablet-2")
    ma = screens.open(f"{server.url}/", width=768, height=1024)
    sign_in_page(ma, PEOPLE[Role.medical_assistant][0], PIN, device="ma-tablet-1")
    card = ma.locator(f"[data-list='ma-waiting'] li[data-visit='{visit['id']}']")
    card.wait_for(timeout=10_000)
    card.locator("[data-step='left_without_being_seen']").click()
    dialog = ma.locator("dialog[data-confirm]")
    dialog.wait_for(timeout=5_000)

    # While the dialog is open, the other assistant rooms her.
    roomed = httpx.post(
        f"{server.url}/api/clinics/{CLINIC}/visits/{visit['id']}/events",
        headers=other_ma,
        json={"type": "roomed", "room": "e1", "expected_version": visit["version"]},
        timeout=10,
    )
    assert roomed.status_code == 201, roomed.text
    ma.locator(f"[data-list='ma-prep'] li[data-visit='{visit['id']}']").wait_for(timeout=10_000)

    dialog.locator("[data-confirm-yes]").click()  # "yes" to what the dialog asked: Ann, waiting to be roomed
    note = ma.locator(f"li[data-visit='{visit['id']}'] .note")
    note.wait_for(timeout=10_000)
    assert "Already roomed in East 1" in note.inner_text(), note.inner_text()
    now = httpx.get(f"{server.url}/api/clinics/{CLINIC}/visits/{visit['id']}", headers=desk, timeout=10).json()
    assert now["visit"]["stage"] == "roomed", (
        f"confirmed for a patient waiting to be roomed, stored for one the other assistant had just roomed: "
        f"{now['visit']['stage']}"
    )
