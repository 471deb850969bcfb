"""The directory in one JSON file beside the embedded log (or only in memory, for tests).

Sign-ins, sign-outs and pairings are rare next to taps, so every change rewrites the whole file: written
to a temporary file, fsynced, renamed over the old one and the directory fsynced, so a crash leaves
either the old file or the new one, never half of one. `floor staff` commands may change it while the
server runs: every change holds an advisory lock on `directory.lock` and starts from the file as it is
(re-read when its inode, size or modification time moved), so neither side overwrites the other's change.

A change that cannot be written (a full disk) is refused as `LogUnavailable` (503 with Retry-After), the old
file left as it was and the change forgotten. A file that cannot be read refuses with `DirectoryCorrupt`,
naming the file and what to do; `floor check` (`check_directory`) looks at it offline.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import structlog
from msgspec import Struct, field

from floor.credentials import Lockout
from floor.directory.base import (
    CallerRemoved,
    Directory,
    Display,
    LastManager,
    Pairing,
    PairingLimits,
    Session,
    StaffMember,
    Strikes,
    TooManyPairings,
    account_key,
    clinic_left_without_a_manager,
    failed,
    refused_until,
    released,
    reserved,
)
from floor.log.base import LogCorrupt, LogUnavailable
from floor.log.embedded import Finding, quarantine_path
from floor.log.files import OsFiles


class _State(Struct):
    staff: dict[str, StaffMember] = field(default_factory=dict)
    strikes: dict[str, Strikes] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    displays: dict[str, Display] = field(default_factory=dict)
    pairings: dict[str, Pairing] = field(default_factory=dict)
    revision: int = 0
    #: The key staff ids that are no account are hashed with (hex; floor.directory.base.unknown_id_key).
    id_secret: str = ""


log = structlog.get_logger("floor.directory")

#: Keys with sign-in attempts held against them the file keeps; past it the half forgotten soonest goes (only
#: an attack from thousands of addresses gets here, and it gets no more tries by it: each address waits).
MAX_STRIKES = 10_000

F = TypeVar("F", bound=Callable[..., Any])


class DirectoryCorrupt(LogCorrupt):
    """The staff directory's file cannot be read; a person must look (the message says what to do)."""


def _changes(method: F) -> F:
    """A read-change-write of the file, under its lock, from its current contents. A change that cannot be
    written is forgotten (the file is read again before the next use) and refused as unavailable."""

    @functools.wraps(method)
    async def locked(self: EmbeddedDirectory, *args: Any, **kwargs: Any) -> Any:
        try:
            with self._file_lock():
                self._reload()
                return await method(self, *args, **kwargs)
        except OSError as e:
            self._loaded = None  # what the method changed in memory is not on the disk: read the file again
            # The lock file when it is the one refused (made by another user): naming directory.json, which could
            # be written, sent the on-call engineer to the wrong file (an ops review).
            lock = self.path.with_suffix(".lock") if self.path is not None else None
            failed = lock if lock is not None and e.filename == str(lock) else self.path
            log.error(
                "directory_write_failed",
                file=str(failed),
                error=e.strerror or str(e),
                errno=e.errno,
                then="sign-ins and staff changes are answered 503 until it can be written: free space on its "
                "disk, and check that the server's user may write it and its directory",
            )
            raise LogUnavailable(
                f"the staff directory {failed} could not be written ({e.strerror or e}); nothing was changed."
            ) from e

    return locked  # type: ignore[return-value]


def _trimmed(strikes: dict[str, Strikes], accounts: set[str], now: dt.datetime) -> dict[str, Strikes]:
    """Half of MAX_STRIKES keys, from a full record: every real account's (a handful of staff) and every key
    that makes someone wait first, then those remembered longest. Dropping those forgotten soonest wiped a
    locked manager's wrong PINs under a flood of wrong sign-ins with other ids, and the guesser had their free
    tries again (a hostile review)."""
    ranked = sorted(strikes.items(), key=lambda item: (item[0] in accounts, item[1].waits(now), item[1].forget_at))
    room = max(MAX_STRIKES // 2, sum(key in accounts for key in strikes))
    return dict(ranked[-room:])


class EmbeddedDirectory(Directory):
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._loaded: tuple[int, int, int] | None = None
        self.__state = _State()

    async def open(self) -> None:
        self._reload()

    @property
    def _state(self) -> _State:
        self._reload()
        return self.__state

    @_state.setter
    def _state(self, state: _State) -> None:
        self.__state = state

    def _reload(self) -> None:
        if self.path is None:
            return
        try:
            changed = _identity(self.path)
        except FileNotFoundError:
            return
        if changed != self._loaded:
            self.__state = _decode(self.path, self.path.read_bytes())
            self._loaded = changed

    def load(self) -> None:
        """Read the file now (`floor serve` does, before it serves, to report a damaged file in one line)."""
        self._reload()

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        try:
            self._write(temporary, msgspec.json.encode(self.__state))
            os.replace(temporary, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)  # half a file must not linger (nor fill the disk further)
            raise
        self._loaded = _identity(self.path)

    def _write(self, path: Path, data: bytes) -> None:
        # Owner-only: the file holds PIN hashes (slow to crack, but nobody else needs to read them).
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        if self.path is None:
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held for microseconds: one small file rewrite
            yield
        finally:
            os.close(fd)
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- staff ----------------------------------------------------------------------------------

    @_changes
    async def add_staff(self, member: StaffMember, by: str | None = None) -> bool:
        if by is not None and by not in self._state.staff:
            raise CallerRemoved
        if member.id in self._state.staff:
            return False
        self._state.staff[member.id] = member
        self._save()
        return True

    @_changes
    async def replace_staff(self, member: StaffMember, by: str | None = None) -> bool:
        if by is not None and by not in self._state.staff:
            raise CallerRemoved
        if member.id not in self._state.staff:
            return False
        self._state.staff[member.id] = member
        self._save()
        return True

    async def staff(self, staff_id: str) -> StaffMember | None:
        return self._state.staff.get(staff_id)

    async def all_staff(self) -> list[StaffMember]:
        return sorted(self._state.staff.values(), key=lambda m: m.id)

    @_changes
    async def remove_staff(self, staff_id: str, by: str | None = None) -> bool:
        if by is not None and by not in self._state.staff:
            raise CallerRemoved
        gone = self._state.staff.get(staff_id)
        if gone is None:
            return False
        if (clinic := clinic_left_without_a_manager(list(self._state.staff.values()), gone)) is not None:
            raise LastManager(clinic)
        del self._state.staff[staff_id]
        self._state.strikes.pop(account_key(staff_id), None)
        self._save()
        return True

    @_changes
    async def reserve_attempt(self, keys: list[tuple[str, Lockout]], now: dt.datetime) -> dt.datetime | None:
        strikes = self._state.strikes
        refusals = [when for key, rule in keys if (when := refused_until(strikes.get(key), rule, now)) is not None]
        if refusals:
            return max(refusals)
        # Keys nothing happened to for their rule's time go, so the file does not grow with every id tried.
        self._state.strikes = {k: s for k, s in strikes.items() if s.forget_at > now}
        if len(self._state.strikes) >= MAX_STRIKES:
            self._state.strikes = _trimmed(self._state.strikes, {account_key(i) for i in self._state.staff}, now)
        for key, _ in keys:
            self._state.strikes[key] = reserved(self._state.strikes.get(key), now)
        self._save()
        return None

    @_changes
    async def fail_attempt(self, keys: list[tuple[str, Lockout]], now: dt.datetime) -> None:
        for key, rule in keys:
            self._state.strikes[key] = failed(self._state.strikes.get(key), rule, now)
        self._save()

    @_changes
    async def release_attempt(self, key: str, now: dt.datetime) -> None:
        held = self._state.strikes.pop(key, None)
        if held is None:
            return
        if (kept := released(held, now)) is not None:
            self._state.strikes[key] = kept
        self._save()

    async def strikes(self, key: str, now: dt.datetime) -> Strikes | None:
        held = self._state.strikes.get(key)
        return held if held is not None and held.forget_at > now else None

    @_changes
    async def forget_typed_ids(self) -> int:
        typed = [k for k in self._state.strikes if k.startswith("staff:") and k[6:] not in self._state.staff]
        for key in typed:
            del self._state.strikes[key]
        if typed:
            self._save()
        return len(typed)

    async def id_secret(self) -> bytes:
        if not self._state.id_secret:
            await self._make_id_secret()
        return bytes.fromhex(self._state.id_secret)

    @_changes
    async def _make_id_secret(self) -> None:
        if not self._state.id_secret:  # another process sharing the file may have made it meanwhile
            self._state.id_secret = secrets.token_hex(32)
            self._save()

    @_changes
    async def clear_strikes(self, key: str) -> None:
        if self._state.strikes.pop(key, None) is not None:
            self._save()

    # -- sessions -------------------------------------------------------------------------------

    @_changes
    async def add_session(self, session: Session) -> None:
        now = session.issued_at
        # Expired sessions go when a new one comes, so the file does not grow with every shift.
        self._state.sessions = {h: s for h, s in self._state.sessions.items() if s.expires_at > now}
        self._state.sessions[session.token_hash] = session
        self._save()

    async def session(self, token_hash: str, now: dt.datetime) -> Session | None:
        session = self._state.sessions.get(token_hash)
        return session if session is not None and session.expires_at > now else None

    async def ended_sessions(self, token_hashes: list[str], now: dt.datetime) -> set[str]:
        sessions = self._state.sessions
        return {h for h in token_hashes if (s := sessions.get(h)) is None or s.expires_at <= now}

    @_changes
    async def end_session(self, token_hash: str) -> bool:
        if self._state.sessions.pop(token_hash, None) is None:
            return False
        self._state.revision += 1
        self._save()
        return True

    @_changes
    async def end_sessions_of(self, person: str, keep: str = "") -> int:
        ended = [h for h, s in self._state.sessions.items() if s.person == person and h != keep]
        for h in ended:
            del self._state.sessions[h]
        if ended:
            self._state.revision += 1
            self._save()
        return len(ended)

    async def revision(self) -> int:
        return self._state.revision

    # -- displays and pairing -------------------------------------------------------------------

    @_changes
    async def put_display(self, display: Display) -> None:
        self._state.displays[display.id] = display
        self._save()

    @_changes
    async def change_display(
        self, display_id: str, label: str, zone: str | None, at: dt.datetime, by: str
    ) -> Display | None:
        display = self._state.displays.get(display_id)
        if display is None or display.revoked_at is not None:
            return display
        display = msgspec.structs.replace(display, label=label, zone=zone, changed_at=at, changed_by=by)
        self._state.displays[display_id] = display
        self._state.revision += 1
        self._save()
        return display

    async def display(self, display_id: str) -> Display | None:
        return self._state.displays.get(display_id)

    async def all_displays(self) -> list[Display]:
        return sorted(self._state.displays.values(), key=lambda d: d.paired_at)

    def _live_pairings(self, now: dt.datetime) -> dict[str, Pairing]:
        live = {c: p for c, p in self._state.pairings.items() if p.expires_at > now}
        self._state.pairings = live
        return live

    @_changes
    async def add_pairing(self, pairing: Pairing, now: dt.datetime, limits: PairingLimits | None = None) -> bool:
        live = self._live_pairings(now)
        if limits is not None:
            if len(live) >= limits.in_all:
                raise TooManyPairings(from_address=False)
            if (
                pairing.address is not None
                and sum(p.address == pairing.address for p in live.values()) >= limits.per_address
            ):
                raise TooManyPairings(from_address=True)
            if (
                pairing.network is not None
                and limits.per_network is not None
                and sum(p.network == pairing.network for p in live.values()) >= limits.per_network
            ):
                raise TooManyPairings(from_address=True)
        if pairing.code in live:
            return False
        live[pairing.code] = pairing
        self._save()
        return True

    async def pairing(self, code: str, now: dt.datetime) -> Pairing | None:
        return self._live_pairings(now).get(code)

    async def pairing_by_claim(self, claim_hash: str, now: dt.datetime) -> Pairing | None:
        return next((p for p in self._live_pairings(now).values() if p.claim_hash == claim_hash), None)

    @_changes
    async def approve_pairing(self, code: str, display_id: str, now: dt.datetime) -> bool:
        pairing = self._live_pairings(now).get(code)
        if pairing is None or pairing.display is not None:
            return False
        self._state.pairings[code] = msgspec.structs.replace(pairing, display=display_id)
        self._save()
        return True

    @_changes
    async def end_pairing(self, pairing: Pairing) -> bool:
        if self._state.pairings.pop(pairing.code, None) is None:
            return False
        self._save()
        return True


def _identity(path: Path) -> tuple[int, int, int]:
    """Changes whenever the file is replaced: a save renames a new file (new inode) over it."""
    stat = path.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _what_to_do(path: Path) -> str:
    return (
        f"Restore {path.name} from a backup, or run `floor check --data-dir {path.parent} --repair` to move it "
        f"aside ({path.name}.damaged-0) and start with no staff: then add the first manager with "
        "`floor staff add` and the others again."
    )


def _decode(path: Path, data: bytes) -> _State:
    try:
        return msgspec.json.decode(data, type=_State)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        what = "empty" if not data.strip() else f"unreadable ({e})"
        raise DirectoryCorrupt(f"{path}: the staff directory is {what}. {_what_to_do(path)}") from None


def check_directory(path: str | Path, *, repair: bool = False) -> list[Finding]:
    """The staff directory's file, offline: it must decode. With `repair`, an unreadable one is moved aside
    (kept, never deleted: it may be mended by hand) so a server can start with no staff; logged as an error."""
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    try:
        _decode(path, data)
    except DirectoryCorrupt as e:
        target = quarantine_path(path, 0, Path.exists)
        finding = Finding(
            str(path),
            str(e).split(". ", 1)[0].removeprefix(f"{path}: "),
            f"move it to {target.name}; the server then starts with no staff (add them again with "
            "`floor staff add`, or restore the moved file once mended)",
        )
        if repair:
            os.replace(path, target)
            OsFiles().sync_dir(path.parent)
            finding.repaired = True
            log.error(
                "directory_quarantined",
                file=str(path),
                moved_to=str(target),
                bytes=len(data),
                then="no staff until they are added again",
                by="floor check",
            )
        return [finding]
    return []
