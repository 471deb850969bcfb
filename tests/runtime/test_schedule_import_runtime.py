"""A schedule import through the runtime when another server appends in the middle of it (a shared log):
what was stored stays, the rest is planned again against the floor as it then is, nothing is booked twice,
and the summary still counts every row once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from floor.clock import ManualClock
from floor.core.commands import BookVisit
from floor.fanout import Hub
from floor.log.base import Record
from floor.log.embedded import EmbeddedLog
from floor.runtime import ClinicRuntime
from floor.schedule import Format, import_schedule
from tests.support.clinics import quiet_clinic

pytestmark = pytest.mark.anyio

START = dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.UTC)  # 07:00 in Chicago
DAY = dt.date(2026, 11, 23)
SCHEDULE = b"""external_id,time,provider,visit_type,patient_name
A-1,08:00,kim,new,Ann Lee
A-2,08:20,kim,follow,Bo Li
A-3,08:40,okafor,annual,Cy Diaz
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class RacingLog(EmbeddedLog):
    """One log shared by two runtimes (as Redis is by two servers): before the import's second append, the
    other server stores a walk-in."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.other: ClinicRuntime | None = None
        self.appends = 0

    async def append(self, clinic: str, record: Record) -> None:
        other, self.other = self.other, None
        if other is not None:
            self.appends += 1
            if self.appends == 2:
                await other.handle(BookVisit("Walk In", "hart", "follow", walk_in=True), "desk", "t1")
            else:
                self.other = other
        await super().append(clinic, record)


async def test_an_import_raced_by_another_server_books_each_appointment_once(tmp_path: Path) -> None:
    shared = RacingLog(tmp_path)
    await shared.open()
    here, there = (ClinicRuntime(quiet_clinic(), shared, ManualClock(START), Hub()) for _ in range(2))
    await here.start()
    await there.start()
    shared.other = there

    summary = await import_schedule(here, SCHEDULE, Format.csv, DAY, "mgr", "desk")
    assert (summary.added, summary.unchanged) == (3, 0), summary
    assert [e.type for e in here.events] == ["booked", "walk_in", "booked", "booked"]
    assert sorted(v.external_id or "" for v in here.floor.visits.values()) == ["", "A-1", "A-2", "A-3"]
    assert summary.seq == here.floor.seq == 4

    again = await import_schedule(here, SCHEDULE, Format.csv, DAY, "mgr", "desk")
    assert (again.added, again.unchanged, again.seq) == (0, 3, 4)
