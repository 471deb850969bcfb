"""Small, valid log records for log tests: event `seq` books walk-in `v<seq>` on a given day."""

from __future__ import annotations

import datetime as dt

import msgspec

from floor.core.events import Event, VisitBooked
from floor.log.base import Receipt, Record

DAY = dt.date(2026, 11, 23)
T0 = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


def event(seq: int, *, day: dt.date = DAY, actor: str = "ma-rosa") -> Event:
    at = T0 + dt.timedelta(days=(day - DAY).days, seconds=seq)
    change = VisitBooked(f"v{seq}", f"Patient {seq}", "kim", "follow", at, walk_in=True)
    return Event(seq, at, day, actor, "tablet-1", 1, change)


def receipt(key: str, seq: int, fingerprint: str = "fp") -> Receipt:
    return Receipt(key, fingerprint, 201, msgspec.Raw(b'{"seq":%d}' % seq))


def record(seq: int, *, key: str | None = None, day: dt.date = DAY, actor: str = "ma-rosa") -> Record:
    return Record(event(seq, day=day, actor=actor), receipt(key, seq) if key else None)
