"""Keeping the garbage collector's pauses short with thousands of screens connected.

Each open socket is a few hundred long-lived objects (protocol, parser, tasks, scope), so 5,000 wall
displays are over a million. CPython's full collection walks every one of them: measured here, one pause of
half a second in the middle of a busy morning, holding every tap and every screen (loadtests/README.md).
Young collections, which free almost all garbage, are cheap and stay as they are.

So what has survived is moved out of the collector's reach (`gc.freeze()`: a constant-time splice, not a
walk) every two seconds. Objects frozen are still freed the moment nothing refers to them; only garbage cycles
among them wait, for the full collection made when no clinic is in session (at night, when a pause holds up
nobody), or every few hours at the latest.
"""

from __future__ import annotations

import datetime as dt
import gc
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from floor.config import Clinic

#: Seconds between freezes.
FREEZE_SECONDS = 2.0
#: A full collection at most this often outside sessions, and at least this often in any case.
QUIET_COLLECT_SECONDS = 3600.0
BUSY_COLLECT_SECONDS = 6 * 3600.0
#: Staff are on the floor a while before the doors open and after they close.
MARGIN = dt.timedelta(hours=1)


def in_session(clinic: Clinic, now: dt.datetime) -> bool:
    day = clinic.day_of(now)
    opens = clinic.local(day, clinic.session.opens) - MARGIN
    closes = clinic.local(day, clinic.session.closes) + MARGIN
    return opens <= now < closes


class Collector:
    """Decides, each FREEZE_SECONDS, whether to make a full collection before freezing what survived."""

    def __init__(self, started: float) -> None:
        self.last_full = started

    def step(self, clock_seconds: float, clinics: Iterable[Clinic], now: dt.datetime) -> bool:
        """Freeze what survived; first a full collection if it is due. True if one was made."""
        since = clock_seconds - self.last_full
        quiet = not any(in_session(c, now) for c in clinics)
        full = since >= BUSY_COLLECT_SECONDS or (quiet and since >= QUIET_COLLECT_SECONDS)
        if full:
            gc.unfreeze()
            gc.collect()
            self.last_full = clock_seconds
        else:
            gc.collect(1)  # what is garbage among the young is not frozen
        gc.freeze()
        return full


_paused = 0
_was_enabled = True
_pause_lock = threading.Lock()


@contextmanager
def collections_paused() -> Iterator[None]:
    """No collections while the block runs (in a worker thread: a schedule file being parsed and planned).

    Parsing a day's FHIR Bundle makes a few hundred thousand short-lived objects; the collections they set off
    ran over 100 ms each while holding the interpreter lock, so every clinic's screens and taps waited in the
    meantime (loadtests/import_day.py). Nearly all of that garbage is freed by reference counting anyway, and
    the block lasts a second or two. Nested and concurrent blocks share one pause."""
    global _paused, _was_enabled
    with _pause_lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _pause_lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()
