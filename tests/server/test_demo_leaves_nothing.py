"""`floor demo` keeps its day and its demo staff (PIN hashes) in a temporary folder, removed when it stops:
on Ctrl+C and on SIGTERM alike."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import free_port

pytestmark = pytest.mark.server


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_demo_removes_its_data_when_it_stops(tmp_path: Path, stop: signal.Signals) -> None:
    port = free_port()
    out = tmp_path / "demo.out"
    with open(out, "wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "floor", "demo", "--port", str(port)], stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        deadline, data, up = time.monotonic() + 60, None, False
        while time.monotonic() < deadline and not up:
            assert proc.poll() is None, out.read_text()
            found = re.search(r"data in (\S+),", out.read_text())
            data = Path(found.group(1)) if found else None
            try:
                up = data is not None and httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                time.sleep(0.1)
        assert up and data is not None and (data / "directory.json").exists(), out.read_text()
        proc.send_signal(stop)
        assert proc.wait(30) == 0, out.read_text()
        assert not data.exists(), out.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
