"""The power-cut simulation itself: only what was synced survives, and names need their directory synced."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.support.volatile_files import PowerCut, VolatileFiles

D = Path("/data/riverside")


def test_only_synced_content_with_a_synced_name_survives_a_crash() -> None:
    disk = VolatileFiles()
    disk.makedirs(D)
    a, b, c = D / "a.log", D / "b.log", D / "c.log"
    for path in (a, b):
        f = disk.open_append(path)
        f.write(b"synced")
        f.sync()
        f.write(b" not synced")
    disk.sync_dir(D)
    f = disk.open_append(c)  # created after the directory sync: its name is not on the disk
    f.write(b"synced too")
    f.sync()
    assert disk.read(a) == b"synced not synced"
    assert disk.list(D, "?.log") == [a, b, c]

    after = disk.crash()
    assert after.contents() == {a: b"synced", b: b"synced"}
    assert not after.exists(c)
    assert after.exists(D)
    assert disk.read(a) == b"synced not synced"  # the old disk is left as it was


def test_a_torn_write_keeps_a_prefix_of_the_unsynced_bytes() -> None:
    seen = set()
    for seed in range(50):
        disk = VolatileFiles()
        disk.makedirs(D)
        f = disk.open_append(D / "x.log")
        disk.sync_dir(D)
        f.write(b"head|")
        f.sync()
        f.write(b"0123456789")
        data = disk.crash(keep_torn=random.Random(seed)).read(D / "x.log")
        assert data.startswith(b"head|") and b"head|0123456789".startswith(data)
        seen.add(len(data))
    assert len(seen) > 5


def test_truncate_is_durable_and_list_matches_the_pattern() -> None:
    disk = VolatileFiles()
    disk.makedirs(D)
    f = disk.open_append(D / "2026-11-23.log")
    disk.open_append(D / "notes.txt")
    disk.sync_dir(D)
    f.write(b"keep|drop")
    disk.truncate(D / "2026-11-23.log", 4)
    assert disk.crash().read(D / "2026-11-23.log") == b"keep"
    assert disk.list(D, "????-??-??.log") == [D / "2026-11-23.log"]
    assert disk.list(Path("/elsewhere"), "*") == []


def test_a_power_cut_stops_every_operation_from_then_on() -> None:
    disk = VolatileFiles()
    disk.makedirs(D)
    f = disk.open_append(D / "x.log")
    disk.cut_power_at(2)
    f.write(b"one")
    with pytest.raises(PowerCut, match="before write"):
        f.write(b"two")
    with pytest.raises(PowerCut):
        disk.read(D / "x.log")
    disk.disarm()
    assert disk.read(D / "x.log") == b"one"
    disk.cut_power_at(op="sync", after=True)
    f.write(b"|three")
    with pytest.raises(PowerCut, match="after sync"):
        f.sync()
    disk.disarm()
    disk.sync_dir(D)
    assert disk.crash().read(D / "x.log") == b"one|three"
    assert not isinstance(PowerCut(), OSError)
