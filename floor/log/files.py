"""The file operations the embedded log needs, in one small layer, so tests can simulate power loss and a full disk."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import BinaryIO, Protocol


class FileReplaced(Exception):
    """The path an append file was opened at names another file now, or none, or the file is not as long as
    its own appends made it: a backup was restored over it (a new file, or the same one rewritten), or it was
    removed or cut, while the server had it open. Nothing was written."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} was replaced, changed or removed by something else while the server had it open")
        self.path = path


class AppendFile(Protocol):
    def write(self, data: bytes) -> None:
        """All of `data`, or an OSError (part of it may have reached the file: the caller cuts it off), or
        FileReplaced before anything is written where the layer can tell."""

    def sync(self) -> None: ...
    def close(self) -> None: ...


class Files(Protocol):
    def read(self, path: Path) -> bytes: ...
    def exists(self, path: Path) -> bool: ...
    def list(self, directory: Path, pattern: str) -> list[Path]: ...
    def makedirs(self, directory: Path) -> None: ...
    def open_append(self, path: Path) -> AppendFile: ...
    def truncate(self, path: Path, size: int) -> None: ...
    def sync_dir(self, directory: Path) -> None: ...
    def remove(self, path: Path) -> None: ...
    def write_new(self, path: Path, data: bytes) -> None:
        """A new file holding `data`, synced, its name synced too; an existing file is never overwritten."""

    def free_space(self, directory: Path) -> int | None:
        """Bytes a writer may still add under `directory` (None when unknown)."""


def write_all(f: BinaryIO, data: bytes) -> None:
    """All of `data` to a raw file, or an OSError. A raw (unbuffered) write may store only part of the data and
    say so in its count, with no error: on a file system that is nearly full, what fits is written and the next
    write fails."""
    view = memoryview(data)
    while view:
        written = f.write(view)
        if not written:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


class _OsAppendFile:
    def __init__(self, f: BinaryIO, path: Path) -> None:
        self._f = f
        self._path = path
        self._size = os.fstat(f.fileno()).st_size  # what this file's appends have made it since

    def _still_at_its_path(self) -> None:
        # A file restored over this one (mv, rsync, tar) or removed gets a new inode at the path, or none, and
        # an append to the old one would be acknowledged and then lost with it; a file rewritten in place (cp
        # onto it) has another length, and an append would follow records that are not the log's.
        opened = os.fstat(self._f.fileno())
        try:
            named = os.stat(self._path)
        except FileNotFoundError:
            raise FileReplaced(self._path) from None
        if (named.st_dev, named.st_ino) != (opened.st_dev, opened.st_ino) or opened.st_size != self._size:
            raise FileReplaced(self._path)

    def write(self, data: bytes) -> None:
        self._still_at_its_path()
        write_all(self._f, data)
        self._size += len(data)

    def sync(self) -> None:
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


class OsFiles:
    """The real disk. `sync` is fsync: data is on stable storage when it returns."""

    def read(self, path: Path) -> bytes:
        return path.read_bytes()

    def exists(self, path: Path) -> bool:
        return path.exists()

    def list(self, directory: Path, pattern: str) -> list[Path]:
        return sorted(directory.glob(pattern)) if directory.is_dir() else []

    def makedirs(self, directory: Path) -> None:
        if not directory.is_dir():
            directory.mkdir(parents=True, exist_ok=True)
            self.sync_dir(directory.parent)

    def open_append(self, path: Path) -> AppendFile:
        return _OsAppendFile(open(path, "ab", buffering=0), path)

    def truncate(self, path: Path, size: int) -> None:
        with open(path, "r+b") as f:
            f.truncate(size)
            os.fsync(f.fileno())

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def write_new(self, path: Path, data: bytes) -> None:
        f = open(path, "xb")  # noqa: SIM115  # closed below, and removed when it could not be written whole
        try:
            with f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            path.unlink(missing_ok=True)  # ours, and incomplete: never leave half a copy behind
            raise
        self.sync_dir(path.parent)

    def free_space(self, directory: Path) -> int | None:
        stat = os.statvfs(directory)
        return stat.f_bavail * stat.f_frsize

    def sync_dir(self, directory: Path) -> None:
        # A new file's name is only durable once its directory is fsynced.
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
