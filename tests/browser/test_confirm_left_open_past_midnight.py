"""An assistant taps "Left without being seen" for Ann Lee late in the evening and the question stays open on the
tablet past the clinic's midnight; the next morning someone taps "Yes". The server answers 404 (yesterday's visit is
not on today's floor), and the tablet said nothing: the refusal was pinned to a card no longer on any list, the
question closed and Ann was gone from the lists, as if it had been taken (a hostile review of the tablets). A
refusal of a visit no longer on the floor is now said in the toast, naming the patient, in the tablet's language.
The server runs a fast clinic clock from 23:53, so midnight comes in seconds."""

from __future__ import annotations

import time
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
EVENING = "2026-11-24T05:53:00+00:00"  # 23:53 at the clinic, on the 23rd
SPEED = 30  # clinic minutes per two real seconds


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with fast_clock_server(tmp_path, EVENING, SPEED) as proc:
        yield proc


def _board(server: ServerProcess, headers: dict) -> dict:
    return httpx.get(f"{server.url}{API}/board", headers=headers, timeout=10).json()


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("en", "Ann Lee: not stored, this visit is no longer on today's floor"),
        ("es", "Ann Lee: no se guardó, esta visita ya no está en el piso de hoy"),
    ],
)
def test_yes_on_a_question_left_open_past_midnight_says_it_was_not_stored(
    server: ServerProcess, screens: Screens, lang: str, said: str
) -> None:
    desk = server.signed_in(Role.front_desk)
    server.signed_in(Role.medical_assistant)
    walk_in = {"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True}
    ann = httpx.post(f"{server.url}{API}/visits", headers=desk, json=walk_in, timeout=10).json()["visit"]
    tablet = screens.open(f"{server.url}/?lang={lang}", width=768, height=1024)
    sign_in_page(tablet, PEOPLE[Role.medical_assistant][0], PIN)
    card = tablet.locator(f"[data-list='ma-waiting'] li[data-visit='{ann['id']}']")
    card.locator("[data-step='left_without_being_seen']").click()
    question = tablet.locator("dialog[open]")
    question.wait_for(timeout=10_000)

    deadline = time.monotonic() + 60
    while _board(server, desk)["day"] != "2026-11-24":  # the clinic's midnight, the question still open
        assert time.monotonic() < deadline, "the clinic clock did not move"
        time.sleep(0.3)
    card.wait_for(state="detached", timeout=10_000)  # the tablet has the new day's floor
    question.locator("[data-confirm-yes]").click()

    toast = tablet.locator("#toast-region .toast.error")
    toast.wait_for(timeout=10_000)
    assert said in toast.inner_text(), toast.inner_text()
    assert serious_violations(tablet) == []
    assert _board(server, desk)["visits"] == []
