"""The waiting room says a provider's delay in each of the clinic's languages. In Spanish, "unos" (some, masculine
plural) agrees with "minutos" but not with "1 hora": an hour's delay read "lleva unos 1 hora de retraso"."""

from __future__ import annotations

import msgspec
import pytest

from floor.core.journey import Stage
from floor.hallway import HallwayDelay, HallwayVisit
from tests.browser.conftest import Screens
from tests.browser.test_wall_and_languages import _board, _open_on_feed, ago
from tests.server.conftest import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_an_hour_behind_is_said_in_good_spanish(module_server: ServerProcess, screens: Screens) -> None:
    board = msgspec.structs.replace(
        _board(["es"], alternate_seconds=600),
        delays=[HallwayDelay("AH", 60, name="Dr. Aaron Hart")],
        visits=[HallwayVisit("V1A", "AH", Stage.scheduled, ago(-30), ago(-30), False)],
    )
    page = _open_on_feed(screens, f"{module_server.url}/waiting.html", board)
    line = page.locator("li[data-provider='AH']")
    line.locator(".message", has_text="retraso").wait_for(timeout=10_000)
    said = line.locator(".message").inner_text()
    assert "unos 1 hora" not in said, said  # "una hora", "alrededor de 1 hora"...


SAID = {
    "es": {
        "JK": "lleva unos 5 minutos de retraso.",
        "DO": "lleva alrededor de una hora de retraso.",
        "MS": "lleva alrededor de una hora y 5 minutos de retraso.",
        "AH": "lleva alrededor de 2 horas y 15 minutos de retraso.",
    },
    "en": {
        "JK": "is running about 5 minutes behind.",
        "DO": "is running about an hour behind.",
        "MS": "is running about an hour and 5 minutes behind.",
        "AH": "is running about 2 hours and 15 minutes behind.",
    },
}


@pytest.mark.parametrize("language", ["es", "en"])
def test_minutes_and_hours_read_well_in_each_language(
    module_server: ServerProcess, screens: Screens, language: str
) -> None:
    """Not only the hour: minutes, an hour and minutes, hours and minutes, each as a patient would say them."""
    lateness = {"JK": 5, "DO": 60, "MS": 65, "AH": 135}
    board = msgspec.structs.replace(
        _board([language], alternate_seconds=600),
        delays=[HallwayDelay(i, m, name=f"Dr. {i}") for i, m in lateness.items()],
        visits=[HallwayVisit(f"V{i}", i, Stage.scheduled, ago(-30), ago(-30), False) for i in lateness],
    )
    page = _open_on_feed(screens, f"{module_server.url}/waiting.html", board)
    # The page shows English until the clinic's language file has loaded, and "15" reads the same in both: wait
    # for the sentence in the language asked for (a render writes every line at once), then read them all.
    page.locator("li[data-provider='AH'] .message", has_text=SAID[language]["AH"]).wait_for(timeout=10_000)
    said = {i: page.locator(f"li[data-provider='{i}'] .message").inner_text() for i in lateness}
    assert said == SAID[language]
