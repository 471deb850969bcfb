"""The patient journey: which step may follow which, and what each step does to a room."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    scheduled = "scheduled"
    arrived = "arrived"
    roomed = "roomed"
    prep_done = "prep_done"
    provider_in = "provider_in"
    teach_back_done = "teach_back_done"
    checked_out = "checked_out"
    no_show = "no_show"
    cancelled = "cancelled"
    left_without_being_seen = "left_without_being_seen"


#: The happy path, in order.
PATH: tuple[Stage, ...] = (
    Stage.scheduled,
    Stage.arrived,
    Stage.roomed,
    Stage.prep_done,
    Stage.provider_in,
    Stage.teach_back_done,
    Stage.checked_out,
)

ENDS = frozenset({Stage.checked_out, Stage.no_show, Stage.cancelled, Stage.left_without_being_seen})

#: Stages during which the visit holds a room.
IN_ROOM = frozenset({Stage.roomed, Stage.prep_done, Stage.provider_in, Stage.teach_back_done})

# Checking out straight from provider_in is allowed: the skipped teach-back is recorded and measured,
# because blocking the front desk would only push the gap off the record.
NEXT: dict[Stage, tuple[Stage, ...]] = {
    Stage.scheduled: (Stage.arrived, Stage.no_show, Stage.cancelled),
    Stage.arrived: (Stage.roomed, Stage.left_without_being_seen),
    Stage.roomed: (Stage.prep_done, Stage.left_without_being_seen),
    Stage.prep_done: (Stage.provider_in, Stage.left_without_being_seen),
    Stage.provider_in: (Stage.teach_back_done, Stage.checked_out),
    Stage.teach_back_done: (Stage.checked_out,),
    Stage.checked_out: (),
    Stage.no_show: (),
    Stage.cancelled: (),
    Stage.left_without_being_seen: (),
}

#: Every stage a tap can move a visit to (the first stage is set by booking, never tapped).
STEPS: tuple[Stage, ...] = tuple(s for s in Stage if s is not Stage.scheduled)


def allowed_steps(stage: Stage) -> tuple[Stage, ...]:
    return NEXT[stage]


def is_allowed(current: Stage, step: Stage) -> bool:
    return step in NEXT[current]


def leaves_room(current: Stage, step: Stage) -> bool:
    """Whether taking `step` from `current` releases the visit's room (into turnover)."""
    return current in IN_ROOM and step not in IN_ROOM


def enters_room(step: Stage) -> bool:
    return step is Stage.roomed
