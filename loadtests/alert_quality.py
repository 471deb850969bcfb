"""How good are cascade alerts? Simulated clinic days in several worlds, replayed through the same path as
`floor replay`, with a plain projection from median durations scored beside Floor on the same days.

Worlds (floor/simulator.py `WORLDS`): the simulator's default day, and days that differ from it: the other
appointment convention, sessions that start late, a provider pulled away, patients early and late by other
amounts, heavy-tailed visits, taps entered minutes late, one medical assistant, few rooms, more no-shows,
and most of these at once ("hard").

A true cascade is K or more consecutive seen visits of one provider (booking order, two booked at one time in
the order they were seen, walk-ins aside) that really started L or more minutes after their planned
provider-in BY THE CLINIC'S OWN CONVENTION (K, L: the clinic's settings; see `planned_provider_in` below).
With taps that lag, "really" is when the step happened, not when it was tapped: alerts only see the taps.
Its K-th visit became late at its planned provider-in + L.

- Recall: an episode is detected when a cascade alert of its provider was raised BEFORE its K-th visit
  became late (lead > 0) and was still up at some moment from an hour before its first late visit was due.
- Lead: from that raise (or, for an alert up since earlier, from an hour before the first late visit was
  due) to the moment the K-th visit became late.
- Precision: an alert is true when it was up at some moment between an hour before an episode's first late
  visit was due and the start of its last late visit (so an alert raised late in a real episode is true,
  though it detects nothing).

    .venv/bin/python loadtests/alert_quality.py --days 40
    .venv/bin/python loadtests/alert_quality.py --days 40 --history 0
    .venv/bin/python loadtests/alert_quality.py --days 100 --worlds default,provider_time --seed 1000
    .venv/bin/python loadtests/alert_quality.py --days 10 --worlds tap_lag --explain 3

`--explain N` prints, per world, how many false alerts and missed episodes there were of each rough kind, then
N of each with the provider's run of visits (minutes late; in a world whose taps lag, "+8/+12": really 8, 12
by the tap). A false alert is `untapped` when a step of that provider's had happened and was not yet tapped
at its raise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from floor.config import AppointmentTime, Clinic, demo_clinic
from floor.core.events import AlertCleared, AlertRaised, Event
from floor.core.floor import Floor, Visit
from floor.core.journey import Stage
from floor.core.learned import EMPTY, Learned
from floor.core.learning import learn
from floor.days import fold_day
from floor.replay import AlertLine, replay
from floor.simulator import WORLDS, simulate_day

EARLY = dt.timedelta(hours=1)
TICK = dt.timedelta(minutes=1)
#: Past days' seeds start this far from the scored days', so no scored day is also learned from.
HISTORY_SEEDS = 100_000
DAY = dt.date(2026, 11, 23)
#: The issue's targets, in every world.
TARGETS = {"recall": 0.85, "precision": 0.80, "lead": 10.0}


def planned_provider_in(clinic: Clinic, visit: Visit) -> dt.datetime:
    """When the provider should walk in to a visit, by the clinic's own convention: the yardstick of the
    ground truth (and of the baseline).

    `[session] appointment_time = "provider"`: the booked time is the provider's, so it is the booked start.
    `"arrival"` (the default): the booked time is the patient's arrival, and rooming and prep come after it,
    so it is the booked start plus the visit type's expected rooming and prep minutes (what
    `floor.core.projection.planned_provider_in` has always said)."""
    if clinic.session.appointment_time is AppointmentTime.provider:
        return visit.start
    sm = clinic.visit_type(visit.visit_type).stage_minutes
    return visit.start + dt.timedelta(minutes=sm.roomed + sm.prep_done)


@dataclass
class Episode:
    provider: str
    start: dt.datetime  # an hour before the first late visit was due
    end: dt.datetime  # when the last late visit of the run started
    kth_late: dt.datetime  # when the K-th late visit became L minutes late


def true_cascades(clinic: Clinic, floor: Floor) -> list[Episode]:
    """The cascades that really happened on a day (`floor`: the day as it really went)."""
    k, late = clinic.thresholds.cascade_visits, dt.timedelta(minutes=clinic.thresholds.cascade_minutes)
    episodes = []
    for provider in clinic.providers:
        seen = sorted(
            (
                v
                for v in floor.visits.values()
                if v.provider == provider.id and not v.walk_in and Stage.provider_in in v.times
            ),
            key=lambda v: (v.start, v.times[Stage.provider_in]),
        )
        run: list[tuple[Visit, dt.datetime]] = []
        for v in [*seen, None]:
            planned = planned_provider_in(clinic, v) if v else None
            if v is not None and v.times[Stage.provider_in] - planned >= late:
                run.append((v, planned))
                continue
            if len(run) >= k:
                episodes.append(
                    Episode(provider.id, run[0][1] - EARLY, run[-1][0].times[Stage.provider_in], run[k - 1][1] + late)
                )
            run = []
    return episodes


Span = tuple[str, dt.datetime, dt.datetime]  # provider, raised, cleared (or the end of the day)


def cascade_alerts(lines, end: dt.datetime) -> list[Span]:
    """Floor's cascade alerts from a replay's lines, as spans."""
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


def plain_lateness(clinic: Clinic, visits: list[Visit], now: dt.datetime) -> list[float]:
    """The baseline's projection for one provider: minutes late of each upcoming booked visit, walking the
    provider's waiting visits in booking order from now with the visit types' configured minutes with the
    provider (nothing learned), each starting at the later of its planned provider-in (or now) and the
    provider being free."""
    free = now
    for v in visits:
        if v.stage is Stage.provider_in:
            expected = clinic.visit_type(v.visit_type).stage_minutes.provider_in
            free = max(free, v.times[Stage.provider_in] + dt.timedelta(minutes=expected))
    late = []
    for v in sorted((v for v in visits if v.stage in _WAITING), key=lambda v: v.start):
        planned = planned_provider_in(clinic, v)
        start = max(free, planned, now)
        free = start + dt.timedelta(minutes=clinic.visit_type(v.visit_type).stage_minutes.provider_in)
        if not v.walk_in:
            late.append((start - planned).total_seconds() / 60)
    return late


_WAITING = (Stage.scheduled, Stage.arrived, Stage.roomed, Stage.prep_done)


def baseline_alerts(clinic: Clinic, events: list[Event], end: dt.datetime, tick: dt.timedelta = TICK) -> list[Span]:
    """The plain projection's cascade alerts over a day's taps, reviewed every `tick` like Floor's: raised
    when K or more upcoming visits are projected L or more minutes late, cleared when fewer than K are
    projected L/2 late."""
    k, late = clinic.thresholds.cascade_visits, clinic.thresholds.cascade_minutes
    floor = Floor(clinic, events[0].day, events[0].seq - 1)
    raised: dict[str, dt.datetime] = {}
    spans: list[Span] = []
    i, now = 0, events[0].at
    while now <= end:
        while i < len(events) and events[i].at <= now:
            floor.apply(events[i])
            i += 1
        mine: dict[str, list[Visit]] = {p.id: [] for p in clinic.providers}
        for v in floor.visits.values():
            mine[v.provider].append(v)
        for provider, visits in mine.items():
            projected = plain_lateness(clinic, visits, now)
            if provider not in raised and sum(x >= late for x in projected) >= k:
                raised[provider] = now
            elif provider in raised and sum(x >= late / 2 for x in projected) < k:
                spans.append((provider, raised.pop(provider), now))
        now += tick
    return spans + [(provider, at, end) for provider, at in raised.items()]


@dataclass
class Score:
    provider_days: int = 0
    episodes: int = 0
    detected: int = 0
    alerts: int = 0
    true_alerts: int = 0
    leads: list[float] = field(default_factory=list)
    #: Each day's (episodes, detected, alerts, true alerts), for `interval`.
    days: list[tuple[int, int, int, int]] = field(default_factory=list)

    def add(self, truth: list[Episode], spans: list[Span]) -> None:
        """One day's episodes and alerts."""
        before = (self.detected, self.true_alerts)
        self.episodes += len(truth)
        self.alerts += len(spans)
        for ep in truth:
            # Only an alert raised before the K-th visit became late detects the episode (lead > 0).
            hits = [
                raised
                for provider, raised, cleared in spans
                if provider == ep.provider and raised < ep.kth_late and cleared > ep.start
            ]
            if hits:
                self.detected += 1
                self.leads.append((ep.kth_late - max(min(hits), ep.start)).total_seconds() / 60)
        for provider, raised, cleared in spans:
            self.true_alerts += any(
                ep.provider == provider and raised <= ep.end and cleared >= ep.start for ep in truth
            )
        self.days.append((len(truth), self.detected - before[0], len(spans), self.true_alerts - before[1]))

    def __iadd__(self, other: Score) -> Score:
        self.provider_days += other.provider_days
        self.episodes += other.episodes
        self.detected += other.detected
        self.alerts += other.alerts
        self.true_alerts += other.true_alerts
        self.leads += other.leads
        self.days += other.days
        return self

    @property
    def recall(self) -> float:
        return self.detected / self.episodes if self.episodes else float("nan")

    @property
    def precision(self) -> float:
        return self.true_alerts / self.alerts if self.alerts else float("nan")

    @property
    def lead(self) -> float:
        return statistics.median(self.leads) if self.leads else float("nan")

    @property
    def false_per_day(self) -> float:
        return (self.alerts - self.true_alerts) / self.provider_days if self.provider_days else float("nan")

    def cells(self) -> str:
        return f"{self.recall:6.2f} {self.precision:6.2f} {self.lead:5.0f} {self.false_per_day:6.2f}"

    def interval(self, share: str, reps: int = 2000, seed: int = 0) -> tuple[float, float]:
        """A 95% interval for `share` ("recall" or "precision") over days like these: the days drawn again
        with replacement `reps` times (a day's alerts and episodes go together: one bad morning makes several),
        the 2.5th and 97.5th percentiles of the share. Seeded, so the same days print the same interval."""
        num, den = (1, 0) if share == "recall" else (3, 2)
        rng = random.Random(seed)
        shares = []
        for _ in range(reps):
            drawn = rng.choices(self.days, k=len(self.days))
            total = sum(d[den] for d in drawn)
            if total:
                shares.append(sum(d[num] for d in drawn) / total)
        if not shares:
            return float("nan"), float("nan")
        shares.sort()
        return shares[int(0.025 * (len(shares) - 1))], shares[int(0.975 * (len(shares) - 1))]


_GONE = (Stage.no_show, Stage.cancelled, Stage.left_without_being_seen)


@dataclass
class Case:
    """A false alert or a missed episode, for --explain."""

    kind: str
    seed: int
    provider: str
    text: str
    #: Why, roughly (see `_why_false`, `explain`).
    why: tuple[str, ...] = ()


def _why_false(
    clinic: Clinic, floor: Floor, detail, raised: dt.datetime, cleared: dt.datetime, untapped: bool = False
) -> tuple[str, ...]:
    """Rough kinds of a false alert, from the visits it named as affected and how the day went for them:
    `not-seen` (one never saw the provider: a no-show, a cancellation, a patient who left), `near-miss` (K-1
    of them really were L late, or K of them 0.6 L), `already-seen` (all had seen the provider before the
    raise), `flicker` (up 3 minutes or less), `untapped` (as the caller found, `_untapped`: a step of one of the
    provider's visits had happened by the raise and was not yet tapped); `other`."""
    if detail is None:
        return ("other",)
    k, late = clinic.thresholds.cascade_visits, clinic.thresholds.cascade_minutes
    affected = [floor.visits[v] for v in detail.affected if v in floor.visits]
    lates = [
        (v.times[Stage.provider_in] - planned_provider_in(clinic, v)).total_seconds() / 60
        for v in affected
        if Stage.provider_in in v.times and not v.walk_in
    ]
    why = []
    if any(v.stage in _GONE for v in affected):
        why.append("not-seen")
    if sum(x >= late for x in lates) >= k - 1 or sum(x >= 0.6 * late for x in lates) >= k:
        why.append("near-miss")
    if affected and all(v.times.get(Stage.provider_in, cleared) <= raised for v in affected):
        why.append("already-seen")
    if cleared - raised <= dt.timedelta(minutes=3):
        why.append("flicker")
    if untapped:
        why.append("untapped")
    return tuple(why) or ("other",)


def _untapped(floor: Floor, seen: Floor, provider: str | None, at: dt.datetime) -> bool:
    """Whether a step of one of `provider`'s visits had really happened by `at` (`floor`: the day as it went)
    and was not in the floor as tapped by then (`seen`)."""
    for v in floor.visits.values():
        if v.provider != provider:
            continue
        tapped = seen.visits.get(v.id)
        if any(t <= at and (tapped is None or stage not in tapped.times) for stage, t in v.times.items()):
            return True
    return False


def _fmt(clinic: Clinic, t: dt.datetime | None) -> str:
    return t.astimezone(clinic.tz).strftime("%H:%M") if t else "--:--"


def _run_of(
    clinic: Clinic, floor: Floor, provider: str, lo: dt.datetime, hi: dt.datetime, tapped: Floor | None = None
) -> str:
    """The provider's booked visits planned between lo and hi: planned provider-in, minutes late (or the end);
    with `tapped` (the day as tapped) and a provider-in tapped at another time, that lateness after a slash."""
    out = []
    for v in sorted((v for v in floor.visits.values() if v.provider == provider), key=lambda v: v.start):
        planned = planned_provider_in(clinic, v)
        if v.walk_in or not lo <= planned <= hi:
            continue
        seen = v.times.get(Stage.provider_in)
        late = f"{(seen - planned).total_seconds() / 60:+.0f}" if seen else v.stage.value[:7]
        entered = tapped.visits[v.id].times.get(Stage.provider_in) if tapped and v.id in tapped.visits else seen
        if seen and entered and entered != seen:
            late += f"/{(entered - planned).total_seconds() / 60:+.0f}"
        out.append(f"{_fmt(clinic, planned)}{late}")
    return " ".join(out)


def explain(
    clinic: Clinic,
    seed: int,
    truth: list[Episode],
    spans: list[Span],
    lines: list[AlertLine],
    floor: Floor,
    events: list[Event] | None = None,
    tapped: Floor | None = None,
) -> list[Case]:
    """The day's false alerts and missed episodes, each with its provider's run of visits. `floor`: the day as
    it really went; with `events` (the taps, as entered) and `tapped` (the day as tapped), in a world whose
    taps lag, each false alert is also checked for steps not yet tapped at its raise, and the run shows each
    provider-in's lateness by its tap where that differs."""
    cases = []
    raised = {
        (c.provider, line.at): c.detail
        for line in lines
        if isinstance(c := line.change, AlertRaised) and c.kind == "cascade"
    }
    for provider, at, cleared in spans:
        if any(ep.provider == provider and at <= ep.end and cleared >= ep.start for ep in truth):
            continue
        detail = raised.get((provider, at))
        said = f"lateness {detail.lateness:.0f}, {len(detail.affected)} affected" if detail else ""
        run = _run_of(
            clinic, floor, provider, at - dt.timedelta(minutes=60), cleared + dt.timedelta(minutes=60), tapped
        )
        seen = fold_day(clinic, floor.day, [e for e in events if e.at <= at]) if events else None
        untapped = seen is not None and _untapped(floor, seen, provider, at)
        cases.append(
            Case(
                "false",
                seed,
                provider,
                f"raised {_fmt(clinic, at)} cleared {_fmt(clinic, cleared)} ({said}); run: {run}",
                _why_false(clinic, floor, detail, at, cleared, untapped),
            )
        )
    for ep in truth:
        hits = [(a, c) for p, a, c in spans if p == ep.provider and a < ep.kth_late and c > ep.start]
        if hits:
            continue
        mine = [(a, c) for p, a, c in spans if p == ep.provider and c > ep.start and a <= ep.end]
        said = ", ".join(
            f"{_fmt(clinic, a)}-{_fmt(clinic, c)} (lateness {raised[(ep.provider, a)].lateness:.0f})"
            if (ep.provider, a) in raised
            else f"{_fmt(clinic, a)}-{_fmt(clinic, c)}"
            for a, c in mine
        )
        run = _run_of(clinic, floor, ep.provider, ep.start, ep.end + dt.timedelta(minutes=30), tapped)
        lag = (min(a for a, _ in mine) - ep.kth_late).total_seconds() / 60 if mine else None
        why = "no alert" if lag is None else "raised <= 5 min late" if lag <= 5 else "raised > 5 min late"
        cases.append(
            Case(
                "missed",
                seed,
                ep.provider,
                f"K-th late at {_fmt(clinic, ep.kth_late)}; Floor alerts: {said or 'none'}; run: {run}",
                (why,),
            )
        )
    return cases


def print_cases(explained: list[tuple[str, list[Case]]], n: int) -> None:
    """Per world (or scenario): how many false alerts and missed episodes of each kind, then `n` of each."""
    for name, cases in explained:
        for kind in ("false", "missed"):
            kinds = Counter(w for c in cases if c.kind == kind for w in c.why)
            print(f"[{name}] {kind}: {len([c for c in cases if c.kind == kind])}; {dict(sorted(kinds.items()))}")
    for name, cases in explained:
        for kind in ("false", "missed"):
            for c in [c for c in cases if c.kind == kind][:n]:
                print(f"[{name}] {kind} seed {c.seed} {c.provider} {'/'.join(c.why)}: {c.text}")


def history(clinic: Clinic, world, days: int, seed: int) -> Learned:
    """What Floor learns from `days` past days of the same world (seeds far from the scored days'), as a
    server learns from the clinic's log when the day opens: the days as tapped, not as they really went."""
    past = []
    for n in range(days):
        events, _ = simulate_day(clinic, DAY - dt.timedelta(days=n + 1), HISTORY_SEEDS + seed + n, world=world)
        past.append(fold_day(clinic, DAY - dt.timedelta(days=n + 1), events))
    return learn(clinic, past)


def scored_day(
    clinic: Clinic, events: list[Event], truth: list[Episode], learned: Learned, floor: Score, plain: Score
) -> tuple[list[AlertLine], list[Span], Floor]:
    """One day's taps replayed through Floor (having learned `learned`) and through the plain projection, each
    scored against the day's true cascades into `floor` and `plain`. Returns Floor's alert lines, its cascade
    alerts as spans, and the floor as tapped (the visits' times as staff entered them)."""
    end = events[-1].at
    lines, tapped = replay(clinic, events, until=end, learned=learned)
    alerts = cascade_alerts(lines, end)
    for score, spans in ((floor, alerts), (plain, baseline_alerts(clinic, events, end))):
        score.provider_days += len(clinic.providers)
        score.add(truth, spans)
    return lines, alerts, tapped


def run_world(
    base: Clinic, name: str, days: int, seed: int, past_days: int = 0, cases: list[Case] | None = None
) -> tuple[Score, Score, Score]:
    """Floor's score and the baseline's over `days` days of one world (seeds seed, seed+1, ...), Floor having
    learned from `past_days` earlier days of the world (0: nothing learned, the configured minutes); and Floor's
    score against the day as it was tapped (the visits' times as staff entered them), which differs from the
    first only in a world whose taps lag. With `cases`, each day's false alerts and missed episodes are added
    to it (`explain`)."""
    world = WORLDS[name]
    clinic = world.clinic(base)
    learned = history(clinic, world, past_days, seed) if past_days else EMPTY
    floor_score, plain_score, as_tapped = Score(), Score(), Score()
    for n in range(days):
        events, truth_floor = simulate_day(clinic, DAY, seed + n, world=world)
        truth = true_cascades(clinic, truth_floor)
        lines, alerts, tapped = scored_day(clinic, events, truth, learned, floor_score, plain_score)
        if cases is not None:
            cases += explain(clinic, seed + n, truth, alerts, lines, truth_floor, events, tapped)
        as_tapped.provider_days += len(clinic.providers)
        as_tapped.add(true_cascades(clinic, tapped), alerts)
    return floor_score, plain_score, as_tapped


def print_intervals(scores: list[tuple[str, Score]]) -> None:
    """Floor's recall and precision per world (or scenario), each with its 95% interval (`Score.interval`): how
    far the same share could be on other days like these."""
    print("Floor's 95% intervals over days like these (the days drawn again with replacement): recall; precision")
    for name, score in scores:
        (r_lo, r_hi), (p_lo, p_hi) = score.interval("recall"), score.interval("precision")
        print(f"{name:15} {score.recall:.2f} ({r_lo:.2f}-{r_hi:.2f}); {score.precision:.2f} ({p_lo:.2f}-{p_hi:.2f})")


def table_row(name: str, floor: Score, plain: Score, width: int = 14, kl: str | None = None) -> str:
    """One row of the benchmarks' tables: Floor's scores, the plain projection's, and the targets Floor misses
    (`kl`: the clinic's K/L, where a benchmark's clinics differ)."""
    head = f"{name:{width}}" + ("" if kl is None else f" {kl:>5}")
    return (
        f"{head} {floor.provider_days:9d} {floor.episodes:8d} | {floor.cells():>29} | {plain.cells():>29} | "
        f"{' '.join(misses(floor, plain)) or '-'}"
    )


def print_table_header(title: str = "world", width: int = 14, kl: bool = False) -> str:
    """Print the header of the benchmarks' tables, for `table_row`'s rows (`kl`: with the clinic's K/L column),
    and its rule; returns the rule, to close the table with."""
    head = f"{title:{width}}" + (f" {'K/L':>5}" if kl else "")
    header = (
        f"{head} {'prov-days':>9} {'episodes':>8} | {'Floor: rec':>10} {'prec':>6} {'lead':>5} "
        f"{'FA/pd':>6} | {'plain: rec':>10} {'prec':>6} {'lead':>5} {'FA/pd':>6} | misses"
    )
    rule = "-" * len(header)
    print(header)
    print(rule)
    return rule


def print_as_tapped(lagging: list[tuple[str, Score]]) -> None:
    """For each world (or scenario) whose taps lag, the same alerts scored against the visits' times as staff
    tapped them: what Floor could know."""
    for name, as_tapped in lagging:
        print(
            f"{name}, against the day as tapped (its log's times, not when the steps happened): "
            f"{as_tapped.episodes} episodes; Floor {as_tapped.cells()}"
        )


def misses(floor: Score, plain: Score) -> list[str]:
    """Which of the issue's targets Floor misses."""
    out = []
    if not floor.recall >= TARGETS["recall"]:
        out.append("recall")
    if not floor.precision >= TARGETS["precision"]:
        out.append("precision")
    if not floor.lead >= TARGETS["lead"]:
        out.append("lead")
    if not floor.recall > plain.recall:
        out.append("recall<=plain")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=40, help="simulated days per world (default 40)")
    parser.add_argument("--worlds", default=",".join(WORLDS), help=f"comma-separated, of: {', '.join(WORLDS)}")
    parser.add_argument("--seed", type=int, default=1000, help="the first day's seed (default 1000)")
    parser.add_argument(
        "--history",
        type=int,
        default=14,
        metavar="DAYS",
        help="past days of each world Floor learns from first, as a server learns from its "
        "log (default 14; 0: nothing learned, the configured minutes)",
    )
    parser.add_argument(
        "--explain", type=int, default=0, metavar="N", help="print N false alerts and missed episodes per world"
    )
    args = parser.parse_args()
    names = [w.strip() for w in args.worlds.split(",") if w.strip()]
    unknown = [w for w in names if w not in WORLDS]
    if unknown:
        parser.error(f"unknown world(s) {', '.join(unknown)}; known: {', '.join(WORLDS)}")
    base = demo_clinic()
    k, late = base.thresholds.cascade_visits, base.thresholds.cascade_minutes
    print(
        f"{args.days} days per world from seed {args.seed}, Floor learned from {args.history} past days, "
        f"K={k}, L={late}; "
        f"recall, precision, median lead (min), false alerts per provider-day"
    )
    rule = print_table_header()
    total_floor, total_plain = Score(), Score()
    scores: list[tuple[str, Score]] = []
    lagging: list[tuple[str, Score]] = []
    explained: list[tuple[str, list[Case]]] = []
    started = time.perf_counter()
    for name in names:
        cases: list[Case] = []
        floor_score, plain_score, as_tapped = run_world(
            base, name, args.days, args.seed, args.history, cases if args.explain else None
        )
        explained.append((name, cases))
        scores.append((name, floor_score))
        if WORLDS[name].tap_lag_share > 0:
            lagging.append((name, as_tapped))
        total_floor += floor_score
        total_plain += plain_score
        print(table_row(name, floor_score, plain_score), flush=True)
    print(rule)
    print(table_row("overall", total_floor, total_plain))
    print_as_tapped(lagging)
    print_intervals([*scores, ("overall", total_floor)])
    print(
        f"targets in every world: recall >= {TARGETS['recall']}, precision >= {TARGETS['precision']}, "
        f"median lead >= {TARGETS['lead']:.0f} min, recall above the plain projection's  "
        f"({time.perf_counter() - started:.0f} s)"
    )
    if args.explain:
        print_cases(explained, args.explain)


if __name__ == "__main__":
    main()
