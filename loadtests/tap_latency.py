"""Tap latency on the embedded default: tablets tapping over HTTP while screens watch the live feed.

Starts `floor serve` on a temporary data directory, runs for a bounded time against 127.0.0.1 only, and prints
taps/s, tap acknowledgement p50/p99 (HTTP round trip, fsync included) and tap-to-screen p50/p99.

Every tablet signs in as a front desk account (its steps, walk-ins and "left without being seen", are all this
test taps) and the screens share one sign-in. The server allows each sign-in 5 writes a second (bursts of 30),
so each tablet taps at most `--rate` times a second, 5 by default: the load offered is tablets x rate taps a
second. For more load, add tablets (each sign-in checks a PIN at full scrypt cost: about half a second, two at
a time).

    .venv/bin/python loadtests/tap_latency.py --tablets 8 --screens 50 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rig import FloorServer, Pace, add_staff, pct, sign_in

CLINIC = "riverside"
#: The load test's one account: the front desk may book walk-ins and mark them left unseen, which is all the tablets
#: tap (a manager account, allowed every step, would do as well for a test that taps other steps).
STAFF, PIN = "load-desk", "load-test-pin"


async def tablet(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    n: int,
    until: float,
    rate: float,
    acks: list[float],
    sent: dict[int, float],
    throttled: list[int],
) -> None:
    pace = Pace(rate)

    async def post(path: str, body: dict) -> tuple[httpx.Response, float]:
        """The answer, and when the request went out (after any wait for the pace)."""
        while True:
            await pace.wait()
            t0 = time.monotonic()
            r = await client.post(path, json=body, headers=headers)
            if r.status_code != 429:
                return r, t0
            throttled.append(n)  # should not happen at --rate 5 or less
            await asyncio.sleep(float(r.headers["Retry-After"]))

    i = 0
    while time.monotonic() < until:
        r, t0 = await post(
            f"/api/clinics/{CLINIC}/visits",
            {"patient_name": f"Load {n}-{i}", "provider": "kim", "visit_type": "follow", "walk_in": True},
        )
        r.raise_for_status()
        acks.append(time.monotonic() - t0)
        sent[r.json()["seq"]] = t0
        visit = r.json()["visit"]["id"]
        if time.monotonic() >= until:
            break
        r, t0 = await post(f"/api/clinics/{CLINIC}/visits/{visit}/events", {"type": "left_without_being_seen"})
        r.raise_for_status()
        acks.append(time.monotonic() - t0)
        sent[r.json()["seq"]] = t0
        i += 1


async def screen(
    url: str, headers: dict[str, str], ready: asyncio.Event, until: float, seen: dict[int, float], probe: bool
) -> int:
    count = 0
    async with connect(url, max_size=None, additional_headers=headers) as ws:
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
    acks: list[float] = []
    sent: dict[int, float] = {}
    seen: dict[int, float] = {}
    throttled: list[int] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        t0 = time.monotonic()
        devices = ["load-screens", *(f"load-tablet-{n}" for n in range(args.tablets))]
        # One after another: sign-ins of one id at once are told to try again (the lockout counts each before
        # its PIN is checked).
        signed_in = [await sign_in(client, STAFF, PIN, device) for device in devices]
        print(f"signed in {len(signed_in)} devices in {time.monotonic() - t0:.1f} s")
    screen_headers, tablets = signed_in[0], signed_in[1:]
    until = time.monotonic() + args.seconds
    ready = [asyncio.Event() for _ in range(args.screens)]
    ws_url = base.replace("http", "ws") + f"/api/clinics/{CLINIC}/live"
    screens = [
        asyncio.create_task(screen(ws_url, screen_headers, ready[i], until + 1, seen, i == 0))
        for i in range(args.screens)
    ]
    await asyncio.gather(*(e.wait() for e in ready))
    until = time.monotonic() + args.seconds
    started = time.monotonic()
    async with httpx.AsyncClient(
        base_url=base, timeout=10, limits=httpx.Limits(max_connections=args.tablets)
    ) as client:
        await asyncio.gather(
            *(tablet(client, tablets[n], n, until, args.rate, acks, sent, throttled) for n in range(args.tablets))
        )
    elapsed = time.monotonic() - started
    delivered = await asyncio.gather(*screens)
    to_screen = [seen[s] - sent[s] for s in sent if s in seen]
    lost = [s for s in sent if s not in seen]
    print(f"tablets {args.tablets} at {args.rate:g} taps/s  screens {args.screens}  seconds {elapsed:.1f}")
    print(
        f"taps {len(acks)}  taps/s {len(acks) / elapsed:.0f}  deliveries {sum(delivered)}  throttled {len(throttled)}"
    )
    print(
        f"ack p50 {pct(acks, 50) * 1000:.1f} ms  p99 {pct(acks, 99) * 1000:.1f} ms  "
        f"mean {statistics.fmean(acks) * 1000:.1f} ms"
    )
    print(
        f"tap-to-screen p50 {pct(to_screen, 50) * 1000:.1f} ms  p99 {pct(to_screen, 99) * 1000:.1f} ms  "
        f"lost {len(lost)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tablets", type=int, default=8)
    parser.add_argument("--screens", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--rate", type=float, default=5.0, help="taps a second per tablet (the server allows 5 per sign-in)"
    )
    args = parser.parse_args()
    args.seconds = min(args.seconds, 120.0)
    with tempfile.TemporaryDirectory() as data:
        add_staff(data, STAFF, PIN, "front_desk")
        server = FloorServer(data, [])  # no clinic files: the demo clinic
        server.start()
        try:
            asyncio.run(run(args, server.base))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
