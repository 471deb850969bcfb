"""Browser fixtures: Debian's Chromium driven by Playwright, against real Floor server processes.

The browser is started once per test module and closed after it: sync Playwright keeps an event loop
running in the main thread while it is open, which would stop every asyncio test after it. Each test gets
fresh contexts (no shared storage), so a wall's
display token or a tablet's sign-in never leaks from one test into another.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

# module_server: one server for a module's tests (the browser tests use it too).
from tests.server import conftest as server_fixtures
from tests.server.conftest import ServerProcess, free_port, module_server  # noqa: F401
from tests.support.processes import stop

#: The `server` fixture: a `floor serve` of the test's own (the browser tests use it too).
server = server_fixtures.server

CHROMIUM = os.environ.get("FLOOR_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-precise-memory-info",
    "--js-flags=--expose-gc",
]
CLINIC = "riverside"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium is not at {CHROMIUM}: apt-get install chromium (see README)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Screens:
    """Opens pages in their own contexts and remembers console errors, so a test can assert none."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []

    def open(
        self,
        url: str,
        *,
        width: int = 1280,
        height: int = 800,
        timezone_id: str | None = None,
        init_script: str | None = None,
    ) -> Page:
        """A page in a context of its own; `timezone_id`: the device's own time zone (else the machine's);
        `init_script`: run in the page before its own scripts (a device clock that is off, say)."""
        context = self.browser.new_context(viewport={"width": width, "height": height}, timezone_id=timezone_id)
        if init_script is not None:
            context.add_init_script(init_script)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda e: self.errors.append(f"{url}: {e}"))
        page.goto(url)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def screens(browser: Browser) -> Iterator[Screens]:
    s = Screens(browser)
    try:
        yield s
    finally:
        s.close()
    assert not s.errors, f"script errors on the pages: {s.errors}"


def pair_wall(page: Page, server: ServerProcess, manager: dict[str, str], zone: str | None = None) -> None:
    """The real pairing: read the code the wall shows, approve it as a manager, wait until it is live."""
    code = page.locator("#pairing-code")
    code.wait_for(state="visible", timeout=10_000)
    page.wait_for_function("() => /[A-Z0-9]{3}/.test(document.querySelector('#pairing-code').textContent)")
    text = re.sub(r"\s", "", code.inner_text())
    answer = httpx.post(
        f"{server.url}/api/displays", json={"code": text, "clinic": CLINIC, "zone": zone}, headers=manager
    )
    assert answer.status_code == 201, answer.text
    page.wait_for_selector("#conn[data-mode='live']", timeout=15_000)


def serious_violations(page: Page) -> list[str]:
    """What axe finds on the page as it is now that is serious or critical, one line each (none is the aim)."""
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} x{len(v['nodes'])}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def book_visit(
    server: ServerProcess, desk: dict[str, str], name: str, provider: str = "kim", start: str | None = None
) -> dict:
    """A follow-up booked with the front desk's headers: at `start` (ISO, on the clinic's clock), else a walk-in;
    the visit as the server answers it."""
    when: dict[str, str | bool] = {"start": start} if start else {"walk_in": True}
    answer = httpx.post(
        f"{server.url}/api/clinics/{CLINIC}/visits",
        headers=desk,
        timeout=10,
        json={"patient_name": name, "provider": provider, "visit_type": "follow", **when},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["visit"]


def import_day(server: ServerProcess, manager: dict[str, str], day: str, rows: list[str]) -> list[dict]:
    """The day's schedule imported with the manager's headers, `rows` of "external_id,time,provider,visit_type,
    patient_name"; the board's visits after it."""
    answer = httpx.post(
        f"{server.url}/api/clinics/{CLINIC}/schedule?date={day}",
        content="\n".join(["external_id,time,provider,visit_type,patient_name", *rows]) + "\n",
        headers={**manager, "Content-Type": "text/csv"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return httpx.get(f"{server.url}/api/clinics/{CLINIC}/board", headers=manager, timeout=10).json()["visits"]


def sign_in_page(page: Page, staff_id: str, pin: str, device: str = "tablet-1") -> None:
    page.fill("#signin-staff", staff_id)
    page.fill("#signin-secret", pin)
    page.fill("#signin-device", device)
    page.click("#signin-submit")
    page.wait_for_selector("#whoami", state="visible", timeout=10_000)


class Demo:
    """`floor demo` on a free port and a fast clock: its staff PINs, parsed from what it prints."""

    def __init__(self, log_path: Path, speed: float, start: str | None = None) -> None:
        self.port = free_port()
        self.log_path = log_path
        args = [sys.executable, "-m", "floor", "demo", "--port", str(self.port), "--speed", str(speed)]
        if start:
            args += ["--start", start]
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        self.pins: dict[str, str] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"floor demo exited:\n{self.log()}")
            self.pins = dict(re.findall(r"^\s+[a-z ]+?\s+(\S+)\s+PIN (\d{6})", self.log(), re.M))
            try:
                if self.pins and httpx.get(f"{self.url}/api/clinics", timeout=1).status_code == 401:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"floor demo did not come up:\n{self.log()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sign_in(self, staff_id: str) -> dict[str, str]:
        answer = httpx.post(
            f"{self.url}/api/sign-in",
            json={"staff": staff_id, "secret": self.pins[staff_id], "device": "test"},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        stop(self.proc)


@contextlib.contextmanager
def fast_clock_server(tmp_path: Path, start: str, speed: float) -> Iterator[ServerProcess]:
    """A `floor serve` of its own whose clinic clock starts at `start` (ISO) and runs `speed` times real time."""
    proc = ServerProcess(
        tmp_path / "data", tmp_path / "server.log", "--clock-start", start, "--clock-speed", str(speed)
    )
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()
