"""Who writes an embedded data directory: one process at a time.

The embedded log keeps each clinic's last seq in memory and checks appends against it, so a second process
appending to the same files (a `floor import` beside a running `floor serve`) would store a seq the server
then stores again. `floor serve` holds an advisory lock on `DATA/floor.lock` while it runs, and `floor
import` writes only when it can take that lock itself; beside a running server, it imports through the
server's HTTP endpoint instead. (With Redis every writer appends through one atomic script: no lock needed.)
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO

LOCK_NAME = "floor.lock"
#: Tries, and seconds between them, before the lock is taken to be another writer's.
LOCK_TRIES = 5
LOCK_RETRY_SECONDS = 0.05


def hold(data_dir: str | Path) -> IO[bytes] | None:
    """Take the data directory's lock, held until the returned file is closed (or the process ends); None
    when another process holds it."""
    path = Path(data_dir)
    path.mkdir(parents=True, exist_ok=True)
    # Held open: the lock lives as long as the file. Unbuffered: a pid that could not be written (a full disk) is
    # not left in a buffer for the close to fail on.
    handle = open(path / LOCK_NAME, "ab", buffering=0)  # noqa: SIM115
    # A few tries: `floor check` looks at the lock with a shared one for an instant (`held_by_another`), and a server
    # starting in that instant took it for another writer and did not start (a review).
    for tries_left in range(LOCK_TRIES - 1, -1, -1):
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if not tries_left:
                handle.close()
                return None
            time.sleep(LOCK_RETRY_SECONDS)
    try:
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n".encode())
    except OSError:
        # The pid is for people reading the file; the lock is what keeps a second writer out, and it is held. On a
        # full disk the write failed and took the lock with it: the server then ran unlocked, a second one started
        # beside it, and both stored seqs 1, 2, 3 (a hostile review).
        pass
    return handle


def held_by_another(data_dir: str | Path) -> bool:
    """Whether a process holds the data directory's lock, asked without writing anything: `floor check` on a
    copy (a read-only snapshot, a backup) must not create the lock file in it, nor need to write there."""
    try:
        handle = open(Path(data_dir) / LOCK_NAME, "rb")  # noqa: SIM115
    except FileNotFoundError:
        return False  # never served from, or a copy without it: nobody holds it
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False
