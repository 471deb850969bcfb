"""A provider's sign-in linked to a provider a manager then takes out of the clinic (Providers, or
PUT .../providers): the account stays (it is the person's, and they may be linked again or work elsewhere), the
console's staff list says its provider is taken out of this clinic (it showed the bare id, as if nothing had
changed), and the provider's tablet, signed in before, goes on without a script error and without a lane of its
own: no "my patients", no presence of its own to say, the clinic's providers to pick from."""

from __future__ import annotations

import httpx
import pytest

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

API = f"/api/clinics/{CLINIC}"


def test_a_provider_taken_out_keeps_the_account_the_console_says_so_and_the_tablet_has_no_lane_of_theirs(
    server: ServerProcess, screens: Screens
) -> None:
    manager = server.signed_in(Role.manager)
    added = httpx.post(
        f"{server.url}/api/staff",
        headers=manager,
        json={"id": "ahart", "name": "Aaron Hart", "role": "provider", "secret": PIN, "provider": "hart"},
        timeout=10,
    )
    assert added.status_code == 201, added.text

    tablet = screens.open(f"{server.url}/")
    sign_in_page(tablet, "ahart", PIN)
    # The board is in (the providers to pick from filled in), and it is theirs.
    tablet.wait_for_function("() => document.querySelectorAll('#provider-filter option').length > 1", timeout=15_000)
    assert tablet.inner_text("#title-provider") == "My patients"
    assert tablet.is_hidden("#provider-filter-field")

    console = screens.open(f"{server.url}/manager.html", width=1280, height=900)
    sign_in_page(console, PEOPLE[Role.manager][0], PIN, device="manager-office")
    console.wait_for_selector("#conn[data-mode='live']", timeout=15_000)
    row = console.locator("#staff-table tr[data-staff='ahart']")
    row.wait_for(timeout=10_000)
    assert "Provider: Dr. Aaron Hart (hart)" in row.inner_text()

    board = httpx.get(f"{server.url}{API}/board", headers=manager, timeout=10).json()
    kept = [p for p in board["providers"] if p["id"] != "hart"]
    out = httpx.put(
        f"{server.url}{API}/providers",
        headers=manager,
        json={"version": board["setup_version"], "providers": kept},
        timeout=10,
    )
    assert out.status_code == 201, out.text

    # The console: the account is there, its provider taken out of this clinic.
    console.wait_for_function(
        "() => document.querySelector(\"#staff-table tr[data-staff='ahart']\")?.textContent"
        ".includes('Provider: hart (taken out of this clinic)')",
        timeout=10_000,
    )
    assert any(s["id"] == "ahart" for s in httpx.get(f"{server.url}/api/staff", headers=manager, timeout=10).json())

    # The tablet: no lane of Dr. Hart's, no "my patients", no presence of their own; the providers to pick from.
    tablet.wait_for_function(
        "() => document.querySelector('#title-provider').textContent === 'Providers’ patients'", timeout=10_000
    )
    assert tablet.is_visible("#provider-filter-field")
    options = tablet.locator("#provider-filter option").all_inner_texts()
    assert "Dr. Aaron Hart" not in options and "Dr. Jenna Kim" in options
    assert tablet.is_hidden("#presence")
    assert "Hart" not in tablet.inner_text("#provider-delay")
    # Still signed in, and the tablet still works: the clinic's own patients shown, picked by provider.
    tablet.select_option("#provider-filter", "kim")
    assert tablet.is_visible("#whoami")
