"""What Floor would have said: replay a day's taps through the projection and alerts, offline.

Given a clinic and the day's events (alert events in them are dropped and decided afresh), the floor is
folded event by event and reviewed after each event and on a clock tick between events, as a server reviews
it (after a tap the cascades only when due, `floor.core.alerts.cascades_due`, and otherwise at the server's
next tick at the latest); the result is every alert raised, updated and cleared, with its time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import msgspec
from msgspec import Struct

from floor.clock import TICK_SECONDS
from floor.config import Clinic
from floor.core.alerts import cascades_due, review
from floor.core.commands import Tap
from floor.core.events import AlertAcknowledged, AlertChange, AlertCleared, AlertRaised, AlertUpdated, Event
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.learned import EMPTY, Learned
from floor.log.embedded import scan

#: What the floor records of its own alerts, not a tap: left out of a replay, which reviews the alerts anew.
ALERT_EVENTS = (AlertRaised, AlertUpdated, AlertCleared, AlertAcknowledged)
TICK = dt.timedelta(minutes=1)
#: How often a server ticks, each tick reviewing the cascades too.
SERVER_TICK = dt.timedelta(seconds=TICK_SECONDS)


class AlertLine(Struct, frozen=True):
    at: dt.datetime
    change: AlertChange


def replay(
    clinic: Clinic,
    events: Iterable[Event],
    *,
    tick: dt.timedelta = TICK,
    until: dt.datetime | None = None,
    learned: Learned = EMPTY,
) -> tuple[list[AlertLine], Floor]:
    """`learned`: what the clinic's past days say (floor/core/learning.py), as the server would have learned
    it when the day opened; none by default (the configured minutes)."""
    taps = [e for e in events if not isinstance(e.change, ALERT_EVENTS)]
    if not taps:
        return [], Floor(clinic, clinic.day_of(until) if until else dt.date.today())
    # The alerts' ids are drawn from a fixed seed: a replay of the same events says the same, ids and all.
    floor = Floor(clinic, taps[0].day, taps[0].seq - 1, Ids.seeded("replay"))
    floor.learned = learned
    lines: list[AlertLine] = []

    cascades_at: dt.datetime | None = None
    #: A tap's review that left the cascades for later: a server reviews them at its next tap once they are due,
    #: or at its next tick, at most SERVER_TICK later, which this replay takes (the later of the two).
    put_off: dt.datetime | None = None

    def reviewed(now: dt.datetime, *, after_tap: bool = False) -> None:
        nonlocal cascades_at, put_off
        cascades = not after_tap or cascades_due(cascades_at, now)
        for change in review(floor, now, cascades=cascades):
            floor.apply(floor.record(change, Tap("floor", "replay", now)))
            lines.append(AlertLine(now, change))
        if cascades:
            cascades_at, put_off = now, None
        elif put_off is None:
            put_off = now + SERVER_TICK

    def reviewed_until(before: dt.datetime) -> None:
        """The ticks, and any review put off, that come before `before`, in time order."""
        nonlocal next_tick
        while True:
            due = min(x for x in (next_tick, put_off) if x is not None)
            if due >= before:
                return
            reviewed(due)
            if due == next_tick:
                next_tick += tick

    next_tick = taps[0].at
    for event in taps:
        reviewed_until(event.at)
        # Alerts take seqs of their own in the replay, so the taps are renumbered to follow them.
        floor.apply(msgspec.structs.replace(event, seq=floor.seq + 1))
        reviewed(event.at, after_tap=True)
    reviewed_until((until or taps[-1].at) + dt.timedelta(microseconds=1))
    return lines, floor


def read_events(path: str | Path) -> list[Event]:
    """Events from an embedded log day file (`DATA/<clinic>/<day>.log`) or a JSON array of events."""
    data = Path(path).read_bytes()
    if data.lstrip()[:1] == b"[":
        return msgspec.json.decode(data, type=list[Event])
    records, _ = scan(data, str(path))
    return [r.event for r in records]
