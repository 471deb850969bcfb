"""Room states and which room taps are allowed from each."""

from __future__ import annotations

from enum import StrEnum


class RoomState(StrEnum):
    ready = "ready"
    occupied = "occupied"
    turnover = "turnover"
    blocked = "blocked"


class RoomAction(StrEnum):
    ready = "ready"
    blocked = "blocked"
    unblocked = "unblocked"


# An occupied room changes only through its visit's steps; staff cannot block a room with a patient in it.
ROOM_ACTIONS: dict[RoomState, dict[RoomAction, RoomState]] = {
    RoomState.ready: {RoomAction.blocked: RoomState.blocked},
    RoomState.turnover: {RoomAction.ready: RoomState.ready, RoomAction.blocked: RoomState.blocked},
    RoomState.blocked: {RoomAction.unblocked: RoomState.ready},
    RoomState.occupied: {},
}


def allowed_room_actions(state: RoomState) -> tuple[RoomAction, ...]:
    return tuple(ROOM_ACTIONS[state])
