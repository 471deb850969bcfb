"""The event-log contract every backend meets (embedded on local disk; Redis next)."""

from __future__ import annotations

import datetime as dt
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence

import msgspec
from msgspec import Struct

from floor.core.events import Event


class Receipt(Struct, frozen=True):
    """The first answer to a request sent with an Idempotency-Key; its retries get this answer again. The log
    keeps `body` as it is given (JSON): the runtime's `Tapped`, the event and what it changed (floor.runtime.writer;
    receipts stored before that hold the HTTP answer's bytes, which the runtime still reads)."""

    key: str
    fingerprint: str
    status: int
    body: msgspec.Raw


class Record(Struct, frozen=True):
    """What one append stores: the event, and the receipt when the request carried an idempotency key."""

    event: Event
    receipt: Receipt | None = None


class SeqTaken(Exception):
    """Another writer appended first: the caller catches up, decides again and retries."""

    def __init__(self, clinic: str, seq: int, last_seq: int, missed: list[Event] | None = None) -> None:
        super().__init__(f"clinic {clinic}: seq {seq} is not next (the log is at {last_seq})")
        self.last_seq = last_seq
        #: The events stored from the refused seq to `last_seq`, in order, when the log said them in its refusal
        #: (the Redis log does, for a writer a few events behind): the writer folds them in without reading the
        #: log again. None: read them (`read`).
        self.missed = missed


class Diverged(Exception):
    """The log holds another event where the writer holds the one before its append (`held`): a failover lost
    an event this server had folded, and another server has stored a different one at its seq since. The writer
    must start over from the log; nothing was stored."""

    def __init__(self, clinic: str, seq: int) -> None:
        super().__init__(f"clinic {clinic}: the log holds another event at seq {seq} than this server folded")
        self.seq = seq


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def mark(event: Event) -> str:
    """A short identity of a stored event, the same on every server that folded it and in every version of
    Floor: its seq, when it was decided (to the microsecond), by whom, on which device and of what type, hashed.
    A shared log keeps it beside each event, so a server can tell that the event at a seq is the one it folded
    (`Diverged`)."""
    text = f"{event.seq}|{_micros(event)}|{event.actor}|{event.device}|{event.type}"
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def wall_mark(event: Event) -> str:
    """The mark a wall display resumes with: of the seq and the moment (to the microsecond) alone, which the wall's
    update says anyway (another event at the seq after a failover or a restore is another moment). `mark` hashes
    who tapped on which device too, and a clinic's few staff ids and device names can be tried against it one by
    one (a hostile review recovered "ma-lee on Tablet 3"); with the event's type in it, a zone's wall learnt each
    step of another zone's patient by trying the dozen types (another review)."""
    return hashlib.blake2b(f"wall|{event.seq}|{_micros(event)}".encode(), digest_size=8).hexdigest()


def _micros(event: Event) -> int:
    """When the event was decided, in microseconds since 1970: the same whatever zone it was read back in."""
    return (event.at - _EPOCH) // dt.timedelta(microseconds=1)


class KeyTaken(Exception):
    """The idempotency key was already used: `receipt` is the first answer."""

    def __init__(self, receipt: Receipt) -> None:
        super().__init__(f"idempotency key {receipt.key!r} already used")
        self.receipt = receipt


def check_batch(records: Sequence[Record]) -> None:
    """What every backend requires of a batch before it looks at the log (a programming error, not a refusal)."""
    if not records:
        raise ValueError("an append needs at least one record")
    first = records[0].event
    for i, r in enumerate(records):
        if r.event.seq != first.seq + i or r.event.day != first.day:
            raise ValueError(
                f"a batch must hold consecutive seqs of one clinic day; record {i} is seq "
                f"{r.event.seq} of {r.event.day} after seq {first.seq} of {first.day}"
            )
    keys = [r.receipt.key for r in records if r.receipt is not None]
    if len(keys) != len(set(keys)):
        raise ValueError("a batch carries one idempotency key twice")


class LogCorrupt(Exception):
    """The stored log is damaged somewhere other than a torn final record; a person must look."""


class LogUnavailable(Exception):
    """The log cannot be reached right now. Retry later. `maybe_stored`: the request may have reached it before
    the answer was lost (a timeout), so a retry must carry the same Idempotency-Key; otherwise nothing was
    stored."""

    def __init__(self, message: str = "", *, maybe_stored: bool = False) -> None:
        super().__init__(message)
        self.maybe_stored = maybe_stored


class NotReplicated(LogUnavailable):
    """Stored on the shared log's primary, not yet confirmed by its replicas in time (`--redis-replicas`): the
    request is answered 503 and its retry with the same Idempotency-Key gets its answer once they have it.
    `appended`: this append stored the records (the writer folds them, as the log holds them); False when the
    answer came from what was stored before (a receipt)."""

    def __init__(self, message: str, *, appended: bool) -> None:
        super().__init__(message, maybe_stored=True)
        self.appended = appended


class EventLog(ABC):
    """A per-clinic, append-only log of events with gap-free sequence numbers."""

    #: How long a receipt answers retries of the same Idempotency-Key.
    receipt_ttl = dt.timedelta(hours=24)
    #: Whether other servers may append too (then each server follows the log with `tail`).
    shared = False
    #: A standing risk the log found at start that does not stop it taking taps (a Redis that keeps nothing on disk):
    #: a sentence /readyz shows under `warnings`, ready all the same; None when there is none.
    caution: str | None = None

    @abstractmethod
    async def open(self) -> None:
        """Make the log ready (replay indexes, connect)."""

    @abstractmethod
    async def close(self) -> None:
        """Release files or connections; appends in flight finish first."""

    async def append(self, clinic: str, record: Record, held: str = "") -> None:
        """Store durably before returning. The event's seq must be the clinic's last seq + 1 (else SeqTaken);
        a receipt whose key is already stored raises KeyTaken and stores nothing."""
        await self.append_all(clinic, [record], held)

    @abstractmethod
    async def append_all(self, clinic: str, records: Sequence[Record], held: str = "") -> None:
        """Store several records as one: all of them durably, or none (a crash, a lost connection or a refusal
        partway stores nothing). Their seqs run on from the clinic's last seq, one by one, all on one clinic day;
        SeqTaken and KeyTaken (for any of their receipts) refuse the whole batch. `held`: the `mark` of the
        event the writer holds just before them ('' when it holds none today); a shared log whose event there
        is another refuses the batch with Diverged (a log only this process writes has nothing to check)."""

    async def confirm(self, clinic: str) -> None:
        """Before a writer answers from an event stored already (its own append, whose answer was lost): wait until
        it is as safe as an acknowledged append (a shared log's replicas have it), else NotReplicated. A log whose
        appends are safe once stored (fsynced on disk) has nothing to wait for."""
        return

    async def holds(self, clinic: str, seq: int, held: str) -> bool:
        """Whether the log's event at `seq` is the one whose `mark` is `held` (True when that cannot be told: no
        mark given, or an entry stored before marks were). A log only this process writes holds what it folded."""
        return True

    @abstractmethod
    async def last_seq(self, clinic: str) -> int:
        """The seq of the clinic's last stored event (0 when there is none)."""

    @abstractmethod
    async def read_day(self, clinic: str, day: dt.date) -> tuple[int, list[Event]]:
        """The day's events in order, and the seq just before the first of them."""

    @abstractmethod
    async def days(self, clinic: str) -> list[dt.date]:
        """The clinic days the log holds, oldest first (a pruned day is not among them). Cheap: an index or a
        directory listing, no event is read."""

    @abstractmethod
    async def read(self, clinic: str, since: int, held: str = "") -> list[Event] | None:
        """Events after `since`, in order; None when the log no longer holds all of them. `held`: the `mark` of
        the event the reader holds at `since` (''; none); a shared log holding another there raises Diverged."""

    @abstractmethod
    async def receipt(self, clinic: str, key: str) -> Receipt | None:
        """The stored answer for an idempotency key, if it is still kept."""

    @abstractmethod
    async def prune(self, clinic: str, before: dt.date) -> list[dt.date]:
        """Delete the clinic days before `before` (retention); the days deleted, oldest first. The day holding
        the last event is always kept, so sequence numbers carry on. Afterwards `read_day` of a deleted day
        is empty and `read` from a seq inside one answers None, as for any log that no longer holds it."""

    async def trouble(self, timeout: float) -> str | None:
        """Why the log could not take a tap right now (a sentence for /readyz), or None when it could. Answers
        within `timeout` seconds; a backend that does not answer in time is itself the trouble."""
        return None

    @abstractmethod
    async def tail(self, clinic: str, after: int, wait: float, held: str = "") -> list[Event]:
        """Events after `after`; when there are none yet, wait up to `wait` seconds for some (maybe []). `held`:
        the `mark` of the event the reader holds at `after`, checked as `read` checks it."""
