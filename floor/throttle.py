"""Token buckets: each key (a sign-in, a client address) may act `rate` times a second, in bursts of `burst`.

In memory, per server: with several servers behind a balancer each allows the rate, which is still far
below anything that could hurt the floor; the point is that one runaway tablet cannot flood it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from floor.directory.base import network_of


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


class WaitingSockets:
    """Live sockets open and not yet signed in, counted per client address and per IPv6 /64 (whose 2^64 addresses
    one host can take: floor.directory.base.network_of), each capped: with no cap, one address held thousands of
    sockets open 10 seconds each without a token, reconnecting as each was closed (a hostile review). A clinic's
    walls behind one address sign in within moments of opening, so the cap is far above what they hold at once."""

    def __init__(self, per_address: int, per_network: int) -> None:
        self.per_address = per_address
        self.per_network = per_network
        self._counts: dict[str, int] = {}

    def enter(self, address: str) -> str | None:
        """Count one more socket from `address` waiting to sign in; or, over a cap, count nothing and say which
        ("address" or "network")."""
        network = network_of(address)
        if self._counts.get(address, 0) >= self.per_address:
            return "address"
        if network is not None and self._counts.get(network, 0) >= self.per_network:
            return "network"
        for key in (address, network):
            if key is not None:
                self._counts[key] = self._counts.get(key, 0) + 1
        return None

    def leave(self, address: str) -> None:
        """The socket from `address` signed in, or went away."""
        for key in (address, network_of(address)):
            if key is not None:
                left = self._counts.get(key, 0) - 1
                if left > 0:
                    self._counts[key] = left
                else:
                    self._counts.pop(key, None)

    def waiting(self, address: str) -> int:
        return self._counts.get(address, 0)
