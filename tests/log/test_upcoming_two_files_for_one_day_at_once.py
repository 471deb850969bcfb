"""Hostile review: two managers send a file for the same day ahead at once (or one manager's page and a script).
With the embedded backend (floor/schedule/upcoming.py FileUpcoming), each `put` runs in a thread of its own and
writes `DATA/<clinic>/upcoming/<day>.partial`: the same file for both. The second `open(..., "wb")` truncates
the first's, both write from offset 0, and the first `os.replace` moves the shared inode into place while the other
still writes into it. What is kept is then the shorter file's bytes followed by the tail of the longer: not JSON.
On its day `get` cannot decode it, `book_upcoming` fails at every tick (logged, no `schedule` alert), nothing is
booked, and `GET .../schedule/upcoming` fails too. The other request is answered 503 for a file that was (partly)
kept.

The interleaving is fixed here by holding each writer between its `open` and its `write` (a thread switch can
fall there in a real server); the code under test is unchanged."""

from __future__ import annotations

import asyncio
import builtins
import datetime as dt
import os
import threading
import time
from pathlib import Path

import msgspec
import pytest

import floor.schedule.upcoming as upcoming_module
from floor.log.base import LogUnavailable
from floor.schedule.upcoming import FileUpcoming, UpcomingSchedule

pytestmark = pytest.mark.anyio

DAY = dt.date(2026, 11, 24)
AT = dt.datetime(2026, 11, 23, 16, 0, tzinfo=dt.UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _schedule(rows: int, by: str) -> UpcomingSchedule:
    body = "external_id,time,provider,visit_type,patient_name\n" + "".join(
        f"A-{n},{8 + n // 6:02d}:{n % 6 * 10:02d},kim,follow,Patient {n}\n" for n in range(rows)
    )
    return UpcomingSchedule("riverside", DAY, "csv", body.encode(), rows, AT, by, "desk")


class _Writer:
    """A `.partial` file opened for writing, whose writes wait their turn: the shorter file is written after the
    longer one (as two threads may happen to run)."""

    def __init__(self, f, turn: threading.Event, longest: int) -> None:
        self.f, self.turn, self.longest = f, turn, longest

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.f.close()

    def write(self, data: bytes) -> int:
        if len(data) < self.longest:
            self.turn.wait(5)
        n = self.f.write(data)
        if len(data) >= self.longest:
            self.turn.set()
        return n

    def flush(self) -> None:
        self.f.flush()

    def fileno(self) -> int:
        return self.f.fileno()


async def test_two_files_kept_for_one_day_at_once_leave_one_of_them_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    short, long = _schedule(3, "mgr-dana"), _schedule(40, "mgr-lee")
    longest = len(msgspec.json.encode(long))
    both_open, turn = threading.Barrier(2), threading.Event()

    def opened(path, mode="r", *args, **kwargs):
        f = builtins.open(path, mode, *args, **kwargs)  # noqa: SIM115 (closed by _Writer or the caller)
        if "w" in mode and str(path).endswith(".partial"):
            both_open.wait(5)  # both threads have opened (and truncated) the one .partial file
            return _Writer(f, turn, longest)
        return f

    monkeypatch.setattr(upcoming_module, "open", opened, raising=False)
    kept = FileUpcoming(tmp_path)
    answers = await asyncio.gather(kept.put(short), kept.put(long), return_exceptions=True)
    monkeypatch.undo()

    stored = [s for s, a in zip((short, long), answers, strict=True) if a is True]
    assert all(a is True or isinstance(a, LogUnavailable) for a in answers), answers
    raw = (tmp_path / "riverside" / "upcoming" / f"{DAY}.json").read_bytes()
    try:
        now_kept = await kept.get("riverside", DAY)
    except msgspec.DecodeError as e:
        pytest.fail(f"the file kept for {DAY} is not JSON ({e}); answers {answers}; it ends {raw[-60:]!r}")
    assert now_kept in stored, f"kept {now_kept.staged_by}'s file while the puts answered {answers}"
    # Both kept, one after the other: the day has the file sent last, as if they had come one by one.
    assert answers == [True, True] and now_kept == long, f"kept {now_kept.staged_by}'s file; answers {answers}"
    assert [p.name for p in raw_dir(tmp_path)] == [f"{DAY}.json"], "a temp file was left behind"


def raw_dir(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "riverside" / "upcoming").iterdir())


async def test_a_day_withdrawn_while_its_file_is_still_being_written_stays_withdrawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = FileUpcoming(tmp_path)
    await kept.put(_schedule(3, "mgr-dana"))
    writing, go_on = threading.Event(), threading.Event()

    def opened(path, mode="r", *args, **kwargs):
        if "w" in mode and str(path).endswith(".partial"):
            writing.set()
            go_on.wait(5)  # the file sent is written while the withdrawal asked for after it is done
        return builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr(upcoming_module, "open", opened, raising=False)
    sent = asyncio.ensure_future(kept.put(_schedule(40, "mgr-lee")))
    assert await asyncio.to_thread(writing.wait, 5)
    assert await kept.remove("riverside", DAY)
    go_on.set()
    await sent
    assert await kept.get("riverside", DAY) is None, "the file sent before the withdrawal came back after it"
    assert raw_dir(tmp_path) == []


async def test_a_temp_file_a_crash_left_is_swept_once_stale(tmp_path: Path) -> None:
    kept = FileUpcoming(tmp_path)
    folder = tmp_path / "riverside" / "upcoming"
    folder.mkdir(parents=True)
    old, fresh = folder / f"{DAY}.0123456789abcdef.partial", folder / f"{DAY}.fedcba9876543210.partial"
    old.write_bytes(b"half a file")
    fresh.write_bytes(b"being written")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    await kept.forget_clinics_before("riverside", DAY)
    assert raw_dir(tmp_path) == [fresh]
