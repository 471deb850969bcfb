"""The file operations the embedded log needs, in one small layer, so tests can simulate power loss and a full disk."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import BinaryIO, Protocol


class AppendFile(Protocol):
    def write(self, data: bytes) -> None:
        """All of `data`, or an OSError (part of it may have reached the file: the caller cuts it off)."""

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


class _OsAppendFile:
    def __init__(self, f: BinaryIO) -> None:
        self._f = f

    def write(self, data: bytes) -> None:
        # A raw (unbuffered) write may store only part of the data and say so in its count, with no error:
        # on a file system that is nearly full, what fits is written and the next write fails. Everything is
        # written, or an OSError says it was not.
        view = memoryview(data)
        while view:
            written = self._f.write(view)
            if not written:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            view = view[written:]

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
        return _OsAppendFile(open(path, "ab", buffering=0))

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
