"""What is kept per clinic day beside the log. Schedules imported ahead of their day (a clinic's IT sends
tomorrow's the evening before): checked in full when they come, kept here, and booked onto the floor when the
clinic day opens. And the clinic file each day ran on: a past day is measured, drawn and exported by the clinic
it ran on (its `appointment_time`, its visit types' minutes, its thresholds and names), not by today's file (a
review: a switch to `appointment_time = "provider"` rewrote last week's on-time starts and its export's
convention). A day run before Floor kept it is read by today's file. And what Floor had learned for each day
(floor/core/learning.py): a past day's lateness chart is projected with it, as the day's own chart was (a review of
a clinic's week: read the next morning by the configured minutes, it was not the chart the manager had seen).

Two backends, beside the log they go with: one file per clinic and day in the embedded data directory
(`DATA_DIR/<clinic>/upcoming/<YYYY-MM-DD>.json`, `DATA_DIR/<clinic>/clinic/<YYYY-MM-DD>.json` and
`DATA_DIR/<clinic>/learned/<YYYY-MM-DD>.json`, replaced atomically), or Redis hashes per clinic
(`floor:{<clinic>}:upcoming`, `floor:{<clinic>}:clinic-days` and `floor:{<clinic>}:learned-days`, hash-tagged as the
log's keys are). And, per clinic rather than per day, the set-up managers last set from the browser (`KeptSetUp`:
`DATA_DIR/<clinic>/setup/set-up.json`, the Redis hash `floor:{<clinic>}:setup`). Importing a day again replaces its
file; a server started again on a day keeps the clinic file it runs now for that day.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import os
import secrets
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Literal, NamedTuple, TypeVar

import msgspec
import structlog
from msgspec import Struct

from floor.config import Clinic, Provider, Room, Thresholds, VisitType
from floor.core.learned import Learned
from floor.log.base import LogUnavailable


class UpcomingSchedule(Struct, frozen=True):
    """A day's schedule file as a manager sent it, and who sent it when (the booking is theirs)."""

    clinic: str
    day: dt.date
    format: Literal["csv", "fhir"]
    body: bytes
    #: Appointments in the file (its rows or Appointment entries), for listings.
    appointments: int
    staged_at: dt.datetime
    staged_by: str
    device: str


class UpcomingDay(Struct, frozen=True):
    """A schedule waiting for its day, without the file (what a listing shows)."""

    day: dt.date
    format: Literal["csv", "fhir"]
    appointments: int
    staged_at: dt.datetime
    staged_by: str
    bytes: int

    @classmethod
    def of(cls, s: UpcomingSchedule) -> UpcomingDay:
        return cls(s.day, s.format, s.appointments, s.staged_at, s.staged_by, len(s.body))


class KeptSetUp(Struct, frozen=True):
    """The clinic's set-up as managers last set it from the browser (floor.core.events.SetUpChanged), kept per clinic
    beside the log: a server started later, and so every day it opens, starts from it, not from the clinic file's
    rooms, providers, visit types and thresholds (README, "Rooms, providers and visit types set from the browser")."""

    #: The seq of the event that set it: a set-up is kept over another only if it was set after it.
    seq: int
    #: The clinic day it was set on.
    day: dt.date
    #: The rooms set; None: the clinic file's rooms were chosen back, and the file leads again.
    rooms: list[Room] | None
    #: The clinic file's rooms when it was set: a file whose rooms differ since is said at start.
    file_rooms: list[Room]
    #: The providers set, and the clinic file's then, as the rooms (None: the file's).
    providers: list[Provider] | None = None
    file_providers: list[Provider] = []
    #: The visit types set, and the clinic file's then, as the rooms (None: the file's).
    visit_types: list[VisitType] | None = None
    file_visit_types: list[VisitType] = []
    #: The alert thresholds set, and the clinic file's then (None: the file's).
    thresholds: Thresholds | None = None
    file_thresholds: Thresholds | None = None


#: How a temp file being written ends (`<day>.<random>.partial`), and the age past which one is a crash's leftover.
_PARTIAL = ".partial"
STALE_PARTIAL_SECONDS = 3600

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(UpcomingSchedule)


class PerDay(NamedTuple):
    """What is kept for each clinic day beside the log: where (`folder` under `DATA_DIR/<clinic>/`, the Redis hash
    `floor:{<clinic>}:<key>`), how an error keeping it names it, and the warning when it cannot be read."""

    folder: str
    key: str
    what: str
    unreadable: str


CLINIC_FILES = PerDay("clinic", "clinic-days", "the day's clinic file", "kept_clinic_unreadable")
LEARNING = PerDay("learned", "learned-days", "the day's learning", "kept_learning_unreadable")
#: Every kind kept per day: pruned with their days.
PER_DAY = (CLINIC_FILES, LEARNING)
T = TypeVar("T")


class _Anything:
    """`put` without a condition: whatever is kept for the day is replaced."""

    def __repr__(self) -> str:
        return "ANYTHING"


ANYTHING = _Anything()
#: What a kept file must replace: the `staged_at` of the file kept now, None for no file kept, or ANYTHING.
Replaces = dt.datetime | None | _Anything


def _is(kept: UpcomingSchedule | None, replaces: Replaces) -> bool:
    """Whether `kept` (what is kept for the day now) is the file `replaces` names."""
    if isinstance(replaces, _Anything):
        return True
    return (kept.staged_at if kept is not None else None) == replaces


class Upcoming(ABC):
    async def open(self) -> None:  # noqa: B027
        pass

    async def close(self) -> None:  # noqa: B027
        pass

    @abstractmethod
    async def put(self, schedule: UpcomingSchedule, replaces: Replaces = ANYTHING) -> bool:
        """Keep the schedule for its day, durably, replacing one kept for that day before. `replaces`: keep it only
        if what is kept for the day is still that file (its `staged_at`; None: nothing kept), compared and
        replaced in one step; False, keeping nothing, when it is not (another manager kept or withdrew one since
        the manager checked theirs)."""

    @abstractmethod
    async def get(self, clinic: str, day: dt.date) -> UpcomingSchedule | None: ...

    @abstractmethod
    async def remove(self, clinic: str, day: dt.date, only: UpcomingSchedule | None = None) -> bool:
        """Forget the day's schedule (booked, withdrawn or expired); whether there was one. `only`: forget it only
        if it is still that one (as a manager saw it), never a file that replaced it since."""

    @abstractmethod
    async def days(self, clinic: str) -> list[dt.date]:
        """The days with a schedule waiting, oldest first."""

    async def keep_clinic(self, clinic: Clinic, day: dt.date) -> None:
        """Keep the clinic file `day` runs on, replacing one kept for it before."""
        await self._keep(CLINIC_FILES, clinic.id, day, _encoder.encode(clinic))

    async def clinic_on(self, clinic: str, day: dt.date) -> Clinic | None:
        """The clinic file `day` ran on, if it was kept (and this Floor can still read it): else the day is read by
        today's file."""
        return await self._kept_on(CLINIC_FILES, clinic, day, Clinic)

    async def keep_learned(self, clinic: str, day: dt.date, learned: Learned) -> None:
        """Keep what was learned for `day` (what its floor expected), replacing what was kept for it before."""
        await self._keep(LEARNING, clinic, day, _encoder.encode(learned))

    async def learned_on(self, clinic: str, day: dt.date) -> Learned | None:
        """What was learned for `day`, if it was kept (and this Floor can still read it)."""
        return await self._kept_on(LEARNING, clinic, day, Learned)

    async def _kept_on(self, kind: PerDay, clinic: str, day: dt.date, type_: type[T]) -> T | None:
        data = await self._kept_data(kind, clinic, day)
        if data is None:
            return None
        try:
            return msgspec.json.decode(data, type=type_)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as e:
            # Kept by another version of Floor, or damaged: read as if none was kept, and the log says so.
            structlog.get_logger("floor.upcoming").warning(
                kind.unreadable, clinic=clinic, day=str(day), error=str(e)[:200]
            )
            return None

    @abstractmethod
    async def _keep(self, kind: PerDay, clinic: str, day: dt.date, data: bytes) -> None:
        """Keep `data` as the `kind` of `day`, replacing what was kept for it before."""

    @abstractmethod
    async def _kept_data(self, kind: PerDay, clinic: str, day: dt.date) -> bytes | None: ...

    @abstractmethod
    async def keep_setup(self, clinic: str, setup: KeptSetUp) -> bool:
        """Keep `setup` as the clinic's set-up, unless one set after it (a larger seq) is kept already (two servers
        following one log both keep it, the slower one never over a newer one); whether it was kept."""

    @abstractmethod
    async def _setup_data(self, clinic: str) -> bytes | None: ...

    async def setup_of(self, clinic: str) -> KeptSetUp | None:
        """The clinic's set-up kept, if any (and this Floor can still read it: else the clinic file's, said once)."""
        data = await self._setup_data(clinic)
        if data is None:
            return None
        try:
            return msgspec.json.decode(data, type=KeptSetUp)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as e:
            structlog.get_logger("floor.upcoming").warning("kept_setup_unreadable", clinic=clinic, error=str(e)[:200])
            return None

    @abstractmethod
    async def forget_clinics_before(self, clinic: str, day: dt.date) -> None:
        """Forget the clinic files and learning of days before `day` (pruned from the log with them)."""


class FileUpcoming(Upcoming):
    """On local disk beside the embedded log; in memory when `data_dir` is None (tests and tools).

    A file is written whole to a temp file of its own, then renamed into place. Two writes for one day at once
    (two managers sending a day's file, or a page and a script) each run in a thread: with one temp file for
    both, the second `open` truncated the first's, both wrote into it, and the day kept the shorter file followed
    by the longer one's tail, which no tick could read (a hostile review). Each write, and each removal, takes a
    number when it is asked for, and what is in place is the last one asked for, whichever thread finishes first:
    a write that finds a later one in place is dropped, as if it had been replaced by it."""

    def __init__(self, data_dir: str | Path | None) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self._memory: dict[tuple[str, dt.date], UpcomingSchedule] = {}
        #: What is kept per day (`PerDay`: the clinic file, the learning), by its folder, clinic and day.
        self._per_day: dict[tuple[str, str, dt.date], bytes] = {}
        #: Each clinic's kept set-up (in memory only).
        self._setups: dict[str, bytes] = {}
        #: Held while a set-up is compared with the one kept and written over it.
        self._setup_lock = asyncio.Lock()
        self._asked = itertools.count()
        #: The number of the write or removal last done on each file (held while renaming or removing it).
        self._done: dict[Path, int] = {}
        self._placing = threading.Lock()

    def _dir(self, clinic: str, folder: str = "upcoming") -> Path:
        assert self.data_dir is not None
        return self.data_dir / clinic / folder

    async def put(self, schedule: UpcomingSchedule, replaces: Replaces = ANYTHING) -> bool:
        if self.data_dir is None:
            if not _is(self._memory.get((schedule.clinic, schedule.day)), replaces):
                return False
            self._memory[schedule.clinic, schedule.day] = schedule
            return True
        data = _encoder.encode(schedule)
        asked = next(self._asked)  # on the loop: in the order the files were sent
        return await asyncio.to_thread(
            self._replace, self._dir(schedule.clinic), schedule.day.isoformat(), data, "the schedule", asked, replaces
        )

    def _replace(
        self, directory: Path, name: str, data: bytes, what: str, asked: int, replaces: Replaces = ANYTHING
    ) -> bool:
        path = directory / f"{name}.json"
        # This write's own temp file, in the same directory (so the rename is atomic), never another writer's.
        partial = directory / f"{name}.{secrets.token_hex(8)}{_PARTIAL}"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with open(partial, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            with self._placing:
                unconditional = isinstance(replaces, _Anything)
                if self._done.get(path, -1) > asked:
                    # A file sent after this one (or a removal asked for after it) is done already: it stands. A
                    # file to be kept only over the one its manager saw is not kept: that one is gone already.
                    partial.unlink()
                    return unconditional
                if not unconditional and not _is(self._read(path), replaces):
                    partial.unlink()
                    return False
                # Renamed into place, then the directory synced: a crash leaves the old file or the new one, whole.
                os.replace(partial, path)
                self._done[path] = asked
            fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            return True
        except OSError as e:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            raise LogUnavailable(f"could not keep {what}: {e.strerror or e}") from e

    async def _keep(self, kind: PerDay, clinic: str, day: dt.date, data: bytes) -> None:
        if self.data_dir is None:
            self._per_day[kind.folder, clinic, day] = data
            return
        asked = next(self._asked)
        await asyncio.to_thread(self._replace, self._dir(clinic, kind.folder), day.isoformat(), data, kind.what, asked)

    async def keep_setup(self, clinic: str, setup: KeptSetUp) -> bool:
        async with self._setup_lock:  # one process writes a data directory (floor/log/owner.py)
            kept = await self.setup_of(clinic)
            if kept is not None and kept.seq >= setup.seq:
                return False
            data = _encoder.encode(setup)
            if self.data_dir is None:
                self._setups[clinic] = data
                return True
            asked = next(self._asked)
            await asyncio.to_thread(
                self._replace, self._dir(clinic, "setup"), "set-up", data, "the clinic's set-up", asked
            )
            return True

    async def _setup_data(self, clinic: str) -> bytes | None:
        if self.data_dir is None:
            return self._setups.get(clinic)
        try:
            return await asyncio.to_thread((self._dir(clinic, "setup") / "set-up.json").read_bytes)
        except FileNotFoundError:
            return None

    async def _kept_data(self, kind: PerDay, clinic: str, day: dt.date) -> bytes | None:
        if self.data_dir is None:
            return self._per_day.get((kind.folder, clinic, day))
        try:
            return await asyncio.to_thread((self._dir(clinic, kind.folder) / f"{day.isoformat()}.json").read_bytes)
        except FileNotFoundError:
            return None

    async def forget_clinics_before(self, clinic: str, day: dt.date) -> None:
        if self.data_dir is None:
            for key in [k for k in self._per_day if k[1] == clinic and k[2] < day]:
                del self._per_day[key]
            return

        def forget() -> None:
            for kind in PER_DAY:
                for path in self._dir(clinic, kind.folder).glob("????-??-??.json"):
                    if dt.date.fromisoformat(path.stem) < day:
                        path.unlink(missing_ok=True)
                        with self._placing:
                            self._done.pop(path, None)
            # A temp file a crash left mid-write (each write has its own, so none is written over): gone once it
            # is older than any write takes. It may hold patients' names.
            stale = time.time() - STALE_PARTIAL_SECONDS
            for folder in ("upcoming", "setup", *(kind.folder for kind in PER_DAY)):
                for path in self._dir(clinic, folder).glob(f"*{_PARTIAL}"):
                    with contextlib.suppress(OSError):
                        if path.stat().st_mtime < stale:
                            path.unlink()

        await asyncio.to_thread(forget)

    async def get(self, clinic: str, day: dt.date) -> UpcomingSchedule | None:
        if self.data_dir is None:
            return self._memory.get((clinic, day))
        return await asyncio.to_thread(self._read, self._dir(clinic) / f"{day.isoformat()}.json")

    @staticmethod
    def _read(path: Path) -> UpcomingSchedule | None:
        try:
            return _decoder.decode(path.read_bytes())
        except FileNotFoundError:
            return None

    async def remove(self, clinic: str, day: dt.date, only: UpcomingSchedule | None = None) -> bool:
        if self.data_dir is None:
            if only is not None and self._memory.get((clinic, day)) != only:
                return False
            return self._memory.pop((clinic, day), None) is not None
        path = self._dir(clinic) / f"{day.isoformat()}.json"
        asked = next(self._asked)  # a file sent before the removal and still being written is not put back after it

        def unlink() -> bool:
            with self._placing:  # files are renamed into place under it: what is read here is what is removed
                if only is not None and self._read(path) != only:
                    return False
                self._done[path] = asked
                try:
                    path.unlink()
                except FileNotFoundError:
                    return False
                return True

        return await asyncio.to_thread(unlink)

    async def days(self, clinic: str) -> list[dt.date]:
        if self.data_dir is None:
            return sorted(d for c, d in self._memory if c == clinic)
        paths = await asyncio.to_thread(lambda: list(self._dir(clinic).glob("????-??-??.json")))
        return sorted(dt.date.fromisoformat(p.stem) for p in paths)


#: Keep a day's schedule only over the one seen (its stored bytes, or none): KEYS[1] the hash, ARGV the day, whether
#: one was seen ("1") or none ("0"), the one seen as encoded, and the new one.
_PUT_IF_SAME = """
local now = redis.call('HGET', KEYS[1], ARGV[1])
if (ARGV[2] == '0' and not now) or (ARGV[2] == '1' and now == ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
  return 1
end
return 0
"""

#: Keep a set-up only over one set before it: KEYS[1] the hash, ARGV the set-up's seq and its document.
_KEEP_IF_NEWER = """
local kept = redis.call('HGET', KEYS[1], 'seq')
if kept and tonumber(kept) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'setup', ARGV[2])
return 1
"""

#: Forget a day's schedule only if it is still the one given (its stored bytes): KEYS[1] the hash, ARGV the day and
#: the schedule as encoded.
_REMOVE_IF_SAME = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""


class RedisUpcoming(Upcoming):
    """In Redis beside the shared log, so whichever server ticks first at the day's opening books it."""

    def __init__(self, url: str, prefix: str = "floor") -> None:
        self.url = url
        self.prefix = prefix
        self.redis = None

    def _key(self, clinic: str, what: str = "upcoming") -> str:
        from floor.redis_client import hash_tagged

        return f"{hash_tagged(self.prefix, clinic)}:{what}"

    async def open(self) -> None:
        from floor.redis_client import connect

        self.redis = await connect(self.url, pool_size=8)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
            self.redis = None

    async def _call(self, what):
        from floor.redis_client import call

        return await call(self.redis, what, "the upcoming schedules")

    async def put(self, schedule: UpcomingSchedule, replaces: Replaces = ANYTHING) -> bool:
        data = _encoder.encode(schedule)
        key, day = self._key(schedule.clinic), schedule.day.isoformat()
        if isinstance(replaces, _Anything):
            await self._call(lambda: self.redis.hset(key, day, data))
            return True
        seen = await self._call(lambda: self.redis.hget(key, day))
        if not _is(_decoder.decode(seen) if seen else None, replaces):
            return False
        # Compared with what was read and kept in one step on the server: a file kept in between stays.
        args = (1, key, day, "1" if seen else "0", seen or b"", data)
        return bool(await self._call(lambda: self.redis.eval(_PUT_IF_SAME, *args)))

    async def get(self, clinic: str, day: dt.date) -> UpcomingSchedule | None:
        data = await self._call(lambda: self.redis.hget(self._key(clinic), day.isoformat()))
        return _decoder.decode(data) if data else None

    async def remove(self, clinic: str, day: dt.date, only: UpcomingSchedule | None = None) -> bool:
        if only is None:
            return bool(await self._call(lambda: self.redis.hdel(self._key(clinic), day.isoformat())))
        # Compared and removed in one step on the server: a file put between a read and a removal stays.
        args = (1, self._key(clinic), day.isoformat(), _encoder.encode(only))
        return bool(await self._call(lambda: self.redis.eval(_REMOVE_IF_SAME, *args)))

    async def days(self, clinic: str) -> list[dt.date]:
        keys = await self._call(lambda: self.redis.hkeys(self._key(clinic)))
        return sorted(dt.date.fromisoformat(k.decode()) for k in keys)

    async def _keep(self, kind: PerDay, clinic: str, day: dt.date, data: bytes) -> None:
        await self._call(lambda: self.redis.hset(self._key(clinic, kind.key), day.isoformat(), data))

    async def _kept_data(self, kind: PerDay, clinic: str, day: dt.date) -> bytes | None:
        return await self._call(lambda: self.redis.hget(self._key(clinic, kind.key), day.isoformat()))

    async def keep_setup(self, clinic: str, setup: KeptSetUp) -> bool:
        args = (1, self._key(clinic, "setup"), setup.seq, _encoder.encode(setup))
        return bool(await self._call(lambda: self.redis.eval(_KEEP_IF_NEWER, *args)))

    async def _setup_data(self, clinic: str) -> bytes | None:
        return await self._call(lambda: self.redis.hget(self._key(clinic, "setup"), "setup"))

    async def forget_clinics_before(self, clinic: str, day: dt.date) -> None:
        for key in (self._key(clinic, kind.key) for kind in PER_DAY):
            days = await self._call(lambda key=key: self.redis.hkeys(key))
            old = [d for d in days if dt.date.fromisoformat(d.decode()) < day]
            if old:
                await self._call(lambda key=key, old=old: self.redis.hdel(key, *old))
