"""What the hallway says of a room: a blocked room's reason, from the event that blocked it (events logged
before the reason was kept still load), and nothing once it is unblocked."""

from __future__ import annotations

import datetime as dt

import msgspec

from floor.config import demo_clinic
from floor.core.events import Event
from floor.core.floor import Floor
from floor.hallway import Hallway

CLINIC = demo_clinic()
DAY = dt.date(2026, 11, 23)
AT = CLINIC.local(DAY, dt.time(8, 5))


def _event(seq: int, change: dict) -> Event:
    raw = {
        "seq": seq,
        "at": (AT + dt.timedelta(minutes=seq)).isoformat(),
        "day": DAY.isoformat(),
        "actor": "ben",
        "device": "tablet-1",
        "version": seq,
        "change": change,
    }
    return msgspec.json.decode(msgspec.json.encode(raw), type=Event)


def test_the_hallway_shows_why_a_room_is_blocked_and_an_old_log_without_reasons_loads() -> None:
    floor = Floor(CLINIC, DAY)
    hallway = Hallway(CLINIC)
    blocked = {"type": "room_marked", "room": "e2", "action": "blocked", "reason": "sink leaking"}
    touched = floor.apply(_event(1, blocked))
    assert [(r.id, r.state, r.reason) for r in hallway.update(1, AT, touched, floor).rooms] == [
        ("e2", "blocked", "sink leaking")
    ]
    touched = floor.apply(_event(2, {"type": "room_marked", "room": "e2", "action": "unblocked"}))
    assert hallway.update(2, AT, touched, floor).rooms[0].reason == ""
    # An event from before reasons were kept: no "reason" key at all.
    floor.apply(_event(3, {"type": "room_marked", "room": "e3", "action": "blocked"}))
    board = hallway.board(floor, AT, [], False)
    assert {r.id: (r.state, r.reason) for r in board.rooms}["e3"] == ("blocked", "")
    assert board.thresholds.turnover == 10  # the demo clinic's turnover limit, shipped with the board
