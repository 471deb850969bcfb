"""A server whose log lines cannot be written (stderr sent to a file on a disk that is full: /dev/full says
ENOSPC to every write) starts, stores each tap and answers it as stored; the lines it lost are counted on
/metrics (`floor_log_lines_lost_total`). Every tap was stored and answered 500 (the line saying it was stored
failed after the append), so a desk that tapped again booked the walk-in twice, while /readyz said ready; a
server started so stopped with a traceback nobody could read (an ops review)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from floor.core.access import Role
from tests.server.conftest import bearer, free_port, staff_add
from tests.support.processes import stop
from tests.support.staff import PIN

pytestmark = pytest.mark.server


def test_taps_are_answered_as_stored_while_the_log_lines_cannot_be_written(tmp_path: Path) -> None:
    data = tmp_path / "data"
    staff_add(["--data-dir", str(data)], [("desk-ana", Role.front_desk)])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open("/dev/full", "w") as full:
        proc = subprocess.Popen(
            [sys.executable, "-m", "floor", "serve", "--port", str(port), "--data-dir", str(data)],
            stdout=full,
            stderr=full,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"floor serve exited with {proc.returncode}"
            assert time.monotonic() < deadline, "floor serve did not come up"
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        with httpx.Client(base_url=url, timeout=10) as client:
            signed_in = client.post("/api/sign-in", json={"staff": "desk-ana", "secret": PIN, "device": "desk"})
            assert signed_in.status_code == 201, signed_in.text
            desk = bearer(signed_in.json()["token"])
            for name in ("Ann Lee", "Bo Park"):
                booked = client.post(
                    "/api/clinics/riverside/visits",
                    headers={**desk, "Idempotency-Key": str(uuid.uuid4())},
                    json={"patient_name": name, "provider": "kim", "visit_type": "follow", "walk_in": True},
                )
                assert booked.status_code == 201, booked.text
            board = client.get("/api/clinics/riverside/board", headers=desk).json()
            assert sorted(v["patient_name"] for v in board["visits"]) == ["Ann Lee", "Bo Park"]
            assert client.get("/readyz").status_code == 200
            metrics = client.get("/metrics").text
        lost = [line for line in metrics.splitlines() if line.startswith("floor_log_lines_lost_total ")]
        assert lost and float(lost[0].split()[1]) > 0, lost
    finally:
        stop(proc)
