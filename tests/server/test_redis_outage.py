"""Redis goes down and comes back while taps keep coming: no 2xx for a tap that was not stored, 503 during
the outage, and a connected screen is told the feed is stale and brought back in step on its own."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
import redis
from websockets.asyncio.client import connect

from floor.core.access import Role
from tests.server.conftest import ServerProcess
from tests.support.redis_server import RedisServer

pytestmark = [pytest.mark.anyio, pytest.mark.server]

CLINIC = "riverside"
#: Seconds between a tablet's taps: under the server's limit of 5 writes a second per sign-in, so every
#: answer other than 201 is about the outage, never the throttle (the outage's 503s count against it too).
TAP_EVERY = 0.2


class Tablet(threading.Thread):
    """A front desk tablet: taps walk-ins until stopped, remembering every answer."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.headers = headers
        self.answers: list[tuple[int, int | None, str | None]] = []  # status, seq, Retry-After
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=5, headers=self.headers) as client:
            i = 0
            while not self.stop.is_set():
                try:
                    r = client.post(
                        f"/api/clinics/{CLINIC}/visits",
                        json={"patient_name": f"P{i}", "provider": "hart", "visit_type": "follow", "walk_in": True},
                        headers={"Idempotency-Key": uuid.uuid4().hex},
                    )
                    seq = r.json()["seq"] if r.status_code == 201 else None
                    self.answers.append((r.status_code, seq, r.headers.get("Retry-After")))
                except httpx.TransportError:
                    self.answers.append((0, None, None))
                i += 1
                time.sleep(TAP_EVERY)

    def ok_since(self, n: int) -> int:
        return sum(status == 201 for status, _, _ in self.answers[n:])


async def test_taps_and_screens_ride_out_a_redis_restart(tmp_path: Path) -> None:
    store = RedisServer(tmp_path / "redis", "--appendonly", "yes", "--appendfsync", "always").start()
    floor = ServerProcess(tmp_path / "data", tmp_path / "floor.log", "--redis", store.url)
    floor.start()
    # The directory is in the same Redis: the outage takes the sign-ins away too, and the restart brings
    # them back from the AOF with the log.
    desk = floor.signed_in(Role.front_desk)
    tablet = Tablet(floor.url, desk)
    messages: list[dict] = []
    try:
        async with connect(f"{floor.ws_url}/api/clinics/{CLINIC}/live", additional_headers=desk) as ws:

            async def read() -> None:
                async for raw in ws:
                    messages.append(json.loads(raw))

            reader = asyncio.create_task(read())
            tablet.start()
            await _until(lambda: tablet.ok_since(0) >= 20, "taps before the outage")

            store.kill9()
            before = len(tablet.answers)
            await _until(lambda: sum(s == 503 for s, _, _ in tablet.answers[before:]) >= 5, "503s in the outage")
            await _until(
                lambda: any(m["kind"] == "heartbeat" and m.get("stale") for m in messages),
                "the screen to hear the feed is stale",
            )

            store.start()  # same port, same directory: the AOF is replayed
            during = len(tablet.answers)
            await _until(lambda: tablet.ok_since(during) >= 20, "taps after the outage")
            tablet.stop.set()
            tablet.join(10)

            board = httpx.get(f"{floor.url}/api/clinics/{CLINIC}/board", headers=desk).json()
            await _until(lambda: _last_seq(messages) == board["seq"], "the screen to catch up")
            assert not ws.close_code  # the same socket, never reconnected
            reader.cancel()
    finally:
        tablet.stop.set()
        floor.stop()

    acknowledged = [seq for status, seq, _ in tablet.answers if status == 201]
    outage = [(s, ra) for s, _, ra in tablet.answers if s != 201]
    assert outage and all(s == 503 and ra for s, ra in outage), outage[:5]

    # Every acknowledged tap is in the log Redis kept on disk.
    stored = {
        int(entry_id.split(b"-")[0])
        for entry_id, _ in redis.Redis.from_url(store.url).xrange(f"floor:{{{CLINIC}}}:log")
    }
    store.stop()
    assert set(acknowledged) <= stored

    # The screen saw stale, then not stale, and its events ran in order with no gap.
    stale_flags = [m["stale"] for m in messages if m["kind"] == "heartbeat"]
    assert True in stale_flags and stale_flags[-1] is False
    seq = None
    for m in messages:
        if m["kind"] == "snapshot":
            seq = m["seq"]
        elif m["kind"] == "event":
            assert m["seq"] == seq + 1, f"gap or repeat at {m['seq']} after {seq}"
            seq = m["seq"]
    # It began with a snapshot and then ran without gaps to the end: it holds every acknowledged tap.
    assert messages[0]["kind"] == "snapshot" and max(acknowledged) <= seq


def _last_seq(messages: list[dict]) -> int | None:
    seqs = [m["seq"] for m in messages if m["kind"] in ("event", "snapshot")]
    return seqs[-1] if seqs else None


async def _until(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
