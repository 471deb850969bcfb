"""Stopping a server: background tasks end even when a cancellation is lost, and the taps in flight are stored
and folded before the log closes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from floor.core.commands import BookVisit
from floor.floors import Floors
from floor.log.embedded import EmbeddedLog
from floor.log.files import AppendFile, OsFiles
from tests.support.clinics import quiet_clinic
from tests.support.staff import cheapen, test_floors

HOLD_SECONDS = 10.0

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


class HeldFiles(OsFiles):
    """The real disk, except that once `hold()` is called a log file's fsync waits (in the log's worker
    thread) until `release` is set: an append stopped mid-write, with the log's clinic lock held."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.release.set()
        self.syncing = threading.Event()

    def hold(self) -> None:
        self.release.clear()

    def open_append(self, path: Path) -> AppendFile:
        return _HeldAppendFile(super().open_append(path), self)


class _HeldAppendFile:
    def __init__(self, f: AppendFile, files: HeldFiles) -> None:
        self._f, self._files = f, files

    def write(self, data: bytes) -> None:
        self._f.write(data)

    def sync(self) -> None:
        self._files.syncing.set()
        # Bounded, so a test that goes wrong fails on its assertions instead of hanging.
        self._files.release.wait(HOLD_SECONDS)
        self._f.sync()

    def close(self) -> None:
        self._f.close()


class WatchedLog(EmbeddedLog):
    """Notes what `watch()` says at the moment the log is asked to close, before it closes."""

    def __init__(self, data_dir: Path, files: HeldFiles, watch: Callable[[], object]) -> None:
        super().__init__(data_dir, files)
        self.held, self.watch, self.seen_at_close = files, watch, None

    async def close(self) -> None:
        self.seen_at_close = self.watch()
        self.held.release.set()  # nothing waits for the held write any more: let it go rather than hang
        await super().close()


async def test_stop_waits_for_the_taps_in_flight_to_be_stored_and_folded_before_closing_the_log(tmp_path: Path) -> None:
    """One tap is stopped mid-append (its fsync held); a second waits behind it for the clinic's lock. The log
    must not be closed until both are stored and folded into the floor: the embedded log's own close would
    wait for the first append, but not for the second, which would then be written after the close and
    answered after the server stopped."""
    files = HeldFiles()
    log = WatchedLog(tmp_path, files, lambda: [v.patient_name for v in runtime.floor.visits.values()])
    floors = cheapen(Floors([quiet_clinic()], log, tick_seconds=3600))
    await floors.start()
    runtime = floors.get("riverside")
    # The held write is let go only once stop waits for it (settle), or gives up on it (closes the log).
    settle = runtime.settle

    async def settle_letting_the_write_go() -> None:
        files.release.set()
        await settle()

    runtime.settle = settle_letting_the_write_go  # type: ignore[method-assign]

    files.hold()
    first = asyncio.create_task(runtime.handle(BookVisit("Ann Lee", "kim", "follow", walk_in=True), "desk", "t1"))
    assert await asyncio.to_thread(files.syncing.wait, HOLD_SECONDS), "the first tap never reached the disk"
    # Tasks run in the order they are made: the second tap queues for the clinic's lock before stop begins.
    second = asyncio.create_task(runtime.handle(BookVisit("Bo Chan", "kim", "follow", walk_in=True), "desk", "t1"))
    await asyncio.wait_for(floors.stop(), HOLD_SECONDS)
    answers = await asyncio.wait_for(asyncio.gather(first, second), HOLD_SECONDS)

    assert log.seen_at_close == ["Ann Lee", "Bo Chan"], "the log was closed before the taps in flight were folded"
    assert [a.event.seq for a in answers] == [1, 2]
    # Stored before the log closed: a new server on the same directory has both.
    again = test_floors(tmp_path, [quiet_clinic()], tick_seconds=3600)
    await again.start()
    try:
        assert [v.patient_name for v in again.get("riverside").floor.visits.values()] == ["Ann Lee", "Bo Chan"]
    finally:
        await again.stop()


async def test_a_tap_folded_while_the_server_stops_schedules_no_alert_review(tmp_path: Path) -> None:
    floors = test_floors(tmp_path, [quiet_clinic()], tick_seconds=3600)
    await floors.start()
    runtime = floors.get("riverside")
    tap = asyncio.create_task(runtime.handle(BookVisit("Ann Lee", "kim", "follow", walk_in=True), "desk", "t1"))
    await asyncio.sleep(0)  # the tap holds the clinic's lock: it is folded while stop settles
    await floors.stop()
    assert (await tap).event.seq == 1
    # A review scheduled now would wake after the log closed and try to append to it.
    runtime.schedule_review()
    assert runtime.writer._review is None or runtime.writer._review.done()
