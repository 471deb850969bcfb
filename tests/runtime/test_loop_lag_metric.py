"""The event loop's own lag is counted (floor_loop_lag_seconds) and a stall is logged: the figure that names the
stalls in a tap's answer and a screen's update when no other figure does."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.support.clinics import quiet_clinic
from tests.support.staff import test_floors


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _lag(floors) -> dict[str, float]:
    """The histogram's cumulative buckets, by upper bound."""
    out = {}
    for metric in floors.metrics.registry.collect():
        if metric.name == "floor_loop_lag_seconds":
            for sample in metric.samples:
                if sample.name.endswith("_bucket"):
                    out[sample.labels["le"]] = sample.value
    return out


@pytest.mark.anyio
async def test_a_loop_held_for_a_third_of_a_second_is_counted_late_and_logged(tmp_path: Path) -> None:
    floors = test_floors(tmp_path, [quiet_clinic()], tick_seconds=3600)
    await floors.start()
    try:
        await asyncio.sleep(0.35)  # a few timings of a loop with nothing to do
        quiet = _lag(floors)
        assert quiet["+Inf"] >= 1
        with capture_logs() as logs:
            time.sleep(0.35)  # the loop held: nothing else runs meanwhile
            await asyncio.sleep(0.25)
        held = _lag(floors)
    finally:
        await floors.stop()
    # The timing due during the hold ran at least 0.25 s late (the hold, less one period of 0.1 s).
    assert held["+Inf"] - held["0.1"] >= 1 + (quiet["+Inf"] - quiet["0.1"])
    stalls = [e for e in logs if e["event"] == "loop_stalled"]
    assert stalls and max(e["seconds"] for e in stalls) >= 0.25
