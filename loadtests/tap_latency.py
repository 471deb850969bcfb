"""Tap latency on the embedded default: tablets tapping over HTTP while screens watch the live feed.

Starts `floor serve` on a temporary data directory, runs for a bounded time against 127.0.0.1 only, and
prints taps/s, tap acknowledgement p50/p99 (HTTP round trip, fsync included) and tap-to-screen p50/p99.

    .venv/bin/python loadtests/tap_latency.py --tablets 8 --screens 50 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx
from websockets.asyncio.client import connect

CLINIC = "riverside"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def tablet(client: httpx.AsyncClient, n: int, until: float, acks: list[float], sent: dict[int, float]) -> None:
    i = 0
    while time.monotonic() < until:
        t0 = time.monotonic()
        r = await client.post(f"/api/clinics/{CLINIC}/visits", json={
            "patient_name": f"Load {n}-{i}", "provider": "kim", "visit_type": "follow", "walk_in": True})
        r.raise_for_status()
        acks.append(time.monotonic() - t0)
        sent[r.json()["seq"]] = t0
        visit = r.json()["visit"]["id"]
        t0 = time.monotonic()
        r = await client.post(f"/api/clinics/{CLINIC}/visits/{visit}/events", json={"type": "no_show"})
        if r.status_code == 201:
            acks.append(time.monotonic() - t0)
            sent[r.json()["seq"]] = t0
        i += 1


async def screen(url: str, ready: asyncio.Event, until: float, seen: dict[int, float], probe: bool) -> int:
    count = 0
    async with connect(url, max_size=None) as ws:
        await ws.recv()  # snapshot
        ready.set()
        while time.monotonic() < until + 2:
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            if probe:
                message = json.loads(raw)
                if message["kind"] == "event":
                    seen.setdefault(message["seq"], time.monotonic())
            count += 1
    return count


async def run(args: argparse.Namespace, base: str) -> None:
    until = time.monotonic() + args.seconds
    acks: list[float] = []
    sent: dict[int, float] = {}
    seen: dict[int, float] = {}
    ready = [asyncio.Event() for _ in range(args.screens)]
    ws_url = base.replace("http", "ws") + f"/api/clinics/{CLINIC}/live"
    screens = [asyncio.create_task(screen(ws_url, ready[i], until + 1, seen, i == 0)) for i in range(args.screens)]
    await asyncio.gather(*(e.wait() for e in ready))
    until = time.monotonic() + args.seconds
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=10,
                                 limits=httpx.Limits(max_connections=args.tablets)) as client:
        await asyncio.gather(*(tablet(client, n, until, acks, sent) for n in range(args.tablets)))
    elapsed = time.monotonic() - started
    delivered = await asyncio.gather(*screens)
    to_screen = [seen[s] - sent[s] for s in sent if s in seen]
    lost = [s for s in sent if s not in seen]
    print(f"tablets {args.tablets}  screens {args.screens}  seconds {elapsed:.1f}")
    print(f"taps {len(acks)}  taps/s {len(acks) / elapsed:.0f}  deliveries {sum(delivered)}")
    print(f"ack p50 {pct(acks, 50) * 1000:.1f} ms  p99 {pct(acks, 99) * 1000:.1f} ms  "
          f"mean {statistics.fmean(acks) * 1000:.1f} ms")
    print(f"tap-to-screen p50 {pct(to_screen, 50) * 1000:.1f} ms  p99 {pct(to_screen, 99) * 1000:.1f} ms  "
          f"lost {len(lost)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tablets", type=int, default=8)
    parser.add_argument("--screens", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    args.seconds = min(args.seconds, 120.0)
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen([sys.executable, "-m", "floor", "--log-level", "warning", "serve", "--port",
                                   str(port), "--data-dir", data], env={**os.environ})
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/api/clinics", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            asyncio.run(run(args, base))
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
