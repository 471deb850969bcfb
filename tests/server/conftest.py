"""Fixtures that run Floor as a real server process (`python -m floor serve`) on a free loopback port.

Every route under /api/clinics needs a signed-in staff member, so a test adds the accounts it needs as
`floor staff add` does (into the server's data directory or its Redis; `staff_add`) and signs them in over HTTP:

    desk = server.signed_in(Role.front_desk)          # {"Authorization": "Bearer ..."}
    httpx.post(f"{server.url}/api/clinics/riverside/visits", json=..., headers=desk)

PINs are hashed at the tests' low cost (FLOOR_TEST_CHEAP_HASHING=1, set in tests/conftest.py for this process
and inherited by every process started here), so adding and signing in people is quick.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import httpx
import pytest

from floor.core.access import Role
from tests.support.processes import stop
from tests.support.redis_server import PortTaken
from tests.support.staff import PEOPLE, PIN


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


#: The clinic clock every test server runs on unless a test gives its own (`--clock-start`): real time's pace
#: from a fixed morning, shared by every server of the run (one origin), so that no test depends on the date
#: or the time of day it runs at (a clinic day turning over mid-test, a day whose clocks change).
CLINIC_MORNING = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in the demo clinic (Chicago)
CLOCK_ORIGIN = time.time()


def clinic_clock_args(args: tuple[str, ...]) -> tuple[str, ...]:
    """The server's arguments, with the run's clinic clock unless they set a clock of their own."""
    if "--clock-start" in args:
        return args
    return (*args, "--clock-start", CLINIC_MORNING.isoformat(), "--clock-origin", repr(CLOCK_ORIGIN))


class ServerProcess:
    """One `floor serve` process; it can be killed (-9) and started again on the same data directory. It runs on
    the run's clinic clock (`CLINIC_MORNING`) unless its arguments set one."""

    def __init__(self, data_dir: Path, log_path: Path, *args: str) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.args = args
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._added: set[str] = set()
        self._started = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def directory_args(self) -> list[str]:
        """Where this server keeps its staff: in Redis when it serves from Redis, else in its data directory."""
        if "--redis" in self.args:
            return ["--redis", self.args[self.args.index("--redis") + 1]]
        return ["--data-dir", str(self.data_dir)]

    def start(self) -> None:
        """Start and wait until the API answers. The first start on a port `free_port` picked and another
        process took meanwhile picks another; a start again (after a kill) keeps the port its screens know."""
        for _ in range(3):
            try:
                self._start()
                break
            except PortTaken:
                if self._started:
                    raise
                self.port = free_port()
        else:
            self._start()
        self._started = True

    def _start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        logged = self.log_path.stat().st_size if self.log_path.exists() else 0
        # What uvicorn says once it listens: a 401 counts only after it, or it may be another server's on the port.
        listening = f"Uvicorn running on http://127.0.0.1:{self.port}"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "floor",
                    "serve",
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                    *clinic_clock_args(self.args),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                failure = PortTaken if "address already in use" in self.log().lower() else RuntimeError
                raise failure(f"floor serve exited with {self.proc.returncode}:\n{self.log()}")
            try:
                # Up once the API answers; without a token it answers 401.
                if httpx.get(f"{self.url}/api/clinics", timeout=1).status_code == 401 and listening in self._log_since(
                    logged
                ):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"floor serve did not come up:\n{self.log()}")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        stop(self.proc)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _log_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    # -- staff ----------------------------------------------------------------------------------

    def add_staff(self, staff_id: str, role: Role, name: str | None = None, pin: str = PIN) -> str:
        """Add a staff member as `floor staff add` does (`staff_add`), as an administrator would before the
        server starts (it may run already: it reads its directory again). Their id."""
        self.add_many([(staff_id, role, name, pin)])
        return staff_id

    def add_many(self, people: Iterable[Person]) -> None:
        """Add several staff members to this server's directory (see `staff_add`)."""
        people = list(people)
        staff_add(self.directory_args, people)
        self._added.update(p[0] for p in people)

    def sign_in(self, staff_id: str, device: str = "test-tablet", pin: str = PIN) -> dict[str, str]:
        """Sign in over HTTP as a tablet does; the headers to send with every request."""
        answer = httpx.post(
            f"{self.url}/api/sign-in", json={"staff": staff_id, "secret": pin, "device": device}, timeout=10
        )
        assert answer.status_code == 201, answer.text
        return bearer(answer.json()["token"])

    def signed_in(self, role: Role, device: str = "test-tablet") -> dict[str, str]:
        """Headers of a fresh sign-in as the role's test person (tests/support/staff.py), added first if this
        process has not added them yet. Servers sharing a Redis share their staff and tokens: sign in on one
        and use the headers on every one."""
        staff_id = PEOPLE[role][0]
        if staff_id not in self._added:
            self.add_staff(staff_id, role, PEOPLE[role][1])
        return self.sign_in(staff_id, device)


#: (staff id, role) with the test PIN and the test person's name (else the id), or (id, role, name, PIN).
Person = tuple[str, Role] | tuple[str, Role, str | None, str]


def staff_add(where: list[str], people: Iterable[Person]) -> None:
    """Add each person into `where` (`--data-dir DIR` or `--redis URL`, as the servers are given) through what
    `floor staff add` runs (the composition root's directory, `Sessions.add_staff` by "floor staff add"), in
    this process: a command started per person cost a Python start each. The command itself is tested in
    tests/web/test_provider_sign_in.py and tests/web/test_clinic_boundaries.py. All at once into Redis, where
    each add is atomic; one after another into a data directory, where each add rewrites the directory's file
    (a running server reads it again)."""
    from floor import bootstrap
    from floor.clock import SystemClock
    from floor.core.errors import Refusal
    from floor.sessions import Sessions
    from floor.settings import Settings

    flag, value = where
    settings = Settings(redis_url=value) if flag == "--redis" else Settings(data_dir=value)
    people = [p if len(p) == 4 else (*p, None, PIN) for p in people]

    async def add_all() -> None:
        directory = bootstrap.directory(settings)
        await directory.open()
        sessions = Sessions(directory, SystemClock())

        async def add(staff_id: str, role: Role, name: str | None, pin: str) -> None:
            try:
                await sessions.add_staff(staff_id, name or _name(staff_id), role, pin, "floor staff add")
            except Refusal as refusal:
                raise RuntimeError(f"adding {staff_id} failed: {refusal.message}") from None

        try:
            if settings.redis_url:
                await asyncio.gather(*(add(*p) for p in people))
            else:
                for p in people:
                    await add(*p)
        finally:
            await directory.close()

    # A loop of its own, in a thread: the calling test may be running one (anyio).
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, add_all()).result()


def _name(staff_id: str) -> str:
    return next((name for i, name in PEOPLE.values() if i == staff_id), staff_id)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", tmp_path / "server.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for a test module's tests that neither restart it nor read its log: each test adds visits
    of its own and asserts only relative to the seq it sees (tests in a module run one after another, on one
    xdist worker: `--dist loadfile`)."""
    base = tmp_path_factory.mktemp("module-server")
    proc = ServerProcess(base / "data", base / "server.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


#: Clinics spread over a Redis Cluster's nodes (their hash tags land on different masters).
CLINICS = ["north", "south", "harbor", "valley", "summit", "meadow"]


@pytest.fixture
def clinic_dir(tmp_path: Path) -> Path:
    """A folder of clinic files, the demo clinic under each of CLINICS' names."""
    from floor.config import demo_clinic_path

    directory = tmp_path / "clinics"
    directory.mkdir()
    text = demo_clinic_path().read_text()
    for clinic in CLINICS:
        (directory / f"{clinic}.toml").write_text(text.replace('id = "riverside"', f'id = "{clinic}"', 1))
    return directory
