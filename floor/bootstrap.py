"""The composition root: clinics, log, clock and fan-out wired together in one place."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import structlog

from floor.clock import Clock, SystemClock
from floor.config import Clinic
from floor.core.errors import Refusal, Why
from floor.fanout import Hub
from floor.log.base import EventLog
from floor.log.embedded import EmbeddedLog
from floor.runtime import ClinicRuntime

log = structlog.get_logger("floor")

#: Seconds between clock ticks: day rollover and heartbeats that keep idle sockets alive through proxies.
TICK_SECONDS = 15.0


class Floors:
    """Every clinic this server runs, and the machinery they share."""

    def __init__(self, clinics: list[Clinic], event_log: EventLog, clock: Clock | None = None,
                 hub: Hub | None = None, tick_seconds: float = TICK_SECONDS) -> None:
        self.log = event_log
        self.clock = clock or SystemClock()
        self.hub = hub or Hub()
        self.tick_seconds = tick_seconds
        self.runtimes = {c.id: ClinicRuntime(c, event_log, self.clock, self.hub) for c in clinics}
        self._ticker: asyncio.Task[None] | None = None

    def get(self, clinic_id: str) -> ClinicRuntime:
        runtime = self.runtimes.get(clinic_id)
        if runtime is None:
            raise Refusal(Why.not_found, f"No clinic {clinic_id!r} on this server "
                          f"(it runs: {', '.join(self.runtimes)}).")
        return runtime

    async def start(self) -> None:
        await self.log.open()
        for runtime in self.runtimes.values():
            await runtime.start()
        self._ticker = asyncio.create_task(self._tick_forever(), name="floor-ticker")

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.log.close()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds)
            for runtime in self.runtimes.values():
                try:
                    runtime.tick()
                except Exception:
                    log.exception("tick_failed", clinic=runtime.id)


def embedded_floors(clinics: list[Clinic], data_dir: str | Path, clock: Clock | None = None) -> Floors:
    return Floors(clinics, EmbeddedLog(data_dir), clock)
