"""An assistant says "Stepped away" for Dr. Kim while the tablet cannot reach the server: the tap is kept and
waits, and the presence buttons are held while it does. The offline banner lists every tap waiting to be sent
(steps, rooms, a walk-in, an undo) but left this one out, and the presence card went on saying "Dr. Kim is on the
floor" beside buttons that did nothing: nothing on the screen said the tap was taken and waiting (a hostile review
of the tablets). The banner now lists it, and the card says it is on its way, in English and in Spanish."""

from __future__ import annotations

import pytest

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, serious_violations, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

MA = PEOPLE[Role.medical_assistant][0]


@pytest.mark.parametrize(
    ("lang", "waiting", "sending"),
    [
        ("en", "Dr. Jenna Kim: stepped away: waiting to send", "Sending…"),
        ("es", "Dr. Jenna Kim: salió un momento: pendiente de envío", "Enviando…"),
    ],
)
def test_a_presence_tap_waiting_for_the_network_is_listed_with_the_taps_waiting(
    server: ServerProcess, screens: Screens, lang: str, waiting: str, sending: str
) -> None:
    server.signed_in(Role.medical_assistant)
    tablet = screens.open(f"{server.url}/?lang={lang}", width=768, height=1024)
    sign_in_page(tablet, MA, PIN, device="ma-1")
    tablet.wait_for_selector("#live.live-live", timeout=10_000)
    tablet.select_option("#presence-provider", "kim")

    tablet.context.set_offline(True)
    tablet.locator("button[data-presence='stepped_away']").click()
    tablet.wait_for_function(
        "k => JSON.parse(localStorage.getItem(k) || '[]').length === 1", arg=f"floor.outbox.{CLINIC}.{MA}"
    )
    lines = tablet.locator("#offline-taps li")
    lines.first.wait_for(timeout=10_000)
    assert lines.all_inner_texts() == [waiting]
    assert sending in tablet.locator("#presence-now").inner_text()
    assert serious_violations(tablet) == []

    tablet.context.set_offline(False)
    tablet.evaluate("() => window.dispatchEvent(new Event('online'))")
    tablet.locator("#offline").wait_for(state="hidden", timeout=20_000)
    assert sending not in tablet.locator("#presence-now").inner_text()


def test_the_undo_of_a_presence_tap_waiting_for_the_network_says_so(server: ServerProcess, screens: Screens) -> None:
    """Its Undo, tapped offline, said "Undoing…" for as long as the network was down, where a step's undo says it
    waits for the network, in the toast and the banner."""
    server.signed_in(Role.medical_assistant)
    tablet = screens.open(f"{server.url}/", width=768, height=1024)
    sign_in_page(tablet, MA, PIN, device="ma-1")
    tablet.wait_for_selector("#live.live-live", timeout=10_000)
    tablet.select_option("#presence-provider", "kim")
    tablet.locator("button[data-presence='stepped_away']").click()
    undo = tablet.locator("#toast-region [data-action='undo']")
    undo.wait_for(timeout=10_000)

    tablet.context.set_offline(True)
    undo.click()
    tablet.locator("#offline-taps li").first.wait_for(timeout=10_000)
    assert tablet.locator("#offline-taps li").all_inner_texts() == ["Undo for Dr. Jenna Kim: waiting to send"]
    assert tablet.locator("#toast-region").inner_text().startswith("Undo waiting for the network")

    tablet.context.set_offline(False)
    tablet.evaluate("() => window.dispatchEvent(new Event('online'))")
    tablet.locator("#toast-region", has_text="Undone").wait_for(timeout=20_000)
    assert "is on the floor" in tablet.locator("#presence-now").inner_text()
