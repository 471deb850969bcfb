"""The read models of one clinic: today's board, delays and measures from the folded floor, a past day's
from the log (read, never changed), what was learned, a visit's history. Nothing here changes the floor."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING

from floor.config import Clinic
from floor.core.checkouts import BATCH_EVIDENCE, BATCH_SECONDS, Desk
from floor.core.errors import Refusal, Why
from floor.core.events import Event
from floor.core.learned import EMPTY, PRIOR_VISITS, Learned
from floor.core.learning import LEARN_DAYS, LEARNED
from floor.core.measures import ClinicMeasures, measure
from floor.core.projection import (
    PACE_PRIOR,
    lateness_over_day,
    project_all,
    steps_out_of,
    untapped_today,
    visit_plan,
    walks_in_untapped,
)
from floor.days import alerts_raised, closed_at, day_measures, first_unfoldable, fold_day, unfoldable
from floor.log.base import EventLog
from floor.runtime.today import Today
from floor.wire import (
    Board,
    ClinicSummary,
    LatenessOverDay,
    LatenessPoint,
    LearnedAnswer,
    LearnedProvider,
    LearnedStage,
    LearnedStepsOut,
    LearnedVisitType,
    ProviderDelay,
    RoomSpec,
    VisitHistory,
)

if TYPE_CHECKING:
    from floor.schedule.upcoming import Upcoming  # floor.schedule imports the runtime


class ReadModels:
    def __init__(self, today: Today, event_log: EventLog, kept: Upcoming | None = None) -> None:
        self.today = today
        self.log = event_log
        #: Where the clinic file each day ran on is kept (floor.schedule.upcoming); None: today's file for all.
        self.kept = kept

    async def learned_on(self, day: dt.date) -> Learned:
        """What a past day was learned to expect, as kept when it was learned (nothing learned: EMPTY)."""
        if self.kept is None:
            return EMPTY
        return await self.kept.learned_on(self.today.clinic.id, day) or EMPTY

    async def clinic_on(self, day: dt.date) -> Clinic:
        """The clinic file `day` ran on: today's for today, a past day's as kept when it ran (today's file for a
        day run before Floor kept them, or where none is kept)."""
        if day == self.today.floor.day or self.kept is None:
            return self.today.clinic
        return await self.kept.clinic_on(self.today.clinic.id, day) or self.today.clinic

    def board(self) -> Board:
        f, c = self.today.floor, self.today.clinic
        return Board(
            c.id,
            c.name,
            c.timezone,
            f.day,
            f.seq,
            self.today.clock.now(),
            c.session,
            list(f.rooms.values()),
            list(f.visits.values()),
            c.providers,
            c.visit_types,
            c.thresholds,
            alerts=list(f.alerts.values()),
            delays=self.delays(),
            stale=self.today.stale,
            presence=[f.presence_view(p.id) for p in c.providers],
            plans=[visit_plan(v, c) for v in f.visits.values()],
            clock_speed=getattr(self.today.clock, "factor", 1.0),  # a ScaledClock's (floor/clock.py)
            setup_version=f.setup_version,
            file_rooms=None
            if self.today.file.rooms == c.rooms
            else [RoomSpec(r.id, r.label, r.zone) for r in self.today.file.rooms],
            file_providers=None if self.today.file.providers == c.providers else list(self.today.file.providers),
            file_visit_types=None
            if self.today.file.visit_types == c.visit_types
            else list(self.today.file.visit_types),
            file_thresholds=None if self.today.file.thresholds == c.thresholds else self.today.file.thresholds,
        )

    def delays(self) -> list[ProviderDelay]:
        projections = project_all(self.today.floor, self.today.clock.now())
        return [
            ProviderDelay(provider, p.lateness, p.recovers_at, p.pace, p.visits, self._away(provider))
            for provider, p in projections.items()
        ]

    def _away(self, provider: str):
        mark = self.today.floor.away(provider)
        return mark.status if mark is not None else None

    def measures(self) -> ClinicMeasures:
        return measure(self.today.floor, self.today.clock.now(), alerts_raised(self.today.floor, self.today.events))

    def summary(self) -> ClinicSummary:
        f = self.today.floor
        return ClinicSummary(
            self.today.clinic.id,
            self.today.clinic.name,
            self.today.clinic.timezone,
            f.day,
            f.seq,
            list(self.today.clinic.display.languages),
        )

    async def day_events(self, day: dt.date | None) -> tuple[dt.date, list[Event]]:
        """A clinic day's events: today's from memory, a past day's from the log."""
        today = self.today.floor.day
        if day is None or day == today:
            return today, list(self.today.events)
        if day > today:
            raise Refusal(
                Why.invalid, f"{day} has not begun yet in {self.today.clinic.name} (today is {today}).", field="day"
            )
        clinic = self.today.clinic
        held = await self.log.days(clinic.id)
        first = held[0] if held else today
        if day < first:
            # No day of this clinic's log goes back that far: it was pruned, or Floor was not yet keeping this
            # clinic. Answered as a day with nobody seen, it read as a complete day of zeros.
            raise Refusal(
                Why.not_found,
                f"Floor holds no record of {day} for {clinic.name}: its log begins on {first}.",
                field="day",
            )
        return day, (await self.log.read_day(clinic.id, day))[1]

    async def lateness_over_day(self, day: dt.date | None, every_minutes: int) -> LatenessOverDay:
        on, events = await self.day_events(day)
        floor, clinic = self.today.floor, await self.clinic_on(on)
        base = events[0].seq - 1 if events else floor.seq
        # A past day's until it closed (its measures' moment): a day that ran past its session's close was charted
        # until its last tap that evening, and only until the close the next morning (a review of a clinic's week).
        until = self.today.clock.now() if on == floor.day else closed_at(clinic, on, events)
        # Projected as the day's floor was, with what was learned for it (the configured minutes where none was kept).
        learned = floor.learned if on == floor.day else await self.learned_on(on)
        try:
            # The day replayed through the projection at every point: a demo-size day charted every minute takes
            # seconds, which on the loop held every clinic's taps and walls (a review of a clinic's week). In a
            # thread, on what it was given (the events a copy, the clinic and what was learned immutable).
            points = await asyncio.to_thread(
                lateness_over_day, clinic, on, base, events, until, dt.timedelta(minutes=every_minutes), learned
            )
        except Exception as e:
            found = first_unfoldable(clinic, on, events)
            if found is None:
                raise
            raise unfoldable(clinic.id, *found) from e
        return LatenessOverDay(on, every_minutes, [LatenessPoint(at, late) for at, late in points])

    async def board_on(self, day: dt.date | None) -> Board:
        """Today's board, or a past day's as its events left it (its journeys, rooms and alerts; no delays:
        nothing is projected for a day that is over)."""
        on, events = await self.day_events(day)
        if on == self.today.floor.day:
            return self.board()
        c = await self.clinic_on(on)
        f = fold_day(c, on, events)
        return Board(
            c.id,
            c.name,
            c.timezone,
            on,
            f.seq,
            closed_at(c, on, events),
            c.session,
            list(f.rooms.values()),
            list(f.visits.values()),
            c.providers,
            c.visit_types,
            c.thresholds,
            alerts=list(f.alerts.values()),
            plans=[visit_plan(v, c) for v in f.visits.values()],
        )

    async def measures_on(self, day: dt.date | None) -> ClinicMeasures:
        """Today's measures now, or a past day's as it closed (from the log: past days are read, never changed)."""
        on, events = await self.day_events(day)
        if on == self.today.floor.day:
            return self.measures()
        return day_measures(await self.clinic_on(on), on, events)

    def learned_answer(self) -> LearnedAnswer:
        """What today's floor expects of each provider's visits, from what and how many past visits."""
        floor, c = self.today.floor, self.today.clinic
        learned = floor.learned
        providers = []
        for p in c.providers:
            types = []
            for vtype in c.visit_types:
                stages = []
                for stage in LEARNED:
                    times = learned.times(p.id, vtype.code, stage)
                    stages.append(
                        LearnedStage(
                            stage.value,
                            getattr(vtype.stage_minutes, stage.value),
                            learned.expected(p.id, vtype, stage),
                            times.median if times else None,
                            times.visits if times else 0,
                        )
                    )
                known = learned.stepping_out(p.id, vtype.code)
                steps_out = (
                    LearnedStepsOut(
                        known.visits,
                        known.stepped,
                        known.before,
                        known.own,
                        steps_out_of(learned, p.id, vtype) is not None,
                    )
                    if known
                    else None
                )
                types.append(LearnedVisitType(vtype.code, vtype.label, stages, steps_out))
            h = learned.habits.get(p.id)
            providers.append(
                LearnedProvider(
                    p.id,
                    p.name,
                    h.booked if h else 0,
                    h.no_shows if h else 0,
                    h.no_show_share if h else None,
                    h.arrivals if h else 0,
                    h.late_median if h else None,
                    h.to_provider if h else None,
                    h.to_provider_visits if h else 0,
                    types,
                    u.visits if (u := learned.untapped_in.get(p.id)) else 0,
                    u.untapped if u else 0,
                    walks_in_untapped(learned, p.id, floor.visits.values()),
                    (today := untapped_today(p.id, floor.visits.values())).visits,
                    today.untapped,
                )
            )
        days = learned.days
        return LearnedAnswer(
            floor.day,
            self.today.learned_for == floor.day,
            len(days),
            days[0] if days else None,
            days[-1] if days else None,
            LEARN_DAYS,
            PRIOR_VISITS,
            providers,
            learned.provider_changes,
            learned.late_tap_changes,
            learned.tap_lag,
            learned.pace_weight,
            learned.pace_visits,
            PACE_PRIOR,
            two_at_once_changes=learned.two_at_once_changes,
            checkouts=learned.checkouts.checkouts,
            checkouts_batched=learned.checkouts.batched,
            checkouts_today=(desk := Desk(learned.checkouts, floor.visits.values())).own.checkouts,
            checkouts_batched_today=desk.own.batched,
            checkouts_judged=desk.judged,
            checkouts_in_batches=desk.batches,
            checkout_hold=desk.held(c.thresholds.waiting_for_checkout),
            batch_seconds=BATCH_SECONDS,
            batch_evidence=BATCH_EVIDENCE,
        )

    def history(self, visit_id: str) -> VisitHistory:
        visit = self.today.floor.visits.get(visit_id)
        if visit is None:
            raise Refusal(Why.not_found, f"No visit {visit_id!r} today.")
        return VisitHistory(visit, [e for e in self.today.events if e.visit == visit_id])
