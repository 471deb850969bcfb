"""The staff directory on every backend, for tests that run the same on each: `open_directory` (a fixture,
offered to every test by tests/conftest.py) gives an opener that opens a directory over the same storage each
time it is called (a second server, or a restart): embedded (a file in a temporary folder) and Redis (a fresh
key prefix, forgotten after)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from floor.directory.base import Directory
from floor.directory.embedded import EmbeddedDirectory
from floor.directory.redis import RedisDirectory
from tests.support.redis_server import forget_prefix

Opener = Callable[[], Awaitable[Directory]]


@pytest.fixture(params=["embedded", "redis"])
async def open_directory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens a directory over the same storage each time it is called (a second server, or a restart)."""
    opened: list[Directory] = []
    prefix = f"test-{uuid.uuid4().hex}"
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""

    async def opener() -> Directory:
        directory: Directory = (
            EmbeddedDirectory(tmp_path / "directory.json")
            if request.param == "embedded"
            else RedisDirectory(url, prefix=prefix)
        )
        await directory.open()
        opened.append(directory)
        return directory

    yield opener
    for directory in opened:
        await directory.close()
    if request.param == "redis":
        await forget_prefix(url, prefix)
