"""Moving a waiting patient to another provider, in a real browser: the manager from the timeline's visit detail,
the front desk from a visit's detail on the tablet; the visit changes lanes, the trail says who moved them, and
the screens pass axe's serious checks with the control on them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, fast_clock_server, serious_violations, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

API = f"/api/clinics/{CLINIC}"
MORNING = "2026-11-23T15:00:00+00:00"  # 09:00 at the demo clinic


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with fast_clock_server(tmp_path, MORNING, 1) as proc:
        yield proc


def _here(server: ServerProcess, name: str, *, roomed: bool) -> str:
    """A patient booked with Dr. Kim at 9:00, arrived (and roomed)."""
    desk, ma = server.signed_in(Role.front_desk), server.signed_in(Role.medical_assistant)
    booked = httpx.post(
        f"{server.url}{API}/visits",
        headers=desk,
        timeout=10,
        json={"patient_name": name, "provider": "kim", "visit_type": "follow", "start": "2026-11-23T09:00:00"},
    )
    assert booked.status_code == 201, booked.text
    visit = booked.json()["visit"]["id"]
    steps = [(desk, {"type": "arrived"})] + ([(ma, {"type": "roomed", "room": "e1"})] if roomed else [])
    for who, body in steps:
        tapped = httpx.post(f"{server.url}{API}/visits/{visit}/events", headers=who, timeout=10, json=body)
        assert tapped.status_code == 201, tapped.text
    return visit


def _trail(server: ServerProcess, visit: str) -> list[tuple[str, str, str | None]]:
    manager = server.signed_in(Role.manager)
    entries = httpx.get(f"{server.url}{API}/visits/{visit}/audit", headers=manager, timeout=10).json()["entries"]
    return [(e["type"], e["person"], e.get("provider")) for e in entries]


def test_the_manager_moves_a_roomed_patient_to_another_provider_from_the_timeline(
    server: ServerProcess, screens: Screens
) -> None:
    visit = _here(server, "Nora Quinn", roomed=True)
    server.signed_in(Role.manager)  # adds the manager
    console = screens.open(f"{server.url}/manager.html", width=1280, height=900)
    sign_in_page(console, PEOPLE[Role.manager][0], PIN, device="office")
    kim_lane = console.locator(f"#timeline [data-provider='kim'] g.visit[data-visit='{visit}']")
    kim_lane.wait_for(timeout=10_000)
    kim_lane.click()
    form = console.locator(f"#visit-detail form[data-move-visit='{visit}']")
    form.wait_for(timeout=5_000)
    assert serious_violations(console) == []
    console.get_by_label("Move to another provider").select_option("okafor")
    form.get_by_role("button", name="Move").click()
    console.wait_for_function(
        "() => /moved to Dr\\. Daniel Okafor/.test(document.querySelector('#move-message')?.textContent)",
        timeout=5_000,
    )
    console.locator(f"#timeline [data-provider='okafor'] g.visit[data-visit='{visit}']").wait_for(timeout=5_000)
    assert console.locator(f"#timeline [data-provider='kim'] [data-visit='{visit}']").count() == 0
    assert "Dr. Jenna Kim" in console.locator("#visit-detail").inner_text()  # booked with
    assert _trail(server, visit)[-1] == ("visit_moved", PEOPLE[Role.manager][0], "okafor")


def test_the_front_desk_moves_a_waiting_patient_from_the_visits_detail(server: ServerProcess, screens: Screens) -> None:
    visit = _here(server, "Omar Reyes", roomed=False)
    tablet = screens.open(f"{server.url}/")
    sign_in_page(tablet, PEOPLE[Role.front_desk][0], PIN)
    floor = tablet.locator("#floor-details")
    floor.wait_for(timeout=10_000)
    if floor.get_attribute("open") is None:
        tablet.locator("#floor-details > summary").click()
    tablet.locator(f"#visits-body [data-detail-visit='{visit}']").click()
    dialog = tablet.locator("#visit-detail[open]")
    dialog.locator("form[data-detail-move]").wait_for(timeout=5_000)
    assert serious_violations(tablet) == []
    dialog.get_by_label("Move to another provider").select_option("silva")
    dialog.locator("[data-detail='move']").click()
    tablet.wait_for_function(
        "() => /moved to Maria Silva, NP/.test(document.querySelector('[data-detail-message]')?.textContent)",
        timeout=5_000,
    )
    # The history says it, and the move is no longer offered to the provider they are with now.
    dialog.locator(".history li[data-type='visit_moved']").wait_for(timeout=5_000)
    assert "Moved from Dr. Jenna Kim to Maria Silva, NP" in dialog.inner_text()
    options = dialog.locator("select[name='provider'] option")
    assert "silva" not in [options.nth(i).get_attribute("value") for i in range(options.count())]
    assert _trail(server, visit)[-1] == ("visit_moved", PEOPLE[Role.front_desk][0], "silva")
