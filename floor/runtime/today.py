"""The clinic's folded day, which the runtime's parts share: the floor, the events it folded, where the day's
seqs begin, what it expects of visits (learned) and whether a shared log is out of reach. Only the writer
(floor.runtime.writer) and the follower change it; the feed and the read models read it."""

from __future__ import annotations

import datetime as dt

import msgspec

from floor.clock import Clock
from floor.config import Clinic, Provider, Room, Thresholds, VisitType
from floor.core.events import Event, SetUpChanged
from floor.core.floor import Floor, Touched, with_set_up
from floor.core.ids import Ids
from floor.core.learned import EMPTY, Learned
from floor.days import unfoldable
from floor.log.base import mark

#: What a day's set-up is: the clinic (its file with what was set from the browser), the set-up's version, and
#: which of its parts were set from the browser.
_SET_UP = ("clinic", "setup_version", "rooms_set", "providers_set", "visit_types_set", "thresholds_set")


class Today:
    def __init__(self, clinic: Clinic, clock: Clock, ids: Ids) -> None:
        #: The clinic now: its file, with the rooms managers set from the browser (SetUpChanged) once they have: it
        #: follows the floor's clinic after such an event, and a new day's floor opens with it.
        self.clinic = clinic
        #: The clinic file as this server read it at start.
        self.file = clinic
        #: The set-up's version (`Floor.setup_version`): the seq of the event that set the rooms now, 0: the file's.
        self.setup_version = 0
        #: Whether the rooms, the providers, the visit types and the thresholds now were set from the browser (they
        #: stand over the clinic file's); False: the clinic file's (never set, or chosen back).
        self.rooms_set = False
        self.providers_set = False
        self.visit_types_set = False
        self.thresholds_set = False
        #: The set-up the floor's day opened with (the clinic, its version, what was set from the browser).
        self._opened = self._setup()
        self.clock = clock
        #: Where new visits' and alerts' ids come from: random, so an id a lost event had is not given again.
        self.ids = ids
        self.floor = Floor(clinic, clinic.day_of(clock.now()), ids=ids)
        #: Today's events, in order (the visit histories and the fold's input).
        self.events: list[Event] = []
        #: The seq just before today's first event: a screen at or below it saw another day's board.
        self.base = 0
        #: The mark of the event at `base`, where this server folded it (the last day's last event), else ''.
        self._held_before = ""
        #: True while a shared log cannot be reached: what screens see may be behind.
        self.stale = False
        #: Why the log's next event cannot be folded, while it cannot ('' otherwise): /readyz says so.
        self.unfoldable = ""
        #: What the clinic's past days say its visits take (`Writer.learn`), and the clinic day it was learned for.
        #: A new day's floor starts with the last one learned until its own is.
        self.learned: Learned = EMPTY
        self.learned_for: dt.date | None = None
        #: How many times this server found that the shared log lost events it had folded (`log_lost_events`): what
        #: is kept beside the log (the clinic file the day runs on, its learning) went with them (floor.floors keeps
        #: it again).
        self.losses = 0

    def take_setup(
        self,
        clinic: Clinic,
        version: int,
        rooms_set: bool,
        providers_set: bool,
        visit_types_set: bool = False,
        thresholds_set: bool = False,
    ) -> None:
        """Start from a set-up kept beside the log (floor.floors, at start, before the day is loaded)."""
        self.clinic, self.setup_version = clinic, version
        self.rooms_set, self.providers_set, self.visit_types_set = rooms_set, providers_set, visit_types_set
        self.thresholds_set = thresholds_set
        self._opened = self._setup()

    def take_changes(self, events: list[Event]) -> None:
        """Take the set-up changes among `events` (a day before's) made after the set-up now (floor.runtime.writer's
        `load`, before the day is loaded: one stored, then the server died before keeping it beside the log)."""
        for event in events:
            c = event.change
            if not isinstance(c, SetUpChanged) or event.seq <= self.setup_version:
                continue
            self._set_from(c)
            self.clinic, self.setup_version = with_set_up(self.clinic, c), event.seq
        self._opened = self._setup()

    def _set_from(self, change: SetUpChanged) -> None:
        """Which parts of the set-up now were set from the browser, after `change`: the ones it sets, unless it took
        the clinic file's back."""
        for part in ("rooms", "providers", "visit_types", "thresholds"):
            if getattr(change, part) is not None:
                setattr(self, f"{part}_set", not change.from_file)

    def _setup(self) -> dict[str, object]:
        """The set-up now, as `_SET_UP` names it: what `open` goes back to for the day it is on."""
        return {name: getattr(self, name) for name in _SET_UP}

    @property
    def id(self) -> str:
        return self.clinic.id

    def open(
        self,
        day: dt.date,
        base: int,
        held: str = "",
        rooms: list[Room] | None = None,
        providers: list[Provider] | None = None,
        visit_types: list[VisitType] | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        """An empty floor for `day`, its first event's seq following `base`; `held`: the mark of the event at
        `base` this server folded (the last day's last), '' when it does not know it (loaded from the log).

        The floor opens with the set-up now, or, for the day it is on (loaded again from the log, or begun after
        the day before's last event), the one that day opened with: a change folded since is folded again from
        the log, or, if the log no longer holds it (a failover lost it), is gone as every other server has it.
        `rooms`, `providers`, `visit_types`, `thresholds`: what the day opened with, where its log says it (what its
        first change of them replaced: `Writer.load`)."""
        if day == self.floor.day:
            for name, value in self._opened.items():
                setattr(self, name, value)
        if rooms is not None:
            self.clinic = msgspec.structs.replace(self.clinic, rooms=rooms)
        if providers is not None:
            self.clinic = msgspec.structs.replace(self.clinic, providers=providers)
        if visit_types is not None:
            self.clinic = msgspec.structs.replace(self.clinic, visit_types=visit_types)
        if thresholds is not None:
            self.clinic = msgspec.structs.replace(self.clinic, thresholds=thresholds)
        self._opened = self._setup()
        self.floor = Floor(self.clinic, day, base, self.ids)
        self.floor.setup_version = self.setup_version
        self.floor.learned = self.learned
        self.base = base
        self.events = []
        self._held_before = held
        self.unfoldable = ""

    def pass_over(self, event: Event) -> None:
        """Take in `event`, of a day before this floor's, stored while this day has no event of its own: the log's
        order makes it the day before's (floor.runtime.writer's `fold_stored`), so this day's floor stays empty and
        begins after it, as a server loading the day now has it."""
        if event.seq != self.floor.seq + 1 or event.day >= self.floor.day or self.events:
            raise ValueError(f"event {event.seq} of {event.day} is not one to pass over at {self.floor.seq}")
        self.open(self.floor.day, event.seq, mark(event))

    def fold(self, event: Event) -> Touched:
        """Fold in an event of the log's; one no floor can fold raises LogCorrupt, the floor left as it was."""
        try:
            touched = self.floor.apply(event)
        except Exception as e:
            corrupt = unfoldable(self.clinic.id, event, e)
            self.unfoldable = str(corrupt)
            raise corrupt from e
        if self.unfoldable:
            self.unfoldable = ""
        if isinstance(event.change, SetUpChanged):
            self.clinic, self.setup_version = self.floor.clinic, self.floor.setup_version
            self._set_from(event.change)
        self.events.append(event)
        return touched

    @property
    def held(self) -> str:
        """The `mark` of the last event this server folded (before the day's first, the last day's last; '' when it
        loaded the day from the log): what a shared log checks holds there before it takes this server's next
        append (floor.log.base.Diverged)."""
        return mark(self.events[-1]) if self.events else self._held_before

    def event_at(self, seq: int) -> Event | None:
        """Today's event at `seq` as this server folded it, if it folded one there."""
        index = seq - self.base - 1
        return self.events[index] if 0 <= index < len(self.events) else None

    def stored_already(self, event: Event) -> bool:
        """Whether `event` is the one folded at its seq (an append of ours that was stored, answered late)."""
        index = event.seq - self.base - 1
        return 0 <= index < len(self.events) and self.events[index] == event
