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
        self._tasks: list[asyncio.Task[None]] = []

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
        self._tasks = [asyncio.create_task(self._tick_forever(), name="floor-ticker")]
        if self.log.shared:
            # Other servers append to the same log: follow each clinic's part of it.
            self._tasks += [asyncio.create_task(r.follow(), name=f"floor-follow-{r.id}")
                            for r in self.runtimes.values()]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
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


def build_floors(clinics: list[Clinic], *, data_dir: str | Path, redis_url: str | None = None,
                 clock: Clock | None = None) -> Floors:
    """The Redis log when a URL is given (several servers share one floor), else the embedded one."""
    if redis_url:
        from floor.log.redis import RedisLog

        return Floors(clinics, RedisLog(redis_url), clock)
    return embedded_floors(clinics, data_dir, clock)
