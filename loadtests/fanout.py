"""Fan-out benchmark: many wall displays over many clinics, tablets tapping over HTTP, and the bare relay.

Starts Floor (the embedded default, or `--redis` with one or more instances sharing a private Redis), pairs
one display per clinic, opens `--sockets` display sockets spread over `--clinics` clinics (and over the
instances), taps walk-ins (then marks them left unseen) over HTTP at `--rate` taps a second into random
clinics (each tablet a keep-alive HTTP/1.1 connection that writes a tap in one write, its start taken right
before, as the relay's publishers write their one frame; `--httpx` taps through httpx, which spends a few
milliseconds of this busy loop before a tap leaves and after its answer arrives), at random moments
(exponential gaps, seeded by `--seed`; `--fixed-period` for the old even pacing),
and prints: sockets, clinics, taps/s, deliveries/s, tap-to-screen p50/p99/max (from the probe sockets,
spread evenly through the sockets, which parse every message), where the probes' copies came in their
clinic's fan-out order (from sampled updates timed on every socket), tap acknowledgement p50/p99, server CPU
and RSS, memory per idle socket, and lost, reordered or resynced deliveries (checked on every socket: each
must see every seq of its clinic, in order).

Most sockets only drain bytes (a frame parser that reads `seq` from each message's first bytes), so what is
measured is the server. With `--storm`, the servers are then restarted: every socket drops with 1012 and comes
back with `since=` as the pages do, and the time until all are back in step is printed with the server's peak
memory. Then, unless `--no-relay`, the same number of sockets is opened on `../shared/bench/relay_limit.py` (a
bare `websockets` relay, encode-once broadcast: the physical limit here) and publishers send messages of the
same size at the same rate per socket; the ratio of the two p99 tap-to-screen latencies is printed.

    .venv/bin/python loadtests/fanout.py --sockets 1000 --clinics 1 --rate 20
    .venv/bin/python loadtests/fanout.py --sockets 5000 --clinics 200 --rate 100 --storm
    .venv/bin/python loadtests/fanout.py --sockets 5000 --clinics 200 --rate 100 --redis --instances 2 --storm
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import re
import sys
import tempfile
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rig import (
    ROOT,
    Arrivals,
    FloorServer,
    Pace,
    PrivateRedis,
    add_staff,
    clinic_files,
    display_tokens,
    free_port,
    ms,
    pct,
    run_fast,
    sign_in,
)

from floor.close_codes import CLOSE_RESTARTING

RELAY = ROOT.parent / "shared" / "bench" / "relay_limit.py"
STAFF, PIN = "bench-desk", "bench-desk-pin"
#: Taps a second per tablet: each sign-in may write 5 a second, so tablets are added to reach the rate.
TABLET_RATE = 4.0
#: Every socket notes when it got each update whose seq is a multiple of this: the fan-out order, sampled.
MARK_EVERY = 10


# -- screens -------------------------------------------------------------------------------------------------


@dataclass
class Screen:
    """One display socket's view: the last seq it is in step with, and what went wrong on the way."""

    clinic: str
    port: int
    path: str
    headers: dict[str, str]
    probe: bool = False
    seq: int | None = None
    updates: int = 0
    gaps: int = 0
    reordered: int = 0
    snapshots: int = 0
    closes: list[int] = field(default_factory=list)
    #: The wait a stopping server gave with its close (retry=MS), if it gave one.
    retry_ms: int | None = None
    opened: asyncio.Future | None = None
    #: Storm: the seq it must reach again, and when it did.
    target: int | None = None
    back_at: float | None = None
    #: Probe only: (clinic, seq) -> arrival time; relay probes: message send time -> arrival time.
    arrivals: list[tuple[object, float]] = field(default_factory=list)
    update_bytes: int = 0
    #: The relay sends nothing on connect: its sockets are open once the handshake is done.
    open_on_upgrade: bool = False
    #: seq -> arrival time, for the sampled updates (seq a multiple of MARK_EVERY).
    marks: dict[int, float] = field(default_factory=dict)

    def message(self, kind: bytes, seq: int, now: float, size: int) -> None:
        if kind == b"update":
            if self.seq is not None and seq != self.seq + 1:
                if seq <= self.seq:
                    self.reordered += 1
                else:
                    self.gaps += seq - self.seq - 1
            self.seq = max(seq, self.seq or 0)
            self.updates += 1
            self.update_bytes += size
            if seq % MARK_EVERY == 0:
                self.marks[seq] = now
        elif kind == b"snapshot":
            self.snapshots += 1
            self.seq = seq
        if self.target is not None and self.back_at is None and seq >= self.target:
            self.back_at = now
        if self.opened is not None and not self.opened.done() and kind in (b"snapshot", b"update", b"heartbeat"):
            self.opened.set_result(None)

    def url(self) -> str:
        since = f"?since={self.seq}" if self.seq is not None else ""
        return f"ws://127.0.0.1:{self.port}{self.path}{since}"


def _seq(head: bytes) -> tuple[bytes, int]:
    """kind and seq from the first bytes of a message such as {"kind":"update","seq":12,...}."""
    if not head.startswith(b'{"kind":"'):
        return b"", -1
    end = head.find(b'"', 9)
    kind = head[9:end]
    at = head.find(b'"seq":', end)
    if at < 0:
        return kind, -1
    at += 6
    stop = at
    while stop < len(head) and 48 <= head[stop] <= 57:
        stop += 1
    return kind, int(head[at:stop] or -1)


class Drain(asyncio.Protocol):
    """A display socket that reads frames and only looks at their first bytes: cheap enough that thousands
    on the load generator leave the server as what is measured. Answers pings, as a browser does."""

    def __init__(self, screen: Screen, lost: asyncio.Future, deflate: bool) -> None:
        self.screen, self.lost, self.offer_deflate = screen, lost, deflate
        self.buf = bytearray()
        self.upgraded = False
        self.inflate: zlib._Decompress | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        s = self.screen
        since = f"?since={s.seq}" if s.seq is not None else ""
        lines = [
            f"GET {s.path}{since} HTTP/1.1",
            f"Host: 127.0.0.1:{s.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
            "Sec-WebSocket-Version: 13",
            *(f"{k}: {v}" for k, v in s.headers.items()),
        ]
        if self.offer_deflate:
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            if not head.startswith(b"http/1.1 101"):
                self.screen.closes.append(int(head[9:12]))
                self.transport.close()
                return
            if b"permessage-deflate" in head:
                self.inflate = zlib.decompressobj(-15)
            del buf[: end + 4]
            self.upgraded = True
            opened = self.screen.opened
            if self.screen.open_on_upgrade and opened is not None and not opened.done():
                opened.set_result(None)
        now = time.monotonic()
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, length = buf[pos], buf[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length, start = int.from_bytes(buf[pos + 2 : pos + 4], "big"), pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, start = int.from_bytes(buf[pos + 2 : pos + 10], "big"), pos + 10
            if size - start < length:
                break
            opcode = b0 & 0x0F
            if opcode == 1:
                payload = buf[start : start + length]
                if b0 & 0x40 and self.inflate is not None:
                    payload = self.inflate.decompress(bytes(payload) + b"\x00\x00\xff\xff")
                if self.screen.probe:
                    self._probe(bytes(payload), now)
                else:
                    kind, seq = _seq(bytes(payload[:48]))
                    self.screen.message(kind, seq, now, length)
            elif opcode == 9:  # ping: answer as browsers do, or the server's keepalive closes us
                self.transport.write(_masked(0xA, bytes(buf[start : start + length])))
            elif opcode == 8:
                code = int.from_bytes(buf[start : start + 2], "big") if length >= 2 else 1005
                self.screen.closes.append(code)
                told = re.search(rb"retry=(\d+)", bytes(buf[start + 2 : start + length]))
                self.screen.retry_ms = int(told[1]) if told else None
                self.transport.write(_masked(0x8, bytes(buf[start : start + 2])))
                self.transport.close()
            pos = start + length
        del buf[:pos]

    def _probe(self, payload: bytes, now: float) -> None:
        message = json.loads(payload)
        kind, seq = message["kind"].encode(), message.get("seq", -1)
        if kind == b"update":
            # Floor's updates carry the clinic's seq; the relay's carry their send time.
            key = message.get("sent", (self.screen.clinic, seq))
            self.screen.arrivals.append((key, now))
        self.screen.message(kind, seq, now, len(payload))

    def connection_lost(self, exc) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


def _masked(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


class Screens:
    """Keeps every screen connected: after a drop it comes back with since=, waiting as the pages do."""

    def __init__(self, deflate: bool, reconnect: bool) -> None:
        self.deflate = deflate
        self.reconnect = reconnect
        self.tasks: list[asyncio.Task] = []
        self.failed_connects = 0

    async def hold(self, screen: Screen, gate: asyncio.Semaphore) -> None:
        backoff = 0.5
        async with gate:  # the first connections a few hundred at a time, as screens switch on over minutes
            lost = await self._connect(screen)
            await asyncio.wait_for(asyncio.shield(screen.opened), 30)
        while True:
            await lost
            if not self.reconnect:
                return
            if screen.closes and screen.closes[-1] == CLOSE_RESTARTING:
                # As static/lib/feed.js: when the stopping server said (retry=MS), or soon, not all at once.
                told = screen.retry_ms
                wait = 0.2 + random.random() * 0.8 if told is None else min(told, 60_000) / 1000 + random.random() * 0.2
                await asyncio.sleep(wait)
            while True:
                try:
                    lost = await self._connect(screen)
                    break
                except OSError:
                    self.failed_connects += 1
                    # As static/lib/feed.js: jittered backoff while the server is down, at most 1 s after a restart.
                    await asyncio.sleep(backoff * (0.5 + random.random()))
                    backoff = min(1.0, backoff * 2)
            backoff = 0.5

    async def _connect(self, screen: Screen) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        lost = loop.create_future()
        await loop.create_connection(lambda: Drain(screen, lost, self.deflate), "127.0.0.1", screen.port)
        return lost

    async def open(self, screens: list[Screen]) -> float:
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(200)
        started = time.monotonic()
        for screen in screens:
            screen.opened = loop.create_future()
            self.tasks.append(asyncio.create_task(self.hold(screen, gate)))
        waits = [asyncio.shield(s.opened) for s in screens]
        _, pending = await asyncio.wait(waits, timeout=120)
        if pending:
            raise SystemExit(
                f"{len(pending)} of {len(screens)} sockets did not open within 2 minutes "
                f"(close codes seen: {sorted({c for s in screens for c in s.closes})})"
            )
        return time.monotonic() - started

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


# -- tablets -------------------------------------------------------------------------------------------------


@dataclass
class Taps:
    sent: dict[tuple[str, int], float] = field(default_factory=dict)
    acks: list[float] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)


def pacing(args: argparse.Namespace, rate: float, rng: random.Random) -> Pace | Arrivals:
    """Sends at random moments (exponential gaps), or with --fixed-period evenly spaced."""
    return Pace(rate) if args.fixed_period else Arrivals(rate, rng)


class LeanTablet(asyncio.Protocol):
    """A tablet's keep-alive HTTP/1.1 connection that writes each tap in one `transport.write`, as the relay's
    publisher writes its one frame, and takes the tap's start right before that write: the tap-to-screen
    figure is then the server's, not the load generator's HTTP client's (httpx spends a millisecond or more
    of this loaded loop's time on a request before its bytes leave)."""

    def __init__(self, host: str, headers: dict[str, str]) -> None:
        self.head = (
            f"Host: {host}\r\nContent-Type: application/json\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        ).encode()
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        length = next((int(v) for k, _, v in (x.partition(":") for x in lines[1:]) if k.lower() == "content-length"), 0)
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((int(lines[0].split(" ", 2)[1]), body))

    def connection_lost(self, exc) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("the server closed the tablet's connection"))

    async def post(self, path: str, payload: dict) -> tuple[float, int, dict]:
        body = json.dumps(payload, separators=(",", ":")).encode()
        self.waiter = asyncio.get_running_loop().create_future()
        request = b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s" % (path.encode(), self.head, len(body), body)
        t0 = time.monotonic()
        self.transport.write(request)
        status, answer = await self.waiter
        return t0, status, json.loads(answer) if answer else {}


#: A tap's request: a path and its JSON body in, (its start, its status, its answer) out.
Post = Callable[[str, dict], Awaitable[tuple[float, int, dict]]]


async def tablet(
    connection: AbstractAsyncContextManager[Post],
    clinics: list[str],
    pace: Pace | Arrivals,
    rng: random.Random,
    until: float,
    taps: Taps,
    n: int,
) -> None:
    """A tablet's taps over its connection until `until`: a walk-in booked, then marked left without being seen,
    each at its pace."""
    async with connection as post:
        i = 0
        while time.monotonic() < until:
            clinic = rng.choice(clinics)
            await pace.wait()
            t0, status, answer = await post(
                f"/api/clinics/{clinic}/visits",
                {"patient_name": f"Bench {n}-{i}", "provider": "kim", "visit_type": "follow", "walk_in": True},
            )
            if status != 201:
                taps.refused.append(status)
                continue
            taps.acks.append(time.monotonic() - t0)
            taps.sent[(clinic, answer["seq"])] = t0
            visit = answer["visit"]["id"]
            await pace.wait()
            t0, status, answer = await post(
                f"/api/clinics/{clinic}/visits/{visit}/events", {"type": "left_without_being_seen"}
            )
            if status != 201:
                taps.refused.append(status)
                continue
            taps.acks.append(time.monotonic() - t0)
            taps.sent[(clinic, answer["seq"])] = t0
            i += 1


@contextlib.asynccontextmanager
async def lean_connection(base: str, headers: dict[str, str]) -> AsyncIterator[Post]:
    """A `LeanTablet` connection to the server at `base`, its `post`; closed at the end."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    _, conn = await asyncio.get_running_loop().create_connection(
        lambda: LeanTablet(f"{host}:{port}", headers), host, int(port)
    )
    try:
        yield conn.post
    finally:
        conn.transport.close()


@contextlib.asynccontextmanager
async def httpx_connection(client: httpx.AsyncClient, headers: dict[str, str]) -> AsyncIterator[Post]:
    """Taps through httpx (`--httpx`): the tap's start is taken before httpx builds the request."""

    async def post(path: str, payload: dict) -> tuple[float, int, dict]:
        t0 = time.monotonic()
        r = await client.post(path, headers=headers, json=payload)
        return t0, r.status_code, r.json() if r.status_code == 201 else {}

    yield post


# -- one run -------------------------------------------------------------------------------------------------


@dataclass
class Figures:
    label: str
    sockets: int
    clinics: int
    seconds: float
    taps: int = 0
    deliveries: int = 0
    to_screen: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    cpu: float = float("nan")
    rss: int = 0
    per_socket: float = float("nan")
    lost: int = 0
    reordered: int = 0
    resynced: int = 0
    refused: list[int] = field(default_factory=list)
    update_size: float = 0.0
    #: CPU of this load generator over the run: near a whole core, its own queueing is in the latencies.
    generator: float = float("nan")
    #: Where the probes' copies of the sampled updates came in their clinic's fan-out (0 first, 1 last).
    places: list[float] = field(default_factory=list)

    def print(self) -> None:
        print(
            f"[{self.label}] sockets {self.sockets}  clinics {self.clinics}  seconds {self.seconds:.1f}  "
            f"taps/s {self.taps / self.seconds:.1f}  deliveries/s {self.deliveries / self.seconds:.0f}"
        )
        print(
            f"[{self.label}] tap-to-screen p50 {ms(pct(self.to_screen, 50))} ms  "
            f"p99 {ms(pct(self.to_screen, 99))} ms  max {ms(max(self.to_screen, default=float('nan')))} ms  "
            f"({len(self.to_screen)} probe deliveries)"
        )
        if self.acks:
            print(
                f"[{self.label}] tap ack p50 {ms(pct(self.acks, 50))} ms  p99 {ms(pct(self.acks, 99))} ms  "
                f"refused {dict(Counter(self.refused)) or 0}"
            )
        print(
            f"[{self.label}] server CPU {self.cpu:.0%} of a core (load generator {self.generator:.0%})  "
            f"RSS {self.rss / 2**20:.0f} MiB  "
            f"per idle socket {self.per_socket / 1024:.1f} KiB  update {self.update_size:.0f} B"
        )
        print(f"[{self.label}] lost {self.lost}  reordered {self.reordered}  resynced {self.resynced}")
        if self.places:
            print(
                f"[{self.label}] probes' place in the fan-out order (0 first, 1 last): "
                f"p10 {pct(self.places, 10):.2f}  p50 {pct(self.places, 50):.2f}  p90 {pct(self.places, 90):.2f}  "
                f"({len(self.places)} sampled deliveries)"
            )


def probe_places(sockets: int, probes: int) -> set[int]:
    """Probes spread evenly through the sockets as they connect (the middle one of each run of sockets/probes),
    so that they land all through the server's fan-out order rather than at one end of it."""
    return {(2 * i + 1) * sockets // (2 * probes) for i in range(probes)}


def fanout_places(screens: list[Screen]) -> list[float]:
    """For each sampled update, the order in which its clinic's sockets got it, and where the probes came."""
    by_update: dict[tuple[str, int], list[tuple[float, bool]]] = defaultdict(list)
    for s in screens:
        for seq, at in s.marks.items():
            by_update[(s.clinic, seq)].append((at, s.probe))
    places = []
    for arrivals in by_update.values():
        if len(arrivals) > 1:
            arrivals.sort()
            last = len(arrivals) - 1
            places += [i / last for i, (_, probe) in enumerate(arrivals) if probe]
    return places


def _screens(args: argparse.Namespace, clinics: list[str], ports: list[int], tokens: dict[str, str]) -> list[Screen]:
    screens, probes = [], probe_places(args.sockets, args.probes)
    for k in range(args.sockets):
        clinic = clinics[k % len(clinics)]
        screens.append(
            Screen(
                clinic,
                ports[k % len(ports)],
                f"/api/clinics/{clinic}/live",
                {"Authorization": f"Bearer {tokens[clinic]}"},
                probe=k in probes,
            )
        )
    return screens


def _check(screens: list[Screen], final: dict[str, int], figures: Figures) -> None:
    """Every socket must have seen every seq of its clinic, in order, up to the clinic's last."""
    for s in screens:
        figures.lost += s.gaps + max(0, final.get(s.clinic, 0) - (s.seq or 0))
        figures.reordered += s.reordered
        figures.resynced += s.snapshots - 1
        figures.deliveries += s.updates


async def floor_run(
    args: argparse.Namespace, servers: list[FloorServer], clinics: list[str], tokens: dict[str, str]
) -> Figures:
    label = f"floor {'redis x' + str(len(servers)) if args.redis else 'embedded'}"
    figures = Figures(label, args.sockets, len(clinics), args.seconds)
    tablets = max(1, round(args.rate / TABLET_RATE + 0.49))
    clients = [
        httpx.AsyncClient(base_url=s.base, timeout=30, limits=httpx.Limits(max_connections=tablets)) for s in servers
    ]
    try:
        # One after another: attempts in flight count against the account until answered, so more than the
        # lockout's free tries at once would be told to try again (floor/credentials.py `Lockout`).
        signed_in = [await sign_in(clients[n % len(clients)], STAFF, PIN, f"bench-tablet-{n}") for n in range(tablets)]
        await asyncio.sleep(2)
        idle = sum(s.process.memory() for s in servers)
        screens = _screens(args, clinics, [s.port for s in servers], tokens)
        holder = Screens(args.deflate, reconnect=args.storm)
        opened = await holder.open(screens)
        print(
            f"[{label}] {len(screens)} sockets open in {opened:.1f} s; {tablets} tablets at "
            f"{args.rate / tablets:.2f} taps/s each"
        )
        await asyncio.sleep(2)
        figures.per_socket = (sum(s.process.memory() for s in servers) - idle) / len(screens)
        taps = Taps()
        cpu0, own0 = sum(s.process.cpu() for s in servers), time.process_time()
        started = time.monotonic()
        until = started + args.seconds
        rngs = [random.Random(args.seed * 1000 + n) for n in range(tablets)]
        await asyncio.gather(
            *(
                tablet(
                    httpx_connection(clients[n % len(clients)], signed_in[n])
                    if args.httpx
                    else lean_connection(servers[n % len(servers)].base, signed_in[n]),
                    clinics,
                    pacing(args, args.rate / tablets, rngs[n]),
                    rngs[n],
                    until,
                    taps,
                    n,
                )
                for n in range(tablets)
            )
        )
        figures.seconds = time.monotonic() - started
        figures.cpu = (sum(s.process.cpu() for s in servers) - cpu0) / figures.seconds
        figures.generator = (time.process_time() - own0) / figures.seconds
        figures.rss = sum(s.process.memory() for s in servers)
        await asyncio.sleep(2)  # the last deliveries
        final: dict[str, int] = {}
        for clinic, seq in taps.sent:
            final[clinic] = max(final.get(clinic, 0), seq)
        for s in screens:  # Floor itself may have stored an alert after the last tap
            final[s.clinic] = max(final.get(s.clinic, 0), s.seq or 0)
        _check(screens, final, figures)
        figures.taps, figures.acks, figures.refused = len(taps.acks), taps.acks, taps.refused
        figures.to_screen = [at - taps.sent[key] for s in screens for key, at in s.arrivals if key in taps.sent]
        figures.places = fanout_places(screens)
        updates = sum(s.updates for s in screens)
        figures.update_size = sum(s.update_bytes for s in screens) / updates if updates else 0
        if args.storm:
            await storm(args, servers, screens, label)
        await holder.close()
    finally:
        for client in clients:
            await client.aclose()
    return figures


async def storm(args: argparse.Namespace, servers: list[FloorServer], screens: list[Screen], label: str) -> None:
    """Restart every server at once: all sockets drop with 1012 and must come back in step by themselves."""
    for s in screens:
        s.target, s.back_at = s.seq, None
    down = time.monotonic()
    codes = await asyncio.gather(*(asyncio.to_thread(s.stop) for s in servers))
    stopped = time.monotonic()
    restarted = await asyncio.gather(*(asyncio.to_thread(s.start) for s in servers))
    up = time.monotonic()
    deadline = up + 60
    while time.monotonic() < deadline and any(s.back_at is None for s in screens):
        await asyncio.sleep(0.05)
    behind = [s for s in screens if s.back_at is None]
    back = [s.back_at - up for s in screens if s.back_at is not None]
    peak = sum(s.process.memory("VmHWM") for s in servers)
    print(
        f"[{label} storm] servers exited {codes} in {stopped - down:.1f} s; up again in "
        f"{max(restarted):.1f} s; restart close codes {sorted({s.closes[-1] for s in screens if s.closes})}"
    )
    print(
        f"[{label} storm] {len(screens) - len(behind)} of {len(screens)} sockets back in step: p50 "
        f"{pct(back, 50):.2f} s  p99 {pct(back, 99):.2f} s  all {max(back, default=float('nan')):.2f} s after "
        f"the servers were up  ({time.monotonic() - down if not behind else float('nan'):.1f} s after the drop); "
        f"peak server RSS {peak / 2**20:.0f} MiB"
    )


# -- the relay -----------------------------------------------------------------------------------------------


async def relay_run(args: argparse.Namespace, clinics: int, update_size: float) -> Figures:
    """The same sockets and the same messages per socket a second, through the bare relay."""
    import subprocess

    from rig import Process

    port = free_port()
    proc = subprocess.Popen([sys.executable, str(args.relay), str(port)])
    figures = Figures("relay", args.sockets, 1, args.seconds)
    try:
        for _ in range(100):
            try:
                async with connect(f"ws://127.0.0.1:{port}/"):
                    break
            except OSError:
                await asyncio.sleep(0.05)
        probes = probe_places(args.sockets, args.probes)
        screens = [Screen("relay", port, "/", {}, probe=k in probes, open_on_upgrade=True) for k in range(args.sockets)]
        holder = Screens(deflate=False, reconnect=False)
        await holder.open(screens)
        await asyncio.sleep(2)
        # Each Floor socket gets its clinic's share of the taps: the relay sends everyone every message.
        rate = args.rate / clinics
        publishers = max(1, round(rate / TABLET_RATE + 0.49))
        pad = max(0, int(update_size) - 60)
        counter = iter(range(1, 10**9))
        sent = 0
        server = Process(proc.pid)
        cpu0, own0 = server.cpu(), time.process_time()
        started = time.monotonic()
        until = started + args.seconds

        async def publisher(n: int) -> None:
            nonlocal sent
            pace = pacing(args, rate / publishers, random.Random(args.seed * 1000 + 500 + n))
            async with connect(f"ws://127.0.0.1:{port}/", max_size=None) as ws:
                drain = asyncio.create_task(_discard(ws))
                while time.monotonic() < until:
                    await pace.wait()
                    seq = next(counter)
                    await ws.send(
                        json.dumps(
                            {"kind": "update", "seq": seq, "sent": time.monotonic(), "pad": "x" * pad},
                            separators=(",", ":"),
                        )
                    )
                    sent += 1
                drain.cancel()

        await asyncio.gather(*(publisher(n) for n in range(publishers)))
        figures.seconds = time.monotonic() - started
        figures.cpu = (server.cpu() - cpu0) / figures.seconds
        figures.generator = (time.process_time() - own0) / figures.seconds
        figures.rss = server.memory()
        await asyncio.sleep(2)
        figures.taps = sent
        # Several publishers: a socket may see their messages interleaved, so only losses count here.
        for s in screens:
            figures.lost += max(0, sent - s.updates)
            figures.deliveries += s.updates
        figures.to_screen = [at - key for s in screens for key, at in s.arrivals]
        figures.places = fanout_places(screens)
        await holder.close()
    finally:
        proc.terminate()
        proc.wait(10)
    return figures


async def _discard(ws) -> None:
    try:
        async for _ in ws:
            pass
    except ConnectionClosed:
        pass


# -- main ----------------------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="floor-fanout-") as tmp:
        folder = Path(tmp) / "clinics"
        folder.mkdir()
        clinics = clinic_files(folder, args.clinics)
        files = [str(folder / f"{c}.toml") for c in clinics]
        redis = PrivateRedis() if args.redis else None
        servers: list[FloorServer] = []
        try:
            url = redis.url if redis else None
            data_dirs = [str(Path(tmp) / f"data{n}") for n in range(args.instances)]
            for d in data_dirs:
                os.makedirs(d)
            add_staff(data_dirs[0], STAFF, PIN, "front_desk", url)
            tokens = await display_tokens(clinics, data_dirs[0], url)
            servers = [FloorServer(d, files, url) for d in data_dirs]
            for s in servers:
                took = s.start()
                print(
                    f"floor serve on port {s.port} ({len(clinics)} clinics, "
                    f"{'Redis' if url else 'embedded'}) up in {took:.1f} s"
                )
            floor = await floor_run(args, servers, clinics, tokens)
        finally:
            for s in servers:
                s.stop()
            if redis:
                redis.stop()
    floor.print()
    if args.no_relay:
        return
    if not args.relay.exists():
        print(f"(no relay at {args.relay}: pass --relay PATH, or --no-relay)")
        return
    relay = await relay_run(args, args.clinics, floor.update_size)
    relay.print()
    print(
        f"p99 ratio floor/relay: {pct(floor.to_screen, 99) / pct(relay.to_screen, 99):.2f}  "
        f"(p50 ratio {pct(floor.to_screen, 50) / pct(relay.to_screen, 50):.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=1000, help="display sockets (1000)")
    parser.add_argument("--clinics", type=int, default=1, help="clinics the sockets are spread over (1)")
    parser.add_argument("--rate", type=float, default=20.0, help="taps a second, over all clinics (20)")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the taps go on (20, at most 120)")
    parser.add_argument(
        "--probes",
        type=int,
        default=None,
        help="sockets that parse every message and time it (default: 1 in 25, at least 10)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the taps' random moments and clinics (1)")
    parser.add_argument(
        "--fixed-period",
        action="store_true",
        help="taps evenly spaced instead of at random moments (how this benchmark used to pace)",
    )
    parser.add_argument("--redis", action="store_true", help="use the Redis log (a private redis-server)")
    parser.add_argument("--instances", type=int, default=1, help="servers sharing Redis (needs --redis)")
    parser.add_argument("--storm", action="store_true", help="then restart the servers: a reconnect storm")
    parser.add_argument(
        "--deflate", action="store_true", help="sockets offer permessage-deflate, as browsers do (the server decides)"
    )
    parser.add_argument("--relay", type=Path, default=RELAY, help=f"the bare relay script ({RELAY})")
    parser.add_argument("--no-relay", action="store_true", help="skip the relay run")
    parser.add_argument(
        "--httpx",
        action="store_true",
        help="tablets tap through httpx (the figures before 2026-12-05), not one write on a keep-alive connection",
    )
    args = parser.parse_args()
    args.seconds = min(args.seconds, 120.0)
    if args.instances > 1 and not args.redis:
        parser.error("several instances share a Redis: add --redis")
    if args.probes is None:
        args.probes = max(10, args.sockets // 25)
    args.probes = min(args.probes, args.sockets)
    run_fast(bench(args))


if __name__ == "__main__":
    main()
