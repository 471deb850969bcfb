"""floor.retry: the bounded tries and the doubling backoff every retrying loop uses."""

from __future__ import annotations

import asyncio

import pytest

from floor.retry import Backoff, GaveUp, attempts

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_a_loop_that_succeeds_stops_trying() -> None:
    tried = []
    for n in attempts("never"):
        tried.append(n)
        if n == 2:
            break
    assert tried == [0, 1, 2]


def test_a_loop_that_keeps_losing_gives_up_loudly_after_its_tries() -> None:
    tried = []
    with pytest.raises(GaveUp, match="the log kept moving under this tap; gave up after 3 tries"):
        for n in attempts("the log kept moving under this tap", 3):
            tried.append(n)
    assert tried == [0, 1, 2]


async def test_the_backoff_doubles_up_to_its_most_and_starts_over_after_a_success() -> None:
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    backoff = Backoff(0.2, 1.0, sleep=sleep)
    for _ in range(5):
        await backoff.wait()
    backoff.reset()
    await backoff.wait()
    assert waited == [0.2, 0.4, 0.8, 1.0, 1.0, 0.2]


async def test_a_wait_woken_ends_at_once_and_the_next_delay_still_doubles() -> None:
    """/readyz wakes a follower waiting after failed reads once the log answers again: it waited out its delay
    (up to 5 s), the clinic stale and the server out of the load balancer's rotation meanwhile."""
    held = asyncio.Event()

    async def sleep(seconds: float) -> None:
        await held.wait()  # a delay that would not end within the test

    backoff = Backoff(0.2, 5.0, sleep=sleep)
    waiting = asyncio.create_task(backoff.wait())
    await asyncio.sleep(0)
    assert not waiting.done()
    backoff.wake()
    await asyncio.wait_for(waiting, 5)
    assert backoff.seconds == 0.4
    backoff.wake()  # no wait under way: nothing happens, and the next wait is not cut short by it
    again = asyncio.create_task(backoff.wait())
    await asyncio.sleep(0)
    assert not again.done()
    again.cancel()
    with pytest.raises(asyncio.CancelledError):
        await again
