"""The audit trail: every stored event as who did what, on which device, when. Read from the log itself,
so it is exactly what happened (undos are events of their own and appear as such)."""

from __future__ import annotations

from floor.core.events import Event, StepTaken, StepUndone
from floor.wire import AuditEntry


def entry(clinic: str, event: Event) -> AuditEntry:
    c = event.change
    step = c.step.value if isinstance(c, StepTaken) else None
    undone = c.step.value if isinstance(c, StepUndone) else None
    return AuditEntry(clinic, event.day, event.seq, event.at, event.actor, event.device, event.type,
                      visit=event.visit, step=step, undone=undone, room=getattr(c, "room", None),
                      alert=getattr(c, "alert", None))


def of_visit(clinic: str, visit: str, events: list[Event]) -> list[AuditEntry]:
    return [entry(clinic, e) for e in events if e.visit == visit]


def of_person(clinic: str, person: str, events: list[Event]) -> list[AuditEntry]:
    return [entry(clinic, e) for e in events if e.actor == person]
