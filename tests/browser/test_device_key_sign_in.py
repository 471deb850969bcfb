"""A tablet its owner signed in on before is not kept out by someone else's wrong PINs (issue 18): the sign-in
form keeps the device key the server gave it for that person and sends it with their next sign-in, so while
anonymous wrong PINs make the account wait, the owner signs in on that tablet at once; a tablet without the
key is told to wait.

The server runs in this process (`floor serve`'s uvicorn server), its sign-ins on a clock that moves only when
told: the account's wait lasts however long the browser takes. On the embedded directory and on Redis."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from floor.clock import ManualClock
from floor.core.access import Role
from floor.credentials import MAX_FAILURES
from floor.directory.base import Directory
from floor.directory.embedded import EmbeddedDirectory
from floor.directory.redis import RedisDirectory
from tests.browser.conftest import Screens, sign_in_page
from tests.support.in_process_server import InProcessServer
from tests.support.redis_server import forget_prefix
from tests.support.staff import PEOPLE, PIN, test_floors

pytestmark = [pytest.mark.browser, pytest.mark.server]

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in the demo clinic (Chicago)
DESK, DESK_NAME = PEOPLE[Role.front_desk]
STORED = f"floor.signin.device_key.{DESK}"


@pytest.fixture(params=["embedded", "redis"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[InProcessServer]:
    url, prefix = "", f"test-{uuid.uuid4().hex[:12]}"
    if request.param == "embedded":
        directory: Directory = EmbeddedDirectory(tmp_path / "directory.json")
    else:
        url = request.getfixturevalue("redis_url")
        directory = RedisDirectory(url, prefix=prefix)
    floors = test_floors(tmp_path, clock=ManualClock(START), tick_seconds=3600, directory=directory)
    floors.sessions.clock = ManualClock(START)
    with InProcessServer(floors) as served:
        try:
            served.run(floors.sessions.add_staff(DESK, DESK_NAME, Role.front_desk, PIN, "test"))
            yield served
        finally:
            if request.param == "redis" and served.thread.is_alive():
                # On the server's loop: Playwright's runs in this thread.
                served.run(forget_prefix(url, prefix))


def without_key(served: InProcessServer, secret: str) -> httpx.Response:
    return httpx.post(f"{served.url}/api/sign-in", json={"staff": DESK, "secret": secret, "device": "elsewhere"})


def test_a_tablet_that_signed_in_before_signs_in_while_anonymous_wrong_pins_make_the_account_wait(
    served: InProcessServer, screens: Screens
) -> None:
    tablet = screens.open(f"{served.url}/")
    sign_in_page(tablet, DESK, PIN)
    key = tablet.evaluate(f"localStorage.getItem({STORED!r})")
    assert key and "." in key
    tablet.click("#sign-out")
    tablet.wait_for_selector("#sign-in-form", state="visible", timeout=10_000)

    for _ in range(MAX_FAILURES):
        assert without_key(served, "1111").status_code == 401
    told = without_key(served, PIN)
    assert told.status_code == 401 and told.headers["Retry-After"] == "60", told.text

    # Another tablet, which never signed in as them, is told to wait, as before.
    other = screens.open(f"{served.url}/")
    other.fill("#signin-staff", DESK)
    other.fill("#signin-secret", PIN)
    other.fill("#signin-device", "tablet-2")
    other.click("#signin-submit")
    other.wait_for_selector("#sign-in-message:not([hidden])", timeout=10_000)
    assert other.inner_text("#sign-in-message") == told.json()["message"]
    assert other.is_hidden("#whoami")

    # The owner's own tablet gets in at once, and keeps its key; the account still waits for everyone else.
    sign_in_page(tablet, DESK, PIN)
    assert DESK in tablet.inner_text("#whoami")
    assert tablet.evaluate(f"localStorage.getItem({STORED!r})") == key
    still = without_key(served, PIN)
    assert still.status_code == 401 and still.headers["Retry-After"] == "60"
    held = served.run(served.floors.sessions.strikes(DESK))
    assert held is not None and held.count == MAX_FAILURES
