"""The event log on every backend, for tests that run the same on each: `open_log` (a fixture, offered to
every test by tests/conftest.py) gives an opener that opens a log over the same storage each time it is called
(a second server, or a restart): embedded (a temporary folder) and Redis (a fresh key prefix, forgotten
after)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from floor.log.base import EventLog
from floor.log.embedded import EmbeddedLog
from floor.log.redis import RedisLog
from tests.support.redis_server import forget_prefix

Opener = Callable[[], Awaitable[EventLog]]


@pytest.fixture(params=["embedded", "redis"])
async def open_log(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens a log over the same storage each time it is called, on each backend."""
    opened: list[EventLog] = []
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""

    async def opener() -> EventLog:
        log = EmbeddedLog(tmp_path) if request.param == "embedded" else RedisLog(url, prefix=prefix)
        await log.open()
        opened.append(log)
        return log

    yield opener
    for log in opened:
        await log.close()
    if request.param == "redis":
        await forget_prefix(url, prefix)
