"""A desk checks a patient in while the network is down; the tap is kept. Her sign-in ends before the network
comes back (her shift's 12 hours are up, or a manager set her a new PIN): the tap's retries are answered 401 and
it is kept "for that person's next sign-in" (lib/outbox.js). The page said only "Your sign-in ended"; the colleague
who signed in next on that tablet was told nothing, and the patient stayed "expected" on every screen (a hostile
review). Now the sign-in form says how many taps wait for whom, the next person is shown another person's taps
waiting (never sent as them), and the first person's next sign-in here sends them."""

from __future__ import annotations

import httpx
import pytest

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, book_visit, sign_in_page
from tests.server.conftest import ServerProcess, bearer
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_taps_kept_when_the_sign_in_ended_are_not_lost_silently(
    server: ServerProcess, screens: Screens, lang: str
) -> None:
    desk_headers = server.signed_in(Role.front_desk)
    visit = book_visit(server, desk_headers, "Ann Lee", start="2026-11-23T09:10:00")
    server.add_staff("desk-ben", Role.front_desk, "Ben Ruiz")
    first_desk = PEOPLE[Role.front_desk][0]
    page = screens.open(f"{server.url}/?lang={lang}", width=768, height=1024)
    sign_in_page(page, first_desk, PIN, device="front-desk-1")
    page.wait_for_selector("#live.live-live", timeout=10_000)
    token = page.evaluate("() => sessionStorage.getItem('floor.tablet.token')")

    def stage() -> str:
        url = f"{server.url}/api/clinics/{CLINIC}/visits/{visit['id']}"
        return httpx.get(url, headers=desk_headers, timeout=10).json()["visit"]["stage"]

    page.context.set_offline(True)
    page.locator(f"[data-list='desk-arrivals'] [data-visit='{visit['id']}'] [data-action=next]").click()
    page.locator("#offline:not([hidden])").wait_for(timeout=10_000)
    # Her sign-in ends meanwhile (an expiry; here ended on the server, as an expiry or a new PIN ends it).
    assert httpx.post(f"{server.url}/api/sign-out", headers=bearer(token), timeout=10).status_code in (200, 204)
    page.context.set_offline(False)
    page.locator("#sign-in").wait_for(state="visible", timeout=30_000)
    waiting = page.locator("#kept-waiting:not([hidden])")
    waiting.wait_for(timeout=10_000)
    page.wait_for_timeout(3_000)  # the tap's retries, answered 401
    said = {
        "en": f"1 tap kept on this tablet waits for {first_desk} to sign in here again",
        "es": f"1 toque guardado en esta tableta espera a que {first_desk} vuelva a iniciar sesión aquí",
    }[lang]
    assert waiting.inner_text().startswith(said), waiting.inner_text()
    # A promise it keeps: a tap kept past the clinic's midnight is not sent (tablet/kept.js madeEarlierDay).
    kept_until = {
        "en": "it is sent then if that is before the clinic's midnight; after midnight it is not sent.",
        "es": "se enviará entonces si es antes de la medianoche de la clínica; después de medianoche no se enviará.",
    }[lang]
    assert kept_until in waiting.inner_text(), waiting.inner_text()
    assert "Ann Lee" not in waiting.inner_text()  # nobody is signed in: no patient's name

    sign_in_page(page, "desk-ben", PIN, device="front-desk-1")  # the next shift, on the same tablet
    page.wait_for_selector("#live.live-live", timeout=10_000)
    others = page.locator("#kept-others:not([hidden])")
    others.wait_for(timeout=10_000)
    by = {"en": "tapped by", "es": "tocado por"}[lang]
    assert "Ann Lee: " in others.inner_text() and f"({by} {first_desk})" in others.inner_text(), others.inner_text()
    not_after = {"en": "not after the clinic's midnight", "es": "ni después de la medianoche de la clínica"}[lang]
    assert not_after in others.inner_text(), others.inner_text()
    page.wait_for_timeout(1_000)
    assert stage() == "scheduled"  # not sent as the next desk

    page.click("#sign-out")
    page.locator("#sign-in").wait_for(state="visible", timeout=10_000)
    sign_in_page(page, first_desk, PIN, device="front-desk-1")  # she signs in here again: her tap goes
    page.wait_for_function("() => document.getElementById('kept-others').hidden", timeout=10_000)
    deadline = 20
    while stage() != "arrived" and deadline:
        page.wait_for_timeout(500)
        deadline -= 1
    assert stage() == "arrived"
    assert page.locator("#kept-waiting").is_hidden()
