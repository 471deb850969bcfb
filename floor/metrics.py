"""What Floor tells Prometheus: taps, log appends, sockets, fan-out, alerts and the shared log's outages.

Each Floors has its own registry (not prometheus_client's global one), so several apps in one process (the
tests) each count their own. Counters the code bumps live here; what is already known elsewhere (sockets per
audience, queues, stale clinics) is read from the hub and the runtimes when Prometheus scrapes, so the
fan-out's hot path (Hub.publish, Subscriber.offer) does no metric work per socket per message.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from floor.close_codes import CLOSE_TOO_SLOW
from floor.core.commands import (
    AcknowledgeAlert,
    BookVisit,
    Command,
    MarkPresence,
    MarkRoom,
    MoveVisit,
    RescheduleVisit,
    SetProviders,
    SetRooms,
    SetThresholds,
    SetVisitTypes,
    TakeStep,
    UndoPresence,
    UndoRoomMark,
    UndoStep,
)
from floor.core.errors import Refusal
from floor.core.schedule import ScheduleRefused
from floor.log.base import LogUnavailable
from floor.logging_setup import LOST_LINES
from floor.wire import Audience, is_display

if TYPE_CHECKING:
    from floor.fanout import Hub

#: An append is an fsync (embedded) or a round trip and an AOF fsync (Redis): a millisecond to a second.
APPEND_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
#: Fanning one event out is rendering it once per audience and writing a shared frame to each socket.
FANOUT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
#: The event loop running late: a millisecond is busy, a quarter second is a stall every screen feels.
LOOP_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
#: A young collection takes microseconds; a full one over a million objects took half a second (collector.py).
GC_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class GcPauses:
    """The garbage collector's pauses in this process, by generation, timed with `gc.callbacks`.

    One per process (`GC_PAUSES`): the collector is the process's, and a callback per server (tests make many)
    would pile up. Each server's registry reads it at scrape time; the callback itself only adds numbers."""

    def __init__(self) -> None:
        self.counts = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self.buckets = [[0] * len(GC_BUCKETS) for _ in range(3)]
        self.longest = 0.0
        self._started: dict[int, float] = {}  # thread id -> perf_counter at "start"
        self._lock = threading.Lock()
        self.installed = False

    def install(self) -> None:
        with self._lock:
            if not self.installed:
                gc.callbacks.append(self._callback)
                self.installed = True

    def _callback(self, phase: str, info: dict) -> None:
        now = time.perf_counter()
        thread = threading.get_ident()
        if phase == "start":
            self._started[thread] = now
            return
        started = self._started.pop(thread, None)
        if started is None:
            return
        self.observe(min(int(info.get("generation", 2)), 2), now - started)

    def observe(self, generation: int, seconds: float) -> None:
        self.counts[generation] += 1
        self.seconds[generation] += seconds
        self.longest = max(self.longest, seconds)
        row = self.buckets[generation]
        for i, bound in enumerate(GC_BUCKETS):
            if seconds <= bound:
                row[i] += 1
                break

    def collect(self) -> Iterator[Metric]:
        pauses = HistogramMetricFamily(
            "floor_gc_pause_seconds",
            "Seconds each garbage collection held the process (every thread, the "
            "event loop too), by generation (2: a full collection)",
            labels=["generation"],
        )
        for generation in range(3):
            cumulative, total = [], 0
            for bound, count in zip(GC_BUCKETS, self.buckets[generation], strict=True):
                total += count
                cumulative.append((repr(bound), total))
            cumulative.append(("+Inf", self.counts[generation]))
            pauses.add_metric([str(generation)], cumulative, self.seconds[generation])
        yield pauses
        yield GaugeMetricFamily(
            "floor_gc_pause_max_seconds",
            "The longest garbage-collection pause since the process started",
            value=self.longest,
        )
        yield GaugeMetricFamily(
            "floor_gc_frozen_objects",
            "Objects moved out of the collector's walk (floor/collector.py: gc.freeze)",
            value=gc.get_freeze_count(),
        )


GC_PAUSES = GcPauses()


class _GcCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        return GC_PAUSES.collect()


class _LostLinesCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "floor_log_lines_lost",
            "Log lines this process could not write (stderr's disk full, an I/O error): dropped, the request that "
            "logged them answered all the same",
            value=LOST_LINES.count,
        )


class ClinicState(Protocol):
    """What a scrape reads of a clinic's runtime (floor/runtime `ClinicRuntime`, which counts its taps here:
    this module does not import it back)."""

    @property
    def id(self) -> str: ...

    @property
    def stale(self) -> bool:
        """Whether the clinic's shared log cannot be reached now."""
        ...


def tap_type(command: Command) -> str:
    """A tap's type as a label: the same names as the events it makes (arrived, roomed, undo, room_ready...)."""
    match command:
        case TakeStep(step=step):
            return step.value
        case UndoStep():
            return "undo"
        case MarkRoom(action=action):
            return f"room_{action.value}"
        case UndoRoomMark():
            return "room_undo"
        case BookVisit(walk_in=True):
            return "walk_in"
        case BookVisit():
            return "book"
        case RescheduleVisit():
            return "reschedule"
        case MoveVisit():
            return "move"
        case AcknowledgeAlert():
            return "acknowledge_alert"
        case MarkPresence(status=status):
            return f"presence_{status.value}"
        case UndoPresence():
            return "presence_undo"
        case SetRooms() | SetProviders() | SetVisitTypes() | SetThresholds():
            return "set_up_changed"
    return type(command).__name__


class Metrics:
    """One server's metrics. `runtimes` and `hub` are read at scrape time (see `watch`)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.taps = Counter(
            "floor_taps",
            "Taps that reached a clinic (signed in, within limits, well formed), and schedule imports "
            "(type schedule_import, one per file), by type and result: "
            "stored, replayed (an Idempotency-Key retry), unavailable (the log could not be written: 503), error, "
            "or the refusal (illegal_step, stale_version, room_unavailable, forbidden, not_found, invalid, ...)",
            ["type", "result"],
            registry=r,
        )
        self.append_seconds = Histogram(
            "floor_log_append_seconds",
            "Seconds one append to the event log took (durable when it returns)",
            buckets=APPEND_BUCKETS,
            registry=r,
        )
        self.fanout_seconds = Histogram(
            "floor_fanout_seconds",
            "Seconds from an event folded in (stored, or read from the shared log) to "
            "its update written to, or queued for, every socket of its clinic on this server (a tap's after its "
            "answer)",
            buckets=FANOUT_BUCKETS,
            registry=r,
        )
        self.loop_lag_seconds = Histogram(
            "floor_loop_lag_seconds",
            "Seconds late the event loop ran a timer due every 0.1 s: what every tap and screen of this "
            "server waited for at that moment, beyond its own work",
            buckets=LOOP_LAG_BUCKETS,
            registry=r,
        )
        self.alerts_raised = Counter(
            "floor_alerts_raised",
            "Alerts this server raised and stored, by kind (cascade, dwell); with several "
            "servers each alert is raised by one of them",
            ["kind"],
            registry=r,
        )
        self.sockets_waiting = Gauge(
            "floor_sockets_waiting_to_sign_in",
            "Live-feed sockets open now and not yet signed in (each may wait 10 s for its token)",
            registry=r,
        )
        self.sockets_refused = Counter(
            "floor_sockets_refused",
            "Live-feed sockets closed before signing in because too many from their client address, or its "
            "IPv6 /64 (reason network), were already waiting to (closed TOO_MANY_WAITING)",
            ["reason"],
            registry=r,
        )
        self.log_reconnects = Counter(
            "floor_log_reconnects",
            "Times a clinic's follower found the shared log (Redis) reachable again after "
            "it was not: one per clinic per outage",
            registry=r,
        )
        # The process's memory, open files and CPU (process_resident_memory_bytes, process_open_fds, ...) and
        # the collector's pauses: what a soak watches for growth (loadtests/soak.py).
        ProcessCollector(registry=r)
        GC_PAUSES.install()
        r.register(_GcCollector())
        r.register(_LostLinesCollector())
        self._hub: Hub | None = None
        self._runtimes: Callable[[], Iterable[ClinicState]] = tuple

    def watch(self, hub: Hub, runtimes: Callable[[], Iterable[ClinicState]]) -> None:
        """Report the hub's sockets and the runtimes' state at each scrape."""
        if self._hub is None:
            self.registry.register(_Live(hub, runtimes))
        self._hub, self._runtimes = hub, runtimes

    @contextmanager
    def tap(self, command: Command | str) -> Iterator[None]:
        """Count one tap (or an import, by its type) by how it ended. A tap the runtime answers is stored or
        replayed; see `answered`."""
        kind = command if isinstance(command, str) else tap_type(command)
        try:
            yield
        except Refusal as refusal:
            self.taps.labels(kind, refusal.why.value).inc()
            raise
        except ScheduleRefused:
            self.taps.labels(kind, "invalid").inc()
            raise
        except LogUnavailable:
            self.taps.labels(kind, "unavailable").inc()
            raise
        except Exception:
            self.taps.labels(kind, "error").inc()
            raise

    def answered(self, command: Command | str, replayed: bool = False) -> None:
        kind = command if isinstance(command, str) else tap_type(command)
        self.taps.labels(kind, "replayed" if replayed else "stored").inc()

    @contextmanager
    def timing(self, histogram: Histogram) -> Iterator[None]:
        """Observe the seconds the block took, only when it ends normally (a failed append is no latency)."""
        started = time.perf_counter()
        yield
        histogram.observe(time.perf_counter() - started)

    def text(self) -> bytes:
        return generate_latest(self.registry)


class _Live(Collector):
    """Gauges and counters read from the hub and the runtimes when Prometheus scrapes."""

    def __init__(self, hub: Hub, runtimes: Callable[[], Iterable[ClinicState]]) -> None:
        self.hub = hub
        self.runtimes = runtimes

    def collect(self) -> Iterator[Metric]:
        runtimes = list(self.runtimes())
        sockets = dict.fromkeys(Audience, 0)
        resyncs = too_slow = behind = longest = 0
        for runtime in runtimes:
            for sub in self.hub.subscribers(runtime.id):
                sockets[Audience.display if is_display(sub.audience) else sub.audience] += 1
                resyncs += sub.resyncs
                too_slow += sub.ending is not None and sub.ending[0] == CLOSE_TOO_SLOW
                if backlog := sub.backlog:
                    behind += 1
                    longest = max(longest, backlog)
        by_audience = GaugeMetricFamily("floor_sockets", "Live-feed sockets open now, by audience", labels=["audience"])
        for audience, count in sockets.items():
            by_audience.add_metric([audience.value], count)
        yield by_audience
        yield GaugeMetricFamily(
            "floor_fanout_sockets_behind",
            "Sockets with a backlog now: they could not take "
            "updates as fast as they came and are sent them from a queue",
            value=behind,
        )
        yield GaugeMetricFamily(
            "floor_fanout_backlog_max",
            "The longest backlog of any socket now, in updates "
            "(at the hub's queue limit the socket is dropped to a fresh snapshot)",
            value=longest,
        )
        # Sockets already gone left their counts with the hub (Hub.unsubscribe): the totals never go down.
        retired_resyncs, retired_too_slow = self.hub.retired_resyncs, self.hub.retired_too_slow
        yield CounterMetricFamily(
            "floor_fanout_resyncs",
            "Sockets whose queue overflowed and were sent a fresh snapshot in place of their backlog",
            value=retired_resyncs + resyncs,
        )
        yield CounterMetricFamily(
            "floor_fanout_too_slow_closes",
            f"Sockets closed with {CLOSE_TOO_SLOW} because "
            "they did not read even a snapshot while their queue filled again",
            value=retired_too_slow + too_slow,
        )
        yield GaugeMetricFamily(
            "floor_clinics_stale",
            "Clinics whose shared log cannot be reached now (their screens are told the feed is stale)",
            value=sum(r.stale for r in runtimes),
        )
        yield GaugeMetricFamily("floor_clinics", "Clinics this server runs", value=len(runtimes))
