"""One clinic's runtime: the four parts around its pure floor, composed.

- `Writer` (writer.py): decide, store durably, fold in; the floor's day and what it learned.
- `Follower` (follower.py): fold in what other servers append to a shared log; stale while it is out of reach.
- `FeedCache` (feed.py): the live feed's updates, rendered once, kept for resuming screens, sent after the
  tapper's answer; snapshots.
- `ReadModels` (reads.py): the board, delays, measures, past days, histories.

They share the folded day (`Today`, today.py). `ClinicRuntime` only hands each call to the part that does it,
so the web layer, the CLI and the tests talk to one object per clinic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from floor.clock import Clock
from floor.config import Clinic
from floor.core.access import Role
from floor.core.commands import Command, Tap
from floor.core.events import AlertRaised, Event
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.learned import Learned
from floor.core.measures import ClinicMeasures
from floor.fanout import Hub, Item, Subscriber
from floor.hallway import Hallway
from floor.ids import secure
from floor.log.base import EventLog
from floor.metrics import Metrics
from floor.runtime.feed import FeedCache
from floor.runtime.follower import Follower
from floor.runtime.reads import ReadModels
from floor.runtime.today import Today
from floor.runtime.writer import Answer, Idempotency, Writer
from floor.wire import Board, ClinicSummary, LatenessOverDay, LearnedAnswer, ProviderDelay, VisitHistory

if TYPE_CHECKING:
    from floor.schedule.upcoming import Upcoming  # floor.schedule imports the runtime

T = TypeVar("T")


class ClinicRuntime:
    def __init__(
        self,
        clinic: Clinic,
        event_log: EventLog,
        clock: Clock,
        hub: Hub,
        retain: int = 50_000,
        metrics: Metrics | None = None,
        ids: Ids | None = None,
        kept: Upcoming | None = None,
    ) -> None:
        self.metrics = metrics or Metrics()
        self.log = event_log
        self.hub = hub
        self.today = Today(clinic, clock, ids if ids is not None else secure())
        self.reads = ReadModels(self.today, event_log, kept)
        self.feed = FeedCache(self.today, self.reads, hub, self.metrics, retain)
        self.writer = Writer(self.today, self.feed, event_log, self.metrics)
        self.follower = Follower(self.today, self.writer, self.feed, event_log, self.metrics)

    # -- the shared day -------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.today.clinic.id

    @property
    def clinic(self) -> Clinic:
        return self.today.clinic

    @clinic.setter
    def clinic(self, clinic: Clinic) -> None:
        self.today.clinic = clinic

    @property
    def clock(self) -> Clock:
        return self.today.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self.today.clock = clock

    @property
    def ids(self) -> Ids:
        return self.today.ids

    @property
    def floor(self) -> Floor:
        return self.today.floor

    @property
    def events(self) -> list[Event]:
        return self.today.events

    @property
    def stale(self) -> bool:
        return self.today.stale

    @stale.setter
    def stale(self, stale: bool) -> None:
        self.today.stale = stale

    @property
    def unfoldable(self) -> str:
        """Why the log's next event cannot be folded, while it cannot ('': it can)."""
        return self.today.unfoldable

    @property
    def learned(self) -> Learned:
        return self.today.learned

    @property
    def losses(self) -> int:
        """How many times the shared log was found to have lost events this server folded (Today.losses)."""
        return self.today.losses

    @property
    def learned_for(self) -> dt.date | None:
        return self.today.learned_for

    @learned_for.setter
    def learned_for(self, day: dt.date | None) -> None:
        self.today.learned_for = day

    @property
    def hallway(self) -> Hallway:
        return self.feed.hallway

    # -- writes (Writer) ------------------------------------------------------------------------

    async def start(self) -> None:
        await self.writer.load()

    async def handle(
        self,
        command: Command,
        actor: str,
        device: str,
        idempotency: Idempotency | None = None,
        role: Role | None = None,
        provider: str | None = None,
    ) -> Answer:
        return await self.writer.handle(command, actor, device, idempotency, role, provider)

    async def handle_all(
        self,
        decide: Callable[[Floor, Tap], list[Event]],
        actor: str,
        device: str,
        role: Role | None = None,
        before_store: Callable[[], Awaitable[None]] | None = None,
    ) -> list[Event]:
        return await self.writer.handle_all(decide, actor, device, role, before_store)

    async def consider(self, decide: Callable[[Floor, Tap], T], actor: str, device: str, role: Role | None = None) -> T:
        return await self.writer.consider(decide, actor, device, role)

    async def settle(self) -> None:
        await self.writer.settle()

    def schedule_review(self) -> None:
        self.writer.schedule_review()

    async def review_alerts(self, delay: float = 0.0) -> None:
        await self.writer.review_alerts(delay)

    async def raise_alert(self, raised: AlertRaised) -> None:
        await self.writer.raise_alert(raised)

    async def learn(self) -> Learned:
        return await self.writer.learn(self.reads.clinic_on)

    def tick(self) -> None:
        """Called on a clock tick: opens a new day at midnight (clinic time) and sends heartbeats and delays."""
        # Not under a tap in flight: its event was decided for the old day and is folded in when stored.
        # The next tick, or the next tap, opens the new day.
        if not self.writer.lock.locked():
            self.writer.roll_day(self.clock.now())
        self.feed.invalidate()  # a snapshot's `now` and delays move with time, not only with events
        self.feed.heartbeat()
        self.writer.schedule_review(cascades=True)  # delays grow while nobody taps
        self.feed.delays(self.reads.delays, self.reads.measures)

    # -- following a shared log (Follower) ------------------------------------------------------

    async def follow(self, wait: float = 5.0) -> None:
        await self.follower.follow(wait)

    # -- the live feed (FeedCache) --------------------------------------------------------------

    def fan_out(self) -> None:
        self.feed.fan_out()

    def snapshot(self, audience: str) -> Item:
        return self.feed.snapshot(audience)

    def join(self, sub: Subscriber, since: int | None, held: str | None = None, setup: str | None = None) -> None:
        self.feed.join(sub, since, held, setup)

    def catch_up(
        self, since: int | None, audience: str, held: str | None = None, setup: str | None = None
    ) -> list[Item]:
        return self.feed.catch_up(since, audience, held, setup)

    # -- reads (ReadModels) ---------------------------------------------------------------------

    def board(self) -> Board:
        return self.reads.board()

    def delays(self) -> list[ProviderDelay]:
        return self.reads.delays()

    def measures(self) -> ClinicMeasures:
        return self.reads.measures()

    def summary(self) -> ClinicSummary:
        return self.reads.summary()

    async def day_events(self, day: dt.date | None) -> tuple[dt.date, list[Event]]:
        return await self.reads.day_events(day)

    async def lateness_over_day(self, day: dt.date | None, every_minutes: int) -> LatenessOverDay:
        return await self.reads.lateness_over_day(day, every_minutes)

    async def board_on(self, day: dt.date | None) -> Board:
        return await self.reads.board_on(day)

    async def measures_on(self, day: dt.date | None) -> ClinicMeasures:
        return await self.reads.measures_on(day)

    async def clinic_on(self, day: dt.date) -> Clinic:
        return await self.reads.clinic_on(day)

    def learned_answer(self) -> LearnedAnswer:
        return self.reads.learned_answer()

    def history(self, visit_id: str) -> VisitHistory:
        return self.reads.history(visit_id)
