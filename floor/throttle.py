"""Token buckets: each key (a sign-in, a client address) may act `rate` times a second, in bursts of `burst`.

In memory, per server: with several servers behind a balancer each allows the rate, which is still far
below anything that could hurt the floor; the point is that one runaway tablet cannot flood it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class Throttle:
    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 50_000
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """Spend one token: 0 if allowed, else the seconds until the next one."""
        now = self.clock()
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate
        if len(self._buckets) >= self.max_keys and key not in self._buckets:
            self._forget_full(now)
        self._buckets[key] = (tokens - 1, now)
        return 0.0

    def retry_after(self, wait: float) -> str:
        return str(max(1, math.ceil(wait)))

    def _forget_full(self, now: float) -> None:
        """Keys whose bucket has refilled are the same as unknown ones: drop them."""
        self._buckets = {
            k: (t, last) for k, (t, last) in self._buckets.items() if t + (now - last) * self.rate < self.burst
        }
