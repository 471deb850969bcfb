"""The waiting room alternates the clinic's languages and pages through providers that do not fit on one screen.
Both turn every `alternate_seconds`: a patient who reads only one of the clinic's languages must still, at some
point, see their own provider's delay in it."""

from __future__ import annotations

import msgspec
import pytest

from floor.core.journey import Stage
from floor.hallway import HallwayDelay, HallwayVisit
from tests.browser.conftest import Screens
from tests.browser.test_wall_and_languages import _board, _open_on_feed, ago
from tests.server.conftest import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.server]

NAMES = [
    "Jenna Kim",
    "Daniel Okafor",
    "Maria Silva",
    "Aaron Hart",
    "Lena Park",
    "Omar Haddad",
    "Ines Costa",
    "Grace Baker",
]
INITIALS = ["JK", "DO", "MS", "AH", "LP", "OH", "IC", "GB"]


def test_every_providers_delay_is_shown_in_each_of_the_clinics_languages(
    module_server: ServerProcess, screens: Screens
) -> None:
    board = msgspec.structs.replace(
        _board(["en", "es"], alternate_seconds=2),
        delays=[HallwayDelay(i, 20, name=f"Dr. {n}") for i, n in zip(INITIALS, NAMES, strict=True)],
        visits=[
            HallwayVisit(f"V{k}{i[0]}", i, Stage.scheduled, ago(-30), ago(-30), False) for k, i in enumerate(INITIALS)
        ],
    )
    page = _open_on_feed(screens, f"{module_server.url}/waiting.html", board)
    page.locator("li.line:not([hidden])").first.wait_for(timeout=10_000)
    seen: dict[str, set[str]] = {"en": set(), "es": set()}
    for _ in range(60):  # 15 s: seven or more turns of each
        lang, shown = page.evaluate(
            """() => [document.documentElement.lang,
                      [...document.querySelectorAll('li.line:not([hidden])')].map(n => n.dataset.provider)]"""
        )
        seen.setdefault(lang, set()).update(shown)
        page.wait_for_timeout(250)
    # The screen does page (not all providers fit at once) ...
    assert seen["en"] | seen["es"] == set(INITIALS)
    # ... and every provider's line was read in English and in Spanish at some point.
    missing = {lang: sorted(set(INITIALS) - who) for lang, who in seen.items() if set(INITIALS) - who}
    assert not missing, f"providers never shown in that language: {missing}"
