"""The audit trail: every stored event as who did what, on which device, when. Read from the log itself,
so it is exactly what happened (undos are events of their own and appear as such)."""

from __future__ import annotations

from collections.abc import Callable

from msgspec.structs import replace

from floor.config import Room, Thresholds, VisitType
from floor.core.events import (
    Event,
    PresenceUndone,
    ProviderPresence,
    RoomMarked,
    RoomMarkUndone,
    SetUpChanged,
    StepTaken,
    StepUndone,
    VisitBooked,
    VisitMoved,
    VisitRescheduled,
    WalkInRemoved,
)
from floor.wire import AuditEntry


def entry(clinic: str, event: Event, notes_before: str | None = None) -> AuditEntry:
    """`notes_before`: the visit's notes before this event, if known; it only matters for a reschedule, whose
    event stores the new notes but not the ones they replace."""
    c = event.change
    step = c.step.value if isinstance(c, StepTaken) else None
    undone = c.step.value if isinstance(c, StepUndone) else None
    base = AuditEntry(
        clinic,
        event.day,
        event.seq,
        event.at,
        event.actor,
        event.device,
        event.type,
        visit=event.visit,
        step=step,
        undone=undone,
        room=getattr(c, "room", None),
        alert=getattr(c, "alert", None),
        happened=c.happened if isinstance(c, StepTaken | VisitBooked | ProviderPresence) else None,
    )
    # Patient names stay out: the trail says what was done to a visit, the visit id says which.
    match c:
        case VisitBooked():
            return replace(base, start=c.start, provider=c.provider, visit_type=c.visit_type)
        case VisitRescheduled():
            return _rescheduled(base, c, notes_before)
        case VisitMoved():
            return replace(base, provider=c.provider, previous_provider=c.previous_provider)
        case StepTaken(without_teach_back=True):
            return replace(base, without_teach_back=True)
        case StepTaken(entered_in_error=True):
            return replace(base, entered_in_error=True)
        case StepUndone():
            return replace(base, undone_seq=c.undone_seq)
        case WalkInRemoved():
            return replace(base, undone="walk_in", undone_seq=c.undone_seq)
        case RoomMarkUndone():
            return replace(base, undone=f"room_{c.action.value}", undone_seq=c.undone_seq)
        case RoomMarked(reason=reason) if reason:
            return replace(base, reason=reason)
        case ProviderPresence():
            return replace(base, provider=c.provider, presence=c.status.value, back_in_minutes=c.back_in_minutes)
        case PresenceUndone():
            return replace(base, provider=c.provider, undone=c.status.value, undone_seq=c.undone_seq)
        case SetUpChanged():
            changes = []
            if c.rooms is not None:
                changes += room_changes(c.previous_rooms or [], c.rooms, c.from_file)
            if c.providers is not None:
                changes += provider_changes(c.previous_providers or [], c.providers, c.from_file)
            if c.visit_types is not None:
                changes += visit_type_changes(c.previous_visit_types or [], c.visit_types, c.from_file)
            if c.thresholds is not None:
                changes += threshold_changes(c.previous_thresholds or c.thresholds, c.thresholds, c.from_file)
            return replace(base, changes=changes)
    return base


#: A visit type's stage minutes as the audit trail words them.
_STAGE_WORDS = {
    "arrived": "waiting to be roomed",
    "roomed": "rooming to prep",
    "prep_done": "prep to provider",
    "provider_in": "with the provider",
    "teach_back_done": "teach-back to checkout",
}


def _minutes(v: VisitType) -> str:
    m = v.stage_minutes
    return (
        f"slot {v.slot_minutes}, "
        + ", ".join(f"{words} {getattr(m, stage)}" for stage, words in _STAGE_WORDS.items())
        + " minutes"
    )


def visit_type_changes(before: list[VisitType], after: list[VisitType], from_file: bool = False) -> list[str]:
    """A change of the clinic's visit types in words, one line per visit type changed (minutes from and to)."""
    was = {v.code: v for v in before}
    now = {v.code: v for v in after}
    lines = [f"Took out visit type {v.label} ({v.code})" for v in before if v.code not in now]
    for v in after:
        old = was.get(v.code)
        if old is None:
            lines.append(f"Added visit type {v.label} ({v.code}): {_minutes(v)}")
            continue
        if old.label != v.label:
            lines.append(f"Renamed visit type {old.label} to {v.label}")
        changed = [
            f"{words} from {getattr(old.stage_minutes, stage)} to {getattr(v.stage_minutes, stage)}"
            for stage, words in _STAGE_WORDS.items()
            if getattr(old.stage_minutes, stage) != getattr(v.stage_minutes, stage)
        ]
        if old.slot_minutes != v.slot_minutes:
            changed.insert(0, f"slot from {old.slot_minutes} to {v.slot_minutes}")
        if changed:
            lines.append(f"Changed {v.label}'s minutes: {', '.join(changed)}")
    if not lines and [v.code for v in before] != [v.code for v in after]:
        lines.append("Put the visit types in a new order")
    if from_file:
        lines.append("Visit types as the clinic file has them (the file's visit types lead again from the next day)")
    return lines


#: The alert thresholds as the audit trail words them, each with its unit.
_THRESHOLD_WORDS = {
    "waiting_to_be_roomed": ("waiting to be roomed", "minutes"),
    "waiting_for_prep": ("waiting for prep", "minutes"),
    "waiting_for_provider": ("waiting for the provider", "minutes"),
    "waiting_for_checkout": ("waiting for checkout", "minutes"),
    "cascade_visits": ("a cascade's visits", "visits"),
    "cascade_minutes": ("a cascade's minutes late", "minutes"),
    "turnover": ("room turnover", "minutes"),
}


def threshold_changes(before: Thresholds, after: Thresholds, from_file: bool = False) -> list[str]:
    """A change of the clinic's alert thresholds in words: one line, each threshold changed from and to."""
    changed = [
        f"{words} from {getattr(before, name)} to {getattr(after, name)} {unit}"
        for name, (words, unit) in _THRESHOLD_WORDS.items()
        if getattr(before, name) != getattr(after, name)
    ]
    lines = [f"Changed the alert thresholds: {', '.join(changed)}"] if changed else []
    if from_file:
        lines.append("Thresholds as the clinic file has them (the file's thresholds lead again from the next day)")
    return lines


def provider_changes(before: list, after: list, from_file: bool = False) -> list[str]:
    """A change of the clinic's providers in words, one line per provider changed."""
    was = {p.id: p for p in before}
    now = {p.id: p for p in after}
    lines = [f"Took out provider {p.name} ({p.initials})" for p in before if p.id not in now]
    for p in after:
        old = was.get(p.id)
        if old is None:
            lines.append(f"Added provider {p.name} ({p.initials})")
            continue
        if old.name != p.name:
            lines.append(f"Renamed provider {old.name} to {p.name}")
        if old.initials != p.initials:
            lines.append(f"Changed {p.name}'s initials from {old.initials} to {p.initials}")
    if not lines and [p.id for p in before] != [p.id for p in after]:
        lines.append("Put the providers in a new order")
    if from_file:
        lines.append("Providers as the clinic file has them (the file's providers lead again from the next day)")
    return lines


def room_changes(before: list[Room], after: list[Room], from_file: bool = False) -> list[str]:
    """A change of the clinic's rooms in words, one line per room changed."""
    was = {r.id: r for r in before}
    now = {r.id: r for r in after}
    lines = [f"Took out room {r.label} (zone {r.zone})" for r in before if r.id not in now]
    for r in after:
        old = was.get(r.id)
        if old is None:
            lines.append(f"Added room {r.label} in zone {r.zone}")
            continue
        if old.label != r.label:
            lines.append(f"Renamed room {old.label} to {r.label}")
        if old.zone != r.zone:
            lines.append(f"Moved room {r.label} from zone {old.zone} to zone {r.zone}")
    if not lines and [r.id for r in before] != [r.id for r in after]:
        lines.append("Put the rooms in a new order")
    if from_file:
        lines.append("Rooms as the clinic file has them (the file's rooms lead again from the next day)")
    return lines


def of_visit(clinic: str, visit: str, events: list[Event]) -> list[AuditEntry]:
    return _entries(clinic, events, lambda e: e.visit == visit)


def of_person(clinic: str, person: str, events: list[Event]) -> list[AuditEntry]:
    return _entries(clinic, events, lambda e: e.actor == person)


def _entries(clinic: str, events: list[Event], keep: Callable[[Event], bool]) -> list[AuditEntry]:
    # Every event is walked, kept or not, to know each visit's notes before a reschedule replaces them.
    notes: dict[str, str] = {}
    entries = []
    for event in events:
        c = event.change
        if keep(event):
            entries.append(entry(clinic, event, notes.get(event.visit) if event.visit is not None else None))
        if isinstance(c, VisitBooked | VisitRescheduled):
            notes[c.visit] = c.notes
    return entries


def _rescheduled(base: AuditEntry, c: VisitRescheduled, notes_before: str | None) -> AuditEntry:
    changed: dict = {}
    if c.start != c.previous_start:
        changed |= {"start": c.start, "previous_start": c.previous_start}
    if c.provider != c.previous_provider:
        changed |= {"provider": c.provider, "previous_provider": c.previous_provider}
    if c.visit_type != c.previous_visit_type:
        changed |= {"visit_type": c.visit_type, "previous_visit_type": c.previous_visit_type}
    # Without the earlier notes: the floor refuses a reschedule that changes nothing, so one that changed none of
    # the rest changed the notes. One that changed the rest may have too; that is not claimed.
    notes_changed = c.notes != notes_before if notes_before is not None else not changed
    return replace(base, notes_changed=notes_changed, **changed)
