"""The embedded log: one append-only file per clinic and day on local disk, fsynced before a tap is answered.

Layout: `DATA_DIR/<clinic>/<YYYY-MM-DD>.log`. Each record is framed as a 4-byte length, a 4-byte CRC-32 and
the record's JSON, so a record torn by a crash is recognised at replay. Records appended together (a schedule
import) share one frame, a JSON array, so a crash keeps all of them or none.

A record is on the disk whole or not at all: a write that fails partway (a full disk stores what fits) is cut
back to the last whole record before the append answers, and a clinic whose cut-back failed takes no append
until it has been cut back. A damaged tail found at start is never thrown away: its bytes are moved beside the
log (`<day>.log.damaged-<byte>`), the file is cut back to its intact part, and an error names the file, the
byte and the last good seq. Damage with whole records after it refuses to start; `floor check` (`check_logs`)
looks at every file offline and says what it would do.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import errno
import functools
import os
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import structlog

from floor.core.events import Event
from floor.log.base import EventLog, KeyTaken, LogCorrupt, LogUnavailable, Receipt, Record, SeqTaken, check_batch
from floor.log.files import AppendFile, FileReplaced, Files, OsFiles

log = structlog.get_logger("floor.log")

_HEADER = struct.Struct(">II")
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Record | list[Record])


#: Free bytes, beyond the record that did not fit, a full disk must have again before /readyz says it is ready.
ROOM_AFTER_FULL = 16 * 1024
#: The small file a log that failed to write creates and removes to see whether the disk takes writes again.
PROBE_NAME = ".floor-write-probe"
#: What a tap to a clinic whose day file was replaced under the running server is told (the log names the file).
REPLACED_TAP = (
    "the clinic's log was replaced, changed or removed on the disk while the server ran (a backup restored?): "
    "taps are refused until the server is restarted"
)
#: What /readyz says meanwhile.
REPLACED = (
    "a clinic's log file was replaced, changed or removed on the disk while the server ran: its taps are refused "
    "until the server is restarted (run `floor check` first; the server's log names the file)"
)


class DamagedLog(LogCorrupt):
    """Damage with whole records after it: cutting it off could throw acknowledged taps away."""

    def __init__(self, path: str, offset: int, after: int, last_seq: int | None) -> None:
        data_dir = Path(path).parent.parent
        seq = f"seq {last_seq}" if last_seq is not None else "none in this file"
        super().__init__(
            f"{path}: damaged record at byte {offset} with {after} bytes after it, some of them whole records "
            f"(the last good record before it: {seq}). Floor does not cut off records that may have been "
            f"acknowledged. Stop every server on this data directory and run `floor check --data-dir {data_dir}`: "
            "it says what is damaged and whether `floor check --repair` can mend it; otherwise restore the file "
            "from a backup."
        )
        self.path, self.offset, self.after, self.last_seq = path, offset, after, last_seq


def quarantine_path(path: Path, offset: int, exists) -> Path:
    """Where the damaged bytes from `offset` on are kept, beside the log (never over an earlier copy)."""
    target = path.with_name(f"{path.name}.damaged-{offset}")
    n = 1
    while exists(target):
        n += 1
        target = path.with_name(f"{path.name}.damaged-{offset}.{n}")
    return target


def move_tail_aside(
    files: Files, path: Path, data: bytes, intact: int, records: Sequence[Record], **context: str
) -> Path:
    """Move a day file's damaged tail (its bytes from `intact` on) beside it, cut the file back to its intact
    part, and log the error naming the file, the byte and the last good seq: what a starting server and
    `floor check --repair` both do. Where the bytes went; an OSError leaves the file as it was."""
    target = quarantine_path(path, intact, files.exists)
    files.write_new(target, data[intact:])
    files.truncate(path, intact)
    log.error(
        "damaged_tail_quarantined",
        file=str(path),
        offset=intact,
        bytes=len(data) - intact,
        last_seq=records[-1].event.seq if records else None,
        moved_to=str(target),
        **context,
    )
    return target


def frame(*records: Record) -> bytes:
    """One record as itself; several appended together as one array, so they are whole or torn together."""
    payload = _encoder.encode(records[0] if len(records) == 1 else list(records))
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def scan(data: bytes, source: str) -> tuple[list[Record], int]:
    """Decode the records of one file; returns them and the length of the intact part.

    A damaged final record (a crash mid-write) ends the scan; damage followed by more data is corruption.
    """
    records: list[Record] = []
    offset = 0
    while offset < len(data):
        end = offset + _HEADER.size
        if end <= len(data):
            length, crc = _HEADER.unpack_from(data, offset)
            body = data[end : end + length]
            if len(body) == length and length > 0 and zlib.crc32(body) == crc:
                try:
                    found = _decoder.decode(body)
                except msgspec.DecodeError as e:
                    raise LogCorrupt(
                        f"{source}: the record at byte {offset} has a good checksum but is unreadable "
                        f"({e}): written by another version of Floor? Run `floor check --data-dir "
                        f"{Path(source).parent.parent}` and restore the file from a backup."
                    ) from None
                records.extend(found if isinstance(found, list) else [found])
                offset = end + length
                continue
            # Torn: the record runs to the end of the file with nothing whole after it (a length damaged in
            # the middle of the file can point past the end too), or only zeros the file system added follow.
            torn = (end + length >= len(data) and not _whole_record_after(data, offset + 1)) or not data[offset:].strip(
                b"\0"
            )
        else:
            torn = True
        if not torn:
            raise DamagedLog(source, offset, len(data) - offset, records[-1].event.seq if records else None)
        break
    return records, offset


def _whole_record_after(data: bytes, start: int) -> bool:
    """Whether an intact record starts anywhere from `start` on."""
    return _next_whole_record(data, start) is not None


def _next_whole_record(data: bytes, start: int) -> int | None:
    """Where the first intact record from `start` on begins."""
    for at in range(start, len(data) - _HEADER.size):
        length, crc = _HEADER.unpack_from(data, at)
        body = data[at + _HEADER.size : at + _HEADER.size + length]
        if len(body) == length > 0 and zlib.crc32(body) == crc:
            return at
    return None


@dataclass
class _Clinic:
    directory: Path
    last_seq: int = 0
    day: dt.date | None = None
    handle: AppendFile | None = None
    size: int = 0
    receipts: dict[str, Receipt] = field(default_factory=dict)
    receipt_times: dict[str, dt.datetime] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    appended: asyncio.Condition = field(default_factory=asyncio.Condition)
    #: A failed append could not be cut back: the day file may be longer than `size`. Nothing is appended
    #: until it has been cut back to `size` (the end of the last whole record).
    broken: bool = False
    #: The day file was replaced, changed or removed by something else while open (a backup restored over a
    #: running server): this server's idea of the log is not the disk's, so nothing is appended until a restart.
    replaced: bool = False


@dataclass
class _Failure:
    """A clinic's last write that failed (cleared by its next that succeeds, or by a probe that finds room again)."""

    sentence: str
    wanted: int
    #: The day file the write was for: the disk takes writes again only where it failed (None: at start).
    file: Path | None = None


class EmbeddedLog(EventLog):
    def __init__(self, data_dir: str | Path, files: Files | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.files = files or OsFiles()
        self._clinics: dict[str, _Clinic] = {}
        self._closed = False
        #: The failed writes /readyz is told of, each clinic's on its own (by its name; None: the data directory's
        #: at start): one slot for all kept only the last, so a second clinic failing at once overwrote the first,
        #: and /readyz read ready once the second could write, the first still refusing every tap.
        self._failures: dict[str | None, _Failure] = {}
        self._mending: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await asyncio.to_thread(self.files.makedirs, self.data_dir)
        self._closed = False
        # A start onto a full disk is told by /readyz at once, as after a failed write, not only once the
        # first tap has been refused (a load balancer sends no tap to prove it); cleared as that one is.
        if not await asyncio.to_thread(self._room_for, _Failure("", 0)):
            self._failures[None] = _Failure(
                "the embedded log's disk has no room (a small file could not be written, or under "
                f"{ROOM_AFTER_FULL // 1024} KiB free): taps will be refused until it has",
                0,
            )
            log.error(
                "log_disk_without_room_at_start",
                data_dir=str(self.data_dir),
                then="free space on its disk: /readyz answers 200 by itself once there is room",
            )

    async def close(self) -> None:
        # Closed first: an append arriving now must not reopen a file the next owner of the directory writes.
        self._closed = True
        for c in self._clinics.values():
            async with c.lock:
                if c.handle is not None:
                    c.handle.close()
                    c.handle = None

    def _path(self, c: _Clinic, day: dt.date) -> Path:
        return c.directory / f"{day.isoformat()}.log"

    def _days(self, c: _Clinic) -> list[dt.date]:
        return [dt.date.fromisoformat(p.stem) for p in self.files.list(c.directory, "????-??-??.log")]

    def _read(self, c: _Clinic, day: dt.date, *, repair: bool = False) -> list[Record]:
        return self._read_sized(c, day, repair=repair)[0]

    def _read_sized(self, c: _Clinic, day: dt.date, *, repair: bool = False) -> tuple[list[Record], int]:
        """A day's records, and the length of its file once read (cut back to its intact part if repaired)."""
        path = self._path(c, day)
        data = self.files.read(path)
        records, intact = scan(data, str(path))
        if intact < len(data):
            if repair:
                self._quarantine(path, data, intact, records)
                return records, intact
            # An older day (only the newest is appended to): left as it is; `floor check --repair` moves it.
            log.warning(
                "torn_record_ignored",
                file=str(path),
                offset=intact,
                bytes=len(data) - intact,
                then="stop the server and run `floor check --repair` to move the damaged bytes beside the file",
            )
        return records, len(data)

    def _quarantine(self, path: Path, data: bytes, intact: int, records: list[Record]) -> None:
        """Move a damaged tail beside the log, then cut the log back to its intact part. A torn write of a
        crash is the usual cause, and no tap it held was acknowledged; but a flipped byte on the disk may
        have hit one that was, so its bytes are kept for a person to look at."""
        try:
            move_tail_aside(
                self.files,
                path,
                data,
                intact,
                records,
                hint="a torn last write of a crash was never acknowledged; a damaged one that was is in the moved file",
            )
        except OSError as e:
            log.error(
                "damaged_tail_not_moved",
                file=str(path),
                offset=intact,
                last_seq=records[-1].event.seq if records else None,
                error=e.strerror or str(e),
            )
            raise LogUnavailable(
                f"{path}: the damaged tail from byte {intact} on could not be moved beside it "
                f"({e.strerror or e}); nothing is appended after damage. Free space on the disk and start again "
                "(or run `floor check --repair`)."
            ) from e

    def _load(self, clinic: str) -> _Clinic:
        """Index a clinic: its last seq, and the receipts of its two newest days (within the TTL)."""
        c = _Clinic(self.data_dir / clinic)
        recent: list[Record] = []
        for i, day in enumerate(reversed(self._days(c))):
            if i == 0:
                # The newest day file, repaired, as this server found it: the first append opens it again and
                # checks that it is still so (a backup restored between the start and the first tap would
                # otherwise be appended to).
                records, c.size = self._read_sized(c, day, repair=True)
                c.day = day
            else:
                records = self._read(c, day)
            if records and not recent:
                c.last_seq = records[-1].event.seq
                recent = records
            elif records:
                recent = records + recent
                break
        horizon = recent[-1].event.at if recent else None
        for r in recent:
            if r.receipt is not None and horizon - r.event.at <= self.receipt_ttl:
                c.receipts[r.receipt.key] = r.receipt
                c.receipt_times[r.receipt.key] = r.event.at
        return c

    def preload(self, clinics: Sequence[str]) -> None:
        """Index the clinics now, outside any event loop: `floor serve` does it before it starts serving, so a
        damaged log is reported in one line naming the file, not as a traceback of the server's start."""
        for clinic in clinics:
            if clinic not in self._clinics:
                self._clinics[clinic] = self._load(clinic)
                self._check_writable(self._clinics[clinic])

    async def _clinic(self, clinic: str) -> _Clinic:
        c = self._clinics.get(clinic)
        if c is None:
            c = await asyncio.to_thread(self._load, clinic)
            if self._clinics.setdefault(clinic, c) is c:
                await asyncio.to_thread(self._check_writable, c)
            c = self._clinics[clinic]
        return c

    def _check_writable(self, c: _Clinic) -> None:
        """At start, whether the clinic's directory takes writes, and its newest day file opens for appending: one
        the server's user may not write (restored or imported as root) read ready on /readyz until the first tap
        to it was refused (a review of the clinic's start). Said as a failed write is, and looked at again by each
        /readyz until it takes writes (`trouble`). A clinic with no directory yet is the data directory's (`open`)."""
        if not self.files.exists(c.directory):
            return
        file = self._path(c, c.day) if c.day is not None else c.directory / PROBE_NAME
        probe = c.directory / PROBE_NAME
        try:
            self.files.remove(probe)
            self.files.write_new(probe, b"Floor checks that its disk takes writes.\n")
            self.files.remove(probe)
            if c.day is not None and self.files.exists(file):
                self.files.open_append(file).close()
            return
        except OSError as e:
            why = e.strerror or str(e)
        failure = _Failure(
            f"the embedded log cannot write in clinic {c.directory.name}'s directory ({why}): taps to it will be "
            "refused until it can",
            0,
            file,
        )
        self._failures.setdefault(c.directory.name, failure)
        log.error(
            "log_clinic_not_writable_at_start",
            clinic=c.directory.name,
            directory=str(c.directory),
            file=str(file),
            error=why,
            then="check that the server's user may write the clinic's directory and its day files (ls -l; chown -R "
            "the data directory to that user): /readyz answers 200 by itself once it can write",
        )

    async def append_all(self, clinic: str, records: Sequence[Record], held: str = "") -> None:
        check_batch(records)
        c = await self._clinic(clinic)
        async with c.lock:
            if self._closed:
                raise LogUnavailable("the log is closed: the server is stopping")
            first_seq = records[0].event.seq
            if first_seq != c.last_seq + 1:
                raise SeqTaken(clinic, first_seq, c.last_seq)
            for record in records:
                if record.receipt is not None and (first := c.receipts.get(record.receipt.key)) is not None:
                    raise KeyTaken(first)
            try:
                await _to_thread_to_the_end(self._write, c, records)
            finally:
                async with c.appended:  # a spurious wake-up after a failed write is harmless: tail checks again
                    c.appended.notify_all()

    def _write(self, c: _Clinic, records: Sequence[Record]) -> None:
        event = records[0].event
        if c.replaced:
            raise LogUnavailable(REPLACED_TAP)
        if c.broken:
            self._cut_back(c)
        if c.day != event.day or c.handle is None:
            if c.handle is not None:
                c.handle.close()
                c.handle = None
            if c.day is not None and c.day != event.day:
                self._still_as_left(c)
            path = self._path(c, event.day)
            try:
                self.files.makedirs(c.directory)
                handle = self.files.open_append(path)
                try:
                    # On every open, not only when the file is new: a crash or a failed sync between creating
                    # the file and syncing its directory would otherwise leave its name never made durable.
                    self.files.sync_dir(c.directory)
                    size = len(self.files.read(path))
                except OSError:
                    handle.close()
                    raise
            except OSError as e:
                raise self._failed(c, "could not open the log", e, 0, path) from e
            if c.day == event.day and size != c.size:  # opened again (after a failed write): as this server left it?
                handle.close()
                raise self._replaced(c, path)
            c.handle, c.day, c.size = handle, event.day, size
        data = frame(*records)
        try:
            c.handle.write(data)
            c.handle.sync()
        except FileReplaced as e:
            raise self._replaced(c, e.path) from e
        except OSError as e:
            # Cut off whatever part reached the file, or the next append would follow a damaged record.
            with contextlib.suppress(OSError):
                c.handle.close()
            c.handle = None
            path = self._path(c, event.day)
            try:
                self.files.truncate(path, c.size)
            except OSError as cut:
                c.broken = True
                log.error(
                    "log_cut_back_failed",
                    clinic=c.directory.name,
                    file=str(path),
                    size=c.size,
                    error=cut.strerror or str(cut),
                    then="no append until the file is cut back",
                )
            raise self._failed(c, "could not write the log", e, len(data), path) from e
        # The clinic writes again; and the disk has room, so a start onto a full one is past too.
        self._failures.pop(c.directory.name, None)
        self._failures.pop(None, None)
        c.size += len(data)
        c.last_seq = records[-1].event.seq
        for record in records:
            if record.receipt is not None:
                c.receipts[record.receipt.key] = record.receipt
                c.receipt_times[record.receipt.key] = record.event.at
        self._expire_receipts(c, records[-1].event.at)

    def _still_as_left(self, c: _Clinic) -> None:
        """Before the next day's file is begun: the last day's file is as long as this server left it (a backup
        restored overnight, the server running, would otherwise go unnoticed, its last taps lost with it)."""
        assert c.day is not None
        path = self._path(c, c.day)
        try:
            size = len(self.files.read(path))
        except FileNotFoundError:
            size = None
        except OSError as e:
            raise self._failed(c, "could not read the log", e, 0, path) from e
        if size != c.size:
            raise self._replaced(c, path)

    def _replaced(self, c: _Clinic, path: Path) -> LogUnavailable:
        """The day file is not the one this server appended to: refuse this clinic's taps until a restart. The
        tap is told in a line without the file (the tablet shows it; the path is in the server's log)."""
        if c.handle is not None:
            with contextlib.suppress(OSError):
                c.handle.close()
            c.handle = None
        c.replaced = True
        log.error(
            "log_file_replaced",
            clinic=c.directory.name,
            file=str(path),
            seq=c.last_seq,
            then="taps to this clinic are refused until a restart reads the log as it is now: stop the server, "
            "run `floor check`, start it",
        )
        return LogUnavailable(REPLACED_TAP)

    def _failed(self, c: _Clinic, what: str, e: OSError, wanted: int, file: Path) -> LogUnavailable:
        """Remember the failure for /readyz, and the answer for the tap (503 with Retry-After)."""
        why = e.strerror or str(e)
        full = e.errno in (errno.ENOSPC, errno.EDQUOT)
        sentence = (
            f"the embedded log's disk is full ({why}): taps are refused until there is room"
            if full
            else f"the embedded log could not write ({why}): taps are refused until a write succeeds"
        )
        self._failures[c.directory.name] = _Failure(sentence, wanted, file)
        log.error(
            "log_write_failed",
            clinic=c.directory.name,
            error=why,
            errno=e.errno,
            bytes=wanted,
            file=str(file),
            then=(
                "taps are answered 503 until there is room: free space on the data directory's disk"
                if full
                else "taps are answered 503 until a write succeeds: check the disk, and that the server's user "
                "may write this file and its directory (ls -l; chown -R the data directory to that user)"
            )
            + " (/readyz answers 200 by itself once it can write)",
        )
        return LogUnavailable(f"{what}: {why}.")

    def _cut_back(self, c: _Clinic) -> None:
        """Cut a day file back to its last whole record, after a failed append could not (under the lock)."""
        assert c.day is not None
        path = self._path(c, c.day)
        try:
            size = len(self.files.read(path))
            if size > c.size:
                self.files.truncate(path, c.size)
        except OSError as e:
            raise self._failed(
                c, f"{path} could not be cut back to its last whole record after a failed write", e, 0, path
            ) from e
        if size < c.size:
            log.error("log_shorter_than_stored", file=str(path), size=size, stored=c.size)
            raise LogUnavailable(
                f"{path} holds {size} bytes, fewer than the {c.size} stored: something else "
                "changed it. Stop the server and run `floor check`."
            )
        c.broken = False
        log.info("log_cut_back", clinic=c.directory.name, file=str(path), size=c.size)

    async def trouble(self, timeout: float) -> str | None:
        """While a clinic's last write failed (and none of its has succeeded since), a sentence saying so: each
        clinic's failure is kept until that clinic writes again, whatever another clinic does. A failed write is
        looked at again here, so /readyz recovers when room comes back even if no tap arrives to prove it (a
        load balancer sends none to an instance that is not ready): a clinic whose cut-back failed is cut back
        now, and the disk must take a small file and have room for the record that failed and more."""
        broken = [c for c in self._clinics.values() if c.broken]
        if not self._failures and not broken:
            return REPLACED if any(c.replaced for c in self._clinics.values()) else None
        try:
            async with asyncio.timeout(timeout):
                if broken:
                    # In a task of its own: it holds a clinic's lock until its file is cut back, however long
                    # the disk takes, while /readyz answers within its timeout.
                    if self._mending is None or self._mending.done():
                        self._mending = asyncio.create_task(self._mend(broken), name="floor-log-mend")
                    await asyncio.shield(self._mending)
                for clinic, failure in list(self._failures.items()):
                    # Each where it failed; cleared only if no newer failure of that clinic came meanwhile.
                    if await asyncio.to_thread(self._room_for, failure) and self._failures.get(clinic) is failure:
                        del self._failures[clinic]
                        log.info("log_disk_has_room_again", clinic=clinic)
        except TimeoutError:
            return f"the embedded log's disk did not answer within {timeout:g} s after a failed write"
        if any(c.broken for c in self._clinics.values()):
            return "the embedded log could not cut a failed write back: taps are refused until it can"
        if any(c.replaced for c in self._clinics.values()):
            return REPLACED
        return next((f.sentence for f in self._failures.values()), None)

    async def _mend(self, broken: list[_Clinic]) -> None:
        for c in broken:
            async with c.lock:
                if c.broken and not self._closed:
                    with contextlib.suppress(LogUnavailable):
                        await asyncio.to_thread(self._cut_back, c)

    def _room_for(self, failure: _Failure) -> bool:
        """Whether the disk takes writes again: a small file is written, synced and removed, and there is room
        for the record that did not fit, and some more. Where the write failed: in its clinic's directory, and
        its day file opens for appending (a directory or file the server's user may not write, its disk
        read-only, failed every tap to that clinic while the data directory beside it took the small file)."""
        directory = self.data_dir if failure.file is None else failure.file.parent
        probe = directory / PROBE_NAME
        try:
            self.files.makedirs(directory)
            self.files.remove(probe)
            self.files.write_new(probe, b"Floor checks that its disk takes writes again.\n")
            self.files.remove(probe)
            if failure.file is not None and self.files.exists(failure.file):
                self.files.open_append(failure.file).close()
            free = self.files.free_space(directory)
        except OSError:
            return False
        return free is None or free >= failure.wanted + ROOM_AFTER_FULL

    def _expire_receipts(self, c: _Clinic, now: dt.datetime) -> None:
        oldest = next(iter(c.receipt_times.values()), None)
        if oldest is not None and now - oldest > self.receipt_ttl:
            for key, at in list(c.receipt_times.items()):
                if now - at <= self.receipt_ttl:
                    break
                del c.receipt_times[key], c.receipts[key]

    async def last_seq(self, clinic: str) -> int:
        return (await self._clinic(clinic)).last_seq

    async def read_day(self, clinic: str, day: dt.date) -> tuple[int, list[Event]]:
        c = await self._clinic(clinic)
        return await asyncio.to_thread(self._read_day, c, day)

    def _read_day(self, c: _Clinic, day: dt.date) -> tuple[int, list[Event]]:
        days = self._days(c)
        if day in days:
            events = [r.event for r in self._read_kept(c, day) or []]
            if events:
                return events[0].seq - 1, events
        for earlier in reversed([d for d in days if d < day]):
            records = self._read_kept(c, earlier)
            if records:
                return records[-1].event.seq, []
        return 0, []

    async def days(self, clinic: str) -> list[dt.date]:
        c = await self._clinic(clinic)
        return sorted(await asyncio.to_thread(self._days, c))

    async def read(self, clinic: str, since: int, held: str = "") -> list[Event] | None:
        c = await self._clinic(clinic)
        if since >= c.last_seq:
            return []
        return await asyncio.to_thread(self._read_since, c, since)

    def _read_kept(self, c: _Clinic, day: dt.date) -> list[Record] | None:
        """A past day's records, or None if the day was pruned since it was listed (a prune runs beside reads)."""
        try:
            return self._read(c, day)
        except FileNotFoundError:
            return None

    def _read_since(self, c: _Clinic, since: int) -> list[Event] | None:
        found: list[Event] = []
        for day in reversed(self._days(c)):
            records = self._read_kept(c, day)
            if records is None:
                return None  # pruned meanwhile: the log no longer holds everything since
            events = [r.event for r in records]
            found = [e for e in events if e.seq > since] + found
            if events and events[0].seq <= since + 1:
                return found
        return None

    async def receipt(self, clinic: str, key: str) -> Receipt | None:
        return (await self._clinic(clinic)).receipts.get(key)

    async def prune(self, clinic: str, before: dt.date) -> list[dt.date]:
        c = await self._clinic(clinic)
        # Not under the clinic's lock: only days older than the newest are deleted, and appends only ever
        # write the newest day (or a newer one), so taps never wait for a prune.
        return await asyncio.to_thread(self._prune, c, before)

    def _prune(self, c: _Clinic, before: dt.date) -> list[dt.date]:
        days = self._days(c)
        if not [d for d in days[:-1] if d < before]:
            return []  # the usual answer, from a directory listing alone
        # The newest day with an event is kept whatever its date: reopening reads the last seq from it.
        newest = next((d for d in reversed(days) if self._read(c, d)), None)
        doomed = [d for d in days if d < before and newest is not None and d < newest and d != c.day]
        for day in doomed:
            self.files.remove(self._path(c, day))
        if doomed:
            self.files.sync_dir(c.directory)
            log.info(
                "days_pruned", clinic=c.directory.name, first=str(doomed[0]), last=str(doomed[-1]), days=len(doomed)
            )
        return doomed

    async def tail(self, clinic: str, after: int, wait: float, held: str = "") -> list[Event]:
        c = await self._clinic(clinic)
        async with c.appended:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(c.appended.wait_for(lambda: c.last_seq > after), wait)
        return await self.read(clinic, after) or []


async def _to_thread_to_the_end(function, *args):
    """Run a file operation in a thread, shielded: once it starts, the clinic's index must follow the disk even
    if the caller goes away, and the caller's lock is kept until it has, or the next append would be checked
    against a stale index (or cut back a record written meanwhile).

    Handed to the executor at once (what `asyncio.to_thread` does, without the task around it): a task would
    start a turn of the loop later and its result would come back a turn later too, and on a busy loop each
    turn waits behind a fan-out step. On `fanout.py --sockets 1000` (one run each) an append's thread started
    at p90 2.6 ms after it was asked for, not 3.8, and its result was back on the loop at p90 0.6 ms, not 1.1."""
    call = functools.partial(contextvars.copy_context().run, function, *args)
    work = asyncio.get_running_loop().run_in_executor(None, call)
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        while not work.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([work])
        raise


# -- `floor check`: every file, offline ---------------------------------------------------------------------


#: `floor check` works on the real disk, offline.
_DISK = OsFiles()


class Finding(msgspec.Struct):
    """One problem `floor check` found: the file, what is wrong, and what `--repair` does about it (None when
    only a person can: restore from a backup)."""

    file: str
    problem: str
    repair: str | None
    repaired: bool = False


def check_logs(data_dir: str | Path, *, repair: bool = False) -> tuple[list[Finding], int, int]:
    """Every clinic's day files under `data_dir`: each record's checksum, seqs in order and gap-free across
    days, damaged tails and damage in the middle. Returns the findings, the files and the records looked at.
    With `repair`, damaged tails are moved beside their file (as a starting server does), and so is damage in
    the middle that holds no record (the seqs after it carry on from the seqs before it). Run it with no server
    writing to the data directory."""
    root = Path(data_dir)
    findings: list[Finding] = []
    files = records_seen = 0
    clinics = sorted(d for d in root.iterdir() if d.is_dir()) if root.is_dir() else []
    for clinic in clinics:
        previous: int | None = None  # the last seq of the day before; None at the first (pruned history)
        for path in sorted(clinic.glob("????-??-??.log")):
            files += 1
            found, seen, previous = _check_day(path, previous, repair)
            findings += found
            records_seen += seen
    return findings, files, records_seen


def _check_day(path: Path, previous: int | None, repair: bool) -> tuple[list[Finding], int, int | None]:
    """One day file's findings, how many records it holds, and its last seq (None past damage)."""
    data = path.read_bytes()
    findings: list[Finding] = []
    try:
        records, intact = scan(data, str(path))
    except DamagedLog as damage:
        return [_damage_in_the_middle(path, data, damage, previous, repair)], 0, None
    except LogCorrupt as e:
        return [Finding(str(path), str(e), None)], 0, None
    if intact < len(data):
        target = quarantine_path(path, intact, Path.exists)
        last = f"seq {records[-1].event.seq}" if records else "none in this file"
        finding = Finding(
            str(path),
            f"damaged last record at byte {intact} ({len(data) - intact} bytes; the last "
            f"good record before it: {last})",
            f"move bytes {intact}-{len(data)} to {target.name} and cut the file back to {intact} bytes",
        )
        if repair:
            move_tail_aside(_DISK, path, data, intact, records, by="floor check")
            finding.repaired = True
        findings.append(finding)
    day = dt.date.fromisoformat(path.stem)
    for i, r in enumerate(records):
        if r.event.day != day:
            findings.append(
                Finding(str(path), f"record {i} (seq {r.event.seq}) belongs to {r.event.day}, not {day}", None)
            )
            break
        expected = previous + 1 if previous is not None else r.event.seq
        if r.event.seq != expected:
            what = "missing" if r.event.seq > expected else "out of order"
            findings.append(
                Finding(
                    str(path),
                    f"seq {r.event.seq} follows seq {expected - 1} (record {i}, "
                    f"seq {what}): restore the file from a backup",
                    None,
                )
            )
            break
        previous = r.event.seq
    return findings, len(records), previous


def _damage_in_the_middle(path: Path, data: bytes, damage: DamagedLog, previous: int | None, repair: bool) -> Finding:
    """Damage followed by whole records: mendable only when the damaged bytes hold no record, i.e. the seqs
    after them carry on from those before (zeros a failed write left, say); else a tap would be lost."""
    problem = (
        f"damaged record at byte {damage.offset} with {damage.after} bytes after it, some of them whole "
        f"records (the last good record before it: "
        f"{f'seq {damage.last_seq}' if damage.last_seq is not None else 'none in this file'})"
    )
    before, _ = scan(data[: damage.offset], str(path))
    resume = _next_whole_record(data, damage.offset + 1)
    try:
        after, intact = scan(data[resume:], str(path)) if resume is not None else ([], 0)
    except LogCorrupt:
        after = []
    last = before[-1].event.seq if before else previous
    if not after or last is None or after[0].event.seq != last + 1 or resume + intact != len(data):
        lost = f"seq {last + 1}" if last is not None else "records"
        return Finding(str(path), f"{problem}; {lost} is in the damaged part", None)
    target = quarantine_path(path, damage.offset, Path.exists)
    finding = Finding(
        str(path),
        f"{problem}; the damaged bytes {damage.offset}-{resume} hold no record (seq "
        f"{after[0].event.seq} after them follows seq {last})",
        f"move bytes {damage.offset}-{resume} to {target.name} and join the records on either side",
    )
    if repair:
        _DISK.write_new(target, data[damage.offset : resume])
        joined = path.with_name(path.name + ".joined")
        joined.unlink(missing_ok=True)
        _DISK.write_new(joined, data[: damage.offset] + data[resume:])
        os.replace(joined, path)
        _DISK.sync_dir(path.parent)
        finding.repaired = True
        log.error(
            "damaged_bytes_quarantined",
            file=str(path),
            offset=damage.offset,
            bytes=resume - damage.offset,
            last_seq=last,
            moved_to=str(target),
            by="floor check",
        )
    return finding
