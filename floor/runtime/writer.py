"""The write path of one clinic: decide, store durably, fold in; and the floor's day (loading it, opening the
next at midnight, learning from past days).

Taps for a clinic are handled one at a time (`lock`), so two racing taps on one visit are decided in order and
the loser is refused. With a shared log (Redis) another server may append first: the append is refused with
SeqTaken, the writer catches up from the log and decides again (floor.retry.attempts).

A tap's answer is what it stored and changed (`Answer`); the edge builds the HTTP answer from it. With an
Idempotency-Key the log keeps that, structured (`Tapped`), in the event's record, for the retries.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import NamedTuple, TypeVar

import msgspec
import structlog
from msgspec import Struct

from floor.config import Clinic, Provider
from floor.config import Room as RoomSetUp
from floor.core.access import SYSTEM_ACTOR, Role
from floor.core.alerts import cascades_due, review
from floor.core.commands import Command, Tap
from floor.core.errors import Refusal, Why
from floor.core.events import AlertChange, AlertRaised, Event, SetUpChanged
from floor.core.floor import Alert, Floor, Room, Touched, Visit
from floor.core.learned import Learned
from floor.core.learning import LEARN_DAYS, Tally
from floor.core.presence import ProviderPresenceView
from floor.days import fold_day
from floor.log.base import (
    Diverged,
    EventLog,
    KeyTaken,
    LogUnavailable,
    NotReplicated,
    Receipt,
    Record,
    SeqTaken,
)
from floor.metrics import Metrics
from floor.retry import attempts
from floor.runtime.feed import FeedCache
from floor.runtime.today import Today
from floor.wire import encode

log = structlog.get_logger("floor.runtime")
T = TypeVar("T")

#: The status a receipt records: a stored tap's answer is always 201 Created (the log's record keeps it).
CREATED = 201
#: Seconds between a tap and the alert review it triggers: taps arriving meanwhile share one review.
REVIEW_DELAY = 0.2
#: Events of the day loaded at start whose updates are kept, so screens resuming after a restart get the
#: events they missed rather than a snapshot (a screen further behind than that gets a snapshot).
RESUMABLE_AFTER_START = 2_000
#: Events of an import folded and fanned out between two turns of the event loop.
FOLD_BATCH = 100


class Answer(NamedTuple):
    """What a stored tap did, for the tapper's answer (built at the edge, floor/web/http.py): its event and what
    it changed. `replayed`: a retry with the same Idempotency-Key, answered with the first tap's."""

    event: Event
    touched: Touched
    replayed: bool = False


class Idempotency(NamedTuple):
    key: str
    fingerprint: str
    #: Another fingerprint the same request had under an earlier release (a retry that crosses an upgrade is
    #: still the same tap): the raw body's, where the fingerprint is now of the decoded tap.
    formerly: str | None = None
    #: Only answer a tap stored under this key, never decide it anew: a tablet asking, after the clinic's midnight,
    #: whether a tap it kept from the day before was stored before its answer was lost.
    stored_only: bool = False


class Tapped(Struct, frozen=True):
    """What a receipt keeps of a stored tap (its `body`), to answer the tap's retries as it was first answered."""

    event: Event
    touched: Touched


class _AnswerKept(Struct):
    """What receipts kept before the answer was built at the edge: the HTTP answer itself (floor.wire's
    VisitAnswer, RoomAnswer, AlertAnswer or PresenceAnswer). Read so that a retry of a tap stored then is
    answered too."""

    event: Event
    visit: Visit | None = None
    room: Room | None = None
    alert: Alert | None = None
    presence: ProviderPresenceView | None = None


def kept(receipt: Receipt) -> Tapped:
    """The tap a receipt answers for, as stored now or as stored before (the answer's bytes)."""
    try:
        return msgspec.json.decode(receipt.body, type=Tapped)
    except msgspec.ValidationError:
        old = msgspec.json.decode(receipt.body, type=_AnswerKept)
        return Tapped(old.event, Touched(old.visit, [old.room] if old.room else [], old.alert, old.presence))


class Writer:
    def __init__(self, today: Today, feed: FeedCache, event_log: EventLog, metrics: Metrics) -> None:
        self.today = today
        self.feed = feed
        self.log = event_log
        self.metrics = metrics
        self.id = today.clinic.id
        #: Held while the floor changes: a tap, an import, an alert review, catching up with the log.
        self.lock = asyncio.Lock()
        self._review: asyncio.Task[None] | None = None
        #: When the cascades were last reviewed (clinic time), and whether a tick asked for them since.
        self._cascades_at: dt.datetime | None = None
        self._cascades_wanted = False
        #: Set when the server stops: no new alert review is started (it would append after the log closed).
        self._settling = False

    async def load(self) -> None:
        """Fold in today's events from the log, keeping the last ones' updates for screens resuming.

        Today is the clock's clinic day, or the log's newest day while that is later: a floor behind the log's
        newest day stores its events after a later day's (the log's order makes them that day's: its first tap
        caught up with the log onto it). The clinic file's time zone moved west between days (a clinic set up on
        UTC by mistake, put right on America/Chicago one evening) loaded an empty 23rd at 20:00 while the log held
        the 24th: the evening's taps went onto the 24th all the same, the 24th's midnight opened no day, and the
        23rd's kept clinic file was written over with the new one (a review of time). The floor stays on the
        log's day, which is today until the clinic's clock passes it (its next midnight opens the day after, every
        room ready), and the log says so. A server whose clock is a moment behind another's is on the day as it
        would be once that day's first event came (`fold_stored`)."""
        self.feed.fan_out()
        clinic = self.today.clinic
        day = clinic.day_of(self.today.clock.now())
        held = await self.log.days(self.id)
        if held and held[-1] > day:
            log.warning(
                "clinic_day_ahead_of_clock",
                clinic=self.id,
                day=str(held[-1]),
                clock_day=str(day),
                timezone=clinic.timezone,
                meaning=f"the clinic file's time zone puts today on {day}, before the log's newest day: the floor is "
                f"on {held[-1]} until the clinic's midnight after it (the time zone changed, or this server's clock "
                "is behind the server that opened the day)",
            )
            day = held[-1]
        base, events = await self.log.read_day(self.id, day)
        earlier = [d for d in held if d < day]
        if earlier and base > self.today.setup_version:
            # A set-up change of the day before stored but never kept beside the log (the server died between the
            # two, and no tick kept it): a day opened from the kept set-up lost it, as no server reads that day's log
            # again. Taken from the day before's log (`Today.take_changes`); a change kept is never taken twice.
            _, before = await self.log.read_day(self.id, earlier[-1])
            self.today.take_changes(before)
        # The day opened with the rooms (and providers) its first set-up change of them replaced, if it has one
        # (set from the browser today, before this load): folded from the ones set since, its earlier taps were
        # folded on another floor than the one the servers that opened the day hold.
        changes = [e.change for e in events if isinstance(e.change, SetUpChanged)]
        rooms = next((c.previous_rooms for c in changes if c.previous_rooms is not None), None)
        providers = next((c.previous_providers for c in changes if c.previous_providers is not None), None)
        visit_types = next((c.previous_visit_types for c in changes if c.previous_visit_types is not None), None)
        thresholds = next((c.previous_thresholds for c in changes if c.previous_thresholds is not None), None)
        self.today.open(
            day,
            base,
            rooms=None if rooms is None else [RoomSetUp(r.id, r.label, r.zone) for r in rooms],
            providers=None if providers is None else [Provider(p.id, p.name, p.initials) for p in providers],
            visit_types=visit_types,
            thresholds=thresholds,
        )
        self.feed.restart()
        tail = len(events) - RESUMABLE_AFTER_START
        for i, event in enumerate(events):
            touched = self.today.fold(event)
            if i >= tail:
                self.feed.keep(event, touched)
        log.info("clinic_loaded", clinic=self.id, day=str(day), seq=self.today.floor.seq, events=len(events))

    # -- taps -----------------------------------------------------------------------------------

    async def handle(
        self,
        command: Command,
        actor: str,
        device: str,
        idempotency: Idempotency | None = None,
        role: Role | None = None,
        provider: str | None = None,
    ) -> Answer:
        """`role` is the signed-in tapper's (the floor checks it may take the step); None for Floor itself.
        `provider`: a provider's sign-in, the clinic provider id their account is."""
        # Shielded: a tap whose client hangs up mid-write must still be folded in once it is stored.
        inner = asyncio.ensure_future(
            self._handle(command, Tap(actor, device, self.today.clock.now(), role, provider), idempotency)
        )
        try:
            with self.metrics.tap(command):
                answer = await asyncio.shield(inner)
        finally:
            # The update goes to the screens once the tapper's answer is on its way: the caller writes it in
            # the step that resumes here, before the loop runs the fan-out's first step (FeedCache.send_soon).
            # A caller gone away does not wait for it.
            if inner.done():
                self.feed.send_soon()
            else:
                inner.add_done_callback(lambda _: self.feed.send_soon())
        self.metrics.answered(command, answer.replayed)
        return answer

    async def _handle(self, command: Command, who: Tap, idem: Idempotency | None) -> Answer:
        async with self.lock:
            if idem is not None and (first := await self.log.receipt(self.id, idem.key)) is not None:
                return _replay(first, idem)
            if idem is not None and idem.stored_only:
                raise Refusal(
                    Why.not_found,
                    "No tap was stored under this Idempotency-Key (it was asked only to be answered if stored): "
                    "nothing was stored now.",
                    field="Idempotency-Key",
                )
            for _ in attempts("the log kept moving under this tap"):
                now = self.today.clock.now()
                self.roll_day(now)
                floor = self.today.floor
                try:
                    event = floor.decide(command, Tap(who.actor, who.device, now, who.role, who.provider))
                except Refusal:
                    # With a shared log this floor may be behind another server's taps (the follower is a moment
                    # late): the step may be right on the log's floor (a room another server freed, a visit it
                    # booked). Or ahead of the log: a tap it folded, answered 503 as not yet confirmed by a
                    # replica, that a failover then lost; its retry was refused against this floor and the tap
                    # was lost (a hostile review). Refuse only what the floor refuses once it is the log's.
                    if not self.log.shared:
                        raise
                    last = await self.log.last_seq(self.id)
                    if last > floor.seq:
                        await self.catch_up()
                        continue
                    if last < floor.seq or not await self.log.holds(self.id, floor.seq, self.today.held):
                        await self.reload()
                        continue
                    raise
                touched = floor.preview(event)
                receipt = None
                if idem is not None:
                    body = msgspec.Raw(encode(Tapped(event, touched)))
                    receipt = Receipt(idem.key, idem.fingerprint, CREATED, body)
                try:
                    stored = await self._append([Record(event, receipt)], answer_first=True)
                except KeyTaken as taken:
                    return _replay(taken.receipt, idem)  # type: ignore[arg-type]
                if not stored:
                    if self.today.stored_already(event):
                        # Our own append, stored but answered late (a client retry after a lost reply): answered
                        # once it is as safe as any acknowledged tap (a shared log's replicas have it).
                        await self.log.confirm(self.id)
                        return Answer(event, touched)
                    continue
                self.fold(event, answer_first=True)
                log.info(
                    "tap_stored",
                    clinic=self.id,
                    seq=event.seq,
                    type=event.type,
                    visit=event.visit,
                    actor=who.actor,
                    device=who.device,
                )
                # A change of the set-up (the thresholds, a visit type's minutes) has the cascades looked at by it at
                # once, not once CASCADE_REVIEW_EVERY has passed since the last tap's review.
                self.schedule_review(cascades=isinstance(event.change, SetUpChanged))
                return Answer(event, touched)
        raise AssertionError("unreachable: attempts() gives up")

    async def handle_all(
        self,
        decide: Callable[[Floor, Tap], list[Event]],
        actor: str,
        device: str,
        role: Role | None = None,
        before_store: Callable[[], Awaitable[None]] | None = None,
    ) -> list[Event]:
        """Several events taken together (a schedule import), stored whole or not at all. `decide` plans them
        against the floor as it is, on a copy (raising for anything it cannot take); they are stored in one
        append under the clinic's lock, so no tap is decided in between and a failing log or a crash stores
        none of them. If another server appends first, they are planned again against the floor as it then is.
        `before_store`, if given, is awaited once they are planned, before each try to store them, and once if
        there are none (the lock held, the floor as they were planned on): raising, it stores nothing. Returns
        the events stored."""
        # Shielded, as a tap: a request that goes away once the append has begun still has it folded in.
        return await asyncio.shield(self._handle_all(decide, actor, device, role, before_store))

    async def _handle_all(
        self,
        decide: Callable[[Floor, Tap], list[Event]],
        actor: str,
        device: str,
        role: Role | None,
        before_store: Callable[[], Awaitable[None]] | None,
    ) -> list[Event]:
        async with self.lock:
            for _ in attempts("the log kept moving under these taps"):
                now = self.today.clock.now()
                self.roll_day(now)
                # Planning thousands of rows takes a tenth of a second or more: in a thread, so the loop goes on
                # serving every clinic. The floor only changes under this clinic's lock, which is held.
                events = await asyncio.to_thread(decide, self.today.floor, Tap(actor, device, now, role))
                if before_store is not None:
                    # Even with nothing to store: a fresh file for today that changes nothing on the floor still
                    # supersedes the one kept for today (a review: kept, it was booked over the fresh one).
                    await before_store()
                if not events:
                    return []
                if not await self._append([Record(e) for e in events]):
                    continue
                for n, event in enumerate(events, 1):
                    self.fold(event)
                    if n % FOLD_BATCH == 0:
                        await asyncio.sleep(0)  # let other clinics' taps and screens in between
                log.info(
                    "taps_stored",
                    clinic=self.id,
                    first=events[0].seq,
                    last=events[-1].seq,
                    events=len(events),
                    actor=actor,
                    device=device,
                )
                self.schedule_review()
                return events
        raise AssertionError("unreachable: attempts() gives up")

    async def consider(self, decide: Callable[[Floor, Tap], T], actor: str, device: str, role: Role | None = None) -> T:
        """What `decide` makes of the floor as it is, storing nothing (a schedule checked before it is imported):
        decided as handle_all plans, in a thread under the clinic's lock, so no tap and no other server's event
        (folded under the same lock) changes the floor under the thread, and the loop goes on serving every clinic.
        The clinic's taps wait for it, as they wait for an import's planning. `decide` must not change the floor."""
        # Shielded: a request that goes away leaves the lock held until the thread is done with the floor.
        return await asyncio.shield(self._consider(decide, actor, device, role))

    async def _consider(self, decide: Callable[[Floor, Tap], T], actor: str, device: str, role: Role | None) -> T:
        async with self.lock:
            now = self.today.clock.now()
            self.roll_day(now)  # as an import does: a file for a day the clock has reached is for the floor's day
            return await asyncio.to_thread(decide, self.today.floor, Tap(actor, device, now, role))

    async def _append(self, records: list[Record], *, answer_first: bool = False) -> bool:
        """Store `records` after the last event this floor holds (the clinic's lock held): True once stored, for
        the caller to fold; False when the floor first had to be brought in line with the log (another server
        appended, or a failover lost what this server held: `Diverged`), and the caller decides again. Stored on
        the primary but not confirmed by a replica in time (NotReplicated, raised): the log holds them, so they
        are folded (else the next tap loses a race to them), and a retry with the same key gets its answer once
        they are confirmed. KeyTaken goes to the caller."""
        try:
            with self.metrics.timing(self.metrics.append_seconds):
                await self.log.append_all(self.id, records, self.today.held)
        except Diverged as diverged:
            await self.reload(diverged)
            return False
        except SeqTaken as taken:
            await self.catch_up(taken.missed)
            return False
        except NotReplicated as unconfirmed:
            if unconfirmed.appended:
                for record in records:
                    self.fold(record.event, answer_first)
                self.schedule_review()
            raise
        return True

    async def settle(self) -> None:
        """The server is stopping: let the taps and the alert review in flight finish storing and folding, and
        start no other review (a tap folded meanwhile would schedule one for after the log closed)."""
        self._settling = True
        if self._review is not None and not self._review.done():
            await asyncio.wait([self._review])
        async with self.lock:
            pass

    # -- folding --------------------------------------------------------------------------------

    def fold(self, event: Event, answer_first: bool = False) -> None:
        """Fold a stored event in and send its update (a tap's, `answer_first`, once its answer is: FeedCache)."""
        self.feed.folded(event, self.today.fold(event), answer_first)

    def fold_stored(self, event: Event) -> None:
        """Fold in an event another server stored, where the log's order puts it: in the day whose stretch of the
        log holds it, as a server loading that day reads it (`EventLog.read_day`: from the day's first event to
        the next day's first).

        - Of a later day: its day is opened first.
        - Of an earlier day, while this floor's day has no event of its own: this server opened the day by its
          clock (its tick ran first, or its clock is a little ahead) while another server, its clock a little
          behind or its tap or alert review decided just before the hour struck, stored one more event of the day
          before. The log holds no event of the new day yet, so that event is the day before's: this day's floor
          stays empty and begins after it (`Today.pass_over`), as a server started now has it. Folded into the new
          day it was a step on a visit that day never booked (LogCorrupt: the clinic dead on this server until a
          restart) or a room mark of yesterday kept today on this server only (a hostile review).
        - Of an earlier day, after the new day's first event: the log's order makes it the new day's (a server
          loading the day reads it there), so it is folded into the new day here too, and every server agrees,
          even if that cannot be folded (LogCorrupt everywhere: a person must look). Floor never stores one: a
          server that folded an event of a day decides on that day or a later one.
        """
        day = self.today.floor.day
        if event.day > day:
            self._new_day(event.day)
            self.feed.resync_all()
        elif event.day < day and not self.today.events:
            self._pass_over(event)
            return
        self.fold(event)

    def _pass_over(self, event: Event) -> None:
        self.feed.fan_out()
        self.today.pass_over(event)
        log.info(
            "event_of_the_day_before",
            clinic=self.id,
            day=str(self.today.floor.day),
            seq=event.seq,
            of=str(event.day),
            type=event.type,
        )
        self.feed.restart()
        self.feed.resync_all()  # the screens' board was of the day before it; the next update follows it
        if self.today.learned_for == self.today.floor.day:
            self.today.learned_for = None  # learnt from the day before without it: learnt again (floor.floors)

    async def catch_up(self, missed: list[Event] | None = None) -> None:
        """Fold in what other servers appended since our last event (the clinic's lock held): `missed`, the
        events a refused append came back with (SeqTaken.missed), when they run on from our floor; else what
        the log holds."""
        seq = self.today.floor.seq
        if missed and missed[0].seq == seq + 1:
            for event in missed:
                self.fold_stored(event)
            return
        try:
            events = await self.log.read(self.id, seq, self.today.held)
        except Diverged as diverged:
            await self.reload(diverged)
            return
        if events is None or (not events and await self.log.last_seq(self.id) < seq):
            # The log no longer holds what we missed, or it lost events we folded (a Redis without
            # persistence restarted): start over from the log, and every screen gets a snapshot.
            await self.reload()
            return
        for event in events:
            self.fold_stored(event)

    async def reload(self, diverged: Diverged | None = None) -> None:
        """Start over from the log (the clinic's lock held), and every screen gets a snapshot: the log lost
        events this server folded, or (`diverged`) holds another event where this server holds one, a failover
        having lost it and another server having stored its own at that seq since. Folding on would have shown
        and tapped visits the log does not hold."""
        seq = self.today.floor.seq
        if diverged is None:
            log.warning("clinic_reloaded", clinic=self.id, seq=seq)
        else:
            log.warning("clinic_diverged_reloaded", clinic=self.id, seq=seq, differs_at=diverged.seq)
        await self.load()
        self.feed.resync_all()
        if (holds := self.today.floor.seq) < seq:
            # A warning as after any reload was all a Redis restarted without its data left in the log: the day's
            # patients gone from every screen, and nothing naming the loss (a review of a clinic's week). What is
            # kept beside the log went too: floor.floors keeps it again (Today.losses).
            self.today.losses += 1
            log.error(
                "log_lost_events",
                clinic=self.id,
                folded=seq,
                log_holds=holds,
                lost=seq - holds,
                meaning=f"the shared log no longer holds the events after seq {holds} that this server folded: a Redis "
                "restarted without its data (persistence off: set appendonly yes, appendfsync always), or a failover "
                "to a replica behind its master. The floor is now as the log holds it; if Redis lost its data, stop "
                "the servers and restore it from its backup (docs/deploy.md, Backups)",
                # What went with the log, that this server cannot put back: said, not found out the next morning
                # (a schedule sent ahead for tomorrow was gone, its patients not booked; a review).
                also_lost="what Redis kept beside the log went with it: the schedules kept for days ahead (import them "
                f"again; GET /api/clinics/{self.id}/schedule/upcoming lists what is left) and, on the same Redis, the "
                "staff directory (accounts, sign-ins, paired displays); the day's clinic file and learning are kept "
                "again by this server",
            )

    # -- alerts ---------------------------------------------------------------------------------

    def schedule_review(self, *, cascades: bool = False) -> None:
        """Review the alerts soon, once for a burst of taps (a tap's answer never waits for it): the dwell alerts
        always, the cascades if `cascades` (the tick) or they are due (`cascades_due`, floor/core/alerts.py)."""
        self._cascades_wanted |= cascades
        if not self._settling and (self._review is None or self._review.done()):
            self._review = asyncio.create_task(
                self.review_alerts(REVIEW_DELAY, cascades=None), name=f"floor-review-{self.id}"
            )

    async def review_alerts(self, delay: float = 0.0, *, cascades: bool | None = True) -> None:
        """Store the alert changes the floor calls for now, as events from Floor itself. `cascades`: whether
        the cascades are reviewed too (None: if a tick asked, or they are due)."""
        await asyncio.sleep(delay)
        try:
            async with self.lock:
                now = self.today.clock.now()
                self.roll_day(now)
                if self.today.learned_for is None or (
                    self.log.shared and self.today.learned_for != self.today.floor.day
                ):
                    # Not learned yet today (a server just restarted learns beside its start): it would clear the
                    # alerts a learned server on the same log raises, and that one raise them again (a hostile
                    # review). The learned servers review meanwhile; this one once its learning is done. Alone on
                    # its log, a server that has learned nothing since it started would do the same to the alerts
                    # it raised before the restart (a review of the alerts); after midnight it reviews with the day
                    # before's learning until the new day's is done.
                    return
                if cascades is None:
                    cascades = self._cascades_wanted or cascades_due(self._cascades_at, now)
                for change in review(self.today.floor, now, cascades=cascades):
                    if not await self._store_alert(change, now):
                        return  # another server stored first; the next review sees it
                if cascades:
                    self._cascades_at, self._cascades_wanted = now, False
                elif self._cascades_wanted:
                    # A tick asked for the cascades while this review of the waits was under way (it started no
                    # review of its own, this one running): one more, once this one is done.
                    asyncio.get_running_loop().call_soon(self.schedule_review)
        except LogUnavailable as e:
            log.warning("alert_review_postponed", clinic=self.id, error=str(e))

    async def raise_alert(self, raised: AlertRaised) -> None:
        """Store an alert Floor raises outside the review (a schedule it could not book), once: a second
        server raising the same episode finds it already there (`raised.episode`; its id if it has none)."""
        async with self.lock:
            for _ in attempts("the log kept moving under this alert"):
                floor = self.today.floor
                if (raised.episode or raised.alert) in floor.episodes() or raised.alert in floor.alerts:
                    return
                if await self._store_alert(raised, self.today.clock.now()):
                    return

    async def _store_alert(self, change: AlertChange, now: dt.datetime) -> bool:
        """Store and fold one alert change Floor decided (the clinic's lock held); False when another server
        appended first (the floor has then caught up)."""
        event = self.today.floor.record(change, Tap(SYSTEM_ACTOR, SYSTEM_ACTOR, now))
        if not await self._append([Record(event)]):
            return False
        self.fold(event)
        if isinstance(change, AlertRaised):
            self.metrics.alerts_raised.labels(change.kind).inc()
        log.info("alert_stored", clinic=self.id, seq=event.seq, type=event.type, alert=change.alert)
        return True

    # -- days -----------------------------------------------------------------------------------

    def roll_day(self, now: dt.datetime) -> None:
        """Open the next clinic day if `now` is in it; every screen then starts over from a snapshot."""
        day = self.today.clinic.day_of(now)
        if day > self.today.floor.day:
            self._new_day(day)
            self.feed.resync_all()

    def _new_day(self, day: dt.date) -> None:
        self.feed.fan_out()  # the last day's updates go out before its screens are resynced
        log.info("clinic_day_opened", clinic=self.id, day=str(day), seq=self.today.floor.seq)
        # The last day's last event, as this server folded it: the new day's first append is checked against it
        # (a failover that lost it, with another server's first event of the day stored since, went unnoticed).
        self.today.open(day, self.today.floor.seq, self.today.held)
        self.feed.restart()

    async def learn(self, clinic_on: Callable[[dt.date], Awaitable[Clinic]] | None = None) -> Learned:
        """Learn what the clinic's visits take from its past days (floor/core/learning.py): the last LEARN_DAYS
        the log holds before today, each read, folded and let go in turn (a month of a large clinic is never
        in memory at once). Past days are only read. Called once a day opens (`Floors` does, beside the
        start, not in it: a clinic with months of logs starts as fast as one without); until it is done the
        floor expects the last day's learning, or the configured minutes. `clinic_on`: the clinic file a past
        day ran on (floor.runtime.reads); without it, today's for every day."""
        day = self.today.floor.day
        past = [d for d in await self.log.days(self.id) if d < day][-LEARN_DAYS:]
        tally = Tally(self.today.clinic)
        for d in past:
            try:
                _, events = await self.log.read_day(self.id, d)
                if events:
                    # Each day as it ran: a day run on another convention or other visit types was learned by
                    # today's file (patients booked under "arrival" read as late by a "provider" file's plan).
                    ran_on = await clinic_on(d) if clinic_on is not None else self.today.clinic
                    # Folding a busy day takes a while: in a thread, so the loop goes on serving every clinic.
                    folded = await asyncio.to_thread(fold_day, ran_on, d, events)
                    tally.add(folded)
            except LogUnavailable:
                raise
            except Exception as e:
                # One damaged day (`floor check` names it) is left out, not every day with it: learning stopped
                # at the first and the clinic expected the configured minutes (an ops review).
                log.warning("learning_left_out_a_day", clinic=self.id, day=str(d), reason=str(e)[:300])
        learned = tally.learned()
        self.today.learned, self.today.learned_for = learned, day
        if self.today.floor.day == day:
            self.today.floor.learned = learned
            self.feed.invalidate()  # the delays in a snapshot change with it
        log.info(
            "clinic_learned",
            clinic=self.id,
            day=str(day),
            days=len(learned.days),
            stages=len(learned.stages),
            visits=sum(t.visits for t in learned.stages.values()),
        )
        return learned


def _replay(first: Receipt, idem: Idempotency) -> Answer:
    if first.fingerprint not in (idem.fingerprint, idem.formerly):
        raise Refusal(
            Why.invalid,
            "This Idempotency-Key was already used for a different request; send a new key for a new tap.",
            field="Idempotency-Key",
        )
    tapped = kept(first)
    return Answer(tapped.event, tapped.touched, replayed=True)
