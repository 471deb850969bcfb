"""The locust scenario runs headless from its documented command, prints locust's summary and ends by itself:
exit 0 when every request passed, non-zero when any failed.

The command (`loadtests/run_locust.py`) starts its own `floor serve`, so these tests need no fixture; they run
it small and short (a few users for a few seconds) and read locust's summary table."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.server, pytest.mark.long]

ROOT = Path(__file__).resolve().parents[2]
#: A row of locust's request table: type, name, # reqs, # fails (the percentile table has no "(x%)").
ROW = re.compile(r"^(?P<type>GET|POST|WS|)\s+(?P<name>\S.*?)\s+(?P<reqs>\d+)\s+(?P<fails>\d+)\(\d+\.\d+%\)\s+\|")


def run_locust(*args: str) -> tuple[int, str]:
    """The documented command; its exit code and everything it printed."""
    done = subprocess.run(
        [sys.executable, "loadtests/run_locust.py", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=180,
        check=False,
    )
    return done.returncode, done.stdout


def summary(output: str) -> dict[tuple[str, str], tuple[int, int]]:
    """(type, name) -> (requests, failures), from locust's summary; the aggregated row is ("", "Aggregated")."""
    rows = {}
    for line in output.splitlines():
        if match := ROW.match(line):
            rows[match["type"], match["name"]] = (int(match["reqs"]), int(match["fails"]))
    return rows


def test_the_scenario_runs_headless_and_passes_with_taps_and_live_messages() -> None:
    code, output = run_locust("--tablets", "4", "--displays", "3", "--seconds", "10")

    assert code == 0, output
    rows = summary(output)
    assert rows, f"no locust summary in:\n{output}"
    assert rows["", "Aggregated"][1] == 0, output
    # Tablets signed in, read their work lists and tapped visits along; displays paired, got a snapshot and
    # then the taps as live updates. (Counts only: how far a short run gets depends on the machine.)
    requests = {key: reqs for key, (reqs, _) in rows.items()}
    assert requests.get(("POST", "/api/sign-in"), 0) > 0, output
    assert requests.get(("GET", "/api/clinics/[c]/board"), 0) > 0, output
    taps = requests.get(("POST", "/api/clinics/[c]/visits"), 0) + requests.get(
        ("POST", "/api/clinics/[c]/visits/[v]/events"), 0
    )
    assert taps > 0, output
    assert requests.get(("WS", "live snapshot"), 0) > 0, output
    assert requests.get(("WS", "live update"), 0) > 0, output


def test_failed_requests_make_the_run_exit_non_zero() -> None:
    # No such clinic: every tablet's work list and every display's pairing is refused (404).
    code, output = run_locust("--tablets", "3", "--displays", "1", "--seconds", "5", "--clinic", "nowhere")

    assert code == 1, output
    rows = summary(output)
    assert rows["", "Aggregated"][1] > 0, output
    assert "404 not_found: No clinic 'nowhere'" in output, output
