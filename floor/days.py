"""Clinic days gone by: a past day folded from its events, its measures as the day closed, and which days
the log still keeps. Pure: events and dates in, no I/O."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from floor.config import Clinic
from floor.core.events import AlertChange, AlertRaised, Event
from floor.core.floor import Floor
from floor.core.measures import ClinicMeasures, measure
from floor.log.base import LogCorrupt


def fold_day(clinic: Clinic, day: dt.date, events: list[Event]) -> Floor:
    """The day's floor as its events leave it. A change this fold does not know (stored by a newer Floor) is
    passed over: a past day stays readable, less what that change did."""
    floor, failed = _fold(clinic, day, events)
    if failed is not None:
        # A 503 naming the event, as today's would be (it was a KeyError and a 500 on every read of the day).
        raise unfoldable(clinic.id, *failed) from failed[1]
    return floor


def first_unfoldable(clinic: Clinic, day: dt.date, events: list[Event]) -> tuple[Event, Exception] | None:
    """The first of a day's events no floor can fold, with why (a server stops at it: floor.runtime.today), or
    None. A change this Floor does not know is passed over, as `fold_day` does."""
    return _fold(clinic, day, events)[1]


def _fold(clinic: Clinic, day: dt.date, events: list[Event]) -> tuple[Floor, tuple[Event, Exception] | None]:
    """The day folded up to the first event that cannot be, and that event with why (None: all of them)."""
    floor = Floor(clinic, day, events[0].seq - 1 if events else 0)
    for event in events:
        try:
            floor.apply(event)
        except TypeError as e:
            if not str(e).startswith("unknown change"):
                return floor, (event, e)
            floor.seq = event.seq
        except Exception as e:
            return floor, (event, e)
    return floor, None


def closed_at(clinic: Clinic, day: dt.date, events: list[Event]) -> dt.datetime:
    """When a past day's measures are taken: its session's close, or its last tap if that came later. Floor's
    own alert events are no tap: with a provider's last steps never tapped, it kept a cascade up to date until
    midnight, and the day was measured then (510 minutes late where the close said 91; a hostile review)."""
    closes = clinic.local(day, clinic.session.closes)
    last = max((e.at for e in events if not isinstance(e.change, AlertChange)), default=None)
    return closes if last is None else max(closes, last)


def file_the_day_ran_on(kept: Clinic | None, running: Clinic, day: dt.date, now: dt.datetime) -> Clinic:
    """The clinic file to keep as the one `day` ran on, `now` that a server runs `running` on it: the file it
    runs on, unless the day's session already closed on the one `kept` for it. A file changed in the evening (the
    clinic empty, when an IT team changes it) with a restart was kept as the day's, and the next morning the
    day read as a past day was measured by it: on-time starts and lateness changed overnight (a review of a
    clinic's week). One put right during the session is the one the day ran on from then, as its measures are."""
    if kept is None or now < kept.local(day, kept.session.closes):
        return running
    return kept


def alerts_raised(floor: Floor, events: list[Event], until: dt.datetime | None = None) -> Counter[str]:
    """Alerts raised per provider (by `until`, when the day is measured): the provider each was raised for, though
    its patient was moved to another since (the alert follows them on the screens; it was counted as the new
    provider's, a hostile review). An alert over a visit the day's `floor` (the fold of `events`) holds entered in
    error (a walk-in taken off as booked by mistake, a booking the schedule cancelled as one) is left out as its
    visit is: that patient was never on the floor (a dwell alert over one stayed counted; a review)."""
    in_error = {v.id for v in floor.visits.values() if v.entered_in_error}
    # Once per alert: a patient's wait back after an undone step raises its alert again as itself.
    first = {
        e.change.alert: e.change
        for e in reversed(events)
        if isinstance(e.change, AlertRaised) and (until is None or e.at <= until)
    }
    return Counter(c.provider or "" for c in first.values() if c.visit is None or c.visit not in in_error)


def day_measures(clinic: Clinic, day: dt.date, events: list[Event], now: dt.datetime | None = None) -> ClinicMeasures:
    """A day's measures from its events, at `now` (default: as the day closed, see `closed_at`; an alert raised
    after that, over a patient left untapped at the close, is not the day's)."""
    floor = fold_day(clinic, day, events)
    at = now or closed_at(clinic, day, events)
    return measure(floor, at, alerts_raised(floor, events, at))


def oldest_kept(today: dt.date, retention_days: int) -> dt.date:
    """The first clinic day still kept when `retention_days` days are kept (today among them)."""
    return today - dt.timedelta(days=max(1, retention_days) - 1)


def unfoldable(clinic: str, event: Event, error: Exception) -> LogCorrupt:
    """The log holds an event this Floor cannot fold (a step on a visit it never booked, say: written by hand, by
    a newer Floor during a rolling upgrade, or by a server whose floor had diverged before Floor checked marks).
    Folding on past it would show a floor the log does not hold, and every tap after it would be decided on that
    floor: the clinic takes no taps, and a person must look."""
    return LogCorrupt(
        f"clinic {clinic}: its log's event at seq {event.seq} ({event.type} on {event.day}, by {event.actor} on "
        f"{event.device}) cannot be folded ({type(error).__name__}: {str(error)[:120]}); a person must repair "
        "this clinic's day in the log (restore it from a backup)"
    )
