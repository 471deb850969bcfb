"""A tap is answered before its update is written to the clinic's screens: through the app's own route, the
HTTP answer goes out before the first of several hundred sockets gets its frame, and every socket still gets
every update once, in seq order, however the taps race."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import httpx
import pytest

from floor.clock import ManualClock
from floor.core.access import Role
from floor.fanout import Written
from floor.web.app import create_app
from floor.wire import Audience
from tests.support.staff import PEOPLE, PIN, test_floors
from tests.support.waiting import until as _until

pytestmark = pytest.mark.anyio

CLINIC = "riverside"
SOCKETS = 300
MORNING = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in Chicago


def until(condition, what: str):
    """A turn of the loop at a time: what is awaited here needs no I/O."""
    return _until(condition, what, tries=2000, pause=0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class RecordingWire:
    """A socket that takes every frame at once and notes, in the scene's one timeline, when it did."""

    shares_frames = True

    def __init__(self, n: int, timeline: list) -> None:
        self.n, self.timeline = n, timeline
        self.seqs: list[int] = []

    def write(self, frame: bytes) -> Written:
        message = json.loads(frame[4:] if frame[1] & 0x7F == 126 else frame[2:])
        if message["kind"] == "event":
            self.seqs.append(message["seq"])
            self.timeline.append(("frame", self.n, message["seq"]))
        return Written.sent

    def cut(self, code: int, reason: str) -> None:
        raise AssertionError("no socket here is too slow")


async def test_the_tap_is_answered_before_any_socket_is_written_and_order_holds(tmp_path: Path) -> None:
    floors = test_floors(tmp_path, clock=ManualClock(MORNING), tick_seconds=3600)
    app = create_app(floors)
    timeline: list = []

    async def recorded(scope, receive, send):
        async def sending(message):
            if message["type"] == "http.response.body" and scope["path"].endswith("/visits"):
                timeline.append(("answer", json.loads(message["body"])["seq"]))
            await send(message)

        await app(scope, receive, sending)

    await floors.start()
    try:
        person, name = PEOPLE[Role.front_desk]
        await floors.sessions.add_staff(person, name, Role.front_desk, PIN, "test")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=recorded), base_url="http://floor") as client:
            signed = await client.post("/api/sign-in", json={"staff": person, "secret": PIN, "device": "desk"})
            headers = {"Authorization": f"Bearer {signed.json()['token']}"}
            wires = [RecordingWire(n, timeline) for n in range(SOCKETS)]
            for wire in wires:
                floors.hub.subscribe(CLINIC, Audience.staff, wire=wire)

            async def walk_in(n: int) -> int:
                r = await client.post(
                    f"/api/clinics/{CLINIC}/visits",
                    headers=headers,
                    json={"patient_name": f"Pat {n}", "provider": "kim", "visit_type": "follow", "walk_in": True},
                )
                assert r.status_code == 201, r.text
                return r.json()["seq"]

            assert await walk_in(0) == 1
            # The answer was written, and no socket had its frame yet: the fan-out comes after.
            assert timeline == [("answer", 1)]
            await until(lambda: all(w.seqs == [1] for w in wires), "every socket to get the update")
            assert sorted(entry[1] for entry in timeline[1:]) == [w.n for w in wires]  # each socket once

            # Taps racing one another: each is answered before its own update reaches the last socket, and
            # every socket gets every update once, in seq order.
            seqs = await asyncio.gather(*(walk_in(n) for n in range(1, 21)))
            assert sorted(seqs) == list(range(2, 22))
            await until(lambda: all(len(w.seqs) == 21 for w in wires), "every socket to get every update")
            assert all(w.seqs == list(range(1, 22)) for w in wires)
            for seq in seqs:
                answered = timeline.index(("answer", seq))
                last_frame = max(i for i, entry in enumerate(timeline) if entry[0] == "frame" and entry[2] == seq)
                assert answered < last_frame, seq
    finally:
        await floors.stop()
