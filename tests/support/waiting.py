"""Waiting in a test for something the event loop will do: polled, never a fixed sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(condition: Callable[[], object], what: str, *, tries: int = 1000, pause: float = 0.005) -> None:
    """Poll `condition` up to `tries` times, `pause` seconds apart (0: a turn of the loop, for what the loop
    does without waiting on anything), and fail naming `what` if it never holds."""
    for _ in range(tries):
        if condition():
            return
        await asyncio.sleep(pause)
    raise AssertionError(f"timed out waiting for {what}")
