"""The demo pump: plays a generated clinic day against a running clinic through the same runtime taps use."""

from __future__ import annotations

import asyncio
import secrets

import structlog

from floor.config import Clinic
from floor.core.access import Role
from floor.core.commands import BookVisit, MarkRoom, TakeStep
from floor.core.errors import Refusal
from floor.core.journey import Stage
from floor.runtime import Answer, ClinicRuntime
from floor.sessions import Sessions
from floor.simulator import demo_staff

log = structlog.get_logger("floor.demo")

#: The demo's staff accounts (providers sign in with their provider id). PINs are made up at each start.
FRONT_DESK, ASSISTANT, MANAGER = "ana", "ben", "dana"
PEOPLE = {
    FRONT_DESK: ("Ana Flores", Role.front_desk),
    ASSISTANT: ("Ben Osei", Role.medical_assistant),
    MANAGER: ("Dana Reyes", Role.manager),
}
#: Who taps each step; None: the visit's own provider.
TAPPED_BY = {
    Stage.arrived: FRONT_DESK,
    Stage.no_show: FRONT_DESK,
    Stage.cancelled: FRONT_DESK,
    Stage.roomed: ASSISTANT,
    Stage.prep_done: ASSISTANT,
    Stage.left_without_being_seen: FRONT_DESK,
    Stage.provider_in: None,
    Stage.teach_back_done: None,
    Stage.checked_out: FRONT_DESK,
}


async def add_demo_staff(sessions: Sessions, clinic: Clinic) -> list[tuple[str, str, Role, str]]:
    """The demo's people with fresh random PINs: (id, name, role, PIN) for the welcome text."""
    people = [(i, name, role) for i, (name, role) in PEOPLE.items()]
    people += [(p.id, p.name, Role.provider) for p in clinic.providers]
    added = []
    for staff_id, name, role in people:
        pin = f"{secrets.randbelow(10**6):06d}"
        await sessions.add_staff(
            staff_id, name, role, pin, "floor demo", (clinic.id,), provider=staff_id if role is Role.provider else None
        )
        added.append((staff_id, name, role, pin))
    return added


async def play_day(runtime: ClinicRuntime, seed: int = 1, every: float = 0.25) -> None:
    """Tap the demo's day (`demo_staff`: a generated day, one provider held up at its start) into `runtime`
    until every planned visit has ended, checking every `every` s."""
    staff = demo_staff(runtime.clinic, runtime.floor.day, seed)
    log.info("demo_day_started", clinic=runtime.id, visits=len(staff.plan))
    while True:
        now = runtime.clock.now()
        for index, booking in staff.bookings_due(now):
            answer = await _tap(runtime, booking, FRONT_DESK, Role.front_desk)
            if answer is not None and answer.touched.visit is not None:
                staff.booked(index, answer.touched.visit.id)
        for command in staff.due(runtime.floor, now):
            if isinstance(command, TakeStep):
                visit = runtime.floor.visits[command.visit]
                actor = TAPPED_BY[command.step] or visit.provider
                await _tap(runtime, command, actor, Role.provider if actor == visit.provider else PEOPLE[actor][1])
            else:
                await _tap(runtime, command, ASSISTANT, Role.medical_assistant)
        visits = [runtime.floor.visits.get(staff.visit_ids.get(i, "")) for i in range(len(staff.plan))]
        if all(v is not None and v.stage in _ENDS for v in visits):
            log.info("demo_day_finished", clinic=runtime.id)
            return
        await asyncio.sleep(every)


_ENDS = {Stage.checked_out, Stage.no_show, Stage.cancelled, Stage.left_without_being_seen}


async def _tap(
    runtime: ClinicRuntime, command: BookVisit | TakeStep | MarkRoom, actor: str, role: Role
) -> Answer | None:
    try:
        return await runtime.handle(
            command, actor, "demo-tablet", role=role, provider=actor if role is Role.provider else None
        )
    except Refusal as refusal:
        # Staff race each other on a real floor too; the simulated ones just try again next round.
        log.debug("demo_tap_refused", clinic=runtime.id, why=refusal.why.value)
        return None
