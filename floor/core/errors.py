"""Refusals: why the floor would not take a command. The edges turn them into a status and a message."""

from __future__ import annotations

from enum import StrEnum


class Why(StrEnum):
    not_found = "not_found"  # no such visit or room
    invalid = "invalid"  # the request names something that does not fit (unknown provider, wrong day)
    illegal_step = "illegal_step"  # the journey does not allow that step now
    stale_version = "stale_version"  # someone else changed the visit first
    room_unavailable = "room_unavailable"
    nothing_to_undo = "nothing_to_undo"
    unauthenticated = "unauthenticated"  # no valid sign-in (missing, expired, signed out or revoked token)
    forbidden = "forbidden"  # signed in, but the role may not do this
    taken = "taken"  # the id is already in use (a staff id)


class Refusal(Exception):
    """The command was refused; nothing was written. `detail` carries facts a screen can show."""

    def __init__(
        self, why: Why, message: str, *, field: str | None = None, visit: str | None = None, **detail: object
    ) -> None:
        super().__init__(message)
        self.why = why
        self.message = message
        self.field = field
        self.visit = visit
        self.detail = detail
