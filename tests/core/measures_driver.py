"""Random clinic days through Floor's pure core, mirrored in the independent model (measures_oracle)."""

from __future__ import annotations

import datetime as dt
import random

import msgspec

from floor.config import AppointmentTime, Clinic, demo_clinic
from floor.core.commands import BookVisit, MarkRoom, MoveVisit, RescheduleVisit, TakeStep, Tap, UndoStep
from floor.core.errors import Refusal
from floor.core.events import Event, StepTaken, StepUndone, VisitBooked, VisitMoved, VisitRescheduled, WalkInRemoved
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import ENDS, NEXT, Stage
from floor.core.rooms import RoomAction, RoomState
from tests.core.measures_oracle import Model

UTC = dt.UTC


def clinic_with(convention: AppointmentTime, timezone: str = "America/Chicago", *, night: bool = False) -> Clinic:
    """The demo clinic with this convention; `night`: open from midnight to 23:00, through the hour the clocks
    change."""
    base = demo_clinic()
    session = msgspec.structs.replace(base.session, appointment_time=convention)
    if night:
        session = msgspec.structs.replace(session, opens=dt.time(0, 0), closes=dt.time(23, 0))
    return msgspec.structs.replace(base, timezone=timezone, session=session)


class Run:
    def __init__(self, clinic: Clinic, day: dt.date, start_local: dt.time = dt.time(7, 30)) -> None:
        self.clinic = clinic
        self.day = day
        self.floor = Floor(clinic, day, ids=Ids.seeded(1))
        self.model = Model(clinic)
        self.events: list[Event] = []
        self.now = clinic.local(day, start_local).astimezone(UTC)
        self.log: list[str] = []

    def tap(self, command) -> Event | None:
        try:
            event = self.floor.decide(command, Tap("ana", "desk-1", self.now))
        except Refusal:
            return None
        self.floor.apply(event)
        self.events.append(event)
        self.log.append(f"{self.clinic.local_text(self.now)} {command!r}")
        self._mirror(event, command)
        return event

    def _mirror(self, event: Event, command) -> None:
        c = event.change
        tap_time = self.now  # the model's own clock, not the event's
        ago = dt.timedelta(minutes=getattr(command, "minutes_ago", 0))
        match c:
            case VisitBooked():
                self.model.book(
                    c.visit, command.provider, command.visit_type, command.start, command.walk_in, tap_time - ago
                )
            case StepTaken():
                self.model.step(command.visit, command.step.value, tap_time - ago, command.entered_in_error)
            case StepUndone():
                self.model.undo(command.visit)
            case WalkInRemoved():
                self.model.remove_walk_in(command.visit, tap_time)
            case VisitRescheduled() if isinstance(command, RescheduleVisit):
                self.model.reschedule(command.visit, command.start, command.provider, command.visit_type)
            case VisitMoved() | VisitRescheduled():
                self.model.move(command.visit, command.provider, tap_time)

    def advance(self, minutes: float) -> None:
        self.now += dt.timedelta(minutes=minutes)


def random_day(
    rng: random.Random,
    clinic: Clinic,
    day: dt.date,
    ops: int = 80,
    *,
    moves: bool = True,
    begins: dt.time | None = None,
) -> Run:
    """`begins`: the first tap, on the clinic's clock (07:30, or the session's opening if later); bookings from half
    an hour after it, in 5-minute steps on the clinic's clock (`clinic.local`, as a schedule import books)."""
    if begins is None:
        begins = max(dt.time(7, 30), clinic.session.opens)
    run = Run(clinic, day, begins)
    first = dt.datetime.combine(day, begins) + dt.timedelta(minutes=30)
    providers = [p.id for p in clinic.providers]
    types = [t.code for t in clinic.visit_types]
    visits: list[str] = []
    for _ in range(ops):
        run.advance(rng.choice([0, 0, 0.5, 1, 2, 3, 5, 8]) + rng.choice([0, 0, 0, 1 / 60, 0.25]))
        kind = rng.choices(
            ["book", "walk", "step", "step", "step", "step", "undo", "move", "ready", "error", "reschedule"],
            weights=[3, 2, 4, 4, 4, 4, 2, 2 if moves else 0, 2, 0.3, 1],
        )[0]
        if kind == "book":
            if rng.random() < 0.5:
                booked = first + dt.timedelta(minutes=5 * rng.randrange(0, 100))
                start = clinic.local(booked.date(), booked.time())
            else:  # about now: patients already due, some of whom come late and are seen (few did otherwise)
                start = run.now.replace(second=0, microsecond=0) + dt.timedelta(minutes=5 * rng.randrange(-12, 12))
            e = run.tap(BookVisit("P", rng.choice(providers), rng.choice(types), start=start))
            if e:
                visits.append(e.visit)
        elif kind == "walk":
            e = run.tap(
                BookVisit(
                    "W", rng.choice(providers), rng.choice(types), walk_in=True, minutes_ago=rng.choice([0, 0, 5, 20])
                )
            )
            if e:
                visits.append(e.visit)
        elif not visits:
            continue
        elif kind == "step":
            # Mostly a visit still going: picked among all, few reached the provider (4 in 100) and fewer of those
            # had come late.
            going = [x for x in visits if run.floor.visits[x].stage not in ENDS]
            vid = rng.choice(going if going and rng.random() < 0.8 else visits)
            v = run.floor.visits[vid]
            nxt = [s for s in NEXT[v.stage] if s is not Stage.cancelled or rng.random() < 0.3]
            if not nxt:
                continue
            # Mostly on along the journey (every stage before the provider may also end it): a patient at the desk
            # reached the provider one time in eight.
            step = nxt[0] if rng.random() < 0.6 else rng.choice(nxt)
            room = None
            if step is Stage.roomed:
                ready = [r.id for r in run.floor.rooms.values() if r.state is RoomState.ready]
                if not ready:
                    turn = [r.id for r in run.floor.rooms.values() if r.state is RoomState.turnover]
                    if not turn:
                        continue
                    run.tap(MarkRoom(turn[0], RoomAction.ready))
                    ready = [turn[0]]
                room = rng.choice(ready)
            ago = rng.choice([0, 0, 0, 1, 3, 10])
            if run.tap(TakeStep(vid, step, room, minutes_ago=ago)) is None and ago:
                run.tap(TakeStep(vid, step, room))
        elif kind == "undo":
            run.tap(UndoStep(rng.choice(visits)))
        elif kind == "move":
            run.tap(MoveVisit(rng.choice(visits), rng.choice(providers)))
        elif kind == "ready":
            turn = [r.id for r in run.floor.rooms.values() if r.state is RoomState.turnover]
            if turn:
                run.tap(MarkRoom(rng.choice(turn), RoomAction.ready))
        elif kind == "reschedule":
            # The schedule imported again: a visit not yet come at another time, with another provider or type.
            scheduled = [x for x in visits if run.floor.visits[x].stage is Stage.scheduled]
            if scheduled:
                v = run.floor.visits[rng.choice(scheduled)]
                start = v.start + dt.timedelta(minutes=5 * rng.randrange(-12, 13))
                run.tap(RescheduleVisit(v.id, start, rng.choice(providers), rng.choice(types)))
        elif kind == "error":
            run.tap(TakeStep(rng.choice(visits), Stage.cancelled, entered_in_error=True))
    run.advance(rng.choice([0, 5, 30, 90]))
    return run
