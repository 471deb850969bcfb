"""Clocks. The core never reads the time itself; whoever pumps it passes `now` in."""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol

UTC = dt.UTC
#: Seconds between a server's clock ticks (floor/floors.py): day rollover, heartbeats that keep idle sockets
#: alive through proxies, the delays sent to screens, and an alert review of everything (floor/replay.py too).
TICK_SECONDS = 15.0


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)


class ScaledClock:
    """A clock that reads `start` at the real instant `origin` (epoch seconds; default: now) and runs
    `factor` times faster than real time: the demo's, and tests that play a whole day in minutes. Servers
    given the same start, origin and factor agree on the time."""

    def __init__(self, start: dt.datetime, factor: float, origin: float | None = None) -> None:
        self.start = start
        self.factor = factor
        self.origin = time.time() if origin is None else origin

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=(time.time() - self.origin) * self.factor)


class ManualClock:
    """A clock that moves only when told to (tests, simulations)."""

    def __init__(self, start: dt.datetime) -> None:
        self._now = start

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, **delta: float) -> dt.datetime:
        self._now += dt.timedelta(**delta)
        return self._now

    def set(self, at: dt.datetime) -> None:
        self._now = at
