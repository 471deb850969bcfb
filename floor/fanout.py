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
    __slots__ = ("_wake", "audience", "clinic", "closed", "ending", "limit", "queue", "resyncs", "session")

    def __init__(self, clinic: str, audience: Audience, limit: int, session: str | None = None) -> None:
        self.clinic = clinic
        self.audience = audience
        self.limit = limit
        #: The hash of the token the socket was opened with: when it ends, the socket is closed.
        self.session = session
        self.queue: deque[Item] = deque()
        self.resyncs = 0
        self.closed = False
        #: The close code and reason the server ends the socket with, if it does.
        self.ending: tuple[int, str] | None = None
        self._wake = asyncio.Event()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    def end(self, code: int, reason: str) -> None:
        """Stop sending and close the socket with this code (its sign-in ended)."""
        self.ending = (code, reason)
        self.close()

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

    def subscribe(self, clinic: str, audience: Audience, session: str | None = None) -> Subscriber:
        sub = Subscriber(clinic, audience, self.queue_limit, session)
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

    def sessions(self) -> set[str]:
        return {sub.session for audiences in self._subs.values() for subs in audiences.values()
                for sub in subs if sub.session is not None}

    def end_sessions(self, ended: set[str], code: int, reason: str) -> int:
        """Close every socket opened with one of these sessions; how many."""
        closing = [sub for audiences in self._subs.values() for subs in audiences.values() for sub in subs
                   if sub.session in ended]
        for sub in closing:
            sub.end(code, reason)
        return len(closing)

    def resync_all(self, clinic: str) -> None:
        """Every socket of the clinic gets a fresh snapshot (the day turned over)."""
        for subs in self._subs.get(clinic, {}).values():
            for sub in subs:
                sub.queue.clear()
                sub.push(RESYNC)
