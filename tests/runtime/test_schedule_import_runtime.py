"""A schedule import through the runtime when another server appends while it is planned (a shared log):
the import is planned again against the floor as it then is and stored whole, nothing is booked twice, and
the summary counts every row once."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from floor.clock import ManualClock
from floor.core.commands import BookVisit
from floor.fanout import Hub
from floor.log.base import LogUnavailable, Record
from floor.log.embedded import EmbeddedLog
from floor.runtime import ClinicRuntime
from floor.schedule import Format, import_schedule
from tests.support.clinics import quiet_clinic
from tests.support.volatile_files import PowerCut, VolatileFiles

pytestmark = pytest.mark.anyio

START = dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.UTC)  # 07:00 in Chicago
DAY = dt.date(2026, 11, 23)
CLINIC = "riverside"
SCHEDULE = b"""external_id,time,provider,visit_type,patient_name
A-1,08:00,kim,new,Ann Lee
A-2,08:20,kim,follow,Bo Li
A-3,08:40,okafor,annual,Cy Diaz
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class RacingLog(EmbeddedLog):
    """One log shared by two runtimes (as Redis is by two servers): just before the import is stored, the
    other server stores a walk-in."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.other: ClinicRuntime | None = None
        self.batches: list[list[int]] = []

    async def append_all(self, clinic: str, records: Sequence[Record], held: str = "") -> None:
        other, self.other = self.other, None
        if other is not None:
            await other.handle(BookVisit("Walk In", "hart", "follow", walk_in=True), "desk", "t1")
        self.batches.append([r.event.seq for r in records])
        await super().append_all(clinic, records, held)


async def test_an_import_raced_by_another_server_books_each_appointment_once(tmp_path: Path) -> None:
    shared = RacingLog(tmp_path)
    await shared.open()
    here, there = (ClinicRuntime(quiet_clinic(), shared, ManualClock(START), Hub()) for _ in range(2))
    await here.start()
    await there.start()
    shared.other = there

    summary = await import_schedule(here, SCHEDULE, Format.csv, DAY, "mgr", "desk")
    assert (summary.added, summary.unchanged) == (3, 0), summary
    assert [e.type for e in here.events] == ["walk_in", "booked", "booked", "booked"]
    # The walk-in (seq 1) took the seq the first plan started at: that whole plan was refused, none of it kept.
    assert shared.batches == [[1], [1, 2, 3], [2, 3, 4]]
    assert sorted(v.external_id or "" for v in here.floor.visits.values()) == ["", "A-1", "A-2", "A-3"]
    assert summary.seq == here.floor.seq == 4

    again = await import_schedule(here, SCHEDULE, Format.csv, DAY, "mgr", "desk")
    assert (again.added, again.unchanged, again.seq) == (0, 3, 4)


@pytest.mark.parametrize(
    "keep", [0, 1, 8, 9, 300, 600, -1, None], ids=lambda k: {-1: "all but a byte", None: "all"}.get(k, f"{k} B")
)
async def test_a_power_cut_while_an_import_is_stored_keeps_all_of_it_or_none(keep: int | None) -> None:
    # The import's events are written as one frame: a cut that tears it after any number of bytes leaves
    # none of its visits (only a whole frame, all of them), never a half-booked day.
    disk = VolatileFiles()
    log = EmbeddedLog(Path("/data"), disk)
    await log.open()
    runtime = ClinicRuntime(quiet_clinic(), log, ManualClock(START), Hub())
    await runtime.start()
    await runtime.handle(BookVisit("Walk In", "hart", "follow", walk_in=True), "desk", "t1")
    disk.cut_power_at(op="sync")
    with pytest.raises(PowerCut):
        await import_schedule(runtime, SCHEDULE, Format.csv, DAY, "mgr", "desk")

    class KeepsSome(random.Random):
        def randint(self, a: int, b: int) -> int:
            # How many of the unsynced bytes (the import's frame) reach the disk before the cut.
            return b if keep is None else b - 1 if keep == -1 else min(b, keep)

    after = EmbeddedLog(Path("/data"), disk.crash(keep_torn=KeepsSome()))
    await after.open()
    restarted = ClinicRuntime(quiet_clinic(), after, ManualClock(START), Hub())
    await restarted.start()
    booked = sorted(v.external_id or "walk-in" for v in restarted.floor.visits.values())
    assert booked == (["A-1", "A-2", "A-3", "walk-in"] if keep is None else ["walk-in"])
    summary = await import_schedule(restarted, SCHEDULE, Format.csv, DAY, "mgr", "desk")
    assert summary.added + summary.unchanged == 3


class RefusingLog(EmbeddedLog):
    """A log that cannot be written right now (a full disk, Redis down)."""

    async def append_all(self, clinic: str, records: Sequence[Record], held: str = "") -> None:
        if len(records) > 1:
            raise LogUnavailable("the disk is full")
        await super().append_all(clinic, records, held)


async def test_an_import_the_log_cannot_store_stores_nothing_and_can_be_sent_again(tmp_path: Path) -> None:
    log = RefusingLog(tmp_path)
    await log.open()
    runtime = ClinicRuntime(quiet_clinic(), log, ManualClock(START), Hub())
    await runtime.start()
    with pytest.raises(LogUnavailable):
        await import_schedule(runtime, SCHEDULE, Format.csv, DAY, "mgr", "desk")
    assert runtime.floor.visits == {} and runtime.floor.seq == 0
    assert await log.read(CLINIC, 0) == []
    log.append_all = super(RefusingLog, log).append_all  # the disk has room again
    summary = await import_schedule(runtime, SCHEDULE, Format.csv, DAY, "mgr", "desk")
    assert (summary.added, summary.seq) == (3, 3)


async def test_a_large_import_lets_other_work_run_while_it_is_folded_and_fanned_out(tmp_path: Path) -> None:
    # Other clinics' taps and screens share the loop: they get turns between batches of the import's events.
    log = EmbeddedLog(tmp_path)
    await log.open()
    runtime = ClinicRuntime(quiet_clinic(), log, ManualClock(START), Hub())
    await runtime.start()
    rows = "".join(f"B-{n},{8 + n // 60:02d}:{n % 60:02d},kim,follow,Patient {n}\n" for n in range(450))
    body = ("external_id,time,provider,visit_type,patient_name\n" + rows).encode()
    seen: list[int] = []

    async def another_clinic() -> None:
        while True:
            seen.append(runtime.floor.seq)
            await asyncio.sleep(0)

    other = asyncio.create_task(another_clinic())
    try:
        summary = await import_schedule(runtime, body, Format.csv, DAY, "mgr", "desk")
    finally:
        other.cancel()
    assert summary.added == 450
    assert any(0 < seq < 450 for seq in seen), "the loop was held for the whole fold"
