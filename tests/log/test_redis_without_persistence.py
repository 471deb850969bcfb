"""A Redis that keeps nothing on disk (`appendonly no` and no `save` rule) loses everything on a restart: the log,
and with it, silently, the staff directory and what is kept beside the log (clinic files, learning, schedules kept
ahead); only the log's loss was ever said, once noticed (`log_lost_events`). A server on such a Redis says so at
start (a warning naming the setting and what would be lost) and on /readyz (`warnings`), ready all the same. Each
test starts its own redis-server on a free port in its own directory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from litestar.testing import TestClient
from structlog.testing import capture_logs

from floor.config import demo_clinic
from floor.directory.redis import RedisDirectory
from floor.floors import Floors
from floor.log.redis import RedisLog
from floor.schedule.upcoming import FileUpcoming
from floor.web.app import create_app
from tests.support.redis_server import RedisServer
from tests.support.staff import cheapen


@pytest.fixture
def in_memory(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "memory", "--appendonly", "no").start()  # and --save "" (the helper's)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def on_disk(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "disk", "--appendonly", "yes").start()
    try:
        yield server
    finally:
        server.stop()


async def _opened(url: str) -> tuple[RedisLog, list[dict]]:
    log = RedisLog(url, prefix=f"test-{uuid.uuid4().hex[:12]}")
    with capture_logs() as logged:
        await log.open()
    return log, logged


def test_a_redis_keeping_nothing_on_disk_is_said_at_start_naming_the_setting_and_what_a_restart_loses(
    in_memory: RedisServer,
) -> None:
    async def check() -> None:
        log, logged = await _opened(in_memory.url)
        try:
            (said,) = [line for line in logged if line["event"] == "redis_without_persistence"]
            assert said["log_level"] == "warning"
            assert said["nodes"] == [f"127.0.0.1:{in_memory.port}"]
            assert said["setting"] == 'appendonly no, save ""'
            assert "staff directory" in said["loses"] and "clinic files" in said["loses"]
            assert "appendonly yes" in said["advice"]
            assert log.caution is not None and "staff directory" in log.caution
            assert await log.trouble(1.0) is None  # not a reason to take the server out of rotation
        finally:
            await log.close()

    anyio.run(check)


def test_a_redis_with_its_append_only_file_is_not_warned_about(on_disk: RedisServer) -> None:
    async def check() -> None:
        log, logged = await _opened(on_disk.url)
        try:
            assert [line for line in logged if line["event"] == "redis_without_persistence"] == []
            assert log.caution is None
        finally:
            await log.close()

    anyio.run(check)


def test_readyz_says_it_in_its_detail_and_stays_ready(in_memory: RedisServer, tmp_path: Path) -> None:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    floors = cheapen(
        Floors(
            [demo_clinic()],
            RedisLog(in_memory.url, prefix=prefix),
            tick_seconds=3600,
            directory=RedisDirectory(in_memory.url, prefix=prefix),
            upcoming=FileUpcoming(tmp_path),
        )
    )
    with TestClient(create_app(floors)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["status"] == "ready" and body["problems"] == []
        (warning,) = body["warnings"]
        assert "appendonly no" in warning and "staff directory" in warning
