"""Every wall of the clinic is sent the alert that the schedule kept for today could not be booked (an alert
about no visit). On a wall in Spanish it must be said in Spanish, as the tablet says it ("La agenda enviada con
antelación para hoy no se cargó..."), not as the English kind name twice ("SCHEDULE / Schedule")."""

from __future__ import annotations

import msgspec
import pytest

from floor.hallway import HallwayAlert
from tests.browser.conftest import Screens
from tests.browser.test_wall_and_languages import _board, _open_on_feed, ago
from tests.server.conftest import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_a_schedule_alert_on_a_spanish_wall_is_said_in_spanish(module_server: ServerProcess, screens: Screens) -> None:
    board = msgspec.structs.replace(
        _board(["es"]), alerts=[HallwayAlert("s1", "schedule", ago(5), True, False)], delays=[]
    )
    wall = _open_on_feed(screens, f"{module_server.url}/board.html", board)
    item = wall.locator("#alerts-list li.alert[data-alert='s1']")
    item.wait_for(timeout=10_000)
    wall.locator("#waiting-title", has_text="Sala de espera").wait_for(timeout=10_000)  # the wall speaks Spanish
    kind, text = item.locator(".alert-kind").inner_text(), item.locator(".alert-text").inner_text()
    assert "schedule" not in kind.lower() and "schedule" not in text.lower(), (kind, text)
    assert "agenda" in text.lower(), text  # what it is about, in the wall's language
