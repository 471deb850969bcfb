"""How soon a revoked wall's socket is closed beside thousands of other walls, with the directory in Redis.

README: "A revoked display is disconnected within half a second (close code 1008), on every server". A server
closes a socket whose sign-in ended by checking every open socket's sign-in with the directory whenever the
directory's revision moves (floor/floors.py `_close_ended_sessions`). This runs a `Floors` (its session checks
as a server runs them, no HTTP) on a private Redis, with `--walls` idle wall sockets (hub subscribers on
signed-in displays), then `--rounds` times ends one more wall's sign-in and times until its socket is closed:

- `here`: revoked on this server (it rechecks at once, as after `DELETE /api/displays/{id}`);
- `elsewhere`: revoked on another server (this one hears of it at its next revision poll, every half second;
  each revocation falls at a random moment between two polls, from a generator seeded by `--seed`).

Beside it, in the same run, the walk this replaced: one GET per socket, one after another (the time it takes
to look up every wall's sign-in that way). It prints the milliseconds (p50, max) and the Redis commands per
check (INFO commandstats: MGET and GET). Wall time, on a shared machine: only the ratio within a run means much.

    .venv/bin/python loadtests/revocation.py --walls 5000 --rounds 10
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rig import ROOT, PrivateRedis, pct

sys.path.insert(0, str(ROOT))

from floor.config import demo_clinic
from floor.directory.base import Session
from floor.directory.redis import RedisDirectory
from floor.floors import Floors
from floor.log.embedded import EmbeddedLog

CLINIC = "riverside"


def wall(hashed: str, now: dt.datetime) -> Session:
    return Session(hashed, "display", f"d-{hashed}", hashed, now, now + dt.timedelta(days=1), clinic=CLINIC)


def commands(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v.get("calls", 0)) for name, v in stats.items()}


async def closed_after(floors: Floors, directory: RedisDirectory, n: int, here: bool, pace: random.Random) -> float:
    """Seconds from one more wall's sign-in ended to its socket closed."""
    now = dt.datetime.now(dt.UTC)
    hashed = f"revoked-{n:04d}"
    await directory.add_session(wall(hashed, now))
    sub = floors.hub.subscribe(CLINIC, "display", hashed)
    # A revision poll goes by (the check starts from a settled server), and the revocation falls anywhere
    # between two polls.
    await asyncio.sleep(0.6 + pace.random() * 0.5)
    started = time.monotonic()
    await directory.end_sessions_of(f"d-{hashed}")
    if here:
        floors.recheck_sessions()
    while sub.ending is None:
        await asyncio.sleep(0.001)
    took = time.monotonic() - started
    floors.hub.unsubscribe(sub)
    return took


async def main(args: argparse.Namespace) -> None:
    server = PrivateRedis()
    counter = redis.Redis.from_url(server.url)
    try:
        with tempfile.TemporaryDirectory() as data:
            directory = RedisDirectory(server.url)
            floors = Floors([demo_clinic()], EmbeddedLog(Path(data)), tick_seconds=3600, directory=directory)
            await floors.start()
            try:
                now = dt.datetime.now(dt.UTC)
                hashes = [f"wall-{i:06d}" for i in range(args.walls)]
                for start in range(0, len(hashes), 250):
                    await asyncio.gather(*(directory.add_session(wall(h, now)) for h in hashes[start : start + 250]))
                for h in hashes:
                    floors.hub.subscribe(CLINIC, "display", h)
                pace = random.Random(args.seed)
                for where in ("here", "elsewhere"):
                    before = commands(counter)
                    took = [await closed_after(floors, directory, n, where == "here", pace) for n in range(args.rounds)]
                    after = commands(counter)
                    ran = {k: (after.get(k, 0) - before.get(k, 0)) / args.rounds for k in ("mget", "get")}
                    print(
                        f"[{where}] {args.walls + 1} walls: closed after p50 {pct(took, 50) * 1000:.1f} ms  "
                        f"max {max(took) * 1000:.1f} ms  per revocation: MGET {ran['mget']:.1f}  "
                        f"GET (revision polls) {ran['get']:.1f}  ({args.rounds} revocations)",
                        flush=True,
                    )
                started = time.monotonic()
                for h in hashes:
                    await directory.session(h, dt.datetime.now(dt.UTC))
                print(f"[one GET per socket, as before] {args.walls} walls: {time.monotonic() - started:.2f} s")
            finally:
                await floors.stop()
    finally:
        counter.close()
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--walls", type=int, default=5000, help="other walls on the server (5000, at most 20000)")
    parser.add_argument("--rounds", type=int, default=10, help="revocations timed in each case (10, at most 100)")
    parser.add_argument("--seed", type=int, default=1, help="where between two polls each revocation falls (1)")
    args = parser.parse_args()
    args.walls, args.rounds = min(args.walls, 20000), max(1, min(args.rounds, 100))
    asyncio.run(main(args))
