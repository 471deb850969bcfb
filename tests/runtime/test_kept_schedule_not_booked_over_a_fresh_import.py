"""A file imported for today replaces the one kept for today and not booked yet (d77962d). A booking of the kept
file already under way (this server's tick, or another server's: it read the file, and is planning it or
waiting for the clinic's lock) must not store it over the fresh one: the import forgets the kept file before
it stores its own, and the booking checks, once planned and just before storing, that the file is still the one
kept (a hostile review: Maria Lopez moved back to 08:00 with Dr Kim). On every store of kept schedules."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from floor.clock import ManualClock
from floor.core.access import Role
from floor.core.journey import Stage
from floor.fanout import Hub
from floor.log.base import Record
from floor.log.embedded import EmbeddedLog
from floor.runtime import ClinicRuntime
from floor.schedule import Format, ScheduleRefused, book_upcoming, import_schedule
from floor.schedule.upcoming import FileUpcoming, KeptSetUp, PerDay, RedisUpcoming, Upcoming, UpcomingSchedule
from tests.support.clinics import quiet_clinic
from tests.support.redis_server import forget_prefix

pytestmark = pytest.mark.anyio

DATA = Path(__file__).resolve().parent.parent / "data"
EVENING = dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.UTC)  # 18:30 on the 23rd in Chicago
MORNING = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)  # 06:00 on the 24th
TOMORROW = dt.date(2026, 11, 24)
KEPT = (DATA / "schedule-riverside.csv").read_bytes()
FRESH = KEPT.replace(b"EHR-1001,08:00,kim,new", b"EHR-1001,10:30,okafor,new")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Paused(Upcoming):
    """A server's view of the kept schedules: once `armed`, its next read of a day's file returns, and the server
    then pauses (reading and planning a day's file take tenths of a second) until `go_on`."""

    def __init__(self, inner: Upcoming) -> None:
        self.inner = inner
        self.armed = False
        self.read = asyncio.Event()
        self.go_on = asyncio.Event()

    async def get(self, clinic: str, day: dt.date) -> UpcomingSchedule | None:
        kept = await self.inner.get(clinic, day)
        if self.armed:
            self.armed = False
            self.read.set()
            await self.go_on.wait()
        return kept

    async def put(self, schedule: UpcomingSchedule) -> None:
        await self.inner.put(schedule)

    async def remove(self, clinic: str, day: dt.date) -> bool:
        return await self.inner.remove(clinic, day)

    async def days(self, clinic: str) -> list[dt.date]:
        return await self.inner.days(clinic)

    async def _keep(self, kind: PerDay, clinic: str, day: dt.date, data: bytes) -> None:
        await self.inner._keep(kind, clinic, day, data)

    async def _kept_data(self, kind: PerDay, clinic: str, day: dt.date) -> bytes | None:
        return await self.inner._kept_data(kind, clinic, day)

    async def forget_clinics_before(self, clinic: str, day: dt.date) -> None:
        await self.inner.forget_clinics_before(clinic, day)

    async def keep_setup(self, clinic: str, setup: KeptSetUp) -> bool:
        return await self.inner.keep_setup(clinic, setup)

    async def _setup_data(self, clinic: str) -> bytes | None:
        return await self.inner._setup_data(clinic)


class GatedLog(EmbeddedLog):
    """One log both servers write to (as they share Redis); once `armed`, the next append from `device` waits for
    `go_on` (a slow round trip) before it reaches the log."""

    shared = True

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.armed: str | None = None
        self.entered = asyncio.Event()
        self.go_on = asyncio.Event()

    async def append_all(self, clinic: str, records: Sequence[Record], held: str = "") -> None:
        if self.armed is not None and records[0].event.device == self.armed:
            self.armed = None
            self.entered.set()
            await self.go_on.wait()
        await super().append_all(clinic, records, held)


@pytest.fixture(params=["memory", "files", "redis"])
async def kept(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Upcoming]:
    """The store of kept schedules both servers share."""
    if request.param != "redis":
        yield FileUpcoming(tmp_path / "kept" if request.param == "files" else None)
        return
    url, prefix = request.getfixturevalue("redis_url"), f"test-kept-{uuid.uuid4().hex[:10]}"
    store = RedisUpcoming(url, prefix=prefix)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
        await forget_prefix(url, prefix)


async def _morning(tmp_path: Path, kept: Upcoming) -> tuple[ClinicRuntime, ClinicRuntime, GatedLog]:
    """Tomorrow's file was kept in the evening; every server was down at midnight, and two are back at 06:00."""
    event_log = GatedLog(tmp_path / "log")
    await event_log.open()
    clock = ManualClock(EVENING)
    a = ClinicRuntime(quiet_clinic(), event_log, clock, Hub(), kept=kept)
    b = ClinicRuntime(quiet_clinic(), event_log, clock, Hub(), kept=kept)
    await a.start()
    await b.start()
    await import_schedule(a, KEPT, Format.csv, TOMORROW, "mgr-dana", "t1", Role.manager, kept)
    clock.set(MORNING)
    a.tick()
    b.tick()
    return a, b, event_log


async def _maria(runtime: ClinicRuntime) -> tuple[str, dt.time]:
    async with runtime.writer.lock:
        await runtime.writer.catch_up()
    [maria] = [v for v in runtime.floor.visits.values() if v.external_id == "EHR-1001"]
    return maria.provider, maria.start.astimezone(runtime.clinic.tz).time()


async def test_a_booking_that_read_the_kept_file_before_a_fresh_import_books_nothing(
    tmp_path: Path, kept: Upcoming
) -> None:
    a, b, _ = await _morning(tmp_path, kept)
    paused = Paused(kept)
    paused.armed = True
    booking = asyncio.create_task(book_upcoming(b, paused))  # B's tick: it has read the kept file
    await asyncio.wait_for(paused.read.wait(), 5)
    await import_schedule(a, FRESH, Format.csv, TOMORROW, "mgr-dana", "t2", Role.manager, kept)
    assert await kept.days(a.id) == []
    paused.go_on.set()
    await asyncio.wait_for(booking, 5)
    assert await _maria(b) == await _maria(a) == ("okafor", dt.time(10, 30))
    assert b.floor.alerts == {}


async def test_a_booking_about_to_store_when_a_fresh_import_is_stored_plans_again_and_books_nothing(
    tmp_path: Path, kept: Upcoming
) -> None:
    a, b, event_log = await _morning(tmp_path, kept)
    # B has planned the kept file (it was still kept) and its append is on its way to the log.
    event_log.armed = "t1"
    booking = asyncio.create_task(book_upcoming(b, kept))
    await asyncio.wait_for(event_log.entered.wait(), 5)
    await import_schedule(a, FRESH, Format.csv, TOMORROW, "mgr-dana", "t2", Role.manager, kept)
    event_log.go_on.set()
    # B's append is refused (A stored first); B plans again on the fresh file's floor, and finds its file gone.
    await asyncio.wait_for(booking, 5)
    assert await _maria(b) == await _maria(a) == ("okafor", dt.time(10, 30))


async def test_a_fresh_import_on_the_same_server_as_the_days_booking_is_not_undone_by_it(
    tmp_path: Path, kept: Upcoming
) -> None:
    a, _, _ = await _morning(tmp_path, kept)
    paused = Paused(kept)
    paused.armed = True
    booking = asyncio.create_task(book_upcoming(a, paused))  # A's own tick, beside the manager's HTTP import
    await asyncio.wait_for(paused.read.wait(), 5)
    await import_schedule(a, FRESH, Format.csv, TOMORROW, "mgr-dana", "t2", Role.manager, kept)
    paused.go_on.set()
    await asyncio.wait_for(booking, 5)
    assert await _maria(a) == ("okafor", dt.time(10, 30))


async def test_a_fresh_file_that_is_refused_leaves_the_kept_one_to_be_booked(tmp_path: Path, kept: Upcoming) -> None:
    a, _, _ = await _morning(tmp_path, kept)
    bad = KEPT.replace(b"EHR-1001,08:00,kim,new", b"EHR-1001,08:00,nobody,new")
    with pytest.raises(ScheduleRefused):
        await import_schedule(a, bad, Format.csv, TOMORROW, "mgr-dana", "t2", Role.manager, kept)
    assert await kept.days(a.id) == [TOMORROW]
    await book_upcoming(a, kept)
    assert await _maria(a) == ("kim", dt.time(8, 0))


async def test_a_fresh_file_that_stores_nothing_still_supersedes_the_kept_one(tmp_path: Path) -> None:
    kept = FileUpcoming(None)
    event_log = EmbeddedLog(tmp_path / "log")
    await event_log.open()
    clock = ManualClock(EVENING)
    a = ClinicRuntime(quiet_clinic(), event_log, clock, Hub(), kept=kept)
    await a.start()
    await import_schedule(a, KEPT, Format.csv, TOMORROW, "mgr-dana", "t1", Role.manager, kept)
    clock.set(MORNING)  # the server was down at midnight; the kept file is not booked yet
    a.writer.roll_day(clock.now())
    header = KEPT.splitlines()[0]
    fresh = header + b"\nEHR-1001,08:00,kim,new,Maria Lopez,,cancelled\n"
    summary = await import_schedule(a, fresh, Format.csv, TOMORROW, "mgr-dana", "t2", Role.manager, kept)
    assert summary.unchanged == 1  # answered: nothing to change
    await book_upcoming(a, kept)  # the next tick
    maria = [v for v in a.floor.visits.values() if v.external_id == "EHR-1001"]
    # A file that changes nothing on the floor still supersedes the kept one (it returned before doing so: a review).
    assert not maria or maria[0].stage is Stage.cancelled, (
        f"the older kept file was booked after the fresh one: Maria Lopez {maria[0].stage} at "
        f"{maria[0].start.astimezone(a.clinic.tz):%H:%M} with {maria[0].provider}"
    )
