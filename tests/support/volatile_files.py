"""`VolatileFiles`: the `Files` protocol over an in-memory disk with a simulated OS page cache.

What a program writes lands in a volatile view (what reads see while the machine runs). Only some of it is
durable, i.e. survives a power cut:

* a file's *content* up to its last `AppendFile.sync()` (fsync), or its last `truncate` (which fsyncs);
* a file's *name* only once its directory was synced (`sync_dir`) after the file was created. A file whose
  name never reached the disk vanishes at a crash even if its content was synced, as POSIX allows;
* directories made with `makedirs` are durable at once (like `OsFiles.makedirs`, which syncs the parent).

`crash()` returns the disk as the machine finds it after a power cut: a new `VolatileFiles` holding only
the durable state, and (given a random source) a random prefix of each file's unsynced bytes, as a write
torn by the cut would leave. A process crash without a power cut keeps everything: reuse the same object.

`cut_power_at(n)` arms a fault: the n-th file operation from now (or the n-th of one kind) raises `PowerCut`,
before or after doing its work, and so does every operation after it, so a test can stop a writer at an exact
point and then take `crash()`. `PowerCut` is not an `OSError`: the code under test must not mistake it for a
disk error.

`room` makes the disk fill up: it is the number of bytes it still takes (None: no limit). A write past it stores
the part that fits and then fails with ENOSPC, as a nearly full file system does (`OsFiles` turns the short count
of the system call into that error); a truncate or a remove gives the bytes back. It is an `OSError`, a disk
error the code under test must handle.
"""

from __future__ import annotations

import errno
import fnmatch
import random
from dataclasses import dataclass
from pathlib import Path


class PowerCut(Exception):
    """The simulated machine lost power in the middle of a file operation."""


@dataclass
class _File:
    data: bytearray
    durable: bytes = b""
    #: Whether the file's directory entry is on the disk (its directory was synced after it was made).
    named: bool = False


class _AppendFile:
    def __init__(self, owner: VolatileFiles, path: Path) -> None:
        self._owner = owner
        self._path = path
        self._closed = False

    def _file(self) -> _File:
        if self._closed:
            raise ValueError(f"I/O operation on closed file {self._path}")
        return self._owner._files[self._path]

    def write(self, data: bytes) -> None:
        with self._owner._op("write"):
            f = self._file()
            owner = self._owner
            if owner.room is not None and len(data) > owner.room:
                f.data += data[: owner.room]  # what fits reaches the file: a short write
                owner.room = 0
                raise OSError(errno.ENOSPC, "No space left on device", str(self._path))
            f.data += data
            owner._give_back(-len(data))

    def sync(self) -> None:
        with self._owner._op("sync"):
            f = self._file()
            f.durable = bytes(f.data)
            self._owner.syncs += 1

    def close(self) -> None:
        self._closed = True


class VolatileFiles:
    def __init__(self) -> None:
        self._files: dict[Path, _File] = {}
        self._dirs: set[Path] = set()
        #: Operations left before the power is cut (None: never), and whether the power is off.
        self._countdown: int | None = None
        self._cut_op: str | None = None
        self._cut_after = False
        self._cut_pending = False
        self.powered = True
        #: How many file syncs completed, and the name of every operation tried, for tests that check when.
        self.syncs = 0
        self.ops: list[str] = []
        #: Bytes the disk still takes (None: as many as are written).
        self.room: int | None = None

    # -- faults ---------------------------------------------------------------------------------------

    def cut_power_at(self, n: int = 1, *, op: str | None = None, after: bool = False) -> None:
        """The n-th operation from now (1 = the next; only operations named `op` count when it is given:
        "write", "sync", "sync_dir", "open_append", "truncate", "makedirs", "read", "exists", "list", "remove",
        "write_new")
        raises PowerCut: before doing anything, or (`after`) once its work is done."""
        if n < 1:
            raise ValueError("n counts from 1")
        self._countdown, self._cut_op, self._cut_after = n, op, after

    def _give_back(self, size: int) -> None:
        if self.room is not None:
            self.room += size

    def disarm(self) -> None:
        """Cancel a pending power cut (and power back on): for a process crash, where the disk keeps running."""
        self._countdown, self._cut_pending, self.powered = None, False, True

    class _Op:
        def __init__(self, owner: VolatileFiles, name: str) -> None:
            self.owner, self.name = owner, name

        def __enter__(self) -> None:
            o = self.owner
            if not o.powered:
                raise PowerCut(f"{self.name}: the power is off")
            o.ops.append(self.name)
            if o._countdown is not None and o._cut_op in (None, self.name):
                o._countdown -= 1
                if o._countdown == 0:
                    o._countdown = None
                    if not o._cut_after:
                        o.powered = False
                        raise PowerCut(f"power cut before {self.name}")
                    o._cut_pending = True

        def __exit__(self, exc_type, exc, tb) -> None:
            o = self.owner
            if exc_type is None and o._cut_pending:
                o._cut_pending = False
                o.powered = False
                raise PowerCut(f"power cut after {self.name}")

    def _op(self, name: str) -> VolatileFiles._Op:
        return VolatileFiles._Op(self, name)

    # -- the Files protocol ---------------------------------------------------------------------------

    def read(self, path: Path) -> bytes:
        with self._op("read"):
            f = self._files.get(Path(path))
            if f is None:
                raise FileNotFoundError(2, "No such file", str(path))
            return bytes(f.data)

    def exists(self, path: Path) -> bool:
        with self._op("exists"):
            path = Path(path)
            return path in self._files or path in self._dirs

    def list(self, directory: Path, pattern: str) -> list[Path]:
        with self._op("list"):
            directory = Path(directory)
            return sorted(p for p in self._files if p.parent == directory and fnmatch.fnmatchcase(p.name, pattern))

    def makedirs(self, directory: Path) -> None:
        with self._op("makedirs"):
            directory = Path(directory)
            if directory in self._files:
                raise FileExistsError(17, "A file is in the way", str(directory))
            self._dirs.update([directory, *directory.parents])

    def open_append(self, path: Path) -> _AppendFile:
        with self._op("open_append"):
            path = Path(path)
            if path.parent not in self._dirs:
                raise FileNotFoundError(2, "No such directory", str(path.parent))
            if path in self._dirs:
                raise IsADirectoryError(21, "Is a directory", str(path))
            self._files.setdefault(path, _File(bytearray()))
            return _AppendFile(self, path)

    def truncate(self, path: Path, size: int) -> None:
        with self._op("truncate"):
            f = self._files.get(Path(path))
            if f is None:
                raise FileNotFoundError(2, "No such file", str(path))
            self._give_back(max(0, len(f.data) - size))
            del f.data[size:]
            f.durable = bytes(f.data)  # truncate fsyncs

    def remove(self, path: Path) -> None:
        # Simplified: the name is gone at once (a crash before the directory's sync could bring it back, and
        # a pruned day coming back is harmless: it is pruned again).
        with self._op("remove"):
            f = self._files.pop(Path(path), None)
            if f is not None:
                self._give_back(len(f.data))

    def write_new(self, path: Path, data: bytes) -> None:
        with self._op("write_new"):
            path = Path(path)
            if path.parent not in self._dirs:
                raise FileNotFoundError(2, "No such directory", str(path.parent))
            if path in self._files or path in self._dirs:
                raise FileExistsError(17, "File exists", str(path))
            if self.room is not None and len(data) > self.room:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))  # and nothing is left behind
            self._give_back(-len(data))
            self._files[path] = _File(bytearray(data), bytes(data), named=True)  # synced, and its directory

    def free_space(self, directory: Path) -> int | None:
        return self.room

    def sync_dir(self, directory: Path) -> None:
        with self._op("sync_dir"):
            directory = Path(directory)
            if directory not in self._dirs:
                raise FileNotFoundError(2, "No such directory", str(directory))
            for path, f in self._files.items():
                if path.parent == directory:
                    f.named = True

    # -- power loss -----------------------------------------------------------------------------------

    def crash(self, keep_torn: random.Random | None = None) -> VolatileFiles:
        """The disk after a power cut: what was durable, plus (with `keep_torn`) a random part of each file's
        unsynced tail. The new disk is powered on and unarmed; this one is left as it was."""
        after = VolatileFiles()
        after._dirs = set(self._dirs)
        for path, f in self._files.items():
            if not f.named:
                continue
            assert f.data.startswith(f.durable), f"{path}: the log only appends, so synced bytes stay a prefix"
            data = f.durable
            if keep_torn is not None:
                unsynced = bytes(f.data[len(f.durable) :])
                data += unsynced[: keep_torn.randint(0, len(unsynced))]
            after._files[path] = _File(bytearray(data), data, named=True)
        return after

    # -- for assertions -------------------------------------------------------------------------------

    def contents(self) -> dict[Path, bytes]:
        """Every file as a reader sees it now."""
        return {p: bytes(f.data) for p, f in sorted(self._files.items())}

    def durable_contents(self) -> dict[Path, bytes]:
        """Every file as it would be after a power cut that keeps nothing unsynced."""
        return {p: f.durable for p, f in sorted(self._files.items()) if f.named}
