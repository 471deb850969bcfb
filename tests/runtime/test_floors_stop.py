"""Stopping a server: background tasks end even when a cancellation is lost, and a tap in flight is stored."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from floor.core.commands import BookVisit
from tests.support.clinics import quiet_clinic
from tests.support.staff import test_floors

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_stop_ends_a_background_task_that_lost_a_cancellation(tmp_path: Path) -> None:
    floors = test_floors(tmp_path, [quiet_clinic()], tick_seconds=3600)
    await floors.start()
    cancelled = 0

    async def loses_the_first_cancellation() -> None:
        # As a loop around redis-py does on Python 3.11: asyncio.wait_for inside it can swallow a cancellation
        # that lands as a command's send completes, and the loop carries on.
        nonlocal cancelled
        while True:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                cancelled += 1
                if cancelled > 1:
                    raise

    floors._tasks.append(asyncio.create_task(loses_the_first_cancellation(), name="stubborn"))
    await asyncio.wait_for(floors.stop(), 10)
    assert cancelled == 2
    assert not floors.started


async def test_stop_waits_for_the_tap_in_flight_to_be_stored(tmp_path: Path) -> None:
    floors = test_floors(tmp_path, [quiet_clinic()], tick_seconds=3600)
    await floors.start()
    runtime = floors.get("riverside")
    tap = asyncio.create_task(runtime.handle(BookVisit("Ann Lee", "kim", "follow", walk_in=True), "desk", "t1"))
    await asyncio.sleep(0)  # the tap has begun: it holds the clinic's lock
    await floors.stop()
    assert (await tap).status == 201
    # Stored before the log closed: a new server on the same directory has it.
    again = test_floors(tmp_path, [quiet_clinic()], tick_seconds=3600)
    await again.start()
    try:
        assert [v.patient_name for v in again.get("riverside").floor.visits.values()] == ["Ann Lee"]
    finally:
        await again.stop()
