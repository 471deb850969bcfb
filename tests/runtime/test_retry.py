"""floor.retry: the bounded tries and the doubling backoff every retrying loop uses."""

from __future__ import annotations

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
