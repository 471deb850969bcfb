"""Helpers for tests of the pure floor."""

from __future__ import annotations

import msgspec

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
