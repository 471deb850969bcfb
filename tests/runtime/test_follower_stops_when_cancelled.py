"""A follower asked to stop stops, even when the request lands as redis-py finishes sending a command.

redis-py sends each command under `asyncio.wait_for`, which on Python 3.11 loses a cancellation that lands just
as the send completes (CPython gh-86296, fixed in 3.12): the follower's loop carried on, reading the log for ever,
and whoever awaited it after cancelling it (a test, a server stopping) waited for ever too. A fresh-clone CI run
sat 9 minutes at 99% so, the worker idle in tests/runtime/test_diverged_after_failover.py's `_follow_until`
(found again by running tests/runtime three times in one process beside two CPU burners: the follower's XREAD
and GET went on, the test awaiting it). Here the cancellation is made to land exactly there.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio.connection import AbstractConnection

from floor.clock import ManualClock
from floor.config import demo_clinic
from floor.fanout import Hub
from floor.log.redis import RedisLog
from floor.runtime import ClinicRuntime
from tests.support.redis_server import forget_prefix

pytestmark = pytest.mark.anyio

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in Chicago


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def runtime(redis_url: str) -> AsyncIterator[ClinicRuntime]:
    prefix = f"test-follower-stops-{uuid.uuid4().hex[:12]}"
    log = RedisLog(redis_url, prefix=prefix)
    await log.open()
    try:
        server = ClinicRuntime(demo_clinic(), log, ManualClock(START), Hub())
        await server.start()
        yield server
    finally:
        await log.close()
        await forget_prefix(redis_url, prefix)


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel `task` until it ends (the test's own clean-up, whatever the follower does)."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)


async def test_a_follower_cancelled_as_a_command_is_sent_stops(
    runtime: ClinicRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    follower: asyncio.Task[None] | None = None
    sends = 0
    send = AbstractConnection._send_packed_command

    async def cancel_as_it_is_sent(self: AbstractConnection, command) -> None:  # type: ignore[no-untyped-def]
        # Under wait_for the send runs in a task of its own: the follower is cancelled while it waits for it, and
        # the send is done by the time the follower runs again.
        nonlocal sends
        await send(self, command)
        sends += 1
        if follower is not None and sends == 3:
            follower.cancel()

    monkeypatch.setattr(AbstractConnection, "_send_packed_command", cancel_as_it_is_sent)
    follower = asyncio.create_task(runtime.follow(wait=0.05))
    try:
        await asyncio.wait({follower}, timeout=5)
        assert sends >= 3, "the follower sent nothing to Redis"
        assert follower.done(), "the follower went on reading the log after it was cancelled"
        assert follower.cancelled()
    finally:
        await _stop(follower)
