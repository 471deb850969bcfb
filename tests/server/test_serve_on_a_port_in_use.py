"""`floor serve` on a port another program holds (an old server not yet gone, another service) says so in one
line naming the port and what to do, and exits 1 as any server that cannot start does (README, "In
production"): it printed "starting ... on http://127.0.0.1:PORT", took the data directory's lock, loaded the
clinics, then left uvicorn's `[Errno 98] error while attempting to bind` and exited 3."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.server


def test_serve_on_a_port_in_use_says_so_in_one_line_and_exits_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "floor", "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert f"cannot start: cannot serve on 127.0.0.1:{port}" in last and "--port" in last, done.stderr
    assert "starting" not in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()  # nothing started: no lock taken, no clinic loaded
