"""One writer per embedded data directory (floor/log/owner.py), even on a full disk: the lock is what keeps a
second `floor serve` or `floor import` out, and a failure to write the pid beside it must not drop it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from floor.cli.serve import _own_data_dir
from floor.log.owner import LOCK_NAME, hold


def test_the_lock_is_held_when_the_pid_cannot_be_written_on_a_full_disk(tmp_path: Path) -> None:
    # /dev/full answers every write ENOSPC, as a full disk does; the lock itself needs no space.
    if not os.path.exists("/dev/full"):
        pytest.fail("this test needs /dev/full (Linux)")
    (tmp_path / LOCK_NAME).symlink_to("/dev/full")
    first = hold(tmp_path)
    assert first is not None
    try:
        assert hold(tmp_path) is None  # a second writer is kept out
    finally:
        first.close()
    again = hold(tmp_path)
    assert again is not None
    again.close()


def test_a_server_that_cannot_lock_its_data_directory_does_not_start(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "data"
    not_a_directory.write_text("a file where the data directory should be")
    with pytest.raises(SystemExit, match=f"cannot lock .*{LOCK_NAME}.*Nothing was started"):
        _own_data_dir(str(not_a_directory))
