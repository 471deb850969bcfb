"""The pump around one clinic's pure floor: decide, store durably, fold in, answer, fan out.

Taps for a clinic are handled one at a time (a lock), so two racing taps on one visit are decided in
order and the loser is refused. With a shared log (Redis) another server may append first: the append
is refused with SeqTaken, the runtime catches up from the log and decides again.

A tap is answered before its update is written to the clinic's screens: the fold queues the update (in seq
order, per clinic) and the fan-out runs once the tapper's answer is on its way (`handle`). Anything else that
sends to the screens (the next tap's fan-out, a heartbeat, the delays on a tick, a day opening) sends what is
queued first, so screens still get every update in order. A screen that joins in between is caught up to the
folded floor (`join`) and skips the queued updates its catch-up already holds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import NamedTuple

import msgspec
import structlog

from floor.clock import Clock
from floor.config import Clinic
from floor.core.access import Role
from floor.core.alerts import review
from floor.core.commands import AcknowledgeAlert, Command, MarkPresence, MarkRoom, Tap, UndoPresence, UndoRoomMark
from floor.core.errors import Refusal, Why
from floor.core.events import AlertChange, AlertRaised, Event
from floor.core.floor import Floor, Touched
from floor.core.ids import Ids
from floor.core.learned import EMPTY, Learned
from floor.core.learning import LEARN_DAYS, LEARNED, PRIOR_VISITS, Tally
from floor.core.measures import ClinicMeasures, measure
from floor.core.projection import by_provider, lateness_over_day, project, rooming, visit_plan
from floor.days import closed_at, day_measures, fold_day
from floor.fanout import RESYNC, Hub, Item, Subscriber
from floor.hallway import Hallway, HallwayDelays, HallwaySnapshot
from floor.ids import secure
from floor.log.base import EventLog, KeyTaken, LogUnavailable, Receipt, Record, SeqTaken
from floor.metrics import Metrics
from floor.wire import (
    AlertAnswer,
    Audience,
    Board,
    ClinicSummary,
    DelaysMessage,
    EventMessage,
    HeartbeatMessage,
    LatenessOverDay,
    LatenessPoint,
    LearnedAnswer,
    LearnedProvider,
    LearnedStage,
    LearnedVisitType,
    MeasuresMessage,
    PresenceAnswer,
    ProviderDelay,
    RoomAnswer,
    SnapshotMessage,
    VisitAnswer,
    VisitHistory,
    display_audience,
    display_zone,
    encode,
    is_display,
)

log = structlog.get_logger("floor.runtime")

CREATED = 201
#: The actor and device of the events Floor records itself (alerts).
SYSTEM = "floor"
#: Seconds between a tap and the alert review it triggers: taps arriving meanwhile share one review.
REVIEW_DELAY = 0.2
RESUMABLE_AFTER_START = 2_000
#: Events of an import folded and fanned out between two turns of the event loop.
FOLD_BATCH = 100


class Answer(NamedTuple):
    status: int
    body: bytes
    replayed: bool = False


class Idempotency(NamedTuple):
    key: str
    fingerprint: str


class ClinicRuntime:
    def __init__(self, clinic: Clinic, event_log: EventLog, clock: Clock, hub: Hub,
                 retain: int = 50_000, metrics: Metrics | None = None, ids: Ids | None = None) -> None:
        self.clinic = clinic
        self.metrics = metrics or Metrics()
        self.log = event_log
        self.clock = clock
        self.hub = hub
        #: Where new visits' and alerts' ids come from: random, so an id a lost event had is not given again.
        self.ids = ids if ids is not None else secure()
        self.floor = Floor(clinic, clinic.day_of(clock.now()), ids=self.ids)
        self.hallway = Hallway(clinic)
        #: Today's events, in order (the visit histories and the fold's input).
        self.events: list[Event] = []
        #: Recent updates as sent on the live feed, per audience, for sockets resuming with `since`.
        #: Per audience: staff, manager, display (the whole clinic's wall) and `display:<zone>` for each zone.
        self._sent: deque[tuple[int, dict[str, str]]] = deque(maxlen=retain)
        #: Updates folded in but not yet sent to the screens, in seq order, with when they were folded.
        self._unsent: deque[tuple[int, dict[str, str], float]] = deque()
        self._snapshots: dict[str, tuple[int, str]] = {}
        #: True while a shared log cannot be reached: what screens see may be behind.
        self.stale = False
        #: The seq just before today's first event: a screen at or below it saw another day's board.
        self._base = 0
        self._lock = asyncio.Lock()
        self._review: asyncio.Task[None] | None = None
        #: Set when the server stops: no new alert review is started (it would append after the log closed).
        self._settling = False
        #: What the clinic's past days say its visits take (`learn`), and the clinic day it was learned for.
        #: A new day's floor starts with the last one learned until its own is.
        self.learned: Learned = EMPTY
        self.learned_for: dt.date | None = None

    @property
    def id(self) -> str:
        return self.clinic.id

    async def start(self) -> None:
        self.fan_out()
        day = self.clinic.day_of(self.clock.now())
        base, events = await self.log.read_day(self.id, day)
        self.floor = Floor(self.clinic, day, base, self.ids)
        self.floor.learned = self.learned
        self._base = base
        self._sent.clear()
        self._snapshots.clear()
        # Re-render the last events as they were first sent, so screens resuming after a restart get the
        # events they missed rather than a snapshot (a screen further behind than that gets a snapshot).
        tail = len(events) - RESUMABLE_AFTER_START
        for i, event in enumerate(events):
            touched = self.floor.apply(event)
            if i >= tail:
                self._sent.append((event.seq, self._render(event, touched)))
        self.events = list(events)
        log.info("clinic_loaded", clinic=self.id, day=str(day), seq=self.floor.seq, events=len(events))

    # -- writes ---------------------------------------------------------------------------------

    async def handle(self, command: Command, actor: str, device: str,
                     idempotency: Idempotency | None = None, role: Role | None = None,
                     provider: str | None = None) -> Answer:
        """`role` is the signed-in tapper's (the floor checks it may take the step); None for Floor itself.
        `provider`: a provider's sign-in, the clinic provider id their account is."""
        # Shielded: a tap whose client hangs up mid-write must still be folded in once it is stored.
        inner = asyncio.ensure_future(self._handle(command, Tap(actor, device, self.clock.now(), role, provider),
                                                   idempotency))
        try:
            with self.metrics.tap(command):
                answer = await asyncio.shield(inner)
        finally:
            # The update goes to the screens once the tapper's answer is on its way: the caller writes it in
            # the step that resumes here, before the loop runs this. A caller gone away does not wait for it.
            if inner.done():
                asyncio.get_running_loop().call_soon(self.fan_out)
            else:
                inner.add_done_callback(lambda _: self.fan_out())
        self.metrics.answered(command, answer.replayed)
        return answer

    async def _handle(self, command: Command, who: Tap, idem: Idempotency | None) -> Answer:
        async with self._lock:
            if idem is not None and (first := await self.log.receipt(self.id, idem.key)) is not None:
                return self._replay(first, idem)
            for _ in range(10):
                now = self.clock.now()
                self._roll_day(now)
                event = self.floor.decide(command, Tap(who.actor, who.device, now, who.role, who.provider))
                body = self._answer(event, self.floor.preview(event), command)
                receipt = Receipt(idem.key, idem.fingerprint, CREATED, msgspec.Raw(body)) if idem else None
                try:
                    with self.metrics.timing(self.metrics.append_seconds):
                        await self.log.append(self.id, Record(event, receipt))
                except SeqTaken:
                    await self._catch_up()
                    if self._stored_already(event):
                        # Our own append, stored but answered late (a client retry after a lost reply).
                        return Answer(CREATED, body)
                    continue
                except KeyTaken as taken:
                    return self._replay(taken.receipt, idem)  # type: ignore[arg-type]
                self._fold(event, answer_first=True)
                log.info("tap_stored", clinic=self.id, seq=event.seq, type=event.type, visit=event.visit,
                         actor=who.actor, device=who.device)
                self.schedule_review()
                return Answer(CREATED, body)
            raise RuntimeError("the log kept moving under this tap; gave up after 10 tries")

    async def settle(self) -> None:
        """The server is stopping: let the taps and the alert review in flight finish storing and folding, and
        start no other review (a tap folded meanwhile would schedule one for after the log closed)."""
        self._settling = True
        if self._review is not None and not self._review.done():
            await asyncio.wait([self._review])
        async with self._lock:
            pass

    async def handle_all(self, decide: Callable[[Floor, Tap], list[Event]], actor: str, device: str,
                         role: Role | None = None) -> list[Event]:
        """Several events taken together (a schedule import), stored whole or not at all. `decide` plans them
        against the floor as it is, on a copy (raising for anything it cannot take); they are stored in one
        append under the clinic's lock, so no tap is decided in between and a failing log or a crash stores
        none of them. If another server appends first, they are planned again against the floor as it then is.
        Returns the events stored."""
        # Shielded, as a tap: a request that goes away once the append has begun still has it folded in.
        return await asyncio.shield(self._handle_all(decide, actor, device, role))

    async def _handle_all(self, decide: Callable[[Floor, Tap], list[Event]], actor: str, device: str,
                          role: Role | None) -> list[Event]:
        async with self._lock:
            for _ in range(10):
                now = self.clock.now()
                self._roll_day(now)
                # Planning thousands of rows takes a tenth of a second or more: in a thread, so the loop goes on
                # serving every clinic. The floor only changes under this clinic's lock, which is held.
                events = await asyncio.to_thread(decide, self.floor, Tap(actor, device, now, role))
                if not events:
                    return []
                try:
                    with self.metrics.timing(self.metrics.append_seconds):
                        await self.log.append_all(self.id, [Record(e) for e in events])
                except SeqTaken:
                    await self._catch_up()
                    continue
                for n, event in enumerate(events, 1):
                    self._fold(event)
                    if n % FOLD_BATCH == 0:
                        await asyncio.sleep(0)  # let other clinics' taps and screens in between
                log.info("taps_stored", clinic=self.id, first=events[0].seq, last=events[-1].seq,
                         events=len(events), actor=actor, device=device)
                self.schedule_review()
                return events
            raise RuntimeError("the log kept moving under these taps; gave up after 10 tries")

    def _stored_already(self, event: Event) -> bool:
        index = event.seq - self._base - 1
        return 0 <= index < len(self.events) and self.events[index] == event

    def _replay(self, first: Receipt, idem: Idempotency) -> Answer:
        if first.fingerprint != idem.fingerprint:
            raise Refusal(Why.invalid, "This Idempotency-Key was already used for a different request; "
                          "send a new key for a new tap.", field="Idempotency-Key")
        return Answer(first.status, bytes(first.body), replayed=True)

    def _answer(self, event: Event, touched: Touched, command: Command) -> bytes:
        if isinstance(command, MarkRoom | UndoRoomMark):
            return encode(RoomAnswer(event.seq, event, touched.rooms[0]))
        if isinstance(command, AcknowledgeAlert):
            return encode(AlertAnswer(event.seq, event, touched.alert))
        if isinstance(command, MarkPresence | UndoPresence):
            assert touched.presence is not None
            return encode(PresenceAnswer(event.seq, event, touched.presence))
        assert touched.visit is not None
        return encode(VisitAnswer(event.seq, event, touched.visit, visit_plan(touched.visit, self.clinic)))

    async def _catch_up(self) -> None:
        """Fold in what other servers appended since our last event."""
        events = await self.log.read(self.id, self.floor.seq)
        if events is None or (not events and await self.log.last_seq(self.id) < self.floor.seq):
            # The log no longer holds what we missed, or it lost events we folded (a Redis without
            # persistence restarted): start over from the log, and every screen gets a snapshot.
            log.warning("clinic_reloaded", clinic=self.id, seq=self.floor.seq)
            await self.start()
            self.hub.resync_all(self.id)
            return
        for event in events:
            self._fold_stored(event)

    def _fold_stored(self, event: Event) -> None:
        if event.day > self.floor.day:
            self._new_day(event.day)
            self.hub.resync_all(self.id)
        self._fold(event)

    # -- alerts ---------------------------------------------------------------------------------

    def schedule_review(self) -> None:
        """Review the alerts soon, once for a burst of taps (a tap's answer never waits for it)."""
        if not self._settling and (self._review is None or self._review.done()):
            self._review = asyncio.create_task(self.review_alerts(REVIEW_DELAY), name=f"floor-review-{self.id}")

    async def review_alerts(self, delay: float = 0.0) -> None:
        """Store the alert changes the floor calls for now, as events from Floor itself."""
        await asyncio.sleep(delay)
        try:
            async with self._lock:
                now = self.clock.now()
                self._roll_day(now)
                for change in review(self.floor, now):
                    if not await self._store_alert(change, now):
                        return  # another server stored first; the next review sees it
        except LogUnavailable as e:
            log.warning("alert_review_postponed", clinic=self.id, error=str(e))

    async def raise_alert(self, raised: AlertRaised) -> None:
        """Store an alert Floor raises outside the review (a schedule it could not book), once: a second
        server raising the same episode finds it already there (`raised.episode`; its id if it has none)."""
        async with self._lock:
            for _ in range(10):
                if (raised.episode or raised.alert) in self.floor.episodes() or raised.alert in self.floor.alerts:
                    return
                if await self._store_alert(raised, self.clock.now()):
                    return
            raise RuntimeError("the log kept moving under this alert; gave up after 10 tries")

    async def _store_alert(self, change: AlertChange, now: dt.datetime) -> bool:
        """Store and fold one alert change Floor decided (the clinic's lock held); False when another server
        appended first (the floor has then caught up)."""
        event = self.floor.record(change, Tap(SYSTEM, SYSTEM, now))
        try:
            with self.metrics.timing(self.metrics.append_seconds):
                await self.log.append(self.id, Record(event))
        except SeqTaken:
            await self._catch_up()
            return False
        self._fold(event)
        if isinstance(change, AlertRaised):
            self.metrics.alerts_raised.labels(change.kind).inc()
        log.info("alert_stored", clinic=self.id, seq=event.seq, type=event.type, alert=change.alert)
        return True

    # -- following a shared log -----------------------------------------------------------------

    async def follow(self, wait: float = 5.0) -> None:
        """With a shared log, fold in what other servers append. While the log cannot be reached, screens
        are told the feed is stale; reconnecting brings them back in step with no action of theirs."""
        backoff = 0.2
        while True:
            try:
                events = await self.log.tail(self.id, self.floor.seq, wait)
                async with self._lock:
                    if self.stale or any(e.seq > self.floor.seq + 1 for e in events[:1]):
                        await self._catch_up()
                    for event in events:
                        if event.seq == self.floor.seq + 1:
                            self._fold_stored(event)
                    self._set_stale(False)
                backoff = 0.2
            except LogUnavailable as e:
                if not self.stale:
                    log.warning("log_unreachable", clinic=self.id, error=str(e))
                self._set_stale(True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception:
                # Something this server cannot fold (an event from a newer Floor during a rolling upgrade):
                # say so, and stay stale, so that screens and /readyz show it rather than a frozen floor.
                log.exception("follow_failed", clinic=self.id, seq=self.floor.seq)
                self._set_stale(True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _set_stale(self, stale: bool) -> None:
        if stale != self.stale:
            self.stale = stale
            if not stale:
                log.info("log_reachable_again", clinic=self.id, seq=self.floor.seq)
                self.metrics.log_reconnects.inc()
            self._snapshots.clear()
            self._heartbeat()

    def _fold(self, event: Event, answer_first: bool = False) -> None:
        """Fold a stored event in and send its update; a tap's (`answer_first`) is only queued, and sent once
        its answer is (`handle`), or before anything else is sent to the clinic's screens."""
        folded = time.perf_counter()
        texts = self._render(event, self.floor.apply(event))
        self.events.append(event)
        self._sent.append((event.seq, texts))
        self._unsent.append((event.seq, texts, folded))
        if not answer_first:
            self.fan_out()

    def fan_out(self) -> None:
        """Send the clinic's screens the updates folded in but not sent yet, in seq order."""
        while self._unsent:
            seq, texts, folded = self._unsent.popleft()
            self.hub.publish(self.id, seq, texts.__getitem__)
            self.metrics.fanout_seconds.observe(time.perf_counter() - folded)

    def _publish(self, render: Callable[[str], str]) -> None:
        """Send a message that is not an update (a heartbeat, the delays), after any update still unsent."""
        self.fan_out()
        self.hub.publish(self.id, 0, render)

    def _render(self, event: Event, touched: Touched) -> dict[str, str]:
        """The event as each audience's screens receive it: staff and managers share one text, displays get
        the hallway projection's, the whole clinic's or each zone's (floor.hallway)."""
        plan = visit_plan(touched.visit, self.clinic) if touched.visit else None
        text = encode(EventMessage(event.seq, event, touched.visit, touched.rooms, touched.alert,
                                   touched.presence, plan)).decode()
        texts = {Audience.staff: text, Audience.manager: text}
        for zone in (None, *self.hallway.zones):
            update = self.hallway.update(event.seq, event.at, touched, self.floor, zone)
            texts[display_audience(zone)] = encode(update).decode()
        return texts

    # -- days and time --------------------------------------------------------------------------

    def _roll_day(self, now) -> None:
        day = self.clinic.day_of(now)
        if day > self.floor.day:
            self._new_day(day)
            self.hub.resync_all(self.id)

    def _new_day(self, day) -> None:
        self.fan_out()  # the last day's updates go out before its screens are resynced
        log.info("clinic_day_opened", clinic=self.id, day=str(day), seq=self.floor.seq)
        self.floor = Floor(self.clinic, day, self.floor.seq, self.ids)
        self.floor.learned = self.learned
        self._base = self.floor.seq
        self.events = []
        self._sent.clear()
        self._snapshots.clear()

    async def learn(self) -> Learned:
        """Learn what the clinic's visits take from its past days (floor/core/learning.py): the last LEARN_DAYS
        the log holds before today, each read, folded and let go in turn (a month of a large clinic is never
        in memory at once). Past days are only read. Called once a day opens (`Floors` does, beside the
        start, not in it: a clinic with months of logs starts as fast as one without); until it is done the
        floor expects the last day's learning, or the configured minutes."""
        day = self.floor.day
        past = [d for d in await self.log.days(self.id) if d < day][-LEARN_DAYS:]
        tally = Tally(self.clinic)
        for d in past:
            _, events = await self.log.read_day(self.id, d)
            if events:
                # Folding a busy day takes a while: in a thread, so the loop goes on serving every clinic.
                await asyncio.to_thread(lambda d=d, events=events: tally.add(fold_day(self.clinic, d, events)))
        learned = tally.learned()
        self.learned, self.learned_for = learned, day
        if self.floor.day == day:
            self.floor.learned = learned
            self._snapshots.clear()  # the delays in a snapshot change with it
        log.info("clinic_learned", clinic=self.id, day=str(day), days=len(learned.days),
                 stages=len(learned.stages), visits=sum(t.visits for t in learned.stages.values()))
        return learned

    def tick(self) -> None:
        """Called on a clock tick: opens a new day at midnight (clinic time) and sends heartbeats."""
        # Not under a tap in flight: its event was decided for the old day and is folded in when stored.
        # The next tick, or the next tap, opens the new day.
        if not self._lock.locked():
            self._roll_day(self.clock.now())
        self._snapshots.clear()  # a snapshot's `now` and delays move with time, not only with events
        self._heartbeat()
        self.schedule_review()  # delays grow while nobody taps
        if self.hub.count(self.id):
            seq, delays = self.floor.seq, self.delays()
            texts = {
                Audience.manager: lambda: encode(MeasuresMessage(seq, self.measures(), delays)),
                Audience.staff: lambda: encode(DelaysMessage(seq, delays)),
                # Every wall, zoned or not, gets every provider's delays.
                Audience.display: lambda: encode(HallwayDelays(seq, self._hallway_delays(delays))),
            }
            self._publish(lambda audience: texts[Audience.display if is_display(audience) else audience]().decode())

    def _heartbeat(self) -> None:
        text = self._heartbeat_text()
        self._publish(lambda _audience: text)

    def _heartbeat_text(self) -> str:
        return encode(HeartbeatMessage(self.floor.seq, self.clock.now(), self.stale)).decode()

    # -- reads ----------------------------------------------------------------------------------

    def board(self) -> Board:
        f, c = self.floor, self.clinic
        return Board(c.id, c.name, c.timezone, f.day, f.seq, self.clock.now(), c.session,
                     list(f.rooms.values()), list(f.visits.values()), c.providers, c.visit_types, c.thresholds,
                     alerts=list(f.alerts.values()), delays=self.delays(), stale=self.stale,
                     presence=[f.presence_view(p.id) for p in c.providers],
                     plans=[visit_plan(v, c) for v in f.visits.values()])

    def delays(self) -> list[ProviderDelay]:
        now = self.clock.now()
        visits, rooms_at = by_provider(self.floor), rooming(self.floor, now)
        return [ProviderDelay(p.id, proj.lateness, proj.recovers_at, proj.pace, proj.visits, self._away(p.id))
                for p in self.clinic.providers
                for proj in [project(self.floor, p.id, now, visits=visits[p.id], rooms_at=rooms_at)]]

    def _away(self, provider: str):
        mark = self.floor.away(provider)
        return mark.status if mark is not None else None

    def _hallway_delays(self, delays: list[ProviderDelay]):
        return self.hallway.delays([(d.provider, d.lateness, d.recovers_at, d.away) for d in delays])

    def measures(self) -> ClinicMeasures:
        raised = Counter(a.provider or "" for a in self.floor.alerts.values())
        return measure(self.floor, self.clock.now(), raised)

    def summary(self) -> ClinicSummary:
        return ClinicSummary(self.id, self.clinic.name, self.clinic.timezone, self.floor.day, self.floor.seq,
                             list(self.clinic.display.languages))

    def snapshot(self, audience: str) -> Item:
        """The board as a snapshot message, encoded once per seq however many sockets ask for it."""
        cached = self._snapshots.get(audience)
        if cached is None or cached[0] != self.floor.seq:
            if is_display(audience):
                board = self.hallway.board(self.floor, self.clock.now(), self._hallway_delays(self.delays()),
                                           self.stale, display_zone(audience))
                text = encode(HallwaySnapshot(self.floor.seq, board)).decode()
            else:
                text = encode(SnapshotMessage(self.floor.seq, self.board())).decode()
            cached = self._snapshots[audience] = (self.floor.seq, text)
        return cached

    def join(self, sub: Subscriber, since: int | None) -> None:
        """Queue what a socket that has just subscribed needs first (`catch_up`). It brings the screen to the
        folded floor's seq, so the socket skips the updates up to there that are still to be sent."""
        sub.join(self.catch_up(since, sub.audience), self.floor.seq)

    def catch_up(self, since: int | None, audience: str) -> list[Item]:
        """What a screen that has seen up to `since` needs: the missed updates, or a snapshot.

        Only a seq from today's events can be resumed; one at or before the day's start may belong to
        another day's board, so it gets a snapshot. A screen already in step gets a heartbeat at once: it
        learns it is current now, not at the next tick (after a restart, thousands of screens wait on it)."""
        items = self._resume(since, audience)
        return [*items, (0, self._heartbeat_text())] if self.stale or not items else items

    def _resume(self, since: int | None, audience: str) -> list[Item]:
        seq = self.floor.seq
        if since is None or not self._base < since <= seq:
            return [self.snapshot(audience)]
        if since == seq:
            return []
        if self._sent and self._sent[0][0] <= since + 1:
            missed = itertools.islice(self._sent, since + 1 - self._sent[0][0], None)
            return [(s, texts[audience]) for s, texts in missed]
        return [self.snapshot(audience)]

    async def day_events(self, day: dt.date | None) -> tuple[dt.date, list[Event]]:
        """A clinic day's events: today's from memory, a past day's from the log."""
        if day is None or day == self.floor.day:
            return self.floor.day, list(self.events)
        if day > self.floor.day:
            raise Refusal(Why.invalid, f"{day} has not begun yet in {self.clinic.name} (today is {self.floor.day}).",
                          field="day")
        return day, (await self.log.read_day(self.id, day))[1]

    async def lateness_over_day(self, day: dt.date | None, every_minutes: int) -> LatenessOverDay:
        on, events = await self.day_events(day)
        base = events[0].seq - 1 if events else self.floor.seq
        until = self.clock.now() if on == self.floor.day else self.clinic.local(on, self.clinic.session.closes)
        # Today's is projected as today's floor is, with what was learned; a past day's with the configured minutes.
        learned = self.floor.learned if on == self.floor.day else EMPTY
        points = lateness_over_day(self.clinic, on, base, events, until, dt.timedelta(minutes=every_minutes),
                                   learned)
        return LatenessOverDay(on, every_minutes, [LatenessPoint(at, late) for at, late in points])

    async def board_on(self, day: dt.date | None) -> Board:
        """Today's board, or a past day's as its events left it (its journeys, rooms and alerts; no delays:
        nothing is projected for a day that is over)."""
        on, events = await self.day_events(day)
        if on == self.floor.day:
            return self.board()
        c = self.clinic
        f = fold_day(c, on, events)
        return Board(c.id, c.name, c.timezone, on, f.seq, closed_at(c, on, f), c.session, list(f.rooms.values()),
                     list(f.visits.values()), c.providers, c.visit_types, c.thresholds, alerts=list(f.alerts.values()),
                     plans=[visit_plan(v, c) for v in f.visits.values()])

    async def measures_on(self, day: dt.date | None) -> ClinicMeasures:
        """Today's measures now, or a past day's as it closed (from the log: past days are read, never changed)."""
        on, events = await self.day_events(day)
        if on == self.floor.day:
            return self.measures()
        return day_measures(self.clinic, on, events)

    def learned_answer(self) -> LearnedAnswer:
        """What today's floor expects of each provider's visits, from what and how many past visits."""
        learned, c = self.floor.learned, self.clinic
        providers = []
        for p in c.providers:
            types = []
            for vtype in c.visit_types:
                stages = []
                for stage in LEARNED:
                    times = learned.times(p.id, vtype.code, stage)
                    stages.append(LearnedStage(stage.value, getattr(vtype.stage_minutes, stage.value),
                                               learned.expected(p.id, vtype, stage),
                                               times.median if times else None, times.visits if times else 0))
                types.append(LearnedVisitType(vtype.code, vtype.label, stages))
            h = learned.habits.get(p.id)
            providers.append(LearnedProvider(
                p.id, p.name, h.booked if h else 0, h.no_shows if h else 0, h.no_show_share if h else None,
                h.arrivals if h else 0, h.late_median if h else None, h.to_provider if h else None,
                h.to_provider_visits if h else 0, types))
        days = learned.days
        return LearnedAnswer(self.floor.day, self.learned_for == self.floor.day, len(days),
                             days[0] if days else None, days[-1] if days else None, LEARN_DAYS, PRIOR_VISITS,
                             providers)

    def history(self, visit_id: str) -> VisitHistory:
        visit = self.floor.visits.get(visit_id)
        if visit is None:
            raise Refusal(Why.not_found, f"No visit {visit_id!r} today.")
        return VisitHistory(visit, [e for e in self.events if e.visit == visit_id])


__all__ = ["RESYNC", "Answer", "ClinicRuntime", "Idempotency"]
