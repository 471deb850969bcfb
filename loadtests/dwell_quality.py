"""How good are dwell alerts? A dwell alert says a patient has waited a stage's limit (the clinic's
`thresholds`: waiting to be roomed, for prep, for the provider, for checkout). Floor sees only the taps, so where
taps lag or a step goes untapped ("provider in" tapped only as the visit ends), it can say a patient is still
waiting who is not. This scores Floor's dwell alerts against the day as it really went, on the days of three
models: Floor's simulator (`alert_quality.py`'s worlds), and the third and fourth models (`third_days.py`,
`fourth_days.py`, written apart from Floor). Floor learns from HISTORY past days of each world or scenario first,
as the cascade benchmarks do: what its front desk's checkouts say (floor/core/checkouts.py) changes a dwell alert.

A patient's stay in a stage runs, in truth, from when its step really happened to when the next one really
did (or the day's last tap, if none came).

- A long wait: a stay at least LONG_BY minutes over the stage's limit (a stay ending within a minute or two of
  the limit is a coin toss for an alert reviewed once a minute, whichever way it falls).
- Recall: long waits with a dwell alert for that visit and stage raised while the patient was really still
  waiting (at most GRACE after the stay ended). Delay: from when the stay reached its limit to that alert.
- Precision: a dwell alert is true when, at its raise, the patient had really been in that stage at least the
  limit less GRACE and was still there (or had left at most GRACE before). An alert for a patient who had
  already moved on (the step done, its tap to come) or who had not waited that long is false, and so is one
  naming the wrong stage (a patient really waiting for the provider, shown waiting for prep as the prep was not
  tapped); the long wait it stood for is missed. Each alert raised counts, as each is shown: one raised again
  for the same stay (after an undo) counts twice.
- Cut: true alerts cleared while the patient was really still waiting (more than GRACE before the stay ended),
  which a score of raises alone would count as caught.

    .venv/bin/python loadtests/dwell_quality.py --days 10
    .venv/bin/python loadtests/dwell_quality.py --days 10 --sets fourth --scenarios interpreter,waves
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from floor.config import Clinic, demo_clinic
from floor.core.alerts import DWELL_LIMITS
from floor.core.events import AlertCleared, AlertRaised, Event
from floor.core.floor import Floor
from floor.core.journey import Stage
from floor.core.learned import EMPTY, Learned
from floor.replay import AlertLine, replay
from floor.simulator import WORLDS, simulate_day
from loadtests import fourth_days, model_days, third_days
from loadtests.alert_quality import DAY, history
from loadtests.model_days import Model

MINUTE = dt.timedelta(minutes=1)
#: Past days learned from before the scored ones, as the cascade benchmarks do.
HISTORY = 14
#: How far over its limit a stay must really run to count as a long wait.
LONG_BY = dt.timedelta(minutes=2)
#: An alert raised this soon after the stay really ended, or this short of the limit, still counts.
GRACE = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class Stay:
    visit: str
    stage: Stage
    entered: dt.datetime
    left: dt.datetime


def stays(truth: Floor, end: dt.datetime) -> Iterator[Stay]:
    """Every stay of every visit in a stage that has a dwell limit, by when its steps really happened. A walk-in
    is booked here (arrived, with no step of its own) when they came."""
    for v in truth.visits.values():
        steps = [(r.step, r.at) for r in v.steps]
        if v.walk_in and Stage.arrived in v.times and all(step is not Stage.arrived for step, _ in steps):
            steps.insert(0, (Stage.arrived, v.times[Stage.arrived]))
        for i, (step, at) in enumerate(steps):
            if step in DWELL_LIMITS:
                left = steps[i + 1][1] if i + 1 < len(steps) else max(end, at)
                yield Stay(v.id, step, at, left)


def limit(clinic: Clinic, stage: Stage) -> dt.timedelta:
    return dt.timedelta(minutes=getattr(clinic.thresholds, DWELL_LIMITS[stage]))


def _during(stay: Stay, over: dt.timedelta, at: dt.datetime) -> bool:
    """Whether an alert raised `at` for this stay's visit and stage was true of it: the patient had really waited
    the limit (less GRACE) and was still waiting (or had left at most GRACE before)."""
    return stay.entered + over - GRACE <= at <= stay.left + GRACE


@dataclass
class DwellScore:
    provider_days: int = 0
    long_waits: int = 0
    caught: int = 0
    alerts: int = 0
    true_alerts: int = 0
    #: Minutes from a caught wait reaching its limit to its alert.
    delays: list[float] = field(default_factory=list)
    #: False alerts by the stage they named.
    false_by_stage: dict[str, int] = field(default_factory=dict)
    #: True alerts cleared while the patient was really still waiting (more than GRACE before the stay ended): off
    #: the screens too soon (a raise alone does not show it).
    cut: int = 0

    def add(self, clinic: Clinic, truth: Floor, lines: list[AlertLine], end: dt.datetime) -> None:
        self.provider_days += len(clinic.providers)
        by_key: dict[tuple[str, Stage], list[Stay]] = {}
        for stay in stays(truth, end):
            by_key.setdefault((stay.visit, stay.stage), []).append(stay)
        raised = [
            (line.at, line.change)
            for line in lines
            if isinstance(line.change, AlertRaised) and line.change.kind == "dwell"
        ]
        cleared: dict[str, list[dt.datetime]] = {}
        for line in lines:
            if isinstance(line.change, AlertCleared):
                cleared.setdefault(line.change.alert, []).append(line.at)
        counted: set[str] = set()
        for at, alert in raised:
            if alert.alert in counted:
                continue  # raised again as itself (the wait back after a step undone): the same alert
            counted.add(alert.alert)
            self.alerts += 1
            assert alert.visit is not None and alert.stage is not None
            over = limit(clinic, alert.stage)
            during = [s for s in by_key.get((alert.visit, alert.stage), []) if _during(s, over, at)]
            if during:
                self.true_alerts += 1
                gone = cleared.get(alert.alert, [])
                if any(g < s.left - GRACE for g in gone for s in during):
                    self.cut += 1
            else:
                name = alert.stage.value
                self.false_by_stage[name] = self.false_by_stage.get(name, 0) + 1
        for (visit, stage), found in by_key.items():
            over = limit(clinic, stage)
            for s in found:
                if s.left - s.entered < over + LONG_BY:
                    continue
                self.long_waits += 1
                when = [
                    at for at, alert in raised if (alert.visit, alert.stage) == (visit, stage) and _during(s, over, at)
                ]
                if when:
                    self.caught += 1
                    self.delays.append((min(when) - (s.entered + over)) / MINUTE)

    def merge(self, other: DwellScore) -> None:
        """Add another world's or scenario's counts to these (a set's overall row)."""
        for f in ("provider_days", "long_waits", "caught", "alerts", "true_alerts", "cut"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.delays += other.delays
        for stage, n in other.false_by_stage.items():
            self.false_by_stage[stage] = self.false_by_stage.get(stage, 0) + n

    def row(self, name: str) -> str:
        recall = self.caught / self.long_waits if self.long_waits else float("nan")
        precision = self.true_alerts / self.alerts if self.alerts else float("nan")
        delay = statistics.median(self.delays) if self.delays else float("nan")
        false = self.alerts - self.true_alerts
        per = false / self.provider_days if self.provider_days else float("nan")
        worst = ", ".join(f"{k} {n}" for k, n in sorted(self.false_by_stage.items(), key=lambda kv: -kv[1])[:2])
        return (
            f"{name:17} {self.provider_days:6d} {self.long_waits:6d} | {recall:5.2f} {delay:6.1f} | "
            f"{self.alerts:6d} {precision:5.2f} {per:6.2f} {self.cut:5d} | {worst}"
        )


@dataclass(frozen=True)
class Days:
    """A world's or scenario's days: one by its seed, and what Floor learns from `n` past days (seeds far from
    the scored days', as tapped: `alert_quality.history`, `model_days.history`)."""

    day: Callable[[int], tuple[Clinic, list[Event], Floor]]
    history: Callable[[int, int], Learned]


def floor_world(name: str) -> Days:
    world = WORLDS[name]
    clinic = world.clinic(demo_clinic())

    def day(seed: int) -> tuple[Clinic, list[Event], Floor]:
        events, truth = simulate_day(clinic, DAY, seed, world=world)
        return clinic, events, truth

    return Days(day, lambda n, seed: history(clinic, world, n, seed))


def model_scenario(model: Model, name: str) -> Days:
    def day(seed: int) -> tuple[Clinic, list[Event], Floor]:
        sim = model.simulate(name, DAY, seed)
        return model.clinics[name], sim.events, sim.truth

    return Days(day, lambda n, seed: model_days.history(model, name, n, seed)[0])


#: Each set of days: its first seed (the one its own benchmark scores from), its days by world or scenario, and
#: their names.
SETS: dict[str, tuple[int, Callable[[str], Days], list[str]]] = {
    "floor": (1000, floor_world, list(WORLDS)),
    "third": (3000, lambda n: model_scenario(third_days.MODEL, n), list(third_days.MODEL.clinics)),
    "fourth": (5000, lambda n: model_scenario(fourth_days.MODEL, n), list(fourth_days.MODEL.clinics)),
}


def score(days: Days, n: int, seed: int, past_days: int = HISTORY) -> DwellScore:
    """Floor's dwell alerts over `n` days from `seed`, having learned from `past_days` earlier ones (0: nothing
    learned)."""
    result = DwellScore()
    learned = days.history(past_days, seed) if past_days else EMPTY
    for i in range(n):
        clinic, events, truth = days.day(seed + i)
        end = events[-1].at
        lines, _ = replay(clinic, events, until=end, learned=learned)
        result.add(clinic, truth, lines, end)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=10, help="days per world or scenario (default 10)")
    parser.add_argument("--sets", default="floor,third,fourth", help="comma-separated, of: floor, third, fourth")
    parser.add_argument("--scenarios", default="", help="comma-separated worlds or scenarios (default: all)")
    parser.add_argument(
        "--history", type=int, default=HISTORY, help=f"past days Floor learns from (default {HISTORY}; 0: none)"
    )
    args = parser.parse_args()
    wanted = {s for s in args.scenarios.split(",") if s}
    started = time.monotonic()
    print(
        f"{args.days} days per world or scenario, Floor learned from {args.history} past days; "
        f"long waits (a stay {LONG_BY / MINUTE:g}+ minutes over its limit): "
        "recall, median minutes from the limit to the alert; dwell alerts: how many, precision, false per "
        "provider-day, true ones cleared while the patient still waited"
    )
    header = (
        f"{'scenario':17} {'p-days':>6} {'long':>6} | {'rec':>5} {'delay':>6} | {'alerts':>6} {'prec':>5} {'FA/pd':>6}"
        f" {'cut':>5} | most false"
    )
    for name in args.sets.split(","):
        seed, make, names = SETS[name]
        print(f"\n{name} (seeds from {seed})\n{header}\n{'-' * len(header)}")
        total = DwellScore()
        for scenario in names:
            if wanted and scenario not in wanted:
                continue
            s = score(make(scenario), args.days, seed, args.history)
            print(s.row(scenario))
            total.merge(s)
        print(f"{'-' * len(header)}\n{total.row('overall')}")
    print(f"\n({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
