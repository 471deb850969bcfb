"""Hostile review: checking a schedule (`check=true`, what the manager page does before every import) plans the
whole file against a copy of today's floor on the event loop every clinic shares, while the import itself plans
in a thread (floor/runtime/writer.py: "Planning thousands of rows takes a tenth of a second or more: in a
thread, so the loop goes on serving every clinic"). A 5,000-row file against a floor holding it takes about half a
second here: every clinic's taps, sockets and heartbeats stall for it."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from pathlib import Path

import pytest

import floor.schedule as schedule
from floor.clock import ManualClock
from floor.core.commands import TakeStep
from floor.core.journey import Stage
from floor.fanout import Hub
from floor.log.embedded import EmbeddedLog
from floor.runtime import ClinicRuntime
from floor.schedule import Format, import_schedule
from tests.support.clinics import quiet_clinic

pytestmark = pytest.mark.anyio

START = dt.datetime(2026, 11, 23, 11, 0, tzinfo=dt.UTC)  # 05:00 in Chicago
DAY = dt.date(2026, 11, 23)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _day(rows: int) -> bytes:
    lines = "".join(
        f"B-{n},{6 + n * 10 // 3600:02d}:{n * 10 // 60 % 60:02d}:{n * 10 % 60:02d},kim,follow,Patient {n}\n"
        for n in range(rows)
    )
    return ("external_id,time,provider,visit_type,patient_name\n" + lines).encode()


async def test_checking_a_file_plans_it_off_the_loop_as_importing_it_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = EmbeddedLog(tmp_path)
    await log.open()
    runtime = ClinicRuntime(quiet_clinic(), log, ManualClock(START), Hub())
    await runtime.start()
    loop_thread = threading.get_ident()
    planned_on_loop: dict[bool, list[bool]] = {False: [], True: []}
    real_plan = schedule.plan

    def plan(*args, **kwargs):
        planned_on_loop[checking].append(threading.get_ident() == loop_thread)
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(schedule, "plan", plan)
    body = _day(200)
    checking = False
    await import_schedule(runtime, body, Format.csv, DAY, "mgr", "desk")
    checking = True
    checked = await import_schedule(runtime, body, Format.csv, DAY, "mgr", "desk", check=True)
    assert checked.checked and checked.unchanged == 200
    assert planned_on_loop[False] == [False], "the import plans in a thread"
    assert planned_on_loop[True] == [False], "the check planned the whole file on the event loop every clinic shares"


async def test_a_tap_during_a_check_waits_for_it_as_it_waits_for_an_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Off the loop, the floor must still not change under the thread planning on it: a tap comes after the check.
    log = EmbeddedLog(tmp_path)
    await log.open()
    runtime = ClinicRuntime(quiet_clinic(), log, ManualClock(START), Hub())
    await runtime.start()
    body = _day(20)
    await import_schedule(runtime, body, Format.csv, DAY, "mgr", "desk")
    visit = runtime.floor.by_external_id("B-0")
    assert visit is not None
    planning, go_on = threading.Event(), threading.Event()
    real_plan = schedule.plan

    def plan(*args, **kwargs):
        planning.set()
        assert go_on.wait(5)
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(schedule, "plan", plan)
    checking = asyncio.ensure_future(import_schedule(runtime, body, Format.csv, DAY, "mgr", "desk", check=True))
    assert await asyncio.to_thread(planning.wait, 5)
    tap = asyncio.ensure_future(runtime.handle(TakeStep(visit.id, Stage.cancelled), "mgr", "desk"))
    await asyncio.sleep(0.05)
    assert not tap.done() and runtime.floor.by_external_id("B-0").stage is Stage.scheduled, "the floor moved mid-plan"
    go_on.set()
    checked = await checking
    assert checked.unchanged == 20 and checked.seq == 20
    await tap
    assert runtime.floor.by_external_id("B-0").stage is Stage.cancelled
