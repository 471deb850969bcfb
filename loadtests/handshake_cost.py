"""Server CPU per live socket opened: what a reconnect storm costs the server, socket by socket.

Starts `floor serve` on `--clinics` clinics (one server per `--code` checkout given, run side by side and
measured in alternating rounds, so a busy machine's noise falls on both), pairs a display per clinic, then
per round opens `--sockets` wall sockets at once (fanout.py's frame-draining sockets, with since= as a
reconnecting wall sends), waits until every one has its first message, and reads the server's CPU time from
/proc before and after, and the garbage collector's share from its /metrics. Prints ms of server CPU per
socket per round and the median. Each server runs from an empty working directory, with its checkout on
PYTHONPATH (`python -m floor` looks in its working directory first). SPY=path/to/py-spy records each server.

    .venv/bin/python loadtests/handshake_cost.py --sockets 3000 --clinics 100 --rounds 4
    .venv/bin/python loadtests/handshake_cost.py --code before=/tmp/floor-before --code after=. --rounds 4
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import Drain, Screen
from rig import FloorServer, clinic_files, display_tokens, raise_file_limit, run_fast


async def open_all(screens: list[Screen]) -> list[tuple[Drain, asyncio.Future]]:
    """Open every screen at once, and wait until each has its first message."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(1000)  # the client's own connect calls, a thousand in flight

    async def one(screen: Screen) -> tuple[Drain, asyncio.Future]:
        screen.opened = loop.create_future()
        lost = loop.create_future()
        async with gate:
            while True:
                try:
                    _, drain = await loop.create_connection(
                        lambda: Drain(screen, lost, False), "127.0.0.1", screen.port
                    )
                    return drain, lost
                except OSError:
                    await asyncio.sleep(0.05)

    held = await asyncio.gather(*(one(s) for s in screens))
    await asyncio.wait_for(asyncio.gather(*(s.opened for s in screens)), 120)
    return held


def gc_seconds(server: FloorServer) -> float:
    """Seconds the server's garbage collector has held it so far (its /metrics, every generation)."""
    text = httpx.get(f"{server.base}/metrics", timeout=10).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("floor_gc_pause_seconds_sum"))


async def measure(server: FloorServer, screens: list[Screen]) -> tuple[float, float]:
    """Seconds of server CPU per socket, opening all of `screens` at once (then closing them), and of that the
    garbage collector's."""
    process = server.process
    gc_before = await asyncio.to_thread(gc_seconds, server)
    before = process.cpu()
    held = await open_all(screens)
    await asyncio.sleep(0.3)  # what the opening left queued
    cost = (process.cpu() - before) / len(screens)
    gc_cost = (await asyncio.to_thread(gc_seconds, server) - gc_before) / len(screens)
    closed = [s for s in screens if s.closes]
    if closed:
        raise SystemExit(f"{len(closed)} sockets were closed: codes {sorted({c for s in closed for c in s.closes})}")
    for drain, _ in held:
        drain.transport.close()
    await asyncio.wait_for(asyncio.gather(*(lost for _, lost in held)), 60)
    await asyncio.sleep(1.0)  # the server lets them go
    for screen in screens:
        screen.opened = None
    return cost, gc_cost


async def bench(args: argparse.Namespace) -> None:
    raise_file_limit(args.sockets * 2 + 1000)
    codes = [(label, Path(code).resolve()) for label, code in (c.split("=", 1) for c in args.code)]
    codes = codes or [("floor", Path(__file__).resolve().parent.parent)]
    with tempfile.TemporaryDirectory() as tmp:
        # `python -m floor` looks in its working directory first: from an empty one, each server runs its --code.
        os.chdir(tmp)
        folder = Path(tmp) / "clinics"
        folder.mkdir()
        clinics = clinic_files(folder, args.clinics)
        files = [str(folder / f"{c}.toml") for c in clinics]
        servers = {}
        for label, code in codes:
            data = Path(tmp) / label
            data.mkdir()
            server = FloorServer(
                str(data),
                files,
                log=Path(tmp) / f"{label}.log",
                env={"PYTHONPATH": str(code)},
            )
            server.start()
            tokens = await display_tokens(clinics, str(data))
            screens = [
                Screen(c, server.port, f"/api/clinics/{c}/live", {"Authorization": f"Bearer {tokens[c]}"})
                for c in (clinics[k % len(clinics)] for k in range(args.sockets))
            ]
            servers[label] = (server, screens)
        spies = []
        if os.environ.get("SPY"):  # SPY=path/to/py-spy: a flame of each server while it handshakes (raw folded)
            import subprocess

            for label, (server, _) in servers.items():
                out = Path(os.environ.get("SPY_OUT", ".")) / f"spy-{label}.txt"
                spies.append(
                    subprocess.Popen(
                        [
                            os.environ["SPY"],
                            "record",
                            "-r",
                            "500",
                            "-f",
                            "raw",
                            "-o",
                            str(out),
                            "-p",
                            str(server.proc.pid),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            await asyncio.sleep(1)
        try:
            costs: dict[str, list[float]] = {label: [] for label, _ in codes}
            for n in range(args.rounds + 1):
                for label, (server, screens) in servers.items() if n % 2 == 0 else reversed(servers.items()):
                    cost, gc_cost = await measure(server, screens)
                    if n:  # the first round is a warm-up: first snapshots, imports, caches
                        costs[label].append(cost)
                        print(
                            f"round {n} {label}: {cost * 1000:.3f} ms of server CPU per socket"
                            f" (the garbage collector's {gc_cost * 1000:.3f})",
                            flush=True,
                        )
            load = os.getloadavg()[0]
            for label, values in costs.items():
                figures = ", ".join(f"{v * 1000:.3f}" for v in values)
                print(
                    f"{label}: {statistics.median(values) * 1000:.3f} ms per socket (median; rounds {figures})"
                    f"  [{args.sockets} sockets, {args.clinics} clinics, load average {load:.1f}]"
                )
        finally:
            for spy in spies:
                spy.send_signal(2)
                spy.wait(30)
            for server, _ in servers.values():
                server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=3000)
    parser.add_argument("--clinics", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--code", action="append", default=[], help="LABEL=DIR: a checkout to serve from (repeat to compare)"
    )
    args = parser.parse_args()
    run_fast(bench(args))


if __name__ == "__main__":
    main()
