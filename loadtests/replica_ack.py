"""What `--redis-replicas 1` costs in tap latency: the same taps on the same Redis, with and without it.

Starts a private Redis primary with one replica (both on loopback, each in its own temporary directory, AOF with
`appendfsync always` as the README recommends), then, for each setting in turn, a `floor serve` on that primary
and a fixed number of taps from a few tablets (a walk-in, then marking it left unseen, and so on; `--pile-up`:
walk-ins only, none leaving), each tablet at most `--rate` taps a second (the server's limit per sign-in is 5).
Prints the tap acknowledgement (HTTP round trip) p50/p99 with and without the setting, the Redis commands per
tap, and checks that every tap was answered 201. Bounded: at most `--taps` taps per run (2,000 at most), and
the runs alternate (`--rounds`) so that a slow moment of the machine does not fall on one setting only.

    .venv/bin/python loadtests/replica_ack.py --taps 400 --tablets 4 --rounds 2
    .venv/bin/python loadtests/replica_ack.py --taps 400 --tablets 4 --rounds 2 --instances 2

With `--instances 2`, two servers share the primary (as two instances behind a balancer): tablets alternate
between them, and every tap is read back by the other server's follower too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rig import FloorServer, Pace, add_staff, free_port, pct, sign_in

CLINIC = "riverside"
STAFF, PIN = "load-desk", "load-test-pin"


class Node:
    """A redis-server of our own, in its own temporary directory, AOF fsynced on every write."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.folder = tempfile.mkdtemp(prefix="floor-bench-replica-")
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                self.folder,
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--repl-diskless-sync-delay",
                "0",
                *args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.client = redis.Redis(port=self.port)
        for _ in range(200):
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise SystemExit(f"redis-server on {self.port} did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)


def linked(primary: Node) -> None:
    """Until a write to the primary is acknowledged by the replica (a replica just synced gets writes only
    after its first acknowledgement, up to a second later)."""
    primary.client.set("linked", 1)
    if primary.client.execute_command("WAIT", 1, 20000) != 1:
        raise SystemExit("the replica did not link")


async def taps(
    bases: list[str], tablets: int, count: int, rate: float, pile_up: bool = False
) -> tuple[list[float], dict[int, int]]:
    """`count` taps from `tablets` signed-in tablets, tablet n on server n mod the servers: a walk-in, then one
    that marks a walk-in of its own left unseen, and so on (as fleet.py), so the waiting list stays as short as
    a clinic's; with `pile_up` every tap is a walk-in and none leaves (how this benchmark ran before: the clinic
    grows by every tap of every run, and each alert review walks all of them). Each tap's acknowledgement time,
    and the statuses."""
    clients = [httpx.AsyncClient(base_url=base, timeout=30) for base in bases]
    try:
        headers = await asyncio.gather(
            *(sign_in(clients[n % len(clients)], STAFF, PIN, f"tablet-{n}") for n in range(tablets))
        )
        acks: list[float] = []
        statuses: dict[int, int] = {}
        left = [count]

        async def tablet(n: int) -> None:
            pace = Pace(rate)
            waiting: list[str] = []
            while left[0] > 0:
                left[0] -= 1
                await pace.wait()
                if waiting and not pile_up:
                    path, body = (
                        f"/api/clinics/{CLINIC}/visits/{waiting.pop()}/events",
                        {"type": "left_without_being_seen"},
                    )
                else:
                    path = f"/api/clinics/{CLINIC}/visits"
                    body = {
                        "patient_name": f"Load {n}-{left[0]}",
                        "provider": "kim",
                        "visit_type": "follow",
                        "walk_in": True,
                    }
                t0 = time.monotonic()
                r = await clients[n % len(clients)].post(path, headers=headers[n], json=body)
                acks.append(time.monotonic() - t0)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code == 201 and "walk_in" in body:
                    waiting.append(r.json()["visit"]["id"])

        await asyncio.gather(*(tablet(n) for n in range(tablets)))
        return acks, statuses
    finally:
        for client in clients:
            await client.aclose()


def waits(primary: Node) -> int:
    """WAIT commands the primary has run: the setting's evidence (one per tap with it, none without)."""
    return commands(primary).get("wait", 0)


def commands(primary: Node) -> dict[str, int]:
    """Calls of each command the primary has run (INFO commandstats)."""
    stats = primary.client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v.get("calls", 0)) for name, v in stats.items()}


def per_tap(before: dict[str, int], after: dict[str, int], taps: int) -> str:
    """The commands the primary ran per tap in a run, the most frequent first: the servers' own (an EVALSHA, and
    the commands its script ran, which Redis counts as well), their followers' XREAD, sign-ins and start-ups;
    this script's INFO left out. What a tap costs in round trips, counted by Redis."""
    ran = {k: after[k] - before.get(k, 0) for k in after if k != "info"}
    ran = {k: v for k, v in ran.items() if v}
    return "  ".join(f"{k} {v / max(1, taps):.2f}" for k, v in sorted(ran.items(), key=lambda kv: -kv[1]))


def run(primary: Node, replicas: int, args: argparse.Namespace) -> list[float]:
    before, ran_before = waits(primary), commands(primary)
    os.environ["FLOOR_REDIS_REPLICAS"] = str(replicas)  # `floor serve` reads it (as --redis-replicas)
    os.environ["FLOOR_REDIS_REPLICA_TIMEOUT"] = "1000"
    with tempfile.TemporaryDirectory() as data:
        servers = [FloorServer(str(Path(data) / str(n)), [], primary.url) for n in range(args.instances)]
        try:
            for server in servers:
                os.makedirs(server.data_dir)
                server.start()
            acks, statuses = asyncio.run(
                taps([s.base for s in servers], args.tablets, args.taps, args.rate, args.pile_up)
            )
        finally:
            for server in servers:
                server.stop()
    servers_text = f"{args.instances} server{'s' if args.instances > 1 else ''}"
    print(
        f"--redis-replicas {replicas}, {servers_text}: taps {len(acks)}  ack p50 {pct(acks, 50) * 1000:.2f} ms  "
        f"p99 {pct(acks, 99) * 1000:.2f} ms  statuses {statuses}  WAITs {waits(primary) - before}",
        flush=True,
    )
    print(f"  Redis commands per tap: {per_tap(ran_before, commands(primary), len(acks))}", flush=True)
    if statuses != {201: len(acks)}:
        raise SystemExit("some taps were not answered 201")
    return acks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--taps", type=int, default=400, help="taps per run (at most 2,000)")
    parser.add_argument("--tablets", type=int, default=4)
    parser.add_argument("--rate", type=float, default=5.0, help="taps a second per tablet (the server allows 5)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each setting, alternating (at most 5)")
    parser.add_argument(
        "--instances",
        type=int,
        default=1,
        help="Floor servers on the one primary, the tablets split between them (1; at most 4)",
    )
    parser.add_argument(
        "--pile-up",
        action="store_true",
        help="every tap a walk-in and none leaves (before issue 20: by the last runs one provider has over a "
        "thousand walk-ins waiting, and each alert review, which walks them all, holds the loop for tens of ms)",
    )
    args = parser.parse_args()
    args.instances = max(1, min(args.instances, 4))
    args.taps = min(args.taps, 2000)
    args.rounds = min(args.rounds, 5)
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    primary = Node()
    replica = Node("--replicaof", "127.0.0.1", str(primary.port))
    try:
        linked(primary)
        with tempfile.TemporaryDirectory() as data:
            add_staff(data, STAFF, PIN, "front_desk", primary.url)
        results: dict[int, list[float]] = {0: [], 1: []}
        for _ in range(args.rounds):
            for replicas in (0, 1):
                # A new clinic floor each run would need a new prefix; the same clinic simply carries on.
                results[replicas] += run(primary, replicas, args)
        print(
            f"all runs ({args.rounds} x {args.taps} taps each, {args.tablets} tablets at {args.rate:g} taps/s, "
            f"{args.instances} server{'s' if args.instances > 1 else ''} on one Redis):"
        )
        for replicas, acks in results.items():
            print(
                f"  --redis-replicas {replicas}: ack p50 {pct(acks, 50) * 1000:.2f} ms  "
                f"p99 {pct(acks, 99) * 1000:.2f} ms"
            )
    finally:
        replica.stop()
        primary.stop()


if __name__ == "__main__":
    main()
