"""The composition root: which backend keeps the log, the directory and the upcoming schedules, chosen in this
one place from the settings (floor/settings.py), and the `Floors` (floor/floors.py) that wires clinics, log,
clock and fan-out together. The commands (floor/cli/) build what they run on here; the web layer is given a
`Floors` and never imports this module."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from floor.clock import Clock, ScaledClock
from floor.settings import Settings

# Each backend is imported where it is chosen, so that a command loads only the ones it uses (`floor staff`
# needs neither a clinic runtime nor the schedules, and no command without a Redis URL loads redis-py).
if TYPE_CHECKING:
    from floor.config import Clinic
    from floor.core.events import Event
    from floor.directory.base import Directory
    from floor.directory.embedded import EmbeddedDirectory
    from floor.floors import Floors
    from floor.log.base import EventLog
    from floor.schedule.upcoming import Upcoming


def build_floors(clinics: list[Clinic], settings: Settings, clock: Clock | None = None) -> Floors:
    """A server's Floors: on Redis when a URL is set (several servers share one floor), else embedded."""
    from floor.floors import Floors

    floors = Floors(
        clinics,
        event_log(settings, clinics=len(clinics)),
        clock,
        directory=directory(settings),
        upcoming=upcoming(settings),
    )
    floors.retention_days = settings.retention_days
    return floors


def event_log(settings: Settings, clinics: int) -> EventLog:
    """The Redis log when a URL is set, else the embedded one. `clinics`: how many clinics will follow it (the
    Redis log keeps a connection for each one's blocking read). With Redis, `settings.replica_ack` says how many
    replicas must have a tap before it is answered."""
    if settings.redis_url:
        from floor.log.redis import RedisLog

        return RedisLog(settings.redis_url, clinics=clinics, replica_ack=settings.replica_ack)
    from floor.log.embedded import EmbeddedLog

    return EmbeddedLog(settings.data_dir)


def directory(settings: Settings) -> Directory:
    """Staff, sign-ins and displays: in Redis when a URL is set, else in the data directory."""
    if settings.redis_url:
        from floor.directory.redis import RedisDirectory

        return RedisDirectory(settings.redis_url)
    return embedded_directory(settings.data_dir)


def upcoming(settings: Settings) -> Upcoming:
    """Schedules imported ahead of their day: in Redis when a URL is set, else in the data directory."""
    if settings.redis_url:
        from floor.schedule.upcoming import RedisUpcoming

        return RedisUpcoming(settings.redis_url)
    from floor.schedule.upcoming import FileUpcoming

    return FileUpcoming(settings.data_dir)


def clock(settings: Settings) -> Clock | None:
    """A rehearsal's fast clock when one is set (`floor serve --clock-start`), else None: the system clock."""
    if settings.clock_start is None:
        return None
    return ScaledClock(settings.clock_start, settings.clock_speed, settings.clock_origin)


async def day_events(settings: Settings, clinic: str, day: dt.date) -> list[Event] | None:
    """A clinic day's events, read without changing anything: safe beside a running server (the embedded file
    is read as it is, and a record being written is left alone, not cut off as a starting server would).
    None: the embedded log has no file for that day."""
    if settings.redis_url:
        from floor.log.redis import RedisLog

        redis_log = RedisLog(settings.redis_url)
        await redis_log.open()
        try:
            return (await redis_log.read_day(clinic, day))[1]
        finally:
            await redis_log.close()
    from floor.log.embedded import scan

    path = day_file(settings, clinic, day)
    if not path.exists():
        return None
    records, _ = scan(path.read_bytes(), str(path))
    return [r.event for r in records]


async def log_days(settings: Settings, clinic: str) -> list[dt.date]:
    """The days a clinic's log holds, oldest first, read without changing anything."""
    if settings.redis_url:
        from floor.log.redis import RedisLog

        redis_log = RedisLog(settings.redis_url)
        await redis_log.open()
        try:
            return await redis_log.days(clinic)
        finally:
            await redis_log.close()
    directory = Path(settings.data_dir) / clinic
    return sorted(dt.date.fromisoformat(p.stem) for p in directory.glob("????-??-??.log")) if directory.is_dir() else []


async def clinic_on(settings: Settings, clinic: Clinic, day: dt.date) -> Clinic:
    """The clinic file `day` ran on, where it was kept (floor.schedule.upcoming); else `clinic`."""
    kept = upcoming(settings)
    await kept.open()
    try:
        return await kept.clinic_on(clinic.id, day) or clinic
    finally:
        await kept.close()


def day_file(settings: Settings, clinic: str, day: dt.date) -> Path:
    """Where the embedded log keeps a clinic day."""
    return Path(settings.data_dir) / clinic / f"{day.isoformat()}.log"


def embedded_floors(clinics: list[Clinic], data_dir: str | Path, clock: Clock | None = None) -> Floors:
    """Floors on the embedded log in `data_dir` (the demo, tests and tools)."""
    from floor.floors import Floors
    from floor.log.embedded import EmbeddedLog
    from floor.schedule.upcoming import FileUpcoming

    return Floors(
        clinics, EmbeddedLog(data_dir), clock, directory=embedded_directory(data_dir), upcoming=FileUpcoming(data_dir)
    )


def embedded_directory(data_dir: str | Path) -> EmbeddedDirectory:
    from floor.directory.embedded import EmbeddedDirectory

    return EmbeddedDirectory(Path(data_dir) / "directory.json")
