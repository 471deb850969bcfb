"""The directory: who may sign in (`StaffStore`), who is signed in and the sign-in attempts held against an
account or an address (`SignInStore`), and the paired wall displays (`DisplayStore`); a backend keeps the
three together as one `Directory`.

Two backends keep it, as for the log: a file beside the embedded log, or Redis for several servers.
Tokens are never stored, only their SHA-256 (`token_hash`): a copy of the directory signs nobody in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
from abc import ABC, abstractmethod
from typing import Literal

import msgspec
from msgspec import Struct

from floor.core.access import ALL_CLINICS, Role, clinics_of
from floor.credentials import Lockout


class StaffMember(Struct, frozen=True):
    id: str
    name: str
    role: Role
    #: `scrypt$N$r$p$salt$key` (floor.credentials), never the PIN or password.
    secret: str
    added_at: dt.datetime
    added_by: str = ""
    #: The clinics the account works in (ids, or "*" for every clinic the server runs). None: added before
    #: clinics were recorded; such an account keeps every clinic (floor.core.access.clinics_of).
    clinics: tuple[str, ...] | None = None
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
    #: The last change of its name or zone (`change_display`): when, and the manager who made it.
    changed_at: dt.datetime | None = None
    changed_by: str | None = None


class Pairing(Struct, frozen=True):
    """A display waiting for a manager to enter its code. `claim_hash` is the hash of the secret the
    display holds to collect its token; `display` is set once a manager approved it."""

    code: str
    claim_hash: str
    expires_at: dt.datetime
    display: str | None = None
    #: The client address that asked for it (pending pairings are capped per address).
    address: str | None = None
    #: Its IPv6 /64 (`network_of`), capped too: one host can take any of the network's addresses.
    network: str | None = None


class PairingLimits(Struct, frozen=True):
    """Pending (live, not yet collected) pairings allowed at once from one address, one IPv6 /64 (None: no cap
    of its own) and in all."""

    per_address: int
    in_all: int
    per_network: int | None = None


class TooManyPairings(Exception):
    """A pairing refused by `PairingLimits`; `from_address` says whether the address's own limit was hit."""

    def __init__(self, from_address: bool) -> None:
        super().__init__("too many pending pairings " + ("from this address" if from_address else "in all"))
        self.from_address = from_address


class Strikes(Struct, frozen=True):
    """Sign-in attempts held against a key (`account_key`, `address_key`, `device_key`): wrong ones in a row
    (`count`), the wait the last of them started (if any), attempts still being checked (`pending`, presumed
    lost after `pending_until`: their server stopped mid-check), and when the key is forgotten if nothing more
    happens."""

    count: int
    forget_at: dt.datetime
    until: dt.datetime | None = None
    pending: int = 0
    pending_until: dt.datetime | None = None

    def waits(self, now: dt.datetime) -> bool:
        return self.until is not None and self.until > now

    def in_flight(self, now: dt.datetime) -> int:
        return self.pending if self.pending_until is not None and self.pending_until > now else 0


#: How long an attempt may be in its PIN check before it is presumed lost.
PENDING = dt.timedelta(seconds=60)
#: When a key is busy (as many attempts in flight as it may still have), how soon to try again.
BUSY = dt.timedelta(seconds=1)


def account_key(staff_id: str) -> str:
    """The key of an account's staff id (one that exists: `unknown_id_key` for one that does not)."""
    return f"staff:{staff_id[:64]}"


def unknown_id_key(staff_id: str, secret: bytes) -> str:
    """The key of a staff id that is no account, as a keyed hash: such an id is most often a PIN typed into the
    staff-id field, and kept as typed it stayed in the directory (and Redis) for a day beside the address (a
    hostile review). Counted alike (an unknown id waits as an account does), never kept as text."""
    digest = hmac.new(secret, staff_id[:64].encode(), hashlib.sha256).hexdigest()
    return f"unknown:{digest[:32]}"


def network_of(address: str) -> str | None:
    """An IPv6 address's /64, or None (IPv4, an IPv4 address mapped into IPv6, or not an address). One host on an
    IPv6 network can take any of its 2^64 addresses, so limits per address alone do not hold it (a hostile review);
    yet every device of a clinic's network shares that /64 (a review of the first fix, which counted the /64 as
    one address and made the whole clinic wait for a guest's wrong PINs). So the /64 has limits of its own, ten
    times an address's."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if not isinstance(ip, ipaddress.IPv6Address) or ip.ipv4_mapped is not None:
        return None
    return str(ipaddress.IPv6Network((ip, 64), strict=False))


def address_key(address: str) -> str:
    return f"address:{address[:64]}"


def network_key(network: str) -> str:
    return f"network:{network}"


def device_key(nonce: str) -> str:
    """The key of a device that signed in before (the nonce of its checked device key,
    floor.credentials.device_nonce): its sign-ins are counted here instead of the account's and address's."""
    return f"device:{nonce[:64]}"


# The rules of `Lockout` over stored `Strikes`: the embedded directory runs these; the Redis one does the same in
# Lua, and the directory contract holds both to them.


def _live(current: Strikes | None, now: dt.datetime) -> Strikes | None:
    return current if current is not None and current.forget_at > now else None


def refused_until(current: Strikes | None, rule: Lockout, now: dt.datetime) -> dt.datetime | None:
    """When an attempt against the key may be tried, if not now: while it waits, or while as many attempts
    are being checked as it may still have (after its free tries, one at a time)."""
    current = _live(current, now)
    if current is None:
        return None
    if current.waits(now):
        return current.until
    pending = current.in_flight(now)
    return now + BUSY if pending and current.count + pending >= rule.free else None


def reserved(current: Strikes | None, now: dt.datetime) -> Strikes:
    """One more attempt in flight."""
    current = _live(current, now) or Strikes(0, now)
    return msgspec.structs.replace(
        current,
        pending=current.in_flight(now) + 1,
        pending_until=now + PENDING,
        forget_at=max(current.forget_at, now + PENDING),
    )


def failed(current: Strikes | None, rule: Lockout, now: dt.datetime) -> Strikes:
    """An attempt in flight turned out wrong: one more failure in a row, and the wait it starts, if any."""
    current = _live(current, now) or Strikes(0, now)
    count = current.count + 1
    wait = rule.wait_after(count)
    until = now + wait if wait is not None else None
    pending = max(0, current.in_flight(now) - 1)
    return Strikes(
        count,
        max(now + rule.forget_after, until or now, current.forget_at),
        until,
        pending,
        current.pending_until if pending else None,
    )


def released(current: Strikes | None, now: dt.datetime) -> Strikes | None:
    """An attempt in flight turned out right: no longer in flight (None: nothing left to keep)."""
    current = _live(current, now)
    if current is None:
        return None
    pending = max(0, current.in_flight(now) - 1)
    if pending == 0 and current.count == 0:
        return None
    return msgspec.structs.replace(current, pending=pending, pending_until=current.pending_until if pending else None)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class StaffStore(ABC):
    """Who may sign in: staff accounts by id, each with its role, clinics and secret's hash (`StaffMember`).

    Every method of the three stores below raises `LogUnavailable` when the backend cannot answer now (Redis
    unreachable, a directory file that cannot be written): the caller answers 503 with Retry-After and nothing
    was changed, or (Redis) whether the change was made is not known, as for the log."""

    @abstractmethod
    async def add_staff(self, member: StaffMember, by: str | None = None) -> bool:
        """Store a new account. False (and nothing changed) if an account has the id already. `by`: the account
        adding it, which must still be there, in one step with the add (`CallerRemoved`: a manager removed while
        their request was on its way added an account of their own, and signed in with it)."""

    @abstractmethod
    async def replace_staff(self, member: StaffMember, by: str | None = None) -> bool:
        """Store a changed account (new secret, role or clinics) over the one with its id, whole. False (and
        nothing stored) if there is no such account: a removed account is never brought back by a change. `by`:
        the account changing it, which must still be there (`CallerRemoved`), as for `add_staff`."""

    @abstractmethod
    async def staff(self, staff_id: str) -> StaffMember | None:
        """The account with this id, exactly as typed, or None."""

    @abstractmethod
    async def all_staff(self) -> list[StaffMember]:
        """Every account, by id."""

    @abstractmethod
    async def remove_staff(self, staff_id: str, by: str | None = None) -> bool:
        """Delete the account and the sign-in attempts held against it (`account_key`), so an id added again
        starts clean. False if there was no such account. Its sessions are not ended here (`end_sessions_of`).

        In one step with what is stored (two managers removing each other at the same moment both did, and left
        the clinic with no manager who could sign in: a review of the console): `by`, the account removing it,
        must still be there (`CallerRemoved`), and a manager is not removed while no other manager covers each
        of their clinics (`LastManager`; one of every clinic, `*`, needs another of every clinic)."""


class CallerRemoved(Exception):
    """The account asking for a change (a removal, a new account, a new PIN) was itself removed meanwhile: nothing
    was changed."""


class LastManager(Exception):
    """The account is the last manager of a clinic (`clinic`, or "*" for every clinic): nothing was removed."""

    def __init__(self, clinic: str) -> None:
        super().__init__(clinic)
        self.clinic = clinic


def clinic_left_without_a_manager(staff: list[StaffMember], gone: StaffMember) -> str | None:
    """The clinic (or "*") that removing the manager `gone` leaves with no other manager, or None."""
    if gone.role is not Role.manager:
        return None
    covered = {c for m in staff if m.role is Role.manager and m.id != gone.id for c in clinics_of(m.clinics)}
    if ALL_CLINICS in covered:
        return None
    return next((c for c in sorted(clinics_of(gone.clinics)) if c not in covered), None)


class SignInStore(ABC):
    """Who is signed in (a `Session` per token, kept by its hash) and the sign-in attempts held against an
    account or an address (`Strikes`, under the rules of `Lockout`: `reserved`, `failed`, `released` above)."""

    @abstractmethod
    async def reserve_attempt(self, keys: list[tuple[str, Lockout]], now: dt.datetime) -> dt.datetime | None:
        """Count a sign-in attempt in flight against every key at once, atomically, before its PIN is checked
        (`refused_until`, `reserved`): None when counted, else (nothing counted) when to try again. Keys
        forgotten by `now` count as none; so several servers checking one account's PIN at once cannot give it
        more tries than its rule allows."""

    @abstractmethod
    async def fail_attempt(self, keys: list[tuple[str, Lockout]], now: dt.datetime) -> None:
        """The attempt in flight was wrong: count the failure against every key, and start the wait it earns,
        if any (`failed`), atomically."""

    @abstractmethod
    async def release_attempt(self, key: str, now: dt.datetime) -> None:
        """The attempt in flight was right: it is no longer in flight against the key (`released`); the failures
        before it are kept (the caller clears the account's with `clear_strikes`)."""

    @abstractmethod
    async def strikes(self, key: str, now: dt.datetime) -> Strikes | None:
        """What is held against the key, unless it was forgotten by `now` (None)."""

    @abstractmethod
    async def clear_strikes(self, key: str) -> None:
        """Forget everything held against the key (a right PIN, an unlock, a new secret)."""

    @abstractmethod
    async def forget_typed_ids(self) -> int:
        """Forget the sign-in attempts held against staff ids that are no account under their text (`account_key`),
        as they were kept before such ids were hashed (`unknown_id_key`): once, at a server's start. How many."""

    @abstractmethod
    async def id_secret(self) -> bytes:
        """A random key for hashing staff ids that are no account (`unknown_id_key`): made at its first use and
        kept with the directory, the same for every server sharing it (so their counts agree) and after a
        restart."""

    @abstractmethod
    async def add_session(self, session: Session) -> None:
        """Store a sign-in (a tablet's or a display's) under its token's hash until `expires_at`; sessions
        expired by its `issued_at` may be dropped meanwhile."""

    @abstractmethod
    async def session(self, token_hash: str, now: dt.datetime) -> Session | None:
        """The session, unless it ended or expired by `now`."""

    @abstractmethod
    async def ended_sessions(self, token_hashes: list[str], now: dt.datetime) -> set[str]:
        """Which of these sessions ended or expired by `now` (each as `session` would answer None), asked in one
        round trip however many are given: a server checks every open socket's sign-in this way, and one look-up
        per socket made a revoked wall wait for thousands of others. Raises, saying nothing ended, when the
        store cannot answer."""

    @abstractmethod
    async def end_session(self, token_hash: str) -> bool:
        """End one session (a sign-out) and move the `revision`. False (and the revision unmoved) if there was
        no such session: of two servers ending one, only one hears True."""

    @abstractmethod
    async def end_sessions_of(self, person: str, keep: str = "") -> int:
        """End every session of a staff member or display (removed, revoked, their clinics changed, a new PIN)
        but the one whose token hash is `keep` (the manager setting their own PIN keeps the page they did it
        from); how many ended. The `revision` moves when at least one did."""

    @abstractmethod
    async def revision(self) -> int:
        """Grows whenever a session ends or a display is changed, so servers know when to check their open sockets
        again (0 before any did); never goes back."""


class DisplayStore(ABC):
    """The paired wall displays, and the pairings under way: a display shows a code, a manager enters it
    (`approve_pairing`), and the display collects its token with the claim it holds (`end_pairing`)."""

    @abstractmethod
    async def put_display(self, display: Display) -> None:
        """Store a display (paired, renamed, moved to a zone or revoked) over the one with its id, whole."""

    @abstractmethod
    async def change_display(
        self, display_id: str, label: str, zone: str | None, at: dt.datetime, by: str
    ) -> Display | None:
        """A paired display's name and zone, changed (`at`, `by`: when and by whom, kept on it as `changed_at`,
        `changed_by`) in one step from what is stored (never over its revocation:
        a display revoked meanwhile stays revoked, and is returned as it is); the revision grows, so every server
        looks at its sockets again (a wall moved to another zone gets that zone's feed). None if no such display."""

    @abstractmethod
    async def display(self, display_id: str) -> Display | None:
        """The display with this id, revoked ones included, or None."""

    @abstractmethod
    async def all_displays(self) -> list[Display]:
        """Every display, revoked ones included, in the order they were paired."""

    @abstractmethod
    async def add_pairing(self, pairing: Pairing, now: dt.datetime, limits: PairingLimits | None = None) -> bool:
        """Store a pairing until its `expires_at`. False if a live pairing already has this code (nothing
        stored, the caller draws another). With `limits`, raises `TooManyPairings` (nothing added) if as many
        pairings are pending from the pairing's address, or in all; expired ones do not count and are dropped."""

    @abstractmethod
    async def pairing(self, code: str, now: dt.datetime) -> Pairing | None:
        """The pairing with this code, unless it expired by `now` or was ended."""

    @abstractmethod
    async def pairing_by_claim(self, claim_hash: str, now: dt.datetime) -> Pairing | None:
        """The live pairing whose display holds this claim (by its hash), or None."""

    @abstractmethod
    async def approve_pairing(self, code: str, display_id: str, now: dt.datetime) -> bool:
        """Mark a live, not yet approved pairing approved for `display_id`; False if it is gone or was approved
        already (of two managers entering one code, one wins)."""

    @abstractmethod
    async def end_pairing(self, pairing: Pairing) -> bool:
        """Remove it; False if another server removed it first (its token was collected already): only the
        caller that hears True hands out the display's token."""


class Directory(StaffStore, SignInStore, DisplayStore):
    """The three stores one backend keeps together (one file, or one Redis hash tag): staff, sign-ins and
    displays. `floor.sessions.Sessions` decides with it (the routes only read staff and displays through it);
    the contract test (tests/directory) holds both backends to the docstrings above."""

    #: True when several servers share it (they must notice each other's sign-outs and revocations).
    shared = False

    async def open(self) -> None:
        """Make it ready (read the file, connect); a file that cannot be read raises (`DirectoryCorrupt`)."""

    async def close(self) -> None:
        """Release the connection; nothing to do for a file (every change is on the disk when it returns)."""
