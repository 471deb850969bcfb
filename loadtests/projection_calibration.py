"""How well does Floor's projection foretell what then happens? Clinic days from both models (Floor's simulator,
`alert_quality.py`'s worlds, and the second model, `unseen_days.py`'s scenarios) are folded tap by tap; every 5
minutes of clinic time each provider is projected as a cascade review does (`project`), and each booked visit
due within the cascade's horizon (`HORIZON` in floor/core/alerts.py, 30 minutes) is set beside how the day
really went for it.

Two tables per model:

- Lateness: the median and mean of projected minus real lateness (minutes; negative: the projection was
  too hopeful), by whether the patient is here or not yet come, how far ahead the projected provider-in is,
  and how late it is projected. Real lateness is by the clinic's convention whatever its cause, as the
  yardstick counts it (a patient who then comes late is late). Visits never seen are left out of it.
- Patients not yet come: their mean show chance in the projection (`show`) against the share of those
  samples whose patient was then seen at all, before and after their planned time, and for those projected
  5 or more minutes late (the ones a cascade run can count).

A sample is one visit at one review, so a visit projected at twelve reviews counts twelve times, as it would
in twelve cascade reviews.

    .venv/bin/python loadtests/projection_calibration.py --days 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from floor.config import Clinic, demo_clinic
from floor.core.alerts import HORIZON
from floor.core.events import Event
from floor.core.floor import Floor
from floor.core.journey import Stage
from floor.core.learned import Learned
from floor.core.projection import by_provider, project, rooming
from floor.replay import ALERT_EVENTS
from loadtests import alert_quality, unseen_days

EVERY = dt.timedelta(minutes=5)
MINUTE = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Sample:
    """One booked visit at one review: what the projection said, and what then happened."""

    here: bool
    ahead: float  # minutes from the review to the projected provider-in
    projected: float  # projected lateness, minutes
    show: float
    past_due: bool  # a patient not yet come, past their planned rooming
    real: float | None  # real lateness, minutes; None: never seen by the provider


def samples(clinic: Clinic, events: list[Event], real: Floor, learned: Learned) -> list[Sample]:
    """The day's taps folded in order, the providers projected every EVERY from the first whole hour."""
    taps = [e for e in events if not isinstance(e.change, ALERT_EVENTS)]
    floor = Floor(clinic, taps[0].day, taps[0].seq - 1)
    floor.learned = learned
    now = taps[0].at.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    out: list[Sample] = []
    i = 0
    while i < len(taps):
        while i < len(taps) and taps[i].at <= now:
            floor.apply(taps[i])
            i += 1
        visits, rooms_at = by_provider(floor), rooming(floor, now)
        for provider in clinic.providers:
            for p in project(floor, provider.id, now, visits=visits[provider.id], rooms_at=rooms_at).visits:
                went = real.visits.get(p.visit)
                if p.walk_in or went is None or p.provider_in > now + HORIZON:
                    continue
                seen = went.times.get(Stage.provider_in)
                late = None if seen is None else (seen - alert_quality.planned_provider_in(clinic, went)) / MINUTE
                out.append(
                    Sample(
                        here=p.stage is not Stage.scheduled,
                        ahead=(p.provider_in - now) / MINUTE,
                        projected=p.lateness,
                        show=p.show,
                        past_due=p.stage is Stage.scheduled and p.own_lateness > 0,
                        real=late,
                    )
                )
        now += EVERY
    return out


def _band(minutes: float, edges: tuple[float, ...]) -> tuple[int, str]:
    """Which band of `edges` the minutes fall in: its rank (to sort by) and its label."""
    lo = 0.0
    for rank, hi in enumerate(edges):
        if minutes < hi:
            return rank, f"{lo:g}-{hi:g}"
        lo = hi
    return len(edges), f">={lo:g}"


def lateness_table(rows: list[Sample]) -> list[str]:
    groups: dict[tuple[str, tuple[int, str], tuple[int, str]], list[float]] = defaultdict(list)
    for s in rows:
        if s.real is not None:
            key = ("here" if s.here else "not come", _band(s.ahead, (10, 20)), _band(s.projected, (5, 12, 20)))
            groups[key].append(s.projected - s.real)
    lines = [f"{'patient':9} {'ahead':>6} {'projected':>9} {'samples':>8} {'median':>7} {'mean':>6}"]
    for (who, (_, ahead), (_, late)), d in sorted(groups.items()):
        if len(d) >= 30:
            lines.append(
                f"{who:9} {ahead:>6} {late:>9} {len(d):8d} {statistics.median(d):+7.1f} {statistics.mean(d):+6.1f}"
            )
    return lines


def show_table(rows: list[Sample]) -> list[str]:
    groups: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for s in rows:
        if not s.here:
            due = "past due" if s.past_due else "not yet due"
            groups[(due, "all")].append(s)
            if s.projected >= 5:
                groups[(due, "projected 5+ late")].append(s)
    lines = [f"{'patient not yet come':33} {'samples':>8} {'mean show':>9} {'then seen':>9}"]
    for (due, which), d in sorted(groups.items()):
        seen = sum(s.real is not None for s in d) / len(d)
        lines.append(f"{due + ', ' + which:33} {len(d):8d} {statistics.mean(s.show for s in d):9.2f} {seen:9.2f}")
    return lines


def floor_model(worlds: list[str], days: int, seed: int, past_days: int) -> list[Sample]:
    rows = []
    for name in worlds:
        world = alert_quality.WORLDS[name]
        clinic = world.clinic(demo_clinic())
        learned = alert_quality.history(clinic, world, past_days, seed)
        for n in range(days):
            events, real = alert_quality.simulate_day(clinic, alert_quality.DAY, seed + n, world=world)
            rows += samples(clinic, events, real, learned)
    return rows


def second_model(scenarios: list[str], days: int, seed: int, past_days: int) -> list[Sample]:
    rows = []
    for name in scenarios:
        clinic = unseen_days.SITES[unseen_days.SCENARIOS[name].site].clinic
        learned = unseen_days.history(name, past_days, seed)
        for n in range(days):
            day = unseen_days.simulate(name, unseen_days.DAY, unseen_days._seed(name, seed + n))
            rows += samples(clinic, day.events, day.floor, learned)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=10, help="days per world and per scenario (default 10)")
    parser.add_argument("--worlds", default="default,punctuality,tap_lag,no_shows,hard")
    parser.add_argument("--scenarios", default="family_typical,cardio_busy,peds_flu,peds_calm,demo_unseen")
    parser.add_argument("--history", type=int, default=14, metavar="DAYS", help="past days learned (default 14)")
    args = parser.parse_args()
    for title, rows in (
        (
            f"Floor's simulator ({args.worlds}), seeds from 1000",
            floor_model(args.worlds.split(","), args.days, 1000, args.history),
        ),
        (
            f"the second model ({args.scenarios}), seeds from 1",
            second_model(args.scenarios.split(","), args.days, 1, args.history),
        ),
    ):
        print(f"{title}, {args.days} days each: projected minus real lateness (minutes)")
        print("\n".join(lateness_table(rows)))
        print("\n".join(show_table(rows)))
        print()


if __name__ == "__main__":
    main()
