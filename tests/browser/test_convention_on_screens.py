"""The clinic's convention on the screens: where booked times are the provider's (`appointment_time =
"provider"`), a patient not yet come is due before the booked time, to be roomed and prepped by it. The
tablet's "due / late" and the manager timeline's slot follow the plan the server sends, not the booked time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from floor.config import demo_clinic_path
from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, sign_in_page
from tests.server.conftest import CLINIC_MORNING, ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.long]

#: The server's clinic clock starts at 09:00 when the test starts, at real pace (its own origin: the run's
#: shared one may be minutes old by now). A 09:05
#: follow-up (rooming 6, prep 3 minutes) is due at 09:05 where booked times are arrivals, and at 08:56 where
#: they are the provider's: a few minutes late already.
BOOKED = "2026-11-23T09:05:00"
SHOWN = {"arrival": ("due in", "slot-scheduled"), "provider": ("late", "slot-due")}


@pytest.fixture(params=["arrival", "provider"])
def server(request, tmp_path: Path) -> Iterator[tuple[str, ServerProcess]]:
    clinic = tmp_path / "clinic.toml"
    text = demo_clinic_path().read_text()
    clinic.write_text(text.replace('appointment_time = "arrival"', f'appointment_time = "{request.param}"', 1))
    proc = ServerProcess(
        tmp_path / "data",
        tmp_path / "server.log",
        "--clinic",
        str(clinic),
        "--clock-start",
        CLINIC_MORNING.isoformat(),
        "--clock-origin",
        repr(time.time()),
    )
    proc.start()
    try:
        yield request.param, proc
    finally:
        proc.stop()


def test_due_and_late_on_the_tablet_and_the_timeline_follow_the_clinics_convention(
    server: tuple[str, ServerProcess], screens: Screens
) -> None:
    convention, proc = server
    due_text, slot_class = SHOWN[convention]
    desk, _ = proc.signed_in(Role.front_desk), proc.signed_in(Role.manager)
    answer = httpx.post(
        f"{proc.url}/api/clinics/{CLINIC}/visits",
        headers=desk,
        timeout=10,
        json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "start": BOOKED},
    )
    assert answer.status_code == 201, answer.text
    visit = answer.json()["visit"]["id"]

    tablet = screens.open(f"{proc.url}/")
    sign_in_page(tablet, PEOPLE[Role.front_desk][0], PIN)
    due = tablet.locator(f"[data-visit='{visit}'] .wait[data-kind='due']")
    due.wait_for(timeout=10_000)
    assert due.inner_text().startswith(due_text), due.inner_text()

    manager = screens.open(f"{proc.url}/manager.html")
    sign_in_page(manager, PEOPLE[Role.manager][0], PIN)
    slot = manager.locator(f"#timeline g.slot[data-visit='{visit}']")
    slot.wait_for(timeout=10_000)
    assert slot_class in (slot.get_attribute("class") or "").split()
