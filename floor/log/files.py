"""The file operations the embedded log needs, in one small layer, so tests can simulate power loss."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Protocol


class AppendFile(Protocol):
    def write(self, data: bytes) -> None: ...
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


class _OsAppendFile:
    def __init__(self, f: BinaryIO) -> None:
        self._f = f

    def write(self, data: bytes) -> None:
        self._f.write(data)

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

    def sync_dir(self, directory: Path) -> None:
        # A new file's name is only durable once its directory is fsynced.
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
