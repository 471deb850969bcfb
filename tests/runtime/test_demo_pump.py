"""The demo pump (floor/demo.py) taps through the runtime and learns each booked visit's id from the answer."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from floor import demo
from floor.clock import ManualClock
from floor.config import demo_clinic
from floor.fanout import Hub
from floor.log.embedded import EmbeddedLog
from floor.runtime import ClinicRuntime
from floor.simulator import Staff, demo_start

pytestmark = pytest.mark.anyio

DAY = dt.date(2026, 11, 23)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_the_demo_knows_each_visit_it_booked_by_the_id_the_runtime_gave_it(tmp_path: Path, monkeypatch) -> None:
    clinic = demo_clinic()
    log = EmbeddedLog(tmp_path)
    await log.open()
    clock = ManualClock(demo_start(clinic, DAY))
    runtime = ClinicRuntime(clinic, log, clock, Hub())
    await runtime.start()
    staffs: list[Staff] = []
    planned = demo.demo_staff

    def kept_staff(*args, **kwargs) -> Staff:
        staffs.append(planned(*args, **kwargs))
        return staffs[-1]

    monkeypatch.setattr(demo, "demo_staff", kept_staff)
    playing = asyncio.create_task(demo.play_day(runtime, every=0))
    try:
        scheduled = None
        # Each tap is fsynced off the loop: wait on the condition (at most a minute on a loaded machine), not on
        # a count of loop turns.
        for _ in range(6_000):
            await asyncio.sleep(0.01)
            if staffs:
                scheduled = [i for i, p in enumerate(staffs[0].plan) if not p.walk_in]
                if scheduled and all(i in staffs[0].visit_ids for i in scheduled):
                    break
        assert scheduled, "the demo booked nothing"
        staff = staffs[0]
        for i in scheduled:
            visit = runtime.floor.visits[staff.visit_ids[i]]
            assert visit.patient_name == staff.plan[i].patient_name
        assert len(runtime.floor.visits) == len(staff.visit_ids)  # none booked twice
    finally:
        playing.cancel()
        await asyncio.gather(playing, return_exceptions=True)
        await runtime.settle()
        await log.close()
