"""Soak: a whole clinic day for many clinics on a fast clock, thousands of walls connected, watched hour by hour.

Starts `floor serve` (embedded log) on a fast clock (`--speed` times real time) for `--clinics` copies of the
demo clinic, opens `--walls` wall-display sockets spread over them (as fanout.py: most only drain frames and
check every seq arrives in order; 1 in 25, spread through the list, time every update), and plays each
clinic's generated day (`floor.simulator.simulate_day`, its own seed per clinic) over HTTP as tablets would:
the front desk books the day's schedule before the doors open, then every arrival, rooming, prep, provider,
teach-back, check-out and room cleaned is tapped at its clinic time. After the day's last tap the walls stay
connected for `--tail` more clinic hours.

At every clinic hour it reads the server: RSS, open file descriptors, CPU, and from /metrics the garbage
collector's pauses and the display sockets connected; and prints one row per clinic hour with those, the tap
acknowledgement p50/p99 and tap-to-screen p99 of that hour's taps, how far the players fell behind the
clinic clock, closes, and lost/reordered updates. It ends with a verdict: does anything grow without bound
(first against last hours; memory's slope after the last tap, while the walls stay connected).

    .venv/bin/python loadtests/soak.py --clinics 3 --walls 50 --speed 900           # smoke: 1.5 minutes
    .venv/bin/python loadtests/soak.py --clinics 200 --walls 5000 --speed 30        # the real run: ~30 minutes
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import Screen, Screens
from fleet import probe
from rig import (
    ROOT,
    FloorServer,
    Pace,
    add_staff,
    clinic_files,
    display_tokens,
    ms,
    pct,
    raise_file_limit,
    sign_in,
)

sys.path.insert(0, str(ROOT))
from floor.config import load_clinics
from floor.core.events import Event, RoomMarked, StepTaken, VisitBooked
from floor.core.journey import Stage
from floor.simulator import simulate_day

STAFF, PIN = "soak-manager", "soak-manager-pin"
#: Taps a second per tablet (each sign-in may write 5 a second).
TABLET_RATE = 4.0
HOUR = dt.timedelta(hours=1)


# -- the day's taps ------------------------------------------------------------------------------------------


@dataclass
class Tap:
    """One tap of a clinic's day: when (clinic time) and what, in the simulated day's visit ids."""

    at: dt.datetime
    event: Event


def day_taps(clinic, day: dt.date, seed: int, start: dt.datetime) -> list[Tap]:
    """The simulated day's taps. Scheduled bookings (all made at once in the simulation) are spread from
    `start` to a quarter of an hour before their first tap (patients come from half an hour before opening),
    as a desk would enter them (or an import would)."""
    events, _ = simulate_day(clinic, day, seed)
    taps = [Tap(e.at, e) for e in events if isinstance(e.change, VisitBooked | StepTaken | RoomMarked)]
    scheduled = [t for t in taps if isinstance(t.event.change, VisitBooked) and not t.event.change.walk_in]
    if scheduled:
        first = min(t.at for t in scheduled)
        window = max(dt.timedelta(0), first - start - dt.timedelta(minutes=15))
        for i, t in enumerate(scheduled):
            t.at = start + window * (i / len(scheduled))
    taps.sort(key=lambda t: t.at)
    return taps


def tap_request(clinic: str, tap: Tap, ids: dict[str, str]) -> tuple[str, dict] | None:
    """The HTTP request a tablet sends for the tap: (path, body). `ids` maps the simulation's visit ids to the
    server's (from the bookings' answers); None for a step of a visit whose booking was refused."""
    change = tap.event.change
    if isinstance(change, VisitBooked):
        body = {
            "patient_name": change.patient_name,
            "provider": change.provider,
            "visit_type": change.visit_type,
            "walk_in": change.walk_in,
        }
        if not change.walk_in:
            body["start"] = change.start.isoformat()
        return f"/api/clinics/{clinic}/visits", body
    if isinstance(change, StepTaken):
        if change.visit not in ids:
            return None
        body = {"type": change.step.value}
        if change.step is Stage.roomed:  # (a check-out's event names the room it frees; its tap does not)
            body["room"] = change.room
        return f"/api/clinics/{clinic}/visits/{ids[change.visit]}/events", body
    assert isinstance(change, RoomMarked)
    return f"/api/clinics/{clinic}/rooms/{change.room}/events", {"type": change.action.value}


# -- figures per clinic hour ---------------------------------------------------------------------------------


@dataclass
class Hour:
    acks: list[float] = field(default_factory=list)
    behind: list[float] = field(default_factory=list)
    sent: int = 0
    refused: dict[int, int] = field(default_factory=lambda: defaultdict(int))


@dataclass
class Sample:
    """The server and the walls at one clinic-hour boundary (cumulative counters)."""

    at: float
    rss: int
    fds: int
    cpu: float
    generator: float
    gc_count: float
    gc_full: float
    gc_seconds: float
    gc_buckets: dict[float, float]
    displays: float
    closes: int
    gaps: int
    reordered: int
    resynced: int


class Soak:
    def __init__(
        self, args: argparse.Namespace, server: FloorServer, origin: float, start: dt.datetime, screens: list[Screen]
    ) -> None:
        self.args, self.server, self.origin, self.start, self.screens = args, server, origin, start, screens
        self.hours: dict[int, Hour] = defaultdict(Hour)
        #: (clinic, seq) -> (send time, clinic hour) of each stored tap.
        self.sent: dict[tuple[str, int], tuple[float, int]] = {}
        self.samples: list[Sample] = []
        self.skipped = 0
        #: The first few refusals, to show.
        self.refusals: list[str] = []

    def real(self, at: dt.datetime) -> float:
        """The monotonic time at which the server's clock reads `at`."""
        return self.origin + (at - self.start).total_seconds() / self.args.speed

    def hour_of(self, t: float) -> int:
        return max(0, int((t - self.origin) * self.args.speed // 3600))

    async def sample(self, client: httpx.AsyncClient) -> Sample:
        proc = self.server.process
        gc_count = gc_full = gc_seconds = displays = 0.0
        buckets: dict[float, float] = defaultdict(float)
        try:
            text = (await client.get("/metrics", timeout=10)).text
            for family in text_string_to_metric_families(text):
                for s in family.samples:
                    if s.name == "floor_gc_pause_seconds_count":
                        gc_count += s.value
                        if s.labels.get("generation") == "2":
                            gc_full += s.value
                    elif s.name == "floor_gc_pause_seconds_sum":
                        gc_seconds += s.value
                    elif s.name == "floor_gc_pause_seconds_bucket":
                        buckets[float(s.labels["le"])] += s.value
                    elif s.name == "floor_sockets" and s.labels.get("audience") == "display":
                        displays = s.value
        except httpx.HTTPError:
            displays = float("nan")
        return Sample(
            time.monotonic(),
            proc.memory(),
            proc.files(),
            proc.cpu(),
            time.process_time(),
            gc_count,
            gc_full,
            gc_seconds,
            dict(buckets),
            displays,
            sum(len(s.closes) for s in self.screens),
            sum(s.gaps for s in self.screens),
            sum(s.reordered for s in self.screens),
            sum(max(0, s.snapshots - 1) for s in self.screens),
        )

    async def watch(self, client: httpx.AsyncClient, until: asyncio.Event) -> None:
        """A sample at the clock's start and at every clinic hour after it, until told to stop."""
        hour = 0
        while True:
            boundary = self.origin + hour * 3600 / self.args.speed
            delay = boundary - time.monotonic()
            if delay > 0:
                try:
                    await asyncio.wait_for(until.wait(), delay)
                    return
                except TimeoutError:
                    pass
            elif until.is_set():
                return
            self.samples.append(await self.sample(client))
            hour += 1

    async def play(self, client: httpx.AsyncClient, tablets: asyncio.Queue, clinic: str, taps: list[Tap]) -> None:
        """One clinic's day, in order, each tap at its clinic time (later if the tablets are all busy)."""
        ids: dict[str, str] = {}  # the simulation's visit id -> the server's
        for tap in taps:
            due = self.real(tap.at)
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            change = tap.event.change
            request = tap_request(clinic, tap, ids)
            if request is None:
                self.skipped += 1
                continue
            path, body = request
            headers, pace = await tablets.get()
            try:
                await pace.wait()
                t0 = time.monotonic()
                hour = self.hours[self.hour_of(due)]
                hour.behind.append(max(0.0, t0 - due) * self.args.speed)  # in clinic seconds
                try:
                    r = await client.post(path, headers=headers, json=body)
                except httpx.HTTPError:
                    hour.refused[0] += 1
                    continue
            finally:
                tablets.put_nowait((headers, pace))
            hour.sent += 1
            if r.status_code != 201:
                hour.refused[r.status_code] += 1
                if len(self.refusals) < 5:
                    self.refusals.append(f"{r.status_code} {path} {r.text[:200]}")
                continue
            hour.acks.append(time.monotonic() - t0)
            answer = r.json()
            self.sent[(clinic, answer["seq"])] = (t0, self.hour_of(due))
            if isinstance(change, VisitBooked):
                ids[change.visit] = answer["visit"]["id"]


# -- the report ----------------------------------------------------------------------------------------------


def _longest(before: dict[float, float], after: dict[float, float]) -> float:
    """The bucket bound of the longest pause between two samples (0: no collection)."""
    longest = 0.0
    previous = 0.0
    for bound in sorted(after):
        count = after[bound] - before.get(bound, 0.0)
        if count > previous:
            longest = bound
        previous = count
    return longest


def _slope(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


def report(soak: Soak, last_tap_hour: int, final_lost: int, final_reordered: int, walls: int) -> bool:
    """Print the table and the verdict; True when nothing grew."""
    samples = soak.samples
    start_local = soak.start.astimezone(soak.args.tz)
    to_screen: dict[int, list[float]] = defaultdict(list)
    for s in soak.screens:
        for key, arrived in s.arrivals:
            if key in soak.sent:
                t0, hour = soak.sent[key]
                to_screen[hour].append(arrived - t0)
    print()
    print(
        f"{'clinic hour':>11} {'taps':>5} {'ack p50':>7} {'p99':>6} {'screen p99':>10} {'behind p99':>10} "
        f"{'RSS MiB':>7} {'fds':>5} {'CPU':>4} {'gen CPU':>7} {'gc n':>5} {'full':>4} {'gc ms':>6} "
        f"{'longest':>7} {'walls':>5} {'closes':>6} {'lost':>4} {'reord':>5} {'resync':>6} {'refused':>7}"
    )
    rows = []
    for h in range(len(samples) - 1):
        a, b = samples[h], samples[h + 1]
        hour = soak.hours.get(h, Hour())
        span = b.at - a.at
        label = (start_local + h * HOUR).strftime("%H:%M")
        refused = sum(hour.refused.values())
        row = dict(
            hour=h,
            label=label,
            taps=hour.sent,
            stored=len(hour.acks),
            ack50=pct(hour.acks, 50),
            ack99=pct(hour.acks, 99),
            screen99=pct(to_screen.get(h, []), 99),
            behind99=pct(hour.behind, 99),
            rss=b.rss,
            fds=b.fds,
            cpu=(b.cpu - a.cpu) / span,
            gen=(b.generator - a.generator) / span,
            gc=b.gc_count - a.gc_count,
            full=b.gc_full - a.gc_full,
            gc_ms=(b.gc_seconds - a.gc_seconds) * 1000,
            longest=_longest(a.gc_buckets, b.gc_buckets) * 1000,
            walls=b.displays,
            closes=b.closes - a.closes,
            lost=b.gaps - a.gaps,
            reordered=b.reordered - a.reordered,
            resynced=b.resynced - a.resynced,
        )
        rows.append(row)
        behind = f"{row['behind99']:.0f} s" if not math.isnan(row["behind99"]) else "-"
        print(
            f"{label:>11} {row['taps']:>5} {ms(row['ack50']):>7} {ms(row['ack99']):>6} {ms(row['screen99']):>10} "
            f"{behind:>10} {row['rss'] / 2**20:>7.0f} {row['fds']:>5} {row['cpu']:>4.0%} {row['gen']:>7.0%} "
            f"{row['gc']:>5.0f} {row['full']:>4.0f} {row['gc_ms']:>6.1f} {'<=' + format(row['longest'], 'g'):>7} "
            f"{row['walls']:>5.0f} {row['closes']:>6} {row['lost']:>4} {row['reordered']:>5} {row['resynced']:>6} "
            f"{refused or '-':>7}"
        )
    all_acks = [a for h in soak.hours.values() for a in h.acks]
    all_screen = [x for v in to_screen.values() for x in v]
    print(
        f"whole run: {len(all_acks)} taps stored  ack p50 {ms(pct(all_acks, 50))} ms  p99 {ms(pct(all_acks, 99))} ms"
        f"  tap-to-screen p99 {ms(pct(all_screen, 99))} ms ({len(all_screen)} probe deliveries)  "
        f"lost {final_lost}  reordered {final_reordered}  taps skipped {soak.skipped}"
    )
    refused: dict[int, int] = defaultdict(int)
    for h in soak.hours.values():
        for code, n in h.refused.items():
            refused[code] += n
    if refused:
        print(f"refused (0: no answer): {dict(refused)}; the first: " + " | ".join(soak.refusals))
    print("(longest: the upper bound of the histogram bucket of the hour's longest collection, in ms)")
    if len(rows) < 3:
        print("verdict: too few clinic hours to say (run longer, or a slower --speed)")
        return False
    # The first hour holds the sockets' arrival and the bookings: compare from the second.
    first, last = rows[1], rows[-1]
    busy = [r for r in rows[1 : last_tap_hour + 1] if r["stored"] >= 10]
    tail = [r for r in rows if r["hour"] > last_tap_hour]
    problems = []
    print("verdict:")
    mib = 2**20
    rss_day = (last["rss"] - first["rss"]) / mib
    taps_after_first = sum(r["taps"] for r in rows[2:])
    per_tap = (last["rss"] - first["rss"]) / max(1, taps_after_first) / 1024
    if tail:
        # From the end of the hour of the last tap to the end of the run.
        slope = _slope([(r["hour"], r["rss"] / mib) for r in rows if r["hour"] >= last_tap_hour])
        flat = abs(slope) <= max(2.0, 0.01 * last["rss"] / mib)
        print(
            f"  memory: RSS {first['rss'] / mib:.0f} MiB after hour 1, peak {max(r['rss'] for r in rows) / mib:.0f}, "
            f"{last['rss'] / mib:.0f} at the end ({rss_day:+.0f} MiB, {per_tap:.2f} KiB per tap: the day's log and "
            f"floor are kept in memory); after the last tap, walls still connected: {slope:+.1f} MiB per clinic "
            f"hour over {len(tail)} h: {'flat' if flat else 'GROWS'}"
        )
        if not flat:
            problems.append("memory")
    else:
        print("  memory: no hour after the last tap (--tail 0): cannot tell growth from the day's own data")
        problems.append("memory (no tail)")
    # Growth only: fewer at the end is the tablets' connections closed once the day's taps are done.
    fds_ok = last["fds"] - first["fds"] <= 10 + walls // 100
    print(f"  file descriptors: {first['fds']} after hour 1, {last['fds']} at the end: {'flat' if fds_ok else 'GROW'}")
    walls_ok = last["walls"] == walls
    print(f"  walls connected at the end: {last['walls']:.0f} of {walls}: {'all' if walls_ok else 'MISSING'}")
    if busy:
        b0, b1 = busy[0], busy[-1]
        gc_ok = b1["gc_ms"] <= 3 * b0["gc_ms"] + 50 and b1["longest"] <= max(4 * b0["longest"], 50)
        print(
            f"  collector: {b0['gc_ms']:.0f} ms of pauses in the first busy hour ({b0['label']}, longest "
            f"<= {b0['longest']:g} ms), {b1['gc_ms']:.0f} ms in the last ({b1['label']}, <= {b1['longest']:g} ms): "
            f"{'flat' if gc_ok else 'GROWS'}"
        )
        ack_ok = b1["ack99"] <= 2 * b0["ack99"] + 0.010
        print(
            f"  tap ack p99: {ms(b0['ack99'])} ms in the first busy hour, {ms(b1['ack99'])} ms in the last: "
            f"{'flat' if ack_ok else 'GROWS'}"
        )
        problems += [] if gc_ok else ["collector pauses"]
        problems += [] if ack_ok else ["tap ack p99"]
    problems += [] if fds_ok else ["file descriptors"]
    problems += [] if walls_ok else ["walls connected"]
    if final_lost or final_reordered:
        problems.append("lost or reordered updates")
    print(f"  lost {final_lost}, reordered {final_reordered}")
    behind = max((r["behind99"] for r in rows if not math.isnan(r["behind99"])), default=0.0)
    if behind > 300:
        print(
            f"  (the tablets fell up to {behind / 60:.0f} clinic minutes behind the clock in some hour (p99): there "
            "the load generator set the pace, not the server; a slower --speed plays the day as booked)"
        )
    print("VERDICT: " + ("nothing grew without bound" if not problems else "look at: " + ", ".join(problems)))
    return not problems


# -- main ----------------------------------------------------------------------------------------------------


async def soak(args: argparse.Namespace) -> int:
    limit = raise_file_limit(args.walls + 1000)
    if limit < args.walls + 200:
        print(f"(open-file limit {limit}: too low for {args.walls} walls; raise `ulimit -n`)")
    with tempfile.TemporaryDirectory(prefix="floor-soak-") as tmp:
        folder = Path(tmp) / "clinics"
        folder.mkdir()
        ids = clinic_files(folder, args.clinics)
        files = [str(folder / f"{c}.toml") for c in ids]
        clinics = load_clinics(files)
        args.tz = clinics[0].tz
        day = clinics[0].day_of(dt.datetime.now(dt.UTC))
        opens = clinics[0].local(day, clinics[0].session.opens)
        start = (opens - dt.timedelta(minutes=args.lead)).replace(minute=0, second=0, microsecond=0)
        built = time.monotonic()
        days = {c.id: day_taps(c, day, args.seed + n, start) for n, c in enumerate(clinics)}
        total = sum(len(t) for t in days.values())
        print(
            f"{args.clinics} clinic days simulated in {time.monotonic() - built:.1f} s: {total} taps, "
            f"{total / args.clinics:.0f} a clinic"
        )
        # Tablets for the busiest quarter clinic hour, at most 4 taps a second each.
        window = 900 / args.speed
        per_window: dict[int, int] = defaultdict(int)
        for taps in days.values():
            for t in taps:
                per_window[int((t.at - start).total_seconds() / args.speed // window)] += 1
        peak = max(per_window.values()) / window
        tablets = max(2, math.ceil(peak * 1.5 / TABLET_RATE))
        data = str(Path(tmp) / "data")
        os.makedirs(data)
        add_staff(data, STAFF, PIN, "manager")
        tokens = await display_tokens(ids, data)
        # The clock starts (at `start`) once the server is up, the tablets signed in and the walls connected.
        setup = args.setup if args.setup is not None else 15 + tablets * 1.5 + args.walls / 100
        origin_wall = time.time() + setup
        origin = time.monotonic() + setup
        server = FloorServer(
            data,
            files,
            extra=[
                "--clock-start",
                start.astimezone(dt.UTC).isoformat(),
                "--clock-speed",
                str(args.speed),
                "--clock-origin",
                str(origin_wall),
            ],
        )
        took = server.start()
        span = (max(t.at for taps in days.values() for t in taps) - start).total_seconds() / 3600 + args.tail
        print(
            f"floor serve up in {took:.1f} s; clinic clock {start.astimezone(args.tz):%H:%M} at {args.speed:g}x, "
            f"{span:.1f} clinic hours = {span * 3600 / args.speed:.0f} s; peak {peak:.1f} taps/s, {tablets} tablets"
        )
        screens = [
            Screen(
                ids[k % len(ids)],
                server.port,
                f"/api/clinics/{ids[k % len(ids)]}/live",
                {"Authorization": f"Bearer {tokens[ids[k % len(ids)]]}"},
                probe=probe(k, len(ids), args.probe_every),
            )
            for k in range(args.walls)
        ]
        holder = Screens(deflate=False, reconnect=True)
        client = httpx.AsyncClient(base_url=server.base, timeout=30, limits=httpx.Limits(max_connections=tablets + 2))
        ok = False
        try:
            pool: asyncio.Queue = asyncio.Queue()
            signing = time.monotonic()
            # A few at a time: attempts in flight count against the account's free tries until answered.
            for first in range(0, tablets, 3):
                for headers in await asyncio.gather(
                    *(sign_in(client, STAFF, PIN, f"soak-tablet-{n}") for n in range(first, min(tablets, first + 3)))
                ):
                    pool.put_nowait((headers, Pace(TABLET_RATE)))
            signed = time.monotonic() - signing
            opened = await holder.open(screens)
            late = time.monotonic() - origin
            print(f"{tablets} tablets signed in in {signed:.1f} s; {args.walls} walls open in {opened:.1f} s")
            if late > 0:
                print(
                    f"setting up took {late:.0f} s longer than the {setup:.0f} s allowed, so the day began before "
                    f"the tablets and walls were ready: give --setup {setup + late + 10:.0f}",
                    flush=True,
                )
                return 2
            print(f"the clinic clock starts in {-late:.1f} s", flush=True)
            run = Soak(args, server, origin, start, screens)
            stop = asyncio.Event()
            watcher = asyncio.create_task(run.watch(client, stop))
            await asyncio.gather(*(run.play(client, pool, c, taps) for c, taps in days.items()))
            last_tap_hour = run.hour_of(time.monotonic())
            # Walls stay connected for the tail; the watcher samples each hour boundary until the end.
            end = origin + (last_tap_hour + 1 + args.tail) * 3600 / args.speed + 0.5
            await asyncio.sleep(max(0.0, end - time.monotonic()))
            stop.set()
            await watcher
            await asyncio.sleep(1)  # the last deliveries
            final: dict[str, int] = defaultdict(int)
            for clinic, seq in run.sent:
                final[clinic] = max(final[clinic], seq)
            for s in screens:  # alerts the server stored itself
                final[s.clinic] = max(final[s.clinic], s.seq or 0)
            lost = sum(s.gaps + max(0, final[s.clinic] - (s.seq or 0)) for s in screens)
            reordered = sum(s.reordered for s in screens)
            ok = report(run, last_tap_hour, lost, reordered, args.walls)
        finally:
            await holder.close()
            await client.aclose()
            server.stop()
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clinics", type=int, default=20, help="clinics, each playing its own day (20; at most 1000)")
    parser.add_argument("--walls", type=int, default=500, help="wall-display sockets over them (500; at most 30000)")
    parser.add_argument(
        "--speed",
        type=float,
        default=60.0,
        help="clinic seconds per real second (60: the 13.6 clinic hours of a default run in 14 minutes; at least 10)",
    )
    parser.add_argument(
        "--lead",
        type=float,
        default=120.0,
        help="clinic minutes before the doors open the clock starts (120), rounded down to the hour; "
        "the day's schedule is booked from then until 45 minutes before opening",
    )
    parser.add_argument(
        "--tail", type=int, default=2, help="clinic hours after the day's last tap with the walls still connected (2)"
    )
    parser.add_argument("--seed", type=int, default=1, help="the first clinic's simulated day (then +1 each)")
    parser.add_argument("--probe-every", type=int, default=25, help="1 wall in N times every update (25)")
    parser.add_argument(
        "--setup",
        type=float,
        default=None,
        help="real seconds from start to the clock's start (default: from tablets and walls)",
    )
    args = parser.parse_args()
    args.clinics = max(1, min(args.clinics, 1000))
    args.walls = max(1, min(args.walls, 30000))
    args.speed = max(10.0, args.speed)
    args.tail = max(0, min(args.tail, 6))
    try:
        import uvloop

        code = uvloop.run(soak(args))
    except ImportError:
        code = asyncio.run(soak(args))
    raise SystemExit(code)


if __name__ == "__main__":
    main()
