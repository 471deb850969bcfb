"""Helpers for tests of the pure floor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import msgspec

from floor.core.commands import Command, Tap
from floor.core.events import Event
from floor.core.floor import Floor


def snapshot(floor: Floor) -> dict:
    """Everything a fold produces, as plain data: two floors are the same floor if these are equal."""
    return {
        "seq": floor.seq,
        "last_at": floor.last_at,
        "visits": msgspec.to_builtins(floor.visits),
        "rooms": msgspec.to_builtins(floor.rooms),
        "alerts": msgspec.to_builtins(floor.alerts),
    }


def walk_ins_in_one_go(runtime, count: int = 5) -> None:
    """Book `count` walk-ins and fan each out, without yielding: called on the server's loop (through the test
    client's portal), a socket's sender cannot drain in between, so its queue overflows."""
    from floor.core.commands import BookVisit, Tap

    for i in range(count):
        command = BookVisit(f"P{i}", "kim", "follow", walk_in=True)
        runtime.writer.fold(runtime.floor.decide(command, Tap("test", "test", runtime.clock.now())))


class Tapping:
    """Taps made on a floor at given clock times: `tap(when, command)` decides the command at `at(when)`, applies
    and keeps the event (in `events`, as a day's log would have them), and returns the visit it changed ("" for a
    room's tap)."""

    def __init__(self, floor: Floor, at: Callable[[str], dt.datetime]) -> None:
        self.floor = floor
        self.at = at
        self.events: list[Event] = []

    def tap(self, when: str, command: Command) -> str:
        event = self.floor.decide(command, Tap("staff", "t", self.at(when)))
        self.floor.apply(event)
        self.events.append(event)
        return getattr(event.change, "visit", "")
