"""The composition root: which backend keeps the log, the directory and the upcoming schedules, and the
`Floors` (floor/floors.py) that wires clinics, log, clock and fan-out together, chosen in this one place."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from floor.clock import Clock
from floor.config import Clinic
from floor.directory.embedded import EmbeddedDirectory
from floor.floors import Floors
from floor.log.embedded import EmbeddedLog
from floor.schedule.upcoming import FileUpcoming

if TYPE_CHECKING:
    from floor.log.redis import ReplicaAck


def embedded_floors(clinics: list[Clinic], data_dir: str | Path, clock: Clock | None = None) -> Floors:
    return Floors(clinics, EmbeddedLog(data_dir), clock, directory=embedded_directory(data_dir),
                  upcoming=FileUpcoming(data_dir))


def embedded_directory(data_dir: str | Path) -> EmbeddedDirectory:
    return EmbeddedDirectory(Path(data_dir) / "directory.json")


def build_floors(clinics: list[Clinic], *, data_dir: str | Path, redis_url: str | None = None,
                 clock: Clock | None = None, replica_ack: ReplicaAck | None = None) -> Floors:
    """The Redis log when a URL is given (several servers share one floor), else the embedded one.
    `replica_ack`: with Redis, how many replicas must have a tap before it is answered (none by default)."""
    if redis_url:
        from floor.directory.redis import RedisDirectory
        from floor.log.redis import NO_REPLICA_ACK, RedisLog
        from floor.schedule.upcoming import RedisUpcoming

        return Floors(clinics, RedisLog(redis_url, clinics=len(clinics), replica_ack=replica_ack or NO_REPLICA_ACK),
                      clock, directory=RedisDirectory(redis_url), upcoming=RedisUpcoming(redis_url))
    return embedded_floors(clinics, data_dir, clock)
