"""A clinic whose past days cannot be read now (its log out of reach, or a day too long to read in time) goes on
without learning after a few tries: on a shared log a server reviews no alerts until it has learned its day, and
one put off for ever reviewed none all day (a review)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from floor import floors as floors_module
from floor.clock import ManualClock
from floor.log.base import LogUnavailable
from floor.runtime import ClinicRuntime
from tests.support.staff import test_floors

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


def test_learning_put_off_again_and_again_is_given_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tries: list[int] = []

    async def out_of_reach(self: ClinicRuntime) -> None:
        tries.append(1)
        raise LogUnavailable("the log did not answer in time")

    monkeypatch.setattr(ClinicRuntime, "learn", out_of_reach)

    async def run() -> tuple[bool, list[dict]]:
        floors = test_floors(tmp_path, clock=ManualClock(NOW), tick_seconds=0.01)
        with capture_logs() as logs:
            await floors.start()
            try:
                runtime = next(iter(floors.runtimes.values()))
                for _ in range(500):
                    if runtime.learned_for == runtime.floor.day:
                        break
                    await asyncio.sleep(0.01)
                return runtime.learned_for == runtime.floor.day, logs
            finally:
                await floors.stop()

    learned, logs = asyncio.run(run())
    assert learned and len(tries) == floors_module.LEARNING_TRIES
    assert [e["event"] for e in logs if e["event"].startswith("learning_")] == [
        *["learning_postponed"] * floors_module.LEARNING_TRIES,
        "learning_given_up",
    ]
