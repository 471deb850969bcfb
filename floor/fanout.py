"""Fan-out: every update is encoded once per audience and the same text goes to every socket of it.

Each socket has a bounded queue. A socket that falls too far behind has its queue dropped and is marked
for resync: it gets a fresh snapshot instead, and never holds up the others.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from floor.wire import Audience

#: A queued message: (seq it brings the screen to, JSON text), or RESYNC.
Item = tuple[int, str]
RESYNC: Item = (-1, "")


class Subscriber:
    __slots__ = ("_wake", "audience", "clinic", "closed", "limit", "queue", "resyncs")

    def __init__(self, clinic: str, audience: Audience, limit: int) -> None:
        self.clinic = clinic
        self.audience = audience
        self.limit = limit
        self.queue: deque[Item] = deque()
        self.resyncs = 0
        self.closed = False
        self._wake = asyncio.Event()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    def push(self, item: Item) -> None:
        if len(self.queue) >= self.limit:
            self.queue.clear()
            self.queue.append(RESYNC)
            self.resyncs += 1
        elif self.queue and self.queue[0] is RESYNC and item is not RESYNC:
            pass  # a snapshot is coming anyway; it will include this
        else:
            self.queue.append(item)
        self._wake.set()

    async def next(self) -> Item | None:
        """The next message to send, or None once the socket is gone."""
        while not self.queue and not self.closed:
            self._wake.clear()
            await self._wake.wait()
        return None if self.closed else self.queue.popleft()


class Hub:
    def __init__(self, queue_limit: int = 256) -> None:
        self.queue_limit = queue_limit
        self._subs: dict[str, dict[Audience, set[Subscriber]]] = {}

    def subscribe(self, clinic: str, audience: Audience) -> Subscriber:
        sub = Subscriber(clinic, audience, self.queue_limit)
        self._subs.setdefault(clinic, {}).setdefault(audience, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subs.get(sub.clinic, {}).get(sub.audience, set()).discard(sub)

    def count(self, clinic: str | None = None) -> int:
        clinics = [self._subs.get(clinic, {})] if clinic else self._subs.values()
        return sum(len(s) for audiences in clinics for s in audiences.values())

    def publish(self, clinic: str, seq: int, render: Callable[[Audience], str]) -> None:
        """Queue one update for every socket of the clinic, rendering it once per audience that listens."""
        for audience, subs in self._subs.get(clinic, {}).items():
            if subs:
                item = (seq, render(audience))
                for sub in subs:
                    sub.push(item)

    def resync_all(self, clinic: str) -> None:
        """Every socket of the clinic gets a fresh snapshot (the day turned over)."""
        for subs in self._subs.get(clinic, {}).values():
            for sub in subs:
                sub.queue.clear()
                sub.push(RESYNC)
