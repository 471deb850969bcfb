"""The embedded log: one append-only file per clinic and day on local disk, fsynced before a tap is answered.

Layout: `DATA_DIR/<clinic>/<YYYY-MM-DD>.log`. Each record is framed as a 4-byte length, a 4-byte CRC-32 and
the record's JSON, so a record torn by a crash is recognised at replay, logged, and cut off. Records appended
together (a schedule import) share one frame, a JSON array, so a crash keeps all of them or none.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import structlog

from floor.core.events import Event
from floor.log.base import EventLog, KeyTaken, LogCorrupt, LogUnavailable, Receipt, Record, SeqTaken, check_batch
from floor.log.files import AppendFile, Files, OsFiles

log = structlog.get_logger("floor.log")

_HEADER = struct.Struct(">II")
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Record | list[Record])


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
            body = data[end:end + length]
            if len(body) == length and length > 0 and zlib.crc32(body) == crc:
                try:
                    found = _decoder.decode(body)
                except msgspec.DecodeError as e:
                    raise LogCorrupt(f"{source}: record at byte {offset} is unreadable: {e}") from None
                records.extend(found if isinstance(found, list) else [found])
                offset = end + length
                continue
            # Torn: the record runs to the end of the file with nothing whole after it (a length damaged in
            # the middle of the file can point past the end too), or only zeros the file system added follow.
            torn = ((end + length >= len(data) and not _whole_record_after(data, offset + 1))
                    or not data[offset:].strip(b"\0"))
        else:
            torn = True
        if not torn:
            raise LogCorrupt(f"{source}: damaged record at byte {offset} with {len(data) - offset} bytes after it")
        break
    return records, offset


def _whole_record_after(data: bytes, start: int) -> bool:
    """Whether an intact record starts anywhere from `start` on."""
    for at in range(start, len(data) - _HEADER.size):
        length, crc = _HEADER.unpack_from(data, at)
        body = data[at + _HEADER.size:at + _HEADER.size + length]
        if len(body) == length > 0 and zlib.crc32(body) == crc:
            return True
    return False


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


class EmbeddedLog(EventLog):
    def __init__(self, data_dir: str | Path, files: Files | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.files = files or OsFiles()
        self._clinics: dict[str, _Clinic] = {}
        self._closed = False

    async def open(self) -> None:
        await asyncio.to_thread(self.files.makedirs, self.data_dir)
        self._closed = False

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
        path = self._path(c, day)
        data = self.files.read(path)
        records, intact = scan(data, str(path))
        if intact < len(data):
            log.warning("torn_record_ignored", file=str(path), offset=intact, bytes=len(data) - intact)
            if repair:
                self.files.truncate(path, intact)
        return records

    def _load(self, clinic: str) -> _Clinic:
        """Index a clinic: its last seq, and the receipts of its two newest days (within the TTL)."""
        c = _Clinic(self.data_dir / clinic)
        recent: list[Record] = []
        for i, day in enumerate(reversed(self._days(c))):
            records = self._read(c, day, repair=i == 0)
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

    async def _clinic(self, clinic: str) -> _Clinic:
        c = self._clinics.get(clinic)
        if c is None:
            c = await asyncio.to_thread(self._load, clinic)
            c = self._clinics.setdefault(clinic, c)
        return c

    async def append_all(self, clinic: str, records: Sequence[Record]) -> None:
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
            # Shielded: once the write starts, the index must follow the disk even if the caller goes away,
            # and the lock is kept until it has, or the next append would be checked against a stale index.
            write = asyncio.ensure_future(asyncio.to_thread(self._write, c, records))
            try:
                await asyncio.shield(write)
            except asyncio.CancelledError:
                while not write.done():
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.wait([write])
                raise
            finally:
                if write.done() and not write.cancelled() and write.exception() is None:
                    async with c.appended:
                        c.appended.notify_all()

    def _write(self, c: _Clinic, records: Sequence[Record]) -> None:
        event = records[0].event
        if c.day != event.day or c.handle is None:
            if c.handle is not None:
                c.handle.close()
                c.handle = None
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
                raise LogUnavailable(f"could not open the log: {e.strerror or e}") from e
            c.handle, c.day, c.size = handle, event.day, size
        data = frame(*records)
        try:
            c.handle.write(data)
            c.handle.sync()
        except OSError as e:
            # Cut off whatever part reached the file, or the next append would follow a damaged record.
            c.handle.close()
            c.handle = None
            try:
                self.files.truncate(self._path(c, event.day), c.size)
            except OSError:
                log.error("log_repair_failed", clinic=c.directory.name, error=str(e))
            raise LogUnavailable(f"could not write the log: {e.strerror or e}") from e
        c.size += len(data)
        c.last_seq = records[-1].event.seq
        for record in records:
            if record.receipt is not None:
                c.receipts[record.receipt.key] = record.receipt
                c.receipt_times[record.receipt.key] = record.event.at
        self._expire_receipts(c, records[-1].event.at)

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
            events = [r.event for r in self._read(c, day)]
            if events:
                return events[0].seq - 1, events
        for earlier in reversed([d for d in days if d < day]):
            records = self._read(c, earlier)
            if records:
                return records[-1].event.seq, []
        return 0, []

    async def read(self, clinic: str, since: int) -> list[Event] | None:
        c = await self._clinic(clinic)
        if since >= c.last_seq:
            return []
        return await asyncio.to_thread(self._read_since, c, since)

    def _read_since(self, c: _Clinic, since: int) -> list[Event] | None:
        found: list[Event] = []
        for day in reversed(self._days(c)):
            events = [r.event for r in self._read(c, day)]
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
            log.info("days_pruned", clinic=c.directory.name, first=str(doomed[0]), last=str(doomed[-1]),
                     days=len(doomed))
        return doomed

    async def tail(self, clinic: str, after: int, wait: float) -> list[Event]:
        c = await self._clinic(clinic)
        async with c.appended:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(c.appended.wait_for(lambda: c.last_seq > after), wait)
        return await self.read(clinic, after) or []
