"""Past clinic days for the tests of learning from history: tapped visit by visit at clinic times, through the
pure floor, as the log would hold them.

    day = PastDay(clinic, dt.date(2026, 11, 2))
    day.seen("kim", "follow", with_provider=24)      # one visit, start to checkout, the provider free
    events = day.events                              # to append to a log, or fold
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from floor.config import Clinic
from floor.core.commands import BookVisit, Command, MarkRoom, TakeStep, Tap, UndoStep
from floor.core.events import Event
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.rooms import RoomAction
from floor.log.base import EventLog, Record


class PastDay:
    """One clinic day, its visits seen one after another from `opens` (the provider free for each)."""

    def __init__(self, clinic: Clinic, day: dt.date, base_seq: int = 0, opens: dt.time = dt.time(8, 30)) -> None:
        self.clinic = clinic
        self.floor = Floor(clinic, day, base_seq, Ids.seeded(day.isoformat()))
        self.now = clinic.local(day, opens)
        self.events: list[Event] = []

    def tap(self, command: Command, after: float = 0.0) -> Event:
        self.now += dt.timedelta(minutes=after)
        event = self.floor.decide(command, Tap("ma-rosa", "tablet-1", self.now))
        self.floor.apply(event)
        self.events.append(event)
        return event

    def seen(
        self,
        provider: str,
        visit_type: str,
        *,
        with_provider: float | None = None,
        roomed: float | None = None,
        prep: float = 1.0,
        late: float = 0.0,
        walk_in: bool = False,
        undo_provider_in: bool = False,
        untapped_in: bool = False,
    ) -> str:
        """A visit from arrival to checkout: the patient comes `late` minutes after the booked time (the planned
        rooming of an "arrival" clinic) and is roomed at once; prep takes `roomed` minutes, the provider walks in
        `prep` minutes after and stays `with_provider` (configured minutes by default). `undo_provider_in`: the
        provider-in is first tapped too early (10 minutes before), undone, then tapped right. `untapped_in`: the
        provider-in is tapped only at the checkout, the two together."""
        sm = self.clinic.visit_type(visit_type).stage_minutes
        start = self.now + dt.timedelta(minutes=1 - late)
        visit = self.tap(
            BookVisit(f"P{len(self.floor.visits)}", provider, visit_type, None if walk_in else start, walk_in)
        )
        visit_id = visit.change.visit
        if not walk_in:
            self.tap(TakeStep(visit_id, Stage.arrived), after=1)
        room = next(r.id for r in self.floor.rooms.values() if r.state.value == "ready")
        self.tap(TakeStep(visit_id, Stage.roomed, room))
        self.tap(TakeStep(visit_id, Stage.prep_done), after=sm.roomed if roomed is None else roomed)
        if undo_provider_in:
            self.tap(TakeStep(visit_id, Stage.provider_in))
            self.tap(UndoStep(visit_id), after=0.5)
        took = sm.provider_in if with_provider is None else with_provider
        self.tap(TakeStep(visit_id, Stage.provider_in), after=prep + (took if untapped_in else 0))
        self.tap(TakeStep(visit_id, Stage.checked_out), after=0 if untapped_in else took)
        self.tap(MarkRoom(room, RoomAction.ready), after=1)
        return visit_id

    def two_ready(self, provider: str, *visit_types: str) -> tuple[list[str], list[str]]:
        """A patient of each visit type booked now, come, roomed and prepped, each in a ready room: their visits
        and rooms."""
        ids = []
        rooms = [r.id for r in self.floor.rooms.values() if r.state.value == "ready"][: len(visit_types)]
        for room, vtype in zip(rooms, visit_types, strict=True):
            visit = self.tap(BookVisit(f"P{len(self.floor.visits)}", provider, vtype, self.now)).change.visit
            self.tap(TakeStep(visit, Stage.arrived), after=1)
            self.tap(TakeStep(visit, Stage.roomed, room))
            self.tap(TakeStep(visit, Stage.prep_done), after=2)
            ids.append(visit)
        return ids, rooms

    def changeover(self, provider: str, visit_type: str, *, overlap: float, teach_back: bool = True) -> tuple[str, str]:
        """Two patients, both ready, seen one after the other: the provider walks in to the first, 10 minutes
        later to the second, and the first's teach-back (or, `teach_back` False, its checkout, the teach-back
        skipped) is tapped `overlap` minutes after the second's provider-in (a tap entered after its step when
        positive). The second's teach-back and checkout follow 10 minutes on."""
        (first, second), rooms = self.two_ready(provider, visit_type, visit_type)
        self.tap(TakeStep(first, Stage.provider_in), after=1)
        self.tap(TakeStep(second, Stage.provider_in), after=10)
        self.tap(TakeStep(first, Stage.teach_back_done if teach_back else Stage.checked_out), after=overlap)
        if teach_back:
            self.tap(TakeStep(first, Stage.checked_out))
        self.tap(TakeStep(second, Stage.teach_back_done), after=10)
        self.tap(TakeStep(second, Stage.checked_out))
        for room in rooms:
            self.tap(MarkRoom(room, RoomAction.ready), after=1)
        return first, second

    def stepping_out(
        self, provider: str, visit_type: str, meanwhile_type: str, *, before: float, meanwhile: float, rest: float
    ) -> tuple[str, str]:
        """Two patients, both ready: the provider walks in to the first (`visit_type`), steps out after `before`
        minutes to see the second (`meanwhile_type`) for `meanwhile` minutes, then comes back to the first for
        `rest` minutes, to its teach-back."""
        (first, second), rooms = self.two_ready(provider, visit_type, meanwhile_type)
        self.tap(TakeStep(first, Stage.provider_in), after=1)
        self.tap(TakeStep(second, Stage.provider_in), after=before)
        self.tap(TakeStep(second, Stage.teach_back_done), after=meanwhile)
        self.tap(TakeStep(first, Stage.teach_back_done), after=rest)
        for visit in (second, first):
            self.tap(TakeStep(visit, Stage.checked_out))
        for room in rooms:
            self.tap(MarkRoom(room, RoomAction.ready), after=1)
        return first, second

    def checked_out_together(self, provider: str, visit_type: str, patients: int = 3) -> list[str]:
        """`patients` patients seen one after the other, each to their teach-back, then checked out together 10
        minutes after the last one's, 5 seconds apart, as a front desk that taps checkouts in batches does."""
        sm = self.clinic.visit_type(visit_type).stage_minutes
        visits, rooms = [], []
        for _ in range(patients):
            visit = self.tap(BookVisit(f"P{len(self.floor.visits)}", provider, visit_type, self.now)).change.visit
            self.tap(TakeStep(visit, Stage.arrived), after=1)
            room = next(r.id for r in self.floor.rooms.values() if r.state.value == "ready")
            self.tap(TakeStep(visit, Stage.roomed, room))
            self.tap(TakeStep(visit, Stage.prep_done), after=sm.roomed)
            self.tap(TakeStep(visit, Stage.provider_in), after=1)
            self.tap(TakeStep(visit, Stage.teach_back_done), after=sm.provider_in)
            visits.append(visit)
            rooms.append(room)
        self.now += dt.timedelta(minutes=10)
        for visit in visits:
            self.tap(TakeStep(visit, Stage.checked_out), after=5 / 60)
        for room in rooms:
            self.tap(MarkRoom(room, RoomAction.ready), after=1)
        return visits

    def no_show(self, provider: str, visit_type: str) -> str:
        visit = self.tap(BookVisit(f"P{len(self.floor.visits)}", provider, visit_type, self.now)).change.visit
        self.tap(TakeStep(visit, Stage.no_show), after=30)
        return visit


async def write_days(
    log: EventLog, clinic: Clinic, today: dt.date, days: int, fill: Callable[[PastDay, int], object]
) -> int:
    """`days` past days before `today` in the log (the last the day before today), each filled by `fill(day, n)`
    (n: how many days before today). Returns the last seq."""
    seq = 0
    for n in range(days, 0, -1):
        day = PastDay(clinic, today - dt.timedelta(days=n), base_seq=seq)
        fill(day, n)
        await log.append_all(clinic.id, [Record(e) for e in day.events])
        seq = day.events[-1].seq
    return seq


async def write_late_tap_days(log: EventLog, clinic: Clinic, today: dt.date, days: Iterable[Iterable[float]]) -> int:
    """Past days before `today` in the log, one per item of `days` (the last item the day before today): Dr.
    Kim's follow-ups seen in changeovers, one per overlap (`PastDay.changeover`). Returns the last seq."""
    days = [list(overlaps) for overlaps in days]

    def changeovers(day: PastDay, n: int) -> None:
        for overlap in days[len(days) - n]:
            day.changeover("kim", "follow", overlap=overlap)

    return await write_days(log, clinic, today, len(days), changeovers)
