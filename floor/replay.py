"""What Floor would have said: replay a day's taps through the projection and alerts, offline.

Given a clinic and the day's events (alert events in them are dropped and decided afresh), the floor is
folded event by event and reviewed after each event and on a clock tick between events, exactly as a
server reviews it; the result is every alert raised, updated and cleared, with its time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import msgspec
from msgspec import Struct

from floor.config import Clinic
from floor.core.alerts import review
from floor.core.commands import Tap
from floor.core.events import AlertAcknowledged, AlertChange, AlertCleared, AlertRaised, AlertUpdated, Event
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.learned import EMPTY, Learned
from floor.log.embedded import scan

_ALERT_EVENTS = (AlertRaised, AlertUpdated, AlertCleared, AlertAcknowledged)
TICK = dt.timedelta(minutes=1)


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
    taps = [e for e in events if not isinstance(e.change, _ALERT_EVENTS)]
    if not taps:
        return [], Floor(clinic, clinic.day_of(until) if until else dt.date.today())
    # The alerts' ids are drawn from a fixed seed: a replay of the same events says the same, ids and all.
    floor = Floor(clinic, taps[0].day, taps[0].seq - 1, Ids.seeded("replay"))
    floor.learned = learned
    lines: list[AlertLine] = []

    def reviewed(now: dt.datetime) -> None:
        for change in review(floor, now):
            floor.apply(floor.record(change, Tap("floor", "replay", now)))
            lines.append(AlertLine(now, change))

    next_tick = taps[0].at
    for event in taps:
        while next_tick < event.at:
            reviewed(next_tick)
            next_tick += tick
        # Alerts take seqs of their own in the replay, so the taps are renumbered to follow them.
        floor.apply(msgspec.structs.replace(event, seq=floor.seq + 1))
        reviewed(event.at)
    end = until or taps[-1].at
    while next_tick <= end:
        reviewed(next_tick)
        next_tick += tick
    return lines, floor


def read_events(path: str | Path) -> list[Event]:
    """Events from an embedded log day file (`DATA/<clinic>/<day>.log`) or a JSON array of events."""
    data = Path(path).read_bytes()
    if data.lstrip()[:1] == b"[":
        return msgspec.json.decode(data, type=list[Event])
    records, _ = scan(data, str(path))
    return [r.event for r in records]
