"""`floor serve`'s own uvicorn server (floor.cli.serve.uvicorn_server) in the test's process: its loop in a
thread, its Floors open to the test (to run coroutines on the server's loop, or look at its side of a socket)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine
from typing import Any, Self

from floor.cli.serve import uvicorn_server
from floor.directory.base import token_hash
from floor.fanout import Subscriber
from floor.floors import Floors
from floor.settings import Settings


class InProcessServer:
    """`floor serve`'s uvicorn server for `floors` on a free port, its loop in a thread; a context manager."""

    def __init__(self, floors: Floors, **settings: Any) -> None:
        self.floors = floors
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn_server(floors, Settings(host="127.0.0.1", port=self.port, **settings))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.server.serve(),), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return self
            threading.Event().wait(0.05)
        raise RuntimeError("the server did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        if not self.thread.is_alive():
            self.loop.close()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """The coroutine run on the server's loop, its result (10 seconds at most)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def sub_of(self, clinic: str, token: str) -> Subscriber:
        """The server's subscriber for the screen of `clinic` signed in with `token` (there must be one)."""
        subs = [s for s in self.floors.hub.subscribers(clinic) if s.session == token_hash(token)]
        assert len(subs) == 1, subs
        return subs[0]


class ManualClockServer(InProcessServer):
    """An in-process server on a manual clock whose clinic ticks only when the test says (`tick`): build its
    Floors with a long `tick_seconds` (floor.floors), so no tick of its own comes during the test."""

    def tick(self, clinic: str = "riverside") -> None:
        """A clock tick (delays and measures to the screens), then the alert review it asks for, done."""
        runtime = self.floors.get(clinic)

        async def tick_and_review() -> None:
            runtime.tick()
            await runtime.review_alerts()

        self.run(tick_and_review())
