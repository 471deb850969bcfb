"""`floor check [--repair]`: every clinic's day files and the staff directory, offline. It names each problem (file,
byte, last good seq), says what --repair would do, does it when asked, and exits non-zero while a problem is left."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from floor.log.base import Record
from floor.log.embedded import EmbeddedLog, check_logs, frame
from floor.log.owner import hold
from tests.support.records import DAY, record

CLINIC = "riverside"


@pytest.fixture(autouse=True)
def _quiet_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    # `main` points the logs at this test's captured stderr, which later tests would find closed.
    monkeypatch.setattr("floor.cli.configure", lambda level: None)


def write_log(data_dir: Path, records: list[Record]) -> Path:
    async def write() -> None:
        log = EmbeddedLog(data_dir)
        await log.open()
        for r in records:
            await log.append(CLINIC, r)
        await log.close()

    asyncio.run(write())
    return data_dir / CLINIC / f"{DAY.isoformat()}.log"


def floor_check(data_dir: Path, *more: str) -> int:
    from floor.cli import main

    try:
        main(["check", "--data-dir", str(data_dir), *more])
    except SystemExit as e:
        return 1 if isinstance(e.code, str) else int(e.code or 0)
    return 0


def reopened_seqs(data_dir: Path) -> list[int]:
    async def read() -> list[int]:
        log = EmbeddedLog(data_dir)
        await log.open()
        return [e.seq for e in await log.read(CLINIC, 0) or []]

    return asyncio.run(read())


def test_a_sound_data_directory_has_no_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_log(tmp_path, [record(1), record(2), record(3, day=DAY + dt.timedelta(days=1))])
    (tmp_path / "directory.json").write_bytes(b"{}")
    assert floor_check(tmp_path) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2 log files, 3 records, the staff directory: 0 problem(s)"


def test_a_damaged_last_record_is_reported_and_moved_aside_with_repair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_log(tmp_path, [record(1), record(2)])
    intact = path.read_bytes()
    last = frame(record(3))
    damaged = intact + last[:-3] + bytes([last[-3] ^ 0x01]) + last[-2:]  # one byte flipped, CRC and all
    path.write_bytes(damaged)

    assert floor_check(tmp_path) == 1
    out = capsys.readouterr().out
    assert (
        f"{path}: damaged last record at byte {len(intact)} ({len(last)} bytes; the last good record "
        "before it: seq 2)" in out
    )
    assert f"--repair would move bytes {len(intact)}-{len(damaged)} to {path.name}.damaged-{len(intact)}" in out
    assert path.read_bytes() == damaged  # a check alone changes nothing

    with capture_logs() as logs:
        assert floor_check(tmp_path, "--repair") == 0
    assert "repaired: move bytes" in capsys.readouterr().out
    assert [(line["event"], line["log_level"]) for line in logs] == [("damaged_tail_quarantined", "error")]
    assert path.read_bytes() == intact
    assert path.with_name(f"{path.name}.damaged-{len(intact)}").read_bytes() == damaged[len(intact) :]
    assert floor_check(tmp_path) == 0
    assert reopened_seqs(tmp_path) == [1, 2]


def test_damaged_bytes_that_hold_no_record_are_moved_out_from_between_whole_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What the padding of an old failed write left: zeros, then records whose seqs carry on.
    path = write_log(tmp_path, [record(1), record(2)])
    intact = path.read_bytes()
    damaged = intact + b"\0" * 587 + frame(record(3)) + frame(record(4))
    path.write_bytes(damaged)
    assert floor_check(tmp_path) == 1
    out = capsys.readouterr().out
    assert f"damaged record at byte {len(intact)}" in out and "hold no record (seq 3 after them follows seq 2)" in out
    assert floor_check(tmp_path, "--repair") == 0
    assert path.read_bytes() == intact + frame(record(3)) + frame(record(4))
    assert path.with_name(f"{path.name}.damaged-{len(intact)}").read_bytes() == b"\0" * 587
    assert reopened_seqs(tmp_path) == [1, 2, 3, 4]


def test_damage_that_held_a_record_is_not_repaired_and_check_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_log(tmp_path, [record(1), record(2), record(3)])
    data = bytearray(path.read_bytes())
    data[len(frame(record(1))) + 20] ^= 0xFF  # inside seq 2, with seq 3 after it
    path.write_bytes(bytes(data))
    assert floor_check(tmp_path, "--repair") == 1
    out = capsys.readouterr().out
    assert f"{path}: damaged record at byte {len(frame(record(1)))}" in out and "seq 2 is in the damaged part" in out
    assert "not repairable here: restore the file from a backup" in out
    assert path.read_bytes() == bytes(data)


def test_a_gap_in_the_seqs_across_days_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_log(tmp_path, [record(1), record(2), record(3, day=DAY + dt.timedelta(days=1))])
    (tmp_path / CLINIC / f"{DAY.isoformat()}.log").write_bytes(frame(record(1)))  # seq 2 lost
    findings, files, records = check_logs(tmp_path)
    assert (files, records) == (2, 2)
    assert [f.problem for f in findings] == [
        "seq 3 follows seq 1 (record 0, seq missing): restore the file from a backup"
    ]
    assert floor_check(tmp_path, "--repair") == 1


def test_check_reports_a_damaged_staff_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_log(tmp_path, [record(1)])
    (tmp_path / "directory.json").write_bytes(b'{"staff":{"ana":')
    assert floor_check(tmp_path) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'directory.json'}: the staff directory is unreadable" in out
    assert "--repair would move it to directory.json.damaged-0" in out
    assert floor_check(tmp_path, "--repair") == 0
    assert (tmp_path / "directory.json.damaged-0").exists() and not (tmp_path / "directory.json").exists()


def test_repair_is_refused_while_a_server_writes_the_data_directory(tmp_path: Path) -> None:
    path = write_log(tmp_path, [record(1)])
    path.write_bytes(path.read_bytes() + b"\0\0\0")
    server = hold(tmp_path)
    try:
        with pytest.raises(SystemExit, match="stop it before `floor check --repair`"):
            from floor.cli import main

            main(["check", "--data-dir", str(tmp_path), "--repair"])
    finally:
        server.close()
    assert path.read_bytes().endswith(b"\0\0\0")


def test_a_clinic_whose_file_was_not_given_is_said_not_folded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`floor check` folds the days of the clinics whose files it is given (the demo clinic's by default): another
    clinic's passed without a word, and a clean report read as "the server will start on it" (a review)."""
    lakeside = tmp_path / "lakeside"
    lakeside.mkdir()
    (lakeside / f"{DAY}.log").write_bytes(frame(record(1)))
    assert floor_check(tmp_path) == 0
    assert "lakeside's days were not folded: no clinic file for it was given (--clinic)" in capsys.readouterr().err


def test_a_server_starting_as_floor_check_looks_at_the_lock_still_takes_it(tmp_path: Path) -> None:
    """`floor check` takes a shared lock for an instant to see whether a server writes; a server starting in that
    instant took it for another writer and refused to start (a review). It tries again for a moment."""
    import fcntl
    import threading

    from floor.log.owner import LOCK_NAME

    (tmp_path / LOCK_NAME).write_bytes(b"")
    looking = open(tmp_path / LOCK_NAME, "rb")  # noqa: SIM115
    fcntl.flock(looking.fileno(), fcntl.LOCK_SH)
    threading.Timer(0.1, looking.close).start()  # floor check done looking
    server = hold(tmp_path)
    assert server is not None
    server.close()
