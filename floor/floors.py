"""`Floors`: every clinic one server runs and the machinery they share (ticks, session checks, learning,
pruning, upcoming schedules). The web layer is given one; floor/bootstrap.py (the composition root) builds it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc

import msgspec
import structlog

from floor.clock import TICK_SECONDS, Clock, SystemClock
from floor.close_codes import CLOSE_FORBIDDEN, CLOSE_SIGNED_OUT
from floor.collector import FREEZE_SECONDS, Collector
from floor.config import Clinic
from floor.core.errors import Refusal, Why
from floor.days import file_the_day_ran_on, oldest_kept
from floor.directory.base import Directory
from floor.directory.embedded import EmbeddedDirectory
from floor.fanout import Hub
from floor.log.base import EventLog, LogUnavailable
from floor.metrics import Metrics
from floor.runtime import ClinicRuntime
from floor.schedule import book_upcoming
from floor.schedule.upcoming import FileUpcoming, KeptSetUp, Upcoming
from floor.sessions import Sessions, reserved_staff_id
from floor.settings import RETENTION_DAYS
from floor.wire import display_audience

log = structlog.get_logger("floor")

#: Seconds between checks that every open socket's sign-in still holds (another server may have revoked it).
SESSION_CHECK_SECONDS = 0.5
#: Every so often every socket is checked even if no session ended (tokens also expire).
FULL_SESSION_CHECK_SECONDS = 60.0
#: Open sockets' sign-ins the directory is asked about at once (one Redis MGET): a check of 5,000 walls is five
#: round trips, not 5,000, and the sockets of each batch's ended sign-ins close as soon as it is answered.
SESSION_CHECK_BATCH = 1000
#: Seconds a stopping server gives its background tasks (ticks, session checks, followers) to end.
STOP_TASKS_SECONDS = 3.0
#: Seconds a stopping server waits for the taps in flight to be stored.
SETTLE_SECONDS = 2.0
#: Seconds between retention checks (a directory listing, or one Redis hash, per clinic).
PRUNE_SECONDS = 3600.0
#: Times in a row a clinic's learning may be put off (its log out of reach) before it goes on without it.
LEARNING_TRIES = 4
#: Seconds between the event loop's own timings: a timer due every so often, and how late it runs
#: (floor_loop_lag_seconds). While the loop is late, every tap and every screen of this server waits with it.
LOOP_LAG_EVERY = 0.1
#: A loop this late is logged (`loop_stalled`), as well as counted.
LOOP_STALL_SECONDS = 0.25


class Floors:
    """Every clinic this server runs, and the machinery they share."""

    def __init__(
        self,
        clinics: list[Clinic],
        event_log: EventLog,
        clock: Clock | None = None,
        hub: Hub | None = None,
        tick_seconds: float = TICK_SECONDS,
        directory: Directory | None = None,
        sessions: Sessions | None = None,
        upcoming: Upcoming | None = None,
    ) -> None:
        self.log = event_log
        #: Schedules imported ahead of their day, booked when it opens (in memory unless given).
        self.upcoming = upcoming or FileUpcoming(None)
        self.clock = clock or SystemClock()
        self.hub = hub or Hub()
        self.tick_seconds = tick_seconds
        #: Staff, sign-ins and displays (in memory only unless a directory is given: tests and tools).
        # Sign-ins expire in real time, whatever clock the clinic day runs on (a demo or rehearsal runs fast).
        self.sessions = sessions or Sessions(directory or EmbeddedDirectory(None), SystemClock())
        #: This server's own registry: several Floors in one process (the tests) count apart.
        self.metrics = Metrics()
        # Each reads a past day by the clinic file it ran on, kept beside the log in `upcoming`.
        self.runtimes = {
            c.id: ClinicRuntime(c, event_log, self.clock, self.hub, metrics=self.metrics, kept=self.upcoming)
            for c in clinics
        }
        #: The day whose clinic file, and whose learning, this server has kept, per clinic.
        self._kept_clinic: dict[str, dt.date] = {}
        self._kept_learned: dict[str, dt.date] = {}
        #: The seq of the set-up this server has kept (or read at start), per clinic.
        self._kept_setup: dict[str, int] = {}
        #: Per clinic, the losses of the shared log (ClinicRuntime.losses) whose keeps were forgotten (`_kept_lost`).
        self._losses_seen: dict[str, int] = {}
        #: The day each clinic's learning could not be kept (said once, tried again at every turn).
        self._learning_unkept: dict[str, dt.date] = {}
        self.metrics.watch(self.hub, self.runtimes.values)
        #: True from the end of `start` to the beginning of `stop`: /readyz sends no traffic here otherwise.
        self.started = False
        #: Clinic days kept in the log; older ones are pruned (checked at start, then every PRUNE_SECONDS).
        self.retention_days = RETENTION_DAYS
        #: Seconds between moving long-lived objects out of the collector's walk (floor/collector.py).
        self.freeze_seconds = FREEZE_SECONDS
        self._tasks: list[asyncio.Task[None]] = []
        self._recheck = asyncio.Event()
        #: Session checks begun (`_close_ended_sessions`): a socket that saw one begin while its sign-in was being
        #: read reads it again before it joins the feed (floor.web.live), as that check did not look at it.
        self.session_checks = 0
        #: Each clinic's booking of its upcoming schedule under way.
        self._booking: dict[str, asyncio.Task[None]] = {}
        #: Learning postponed in a row (the log out of reach), per clinic: given up at LEARNING_TRIES.
        self._learning_postponed: dict[str, int] = {}

    def get(self, clinic_id: str) -> ClinicRuntime:
        runtime = self.runtimes.get(clinic_id)
        if runtime is None:
            raise Refusal(
                Why.not_found, f"No clinic {clinic_id!r} on this server (it runs: {', '.join(self.runtimes)})."
            )
        return runtime

    async def _forget_typed_ids(self) -> None:
        """Wrong sign-ins under an id that is no account were kept under the id as typed (often a PIN) before they
        were kept under a keyed hash: forgotten at start, not left for their day (floor.directory.base)."""
        try:
            forgotten = await self.sessions.directory.forget_typed_ids()
        except Exception as e:  # a directory that cannot be written now: they expire within the day anyway
            log.warning("typed_ids_not_forgotten", error=str(e))
            return
        if forgotten:
            log.info("typed_ids_forgotten", keys=forgotten)

    async def start(self) -> None:
        await self.log.open()
        await self.sessions.directory.open()
        await self._warn_of_staff_without_clinics()
        await self._forget_typed_ids()
        await self.upcoming.open()
        for runtime in self.runtimes.values():
            await self._take_setup(runtime)
            await runtime.start()
            self._book_upcoming(runtime)
        self._tasks = [
            asyncio.create_task(self._tick_forever(), name="floor-ticker"),
            asyncio.create_task(self._learn_forever(), name="floor-learn"),
            asyncio.create_task(self._prune_forever(), name="floor-prune"),
            asyncio.create_task(self._collect_forever(), name="floor-collector"),
            asyncio.create_task(self._check_sessions_forever(), name="floor-sessions"),
            asyncio.create_task(self._time_the_loop_forever(), name="floor-loop-lag"),
        ]
        if self.log.shared:
            # Other servers append to the same log: follow each clinic's part of it.
            self._tasks += [
                asyncio.create_task(r.follow(), name=f"floor-follow-{r.id}") for r in self.runtimes.values()
            ]
        self.started = True

    async def _warn_of_staff_without_clinics(self) -> None:
        """Accounts added before clinics were recorded keep every clinic (floor.core.access.clinics_of): say
        which, once, so an operator running several clinics narrows them (`floor staff clinics`)."""
        with contextlib.suppress(Exception):  # a directory that cannot be read now is reported where it is used
            staff = await self.sessions.directory.all_staff()
            unset = [m.id for m in staff if m.clinics is None]
            if reserved := [m.id for m in staff if reserved_staff_id(m.id)]:
                # Added before such ids were refused: the audit trail cannot tell them from Floor or a wall.
                log.warning(
                    "staff_id_reserved",
                    staff=reserved[:50],
                    meaning="this id names Floor's own acts or looks like a wall display's in the audit trail: add "
                    "the person again under another id and remove this one",
                )
            if unset:
                log.warning(
                    "staff_without_clinics",
                    staff=unset[:50],
                    count=len(unset),
                    clinics=list(self.runtimes),
                    meaning="added before clinics were recorded: they work in every clinic until "
                    "`floor staff clinics --id ID --clinic CLINIC` narrows them",
                )

    async def stop(self) -> None:
        self.started = False
        await _cancel([*self._tasks, *self._booking.values()])
        self._tasks = []
        self._booking.clear()
        gc.unfreeze()  # a process that goes on (tests, tools) collects what this server froze
        # A tap whose client hung up is still being stored (the runtime shields it): it is stored and folded
        # before the log closes. Bounded, so a log that hangs cannot hold up a restart.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(r.settle() for r in self.runtimes.values())), SETTLE_SECONDS)
        await self.sessions.directory.close()
        await self.upcoming.close()
        await self.log.close()

    async def _take_setup(self, runtime: ClinicRuntime) -> None:
        """Start from the set-up managers last set from the browser, kept beside the log: its rooms, providers, visit
        types and thresholds stand over the clinic file's until a manager chooses the file's back (README, "Rooms,
        providers and visit types set from the browser"). A clinic file whose rooms, providers, visit types or
        thresholds changed since is said, once, here and on the manager's page (the board's `file_rooms`,
        `file_providers`, `file_visit_types`, `file_thresholds`)."""
        kept = await self.upcoming.setup_of(runtime.id)
        if kept is None:
            return
        today = runtime.today
        clinic = today.file
        try:
            if kept.rooms is not None:
                clinic = msgspec.structs.replace(clinic, rooms=kept.rooms)
            if kept.providers is not None:
                clinic = msgspec.structs.replace(clinic, providers=kept.providers)
            if kept.visit_types is not None:
                clinic = msgspec.structs.replace(clinic, visit_types=kept.visit_types)
            if kept.thresholds is not None:
                clinic = msgspec.structs.replace(clinic, thresholds=kept.thresholds)
        except ValueError as e:  # rules tightened since it was set: the file's, and the log says why
            log.error("kept_setup_refused", clinic=runtime.id, error=str(e)[:300])
            return
        for what, set_, file_then, file_now in (
            ("rooms", kept.rooms, kept.file_rooms, today.file.rooms),
            ("providers", kept.providers, kept.file_providers, today.file.providers),
            ("visit_types", kept.visit_types, kept.file_visit_types, today.file.visit_types),
            ("thresholds", kept.thresholds, kept.file_thresholds, today.file.thresholds),
        ):
            if set_ is not None and file_then != file_now:
                words = what.replace("_", " ")
                log.warning(
                    f"clinic_file_{what}_not_used",
                    clinic=runtime.id,
                    set_on=str(kept.day),
                    meaning=f"the clinic file's {words} changed since a manager set the {words} from the browser: the "
                    f"browser's stand until a manager chooses the clinic file's {words} on the manager page",
                )
        today.take_setup(
            clinic,
            kept.seq,
            kept.rooms is not None,
            kept.providers is not None,
            kept.visit_types is not None,
            kept.thresholds is not None,
        )
        self._kept_setup[runtime.id] = kept.seq

    async def keep_setup(self, runtime: ClinicRuntime) -> None:
        """Keep the clinic's set-up beside the log if it changed since this server last kept (or read) it: a
        server started later starts from it. Right after a manager's change, and at every tick (a change another
        server stored, or one this server could not keep at once)."""
        today = runtime.today
        seq = today.setup_version
        if seq <= self._kept_setup.get(runtime.id, 0):
            return
        setup = KeptSetUp(
            seq,
            today.floor.day,
            list(today.clinic.rooms) if today.rooms_set else None,
            list(today.file.rooms),
            list(today.clinic.providers) if today.providers_set else None,
            list(today.file.providers),
            list(today.clinic.visit_types) if today.visit_types_set else None,
            list(today.file.visit_types),
            today.clinic.thresholds if today.thresholds_set else None,
            today.file.thresholds,
        )
        await self.upcoming.keep_setup(runtime.id, setup)
        self._kept_setup[runtime.id] = max(seq, self._kept_setup.get(runtime.id, 0))

    def _book_upcoming(self, runtime: ClinicRuntime) -> None:
        """At every tick (and at start), book the schedule kept for the clinic day now open, if any. Not once a
        day: a file sent just before midnight, kept only once its day had opened, was answered "books at
        midnight" and never booked (a hostile review); looking costs a directory listing or one Redis call."""
        day = runtime.floor.day
        self._kept_lost(runtime)
        busy = self._booking.get(runtime.id)
        if busy is not None and not busy.done():
            return

        async def book() -> None:
            try:
                await book_upcoming(runtime, self.upcoming)
                if self._kept_clinic.get(runtime.id) != day:
                    # The clinic file today runs on, kept for when today is a past day (read by its own file), but
                    # for a day that closed on another (floor.days.file_the_day_ran_on).
                    kept = await self.upcoming.clinic_on(runtime.id, day)
                    if (ran_on := file_the_day_ran_on(kept, runtime.clinic, day, self.clock.now())) != kept:
                        await self.upcoming.keep_clinic(ran_on, day)
                    self._kept_clinic[runtime.id] = day
                await self.keep_setup(runtime)
            except LogUnavailable as e:
                log.warning("upcoming_schedule_postponed", clinic=runtime.id, day=str(day), error=str(e))
            except Exception:
                log.exception("upcoming_schedule_failed", clinic=runtime.id, day=str(day))

        self._booking[runtime.id] = asyncio.create_task(book(), name=f"floor-upcoming-{runtime.id}")

    def _kept_lost(self, runtime: ClinicRuntime) -> None:
        """Once the shared log is found to have lost events (`log_lost_events`: a Redis restarted without its data),
        what was kept beside it for today is kept again, the clinic file at the next tick and the learning at the
        learner's next turn: it went with the log, and was not kept again until the next day (a past day's chart and
        measures then read the configured minutes and whatever clinic file was running; a review)."""
        if runtime.losses == self._losses_seen.get(runtime.id, 0):
            return
        self._losses_seen[runtime.id] = runtime.losses
        self._kept_clinic.pop(runtime.id, None)
        self._kept_learned.pop(runtime.id, None)
        log.info("kept_again_after_lost_events", clinic=runtime.id, day=str(runtime.floor.day))

    def recheck_sessions(self) -> None:
        """A sign-in ended here (sign-out, revoked display): close its sockets now, not at the next check."""
        self._recheck.set()

    async def _check_sessions_forever(self) -> None:
        seen, last_full = -1, 0.0
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._recheck.wait(), SESSION_CHECK_SECONDS)
            forced = self._recheck.is_set()
            self._recheck.clear()
            try:
                revision = await self.sessions.directory.revision()
                self.sessions.revision_seen(revision)
                full = loop.time() - last_full > FULL_SESSION_CHECK_SECONDS
                if forced or full or revision != seen:
                    seen, last_full = revision, loop.time() if full else last_full
                    await self._close_ended_sessions()
            except LogUnavailable as e:
                log.warning("session_check_postponed", error=str(e))
            except Exception:
                log.exception("session_check_failed")

    async def _close_ended_sessions(self) -> None:
        """Close every socket whose sign-in ended (signed out, expired, revoked, on any server). The directory is
        asked about SESSION_CHECK_BATCH sign-ins at a time and each batch's ended ones close at once: asked one
        by one, a revoked wall beside 5,000 others stayed up 1.7-5.3 s (a hostile review). A directory that
        does not answer raises: nothing it did not say ended is closed."""
        open_now = list(self.hub.sessions())
        self.session_checks += 1
        closed = 0
        try:
            for start in range(0, len(open_now), SESSION_CHECK_BATCH):
                if ended := await self.sessions.ended(open_now[start : start + SESSION_CHECK_BATCH]):
                    closed += self.hub.end_sessions(ended, CLOSE_SIGNED_OUT, "signed out, expired or revoked")
        finally:
            if closed:
                log.info("sockets_closed_after_sign_out", sockets=closed)
        await self._move_displays()

    async def _move_displays(self) -> None:
        """A wall display a manager moved to another zone (on any server) gets that zone's feed now, from a fresh
        snapshot: it had to be revoked and paired again, dark meanwhile (a review of the console)."""
        walls = self.hub.display_sockets()
        if not walls:
            return
        zones = {d.id: d.zone for d in await self.sessions.directory.all_displays() if d.revoked_at is None}
        for sub in walls:
            if sub.display not in zones:
                continue  # revoked: its sign-in ended, and the check above closes it
            audience = display_audience(zones[sub.display])
            runtime = self.runtimes.get(sub.clinic)
            if audience == sub.audience or runtime is None:
                continue
            zone = zones[sub.display]
            if zone is not None and zone not in runtime.hallway.zones:
                sub.end(CLOSE_FORBIDDEN, "this display's zone is no longer in the clinic: pair it again")
                continue
            self.hub.move(sub, audience)
            log.info("display_socket_moved", display=sub.display, clinic=sub.clinic, zone=zone)

    async def _collect_forever(self) -> None:
        """Keep full garbage collections (a walk over every socket's objects) for quiet hours: floor/collector.py."""
        loop = asyncio.get_running_loop()
        collector = Collector(loop.time())
        gc.freeze()  # what loading the clinics made
        while True:
            await asyncio.sleep(self.freeze_seconds)
            if collector.step(loop.time(), (r.clinic for r in self.runtimes.values()), self.clock.now()):
                log.info("full_collection", sockets=self.hub.count())

    async def _time_the_loop_forever(self) -> None:
        """How late the event loop runs what is due (floor_loop_lag_seconds): the stalls in a tap's answer and
        a screen's update that no other figure names (a long callback, a collection, the machine's CPU taken)."""
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + LOOP_LAG_EVERY
            await asyncio.sleep(LOOP_LAG_EVERY)
            lag = max(0.0, loop.time() - due)
            self.metrics.loop_lag_seconds.observe(lag)
            if lag >= LOOP_STALL_SECONDS:
                log.warning("loop_stalled", seconds=round(lag, 3), sockets=self.hub.count())

    async def _prune_forever(self) -> None:
        """Delete the clinic days past retention: hourly, so a server running for weeks prunes too (several
        servers on one Redis may all do it; pruning twice deletes nothing more)."""
        while True:
            for runtime in self.runtimes.values():
                try:
                    oldest = oldest_kept(runtime.floor.day, self.retention_days)
                    await self.log.prune(runtime.id, oldest)
                    await self.upcoming.forget_clinics_before(runtime.id, oldest)
                except LogUnavailable as e:
                    log.warning("prune_postponed", clinic=runtime.id, error=str(e))
                except Exception:
                    log.exception("prune_failed", clinic=runtime.id)
            await asyncio.sleep(PRUNE_SECONDS)

    async def _learn_forever(self) -> None:
        """Each clinic learns from its past days once its day opens (at start, then after each midnight): one
        clinic at a time, beside serving, so hundreds of clinics with months of logs start at once and never
        hold more than one past day in memory each moment."""
        while True:
            for runtime in self.runtimes.values():
                day = runtime.floor.day
                self._kept_lost(runtime)
                if runtime.learned_for != day:
                    await self._learn(runtime, day)
                    self._kept_learned.pop(runtime.id, None)  # learned again (floor.runtime.writer): kept again
                if runtime.learned_for == day and self._kept_learned.get(runtime.id) != day:
                    await self._keep_learned(runtime, day)
            await asyncio.sleep(self.tick_seconds)

    async def _learn(self, runtime: ClinicRuntime, day: dt.date) -> None:
        try:
            await runtime.learn()
        except LogUnavailable as e:
            postponed = self._learning_postponed.get(runtime.id, 0) + 1
            self._learning_postponed[runtime.id] = postponed
            log.warning("learning_postponed", clinic=runtime.id, day=str(day), error=str(e), tries=postponed)
            if postponed >= LEARNING_TRIES:
                # On a shared log a server reviews no alerts until it has learned its day: one that cannot
                # read its past days goes on with its last learning (or the clinic file's minutes) rather
                # than review none all day (a review).
                log.error("learning_given_up", clinic=runtime.id, day=str(day), tries=postponed)
                runtime.learned_for = day
                self._learning_postponed.pop(runtime.id, None)
        except Exception:
            # A past day this server cannot read: say so, and go on with the last learning until tomorrow.
            log.exception("learning_failed", clinic=runtime.id, day=str(day))
            runtime.learned_for = day
        else:
            self._learning_postponed.pop(runtime.id, None)

    async def _keep_learned(self, runtime: ClinicRuntime, day: dt.date) -> None:
        """Keep what the day's floor expects (learned, or the last learning where it could not be), for its lateness
        chart once it is a past day (charted by the configured minutes the next morning, it was not the chart the
        manager had seen; a review of a week). Tried again at every turn while it cannot be (a disk full at
        midnight, when the day is learned)."""
        try:
            await self.upcoming.keep_learned(runtime.id, day, runtime.learned)
        except Exception as e:
            if self._learning_unkept.get(runtime.id) != day:  # once a day, not at every turn of an outage
                self._learning_unkept[runtime.id] = day
                log.warning("learning_not_kept", clinic=runtime.id, day=str(day), error=str(e)[:300])
        else:
            self._kept_learned[runtime.id] = day

    async def _tick_forever(self) -> None:
        """Each clinic ticks once a period, at its own point of it: ticking a few hundred clinics in one go
        (delays projected, heartbeats sent) would hold every tap in the meantime for all of them."""
        loop = asyncio.get_running_loop()
        runtimes = list(self.runtimes.values())
        start = loop.time()
        while True:
            for n, runtime in enumerate(runtimes):
                await asyncio.sleep(max(0.0, start + self.tick_seconds * (1 + n / len(runtimes)) - loop.time()))
                try:
                    runtime.tick()
                    self._book_upcoming(runtime)
                except Exception:
                    log.exception("tick_failed", clinic=runtime.id)
            start = max(start + self.tick_seconds, loop.time() - self.tick_seconds)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the background tasks and wait until they end, cancelling again as long as one runs on.

    Once is not enough on Python 3.11: redis-py sends every command under `asyncio.wait_for`, which loses a
    cancellation that lands just as the send completes (CPython issue 86296, fixed in 3.12), and the loop
    around it carries on. Awaiting such a task kept a SIGTERM'd server with a few thousand sockets from ever
    exiting. Bounded: a task that will not end is reported, not waited for."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STOP_TASKS_SECONDS
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)
        if pending and loop.time() > deadline:
            log.error("tasks_did_not_stop", tasks=sorted(t.get_name() for t in pending))
            break
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("task_failed", task=task.get_name(), error=repr(task.exception()))
