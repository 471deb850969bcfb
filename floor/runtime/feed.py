"""The clinic's live feed, as this server keeps it: every update rendered once per audience, the recent ones
kept for screens resuming with `since`, snapshots encoded once per seq, and the queue of updates folded in
but not sent yet.

A tap is answered before its update is written to the clinic's screens: the fold queues the update (in seq
order) and `fan_out` runs once the tapper's answer is on its way (floor.runtime.writer). Anything else that
sends to the screens (the next tap's fan-out, a heartbeat, the delays on a tick, a day opening) sends what is
queued first, so screens still get every update in order. A screen that joins in between is caught up to the
folded floor (`join`) and skips the queued updates its catch-up already holds.

A tap's fan-out is sent FANOUT_STEP sockets per turn of the event loop (`send_soon`): with a thousand screens on
a clinic, writing them all takes milliseconds, and a tap arriving meanwhile is read, decided, stored and
answered in between the steps instead of after the last socket. Each update still reaches every socket before
the next one starts, and anything else sent to the screens first sends the rest at once (`fan_out`).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable

from floor.close_codes import CLOSE_FORBIDDEN
from floor.config import Clinic, setup_mark
from floor.core.events import Event, SetUpChanged
from floor.core.floor import Touched
from floor.core.measures import ClinicMeasures
from floor.core.projection import visit_plan
from floor.fanout import Delivery, Hub, Item, Subscriber
from floor.hallway import Hallway, HallwayDelays, HallwaySnapshot
from floor.log.base import mark, wall_mark
from floor.metrics import Metrics
from floor.runtime.reads import ReadModels
from floor.runtime.today import Today
from floor.wire import (
    Audience,
    DelaysMessage,
    EventMessage,
    HeartbeatMessage,
    MeasuresMessage,
    ProviderDelay,
    SnapshotMessage,
    display_audience,
    display_zone,
    encode,
    is_display,
)

#: Sockets a tap's fan-out writes per turn of the event loop (about a quarter of a millisecond's work), before it
#: lets other work in: a tap arriving mid fan-out waits a step for each of its own turns of the loop (a handful:
#: the request read, the log's write in a thread and its return, the answer), not for the whole clinic's screens.
#: The turns themselves cost nothing measurable (loadtests/fanout_walk.py: the same CPU per socket at 32 as in one).
FANOUT_STEP = 32


class FeedCache:
    def __init__(
        self, today: Today, reads: ReadModels, hub: Hub, metrics: Metrics, retain: int, step: int = FANOUT_STEP
    ) -> None:
        self.today = today
        self.reads = reads
        self.hub = hub
        self.metrics = metrics
        self.id = today.clinic.id
        #: The clinic the hallway and the set-up mark were made for (`_follow`).
        self._clinic: Clinic = today.clinic
        self._hallway = Hallway(today.clinic)
        self._setup = setup_mark(today.clinic)
        #: Recent updates as sent on the live feed, per audience, for sockets resuming with `since`.
        #: Per audience: staff, manager, display (the whole clinic's wall) and `display:<zone>` for each zone.
        self._sent: deque[tuple[int, dict[str, str]]] = deque(maxlen=retain)
        #: Updates folded in but not yet sent to the screens, in seq order, with when they were folded.
        self._unsent: deque[tuple[int, dict[str, str], float]] = deque()
        #: The update being sent a step at a time, with when it was folded.
        self._sending: tuple[Delivery, float] | None = None
        #: Sockets written per loop turn by `send_soon`, and its next step, while one is scheduled.
        self.step = step
        self._next_step: asyncio.Handle | None = None
        self._snapshots: dict[str, tuple[int, str]] = {}

    @property
    def hallway(self) -> Hallway:
        self._follow()
        return self._hallway

    @property
    def setup(self) -> str:
        """The mark of the clinic's set-up (floor.config.setup_mark): a screen drawn with another gets a snapshot."""
        self._follow()
        return self._setup

    def _follow(self) -> bool:
        """Follow the clinic's set-up (a manager set its rooms from the browser, the day opened with other rooms):
        the walls' zones and what they are sent come from it. True if it changed."""
        clinic = self.today.clinic
        if clinic is self._clinic:
            return False
        zones = self._hallway.zones
        self._clinic, self._hallway, self._setup = clinic, Hallway(clinic), setup_mark(clinic)
        for zone in zones:
            if zone not in self._hallway.zones:
                # A wall of a zone the clinic no longer has would be sent nothing it can show: closed, as one
                # connecting after a clinic file lost its zone is refused (floor/web/live.py).
                self.hub.end_audience(
                    self.id, display_audience(zone), CLOSE_FORBIDDEN, "this display's zone is no longer in the clinic"
                )
        return True

    # -- what is kept -----------------------------------------------------------------------------

    def restart(self) -> None:
        """Forget what was kept: a new day, or the floor loaded again."""
        self._sent.clear()
        self._snapshots.clear()

    def keep(self, event: Event, touched: Touched) -> None:
        """Keep the update of an event folded in as the floor is loaded (sent before), for resuming screens;
        rendered now, as the floor is just after it. A screen further behind than a change of the set-up gets a
        snapshot, as when the change was folded live (`folded`)."""
        if isinstance(event.change, SetUpChanged):
            self._sent.clear()
            return
        self._sent.append((event.seq, self.render(event, touched)))

    def invalidate(self) -> None:
        """The snapshots no longer hold (time moved, the feed went stale or back, the learning changed)."""
        self._snapshots.clear()

    def folded(self, event: Event, touched: Touched, answer_first: bool = False) -> None:
        """Keep a folded event's update and send it; a tap's (`answer_first`) is only queued, and sent once its
        answer is, or before anything else is sent to the clinic's screens."""
        if isinstance(event.change, SetUpChanged):
            # Rooms added, renamed, moved or taken out: every screen is drawn again from a snapshot of the new
            # set-up (a wall of a new room's zone shows it, without a reload), after the updates folded before.
            self.fan_out()
            self._follow()
            self.restart()
            self.hub.resync_all(self.id)
            return
        folded = time.perf_counter()
        texts = self.render(event, touched)
        self._sent.append((event.seq, texts))
        self._unsent.append((event.seq, texts, folded))
        if not answer_first:
            self.fan_out()

    def render(self, event: Event, touched: Touched) -> dict[str, str]:
        """The event as each audience's screens receive it: staff and managers share one text, displays get
        the hallway projection's, the whole clinic's or each zone's (floor.hallway)."""
        clinic, floor = self.today.clinic, self.today.floor
        plan = visit_plan(touched.visit, clinic) if touched.visit else None
        text = encode(
            EventMessage(
                event.seq, event, touched.visit, touched.rooms, touched.alert, touched.presence, plan, mark(event)
            )
        ).decode()
        texts = {Audience.staff: text, Audience.manager: text}
        walls = wall_mark(event)
        for zone in (None, *self.hallway.zones):
            update = self.hallway.update(event.seq, event.at, touched, floor, zone, walls)
            texts[display_audience(zone)] = encode(update).decode()
        return texts

    # -- sending ----------------------------------------------------------------------------------

    def fan_out(self) -> None:
        """Send the clinic's screens the updates folded in but not sent yet, in seq order, all of them now."""
        self._send(None)

    def send_soon(self) -> None:
        """Send the updates not sent yet from the next turn of the loop on, `step` sockets per turn."""
        if self._next_step is None and (self._unsent or self._sending):
            self._next_step = asyncio.get_running_loop().call_soon(self._send_step)

    def _send_step(self) -> None:
        self._next_step = None
        if not self._send(self.step):
            self.send_soon()

    def _send(self, budget: int | None) -> bool:
        """Send the unsent updates in order, to at most `budget` sockets (None: all); True once all are sent."""
        while budget is None or budget > 0:
            if self._sending is None:
                if not self._unsent:
                    return True
                seq, texts, folded = self._unsent.popleft()
                self._sending = (self.hub.delivery(self.id, seq, texts.__getitem__), folded)
            delivery, folded = self._sending
            offered = delivery.send(budget)
            if budget is not None:
                budget -= max(offered, 1)  # a clinic without screens still takes a step per update
            if delivery.done:
                self._sending = None
                self.metrics.fanout_seconds.observe(time.perf_counter() - folded)
        return self._sending is None and not self._unsent

    def resync_all(self) -> None:
        """Every screen starts over from a snapshot (another day opened, the floor was loaded again)."""
        self.hub.resync_all(self.id)

    def publish(self, render: Callable[[str], str]) -> None:
        """Send a message that is not an update (a heartbeat, the delays), after any update still unsent."""
        self.fan_out()
        self.hub.publish(self.id, 0, render)

    def heartbeat(self) -> None:
        text = self.heartbeat_text()
        self.publish(lambda _audience: text)

    def heartbeat_text(self) -> str:
        return encode(HeartbeatMessage(self.today.floor.seq, self.today.clock.now(), self.today.stale)).decode()

    def delays(self, delays: Callable[[], list[ProviderDelay]], measures: Callable[[], ClinicMeasures]) -> None:
        """Send each audience the delays (managers: with the measures), if any screen is there to get them."""
        if self.hub.count(self.id):
            seq, now_delays = self.today.floor.seq, delays()
            texts = {
                Audience.manager: lambda: encode(MeasuresMessage(seq, measures(), now_delays)),
                Audience.staff: lambda: encode(DelaysMessage(seq, now_delays)),
                # Every wall, zoned or not, gets every provider's delays.
                Audience.display: lambda: encode(HallwayDelays(seq, self.hallway_delays(now_delays))),
            }
            self.publish(lambda audience: texts[Audience.display if is_display(audience) else audience]().decode())

    def hallway_delays(self, delays: list[ProviderDelay]):
        return self.hallway.delays([(d.provider, d.lateness, d.recovers_at, d.away) for d in delays])

    # -- screens joining --------------------------------------------------------------------------

    def snapshot(self, audience: str) -> Item:
        """The board as a snapshot message, encoded once per seq however many sockets ask for it."""
        floor = self.today.floor
        cached = self._snapshots.get(audience)
        if cached is None or cached[0] != floor.seq:
            if is_display(audience):
                board = self.hallway.board(
                    floor,
                    self.today.clock.now(),
                    self.hallway_delays(self.reads.delays()),
                    self.today.stale,
                    display_zone(audience),
                )
                last = self.today.events[-1] if self.today.events else None
                text = encode(HallwaySnapshot(floor.seq, board, wall_mark(last) if last else "", self.setup)).decode()
            else:
                text = encode(SnapshotMessage(floor.seq, self.reads.board(), self.today.held, self.setup)).decode()
            cached = self._snapshots[audience] = (floor.seq, text)
        return cached

    def join(self, sub: Subscriber, since: int | None, held: str | None = None, setup: str | None = None) -> None:
        """Queue what a socket that has just subscribed needs first (`catch_up`). It brings the screen to the
        folded floor's seq, so the socket skips the updates up to there that are still to be sent."""
        sub.join(self.catch_up(since, sub.audience, held, setup), self.today.floor.seq)

    def catch_up(
        self, since: int | None, audience: str, held: str | None = None, setup: str | None = None
    ) -> list[Item]:
        """What a screen that has seen up to `since` needs: the missed updates, or a snapshot.

        Only a seq from today's events can be resumed; one at or before the day's start may belong to
        another day's board, so it gets a snapshot. `held`, the mark of the event the screen has at `since`
        (the last update it applied), must be the mark of the event this server folded there: a log restored
        from a backup, or a failover that lost its tail, holds another event at that seq (or none), and the
        updates after it would land on a board of patients the log no longer has. A screen that sends no mark
        (an older page, a script) resumes by seq alone. A screen already in step gets a heartbeat at once: it
        learns it is current now, not at the next tick (after a restart, thousands of screens wait on it).
        `setup`, the clinic set-up the screen drew (its snapshot's), must be this server's: after a restart with a
        changed clinic file, a screen in step drew rooms and providers the clinic no longer has (a review)."""
        if setup is not None and setup != self.setup:
            return [self.snapshot(audience)]
        items = self._resume(since, audience, held)
        return [*items, (0, self.heartbeat_text())] if self.today.stale or not items else items

    def _mark_at(self, seq: int, audience: str) -> str:
        """The mark of today's event at `seq` as `audience` was sent it (a wall's own, floor.log.base.wall_mark)."""
        event = self.today.event_at(seq)
        if event is None:
            return ""
        return wall_mark(event) if is_display(audience) else mark(event)

    def _resume(self, since: int | None, audience: str, held: str | None) -> list[Item]:
        seq = self.today.floor.seq
        if since is None or not self.today.base < since <= seq:
            return [self.snapshot(audience)]
        if held is not None and held != self._mark_at(since, audience):
            return [self.snapshot(audience)]
        if since == seq:
            return []
        if self._sent and self._sent[0][0] <= since + 1:
            missed = itertools.islice(self._sent, since + 1 - self._sent[0][0], None)
            return [(s, texts[audience]) for s, texts in missed]
        return [self.snapshot(audience)]
