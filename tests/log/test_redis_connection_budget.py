"""The Redis connections one server may hold, pool by pool, add up to what docs/deploy.md tells IT to size
`maxclients` for: it said `clinics + 512` while the pools add up to `clinics + 522` (a hostile review)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from floor.directory.redis import RedisDirectory
from floor.log.redis import RedisLog
from floor.schedule.upcoming import RedisUpcoming

pytestmark = pytest.mark.anyio

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_the_pools_of_one_server_add_up_to_what_deploy_md_says(redis_url: str) -> None:
    clinics = 37
    log = RedisLog(redis_url, clinics=clinics)
    directory = RedisDirectory(redis_url)
    upcoming = RedisUpcoming(redis_url)
    await log.open()
    await directory.open()
    await upcoming.open()
    try:
        clients = [log.redis, log.followers, directory.redis, upcoming.redis]
        held = sum(c.connection_pool.max_connections for c in clients)  # type: ignore[union-attr]
    finally:
        await upcoming.close()
        await directory.close()
        await log.close()
    said = re.search(r"`instances × \(clinics \+ (\d+)\)`", DEPLOY.read_text())
    assert said is not None, "docs/deploy.md no longer sizes maxclients"
    assert held == clinics + int(said.group(1))
