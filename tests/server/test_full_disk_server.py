"""A real `floor serve` on a real small file system (a 96 KiB tmpfs) that runs out of space, as in issue 15: a tap
is answered 201 only once all of it is on the disk, a refused one is 503 with Retry-After and leaves the file as it
was, /readyz is 503 while the disk is full and 200 once there is room, sign-in is 503 (never 500), and after a
kill -9 the server comes back with every acknowledged tap.

Mounting needs root (CI runs as root); the test skips only when the mount itself is refused. A failed start (a
damaged staff directory, a damaged log) says so in one line naming the file and what to do."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from floor.core.access import Role
from floor.core.events import Event, StepTaken
from floor.core.journey import Stage
from floor.log.base import Record
from tests.server.conftest import CLINIC_MORNING, ServerProcess, free_port

pytestmark = [pytest.mark.server, pytest.mark.long]

CLINIC = "riverside"


def mount(args: list[str], what: str) -> None:
    """`mount` with `args`. CI runs as root on a machine that mounts them: there, not mounting is a failure, never
    a skip."""
    mounted = subprocess.run(["mount", *args], capture_output=True, text=True)
    if mounted.returncode != 0:
        why = f"{what} cannot be mounted here: {mounted.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "small"
    where.mkdir()
    mount(["-t", "tmpfs", "-o", "size=96k,mode=0700", "tmpfs", str(where)], "a small file system")
    try:
        yield where
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill the file system, then give `leave` bytes back: what is left for the server."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        while True:
            try:
                if not f.write(b"\xff" * 4096):
                    break
            except OSError as e:
                assert e.errno == errno.ENOSPC
                break
    os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def walk_in(client: httpx.Client, name: str) -> httpx.Response:
    for _ in range(50):
        answer = client.post(
            f"/api/clinics/{CLINIC}/visits",
            json={"patient_name": name, "provider": "silva", "visit_type": "follow", "walk_in": True},
        )
        if answer.status_code != 429:  # this tablet's burst is spent: wait as told
            return answer
        time.sleep(float(answer.headers["Retry-After"]))
    raise AssertionError("throttled for good")


def day_file(data_dir: Path) -> Path:
    [found] = sorted((data_dir / CLINIC).glob("*.log"))
    return found


def test_a_real_full_disk_acknowledges_only_whole_taps_and_the_server_comes_back_with_all(
    small_disk: Path, tmp_path: Path
) -> None:
    server = ServerProcess(small_disk, tmp_path / "server.log")
    server.add_staff("desk-ana", Role.front_desk)
    server.start()
    try:
        desk = server.sign_in("desk-ana")
        acked: dict[int, str] = {}  # seq -> visit
        with httpx.Client(base_url=server.url, headers=desk, timeout=10) as client:
            first = walk_in(client, "Patient 0")
            assert first.status_code == 201
            acked[first.json()["seq"]] = first.json()["visit"]["id"]
            filler = fill(small_disk, leave=6 * 1024)

            refused = 0
            for i in range(1, 80):
                size = day_file(small_disk).stat().st_size
                answer = walk_in(client, f"Patient {i} " + "x" * 60)
                if answer.status_code == 201:
                    assert not refused, "a tap was acknowledged after one was refused, on a disk still full"
                    acked[answer.json()["seq"]] = answer.json()["visit"]["id"]
                    continue
                assert answer.status_code == 503, answer.text
                assert answer.headers["Retry-After"]
                assert day_file(small_disk).stat().st_size == size, "a refused tap changed the log file"
                refused += 1
                if refused == 3:
                    break
            assert refused == 3 and len(acked) > 3, (len(acked), refused)
            ready = client.get("/readyz")
            assert ready.status_code == 503 and "disk is full" in " ".join(ready.json()["problems"]), ready.text

            signing_in = httpx.post(
                f"{server.url}/api/sign-in", timeout=10, json={"staff": "desk-ana", "secret": "2468", "device": "t2"}
            )
            assert signing_in.status_code == 503 and signing_in.headers["Retry-After"], signing_in.text
            assert not (small_disk / "directory.tmp").exists()

            filler.unlink()  # room again: /readyz says so without waiting for a tap
            assert client.get("/readyz").status_code == 200
            after = walk_in(client, "After the disk had room")
            assert after.status_code == 201
            acked[after.json()["seq"]] = after.json()["visit"]["id"]
        server.sign_in("desk-ana", "t3")  # and sign-in writes the directory again

        server.kill9()
        server.start()
        with httpx.Client(base_url=server.url, headers=desk, timeout=10) as client:
            for seq, visit in acked.items():  # every acknowledged tap is back
                history = client.get(f"/api/clinics/{CLINIC}/visits/{visit}")
                assert history.status_code == 200 and seq in [e["seq"] for e in history.json()["events"]]
            assert client.get(f"/api/clinics/{CLINIC}/board").json()["seq"] == max(acked)
            assert walk_in(client, "After the restart").json()["seq"] == max(acked) + 1
    finally:
        server.stop()


def test_a_start_onto_a_full_disk_is_not_ready_before_any_tap_and_ready_once_it_has_room(
    small_disk: Path, tmp_path: Path
) -> None:
    """/readyz looked at the disk only after a write had failed: a server restarted onto a full disk said ready,
    and a load balancer sent it the clinic's taps (a tap it sends none of would never prove it)."""
    server = ServerProcess(small_disk, tmp_path / "server.log")
    server.add_staff("desk-ana", Role.front_desk)
    filler = fill(small_disk, leave=1024)
    server.start()
    try:
        ready = httpx.get(f"{server.url}/readyz", timeout=10)
        assert ready.status_code == 503 and "has no room" in " ".join(ready.json()["problems"]), ready.text
        filler.unlink()
        ready = httpx.get(f"{server.url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        with httpx.Client(base_url=server.url, headers=server.sign_in("desk-ana"), timeout=10) as client:
            assert walk_in(client, "Patient 1").status_code == 201
    finally:
        server.stop()


def serve_once(data_dir: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "floor", "serve", "--port", str(free_port()), "--data-dir", str(data_dir), *more],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.mark.parametrize("content", [b"", b'{"staff":{"desk-ana":{"id":"desk'], ids=["empty", "truncated"])
def test_a_damaged_staff_directory_stops_the_start_in_one_line_naming_the_file(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "directory.json").write_bytes(content)
    started = serve_once(tmp_path)
    assert started.returncode == 1
    assert "Traceback" not in started.stderr
    assert (
        started.stderr.strip()
        .splitlines()[-1]
        .startswith(f"floor: cannot start: {tmp_path / 'directory.json'}: the staff directory is ")
    )
    assert "floor check" in started.stderr and (tmp_path / "directory.json").read_bytes() == content


def test_damage_in_the_middle_of_a_log_stops_the_start_in_one_line_saying_what_to_do(tmp_path: Path) -> None:
    from floor.log.embedded import frame
    from tests.support.records import record

    day = tmp_path / CLINIC / "2026-11-23.log"
    day.parent.mkdir()
    whole = frame(record(1)) + frame(record(2))
    damaged = whole[:20] + b"#" + whole[21:] + frame(record(3))
    day.write_bytes(damaged)
    started = serve_once(tmp_path)
    assert started.returncode == 1 and "Traceback" not in started.stderr
    line = started.stderr.strip().splitlines()[-1]
    assert line.startswith(f"floor: cannot start: {day}: damaged record at byte 0 with {len(damaged)} bytes after it")
    assert f"run `floor check --data-dir {tmp_path}`" in line
    assert day.read_bytes() == damaged


def test_an_event_no_floor_can_fold_stops_the_start_in_one_line_naming_the_clinic_and_seq(tmp_path: Path) -> None:
    """A whole record, checksum and all, of a step on a visit the log never booked (written by hand, or by a
    server whose floor had diverged before marks were checked): folded on past, every tap after it would be
    decided on a floor the log does not hold. It was a lifespan traceback; now one line, and nothing served."""
    from floor.log.embedded import frame
    from tests.support.records import event, record

    day = tmp_path / CLINIC / "2026-11-23.log"
    day.parent.mkdir()
    unbooked = Event(
        2, event(2).at, event(2).day, "ma-rosa", "tablet-1", 2, StepTaken("v9", Stage.roomed, Stage.arrived)
    )
    day.write_bytes(frame(record(1)) + frame(Record(unbooked)))
    started = serve_once(tmp_path, "--clock-start", CLINIC_MORNING.isoformat())
    assert started.returncode == 1 and "Traceback" not in started.stderr, started.stderr[-2000:]
    line = started.stderr.strip().splitlines()[-1]
    assert line.startswith(f"floor: cannot start: clinic {CLINIC}: its log's event at seq 2 (roomed on 2026-11-23"), (
        line
    )
    assert "cannot be folded" in line and "--clinic" in line
    # `floor check`, which the advice to restore from a backup relies on, finds it too (it passed such a log).
    checked = subprocess.run(
        [sys.executable, "-m", "floor", "check", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 1, checked.stdout
    assert f"{day}: the event at seq 2 (roomed, by ma-rosa on tablet-1) cannot be folded (KeyError" in checked.stdout


def test_a_damaged_last_record_is_moved_aside_with_an_error_and_the_server_starts(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log")
    server.add_staff("desk-ana", Role.front_desk)
    server.start()
    desk = server.sign_in("desk-ana")
    with httpx.Client(base_url=server.url, headers=desk, timeout=10) as client:
        seqs = [walk_in(client, f"Patient {i}").json()["seq"] for i in range(3)]
    server.kill9()
    path = day_file(server.data_dir)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01  # one byte of the last record flipped, CRC and all: an acknowledged tap damaged on the disk
    path.write_bytes(bytes(data))
    checked = subprocess.run(
        [sys.executable, "-m", "floor", "check", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 1 and f"{path}: damaged last record at byte" in checked.stdout
    assert f"the last good record before it: seq {seqs[-2]}" in checked.stdout
    try:
        server.start()
        [error] = [json.loads(line) for line in server.log().splitlines() if "damaged_tail_quarantined" in line]
        assert error["level"] == "error" and error["file"] == str(path) and error["last_seq"] == seqs[-2]
        moved = Path(error["moved_to"])
        assert moved.parent == path.parent and moved.read_bytes() == bytes(data[error["offset"] :])
        with httpx.Client(base_url=server.url, headers=desk, timeout=10) as client:
            assert client.get(f"/api/clinics/{CLINIC}/board").json()["seq"] == seqs[-2]
            assert walk_in(client, "After the damage").status_code == 201
    finally:
        server.stop()


def test_a_redis_that_does_not_answer_stops_the_start_in_one_line_saying_what_to_do(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there
    started = serve_once(tmp_path, "--redis", url)
    assert started.returncode == 1 and "Traceback" not in started.stderr, started.stderr[-2000:]
    line = started.stderr.strip().splitlines()[-1]
    assert line.startswith(f"floor: cannot start: cannot reach Redis at {url}") and "FLOOR_REDIS_URL" in line, line
    # Read at 3 a.m.: the URL once, one full stop ("...at URL: URL: Error 111 ... 16399).. Start Redis").
    assert line.count(url) == 1 and ".." not in line, line


def _check(data_dir: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "floor", "check", "--data-dir", str(data_dir), *more],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_floor_check_reads_a_read_only_copy_and_writes_nothing_in_it(tmp_path: Path) -> None:
    """A filesystem snapshot, as deploy.md suggests for a backup, is read-only: checking it was a traceback (the lock
    file opened for writing), and a writable copy got a lock file it did not have (an ops review)."""
    from floor.log.embedded import frame
    from tests.support.records import record

    copy, snapshot = tmp_path / "copy", tmp_path / "snapshot"
    (copy / CLINIC).mkdir(parents=True)
    (copy / CLINIC / "2026-11-23.log").write_bytes(frame(record(1)) + frame(record(2)))
    snapshot.mkdir()
    mount(["--bind", str(copy), str(snapshot)], "a read-only bind mount")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(snapshot)], check=True, capture_output=True)
        checked = _check(snapshot)
        assert checked.returncode == 0 and "Traceback" not in checked.stderr, checked.stderr[-2000:]
        assert checked.stdout.strip().splitlines()[-1].startswith("1 log files, 2 records")
        repair = _check(snapshot, "--repair")
        assert repair.returncode == 1 and "Traceback" not in repair.stderr, repair.stderr[-2000:]
        assert repair.stderr.strip().splitlines()[-1].startswith("floor: cannot lock ")
    finally:
        subprocess.run(["umount", "--lazy", str(snapshot)], check=False)
    assert sorted(p.name for p in copy.iterdir()) == [CLINIC]  # no floor.lock left in the copy


def test_a_repair_on_a_full_disk_says_so_in_one_line(small_disk: Path) -> None:
    """`floor serve` on a full disk with a torn tail tells to free space or run `floor check --repair`; the repair
    then ran out of space itself and printed a traceback (an ops review)."""
    from floor.log.embedded import frame
    from tests.support.records import record

    (small_disk / CLINIC).mkdir()
    day = small_disk / CLINIC / "2026-11-23.log"
    day.write_bytes(frame(record(1)) + frame(record(2)) + b"\x07torn")
    fill(small_disk, leave=0)
    repaired = _check(small_disk, "--repair")
    assert repaired.returncode == 1 and "Traceback" not in repaired.stderr, repaired.stderr[-2000:]
    line = repaired.stderr.strip().splitlines()[-1]
    assert "No space left on device" in line and "run `floor check --repair` again" in line, line
