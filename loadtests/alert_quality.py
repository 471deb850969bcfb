"""How good are cascade alerts? Simulated clinic days, replayed through the same path as `floor replay`.

A true cascade is K or more consecutive seen visits of one provider that actually started L or more
minutes after their planned provider-in (K, L: the clinic's settings). An alert detects it if the alert
was active at some point between an hour before the first of those visits was due and the moment the
last one started. Lead time: from the alert to the moment the K-th late visit actually became L late.

    .venv/bin/python loadtests/alert_quality.py --days 300
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from dataclasses import dataclass

from floor.config import Clinic, demo_clinic
from floor.core.events import AlertCleared, AlertRaised
from floor.core.floor import Floor
from floor.core.journey import Stage
from floor.core.projection import planned_provider_in
from floor.replay import replay
from floor.simulator import simulate_day

EARLY = dt.timedelta(hours=1)


@dataclass
class Episode:
    provider: str
    start: dt.datetime  # an hour before the first late visit was due
    end: dt.datetime  # when the last late visit of the run started
    kth_late: dt.datetime  # when the K-th late visit became L minutes late


def true_cascades(clinic: Clinic, floor: Floor) -> list[Episode]:
    k, late = clinic.thresholds.cascade_visits, dt.timedelta(minutes=clinic.thresholds.cascade_minutes)
    episodes = []
    for provider in clinic.providers:
        seen = sorted((v for v in floor.visits.values()
                       if v.provider == provider.id and not v.walk_in and Stage.provider_in in v.times),
                      key=lambda v: v.start)
        run = []
        for v in [*seen, None]:
            planned = planned_provider_in(v, clinic.visit_type(v.visit_type)) if v else None
            if v is not None and v.times[Stage.provider_in] - planned >= late:
                run.append((v, planned))
                continue
            if len(run) >= k:
                episodes.append(Episode(provider.id, run[0][1] - EARLY, run[-1][0].times[Stage.provider_in],
                                        run[k - 1][1] + late))
            run = []
    return episodes


def cascade_alerts(lines, end: dt.datetime) -> list[tuple[str, dt.datetime, dt.datetime]]:
    raised = {}
    spans = []
    for line in lines:
        c = line.change
        if isinstance(c, AlertRaised) and c.kind == "cascade":
            raised[c.alert] = (c.provider, line.at)
        elif isinstance(c, AlertCleared) and c.alert in raised:
            provider, at = raised.pop(c.alert)
            spans.append((provider, at, line.at))
    spans += [(provider, at, end) for provider, at in raised.values()]
    return spans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1000)
    args = parser.parse_args()
    clinic = demo_clinic()
    day = dt.date(2026, 11, 23)
    started = time.perf_counter()
    episodes = alerts = detected = true_alerts = 0
    leads: list[float] = []
    for n in range(args.days):
        events, floor = simulate_day(clinic, day, args.seed + n)
        end = events[-1].at
        lines, _ = replay(clinic, events, until=end)
        truth = true_cascades(clinic, floor)
        spans = cascade_alerts(lines, end)
        episodes += len(truth)
        alerts += len(spans)
        for ep in truth:
            hits = [raised for provider, raised, cleared in spans
                    if provider == ep.provider and raised <= ep.end and cleared >= ep.start]
            if hits:
                detected += 1
                leads.append((ep.kth_late - min(hits)).total_seconds() / 60)
        for provider, raised, cleared in spans:
            true_alerts += any(ep.provider == provider and raised <= ep.end and cleared >= ep.start for ep in truth)
    provider_days = args.days * len(clinic.providers)
    print(f"days {args.days}  provider-days {provider_days}  true cascades {episodes}  cascade alerts {alerts}"
          f"  ({time.perf_counter() - started:.0f} s)")
    print(f"recall {detected / episodes if episodes else float('nan'):.2f}  "
          f"precision {true_alerts / alerts if alerts else float('nan'):.2f}  "
          f"median lead {statistics.median(leads) if leads else float('nan'):.1f} min  "
          f"false alerts per provider-day {(alerts - true_alerts) / provider_days:.3f}")
    ahead = sum(lead > 0 for lead in leads)
    print(f"detected before the K-th visit was late: {ahead}/{episodes} "
          f"({ahead / episodes if episodes else float('nan'):.2f})")


if __name__ == "__main__":
    main()
