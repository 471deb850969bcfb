"""The embedded log against its contract: round trips, refusals, days, torn tails, disk errors, races, power loss."""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import random
import struct
import threading
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from floor.core.events import Event, VisitBooked
from floor.log.base import KeyTaken, LogCorrupt, LogUnavailable, Record, SeqTaken
from floor.log.embedded import EmbeddedLog, frame
from floor.log.files import AppendFile, Files, OsFiles
from tests.support.records import DAY, T0, event, receipt, record
from tests.support.volatile_files import PowerCut, VolatileFiles
from tests.support.waiting import until as _until

pytestmark = pytest.mark.anyio

CLINIC = "riverside"
ROOT = Path("/data")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def opened(data_dir: Path, files: Files | None = None) -> EmbeddedLog:
    log = EmbeddedLog(data_dir, files)
    await log.open()
    return log


def day_file(data_dir: Path, day: dt.date = DAY) -> Path:
    return data_dir / CLINIC / f"{day.isoformat()}.log"


# -- on a real disk (the shared contract is in test_log_contract.py) ------------------------------------


async def test_receipts_are_kept_for_24_hours_across_days_and_reopens(tmp_path: Path) -> None:
    def keyed(seq: int, key: str, hours: float) -> Record:
        at = T0 + dt.timedelta(hours=hours)
        e = Event(seq, at, at.date(), "ma", "t1", 1, VisitBooked(f"v{seq}", "P", "kim", "follow", at, walk_in=True))
        return Record(e, receipt(key, seq))

    records = [keyed(1, "old", 0), keyed(2, "evening", 8), keyed(3, "next-day", 26)]
    assert records[2].event.day != records[1].event.day
    log = await opened(tmp_path)
    for r in records:
        await log.append(CLINIC, r)
    for reader in (log, await opened(tmp_path)):
        assert await reader.receipt(CLINIC, "old") is None  # 26 hours before the newest record
        assert await reader.receipt(CLINIC, "evening") == records[1].receipt  # yesterday's file, 18 hours
        assert await reader.receipt(CLINIC, "next-day") == records[2].receipt
    with pytest.raises(KeyTaken):
        await log.append(CLINIC, Record(event(4, day=records[2].event.day), receipt("evening", 4)))


@pytest.mark.parametrize("how", ["moved over it", "copied onto it", "removed"])
async def test_a_day_file_restored_over_a_running_log_takes_no_more_taps_for_that_clinic(
    tmp_path: Path, how: str
) -> None:
    """A backup restored over a running server (not the documented way, which stops it first): every append
    went to the replaced file, was acknowledged, and was lost at the restart. Now the clinic's taps are refused
    (503) until a restart reads the log as it is, and the restored file is left exactly as restored."""
    log = await opened(tmp_path)
    for seq in (1, 2):
        await log.append(CLINIC, Record(event(seq)))
    backup = tmp_path / "backup.log"
    backup.write_bytes(day_file(tmp_path).read_bytes())
    await log.append(CLINIC, Record(event(3)))
    await log.append("hillside", Record(event(1)))
    if how == "moved over it":
        backup.replace(day_file(tmp_path))  # rsync, tar and mv leave a new file at the path
    elif how == "copied onto it":
        day_file(tmp_path).write_bytes(backup.read_bytes())  # cp rewrites the same file, shorter
    else:
        day_file(tmp_path).unlink()
    restored = day_file(tmp_path).read_bytes() if how != "removed" else None

    for seq in (4, 4):  # and the tablet's retry
        with pytest.raises(LogUnavailable, match="replaced, changed or removed"):
            await log.append(CLINIC, Record(event(seq)))
    assert (day_file(tmp_path).read_bytes() if day_file(tmp_path).exists() else None) == restored
    assert "restarted" in (await log.trouble(1.0) or "")  # /readyz: not ready until the restart
    await log.append("hillside", Record(event(2)))  # another clinic's day file is its own
    await log.close()

    again = await opened(tmp_path)  # the restart reads what is on the disk
    assert await again.last_seq(CLINIC) == (2 if how != "removed" else 0)
    await again.append(CLINIC, Record(event(await again.last_seq(CLINIC) + 1)))
    assert await again.trouble(1.0) is None


@pytest.mark.parametrize("how", ["copied onto it", "moved over it", "the clinic's directory"])
async def test_a_restore_overnight_is_noticed_at_the_next_days_first_tap(tmp_path: Path, how: str) -> None:
    """The day rolls between the restore and the next tap: the last day's file was closed unchecked and the new
    day's begun, seq 4 after a file ending at 2 (seq 3, acknowledged, lost). A review of the guard above."""
    log = await opened(tmp_path)
    for seq in (1, 2):
        await log.append(CLINIC, Record(event(seq)))
    backup = day_file(tmp_path).read_bytes()
    await log.append(CLINIC, Record(event(3)))
    if how == "copied onto it":
        day_file(tmp_path).write_bytes(backup)
    elif how == "moved over it":
        (tmp_path / "backup.log").write_bytes(backup)
        (tmp_path / "backup.log").replace(day_file(tmp_path))
    else:
        (tmp_path / CLINIC).rename(tmp_path / "set-aside")
        (tmp_path / CLINIC).mkdir()
        day_file(tmp_path).write_bytes(backup)
    with pytest.raises(LogUnavailable, match="replaced, changed or removed"):
        await log.append(CLINIC, Record(event(4, day=DAY + dt.timedelta(days=1))))
    assert not day_file(tmp_path, DAY + dt.timedelta(days=1)).exists()
    await log.append("hillside", Record(event(1, day=DAY + dt.timedelta(days=1))))  # another clinic goes on


async def test_a_restore_between_a_start_and_the_first_tap_is_noticed(tmp_path: Path) -> None:
    log = await opened(tmp_path)
    for seq in (1, 2):
        await log.append(CLINIC, Record(event(seq)))
    backup = day_file(tmp_path).read_bytes()
    await log.append(CLINIC, Record(event(3)))
    await log.close()
    again = await opened(tmp_path)
    assert await again.last_seq(CLINIC) == 3  # indexed at the start (floor serve preloads every clinic)
    day_file(tmp_path).write_bytes(backup)
    with pytest.raises(LogUnavailable, match="replaced, changed or removed"):
        await again.append(CLINIC, Record(event(4)))
    assert day_file(tmp_path).read_bytes() == backup


async def test_a_clinic_started_on_an_older_day_file_goes_on_to_todays(tmp_path: Path) -> None:
    """The newest day file as found at the start is checked when the next day's is begun: unchanged, it goes on."""
    log = await opened(tmp_path)
    await log.append(CLINIC, Record(event(1)))
    await log.close()
    again = await opened(tmp_path)
    for seq, days in ((2, 1), (3, 1), (4, 3)):
        await again.append(CLINIC, Record(event(seq, day=DAY + dt.timedelta(days=days))))
    assert await again.trouble(1.0) is None
    assert [e.seq for e in (await again.read(CLINIC, 0)) or []] == [1, 2, 3, 4]


async def test_each_day_has_its_own_file_and_read_day_gives_the_seq_before_it(tmp_path: Path) -> None:
    d1, d3 = DAY, DAY + dt.timedelta(days=2)
    first = [event(s, day=d1) for s in (1, 2, 3)]
    third = [event(s, day=d3) for s in (4, 5)]
    log = await opened(tmp_path)
    for e in first + third:
        await log.append(CLINIC, Record(e))
    assert sorted(p.name for p in (tmp_path / CLINIC).iterdir()) == ["2026-11-23.log", "2026-11-25.log"]

    for reader in (log, await opened(tmp_path)):
        assert await reader.read_day(CLINIC, d1 - dt.timedelta(days=1)) == (0, [])
        assert await reader.read_day(CLINIC, d1) == (0, first)
        assert await reader.read_day(CLINIC, d1 + dt.timedelta(days=1)) == (3, [])
        assert await reader.read_day(CLINIC, d3) == (3, third)
        assert await reader.read_day(CLINIC, d3 + dt.timedelta(days=1)) == (5, [])


async def test_read_since_is_none_when_the_log_no_longer_holds_the_start(tmp_path: Path) -> None:
    log = await opened(tmp_path)
    for s in range(1, 5):
        await log.append(CLINIC, record(s, day=DAY + dt.timedelta(days=(s - 1) // 2)))
    await log.close()
    day_file(tmp_path).unlink()  # seq 1 and 2, archived away
    log = await opened(tmp_path)
    assert await log.read(CLINIC, 0) is None
    assert await log.read(CLINIC, 1) is None
    assert [e.seq for e in await log.read(CLINIC, 2)] == [3, 4]


# -- a torn tail and damage ---------------------------------------------------------------------------


def _tears() -> dict[str, bytes]:
    f = frame(record(4, key="never-answered"))
    return {
        "part of the header": f[:5],
        "header and half the record": f[: len(f) // 2],
        "all but the last byte": f[:-1],
        "whole but a flipped byte": f[:-3] + bytes([f[-3] ^ 0x20]) + f[-2:],
        "zeros the file system added": b"\0" * 4096,
        "a length running past the end": struct.pack(">II", 10_000, 0) + b'{"event":',
    }


@pytest.mark.parametrize("tear", _tears().values(), ids=_tears().keys())
async def test_a_torn_final_record_is_logged_and_cut_off_and_the_next_append_works(tmp_path: Path, tear: bytes) -> None:
    log = await opened(tmp_path)
    acked = [record(1, key="k1"), record(2), record(3, key="k3")]
    for r in acked:
        await log.append(CLINIC, r)
    await log.close()
    path = day_file(tmp_path)
    intact = path.read_bytes()
    path.write_bytes(intact + tear)

    with capture_logs() as logs:
        log = await opened(tmp_path)
        assert await log.last_seq(CLINIC) == 3
    # An error naming the file, the byte and the last good seq; the damaged bytes moved beside the log.
    assert [(line["event"], line["log_level"]) for line in logs] == [("damaged_tail_quarantined", "error")]
    assert logs[0]["file"] == str(path) and logs[0]["offset"] == len(intact) and logs[0]["last_seq"] == 3
    assert logs[0]["bytes"] == len(tear)
    moved = path.with_name(f"{path.name}.damaged-{len(intact)}")
    assert logs[0]["moved_to"] == str(moved) and moved.read_bytes() == tear
    assert path.read_bytes() == intact  # cut off, on the disk
    assert await log.read(CLINIC, 0) == [r.event for r in acked]
    assert await log.receipt(CLINIC, "k3") == acked[2].receipt
    assert await log.receipt(CLINIC, "never-answered") is None

    await log.append(CLINIC, record(4, key="never-answered"))
    await log.close()
    with capture_logs() as logs:
        log = await opened(tmp_path)
        assert [e.seq for e in await log.read(CLINIC, 0)] == [1, 2, 3, 4]
    assert logs == []


def _damages() -> dict[str, tuple[int, bytes]]:
    """Ways to damage the second of three records: (offset into that record, bytes written there)."""
    return {
        "a flipped byte in the record": (20, b"#"),
        "a zeroed header": (0, b"\0" * 8),
        "a bad checksum": (4, b"\xde\xad\xbe\xef"),
        "a length running past the end": (0, struct.pack(">I", 1_000_000)),
        "a length one byte short": (0, struct.pack(">I", len(frame(record(2))) - 9)),
    }


@pytest.mark.parametrize("damage", _damages().values(), ids=_damages().keys())
async def test_damage_followed_by_a_valid_record_is_corruption_and_nothing_is_cut(
    tmp_path: Path, damage: tuple[int, bytes]
) -> None:
    log = await opened(tmp_path)
    for s in (1, 2, 3):
        await log.append(CLINIC, record(s))
    await log.close()
    path = day_file(tmp_path)
    data = bytearray(path.read_bytes())
    at, patch = damage
    at += len(frame(record(1)))
    data[at : at + len(patch)] = patch
    path.write_bytes(bytes(data))

    log = await opened(tmp_path)
    # The message names the file, the byte, the last good seq, and what to do.
    where = rf"{day_file(tmp_path)}: damaged record at byte {len(frame(record(1)))} .*seq 1\).*floor check"
    with pytest.raises(LogCorrupt, match=where):
        await log.last_seq(CLINIC)
    with pytest.raises(LogCorrupt):
        await log.read_day(CLINIC, DAY)
    assert path.read_bytes() == bytes(data)  # a person must look: the log does not "repair" acknowledged records


async def test_damage_in_an_older_day_is_reported_when_that_day_is_read(tmp_path: Path) -> None:
    log = await opened(tmp_path)
    await log.append(CLINIC, record(1))
    await log.append(CLINIC, record(2))
    await log.append(CLINIC, record(3, day=DAY + dt.timedelta(days=1)))
    await log.append(CLINIC, record(4, day=DAY + dt.timedelta(days=2)))
    await log.close()
    path = day_file(tmp_path)
    data = bytearray(path.read_bytes())
    data[20] ^= 0xFF
    path.write_bytes(bytes(data))
    log = await opened(tmp_path)
    assert await log.last_seq(CLINIC) == 4  # opening reads only the two newest days
    assert await log.read(CLINIC, 2) == [
        event(3, day=DAY + dt.timedelta(days=1)),
        event(4, day=DAY + dt.timedelta(days=2)),
    ]
    with pytest.raises(LogCorrupt):
        await log.read_day(CLINIC, DAY)
    with pytest.raises(LogCorrupt):
        await log.read(CLINIC, 0)


# -- disk errors ----------------------------------------------------------------------------------------


class Faulty:
    """Files that pass through to `inner`, except that the next operation named in `fail` raises OSError.
    A failing write first lets `fail["write"]` bytes of the data through, as a short write would."""

    def __init__(self, inner: Files) -> None:
        self.inner = inner
        self.fail: dict[str, int] = {}

    def _check(self, op: str) -> None:
        if op in self.fail:
            del self.fail[op]
            raise OSError(errno.EIO, f"Input/output error (injected in {op})")

    def read(self, path: Path) -> bytes:
        return self.inner.read(path)

    def exists(self, path: Path) -> bool:
        return self.inner.exists(path)

    def list(self, directory: Path, pattern: str) -> list[Path]:
        return self.inner.list(directory, pattern)

    def makedirs(self, directory: Path) -> None:
        self._check("makedirs")
        self.inner.makedirs(directory)

    def open_append(self, path: Path) -> AppendFile:
        self._check("open_append")
        return _FaultyAppend(self, self.inner.open_append(path))

    def truncate(self, path: Path, size: int) -> None:
        self._check("truncate")
        self.inner.truncate(path, size)

    def sync_dir(self, directory: Path) -> None:
        self._check("sync_dir")
        self.inner.sync_dir(directory)

    def remove(self, path: Path) -> None:
        self._check("remove")
        self.inner.remove(path)

    def write_new(self, path: Path, data: bytes) -> None:
        self._check("write_new")
        self.inner.write_new(path, data)

    def free_space(self, directory: Path) -> int | None:
        return self.inner.free_space(directory)


class _FaultyAppend:
    def __init__(self, owner: Faulty, inner: AppendFile) -> None:
        self.owner, self.inner = owner, inner

    def write(self, data: bytes) -> None:
        if "write" in self.owner.fail:
            self.inner.write(data[: self.owner.fail["write"]])
        self.owner._check("write")
        self.inner.write(data)

    def sync(self) -> None:
        self.owner._check("sync")
        self.inner.sync()

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize(
    ("op", "partial"),
    [("write", 0), ("write", 11), ("sync", 0)],
    ids=["write fails", "short write then failure", "fsync fails"],
)
async def test_a_failed_write_is_unavailable_and_cut_back_and_the_next_append_works(
    tmp_path: Path, op: str, partial: int
) -> None:
    files = Faulty(OsFiles())
    log = await opened(tmp_path, files)
    await log.append(CLINIC, record(1))
    size = day_file(tmp_path).stat().st_size
    files.fail[op] = partial
    with pytest.raises(LogUnavailable):
        await log.append(CLINIC, record(2, key="k2"))
    assert not files.fail, "the fault was not hit"
    assert day_file(tmp_path).stat().st_size == size
    assert await log.last_seq(CLINIC) == 1
    assert await log.receipt(CLINIC, "k2") is None

    await log.append(CLINIC, record(2, key="k2"))
    await log.append(CLINIC, record(3))
    await log.close()
    with capture_logs() as logs:
        log = await opened(tmp_path)
        assert [e.seq for e in await log.read(CLINIC, 0)] == [1, 2, 3]
    assert logs == [], "the failed write left something behind"


async def test_a_failed_directory_sync_is_unavailable_and_the_retry_makes_the_file_durable() -> None:
    disk = VolatileFiles()
    files = Faulty(disk)
    log = await opened(ROOT, files)
    files.fail["sync_dir"] = 0
    with pytest.raises(LogUnavailable):
        await log.append(CLINIC, record(1))
    assert not files.fail
    await log.append(CLINIC, record(1))  # acknowledged
    await log.append(CLINIC, record(2))  # acknowledged

    after = await opened(ROOT, disk.crash())
    assert await after.read(CLINIC, 0) == [event(1), event(2)]


async def test_a_process_killed_between_creating_a_day_file_and_syncing_its_name_loses_nothing_later() -> None:
    disk = VolatileFiles()
    log = await opened(ROOT, disk)
    await log.append(CLINIC, record(1))
    disk.cut_power_at(op="open_append", after=True)  # the file of the next day now exists, its name not synced
    with pytest.raises(PowerCut):
        await log.append(CLINIC, record(2, day=DAY + dt.timedelta(days=1)))
    disk.disarm()  # only the process died; the machine (and its page cache) kept running

    log = await opened(ROOT, disk)
    await log.append(CLINIC, record(2, day=DAY + dt.timedelta(days=1)))  # acknowledged
    after = await opened(ROOT, disk.crash())
    assert [e.seq for e in await after.read(CLINIC, 0)] == [1, 2]


# -- a full disk ----------------------------------------------------------------------------------------------


class _ShortWrites:
    """A raw file as the system call sees it on a nearly full disk: a write stores `fits` bytes at most and
    says so in its count, without an error; then nothing fits (a count of 0, or ENOSPC)."""

    def __init__(self, fits: list[int], then_error: bool) -> None:
        self.fits, self.then_error, self.stored = fits, then_error, bytearray()

    def write(self, data) -> int:
        if not self.fits:
            if self.then_error:
                raise OSError(errno.ENOSPC, "No space left on device")
            return 0
        n = min(len(data), self.fits.pop(0))
        self.stored += bytes(data[:n])
        return n


@pytest.mark.parametrize("then_error", [True, False], ids=["then ENOSPC", "then a count of 0"])
def test_a_short_write_of_the_real_disk_is_an_error_not_a_stored_record(then_error: bool) -> None:
    from floor.log.files import write_all

    data = frame(record(1))
    whole = _ShortWrites([10, len(data)], then_error)
    write_all(whole, data)  # a short count, then the rest: all of it stored
    assert whole.stored == data
    short = _ShortWrites([len(data) // 2], then_error)
    with pytest.raises(OSError) as failed:
        write_all(short, data)
    assert failed.value.errno == errno.ENOSPC
    assert short.stored == data[: len(data) // 2]


async def test_a_disk_full_mid_record_acknowledges_only_whole_records_and_leaves_the_file_as_it_was() -> None:
    disk = VolatileFiles()
    log = await opened(ROOT, disk)
    disk.room = 5 * len(frame(record(1, key="tap-1"))) + 100  # about five records, then the disk is full
    acked: list[Record] = []
    before = b""
    for seq in range(1, 20):
        r = record(seq, key=f"tap-{seq}")
        room = disk.room
        try:
            await log.append(CLINIC, r)
        except LogUnavailable as e:
            assert "No space left" in str(e)
            break
        acked.append(r)
        before = disk.read(day_file(ROOT))
    else:
        raise AssertionError("the disk never filled up")
    assert 0 < room < len(frame(r)), "the failing write was not a short one (part of the record fitting)"
    assert disk.read(day_file(ROOT)) == before, "the failed append left the file changed"
    assert "disk is full" in (await log.trouble(1.0) or "")
    for _ in range(3):  # retries while full: refused, the file unchanged, still in trouble
        with pytest.raises(LogUnavailable):
            await log.append(CLINIC, record(len(acked) + 1))
        assert disk.read(day_file(ROOT)) == before
    assert await log.trouble(1.0) is not None
    assert await log.last_seq(CLINIC) == len(acked)

    disk.room = 1_000_000  # room again: /readyz recovers before any tap (a probe file is written and removed)
    assert await log.trouble(1.0) is None
    assert disk.contents().keys() == {day_file(ROOT)}, "the probe file was left behind"
    after_full = record(len(acked) + 1, key="after")
    await log.append(CLINIC, after_full)
    acked.append(after_full)

    restarted = await opened(ROOT, disk.crash())
    assert await restarted.read(CLINIC, 0) == [r.event for r in acked]
    assert await restarted.receipt(CLINIC, "after") == after_full.receipt
    await restarted.append(CLINIC, record(len(acked) + 1))


async def test_after_a_failed_write_readyz_is_in_trouble_until_the_disk_takes_a_write_again(tmp_path: Path) -> None:
    files = Faulty(OsFiles())
    log = await opened(tmp_path, files)
    await log.append(CLINIC, record(1))
    assert await log.trouble(1.0) is None
    files.fail["sync"] = 0
    with pytest.raises(LogUnavailable):
        await log.append(CLINIC, record(2))
    files.fail["write_new"] = 0  # the probe's small file fails: the disk still refuses writes
    assert "could not write (Input/output error" in (await log.trouble(1.0) or "")
    assert not files.fail
    assert await log.trouble(1.0) is None  # the probe's file was written, synced and removed
    assert not (tmp_path / ".floor-write-probe").exists()

    files.fail["write"] = 0
    with pytest.raises(LogUnavailable):
        await log.append(CLINIC, record(2))
    await log.append(CLINIC, record(2))  # a write that succeeds clears it too
    assert await log.trouble(1.0) is None


class _Denied(Faulty):
    """Files where the server's user may not write under `denied` (a clinic's directory, or one day file, owned by
    another user after a restore or a `floor import` run as root): PermissionError, as the real disk says it."""

    def __init__(self, inner: Files) -> None:
        super().__init__(inner)
        self.denied: Path | None = None
        #: More places denied at once (another clinic's directory).
        self.also: set[Path] = set()

    def _deny(self, path: Path) -> None:
        for denied in {self.denied, *self.also} - {None}:
            if path == denied or denied in path.parents:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))

    def open_append(self, path: Path) -> AppendFile:
        self._deny(path)
        return super().open_append(path)

    def write_new(self, path: Path, data: bytes) -> None:
        self._deny(path)
        super().write_new(path, data)


@pytest.mark.parametrize("denied", ["the clinic's directory", "its day file"])
async def test_readyz_stays_in_trouble_while_the_clinic_it_failed_to_write_still_may_not_be_written(
    tmp_path: Path, denied: str
) -> None:
    # Every tap to the clinic was refused 503 while /readyz answered 200 again at once: the probe wrote its
    # small file in the data directory, which was writable, not where the write had failed (an ops review).
    files = _Denied(OsFiles())
    if denied == "its day file":
        log = await opened(tmp_path, files)
        await log.append(CLINIC, record(1))
        await log.close()
    log = await opened(tmp_path, files)
    files.denied = tmp_path / CLINIC if denied == "the clinic's directory" else day_file(tmp_path)
    seq = await log.last_seq(CLINIC) + 1
    with capture_logs() as logged, pytest.raises(LogUnavailable, match="Permission denied"):
        await log.append(CLINIC, record(seq))
    # The on-call engineer is told which file, and what to do (the line said only "Permission denied", errno 13).
    (failed,) = [line for line in logged if line["event"] == "log_write_failed"]
    assert failed["file"] == str(day_file(tmp_path)) and "may write this file" in failed["then"]
    for _ in range(2):  # looked at again by each /readyz: still not ready
        assert "could not write (Permission denied" in (await log.trouble(1.0) or "")
    files.denied = None  # put right (chown): ready again before any tap, and the tap is stored
    assert await log.trouble(1.0) is None
    await log.append(CLINIC, record(seq))
    assert await log.last_seq(CLINIC) == seq
    assert not list(tmp_path.rglob(".floor-write-probe"))


@pytest.mark.parametrize("denied", ["the clinic's directory", "its day file"])
@pytest.mark.parametrize("start", ["floor serve's preload", "the clinic's first read"])
async def test_a_clinic_that_may_not_be_written_at_start_is_not_ready_before_any_tap(
    tmp_path: Path, denied: str, start: str
) -> None:
    # A clinic's directory (or its day file) restored as root read ready on /readyz until the first tap to it was
    # refused: the start probed only the data directory, which was writable.
    log = await opened(tmp_path, OsFiles())
    await log.append(CLINIC, record(1))
    await log.close()
    files = _Denied(OsFiles())
    files.denied = tmp_path / CLINIC if denied == "the clinic's directory" else day_file(tmp_path)
    log = await opened(tmp_path, files)
    assert await log.trouble(1.0) is None  # the data directory takes writes
    with capture_logs() as logged:
        if start == "floor serve's preload":
            log.preload([CLINIC])
        else:
            assert await log.last_seq(CLINIC) == 1
    (said,) = [line for line in logged if line["event"] == "log_clinic_not_writable_at_start"]
    assert said["clinic"] == CLINIC and "chown" in said["then"] and said["error"] == "Permission denied"
    for _ in range(2):  # looked at again by each /readyz, no tap needed: still not ready, saying why
        trouble = await log.trouble(1.0) or ""
        assert f"cannot write in clinic {CLINIC}'s directory (Permission denied)" in trouble, trouble
    files.denied = None  # put right (chown): ready again before any tap, and the tap is stored
    assert await log.trouble(1.0) is None
    await log.append(CLINIC, record(2))
    assert not list(tmp_path.rglob(".floor-write-probe"))


@pytest.mark.parametrize("when", ["taps refused", "at start"])
async def test_two_clinics_that_may_not_be_written_at_once_keep_readyz_in_trouble_until_both_can(
    tmp_path: Path, when: str
) -> None:
    # The log kept one failure for all its clinics: a second clinic's failed write overwrote the first's (and at
    # start only the first was kept), so once that one clinic could write again, or another clinic's write
    # succeeded, /readyz read ready while the other clinic still refused every tap.
    log = await opened(tmp_path, OsFiles())
    for clinic in (CLINIC, "hillside", "lakeside"):
        await log.append(clinic, record(1))
    await log.close()
    files = _Denied(OsFiles())
    files.denied, files.also = tmp_path / CLINIC, {tmp_path / "hillside"}
    log = await opened(tmp_path, files)
    if when == "at start":
        log.preload([CLINIC, "hillside", "lakeside"])
    else:
        for clinic in (CLINIC, "hillside"):
            with pytest.raises(LogUnavailable, match="Permission denied"):
                await log.append(clinic, record(2))
    assert "Permission denied" in (await log.trouble(1.0) or "")
    files.also = set()  # hillside put right, riverside not: still not ready
    await log.append("hillside", record(2))
    await log.append("lakeside", record(2))  # nor does another clinic's write make it so
    for _ in range(2):
        assert "Permission denied" in (await log.trouble(1.0) or "")
    with pytest.raises(LogUnavailable, match="Permission denied"):
        await log.append(CLINIC, record(2))
    files.denied = None
    assert await log.trouble(1.0) is None
    await log.append(CLINIC, record(2))


@pytest.mark.parametrize("mended_by", ["the next append", "/readyz"])
async def test_a_short_write_whose_cut_back_fails_is_cut_back_before_anything_else_is_appended(mended_by: str) -> None:
    disk = VolatileFiles()
    files = Faulty(disk)
    log = await opened(ROOT, files)
    await log.append(CLINIC, record(1, key="k1"))
    intact = disk.read(day_file(ROOT))
    disk.room = 30  # part of the next record fits
    files.fail["truncate"] = 0  # and cutting it back fails too
    with pytest.raises(LogUnavailable):
        await log.append(CLINIC, record(2, key="k2"))
    assert disk.read(day_file(ROOT))[: len(intact)] == intact
    assert len(disk.read(day_file(ROOT))) == len(intact) + 30  # 30 bytes of a record nobody was told of

    disk.room = None  # room again, but the cut-back still fails: nothing is appended after the damage
    files.fail["truncate"] = 0
    with pytest.raises(LogUnavailable, match="cut back"):
        await log.append(CLINIC, record(2, key="k2"))
    assert len(disk.read(day_file(ROOT))) == len(intact) + 30
    files.fail["truncate"] = 0
    assert "could not cut a failed write back" in (await log.trouble(1.0) or "")
    assert len(disk.read(day_file(ROOT))) == len(intact) + 30
    if mended_by == "/readyz":
        assert await log.trouble(1.0) is None  # cut back now, under the clinic's lock
        assert disk.read(day_file(ROOT)) == intact
    await log.append(CLINIC, record(2, key="k2"))
    await log.append(CLINIC, record(3))
    assert await log.trouble(1.0) is None
    restarted = await opened(ROOT, disk.crash())
    assert [e.seq for e in await restarted.read(CLINIC, 0)] == [1, 2, 3]
    assert await restarted.receipt(CLINIC, "k2") is not None


async def test_a_damaged_tail_that_cannot_be_moved_aside_stops_the_clinic_and_is_left_as_it_is() -> None:
    disk = VolatileFiles()
    log = await opened(ROOT, disk)
    await log.append(CLINIC, record(1))
    await log.close()
    disk.open_append(day_file(ROOT)).write(frame(record(2))[:-4])  # a torn last record
    damaged = disk.read(day_file(ROOT))
    disk.room = 10  # too little for the copy of the damaged bytes
    with pytest.raises(LogUnavailable, match=rf"{day_file(ROOT)}: the damaged tail from byte .* Free space"):
        await (await opened(ROOT, disk)).last_seq(CLINIC)
    assert disk.read(day_file(ROOT)) == damaged
    disk.room = None
    assert await (await opened(ROOT, disk)).last_seq(CLINIC) == 1


# -- concurrency ------------------------------------------------------------------------------------------


class GatedSync(Faulty):
    """Syncs wait until the test opens the gate (an fsync that takes a long time)."""

    def __init__(self, inner: Files) -> None:
        super().__init__(inner)
        self.gate = threading.Event()
        self.waiting = threading.Event()

    def open_append(self, path: Path) -> AppendFile:
        inner = self.inner.open_append(path)
        gated = self

        class Slow(_FaultyAppend):
            def sync(self) -> None:
                gated.waiting.set()
                assert gated.gate.wait(10), "the gate was never opened"
                inner.sync()

        return Slow(self, inner)


async def test_an_append_whose_caller_is_cancelled_still_finishes_before_the_next_one_is_checked(
    tmp_path: Path,
) -> None:
    files = GatedSync(OsFiles())
    log = await opened(tmp_path, files)
    first = asyncio.create_task(log.append(CLINIC, record(1, actor="first")))
    await _until(files.waiting.is_set, "the first append to reach its fsync")
    first.cancel()
    await asyncio.sleep(0.05)
    # A second writer with the same seq must be checked against the first write, not slip in beside it.
    second = asyncio.create_task(log.append(CLINIC, record(1, actor="second")))
    await asyncio.sleep(0.05)
    files.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await first
    with pytest.raises(SeqTaken):
        await second
    assert await log.last_seq(CLINIC) == 1
    await log.close()
    assert await (await opened(tmp_path)).read(CLINIC, 0) == [event(1, actor="first")]


async def test_close_waits_for_an_append_in_flight(tmp_path: Path) -> None:
    files = GatedSync(OsFiles())
    log = await opened(tmp_path, files)
    append = asyncio.create_task(log.append(CLINIC, record(1)))
    await _until(files.waiting.is_set, "the append to reach its fsync")
    closing = asyncio.create_task(log.close())
    await asyncio.sleep(0.05)
    assert not closing.done()
    files.gate.set()
    await append
    await closing
    assert await (await opened(tmp_path)).read(CLINIC, 0) == [event(1)]


# -- power loss ----------------------------------------------------------------------------------------------


def _day_of(seq: int) -> dt.date:
    return DAY + dt.timedelta(days=(seq - 1) // 40)


def _planned(seq: int) -> Record:
    return record(seq, key=f"tap-{seq}" if seq % 3 == 0 else None, day=_day_of(seq))


def _batch(rng: random.Random, first: int) -> list[Record]:
    """The next append: mostly one record, sometimes several taken together (as an import stores them)."""
    batch = [_planned(first)]
    size = rng.choice((1, 1, 1, 2, 3, 6))
    while len(batch) < size and _day_of(first + len(batch)) == batch[0].event.day:
        batch.append(_planned(first + len(batch)))
    return batch


async def _check_after_restart(
    log: EmbeddedLog, acked: list[Record], in_flight: list[Record], synced: bool
) -> list[Event]:
    """Every acknowledged record is there, in order, gap-free; at most the records in flight follow, all of
    them whole or none of them."""
    stored = await log.read(CLINIC, 0)
    assert stored is not None
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
    assert stored[: len(acked)] == [r.event for r in acked], "an acknowledged record was lost or changed"
    extra = stored[len(acked) :]
    assert extra in ([], [r.event for r in in_flight]), f"not the batch in flight, whole: {extra}"
    if synced:
        assert extra, "the record in flight was fsynced before the cut, yet it is gone"
    for r in acked:
        if r.receipt is not None and stored[-1].at - r.event.at <= log.receipt_ttl:
            assert await log.receipt(CLINIC, r.receipt.key) == r.receipt, "a live receipt was lost"
    assert await log.last_seq(CLINIC) == len(stored)
    return stored


async def _run_with_power_cuts(seed: int, n: int) -> tuple[int, int, int]:
    """Appends `n` records through power cuts (and some process crashes) at random points, checking after
    each restart. Returns (power cuts, process crashes, torn tails repaired)."""
    rng = random.Random(seed)
    disk = VolatileFiles()
    log = await opened(ROOT, disk)
    acked: list[Record] = []
    cuts = crashes = repaired = 0
    while len(acked) < n:
        planned = _batch(rng, len(acked) + 1)
        if rng.random() < 0.07:
            disk.cut_power_at(rng.randint(1, 8), after=rng.random() < 0.5)
        syncs = disk.syncs
        try:
            await log.append_all(CLINIC, planned)
        except PowerCut:
            synced = disk.syncs > syncs
            if rng.random() < 0.25:
                crashes += 1
                disk.disarm()  # the process died, the machine did not
            else:
                cuts += 1
                disk = disk.crash(keep_torn=rng if rng.random() < 0.8 else None)
            with capture_logs() as logs:
                log = await opened(ROOT, disk)
                stored = await _check_after_restart(log, acked, planned, synced)
            repaired += sum(line["event"] == "damaged_tail_quarantined" for line in logs)
            if len(stored) > len(acked):
                acked.extend(planned)
            continue
        acked.extend(planned)
    disk.cut_power_at(1)  # and a last cut, with nothing in flight
    with pytest.raises(PowerCut):
        await log.append(CLINIC, _planned(len(acked) + 1))
    log = await opened(ROOT, disk.crash(keep_torn=rng))
    await _check_after_restart(log, acked, [_planned(len(acked) + 1)], False)
    return cuts, crashes, repaired


@pytest.mark.parametrize("seed", range(8))
async def test_power_cuts_lose_no_acknowledged_append(seed: int) -> None:
    cuts, _, _ = await _run_with_power_cuts(seed, n=300)
    assert cuts >= 3, "the run hardly cut the power: the test would prove little"


async def test_power_cuts_across_seeds_do_tear_records_and_kill_processes() -> None:
    # The random runs above are only worth something if they hit the interesting cases.
    totals = [sum(x) for x in zip(*[await _run_with_power_cuts(seed, n=300) for seed in range(8)], strict=True)]
    cuts, crashes, repaired = totals
    assert cuts >= 30 and crashes >= 5 and repaired >= 5, totals


class SyncDoesNothing(Faulty):
    """A disk whose fsync (of files, or of directories) is a no-op: what the log would be without them."""

    def __init__(self, inner: Files, *, files: bool, directories: bool) -> None:
        super().__init__(inner)
        self.files, self.directories = files, directories

    def open_append(self, path: Path) -> AppendFile:
        inner = self.inner.open_append(path)
        no_sync = self.files

        class Append(_FaultyAppend):
            def sync(self) -> None:
                if not no_sync:
                    inner.sync()

        return Append(self, inner)

    def sync_dir(self, directory: Path) -> None:
        if not self.directories:
            self.inner.sync_dir(directory)


@pytest.mark.parametrize(
    ("files", "directories"), [(True, False), (False, True)], ids=["without fsync", "without directory fsync"]
)
async def test_the_power_cut_simulation_has_teeth(files: bool, directories: bool) -> None:
    disk = VolatileFiles()
    log = await opened(ROOT, SyncDoesNothing(disk, files=files, directories=directories))
    acked = [_planned(s) for s in range(1, 51)]
    for r in acked:
        await log.append(CLINIC, r)
    log = await opened(ROOT, disk.crash())
    assert await log.read(CLINIC, 0) == [], "acknowledged records survived a cut without fsync"
    with pytest.raises(AssertionError, match="acknowledged record was lost"):
        await _check_after_restart(log, acked, [], False)


async def test_an_append_after_close_is_refused_and_writes_nothing_until_the_log_is_opened_again(
    tmp_path: Path,
) -> None:
    # A stopping server closes its log and releases the directory to the next server: a late append (an alert
    # review waking after the stop) must not reopen a day file behind the new owner's back.
    log = await opened(tmp_path)
    await log.append(CLINIC, record(1))
    await log.close()
    size = day_file(tmp_path).stat().st_size
    with pytest.raises(LogUnavailable, match="closed"):
        await log.append(CLINIC, record(2))
    assert day_file(tmp_path).stat().st_size == size
    await log.open()
    await log.append(CLINIC, record(2))
    assert [e.seq for e in await log.read(CLINIC, 0)] == [1, 2]


class _PrunedAfterListing(OsFiles):
    """A prune that runs beside a read: the directory listed a day whose file is gone when it is read."""

    def __init__(self, gone: Path) -> None:
        self.gone = gone

    def list(self, directory: Path, pattern: str) -> list[Path]:
        return sorted({*super().list(directory, pattern), self.gone})


async def test_a_day_pruned_while_it_is_read_is_a_log_without_it_not_an_error(tmp_path: Path) -> None:
    """FileNotFoundError from a read racing a prune (seen in a review)."""
    log = await opened(tmp_path)
    for seq, days in ((1, 0), (2, 2)):
        await log.append(CLINIC, Record(event(seq, day=DAY + dt.timedelta(days=days))))
    racing = await opened(tmp_path)
    await racing.last_seq(CLINIC)  # indexed at the start, before the prune
    racing.files = _PrunedAfterListing(day_file(tmp_path, DAY + dt.timedelta(days=1)))
    assert await racing.read(CLINIC, 1) == [event(2, day=DAY + dt.timedelta(days=2))]
    assert await racing.read(CLINIC, 0) is None  # a day gone meanwhile: the log may not hold everything since 0
    assert await racing.read_day(CLINIC, DAY + dt.timedelta(days=1)) == (1, [])
    assert await racing.read_day(CLINIC, DAY) == (0, [event(1)])
