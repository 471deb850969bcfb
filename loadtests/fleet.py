"""Fleet: tens of thousands of wall sockets driven from several load-generator processes.

fanout.py holds every socket in one process, whose single core tops out near 5,000 busy sockets on this
machine. This script starts the same servers (the embedded default, or `--redis` with `--instances` servers
on a private Redis; with `--replicas 1` a primary with one replica, AOF fsynced on every write, and the servers
answering a tap only once the replica has it; `--replica --replicas 0`: the same primary and replica, answering
once the primary has it, the fair comparison), then spreads `--sockets` wall sockets over `--clinics` clinics
and over `--procs` worker processes (each its own event loop, with fanout.py's frame-draining sockets:
every socket checks it sees every seq of its clinic in order, and one in `--probe-every`, spread through the
list, times each update). The main process taps walk-ins (then marks them left unseen) into random clinics
over HTTP, arriving at random (Poisson, `--rate` a second over all clinics) from tablets that each keep
under the server's 5 taps a second per sign-in.

With `--booked` every clinic is mid-way through a clinic day: before the server starts, each clinic's log is
given a simulated day's events up to `--booked-at` (10:30; about 60 booked visits, some waiting, roomed, with
their provider), and the server runs on a clock starting there at real speed. The walk-ins are tapped on top.
Without it the floors are nearly empty and the alert review and delay projection that follow every tap cost
almost nothing: the figures flatter the server (loadtests/README.md).

With `--shards N` (embedded) there are N servers, each with its own data directory, staff, walls and every
N-th clinic, and each clinic's walls and taps go to its own server: a health system's clinics split between
server processes (one per core), and more sockets than one process's open-file limit allows.

Prints tap-to-screen p50/p99/max, tap acknowledgement p50/p99, server CPU and RSS, memory per idle socket,
lost/reordered/resynced, each worker's CPU (a worker near 100% is in the latencies: add --procs); with
`--storm`, every server restarted at once and the time until all sockets are back in step.

    .venv/bin/python loadtests/fleet.py --sockets 2000 --clinics 50 --rate 50 --procs 2 --seconds 20 --storm
    .venv/bin/python loadtests/fleet.py --sockets 20000 --clinics 500 --rate 200 --procs 4 --seconds 60 --storm
    .venv/bin/python loadtests/fleet.py --sockets 20000 --clinics 500 --rate 200 --procs 4 --shards 2 --storm
    .venv/bin/python loadtests/fleet.py --sockets 2000 --clinics 100 --rate 100 --procs 2 --seconds 20 --booked
    .venv/bin/python loadtests/fleet.py --sockets 5000 --clinics 200 --rate 100 --procs 2 --redis --instances 2
    .venv/bin/python loadtests/fleet.py --sockets 5000 --clinics 200 --rate 100 --procs 2 --redis --instances 2 \\
        --replica --replicas 0
    .venv/bin/python loadtests/fleet.py --sockets 5000 --clinics 200 --rate 100 --procs 2 --redis --instances 2 \\
        --replica --replicas 1
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import math
import multiprocessing
import os
import random
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rig import (
    ROOT,
    FloorServer,
    PrivateRedis,
    add_staff,
    clinic_files,
    display_tokens,
    ms,
    pct,
    raise_file_limit,
    sign_in,
)

# The floor package of this checkout (not whichever one the virtualenv installed).
sys.path.insert(0, str(ROOT))
from floor.config import Clinic, load_clinics
from floor.core.events import Event, VisitBooked
from floor.core.journey import ENDS
from floor.log.base import EventLog, Record
from floor.log.embedded import EmbeddedLog
from floor.log.files import AppendFile, OsFiles
from floor.simulator import simulate_day

STAFF, PIN = "fleet-desk", "fleet-desk-pin"
#: Each sign-in may write 5 taps a second: tablets are spaced at least this far apart.
TABLET_GAP = 0.25


# -- a worker: one process, a share of the sockets ----------------------------------------------------------


def worker(conn, reconnect: bool) -> None:
    try:
        import uvloop

        uvloop.run(_worker(conn, reconnect))
    except ImportError:
        asyncio.run(_worker(conn, reconnect))


async def _worker(conn, reconnect: bool) -> None:
    from fanout import Screen, Screens

    raise_file_limit(30000)
    loop = asyncio.get_running_loop()
    screens: list[Screen] = []
    holder = Screens(deflate=False, reconnect=reconnect)
    while True:
        message = await loop.run_in_executor(None, conn.recv)
        op = message["op"]
        if op == "open":
            screens = [
                Screen(clinic, port, path, headers, probe=probe)
                for clinic, port, path, headers, probe in message["screens"]
            ]
            try:
                opened = await holder.open(screens)
            except SystemExit as e:
                conn.send({"error": str(e)})
                return
            conn.send({"seconds": opened, "cpu": time.process_time()})
        elif op == "report":
            final = message["final"]
            final.update({s.clinic: max(final.get(s.clinic, 0), s.seq or 0) for s in screens})
            conn.send(
                {
                    "cpu": time.process_time(),
                    "lost": sum(s.gaps + max(0, final[s.clinic] - (s.seq or 0)) for s in screens),
                    "reordered": sum(s.reordered for s in screens),
                    "resynced": sum(max(0, s.snapshots - 1) for s in screens),
                    "deliveries": sum(s.updates for s in screens),
                    "bytes": sum(s.update_bytes for s in screens),
                    "arrivals": [(key[0], key[1], at) for s in screens for key, at in s.arrivals],
                    "seqs": {s.clinic: s.seq or 0 for s in screens},
                }
            )
            for s in screens:
                s.arrivals.clear()
        elif op == "seqs":
            seqs: dict[str, int] = {}
            for s in screens:
                seqs[s.clinic] = max(seqs.get(s.clinic, 0), s.seq or 0)
            conn.send(seqs)
        elif op == "arm":  # a restart is coming: each socket must get back to the newest seq of its clinic
            target = message["target"]
            for s in screens:
                s.target, s.back_at = max(target.get(s.clinic, 0), s.seq or 0), None
            conn.send("armed")
        elif op == "back":
            up, deadline = message["up"], message["up"] + message["within"]
            while time.monotonic() < deadline and any(s.back_at is None for s in screens):
                await asyncio.sleep(0.05)
            conn.send(
                {
                    "back": [s.back_at - up for s in screens if s.back_at is not None],
                    "behind": sum(s.back_at is None for s in screens),
                    "codes": sorted({s.closes[-1] for s in screens if s.closes}),
                    "failed_connects": holder.failed_connects,
                }
            )
        elif op == "stop":
            await holder.close()
            conn.send("stopped")
            return


class Workers:
    """The worker processes and a pipe to each; `ask` sends every one a message and gathers the answers."""

    def __init__(self, procs: int, reconnect: bool) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conns, self.procs = [], []
        for _ in range(procs):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=worker, args=(theirs, reconnect), daemon=True)
            proc.start()
            self.conns.append(mine)
            self.procs.append(proc)

    async def ask(self, messages: list[dict] | dict) -> list:
        if isinstance(messages, dict):
            messages = [messages] * len(self.conns)
        for conn, message in zip(self.conns, messages, strict=True):
            conn.send(message)
        loop = asyncio.get_running_loop()
        return await asyncio.gather(*(loop.run_in_executor(None, conn.recv) for conn in self.conns))

    def close(self) -> None:
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()


def probe(k: int, clinics: int, every: int) -> bool:
    """Whether socket k (sockets dealt to clinics in turn) is a probe: 1 in `every` of each clinic's sockets,
    at a different place in each clinic's order, so that probes sit all through the fan-out, in every clinic."""
    return (k // clinics) % every == (k % clinics) % every


# -- tablets: random arrivals --------------------------------------------------------------------------------


class Tablets:
    """Taps arriving at random over all clinics, each sent from the tablet free longest."""

    def __init__(self, client: httpx.AsyncClient, headers: list[dict[str, str]], clinics: list[str]) -> None:
        self.client, self.clinics = client, clinics
        self.free: asyncio.Queue[tuple[float, dict[str, str]]] = asyncio.Queue()
        for h in headers:
            self.free.put_nowait((0.0, h))
        self.open: list[tuple[str, str]] = []  # walk-ins not yet marked left: (clinic, visit)
        self.sent: dict[tuple[str, int], float] = {}
        self.acks: list[float] = []
        self.refused: Counter = Counter()
        self.busy_waits = 0

    async def run(self, rate: float, until: float) -> None:
        tasks = set()
        next_at = time.monotonic()
        while True:
            next_at += random.expovariate(rate)
            if next_at >= until:
                break
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            task = asyncio.create_task(self.tap())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)

    async def tap(self) -> None:
        # The tablet free longest (each keeps under its sign-in's 5 taps a second): a tap that waits for one
        # is counted, as it means more tablets were needed for the rate.
        if self.free.empty():
            self.busy_waits += 1
        last, headers = await self.free.get()
        try:
            wait = last + TABLET_GAP - time.monotonic()
            if wait > 0:
                self.busy_waits += 1
                await asyncio.sleep(wait)
            if self.open and random.random() < 0.5:
                clinic, visit = self.open.pop(random.randrange(len(self.open)))
                path, body = f"/api/clinics/{clinic}/visits/{visit}/events", {"type": "left_without_being_seen"}
            else:
                clinic = random.choice(self.clinics)
                path = f"/api/clinics/{clinic}/visits"
                body = {
                    "patient_name": f"Fleet {len(self.acks)}",
                    "provider": "kim",
                    "visit_type": "follow",
                    "walk_in": True,
                }
            t0 = time.monotonic()
            try:
                r = await self.client.post(path, headers=headers, json=body)
            except httpx.HTTPError:
                self.refused["no answer"] += 1
                return
            if r.status_code != 201:
                self.refused[r.status_code] += 1
                return
            self.acks.append(time.monotonic() - t0)
            answer = r.json()
            self.sent[(clinic, answer["seq"])] = t0
            if body.get("walk_in"):
                self.open.append((clinic, answer["visit"]["id"]))
        finally:
            self.free.put_nowait((time.monotonic(), headers))


# -- booked: every clinic mid-way through a clinic day ---------------------------------------------------------

#: Where a booked run's clinic clock starts: mid-morning, every provider's schedule under way, some patients
#: waiting, some roomed, some with their provider.
BOOKED_AT = dt.time(10, 30)


def booked_start(clinics: list[Clinic], at: dt.time, now: dt.datetime) -> dt.datetime:
    """The instant a booked run's clock starts: `at` on the clinic day of `now`, in the clinics' time zone (one
    zone for all: a server has one clock). The day of `now`, not a fixed date, so that the display tokens issued
    on the real clock stay well inside their term on the server's."""
    zones = {c.timezone for c in clinics}
    if len(zones) != 1:
        raise SystemExit(f"--booked needs the clinics in one time zone (one clock for the server), not {sorted(zones)}")
    clinic = clinics[0]
    day = clinic.day_of(now)
    start = clinic.local(day, at)
    assert clinic.day_of(start) == day and start.astimezone(clinic.tz).time() == at, (start, day)
    return start


def morning(clinic: Clinic, start: dt.datetime, seed: int) -> list[Event]:
    """The clinic's log at `start` on a simulated day (`simulate_day`, for this clinic as its file describes it):
    the day's events up to then, in seq order. Its seqs begin at 1: a fresh log's first day (base 0)."""
    day = clinic.day_of(start)
    events, _ = simulate_day(clinic, day, seed)
    kept = list(itertools.takewhile(lambda e: e.at <= start, events))
    assert [e.seq for e in kept] == list(range(1, len(kept) + 1)) and all(e.day == day for e in kept)
    return kept


class _UnsyncedFile:
    def __init__(self, inner: AppendFile) -> None:
        self.inner = inner

    def write(self, data: bytes) -> None:
        self.inner.write(data)

    def sync(self) -> None:
        pass

    def close(self) -> None:
        self.inner.close()


class Unsynced(OsFiles):
    """The disk without fsync: the bytes the server writes, without a flush to the disk per event (about 19,000
    of them for 100 clinics, a minute or more on this machine's disk). For days written before a benchmark's
    server starts, which a crash would only spoil that run of."""

    def open_append(self, path: Path) -> AppendFile:
        return _UnsyncedFile(super().open_append(path))

    def sync_dir(self, directory: Path) -> None:
        pass


async def write_days(log: EventLog, days: dict[str, list[Event]], batch: bool = False) -> None:
    """Store each clinic's events through the log's own appends, so that its files or keys are what a server
    would have stored: one append per event (on the embedded log each is its own frame, as a tap's is; a batch
    would be one frame). `batch`: one append of the clinic's whole day, for the Redis log, where a batch stores
    exactly what one append per event does (a stream entry each, the last seq, the day's first seq) in one
    round trip."""
    await log.open()
    try:
        for clinic, events in days.items():
            if not events:
                continue
            if batch:
                await log.append_all(clinic, [Record(e) for e in events])
            else:
                for event in events:
                    await log.append(clinic, Record(event))
    finally:
        await log.close()


async def book(
    args: argparse.Namespace, files: list[str], data_dir: str, redis_url: str | None, seed: int
) -> tuple[list[str], dict[str, int]]:
    """Write every clinic's simulated day up to `--booked-at` into the log (the server is not started yet), and
    print what was written. The `floor serve` arguments of a clock starting there at real speed, and the events
    written for each clinic. Each clinic gets its own seed, so no two clinics have the same day."""
    clinics = load_clinics(files)
    start = booked_start(clinics, args.booked_at, dt.datetime.now(dt.UTC))
    began = time.monotonic()
    days = {c.id: morning(c, start, seed + n) for n, c in enumerate(clinics)}
    if redis_url:
        from floor.log.redis import RedisLog

        await write_days(RedisLog(redis_url), days, batch=True)
    else:
        await write_days(EmbeddedLog(data_dir, Unsynced()), days)
    visits = [sum(isinstance(e.change, VisitBooked) for e in events) for events in days.values()]
    events = [len(e) for e in days.values()]
    print(
        f"booked: {len(days)} clinics on a simulated day, clinic clock from {start:%Y-%m-%d %H:%M} {start.tzname()} "
        f"({clinics[0].timezone}; {start.astimezone(dt.UTC):%H:%M} UTC) at real speed: "
        f"{sum(visits) / len(visits):.0f} visits a clinic ({min(visits)}-{max(visits)}), "
        f"{sum(events) / len(events):.0f} events a clinic ({min(events)}-{max(events)}), "
        f"written in {time.monotonic() - began:.1f} s"
    )
    # The origin is now, and the same for a restart (--storm): the clock goes on, it does not start over.
    clock = ["--clock-start", start.astimezone(dt.UTC).isoformat(), "--clock-speed", "1", "--clock-origin"]
    return [*clock, str(time.time())], {clinic: len(events) for clinic, events in days.items()}


async def show_board(client: httpx.AsyncClient, headers: dict[str, str], clinic: str, written: int) -> None:
    """What the server holds of a booked clinic's day, from its board: the visits by stage, the rooms in use,
    the alerts and delays its review keeps. It must hold every event written (`written`; its seq is higher
    when its first review has stored alerts)."""
    r = await client.get(f"/api/clinics/{clinic}/board", headers=headers)
    r.raise_for_status()
    board = r.json()
    stages = Counter(v["stage"] for v in board["visits"])
    open_ = sum(n for stage, n in stages.items() if stage not in ENDS)
    rooms = sum(1 for room in board["rooms"] if room.get("visit"))
    active = sum(1 for a in board["alerts"] if a.get("cleared_at") is None)
    now = dt.datetime.fromisoformat(board["now"]).astimezone(ZoneInfo(board["timezone"]))
    under_way = ("scheduled", "arrived", "roomed", "prep_done", "provider_in", "teach_back_done")
    print(
        f"booked: the server's board of {clinic} at {now:%H:%M:%S} clinic time (seq {board['seq']}, {written} "
        f"written): {len(board['visits'])} visits, {open_} not over "
        f"({', '.join(f'{stages[s]} {s}' for s in under_way)}), "
        f"{rooms} of {len(board['rooms'])} rooms with a patient, {active} alerts active, "
        f"{len(board['delays'])} provider delays"
    )
    if not board["visits"] or board["seq"] < written:
        raise SystemExit(f"booked: the server does not hold {clinic}'s booked day (seq {board['seq']} of {written})")


# -- the run -------------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, workers: Workers) -> None:
    limit = raise_file_limit(args.sockets + 2000)
    ports = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    print(f"open-file limit {limit} (the servers inherit it); ephemeral ports {ports[0]}-{ports[1]}")
    per_server = math.ceil(args.sockets / max(args.instances, args.shards)) + 500
    if limit < per_server:
        raise SystemExit(
            f"each server needs about {per_server} open files and the limit is {limit}: raise the hard "
            f"limit (as root: `ulimit -Hn {per_server + 1000}`, or the container's --ulimit nofile) "
            "and run again"
        )
    with tempfile.TemporaryDirectory(prefix="floor-fleet-") as tmp:
        folder = Path(tmp) / "clinics"
        folder.mkdir()
        clinics = clinic_files(folder, args.clinics)
        redis = replica = None
        servers: list[FloorServer] = []
        env = {}
        try:
            if args.replica:
                from replica_ack import Node, linked

                redis = Node()
                replica = Node("--replicaof", "127.0.0.1", str(redis.port))
                linked(redis)
                env = {"FLOOR_REDIS_REPLICAS": str(args.replicas), "FLOOR_REDIS_REPLICA_TIMEOUT": "1000"}
            elif args.redis:
                redis = PrivateRedis()
            url = redis.url if redis else None
            dirs = [str(Path(tmp) / f"data{n}") for n in range(max(args.instances, args.shards))]
            for d in dirs:
                os.makedirs(d)
            # Instances on one Redis share its directory and serve every clinic; shards (embedded) each have
            # their own data directory, staff, walls and share of the clinics.
            shares = [clinics[n :: len(dirs)] for n in range(len(dirs))] if args.shards > 1 else [clinics] * len(dirs)
            tokens: dict[str, str] = {}
            extra: list[list[str]] = [[] for _ in dirs]
            written: dict[str, int] = {}
            for n, (d, share) in enumerate(zip(dirs, shares, strict=True)):
                if n and args.shards == 1:
                    extra[n] = extra[0]  # instances on one Redis: one directory, one log, one clock
                    continue
                add_staff(d, STAFF, PIN, "front_desk", url)
                tokens |= await display_tokens(share, d, url)
                if args.booked:
                    files = [str(folder / f"{c}.toml") for c in share]
                    extra[n], days = await book(args, files, d, url, seed=args.seed + n * len(clinics))
                    written |= days
            servers = [
                FloorServer(
                    d,
                    [str(folder / f"{c}.toml") for c in share],
                    url,
                    log=Path(tmp) / f"s{n}.log",
                    extra=extra[n],
                    env=env,
                )
                for n, (d, share) in enumerate(zip(dirs, shares, strict=True))
            ]
            for s, share in zip(servers, shares, strict=True):
                took = s.start()
                print(
                    f"floor serve on port {s.port} ({len(share)} clinics, "
                    f"{'Redis' + (' and a replica' if args.replica else '') if url else 'embedded'}"
                    f") up in {took:.1f} s"
                )
            await drive(args, workers, servers, shares, tokens, written)
        finally:
            for s in servers:
                s.stop()
            for node in (replica, redis):
                if node is not None:
                    node.stop()


async def drive(
    args: argparse.Namespace,
    workers: Workers,
    servers: list[FloorServer],
    served: list[list[str]],
    tokens: dict[str, str],
    written: dict[str, int],
) -> None:
    """`served[n]`: the clinics server n serves (all of them for instances on one Redis; its own for shards)."""
    shard_of = {c: n for n, share in enumerate(served) for c in share} if args.shards > 1 else {}
    clinics = sorted({c for share in served for c in share})
    label = (
        f"fleet {'redis x' + str(len(servers)) if args.redis else 'embedded'}"
        + (f" x{len(servers)} shards" if shard_of else "")
        + (f" --redis-replicas {args.replicas}" if args.replica else "")
        + (" booked" if args.booked else "")
    )
    # At random arrivals a tablet is asked for about 3 taps a second on average, 4 at most.
    # At least one a server: a server's tablets sign in on it (with shards, only it holds its clinics' staff).
    tablets = max(2, len(servers), math.ceil(args.rate / 3))
    client = httpx.AsyncClient(base_url=servers[0].base, timeout=30, limits=httpx.Limits(max_connections=tablets))
    clients = [client] + [
        httpx.AsyncClient(base_url=s.base, timeout=30, limits=httpx.Limits(max_connections=tablets))
        for s in servers[1:]
    ]
    try:
        headers = []
        for first in range(0, tablets, 3):  # a few at a time: attempts in flight count against the account
            headers += await asyncio.gather(
                *(
                    sign_in(clients[n % len(clients)], STAFF, PIN, f"fleet-tablet-{n}")
                    for n in range(first, min(tablets, first + 3))
                )
            )
        if args.booked:
            for n, c in enumerate(clients):  # each server holds the day (with Redis, every server every clinic)
                clinic = served[n][n % len(served[n])]
                await show_board(c, headers[n], clinic, written[clinic])
        await asyncio.sleep(1)
        idle = sum(s.process.memory() for s in servers)
        every = max(1, args.probe_every)
        shares: list[list] = [[] for _ in workers.conns]
        for k in range(args.sockets):
            clinic = clinics[k % len(clinics)]
            server = servers[shard_of[clinic]] if shard_of else servers[k % len(servers)]
            auth = {"Authorization": f"Bearer {tokens[clinic]}"}
            shares[k % len(shares)].append(
                (clinic, server.port, f"/api/clinics/{clinic}/live", auth, probe(k, len(clinics), every))
            )
        # This process's CPU from here on: the taps (not the setup before, nor writing a booked day).
        started, own_cpu = time.monotonic(), time.process_time()
        opened = await workers.ask([{"op": "open", "screens": share} for share in shares])
        if any("error" in o for o in opened):
            raise SystemExit("; ".join(o["error"] for o in opened if "error" in o))
        print(
            f"[{label}] {args.sockets} sockets open in {time.monotonic() - started:.1f} s over {len(shares)} "
            f"processes; {tablets} tablets, taps arriving at random at {args.rate:g}/s"
        )
        await asyncio.sleep(2)
        per_socket = (sum(s.process.memory() for s in servers) - idle) / args.sockets
        # Each tablet taps through the server it signed in on (with Redis, any server takes any clinic; a shard
        # only its own), the rate shared by clinics.
        by_server = [Tablets(clients[n], headers[n :: len(clients)], served[n]) for n in range(len(clients))]
        cpu0 = sum(s.process.cpu() for s in servers)
        t0 = time.monotonic()
        until = t0 + args.seconds
        # The rate shared by clinics: each shard its own clinics' share; instances on one Redis, which all serve
        # every clinic, an equal part each.
        served_in_all = sum(len(t.clinics) for t in by_server)
        await asyncio.gather(*(t.run(args.rate * len(t.clinics) / served_in_all, until) for t in by_server))
        seconds = time.monotonic() - t0
        cpu = (sum(s.process.cpu() for s in servers) - cpu0) / seconds
        rss = sum(s.process.memory() for s in servers)
        await asyncio.sleep(2)  # the last deliveries
        sent = {k: v for t in by_server for k, v in t.sent.items()}
        acks = [a for t in by_server for a in t.acks]
        refused = sum((t.refused for t in by_server), Counter())
        final: dict[str, int] = {}
        for clinic, seq in sent:
            final[clinic] = max(final.get(clinic, 0), seq)
        reports = await workers.ask({"op": "report", "final": final})
        to_screen = [at - sent[(c, q)] for r in reports for c, q, at in r["arrivals"] if (c, q) in sent]
        deliveries = sum(r["deliveries"] for r in reports)
        gen_cpu = [(r["cpu"] - o["cpu"]) / (time.monotonic() - started) for r, o in zip(reports, opened, strict=True)]
        print(
            f"[{label}] sockets {args.sockets}  clinics {len(clinics)}  seconds {seconds:.1f}  "
            f"taps/s {len(acks) / seconds:.1f}  deliveries/s {deliveries / seconds:.0f}"
        )
        print(
            f"[{label}] tap-to-screen p50 {ms(pct(to_screen, 50))} ms  p99 {ms(pct(to_screen, 99))} ms  "
            f"max {ms(max(to_screen, default=float('nan')))} ms  ({len(to_screen)} probe deliveries)"
        )
        waits = sum(t.busy_waits for t in by_server)
        print(
            f"[{label}] tap ack p50 {ms(pct(acks, 50))} ms  p99 {ms(pct(acks, 99))} ms  "
            f"refused {dict(refused) or 0}  (taps that waited for a free tablet: {waits})"
        )
        print(
            f"[{label}] server CPU {cpu:.0%} of a core  RSS {rss / 2**20:.0f} MiB  per idle socket "
            f"{per_socket / 1024:.1f} KiB  load generators {', '.join(f'{c:.0%}' for c in gen_cpu)} "
            f"(+ taps {(time.process_time() - own_cpu) / (time.monotonic() - started):.0%})"
        )
        print(
            f"[{label}] lost {sum(r['lost'] for r in reports)}  reordered {sum(r['reordered'] for r in reports)}  "
            f"resynced {sum(r['resynced'] for r in reports)}"
        )
        if args.storm:
            await storm(label, workers, servers, reports)
        await workers.ask({"op": "stop"})
    finally:
        for c in clients:
            await c.aclose()


async def storm(label: str, workers: Workers, servers: list[FloorServer], reports: list[dict]) -> None:
    """Restart every server at once: all sockets drop with 1012 and must come back in step by themselves."""
    target: dict[str, int] = {}
    for r in reports:
        for clinic, seq in r["seqs"].items():
            target[clinic] = max(target.get(clinic, 0), seq)
    await workers.ask({"op": "arm", "target": target})
    overflows0 = listen_overflows()
    down = time.monotonic()
    codes = await asyncio.gather(*(asyncio.to_thread(s.stop) for s in servers))
    stopped = time.monotonic()
    # Up once every server listens again (it does only once its clinics are loaded): under the storm its first
    # HTTP answer comes late, queued behind thousands of sockets, and says more about the storm than the start.
    listened = [asyncio.ensure_future(asyncio.to_thread(listening, s)) for s in servers]
    restarted = await asyncio.gather(*(asyncio.to_thread(s.start) for s in servers))
    answered = time.monotonic()
    ups = await asyncio.gather(*listened)
    up, cpu0 = max(t for t, _ in ups), sum(c for _, c in ups)
    answers = await workers.ask({"op": "back", "up": up, "within": 60})
    cpu = sum(s.process.cpu() for s in servers) - cpu0
    overflows = listen_overflows() - overflows0
    back = [b for a in answers for b in a["back"]]
    behind = sum(a["behind"] for a in answers)
    peak = sum(s.process.memory("VmHWM") for s in servers)
    print(
        f"[{label} storm] servers exited {codes} in {stopped - down:.1f} s; listening again after "
        f"{up - stopped:.1f} s, answering HTTP after {max(restarted):.1f} s ({answered - up:.1f} s after listening); "
        f"close codes {sorted({c for a in answers for c in a['codes']})}; "
        f"{sum(a['failed_connects'] for a in answers)} refused connects while down"
    )
    print(
        f"[{label} storm] {len(back)} of {len(back) + behind} sockets back in step: p50 {pct(back, 50):.2f} s  "
        f"p99 {pct(back, 99):.2f} s  all {max(back, default=float('nan')) if not behind else float('nan'):.2f} s "
        f"after the servers listened ({max(back, default=0) + up - down:.1f} s after the drop); peak server RSS "
        f"{peak / 2**20:.0f} MiB"
    )
    print(
        f"[{label} storm] server CPU from listening to all back {cpu:.1f} s "
        f"({cpu / max(1, len(back)) * 1000:.2f} ms per socket back); listen queue overflows on this machine "
        f"since the drop {overflows} (each a connect its client's kernel retries 1, 3, 7... s later)"
    )


def listening(server: FloorServer, within: float = 120.0) -> tuple[float, float]:
    """When a (re)starting server accepts a connection (the kernel completes it once the server listens),
    polled every 10 ms: its time.monotonic(), and the server's CPU seconds then."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
                return time.monotonic(), server.process.cpu()
        except OSError:
            time.sleep(0.01)
    raise SystemExit(f"nothing listened on port {server.port} within {within:g} s")


def listen_overflows() -> int:
    """The machine's count of connections dropped because a listening socket's accept queue was full
    (TcpExt ListenOverflows, every process's: 0 on a machine where nothing else overflows)."""
    try:
        text = Path("/proc/net/netstat").read_text()
        lines = [line.split() for line in text.splitlines() if line.startswith("TcpExt:")]
        return int(dict(zip(lines[0], lines[1], strict=True))["ListenOverflows"])
    except (OSError, KeyError, IndexError, ValueError):
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=2000, help="wall sockets (2000; at most 30000)")
    parser.add_argument("--clinics", type=int, default=50, help="clinics they are spread over (50)")
    parser.add_argument("--rate", type=float, default=50.0, help="taps a second over all clinics, at random (50)")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the taps go on (20; at most 300)")
    parser.add_argument("--procs", type=int, default=2, help="load-generator processes holding the sockets (2)")
    parser.add_argument("--probe-every", type=int, default=25, help="1 socket in N times every update (25)")
    parser.add_argument("--redis", action="store_true", help="the Redis log (a private redis-server)")
    parser.add_argument("--instances", type=int, default=1, help="servers sharing Redis (needs --redis)")
    parser.add_argument(
        "--shards",
        type=int,
        default=1,
        help="embedded servers on this machine, each with its own data directory and a share of the clinics "
        "(the walls and taps of a clinic go to its server): more sockets than one process's open-file limit",
    )
    parser.add_argument(
        "--replica",
        action="store_true",
        help="with --redis: a primary and one replica, both with AOF fsynced on every write",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=0,
        choices=(0, 1),
        help="--redis-replicas for the servers: 1 answers a tap once the replica has it (implies --replica)",
    )
    parser.add_argument("--storm", action="store_true", help="then restart the servers: a reconnect storm")
    parser.add_argument(
        "--booked",
        action="store_true",
        help="every clinic mid-way through a simulated clinic day (about 60 booked visits), the clock at "
        "--booked-at: the alert review and delay projection after each tap then cost what they do in a busy hour",
    )
    parser.add_argument(
        "--booked-at",
        type=dt.time.fromisoformat,
        default=BOOKED_AT,
        metavar="HH:MM",
        help=f"with --booked: the clinic time the day has reached when the run starts ({BOOKED_AT:%H:%M})",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="with --booked: the n-th clinic's day is drawn from seed+n (1)"
    )
    args = parser.parse_args()
    args.sockets = max(1, min(args.sockets, 30000))
    args.seconds = min(args.seconds, 300.0)
    args.procs = max(1, min(args.procs, os.cpu_count() * 4 or 8))
    if args.instances > 1 and not args.redis:
        parser.error("several instances share a Redis: add --redis")
    if args.shards > 1 and (args.redis or args.instances > 1):
        parser.error("--shards are embedded servers, each with its own clinics: not with --redis or --instances")
    if args.shards > args.clinics:
        parser.error("--shards: at most one server per clinic")
    args.replica = args.replica or args.replicas > 0
    if args.replica and not args.redis:
        parser.error("--replica and --replicas need --redis")
    workers = Workers(args.procs, reconnect=args.storm)
    try:
        try:
            import uvloop

            uvloop.run(run(args, workers))
        except ImportError:
            asyncio.run(run(args, workers))
    finally:
        workers.close()


if __name__ == "__main__":
    main()
