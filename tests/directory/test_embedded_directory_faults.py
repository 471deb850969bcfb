"""The embedded directory on a bad disk: a write that fails (a full disk) is a 503-kind refusal that leaves the old
file as it was and no temporary file behind; a file that cannot be read refuses with its name and what to do."""

from __future__ import annotations

import datetime as dt
import errno
import os
from pathlib import Path

import pytest

from floor.core.access import Role
from floor.credentials import ACCOUNT_LOCKOUT
from floor.directory.base import Session, StaffMember, account_key
from floor.directory.embedded import DirectoryCorrupt, EmbeddedDirectory, check_directory
from floor.log.base import LogUnavailable

pytestmark = pytest.mark.anyio

NOW = dt.datetime(2026, 11, 23, 15, tzinfo=dt.UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def member(staff_id: str) -> StaffMember:
    return StaffMember(staff_id, staff_id.title(), Role.front_desk, "hash", NOW)


def full_disk_after(fits: int):
    """A `_write` that stores `fits` bytes of the file, then fails as a full disk does."""

    def write(path: Path, data: bytes) -> None:
        path.write_bytes(data[:fits])
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    return write


async def test_a_change_that_cannot_be_written_is_unavailable_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "directory.json"
    directory = EmbeddedDirectory(path)
    await directory.open()
    await directory.add_staff(member("ana"))
    before = path.read_bytes()

    directory._write = full_disk_after(20)  # type: ignore[method-assign]
    with pytest.raises(LogUnavailable, match=rf"{path} could not be written \(No space left on device\)"):
        await directory.add_session(Session("token", "ana", "front_desk", "tablet-1", NOW, NOW + dt.timedelta(hours=8)))
    with pytest.raises(LogUnavailable):
        await directory.reserve_attempt([(account_key("ana"), ACCOUNT_LOCKOUT)], NOW)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["directory.json", "directory.lock"], "a file lingers"
    # What the refused changes did in memory is forgotten: the directory is what the file says.
    assert await directory.session("token", NOW) is None
    assert await directory.strikes(account_key("ana"), NOW) is None

    del directory._write  # room again
    assert await directory.reserve_attempt([(account_key("ana"), ACCOUNT_LOCKOUT)], NOW) is None
    held = await EmbeddedDirectory(path).strikes(account_key("ana"), NOW)
    assert held is not None and held.pending == 1


async def test_a_lock_file_it_may_not_open_is_the_file_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # directory.lock made by another user (a `floor staff` run as root): every sign-in was refused naming
    # directory.json, which the server's user could write, so the on-call engineer looked at the wrong file.
    path = tmp_path / "directory.json"
    directory = EmbeddedDirectory(path)
    await directory.open()
    await directory.add_staff(member("ana"))
    lock = tmp_path / "directory.lock"
    real_open = os.open

    def denied(target, *args, **kwargs):
        if Path(target) == lock:
            raise PermissionError(errno.EACCES, "Permission denied", str(target))
        return real_open(target, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(LogUnavailable) as refused:
        await directory.add_staff(member("bo"))
    assert f"{lock} could not be written (Permission denied)" in str(refused.value)


@pytest.mark.parametrize(
    "content", [b"", b'{"staff":{"ana":{"id":"an', b"\0" * 64], ids=["empty", "truncated", "zeros"]
)
async def test_an_unreadable_directory_file_refuses_naming_the_file_and_what_to_do(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "directory.json"
    path.write_bytes(content)
    with pytest.raises(
        DirectoryCorrupt,
        match=rf"^{path}: the staff directory is .*Restore directory\.json from "
        r"a backup, or run `floor check --data-dir .* --repair`",
    ):
        await EmbeddedDirectory(path).open()
    assert path.read_bytes() == content


def test_check_reports_an_unreadable_directory_and_repair_moves_it_aside(tmp_path: Path) -> None:
    path = tmp_path / "directory.json"
    path.write_bytes(b'{"staff":{')
    [finding] = check_directory(path)
    assert finding.file == str(path) and "unreadable" in finding.problem and not finding.repaired
    assert "directory.json.damaged-0" in finding.repair and path.exists()

    [finding] = check_directory(path, repair=True)
    assert finding.repaired
    assert not path.exists() and (tmp_path / "directory.json.damaged-0").read_bytes() == b'{"staff":{'
    assert check_directory(path) == []
