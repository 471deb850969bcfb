"""What a clinic's own periodic work costs in CPU: the alert review after a tap and on every tick
(`floor.core.alerts.review`), the delays every tick sends its screens (each provider projected:
`floor.core.projection.project`, with `rooming`), and the managers' measures (`floor.core.measures.measure`).

A server runs these for every clinic it holds: a review 0.2 s after a burst of taps and on every 15 s tick,
the delays and measures on every tick. With 500 clinics at 200 taps a second that is about 200 reviews and
33 ticks a second, so a millisecond more or less per review is a fifth of a core. They run on the event loop,
so while one runs no tap of any clinic is answered.

The days are simulated (`floor.simulator.simulate_day`, the demo clinic, in the benchmark's default and
"hard" worlds), each clinic having learned from 7 past days as a server does; each figure is the CPU time
(process time, which another process on the machine hardly moves) of one call at that clinic hour, the median
over the days. `--against DIR` measures another checkout (a directory holding `floor/`) in the same run,
alternating, each in a Python process of its own:

    .venv/bin/python loadtests/review_cost.py
    .venv/bin/python loadtests/review_cost.py --days 6 --against /tmp/floor-old
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
HOURS = ("08:30", "10:30", "14:30", "19:30")
WORLDS = ("default", "hard")
OPS = ("review", "delays", "measures")


def worker(days: int, repeat: int) -> dict[str, float]:
    """In a process whose `floor` is the checkout measured: {"world hour op": median ms}."""
    import datetime as dt

    from floor.config import demo_clinic
    from floor.core.alerts import review
    from floor.core.floor import Floor
    from floor.core.ids import Ids
    from floor.core.learning import learn
    from floor.core.measures import measure
    from floor.core.projection import by_provider, project, rooming
    from floor.days import fold_day
    from floor.simulator import WORLDS as KNOWN
    from floor.simulator import simulate_day

    day = dt.date(2026, 11, 23)
    out: dict[str, list[float]] = {}
    for name in WORLDS:
        world = KNOWN[name]
        clinic = world.clinic(demo_clinic())
        past = []
        for n in range(7):
            d = day - dt.timedelta(days=n + 1)
            events, _ = simulate_day(clinic, d, 50_000 + n, world=world)
            past.append(fold_day(clinic, d, events))
        learned = learn(clinic, past)
        for seed in range(1, days + 1):
            events, _ = simulate_day(clinic, day, seed, world=world)
            for hour in HOURS:
                # In UTC, as a server's clock is (floor/clock.py): a clinic-zone `now` made every comparison with a
                # plan (in UTC since plans are reckoned in real time) ask the zone for its offset, a cost no server
                # pays.
                now = clinic.local(day, dt.time.fromisoformat(hour)).astimezone(dt.UTC)
                floor = Floor(clinic, day, events[0].seq - 1, ids=Ids.seeded(f"cost-{seed}"))
                floor.learned = learned
                for event in events:
                    if event.at <= now:
                        floor.apply(event)

                # As floor.core.projection.project_all does (spelt out: an older checkout measured by --against
                # may not have it).
                def delays(floor=floor, now=now, clinic=clinic):
                    visits, rooms_at = by_provider(floor), rooming(floor, now)
                    return [project(floor, p.id, now, visits=visits[p.id], rooms_at=rooms_at) for p in clinic.providers]

                calls = {
                    "review": lambda floor=floor, now=now: review(floor, now),
                    "delays": delays,
                    "measures": lambda floor=floor, now=now: measure(floor, now, {}),
                }
                for op, call in calls.items():
                    call()
                    started = time.process_time()
                    for _ in range(repeat):
                        call()
                    out.setdefault(f"{name} {hour} {op}", []).append((time.process_time() - started) / repeat * 1000)
    return {key: statistics.median(values) for key, values in out.items()}


def measure_tree(tree: Path, days: int, repeat: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, __file__, "--worker", "--days", str(days), "--repeat", str(repeat)],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=4, help="simulated days per world (4)")
    parser.add_argument("--repeat", type=int, default=40, help="calls timed per day, hour and kind (40)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, alternating the checkouts (2)")
    parser.add_argument("--against", type=Path, help="another checkout measured alternately in the same run")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.days, args.repeat)))
        return
    trees = {"this": HERE} | ({"against": args.against.resolve()} if args.against else {})
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            runs[name].append(measure_tree(tree, args.days, args.repeat))
    print(
        f"CPU ms per call, one demo clinic, median over {args.days} simulated days per world "
        f"(7 past days learned), best of {args.rounds} rounds"
    )
    header = f"{'world':8} {'hour':5} " + " ".join(f"{name + ' ' + op:>16}" for name in trees for op in OPS)
    print(header)
    for world in WORLDS:
        for hour in HOURS:
            cells = [f"{min(r[f'{world} {hour} {op}'] for r in runs[name]):16.3f}" for name in trees for op in OPS]
            print(f"{world:8} {hour:5} " + " ".join(cells))
    for name in trees:
        # In session: the mornings' and afternoons' figures of both worlds.
        each = {
            op: statistics.mean(
                min(r[f"{world} {hour} {op}"] for r in runs[name]) for world in WORLDS for hour in ("10:30", "14:30")
            )
            for op in OPS
        }
        print(
            f"{name}: in session (10:30, 14:30) a review {each['review']:.2f} ms; a tick (review, delays and "
            f"measures) {sum(each.values()):.2f} ms"
        )


if __name__ == "__main__":
    main()
