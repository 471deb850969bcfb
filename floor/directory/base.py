"""The directory: who may sign in (staff), who is signed in (sessions), and the paired wall displays.

Two backends keep it, as for the log: a file beside the embedded log, or Redis for several servers.
Tokens are never stored, only their SHA-256 (`token_hash`): a copy of the directory signs nobody in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from abc import ABC, abstractmethod
from typing import Literal

from msgspec import Struct

from floor.core.access import Role


class StaffMember(Struct, frozen=True):
    id: str
    name: str
    role: Role
    #: `scrypt$N$r$p$salt$key` (floor.credentials), never the PIN or password.
    secret: str
    added_at: dt.datetime
    added_by: str = ""
    #: Role provider: the clinic provider id this account is (the `providers[].id` of the clinic files), so
    #: screens know whose patients are theirs. None for other roles, and for accounts added before it existed.
    provider: str | None = None


class Session(Struct, frozen=True):
    """A signed-in tablet (kind staff) or a paired wall display (kind display)."""

    token_hash: str
    kind: Literal["staff", "display"]
    #: The staff member's id, or the display's id.
    person: str
    device: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    role: Role | None = None
    clinic: str | None = None
    zone: str | None = None


class Display(Struct, frozen=True):
    id: str
    clinic: str
    label: str
    paired_at: dt.datetime
    paired_by: str
    zone: str | None = None
    revoked_at: dt.datetime | None = None
    revoked_by: str | None = None


class Pairing(Struct, frozen=True):
    """A display waiting for a manager to enter its code. `claim_hash` is the hash of the secret the
    display holds to collect its token; `display` is set once a manager approved it."""

    code: str
    claim_hash: str
    expires_at: dt.datetime
    display: str | None = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Directory(ABC):
    #: True when several servers share it (they must notice each other's sign-outs and revocations).
    shared = False

    async def open(self) -> None:  # noqa: B027
        pass

    async def close(self) -> None:  # noqa: B027
        pass

    # -- staff ----------------------------------------------------------------------------------

    @abstractmethod
    async def add_staff(self, member: StaffMember) -> bool:
        """False (and nothing changed) if the id is taken."""

    @abstractmethod
    async def replace_staff(self, member: StaffMember) -> bool:
        """False if there is no such staff member."""

    @abstractmethod
    async def staff(self, staff_id: str) -> StaffMember | None: ...

    @abstractmethod
    async def all_staff(self) -> list[StaffMember]: ...

    @abstractmethod
    async def remove_staff(self, staff_id: str) -> bool: ...

    @abstractmethod
    async def count_failure(self, staff_id: str) -> int:
        """Count a wrong PIN for the account, atomically; the count after it."""

    @abstractmethod
    async def failures(self, staff_id: str) -> int: ...

    @abstractmethod
    async def clear_failures(self, staff_id: str) -> None: ...

    # -- sessions -------------------------------------------------------------------------------

    @abstractmethod
    async def add_session(self, session: Session) -> None: ...

    @abstractmethod
    async def session(self, token_hash: str, now: dt.datetime) -> Session | None:
        """The session, unless it ended or expired."""

    @abstractmethod
    async def end_session(self, token_hash: str) -> bool: ...

    @abstractmethod
    async def end_sessions_of(self, person: str) -> int:
        """End every session of a staff member or display; how many there were."""

    @abstractmethod
    async def revision(self) -> int:
        """Grows whenever a session ends, so servers know when to check their open sockets again."""

    # -- displays and pairing -------------------------------------------------------------------

    @abstractmethod
    async def put_display(self, display: Display) -> None: ...

    @abstractmethod
    async def display(self, display_id: str) -> Display | None: ...

    @abstractmethod
    async def all_displays(self) -> list[Display]: ...

    @abstractmethod
    async def add_pairing(self, pairing: Pairing, now: dt.datetime) -> bool:
        """False if a live pairing already has this code."""

    @abstractmethod
    async def pairing(self, code: str, now: dt.datetime) -> Pairing | None: ...

    @abstractmethod
    async def pairing_by_claim(self, claim_hash: str, now: dt.datetime) -> Pairing | None: ...

    @abstractmethod
    async def approve_pairing(self, code: str, display_id: str, now: dt.datetime) -> bool:
        """Mark a live, not yet approved pairing approved; False if it is gone or was approved already."""

    @abstractmethod
    async def end_pairing(self, pairing: Pairing) -> bool:
        """Remove it; False if another server removed it first (its token was collected already)."""
