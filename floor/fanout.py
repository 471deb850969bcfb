"""Fan-out: every update is encoded once per audience and the same bytes go to every socket of it.

A socket that keeps up is written to directly, in the publishing call: the per-socket work is writing the
frame shared by its audience. A socket that cannot take more (its transport is above its high-water mark, or
it has a backlog) gets a bounded queue, drained by its own sender. When the queue overflows it is dropped and
the socket is marked for resync: it gets a fresh snapshot instead of the backlog. If it still cannot take
anything while as many updates again pass by, it is closed (CLOSE_TOO_SLOW) and reconnects with `since=`.
A slow or dead screen never holds up the others.

Updates are published after the tap that made them is answered (floor.runtime.feed), so a socket may join between
an update's fold and its publishing: its catch-up already holds it, and `upto` makes it skip that update. A
tap's update is sent a few sockets per turn of the event loop (`Delivery`, driven by floor.runtime.feed), to
the sockets subscribed when it starts: one that joins meanwhile was caught up past it.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from collections.abc import Callable
from typing import Protocol

from websockets.frames import Frame, Opcode

from floor.close_codes import CLOSE_TOO_SLOW  # a socket that fell too far behind: the page resumes

#: A queued message: (seq it brings the screen to, JSON text), or RESYNC.
Item = tuple[int, str]
RESYNC: Item = (-1, "")
TOO_SLOW = "this screen fell too far behind: reconnect for a fresh snapshot"


class Written(enum.Enum):
    sent = "sent"  # in the socket's buffer, which is below its high-water mark
    behind = "behind"  # the peer reads slower than we write: not written, queue it
    gone = "gone"  # closing or closed: nothing more to send


#: The members, looked up once: an enum member read through its class costs more than the rest of a socket's check.
SENT, BEHIND, GONE = Written.sent, Written.behind, Written.gone


class Wire(Protocol):
    """A socket that takes pre-encoded frames (floor.web.frames.FrameWriter under uvicorn)."""

    @property
    def shares_frames(self) -> bool: ...

    def write(self, frame: bytes) -> Written: ...

    def cut(self, code: int, reason: str) -> None: ...


def text_frame(text: str) -> bytes:
    """A server's (unmasked) text frame carrying `text`, as the `websockets` library frames it."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class Subscriber:
    # Slots, and the queue and the sender's wake-up made only when needed: thousands of idle walls hold one each.
    __slots__ = (
        "_cut",
        "_queue",
        "_waiter",
        "audience",
        "busy",
        "clinic",
        "closed",
        "display",
        "dropped",
        "ending",
        "limit",
        "resyncs",
        "sent",
        "session",
        "upto",
        "wire",
    )

    def __init__(
        self,
        clinic: str,
        audience: str,
        limit: int,
        session: str | None = None,
        wire: Wire | None = None,
        display: str | None = None,
    ) -> None:
        self.clinic = clinic
        self.audience = audience
        #: A wall display's socket: the display's id (a manager may move it to another zone, floor.floors).
        self.display = display
        self.limit = limit
        #: The hash of the token the socket was opened with: when it ends, the socket is closed.
        self.session = session
        #: Where shared frames are written directly, when the socket can take them (None: queue everything).
        self.wire = wire if wire is not None and wire.shares_frames else None
        #: How a socket that stopped reading is closed from here, frames shared or not (a socket with per-message
        #: deflate takes no shared frame, and its sender waits in the server's send for it to drain, for ever).
        self._cut = wire
        #: What waits to be sent (None while nothing does: most sockets, most of the time).
        self._queue: deque[Item] | None = None
        #: The seq the screen has been sent up to (a snapshot's, or the last update's).
        self.sent = 0
        #: The seq what has been written or queued for the screen brings it to: updates up to it are skipped.
        self.upto = 0
        #: True while the sender holds an item it is sending: a direct write now would overtake it.
        self.busy = False
        self.resyncs = 0
        #: Updates dropped while a resync waits to be sent.
        self.dropped = 0
        self.closed = False
        #: The close code and reason the server ends the socket with, if it does.
        self.ending: tuple[int, str] | None = None
        #: The sender waiting in `next`, if it is.
        self._waiter: asyncio.Future[None] | None = None

    @property
    def queue(self) -> deque[Item]:
        """What waits to be sent, in order."""
        if self._queue is None:
            self._queue = deque()
        return self._queue

    @property
    def backlog(self) -> int:
        """How many messages wait to be sent."""
        return len(self._queue) if self._queue else 0

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self) -> None:
        self.closed = True
        self._wake()

    def end(self, code: int, reason: str) -> None:
        """Stop sending and close the socket with this code (its sign-in ended, or it fell too far behind)."""
        self.ending = (code, reason)
        self.close()

    def join(self, catch_up: list[Item], seq: int) -> None:
        """Queue what the socket gets first on joining (a snapshot or the missed updates), which brings its
        screen to `seq`."""
        self.queue.extend(catch_up)
        self.upto = max(self.upto, seq)
        self._wake()

    def snapshot_at(self, seq: int) -> None:
        """The screen is being sent a fresh snapshot at `seq`: the updates up to it still to be published are
        skipped, and those after it are sent even if the seq went back (the log was reloaded: `resync_all`)."""
        self.upto = seq

    def offer(self, item: Item, frame: bytes) -> None:
        """Write the shared frame straight away if this socket can take it now, else queue the item."""
        seq = item[0]
        if 0 < seq <= self.upto:
            return  # part of this screen's catch-up or snapshot already
        wire = self.wire
        if wire is not None and not self._queue and not self.busy and not self.closed:
            written = wire.write(frame)
            if written is SENT:
                if seq > 0:
                    self.sent = self.upto = seq
                return
            if written is GONE:
                self.close()
                return
        self.push(item)

    def push(self, item: Item) -> None:
        if self.closed or 0 < item[0] <= self.upto:
            return
        queue = self.queue
        if queue and queue[0] is RESYNC and item is not RESYNC:
            # A snapshot is coming anyway; it will include this. A screen that cannot take even that while
            # as many updates again go by is not reading: close it, and it comes back with since=.
            self.dropped += 1
            if self.dropped > self.limit:
                self._too_slow()
            return
        if len(queue) >= self.limit:
            queue.clear()
            queue.append(RESYNC)
            self.resyncs += 1
            self.dropped = 0
        else:
            queue.append(item)
            self.upto = max(self.upto, item[0])
        self._wake()

    def _too_slow(self) -> None:
        self._queue = None
        if self._cut is not None:
            # Its sender is stuck waiting for the socket to drain: close from here.
            self._cut.cut(CLOSE_TOO_SLOW, TOO_SLOW)
        self.end(CLOSE_TOO_SLOW, TOO_SLOW)

    async def next(self) -> Item | None:
        """The next message to send, or None once the socket is gone."""
        while not self._queue and not self.closed:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.closed or self._queue is None:
            return None
        item = self._queue.popleft()
        if not self._queue:
            self._queue = None
        return item


class Delivery:
    """One message on its way to every socket of a clinic, that can be sent a few sockets at a time (`send`), so
    that a long fan-out lets other work (a tap's request) in between. The sockets are those subscribed when it
    was made: one that joins later was caught up to the folded floor, which holds this message already."""

    __slots__ = ("_at", "_parts")

    def __init__(self, parts: list[tuple[list[Subscriber], Item, bytes]]) -> None:
        self._parts = parts
        #: The part (audience) being sent, and how many of its sockets have been offered the message.
        self._at = (0, 0)

    @property
    def done(self) -> bool:
        return self._at[0] >= len(self._parts)

    def send(self, budget: int | None = None) -> int:
        """Offer the message to at most `budget` more sockets (None: to all the rest); how many it was offered to."""
        part, start = self._at
        offered = 0
        while part < len(self._parts):
            subs, item, frame = self._parts[part]
            stop = len(subs) if budget is None else min(len(subs), start + budget - offered)
            offer = Subscriber.offer
            for sub in subs[start:stop] if start or stop < len(subs) else subs:
                offer(sub, item, frame)
            offered += stop - start
            if stop < len(subs):
                self._at = (part, stop)
                return offered
            part, start = part + 1, 0
        self._at = (part, 0)
        return offered


class Hub:
    def __init__(self, queue_limit: int = 256) -> None:
        self.queue_limit = queue_limit
        self._subs: dict[str, dict[str, set[Subscriber]]] = {}
        #: Overflows of sockets already gone (floor.metrics adds the open ones' at each scrape).
        self.retired_resyncs = 0
        self.retired_too_slow = 0

    def subscribe(
        self,
        clinic: str,
        audience: str,
        session: str | None = None,
        wire: Wire | None = None,
        display: str | None = None,
    ) -> Subscriber:
        sub = Subscriber(clinic, audience, self.queue_limit, session, wire, display)
        self._subs.setdefault(clinic, {}).setdefault(audience, set()).add(sub)
        return sub

    def display_sockets(self) -> list[Subscriber]:
        """Every wall display's socket."""
        return [
            sub
            for audiences in self._subs.values()
            for subs in audiences.values()
            for sub in subs
            if sub.display is not None
        ]

    def move(self, sub: Subscriber, audience: str) -> None:
        """The socket gets another audience's feed from now on, starting with a fresh snapshot of it (a wall
        display moved to another zone)."""
        subs = self._subs.get(sub.clinic, {}).get(sub.audience)
        if subs is None or sub not in subs:
            return  # gone already
        subs.discard(sub)
        sub.audience = audience
        self._subs[sub.clinic].setdefault(audience, set()).add(sub)
        sub.queue.clear()
        sub.push(RESYNC)

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self._subs.get(sub.clinic, {}).get(sub.audience, set())
        if sub in subs:
            subs.discard(sub)
            self.retired_resyncs += sub.resyncs
            self.retired_too_slow += sub.ending is not None and sub.ending[0] == CLOSE_TOO_SLOW

    def subscribers(self, clinic: str) -> list[Subscriber]:
        return [sub for subs in self._subs.get(clinic, {}).values() for sub in subs]

    def count(self, clinic: str | None = None) -> int:
        clinics = [self._subs.get(clinic, {})] if clinic else self._subs.values()
        return sum(len(s) for audiences in clinics for s in audiences.values())

    def publish(self, clinic: str, seq: int, render: Callable[[str], str]) -> None:
        """Send one update to every socket of the clinic now, rendered once and framed once per audience."""
        self.delivery(clinic, seq, render).send()

    def delivery(self, clinic: str, seq: int, render: Callable[[str], str]) -> Delivery:
        """One update for every socket of the clinic as it is subscribed now, rendered and framed once per audience,
        to be sent in steps (`Delivery.send`)."""
        parts = []
        for audience, subs in self._subs.get(clinic, {}).items():
            if subs:
                text = render(audience)
                parts.append((list(subs), (seq, text), text_frame(text)))
        return Delivery(parts)

    def sessions(self) -> set[str]:
        return {
            sub.session
            for audiences in self._subs.values()
            for subs in audiences.values()
            for sub in subs
            if sub.session is not None
        }

    def end_audience(self, clinic: str, audience: str, code: int, reason: str) -> int:
        """Close every socket of the clinic's `audience` (a wall of a zone the clinic no longer has), and send them
        nothing more from now; how many."""
        subs = list(self._subs.get(clinic, {}).get(audience, ()))
        for sub in subs:
            sub.end(code, reason)
            self.unsubscribe(sub)
        return len(subs)

    def end_sessions(self, ended: set[str], code: int, reason: str) -> int:
        """Close every socket opened with one of these sessions; how many."""
        closing = [
            sub
            for audiences in self._subs.values()
            for subs in audiences.values()
            for sub in subs
            if sub.session in ended
        ]
        for sub in closing:
            sub.end(code, reason)
        return len(closing)

    def resync_all(self, clinic: str) -> None:
        """Every socket of the clinic gets a fresh snapshot (the day turned over)."""
        for subs in self._subs.get(clinic, {}).values():
            for sub in subs:
                sub.queue.clear()
                sub.push(RESYNC)
