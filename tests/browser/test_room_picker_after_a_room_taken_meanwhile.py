"""An assistant picks West 4 for Ann Lee in the second another assistant roomed Bo Chen there, her tablet's live
feed a moment behind (a slow network): the server refuses it, the card says West 4 is occupied now and opens the
picker again, which offered West 4 again: the tablet took the refusal's word for what to say and not for what the
room is, so a second tap on it was refused the same way (a hostile review of the tablets). The picker now leaves
out the room the refusal says is taken, until the feed brings the room as it is."""

from __future__ import annotations

import httpx
import pytest

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, book_visit, serious_violations, sign_in_page
from tests.browser.test_clinic_clock_and_conflict_notes import _hold_feed
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

API = f"/api/clinics/{CLINIC}"
MA = PEOPLE[Role.medical_assistant][0]


@pytest.mark.parametrize(
    ("lang", "said"),
    [("en", "West 4 is occupied, not ready."), ("es", "West 4 no está disponible (ocupada).")],
)
def test_a_room_taken_meanwhile_is_not_offered_again_after_its_refusal(
    server: ServerProcess, screens: Screens, lang: str, said: str
) -> None:
    desk = server.signed_in(Role.front_desk)
    other_ma = server.signed_in(Role.medical_assistant, device="ma-2")
    ann, bo = book_visit(server, desk, "Ann Lee"), book_visit(server, desk, "Bo Chen")
    tablet = screens.open(f"{server.url}/?lang={lang}", width=768, height=1024)
    passing = _hold_feed(tablet)
    sign_in_page(tablet, MA, PIN, device="ma-1")
    card = tablet.locator(f"[data-list='ma-waiting'] li[data-visit='{ann['id']}']")
    card.locator("[data-action='next']").click()
    card.locator("[data-pick-room='w4']").wait_for(timeout=10_000)

    passing["on"] = False  # this tablet's feed is a moment behind
    into_w4 = {"type": "roomed", "room": "w4"}
    roomed = httpx.post(f"{server.url}{API}/visits/{bo['id']}/events", headers=other_ma, json=into_w4, timeout=10)
    assert roomed.status_code == 201, roomed.text
    card.locator("[data-pick-room='w4']").click()

    note = card.locator("[data-conflict]")
    note.wait_for(timeout=10_000)
    assert said in " ".join(note.inner_text().split()), note.inner_text()
    card.locator("[data-pick-room]").first.wait_for(timeout=10_000)  # the picker, open again
    offered = card.locator("[data-pick-room]").evaluate_all("bs => bs.map((b) => b.dataset.pickRoom)")
    assert "w4" not in offered, f"West 4, taken, offered again: {offered}"
    assert "w3" in offered
    assert serious_violations(tablet) == []
    # The feed brings the room as it is: still occupied, still not offered.
    passing["on"] = True
    tablet.reload()
    card.locator("[data-action='next']").click()
    card.locator("[data-pick-room='w3']").wait_for(timeout=10_000)
    assert card.locator("[data-pick-room='w4']").count() == 0
