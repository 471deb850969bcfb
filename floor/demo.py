"""The demo pump: plays a generated clinic day against a running clinic through the same runtime taps use."""

from __future__ import annotations

import asyncio
import json

import structlog

from floor.core.commands import BookVisit, MarkRoom, TakeStep
from floor.core.errors import Refusal
from floor.core.journey import Stage
from floor.runtime import ClinicRuntime
from floor.simulator import Staff, plan_day

log = structlog.get_logger("floor.demo")

ROLE = {Stage.arrived: "front-desk", Stage.no_show: "front-desk", Stage.cancelled: "front-desk",
        Stage.roomed: "ma", Stage.prep_done: "ma", Stage.left_without_being_seen: "front-desk",
        Stage.provider_in: "provider", Stage.teach_back_done: "provider", Stage.checked_out: "front-desk"}


async def play_day(runtime: ClinicRuntime, seed: int = 1, every: float = 0.25) -> None:
    """Tap the simulated day into `runtime` until every planned visit has ended, checking every `every` s."""
    staff = Staff(runtime.clinic, plan_day(runtime.clinic, runtime.floor.day, seed), seed)
    log.info("demo_day_started", clinic=runtime.id, visits=len(staff.plan))
    while True:
        now = runtime.clock.now()
        for index, booking in staff.bookings_due(now):
            answer = await _tap(runtime, booking, "front-desk")
            if answer is not None:
                staff.booked(index, json.loads(answer)["visit"]["id"])
        for command in staff.due(runtime.floor, now):
            actor = ROLE[command.step] if isinstance(command, TakeStep) else "ma"
            await _tap(runtime, command, actor)
        visits = [runtime.floor.visits.get(staff.visit_ids.get(i, "")) for i in range(len(staff.plan))]
        if all(v is not None and v.stage in _ENDS for v in visits):
            log.info("demo_day_finished", clinic=runtime.id)
            return
        await asyncio.sleep(every)


_ENDS = {Stage.checked_out, Stage.no_show, Stage.cancelled, Stage.left_without_being_seen}


async def _tap(runtime: ClinicRuntime, command: BookVisit | TakeStep | MarkRoom, actor: str) -> bytes | None:
    try:
        return (await runtime.handle(command, actor, "demo")).body
    except Refusal as refusal:
        # Staff race each other on a real floor too; the simulated ones just try again next round.
        log.debug("demo_tap_refused", clinic=runtime.id, why=refusal.why.value)
        return None
