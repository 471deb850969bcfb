"""A Redis that stops answering without going away (SIGSTOP: a stalled host, a disk that hangs under
`appendfsync always`), and a start-up URL list whose first node is down, against a real `floor serve`.

While Redis is paused a tap is answered 503 with Retry-After within the tap deadline (well before the pause
ends), /readyz is 503, and after SIGCONT it is 200 again. A tablet retrying with the same Idempotency-Key
loses nothing and stores nothing twice, though some taps answered 503 were in fact stored once Redis went on.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import msgspec
import pytest
import redis

from floor.core.access import Role
from floor.core.events import VisitBooked
from floor.log.base import Record
from floor.redis_client import CALL_DEADLINE
from tests.server.conftest import ServerProcess
from tests.support.redis_server import RedisServer, free_port

pytestmark = [pytest.mark.server]

CLINIC = "riverside"
#: Seconds Redis stays paused: longer than the tap deadline, so an answer before its end is the deadline's.
PAUSE = 6.0
#: Under the server's 5 writes a second per sign-in.
TAP_EVERY = 0.25


class Tablet(threading.Thread):
    """A front desk tablet as it should behave: a tap answered 503 (or not at all) is sent again with the same
    Idempotency-Key until it is answered 201. Remembers each walk-in's name, seq and the answers it got."""

    def __init__(self, url: str, headers: dict[str, str], clinic: str = CLINIC) -> None:
        super().__init__(daemon=True)
        self.url, self.headers, self.clinic = url, headers, clinic
        self.stored: dict[str, int] = {}  # patient -> seq of the acknowledged walk-in
        self.answers: list[tuple[float, int, str | None, str]] = []  # when, status, Retry-After, message
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10, headers=self.headers) as client:
            i = 0
            while not self.stop.is_set():
                patient, key = f"{self.clinic.title()} P{i}", uuid.uuid4().hex
                while not self.stop.is_set():
                    try:
                        r = client.post(
                            f"/api/clinics/{self.clinic}/visits",
                            headers={"Idempotency-Key": key},
                            json={"patient_name": patient, "provider": "hart", "visit_type": "follow", "walk_in": True},
                        )
                    except httpx.TransportError:
                        self.answers.append((time.monotonic(), 0, None, ""))
                        continue
                    message = r.json().get("message", "") if r.status_code != 201 else ""
                    self.answers.append((time.monotonic(), r.status_code, r.headers.get("Retry-After"), message))
                    if r.status_code == 201:
                        self.stored[patient] = r.json()["seq"]
                        break
                    time.sleep(TAP_EVERY)
                i += 1
                time.sleep(TAP_EVERY)

    def since(self, at: float) -> list[tuple[float, int, str | None, str]]:
        return [a for a in self.answers if a[0] >= at]


def _ready(url: str) -> tuple[int, dict]:
    try:
        r = httpx.get(f"{url}/readyz", timeout=10)
        return r.status_code, r.json()
    except httpx.TransportError:
        return 0, {}


def _wait(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _walk_ins(url: str, clinic: str) -> list[tuple[int, str]]:
    """Every visit booked in the clinic's stream: (seq, patient)."""
    client = redis.Redis.from_url(url)
    events = [
        msgspec.json.decode(fields[b"r"], type=Record).event for _, fields in client.xrange(f"floor:{{{clinic}}}:log")
    ]
    return [(e.seq, e.change.patient_name) for e in events if isinstance(e.change, VisitBooked)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of the test's own, writing every write to disk, stopped however the test ends: one paused (SIGSTOP)
    is let go on first, since it takes no SIGTERM while stopped. The test stopped it only when it passed, and a
    failure left a redis-server behind, still running (or paused) after the run."""
    server = RedisServer(tmp_path / "redis", "--appendonly", "yes", "--appendfsync", "always").start()
    try:
        yield server
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.proc.send_signal(signal.SIGCONT)
        server.stop()


def test_a_paused_redis_answers_taps_503_within_the_deadline_and_readyz_503_until_it_goes_on(
    tmp_path: Path, store: RedisServer
) -> None:
    floor = ServerProcess(tmp_path / "data", tmp_path / "floor.log", "--redis", store.url)
    tablet: Tablet | None = None
    paused = False
    try:
        floor.start()
        tablet = Tablet(floor.url, floor.signed_in(Role.front_desk))
        _wait(lambda: _ready(floor.url)[0] == 200, "ready")
        tablet.start()
        _wait(lambda: len(tablet.stored) >= 5, "taps before the pause")

        os.kill(store.proc.pid, signal.SIGSTOP)
        paused, paused_at = True, time.monotonic()
        # /readyz notices within its own timeout.
        status, body = _ready(floor.url)
        assert status == 503, body
        assert any("did not answer" in p for p in body["problems"]), body
        # The tablet's tap is answered 503 with Retry-After within the tap deadline, long before the pause ends.
        _wait(lambda: any(s == 503 for _, s, _, _ in tablet.since(paused_at)), "a 503 while paused", PAUSE)
        first = next(a for a in tablet.since(paused_at) if a[1] == 503)
        assert first[0] - paused_at < PAUSE - 1, first[0] - paused_at
        assert first[2] and int(first[2]) > 0
        assert "same Idempotency-Key" in first[3]
        time.sleep(max(0.0, paused_at + PAUSE - time.monotonic()))
        during = tablet.since(paused_at)
        os.kill(store.proc.pid, signal.SIGCONT)
        paused = False

        # Answered all along, each within the tap deadline (plus the server's own time): never 500, never hung.
        statuses = {s for _, s, _, _ in during}
        assert statuses <= {201, 503}, statuses
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(during)]
        assert max(gaps) < CALL_DEADLINE + 2, gaps

        _wait(lambda: _ready(floor.url)[0] == 200, "ready again after SIGCONT")
        resumed = len(tablet.stored)
        _wait(lambda: len(tablet.stored) >= resumed + 5, "taps after the pause")
    finally:
        if paused:
            os.kill(store.proc.pid, signal.SIGCONT)
        if tablet is not None:
            tablet.stop.set()
            if tablet.is_alive():
                tablet.join(15)
        floor.stop()

    stored = _walk_ins(store.url, CLINIC)
    names = [name for _, name in stored]
    # Every acknowledged tap is stored at the seq it was acknowledged with...
    assert set(tablet.stored.items()) <= {(name, seq) for seq, name in stored}
    # ...and a tap retried after a 503 is stored once, even when the 503's tap had reached Redis after all.
    assert len(names) == len(set(names)), [n for n in names if names.count(n) > 1]


#: Seconds Redis holds every write (CLIENT PAUSE WRITE) while it answers reads.
HOLD = 12.0


def test_taps_at_once_while_redis_holds_its_writes_are_each_answered_long_before_it_takes_them_again(
    tmp_path: Path,
) -> None:
    # A Redis that answers reads but holds writes (CLIENT PAUSE WRITE, as a coordinated FAILOVER or an operator
    # pauses it): each tap under the clinic's lock waited its 2 s for the write in turn, so of eight taps sent at
    # once the last was answered 503 after 12 s or stored when the pause ended, where the README says a tap gives
    # up on Redis after 3 s (a review of Redis in production).
    store = RedisServer(tmp_path / "redis", "--appendonly", "yes", "--appendfsync", "always").start()
    floor = ServerProcess(tmp_path / "data", tmp_path / "floor.log", "--redis", store.url)
    client = redis.Redis.from_url(store.url)
    try:
        floor.start()
        tablets = [floor.signed_in(Role.front_desk, f"desk-{i}") for i in range(8)]
        keys = [uuid.uuid4().hex for _ in tablets]

        def tap(i: int) -> tuple[float, httpx.Response]:
            r = httpx.post(
                f"{floor.url}/api/clinics/{CLINIC}/visits",
                headers={**tablets[i], "Idempotency-Key": keys[i]},
                json={"patient_name": f"Held P{i}", "provider": "hart", "visit_type": "follow", "walk_in": True},
                timeout=30,
            )
            return time.monotonic(), r

        client.execute_command("CLIENT", "PAUSE", int(HOLD * 1000), "WRITE")
        paused_at = time.monotonic()
        with ThreadPoolExecutor(len(tablets)) as pool:
            answers = list(pool.map(tap, range(len(tablets))))
        waited = sorted(round(at - paused_at, 1) for at, _ in answers)
        assert [r.status_code for _, r in answers] == [503] * len(tablets), waited
        assert all(r.headers.get("Retry-After") for _, r in answers)
        # Every one within a tap's deadline or two, none held until Redis took writes again.
        assert waited[-1] < 2 * CALL_DEADLINE, waited
        # And /readyz says so meanwhile, though Redis answers its PING (it said ready).
        status, body = _ready(floor.url)
        assert status == 503, body
        assert body["problems"] == [
            f"Redis did not answer the last write of 1 clinic(s) within 2 s ({CLINIC}), none answered since: it is "
            "holding writes (every tap 503)"
        ]

        # Once Redis takes writes again, each tablet's retry with its key is stored, once.
        time.sleep(max(0.0, paused_at + HOLD - time.monotonic()))
        for i in range(len(tablets)):
            _wait(lambda i=i: tap(i)[1].status_code == 201, f"tablet {i}'s retry stored", 20)
        assert _ready(floor.url)[0] == 200
        names = [name for _, name in _walk_ins(store.url, CLINIC)]
    finally:
        client.close()
        floor.stop()
        store.stop()
    assert sorted(names) == sorted(f"Held P{i}" for i in range(8))


def test_a_server_starts_when_the_first_listed_redis_node_is_down(tmp_path: Path) -> None:
    store = RedisServer(tmp_path / "redis").start()
    down = f"redis://:secret-pw@127.0.0.1:{free_port()}/0"
    floor = ServerProcess(tmp_path / "data", tmp_path / "floor.log", "--redis", f"{down},{store.url}")
    try:
        floor.start()
        desk = floor.signed_in(Role.front_desk)
        tapped = httpx.post(
            f"{floor.url}/api/clinics/{CLINIC}/visits",
            headers=desk,
            json={"patient_name": "Ann Lee", "provider": "hart", "visit_type": "follow", "walk_in": True},
        )
        assert tapped.status_code == 201, tapped.text
        assert redis.Redis.from_url(store.url).xlen(f"floor:{{{CLINIC}}}:log") >= 1
        assert "secret-pw" not in floor.log()
        assert "redis_node_unreachable" in floor.log()
    finally:
        floor.stop()
        store.stop()
