"""`floor demo` as a newcomer runs it: on a port another program holds it says so in one line before printing
where to go (it printed the banner and its PINs, then stopped); `--start 12:00` begins the clinic day at 12:00
(the clock ran while the demo's PINs were hashed: it said 12:04)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import free_port

pytestmark = pytest.mark.server


def test_the_demo_on_a_port_in_use_says_so_and_prints_no_banner() -> None:
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "floor", "demo", "--port", str(port)], capture_output=True, text=True, timeout=60
        )
    assert done.returncode != 0
    assert f"cannot serve on 127.0.0.1:{port}" in done.stderr and "--port" in done.stderr, done.stderr
    assert "PIN" not in done.stderr + done.stdout and "Press Ctrl+C" not in done.stderr


def test_the_demo_starts_the_clinic_day_at_the_time_asked(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "demo.out"
    with open(out, "wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "floor", "demo", "--port", str(port), "--start", "12:00"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            # PINs hashed at their real cost, as a newcomer's demo does: seconds, two clinic minutes at 30x
            env={k: v for k, v in os.environ.items() if k != "FLOOR_TEST_CHEAP_HASHING"},
        )
    try:
        deadline, up = time.monotonic() + 60, False
        while time.monotonic() < deadline and not up:
            assert proc.poll() is None, out.read_text()
            try:
                up = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                time.sleep(0.1)
        assert up, out.read_text()
        found = re.search(r"clinic clock starts (\d\d:\d\d)", out.read_text())
        assert found and found.group(1) == "12:00", out.read_text()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
