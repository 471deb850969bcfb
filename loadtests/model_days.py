"""The harness the independent models of clinic days share (loadtests/third_days.py, loadtests/fourth_days.py,
loadtests/fifth_days.py): a model lives and taps its days; this scores them with alert_quality's yardstick,
unchanged, and prints the table.

A model gives `Model`: its scenarios' clinic files by name and `simulate(name, day, seed)`, which returns the
day's taps as entered (`events`), the truth floor (`truth`: the same events, each step stamped with when it really
happened: `truth_floor`) and the taps Floor refused (modelling bugs). Floor first learns from past days of the same
scenario (seeds far from the scored ones) as a server learns from its log: the days as tapped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec

from floor.config import Clinic
from floor.core.events import Event, StepTaken, VisitBooked
from floor.core.floor import Floor
from floor.core.journey import Stage
from floor.core.learned import EMPTY, Learned
from floor.core.learning import learn
from floor.days import fold_day
from loadtests.alert_quality import (
    DAY,
    HISTORY_SEEDS,
    TARGETS,
    Case,
    Score,
    explain,
    planned_provider_in,
    print_as_tapped,
    print_cases,
    print_intervals,
    print_table_header,
    scored_day,
    table_row,
    true_cascades,
)


class Day(Protocol):
    events: list[Event]
    truth: Floor
    refused: list


@dataclass(frozen=True)
class Model:
    #: Each scenario's clinic file, by name.
    clinics: Mapping[str, Clinic]
    #: One day of a scenario: (name, day, seed) -> the day.
    simulate: Callable[[str, dt.date, int], Day]

    @classmethod
    def of(cls, scenarios: Mapping[str, Any], simulate: Callable[[Any, dt.date, int], Day]) -> Model:
        """A model from its scenarios by name (each with its `clinic`) and `simulate(scenario, day, seed)`."""
        return cls(
            {name: sc.clinic for name, sc in scenarios.items()}, lambda n, day, seed: simulate(scenarios[n], day, seed)
        )


def truth_floor(clinic: Clinic, day: dt.date, events: list[Event], real: Mapping[int, dt.datetime]) -> Floor:
    """The day as it really went: the taps as entered, each step stamped with when it really happened (`real`, by
    the tap's seq) and a walk-in booked when they really came, so its visits have the tapped floor's ids."""
    truth = Floor(clinic, day, 0)
    for event in events:
        when = real.get(event.seq)
        if when is not None and isinstance(event.change, StepTaken):
            event = msgspec.structs.replace(event, change=msgspec.structs.replace(event.change, happened=when))
        elif when is not None and isinstance(event.change, VisitBooked) and event.change.walk_in:
            # Here from when they really came, whatever staff said when they booked them (minutes_ago).
            event = msgspec.structs.replace(event, at=when, change=msgspec.structs.replace(event.change, happened=None))
        truth.apply(event)
    return truth


def history(model: Model, name: str, days: int, seed: int) -> tuple[Learned, int]:
    """What Floor learns from `days` past days of the scenario (seeds far from the scored days'), as tapped; and
    how many taps those days refused."""
    clinic, past, refused = model.clinics[name], [], 0
    for n in range(days):
        day = DAY - dt.timedelta(days=n + 1)
        sim = model.simulate(name, day, HISTORY_SEEDS + seed + n)
        refused += len(sim.refused)
        past.append(fold_day(clinic, day, sim.events))
    return learn(clinic, past), refused


@dataclass
class Sanity:
    """What the days were like, to check a model against clinics: patients seen per provider-day, minutes late
    at provider-in (booked visits, by the clinic's convention), and provider-days with a true cascade."""

    provider_days: int = 0
    seen: int = 0
    late: list[float] = field(default_factory=list)
    cascade_days: int = 0

    def add(self, clinic: Clinic, truth: Floor) -> None:
        self.provider_days += len(clinic.providers)
        for v in truth.visits.values():
            if Stage.provider_in in v.times:
                self.seen += 1
                if not v.walk_in:
                    late = v.times[Stage.provider_in] - planned_provider_in(clinic, v)
                    self.late.append(late.total_seconds() / 60)
        self.cascade_days += len({ep.provider for ep in true_cascades(clinic, truth)})

    def line(self, name: str) -> str:
        per = self.seen / self.provider_days if self.provider_days else float("nan")
        median = statistics.median(self.late) if self.late else float("nan")
        share = self.cascade_days / self.provider_days if self.provider_days else float("nan")
        return (
            f"{name:17} {per:6.1f} patients/provider-day, median {median:5.1f} min late at provider-in, "
            f"{share:4.0%} of provider-days with a true cascade"
        )


@dataclass
class Result:
    floor: Score
    plain: Score
    as_tapped: Score
    #: How many taps were refused, past days included; and the scored days' refusals.
    refused: int
    refusals: list
    lagging: bool
    sanity: Sanity


def run_scenario(
    model: Model, name: str, days: int, seed: int, past_days: int, cases: list[Case] | None = None
) -> Result:
    """Floor's score and the plain projection's over `days` days of one scenario (seeds seed, seed+1, ...), Floor
    having learned from `past_days` earlier days; and Floor's against the day as tapped."""
    clinic = model.clinics[name]
    learned, refused = history(model, name, past_days, seed) if past_days else (EMPTY, 0)
    floor_score, plain_score, as_tapped, sanity = Score(), Score(), Score(), Sanity()
    refusals: list = []
    lagging = False
    for n in range(days):
        sim = model.simulate(name, DAY, seed + n)
        refused += len(sim.refused)
        refusals += sim.refused
        sanity.add(clinic, sim.truth)
        truth = true_cascades(clinic, sim.truth)
        lines, alerts, tapped = scored_day(clinic, sim.events, truth, learned, floor_score, plain_score)
        if cases is not None:
            cases += explain(clinic, seed + n, truth, alerts, lines, sim.truth, sim.events, tapped)
        as_tapped.provider_days += len(clinic.providers)
        as_tapped.add(true_cascades(clinic, tapped), alerts)
        lagging = lagging or any(
            v.times.get(Stage.provider_in) != tapped.visits[v.id].times.get(Stage.provider_in)
            for v in sim.truth.visits.values()
        )
    return Result(floor_score, plain_score, as_tapped, refused, refusals, lagging, sanity)


def main(model: Model, doc: str, default_seed: int) -> None:
    """The command line every model has: --days, --scenarios, --seed, --history, --explain; prints the table."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    names_all = list(model.clinics)
    parser.add_argument("--days", type=int, default=20, help="simulated days per scenario (default 20)")
    parser.add_argument("--scenarios", default=",".join(names_all), help=f"comma-separated, of: {', '.join(names_all)}")
    parser.add_argument("--seed", type=int, default=default_seed, help=f"the first day's seed (default {default_seed})")
    parser.add_argument(
        "--history",
        type=int,
        default=14,
        metavar="DAYS",
        help="past days of each scenario Floor learns from first (default 14; 0: the clinic file's minutes)",
    )
    parser.add_argument(
        "--explain", type=int, default=0, metavar="N", help="print N false alerts and missed episodes per scenario"
    )
    args = parser.parse_args()
    names = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in names if s not in model.clinics]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(names_all)}")
    print(
        f"{args.days} days per scenario from seed {args.seed}, Floor learned from {args.history} past days; "
        f"recall, precision, median lead (min), false alerts per provider-day"
    )
    rule = print_table_header("scenario", 17, kl=True)
    total_floor, total_plain = Score(), Score()
    lagging: list[tuple[str, Score]] = []
    scores: list[tuple[str, Score]] = []
    explained: list[tuple[str, list[Case]]] = []
    sanity: list[tuple[str, Sanity]] = []
    refused, refusals = 0, []
    started = time.perf_counter()
    for name in names:
        cases: list[Case] = []
        result = run_scenario(model, name, args.days, args.seed, args.history, cases if args.explain else None)
        explained.append((name, cases))
        scores.append((name, result.floor))
        sanity.append((name, result.sanity))
        refused += result.refused
        refusals += result.refusals
        if result.lagging:
            lagging.append((name, result.as_tapped))
        total_floor += result.floor
        total_plain += result.plain
        th = model.clinics[name].thresholds
        kl = f"{th.cascade_visits}/{th.cascade_minutes}"
        print(table_row(name, result.floor, result.plain, 17, kl), flush=True)
    print(rule)
    print(table_row("overall", total_floor, total_plain, 17, ""))
    print_as_tapped(lagging)
    print_intervals([*scores, ("overall", total_floor)])
    print("The days (as they really went, scored days only):")
    for name, s in sanity:
        print(s.line(name))
    print(f"taps refused (modelling bugs): {refused}")
    for r in refusals[:10]:
        print(f"  refused: {r}")
    print(
        f"targets in every scenario: recall >= {TARGETS['recall']}, precision >= {TARGETS['precision']}, "
        f"median lead >= {TARGETS['lead']:.0f} min, recall above the plain projection's  "
        f"({time.perf_counter() - started:.0f} s)"
    )
    if args.explain:
        print_cases(explained, args.explain)
