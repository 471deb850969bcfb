"""Following a shared log (Redis): fold in what other servers append. While the log cannot be reached, the
clinic is stale and screens are told so; reconnecting brings them back in step with no action of theirs."""

from __future__ import annotations

import asyncio

import structlog

from floor.log.base import Diverged, EventLog, LogCorrupt, LogUnavailable
from floor.metrics import Metrics
from floor.retry import Backoff
from floor.runtime.feed import FeedCache
from floor.runtime.today import Today
from floor.runtime.writer import Writer

log = structlog.get_logger("floor.runtime")


class Follower:
    def __init__(self, today: Today, writer: Writer, feed: FeedCache, event_log: EventLog, metrics: Metrics) -> None:
        self.today = today
        self.writer = writer
        self.feed = feed
        self.log = event_log
        self.metrics = metrics
        self.id = today.clinic.id
        #: The wait between tries while the log cannot be read (up to 5 s); `wake` cuts it short.
        self.backoff = Backoff()

    def wake(self) -> None:
        """Try again now if waiting after a failed read: the log answers again (/readyz found it so)."""
        self.backoff.wake()

    async def follow(self, wait: float = 5.0) -> None:
        """Fold in what other servers append, until cancelled."""
        backoff = self.backoff
        while True:
            _stop_if_cancelled()
            try:
                try:
                    # Stale, the first read that answers brings the clinic back in step: it must not wait for a
                    # new event first (after a failover with no tap, the clinic stayed stale, /readyz 503, for
                    # the read's whole wait).
                    waits = 0.0 if self.today.stale else wait
                    events = await self.log.tail(self.id, self.today.floor.seq, waits, self.today.held)
                except Diverged:
                    # The log holds another event where this server holds one (a failover lost it, and another
                    # server stored its own there since).
                    events = None
                # Nothing new, and the log is behind this floor: it lost what this server folded (a tap stored on
                # the primary, answered 503 unconfirmed, then a failover).
                if events is None or (not events and await self.log.last_seq(self.id) < self.today.floor.seq):
                    async with self.writer.lock:
                        await self.writer.catch_up()  # finds it again, and starts over from the log
                        self.set_stale(False)
                    backoff.reset()
                    continue
                if not self.today.stale and all(e.seq <= self.today.floor.seq for e in events):
                    # Nothing new (this server's own taps, folded already): the writer's lock is left to taps.
                    backoff.reset()
                    continue
                async with self.writer.lock:
                    if self.today.stale or any(e.seq > self.today.floor.seq + 1 for e in events[:1]):
                        await self.writer.catch_up()
                    for event in events:
                        if event.seq == self.today.floor.seq + 1:
                            self.writer.fold_stored(event)
                    self.set_stale(False)
                backoff.reset()
            except LogUnavailable as e:
                if not self.today.stale:
                    log.warning(
                        "log_unreachable",
                        clinic=self.id,
                        error=str(e),
                        then="its screens show they are out of step and /readyz is 503; the server reads on by "
                        "itself once Redis answers: bring Redis back (or the network to it)",
                    )
                self.set_stale(True)
                await backoff.wait()
            except LogCorrupt as e:
                # An event no floor can fold (floor.runtime.today's `unfoldable`); the floor stays where it was, and
                # stale, so that screens and /readyz show it; a repaired log is folded on the next try.
                if not self.today.stale:
                    log.error(
                        "log_unfoldable",
                        clinic=self.id,
                        error=str(e),
                        then="this clinic's screens stay where they were and /readyz names it under "
                        "damaged_clinics: the other clinics can be served without it (--clinic)",
                    )
                self.set_stale(True)
                await backoff.wait()
            except Exception:
                # Something this server cannot fold (an event from a newer Floor during a rolling upgrade):
                # say so, and stay stale, so that screens and /readyz show it rather than a frozen floor.
                log.exception("follow_failed", clinic=self.id, seq=self.today.floor.seq)
                self.set_stale(True)
                await backoff.wait()

    def set_stale(self, stale: bool) -> None:
        """Whether what the screens see may be behind the shared log; a change is sent at once (a heartbeat)."""
        if stale != self.today.stale:
            self.today.stale = stale
            if not stale:
                log.info("log_reachable_again", clinic=self.id, seq=self.today.floor.seq)
                self.metrics.log_reconnects.inc()
            self.feed.invalidate()
            self.feed.heartbeat()


def _stop_if_cancelled() -> None:
    """End the follower if it was cancelled, even though the cancellation never reached it: redis-py sends each
    command under `asyncio.wait_for`, which on Python 3.11 loses a cancellation that lands just as the send
    completes (CPython gh-86296, fixed in 3.12), and the loop read on for ever while whoever cancelled it waited
    (a test hung a CI run so; `Floors.stop` cancels again and again, but not every caller does). The task still
    counts the request (`Task.cancelling`). Checked between turns, outside any `asyncio.timeout` (which takes
    back its own cancellation as it ends), so a count above 0 is a request to stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
