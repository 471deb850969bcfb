"""A sign-in refused does not leave a PIN typed into the staff-id field on the screen: people often type their
PIN there by mistake, and a shared tablet (or the office's console) showed it to the next person until someone
cleared it. What could be a PIN (digits only, or no staff id at all) is cleared and the field focused to type
the id; a staff id is kept, the PIN cleared to type again, as before. On the tablet and on the manager's page.

The server runs in this process on a clock that moves only when told, so the few wrong tries here never make
anyone wait."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from floor.clock import ManualClock
from floor.core.access import Role
from tests.browser.conftest import Screens, sign_in_page
from tests.support.in_process_server import InProcessServer
from tests.support.staff import PEOPLE, PIN, test_floors

pytestmark = [pytest.mark.browser, pytest.mark.server]

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in the demo clinic (Chicago)
DESK, DESK_NAME = PEOPLE[Role.front_desk]
MANAGER, MANAGER_NAME = PEOPLE[Role.manager]
#: Each page's sign-in form's message and submit button.
PAGES = {"/": "#sign-in-message", "/manager.html": "#signin-message"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[InProcessServer]:
    floors = test_floors(tmp_path, clock=ManualClock(START), tick_seconds=3600)
    floors.sessions.clock = ManualClock(START)
    with InProcessServer(floors) as served:
        served.run(floors.sessions.add_staff(DESK, DESK_NAME, Role.front_desk, PIN, "test"))
        served.run(floors.sessions.add_staff(MANAGER, MANAGER_NAME, Role.manager, PIN, "test"))
        yield served


def refused(page: Page, message: str, staff: str, secret: str) -> None:
    page.fill("#signin-staff", staff)
    page.fill("#signin-secret", secret)
    page.fill("#signin-device", "tablet-1")
    page.click("#signin-submit")
    page.wait_for_selector(f"{message}:not([hidden])", timeout=10_000)
    page.wait_for_function("() => !document.querySelector('#signin-submit').disabled")


def focused(page: Page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


@pytest.mark.parametrize("path", list(PAGES))
def test_a_pin_typed_as_the_staff_id_is_not_left_on_the_screen_after_the_sign_in_is_refused(
    served: InProcessServer, screens: Screens, path: str
) -> None:
    page = screens.open(f"{served.url}{path}")
    message = PAGES[path]

    # The PIN in the staff-id field (and something in the PIN field): refused, and the PIN is not left there.
    refused(page, message, PIN, "whatever")
    assert page.input_value("#signin-staff") == ""
    assert page.input_value("#signin-secret") == ""
    assert focused(page) == "signin-staff"

    # A password typed there (no staff id has a space or a '!'): not kept either.
    refused(page, message, "Summer Day!", "whatever")
    assert page.input_value("#signin-staff") == ""

    # A staff id with a wrong PIN: the id is kept, the PIN cleared and focused to type again.
    refused(page, message, DESK, "1357")
    assert page.input_value("#signin-staff") == DESK
    assert page.input_value("#signin-secret") == ""
    assert focused(page) == "signin-secret"

    # And the form still signs in.
    sign_in_page(page, MANAGER if path == "/manager.html" else DESK, PIN)
