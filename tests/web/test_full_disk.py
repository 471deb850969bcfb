"""A disk that fills up under the running app (tests/support/volatile_files.py: part of the last record fits, then
ENOSPC): only taps whole on the disk are answered 201, a refused tap is 503 with Retry-After and leaves the file
byte for byte as it was, /readyz is 503 while the disk is full, sign-in is 503 (not 500) while the staff
directory cannot be written, and once there is room again /readyz is 200, taps are taken, and a restart on the
same disk brings back every acknowledged tap."""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
from pathlib import Path

from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.core.access import Role
from floor.core.events import VisitBooked
from floor.directory.embedded import EmbeddedDirectory
from floor.floors import Floors
from floor.log.embedded import EmbeddedLog
from floor.schedule.upcoming import FileUpcoming
from floor.web.app import create_app
from floor.web.auth import Guarding
from tests.support.clinics import quiet_clinic
from tests.support.staff import PEOPLE, PIN, add_person, cheapen
from tests.support.volatile_files import VolatileFiles

API = "/api/clinics/riverside"
ROOT = Path("/data")
START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in the clinic: any date would do


def floors_on(disk: VolatileFiles, tmp_path: Path) -> Floors:
    floors = Floors(
        [quiet_clinic()],
        EmbeddedLog(ROOT, disk),
        ManualClock(START),
        tick_seconds=3600,
        directory=EmbeddedDirectory(tmp_path / "directory.json"),
        upcoming=FileUpcoming(tmp_path),
    )
    return cheapen(floors)


def app(floors: Floors) -> TestClient:
    return TestClient(create_app(floors, guarding=Guarding(write_burst=1000, public_burst=1000)))


def sign_in(client: TestClient) -> object:
    return client.post("/api/sign-in", json={"staff": PEOPLE[Role.front_desk][0], "secret": PIN, "device": "t1"})


def walk_in(client: TestClient, desk: dict[str, str], name: str) -> object:
    return client.post(
        f"{API}/visits",
        headers=desk,
        json={"patient_name": name, "provider": "kim", "visit_type": "follow", "walk_in": True},
    )


def day_file(floors: Floors) -> Path:
    return ROOT / "riverside" / f"{floors.get('riverside').floor.day.isoformat()}.log"


def full_disk(path: Path, data: bytes) -> None:
    """The directory's `_write` on a full disk: part of the file is written, then ENOSPC."""
    path.write_bytes(data[: len(data) // 2])
    raise OSError(errno.ENOSPC, "No space left on device", str(path))


async def booked(disk: VolatileFiles) -> list[str]:
    log = EmbeddedLog(ROOT, disk)
    await log.open()
    return [e.change.patient_name for e in await log.read("riverside", 0) or [] if isinstance(e.change, VisitBooked)]


def test_a_full_disk_answers_503_for_taps_not_whole_on_it_and_a_restart_brings_back_every_201(tmp_path: Path) -> None:
    disk = VolatileFiles()
    floors = floors_on(disk, tmp_path)
    acknowledged: list[str] = []
    with app(floors) as client:
        add_person(client, floors, Role.front_desk)
        desk = {"Authorization": f"Bearer {sign_in(client).json()['token']}"}
        assert walk_in(client, desk, "Patient 0").status_code == 201
        acknowledged.append("Patient 0")
        one_tap = len(disk.read(day_file(floors)))
        disk.room = 6 * one_tap + one_tap // 3  # six more taps, and a third of the seventh

        refused = 0
        for i in range(1, 12):
            before = disk.read(day_file(floors))
            answer = walk_in(client, desk, f"Patient {i}")
            if answer.status_code == 201:
                assert not refused, "a tap was acknowledged after one was refused, with the disk still full"
                acknowledged.append(f"Patient {i}")
                continue
            assert answer.status_code == 503, answer.text
            assert answer.headers["Retry-After"] and "No space left on device" in answer.json()["message"]
            assert disk.read(day_file(floors)) == before, "a refused tap changed the file"
            refused += 1
        assert refused == 5 and len(acknowledged) == 7
        ready = client.get("/readyz")
        assert ready.status_code == 503 and any("disk is full" in p for p in ready.json()["problems"])

        # Sign-in writes the staff directory: on a full disk it is 503 too, and the old file stays.
        directory: EmbeddedDirectory = floors.sessions.directory  # type: ignore[assignment]
        kept = directory.path.read_bytes()
        directory._write = full_disk  # type: ignore[method-assign]
        answer = sign_in(client)
        assert answer.status_code == 503 and answer.headers["Retry-After"], answer.text
        assert directory.path.read_bytes() == kept and not directory.path.with_suffix(".tmp").exists()

        disk.room = None  # room again
        del directory._write
        assert client.get("/readyz").status_code == 200  # before any tap: the log looked at the disk again
        assert sign_in(client).status_code == 201
        assert walk_in(client, desk, "After the disk had room").status_code == 201
        acknowledged.append("After the disk had room")
        assert client.get("/readyz").status_code == 200

    # Taps answered 201 are exactly those whole on the disk, whatever a power cut keeps.
    after = disk.crash()
    assert asyncio.run(booked(after)) == acknowledged
    restarted = floors_on(after, tmp_path)
    with app(restarted) as client:
        visits = restarted.get("riverside").floor.visits.values()
        assert sorted(v.patient_name for v in visits) == sorted(acknowledged)
        desk = {"Authorization": f"Bearer {sign_in(client).json()['token']}"}
        assert walk_in(client, desk, "After the restart").status_code == 201
