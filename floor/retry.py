"""The one way Floor tries something again: a bounded number of tries (`attempts`), or a wait that doubles
between failures (`Backoff`). Every loop that retries uses these, so how hard Floor insists is decided here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

#: Tries of a write that loses a race to another server's append (each lost race folds that append in first):
#: more than a handful in a row means the log is moving faster than this server can follow.
TRIES = 10


class GaveUp(RuntimeError):
    """Every try lost: a log moving under the writer faster than it can follow, or a bug. Each lost try stored
    nothing: a request is answered 503 with Retry-After (floor/web/errors.py), and the log says so."""


def attempts(what: str, tries: int = TRIES) -> Iterator[int]:
    """The numbers of the tries a loop may make (0, 1, ...): the loop returns or breaks once one succeeds, and
    goes on to the next when it lost. Past the last, GaveUp says `what` gave up."""
    yield from range(tries)
    raise GaveUp(f"{what}; gave up after {tries} tries")


class Backoff:
    """How long to wait after a failure before trying again: `first` seconds, doubling after each failure in a
    row up to `most`, and `first` again once a try succeeds (`reset`)."""

    def __init__(
        self, first: float = 0.2, most: float = 5.0, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
    ) -> None:
        self.first, self.most = first, most
        self.seconds = first
        self._sleep = sleep
        self._woken: asyncio.Event | None = None  # the wait under way, if any

    def reset(self) -> None:
        self.seconds = self.first

    def wake(self) -> None:
        """End the wait under way now, if there is one: what failed may answer again (/readyz saw the log answer
        while a clinic following it was still stale), so the next try need not wait out its delay (up to `most`)."""
        if self._woken is not None:
            self._woken.set()

    async def wait(self) -> None:
        """Wait the current delay (or until woken), and double the next one."""
        self._woken = woken = asyncio.Event()
        sleeping = asyncio.ensure_future(self._sleep(self.seconds))
        waking = asyncio.ensure_future(woken.wait())
        try:
            await asyncio.wait({sleeping, waking}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            waking.cancel()
            self._woken = None
        self.seconds = min(self.seconds * 2, self.most)
