"""On the server's own uvicorn configuration, a tap's HTTP answer is written to its connection before its update
is written to the walls' sockets (floor/runtime: store, fold, answer, fan out)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from uvicorn.protocols.http import h11_impl, httptools_impl

from floor.fanout import Written
from floor.wire import Audience
from tests.server.test_slow_screen import CLINIC, InProcessServer, Tablets, server  # noqa: F401  # the fixture

pytestmark = pytest.mark.server

WALLS = 200


class Wall:
    shares_frames = True

    def __init__(self, timeline: list[str]) -> None:
        self.timeline = timeline

    def write(self, frame: bytes) -> Written:
        self.timeline.append("frame")
        return Written.sent

    def cut(self, code: int, reason: str) -> None:
        raise AssertionError("not too slow")


def test_the_answer_is_written_before_any_walls_frame(
    server: InProcessServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    timeline: list[str] = []
    for impl in (httptools_impl, h11_impl):
        send = impl.RequestResponseCycle.send

        async def recording(self, message, send=send):
            await send(self, message)
            if (
                message["type"] == "http.response.body"
                and not message.get("more_body")
                and self.scope["path"].endswith("/visits")
            ):
                timeline.append("answer")

        monkeypatch.setattr(impl.RequestResponseCycle, "send", recording)

    async def walls() -> None:
        for _ in range(WALLS):
            server.floors.hub.subscribe(CLINIC, Audience.staff, wire=Wall(timeline))

    server.run(walls())
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as client:
        tablets = Tablets(client, 1)
        for _ in range(3):  # each tap: its answer first, then a frame for every wall
            del timeline[:]
            tablets.tap()
            for _ in range(200):
                if len(timeline) == WALLS + 1:
                    break
                server.run(_pause())
            assert timeline[0] == "answer" and timeline.count("frame") == WALLS, timeline[:3]


async def _pause() -> None:
    await asyncio.sleep(0.01)
