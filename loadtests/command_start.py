"""How long a `floor` command takes to start: `floor --help`, `floor staff add` on a fresh data directory, and
`floor serve` (embedded log) until its first answer, each in a Python process of its own, as the tests and an
operator start them. Prints the median wall time of each over `--rounds` runs, and the CPU time (user + system)
of the two that exit.

    .venv/bin/python loadtests/command_start.py --rounds 7
    .venv/bin/python loadtests/command_start.py --rounds 7 --against /tmp/floor-old

`--against DIR`: another checkout (a directory holding `floor/` and `static/`, e.g. `git archive` of an older
commit unpacked) measured in the same rounds, alternating with this one, so that a busy moment of the machine
does not fall on one side only. PINs are hashed at the tests' cost (FLOOR_TEST_CHEAP_HASHING=1): this measures
starting, not scrypt.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent.parent


def run_once(tree: Path, argv: list[str], stdin: str = "") -> tuple[float, float]:
    """Wall and CPU seconds of `python -m floor ARGV` with `tree` first on the path."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "floor", "--log-level", "warning", *argv],
        input=stdin,
        text=True,
        check=True,
        capture_output=True,
        cwd=tempfile.gettempdir(),  # `python -m` puts the working directory first on the path
        env={**os.environ, "PYTHONPATH": str(tree), "FLOOR_TEST_CHEAP_HASHING": "1"},
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def serve_up(tree: Path) -> float:
    """Wall seconds from starting `floor serve` to its first answer (401 from /api/clinics)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tempfile.mkdtemp(prefix="floor-start-")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "floor", "serve", "--port", str(port), "--data-dir", data],
        cwd=tempfile.gettempdir(),
        env={**os.environ, "PYTHONPATH": str(tree), "FLOOR_TEST_CHEAP_HASHING": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"floor serve from {tree} exited with {proc.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/clinics", timeout=1).status_code == 401:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.01)
        raise SystemExit(f"floor serve from {tree} did not answer in 30 s")
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="runs of each command on each side (at most 30)")
    parser.add_argument("--against", type=Path, help="another checkout to measure in the same rounds")
    args = parser.parse_args()
    trees = {"this": HERE} | ({"against": args.against.resolve()} if args.against else {})
    figures: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for round_ in range(min(args.rounds, 30)):
        for side, tree in trees.items():
            data = tempfile.mkdtemp(prefix="floor-start-")
            add = ["staff", "add", "--id", f"start-{round_}", "--role", "manager", "--secret-stdin", "--data-dir", data]
            figures.setdefault((side, "floor --help"), []).append(run_once(tree, ["--help"]))
            figures.setdefault((side, "floor staff add"), []).append(run_once(tree, add, "2468\n"))
            figures.setdefault((side, "floor serve, up"), []).append((serve_up(tree), float("nan")))
    print(f"median of {min(args.rounds, 30)} runs; load average {os.getloadavg()[0]:.1f} at the end")
    for (side, command), runs in sorted(figures.items(), key=lambda item: (item[0][1], item[0][0])):
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        cpu_text = "" if cpu != cpu else f"   cpu {cpu:.3f} s"
        print(f"{command:18} {side:8} wall {wall:.3f} s{cpu_text}")


if __name__ == "__main__":
    main()
