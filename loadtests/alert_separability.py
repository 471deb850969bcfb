"""Can anything Floor knows when it raises a cascade tell a false alert from a true one? Every raise of
`alert_quality.py`'s replays, described by what the floor showed at that moment, set beside how the day went.

For each cascade alert raised, the day is folded up to the raise (the taps as entered by then) and the
provider projected again, as the review did; the alert is described by:

- `started`: visits already started L or more late by their taps (the run's links so far), and `started_min`,
  the least late of them (minutes);
- `coming`: visits still ahead projected late enough to count (L + the raise margin), `margin_min` and
  `margin_mean`, how far past L they are projected (minutes), `ahead_max`, how far ahead the farthest is due;
- `not_come`: patients among them not yet here, and `show_min`, the least chance any of them comes;
- `overrun`: how long the visit now with the provider has run against what it is expected to take (0: none);
- `delay`: the provider's delay as the wall quotes it; `pace`: the day's pace;
- `quiet`: minutes since any tap of the provider's visits.

Each alert is `false` (up at no moment of a true episode: `alert_quality.Score`'s rule), `only` (the one alert
that caught an episode in time: without it the episode would have been missed, unless a later raise caught
it), or `other` true. The script prints, for each feature, the area under the curve of false against `only`
alerts (0.5: no telling them apart; the side where false alerts lie), then a logistic regression on all the
features, fitted on the even days and scored on the odd ones: its area under the curve, and, leaving out
the raises it scores most likely false, how many false alerts and how many `only` alerts go.

    .venv/bin/python loadtests/alert_separability.py --days 100 --worlds tap_lag,no_shows,hard,punctuality
    .venv/bin/python loadtests/alert_separability.py --days 20 --seed 5000 --worlds fourth:waves,fourth:interpreter
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from importlib import import_module

from floor.config import demo_clinic
from floor.core.alerts import RAISE_MARGIN, _started_late, cascade_soon
from floor.core.events import AlertRaised
from floor.core.floor import Floor
from floor.core.journey import Stage
from floor.core.projection import by_provider, convention_of, minutes, planned_provider_in, project
from floor.days import fold_day
from floor.simulator import WORLDS, simulate_day
from loadtests import model_days
from loadtests.alert_quality import DAY, Score, history, scored_day, true_cascades

FEATURES = (
    "started",
    "started_min",
    "coming",
    "margin_min",
    "margin_mean",
    "ahead_max",
    "not_come",
    "show_min",
    "overrun",
    "delay",
    "pace",
    "quiet",
)


@dataclass
class Raise:
    world: str
    seed: int
    label: str  # false, only, other
    x: list[float]


def describe(floor: Floor, provider: str, now: dt.datetime) -> list[float]:
    """What the floor showed of `provider` at `now` (the features above, in FEATURES' order)."""
    clinic = floor.clinic
    late = clinic.thresholds.cascade_minutes
    visits = by_provider(floor)[provider]
    projection = project(floor, provider, now, visits=visits)
    started = _started_late(floor, provider, dt.timedelta(minutes=late), visits, now)
    convention = convention_of(clinic)
    started_late = [
        minutes(
            floor.visits[v].times[Stage.provider_in]
            - planned_provider_in(floor.visits[v], clinic.visit_type_of(floor.visits[v].visit_type), convention)
        )
        for v in started
    ]
    coming = [p for p in cascade_soon(projection, now, dt.timedelta(minutes=late)) if p.lateness >= late + RAISE_MARGIN]
    margins = [p.lateness - late for p in coming] or [0.0]
    running = [v for v in visits if v.stage is Stage.provider_in]
    overrun = 0.0
    if running:
        v = running[0]
        expected = floor.learned.expected(provider, clinic.visit_type_of(v.visit_type), Stage.provider_in)
        overrun = minutes(now - v.times[Stage.provider_in]) / expected
    taps = [t for v in visits for t in v.times.values() if t <= now]
    return [
        len(started),
        min(started_late, default=0.0),
        len(coming),
        min(margins),
        sum(margins) / len(margins),
        max((minutes(p.planned_provider_in - now) for p in coming), default=0.0),
        sum(p.stage is Stage.scheduled for p in coming),
        min((p.show for p in coming), default=1.0),
        overrun,
        projection.lateness,
        projection.pace,
        minutes(now - max(taps)) if taps else 0.0,
    ]


def _days(name: str, days: int, seed: int, past_days: int):
    """The clinic, what Floor learned, and the scored days (seed, taps, truth floor) of a world of alert_quality's
    simulator, or of a scenario of an independent model (`third:ortho_xray`, `fourth:waves`: model_days.py)."""
    if ":" in name:
        kind, scenario = name.split(":", 1)
        model = import_module(f"loadtests.{kind}_days").MODEL
        clinic = model.clinics[scenario]
        learned, _ = model_days.history(model, scenario, past_days, seed)
        sims = ((seed + n, model.simulate(scenario, DAY, seed + n)) for n in range(days))
        return clinic, learned, ((s, sim.events, sim.truth) for s, sim in sims)
    world = WORLDS[name]
    clinic = world.clinic(demo_clinic())
    learned = history(clinic, world, past_days, seed)
    return clinic, learned, ((seed + n, *simulate_day(clinic, DAY, seed + n, world=world)) for n in range(days))


def _known(name: str) -> bool:
    """Whether `name` is a world of alert_quality's simulator or an independent model's scenario (`fourth:waves`)."""
    if ":" not in name:
        return name in WORLDS
    kind, scenario = name.split(":", 1)
    return kind in ("third", "fourth") and scenario in import_module(f"loadtests.{kind}_days").MODEL.clinics


def raises(name: str, days: int, seed: int, past_days: int) -> list[Raise]:
    clinic, learned, scored = _days(name, days, seed, past_days)
    out = []
    for day_seed, events, truth_floor in scored:
        truth = true_cascades(clinic, truth_floor)
        lines, spans, _ = scored_day(clinic, events, truth, learned, Score(), Score())
        raised = {
            (line.change.provider, line.at)
            for line in lines
            if isinstance(line.change, AlertRaised) and line.change.kind == "cascade"
        }
        for provider, at, cleared in spans:
            if (provider, at) not in raised:
                continue
            caught = [ep for ep in truth if ep.provider == provider and at < ep.kth_late and cleared > ep.start]
            only = any(
                not any(p == provider and a < ep.kth_late and c > ep.start and a != at for p, a, c in spans)
                for ep in caught
            )
            true = any(ep.provider == provider and at <= ep.end and cleared >= ep.start for ep in truth)
            floor = fold_day(clinic, DAY, [e for e in events if e.at <= at])
            floor.learned = learned
            label = "false" if not true else "only" if only else "other"
            out.append(Raise(name, day_seed, label, describe(floor, provider, at)))
    return out


def auc(scores_false: list[float], scores_only: list[float]) -> float:
    """The chance that a false alert scores above an `only` alert (ties half): Mann-Whitney's U over n m."""
    if not scores_false or not scores_only:
        return float("nan")
    ranked = sorted([(s, 1) for s in scores_false] + [(s, 0) for s in scores_only])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        rank_sum += (i + j + 1) / 2 * sum(flag for _, flag in ranked[i:j])  # mean rank (1-based) of the ties
        i = j
    n, m = len(scores_false), len(scores_only)
    return (rank_sum - n * (n + 1) / 2) / (n * m)


def fit(rows: list[Raise], steps: int = 3000, rate: float = 0.1) -> tuple[list[float], list[float], list[float]]:
    """A logistic regression of false (1) against true (0) alerts on standardized features, by gradient descent.
    Returns the weights (bias first) and each feature's mean and spread."""
    k = len(FEATURES)
    mean = [sum(r.x[j] for r in rows) / len(rows) for j in range(k)]
    spread = [math.sqrt(sum((r.x[j] - mean[j]) ** 2 for r in rows) / len(rows)) or 1.0 for j in range(k)]
    xs = [[1.0, *((r.x[j] - mean[j]) / spread[j] for j in range(k))] for r in rows]
    ys = [1.0 if r.label == "false" else 0.0 for r in rows]
    w = [0.0] * (k + 1)
    for _ in range(steps):
        grad = [0.0] * (k + 1)
        for x, y in zip(xs, ys, strict=True):
            p = 1 / (1 + math.exp(-max(-30.0, min(30.0, sum(a * b for a, b in zip(w, x, strict=True))))))
            for j in range(k + 1):
                grad[j] += (p - y) * x[j]
        w = [a - rate * g / len(xs) for a, g in zip(w, grad, strict=True)]
    return w, mean, spread


def score(w: list[float], mean: list[float], spread: list[float], r: Raise) -> float:
    z = w[0] + sum(w[j + 1] * (r.x[j] - mean[j]) / spread[j] for j in range(len(FEATURES)))
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument(
        "--worlds",
        default="tap_lag,no_shows,hard,punctuality",
        help="alert_quality's worlds, or an independent model's scenarios as third:NAME or fourth:NAME",
    )
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--history", type=int, default=14)
    args = parser.parse_args()
    names = [name.strip() for name in args.worlds.split(",") if name.strip()]
    unknown = [name for name in names if not _known(name)]
    if unknown:
        parser.error(f"unknown world(s) {', '.join(unknown)}: {', '.join(WORLDS)}, or third:NAME / fourth:NAME")
    started = time.perf_counter()
    rows = [r for name in names for r in raises(name, args.days, args.seed, args.history)]
    false, only = [r for r in rows if r.label == "false"], [r for r in rows if r.label == "only"]
    print(
        f"{args.days} days a world of {args.worlds} from seed {args.seed}: {len(rows)} cascade alerts raised, "
        f"{len(false)} false, {len(only)} the only one to catch their episode in time"
    )
    print("each feature: area under the curve, false against only (0.5: no telling them apart)")
    for j, name in enumerate(FEATURES):
        a = auc([r.x[j] for r in false], [r.x[j] for r in only])
        print(f"  {name:12} {max(a, 1 - a):.2f} (false alerts {'higher' if a >= 0.5 else 'lower'})")
    train = [r for r in rows if r.seed % 2 == 0]
    test = [r for r in rows if r.seed % 2 == 1]
    w, mean, spread = fit(train)
    scored = sorted(((score(w, mean, spread, r), r.label) for r in test), reverse=True)
    test_false = [s for s, label in scored if label == "false"]
    test_only = [s for s, label in scored if label == "only"]
    print(
        f"all features, fitted on the even days, scored on the odd ({len(test_false)} false, {len(test_only)} only): "
        f"area under the curve {auc(test_false, test_only):.2f}"
    )
    for share in (0.05, 0.1, 0.2, 0.3):
        left_out = scored[: round(share * len(scored))]
        gone_false = sum(label == "false" for _, label in left_out)
        gone_only = sum(label == "only" for _, label in left_out)
        print(
            f"  leaving out the {share:.0%} it scores most likely false: {gone_false} of {len(test_false)} false "
            f"alerts go, and {gone_only} of {len(test_only)} that alone caught an episode"
        )
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
