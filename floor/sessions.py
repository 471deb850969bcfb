"""Signing in and out, pairing wall displays, and telling who holds a token.

A token is 32 random bytes, shown once to the tablet or display that gets it; the directory keeps only
its hash. PIN checks are slow on purpose (scrypt) and run in threads, at most two at once, so a burst of
sign-ins neither blocks the taps of everyone else nor takes 128 MiB per attempt without bound.

Every sign-in attempt is counted against the id typed and the client's address before its PIN is checked
(atomically, in the directory: in flight, then wrong or right): an attempt that would take more than the
free tries left, counting those still being checked, is refused unchecked, so however many guesses arrive at
once no more than the lockout's free tries are ever checked (floor.credentials.Lockout), and a right PIN
among a burst of right ones is told to try again in a second rather than to wait. An id that does not exist
is counted, checked and refused exactly as an existing one with a wrong PIN, so no answer and no timing tells
which ids exist.

A device that signed in as a person before holds a device key for them (OWASP's device cookies,
floor.credentials.issue_device_key): its attempts as that person are counted against the device alone, under
the account's rule, instead of against the account and the address. So anonymous wrong PINs that make an
account wait do not keep its owner's own tablets out, and wrong PINs sent with the key make only that device
wait. A missing, malformed, forged, stale or other person's key is treated exactly as no key.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import re
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Literal

import msgspec
import structlog
from msgspec import Struct

from floor.clock import Clock
from floor.core.access import ALL_CLINICS, SYSTEM_ACTOR, Role, clinics_of
from floor.core.errors import Refusal, Why
from floor.core.text import unreadable
from floor.credentials import (
    ACCOUNT_LOCKOUT,
    ADDRESS_LOCKOUT,
    NETWORK_LOCKOUT,
    TEST_COST,
    TEST_HASHING_VARIABLE,
    Lockout,
    ScryptCost,
    configured_cost,
    device_nonce,
    hash_secret,
    issue_device_key,
    verify_secret,
)
from floor.directory.base import (
    BUSY,
    CallerRemoved,
    Directory,
    Display,
    LastManager,
    Pairing,
    PairingLimits,
    Session,
    StaffMember,
    Strikes,
    account_key,
    address_key,
    network_key,
    network_of,
    token_hash,
    unknown_id_key,
)
from floor.directory.base import device_key as device_strikes_key
from floor.retry import attempts

log = structlog.get_logger("floor.sessions")

STAFF_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
#: A wall display's id (`approve_pairing`): no staff id may look like one, nor be Floor's own (SYSTEM_ACTOR).
DISPLAY_ID = re.compile(r"^d-[0-9a-f]{8}$")
#: A clinic provider id, as floor/config.py allows it.
PROVIDER_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
MIN_SECRET = 4
MAX_SECRET = 128
#: How a sign-in with an id that is no account is logged (the id typed is often a PIN in the wrong field).
NO_SUCH_ACCOUNT = "(no such account)"
#: Pairing codes avoid letters and digits a person could misread across a room (0/O, 1/I, 5/S, 8/B, 2/Z).
CODE_ALPHABET = "ACDEFHJKLMNPQRTUVWXY34679"
CODE_LENGTH = 6
#: Codes drawn before giving up when every one drawn is in use already (a bug, with this many codes).
PAIRING_CODE_TRIES = 20
#: Sign-ins a server remembers (`Sessions.caller`); past it the oldest is forgotten (and looked up again).
SESSION_CACHE_SIZE = 10_000
#: Seconds a remembered sign-in stays trusted after the directory last answered this server's revision poll
#: (every half second, floor/floors.py). Longer than a directory node's failover or a short stall, so
#: taps of signed-in staff go on meanwhile; short enough that a server cut off from the directory alone (the
#: only way a revocation can happen that it cannot hear of) stops honouring a revoked token within it.
SESSION_TRUST_SECONDS = 15.0
#: Seconds a remembered sign-in is used before it is looked up again. The revision moves when a sign-in ends,
#: not when one begins: after the directory was restored from a backup (the revision as it was), a server kept
#: honouring a sign-in made after the backup that no longer existed, for its 12 hours, while the others refused it
#: (a newcomer following deploy.md). One look-up a minute per sign-in in use.
SESSION_RECHECK_SECONDS = 60.0
#: Wall displays that may wait for a manager to enter their code at once, from one client address and in all
#: (anyone may ask for a code: without a cap, the directory would grow with every request).
PAIRINGS_PER_ADDRESS = 10
PAIRINGS_IN_ALL = 1000
#: And from one IPv6 /64, whose 2^64 addresses one host can take (as sign-ins: floor.directory.base.network_of),
#: yet every wall of a clinic's network shares: ten times an address's.
PAIRINGS_PER_NETWORK = 10 * PAIRINGS_PER_ADDRESS
PAIRING_LIMITS = PairingLimits(PAIRINGS_PER_ADDRESS, PAIRINGS_IN_ALL, PAIRINGS_PER_NETWORK)


def linked_provider(member: StaffMember) -> str | None:
    """The clinic provider id a provider's account is: the one it was added with; an account added before
    accounts were linked (no `provider` stored) is taken to be the provider with its own staff id, as Floor
    assumed then. None for other roles."""
    if member.role is not Role.provider:
        return None
    return member.provider or member.id


def _markup(field: str, value: str) -> str | None:
    return f"{field} has < or >: name the display in words" if set(value) & set("<>") else None


def reserved_staff_id(staff_id: str) -> bool:
    """Whether a staff id is Floor's own actor's or looks like a wall display's (refused for new accounts)."""
    return staff_id == SYSTEM_ACTOR or DISPLAY_ID.match(staff_id) is not None


class Caller(Struct, frozen=True):
    """Who sent a request or holds a socket, as their token says."""

    kind: Literal["staff", "display"]
    #: The staff member's id, or the display's id.
    person: str
    device: str
    session: str
    expires_at: dt.datetime
    name: str = ""
    role: Role | None = None
    clinic: str | None = None
    zone: str | None = None
    #: A staff member's clinics (floor.core.access): "*" for every clinic. A display's is its `clinic`.
    clinics: tuple[str, ...] = ()
    #: A provider's sign-in: the clinic provider id the account is linked to.
    provider: str | None = None

    @property
    def is_manager(self) -> bool:
        return self.role is Role.manager


class SignedIn(Struct, frozen=True):
    token: str
    expires_at: dt.datetime
    staff: str
    name: str
    role: Role
    #: Role provider: the clinic provider id this sign-in is (None if the account has none).
    provider: str | None = None
    #: Proof that this device signed in as this person (floor.credentials.issue_device_key): sent with its next
    #: sign-ins as them, they are counted against the device instead of the account, so others' wrong PINs
    #: do not keep it out. Void once the person's PIN changes.
    device_key: str = ""


class PairingStarted(Struct, frozen=True):
    code: str
    claim: str
    expires_at: dt.datetime
    #: Seconds the code works from now, by the server's clock: a wall counts down from this, not from
    #: `expires_at` read against its own clock (a TV's clock is often minutes off).
    expires_in: int = 0


class DisplayToken(Struct, frozen=True):
    token: str
    display: Display


class Sessions:
    def __init__(
        self,
        directory: Directory,
        clock: Clock,
        *,
        cost: ScryptCost | None = None,
        staff_hours: float = 12,
        display_days: float = 365,
        pairing_minutes: float = 10,
        monotonic: Callable[[], float] = time.monotonic,
        account_lockout: Lockout = ACCOUNT_LOCKOUT,
        address_lockout: Lockout = ADDRESS_LOCKOUT,
        pairing_limits: PairingLimits = PAIRING_LIMITS,
    ) -> None:
        self.directory = directory
        self.clock = clock
        #: What new PINs are hashed at: OWASP's cost unless given, or unless the test suite lowered it.
        self.cost = cost or configured_cost()
        if cost is None and self.cost == TEST_COST:
            log.warning(
                "pins_hashed_at_test_cost",
                because=f"{TEST_HASHING_VARIABLE}=1",
                note="for the test suite only: never set it on a real server",
            )
        self.staff_term = dt.timedelta(hours=staff_hours)
        self.display_term = dt.timedelta(days=display_days)
        self.pairing_term = dt.timedelta(minutes=pairing_minutes)
        self.account_lockout = account_lockout
        self.address_lockout = address_lockout
        self.pairing_limits = pairing_limits
        self._checks = asyncio.Semaphore(2)
        self._decoy: str | None = None
        #: The directory's key for hashing staff ids that are no account (read once).
        self._id_key: bytes | None = None
        #: Sign-ins checked here, by token hash (only for a shared directory; see `caller`).
        #: Remembered sign-ins by token hash, each with when (monotonic) it was looked up.
        self._known: dict[str, tuple[Caller, float]] = {}
        #: Grows whenever remembered sign-ins are forgotten, so a look-up begun before does not store its answer.
        self._generation = 0
        self._revision: int | None = None
        self._heard_at: float | None = None
        self._monotonic = monotonic

    # -- staff ----------------------------------------------------------------------------------

    async def add_staff(
        self,
        staff_id: str,
        name: str,
        role: Role,
        secret: str,
        by: str,
        clinics: tuple[str, ...] = (ALL_CLINICS,),
        provider: str | None = None,
        *,
        by_account: bool = False,
    ) -> StaffMember:
        """`provider`: for role provider, the clinic provider id the account is (checked against the clinics
        by the caller that knows them; here only its form and that the role is provider). `by_account`: `by` is a
        signed-in manager's account, which must still be there when the account is stored."""
        if not STAFF_ID.match(staff_id):
            raise Refusal(
                Why.invalid,
                "A staff id is 2 to 40 lower-case letters, digits, dots, dashes or "
                "underscores, starting with a letter or digit.",
                field="id",
            )
        if reserved_staff_id(staff_id):
            # The audit trail names Floor's own acts "floor" and a wall by its display id: a person given either
            # would be confused with them, and ending a display's sign-ins would end theirs (a review).
            raise Refusal(
                Why.invalid, f"{staff_id!r} names Floor itself or a wall display: choose another staff id.", field="id"
            )
        if not name.strip() or len(name) > 80:
            raise Refusal(Why.invalid, "A staff member needs a name of at most 80 characters.", field="name")
        if why := unreadable("name", name):
            raise Refusal(Why.invalid, f"Not added: {why}.", field="name")
        check_clinics(clinics)
        if provider is not None and role is not Role.provider:
            raise Refusal(
                Why.invalid, "Only a staff member with role provider is linked to a provider id.", field="provider"
            )
        if provider is not None and not PROVIDER_ID.match(provider):
            raise Refusal(
                Why.invalid,
                "A provider id is 1 to 32 lower-case letters, digits, - or _, as in the clinic file.",
                field="provider",
            )
        check_secret(secret)
        stored = await asyncio.to_thread(hash_secret, secret, self.cost)
        member = StaffMember(
            staff_id, name.strip(), role, stored, self.clock.now(), by, tuple(clinics), provider=provider
        )
        with _caller_there(by, f"{staff_id} was not added"):
            added = await self.directory.add_staff(member, by if by_account else None)
        if not added:
            raise Refusal(Why.taken, f"There is already a staff member {staff_id!r}.", field="id")
        log.info("staff_added", staff=staff_id, role=role.value, clinics=list(clinics), provider=provider, by=by)
        return member

    async def set_clinics(self, staff_id: str, clinics: tuple[str, ...], by: str) -> StaffMember:
        """Give an account other clinics; its sign-ins end, so no screen keeps a clinic it lost."""
        check_clinics(clinics)
        member = msgspec.structs.replace(await self._member(staff_id), clinics=tuple(clinics))
        await self.directory.replace_staff(member)
        await self.directory.end_sessions_of(staff_id)
        self._forget(lambda c: c.person == staff_id)
        log.info("staff_clinics_changed", staff=staff_id, clinics=list(clinics), by=by)
        return member

    async def set_secret(
        self, staff_id: str, secret: str, by: str, by_session: str = "", *, by_account: bool = False
    ) -> None:
        """A new PIN or password: the account is unlocked, and every sign-in it had ends (a new PIN is what a
        manager sets after a PIN was seen or a tablet lost; the tablet signed in with the old one must stop), but
        the one a manager set their own PIN from (`by_session`, the token hash of the sign-in `by` sent it with).
        `by_account`: `by` is a signed-in manager's account, which must still be there when the PIN is stored (a
        manager removed while setting another's PIN knew a manager's PIN after their removal)."""
        keep = by_session if by == staff_id else ""
        check_secret(secret)
        member = await self._member(staff_id)
        stored = await asyncio.to_thread(hash_secret, secret, self.cost)
        with _caller_there(by, f"{staff_id}'s PIN was not changed"):
            replaced = await self.directory.replace_staff(
                msgspec.structs.replace(member, secret=stored), by if by_account else None
            )
        if not replaced:
            raise Refusal(Why.not_found, f"No staff member {staff_id!r}: removed meanwhile.")
        await self.directory.clear_strikes(account_key(staff_id))
        ended = await self.directory.end_sessions_of(staff_id, keep)
        self._forget(lambda c: c.person == staff_id and c.session != keep)
        log.info("staff_secret_changed", staff=staff_id, by=by, sessions_ended=ended)

    async def unlock(self, staff_id: str, by: str) -> None:
        await self._member(staff_id)
        await self.directory.clear_strikes(account_key(staff_id))
        log.info("staff_unlocked", staff=staff_id, by=by)

    async def remove_staff(self, staff_id: str, by: str, *, by_account: bool = False) -> None:
        """Remove an account; never a clinic's last manager. `by_account`: `by` is a signed-in manager's account,
        which must still be there when the account is removed (two managers removing each other at the same moment
        both did: a review)."""
        await self._member(staff_id)
        try:
            with _caller_there(by, f"{staff_id} was not removed"):
                removed = await self.directory.remove_staff(staff_id, by if by_account else None)
            if not removed:
                raise Refusal(Why.not_found, f"No staff member {staff_id!r}: removed meanwhile.")
        except LastManager as last:
            where = "every clinic" if last.clinic == ALL_CLINICS else last.clinic
            raise Refusal(
                Why.illegal_step,
                f"{staff_id} is the last manager of {where}: add another manager first, then remove them.",
                field="staff",
            ) from None
        ended = await self.directory.end_sessions_of(staff_id)
        self._forget(lambda c: c.person == staff_id)
        log.info("staff_removed", staff=staff_id, by=by, sessions_ended=ended)

    async def _member(self, staff_id: str) -> StaffMember:
        member = await self.directory.staff(staff_id)
        if member is None:
            raise Refusal(Why.not_found, f"No staff member {staff_id!r}.")
        return member

    async def strikes(self, staff_id: str) -> Strikes | None:
        """Wrong sign-ins held against the account now (its count, and the wait they started if any)."""
        return await self.directory.strikes(account_key(staff_id), self.clock.now())

    # -- signing in and out ---------------------------------------------------------------------

    async def sign_in(
        self, staff_id: str, secret: str, device: str, address: str = "unknown", device_key: str | None = None
    ) -> SignedIn:
        """`device_key`: the key this device got when it last signed in as `staff_id` (`SignedIn.device_key`),
        if it holds one; when it proves that, the attempt is counted against the device instead of the account
        and the address. An invalid one changes nothing (the same answers as without it)."""
        now = self.clock.now()
        member = await self.directory.staff(staff_id)
        # An id that is no account is counted under a keyed hash of it, never as typed (often a PIN).
        unknown = unknown_id_key(staff_id, await self._id_secret())
        account = account_key(staff_id) if member is not None else unknown
        # The key is checked alike for an unknown id (against no hash), and then ignored.
        nonce = device_nonce(staff_id, member.secret if member is not None else "", device_key)
        if member is not None and nonce is not None:
            known_device, held_key = True, device_strikes_key(nonce)
            keys = [(held_key, self.account_lockout)]
        else:
            known_device, held_key = False, account
            keys = [(account, self.account_lockout), (address_key(address), self.address_lockout)]
            if (network := network_of(address)) is not None:
                keys.append((network_key(network), NETWORK_LOCKOUT))  # an IPv6 host's other addresses
        # An id that is no account is not logged as typed: it is often a PIN typed into the wrong field.
        shown = staff_id if member is not None else NO_SUCH_ACCOUNT
        retry_at = await self.directory.reserve_attempt(keys, now)
        if retry_at is not None:
            log.info(
                "sign_in_waits",
                staff=shown,
                device=device,
                address=address,
                known_device=known_device,
                until=retry_at.isoformat(),
            )
            raise _refused(retry_at - now, self.account_lockout.free)
        # An unknown id costs the same time as a wrong PIN, so timing does not tell which ids exist.
        stored = member.secret if member is not None else await self._decoy_hash()
        async with self._checks:
            right = await asyncio.to_thread(verify_secret, secret[:MAX_SECRET], stored)
        if member is None or not right:
            now = self.clock.now()
            await self.directory.fail_attempt(keys, now)
            held = await self.directory.strikes(held_key, now)
            waits = held.until - now if held is not None and held.until is not None and held.waits(now) else None
            log.info(
                "sign_in_refused",
                staff=shown,
                device=device,
                address=address,
                known_device=known_device,
                failures=held.count if held else None,
                waits_until=held.until.isoformat() if waits else None,
            )
            raise _refused(waits, self.account_lockout.free)
        if known_device:
            # The account's own count is left as it is: wrong PINs sent without the key still make others wait.
            await self.directory.clear_strikes(held_key)
        else:
            await self.directory.clear_strikes(account)
            for key, _ in keys[1:]:  # the address's, and its IPv6 network's: this attempt is over
                await self.directory.release_attempt(key, now)
        token, now = _token(), self.clock.now()
        session = Session(token_hash(token), "staff", member.id, device, now, now + self.staff_term, role=member.role)
        await self.directory.add_session(session)
        # The PIN was checked against the account as it was read; if it changed since (a manager set a new PIN
        # while the check ran, ending every sign-in before this one was stored), or the account was removed (and
        # its id perhaps given to someone else), this sign-in does not hold: a hostile review got a token that
        # outlived the new PIN by 12 hours, and one with a removed manager's rights. Read again once stored: a
        # change after this read ends this session with the others.
        now_member = await self.directory.staff(member.id)
        if now_member is None or now_member.secret != member.secret:
            await self.directory.end_session(session.token_hash)
            log.info("sign_in_outlived", staff=member.id, device=device, reason="the account changed during the check")
            raise _refused(None, self.account_lockout.free)
        log.info("signed_in", staff=member.id, role=member.role.value, device=device, known_device=known_device)
        return SignedIn(
            token,
            session.expires_at,
            member.id,
            member.name,
            member.role,
            linked_provider(member),
            # The same key again while it holds (its nonce is the device's count), else a new one.
            device_key if known_device and device_key else issue_device_key(member.id, member.secret),
        )

    async def sign_out(self, caller: Caller) -> None:
        self._forget(lambda c: c.session == caller.session)
        await self.directory.end_session(caller.session)
        self._forget(lambda c: c.session == caller.session)
        log.info("signed_out", staff=caller.person, device=caller.device)

    async def caller(self, token: str | None) -> Caller | None:
        """Who holds the token, or None: missing, unknown, expired, signed out or revoked.

        With a shared directory (Redis), a sign-in checked once is remembered, so a request's check needs no
        round trip to the one node holding the directory (pausing that node would otherwise stall every
        clinic). The rule that keeps revocation as quick as before:

        - every sign-in ends with the directory's revision growing, and this server reads the revision every
          half second (`revision_seen`): when it moved, everything remembered is forgotten, so a sign-out or
          revocation through any server is honoured here within that half second;
        - what is remembered is trusted only while the last revision read is under SESSION_TRUST_SECONDS
          old: while the directory does not answer, no one can revoke through it, but a server cut off from
          it alone could miss a revocation, so past that it looks up again (and answers 503 if it cannot);
        - a remembered sign-in still expires by the clock, and a look-up that began before a forgetting does
          not store its answer."""
        if not token or len(token) > 200:
            return None
        hashed = token_hash(token)
        remembered = self._known.get(hashed) if self.directory.shared else None
        if remembered is not None and self._trusted():
            known, looked_up = remembered
            if known.expires_at > self.clock.now() and self._monotonic() - looked_up < SESSION_RECHECK_SECONDS:
                return known
            self._known.pop(hashed, None)
        generation = self._generation
        session = await self.directory.session(hashed, self.clock.now())
        if session is None:
            return None
        name, clinics, provider, role, zone = "", (), None, session.role, session.zone
        if session.kind == "staff":
            member = await self.directory.staff(session.person)
            if member is None:
                return None
            name, clinics, provider = member.name, clinics_of(member.clinics), linked_provider(member)
            role = member.role  # the account's, not the one it had at the sign-in
        else:
            display = await self.directory.display(session.person)
            if display is None or display.revoked_at is not None:
                return None  # revoked while its token was being collected: the revocation ended no session yet
            zone = display.zone  # the display's as it is now: a manager may have moved it since it was paired
        caller = Caller(
            session.kind,
            session.person,
            session.device,
            hashed,
            session.expires_at,
            name,
            role,
            session.clinic,
            zone,
            clinics,
            provider,
        )
        if self.directory.shared and generation == self._generation:
            if len(self._known) >= SESSION_CACHE_SIZE:
                self._known.pop(next(iter(self._known)))
            self._known[hashed] = caller, self._monotonic()
        return caller

    def revision_seen(self, revision: int) -> None:
        """The directory answered the revision poll: forget every remembered sign-in if it moved (a sign-in
        ended somewhere), and trust the rest for SESSION_TRUST_SECONDS more."""
        if revision != self._revision:
            self._forget()
            self._revision = revision
        self._heard_at = self._monotonic()

    def _trusted(self) -> bool:
        return self._heard_at is not None and self._monotonic() - self._heard_at < SESSION_TRUST_SECONDS

    def _forget(self, which: Callable[[Caller], bool] | None = None) -> None:
        """Forget the remembered sign-ins `which` picks (all without it); a look-up under way stores nothing."""
        self._generation += 1
        if which is None:
            self._known.clear()
        else:
            for hashed in [h for h, (c, _) in self._known.items() if which(c)]:
                del self._known[hashed]

    async def ended(self, sessions: list[str]) -> set[str]:
        """Which of these sign-ins (token hashes) ended, expired or were revoked, on any server: one question to
        the directory for them all."""
        return await self.directory.ended_sessions(sessions, self.clock.now())

    async def _id_secret(self) -> bytes:
        if self._id_key is None:
            self._id_key = await self.directory.id_secret()
        return self._id_key

    async def _decoy_hash(self) -> str:
        if self._decoy is None:
            self._decoy = await asyncio.to_thread(hash_secret, secrets.token_hex(8), self.cost)
        return self._decoy

    # -- wall displays --------------------------------------------------------------------------

    async def start_pairing(self, address: str | None = None) -> PairingStarted:
        """A code for a display at `address` (None: asked for inside the process, not from a client, so only
        the cap in all applies). Raises `TooManyPairings` past `pairing_limits`."""
        now = self.clock.now()
        for _ in attempts("no free pairing code", PAIRING_CODE_TRIES):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            claim = _token()
            network = network_of(address) if address is not None else None
            pairing = Pairing(code, token_hash(claim), now + self.pairing_term, address=address, network=network)
            if await self.directory.add_pairing(pairing, now, self.pairing_limits):
                return PairingStarted(code, claim, pairing.expires_at, int(self.pairing_term.total_seconds()))
        raise AssertionError("unreachable: attempts() gives up")

    async def approve_pairing(self, code: str, clinic: str, zone: str | None, label: str, by: str) -> Display:
        code = code.strip().upper().replace(" ", "").replace("-", "")
        if why := unreadable("label", label) or _markup("label", label):
            # A name with an apostrophe ("Dr. Kim's hall") was refused with a regular expression for its reason (a
            # review); a control or invisible character, or markup, is refused in words.
            raise Refusal(Why.invalid, f"Not paired: {why}.", field="label")
        now = self.clock.now()
        display = Display(f"d-{secrets.token_hex(4)}", clinic, label.strip() or f"Display {code}", now, by, zone)
        pairing = await self.directory.pairing(code, now)
        if pairing is None or not await self.directory.approve_pairing(code, display.id, now):
            raise Refusal(
                Why.not_found,
                f"No display is waiting with code {code!r}: check the code on the "
                "screen, or reload the display page for a new one (codes last "
                f"{int(self.pairing_term.total_seconds() // 60)} minutes).",
                field="code",
            )
        await self.directory.put_display(display)
        log.info("display_paired", display=display.id, clinic=clinic, zone=zone, by=by)
        return display

    async def collect(self, claim: str) -> DisplayToken | None:
        """The display's token once a manager approved its code (None while it waits)."""
        now = self.clock.now()
        pairing = await self.directory.pairing_by_claim(token_hash(claim[:200]), now)
        if pairing is None:
            raise Refusal(Why.not_found, "This pairing expired or was already used: show a new code.")
        if pairing.display is None:
            return None
        display = await self.directory.display(pairing.display)
        if display is None:
            # Approved, and its display not stored yet (`approve_pairing` stores it next): still waiting. Refused
            # here, the wall showed "already used: show a new code" and the manager's pairing was of no screen.
            return None
        if display is not None and display.revoked_at is not None:
            # Revoked before it came for its token (a code entered by mistake, a stranger's screen): none now.
            await self.directory.end_pairing(pairing)
            raise Refusal(Why.not_found, "This display was removed before it was paired: show a new code.")
        if not await self.directory.end_pairing(pairing):
            raise Refusal(Why.not_found, "This pairing was already used: show a new code.")
        token = _token()
        await self.directory.add_session(
            Session(
                token_hash(token),
                "display",
                display.id,
                display.label,
                now,
                now + self.display_term,
                clinic=display.clinic,
                zone=display.zone,
            )
        )
        log.info("display_token_issued", display=display.id, clinic=display.clinic)
        return DisplayToken(token, display)

    async def change_display(self, display_id: str, label: str, zone: str | None, by: str) -> Display:
        """Rename a paired display, or move it to another zone (None: the whole clinic), without pairing it again:
        its token holds, and its screen gets the new zone's feed at once (floor.floors: the session check). The
        zone is checked against the clinic by the caller that knows it."""
        if why := unreadable("label", label) or _markup("label", label):
            raise Refusal(Why.invalid, f"Not changed: {why}.", field="label")
        if not label.strip():
            raise Refusal(Why.invalid, "Not changed: a display needs a name.", field="label")
        before = await self.directory.display(display_id)
        changed = await self.directory.change_display(display_id, label.strip(), zone, self.clock.now(), by)
        if changed is None:
            raise Refusal(Why.not_found, f"No display {display_id!r}.")
        if changed.revoked_at is not None:
            raise Refusal(Why.illegal_step, f"{changed.label} was revoked: pair the wall again.", field="display")
        self._forget(lambda c: c.person == display_id)
        log.info(
            "display_changed",
            display=display_id,
            clinic=changed.clinic,
            zone=zone,
            zone_before=before.zone if before is not None else None,
            renamed=before is not None and before.label != changed.label,
            by=by,
        )
        return changed

    async def revoke_display(self, display_id: str, by: str) -> Display:
        display = await self.directory.display(display_id)
        if display is None:
            raise Refusal(Why.not_found, f"No display {display_id!r}.")
        if display.revoked_at is None:
            display = msgspec.structs.replace(display, revoked_at=self.clock.now(), revoked_by=by)
            await self.directory.put_display(display)
        await self.directory.end_sessions_of(display_id)
        self._forget(lambda c: c.person == display_id)
        log.info("display_revoked", display=display_id, by=by)
        return display


def check_clinics(clinics: tuple[str, ...]) -> None:
    if not clinics or not all(isinstance(c, str) and c for c in clinics):
        raise Refusal(
            Why.invalid,
            f"A staff member works in at least one clinic (a clinic id, or {ALL_CLINICS!r} for every clinic).",
            field="clinics",
        )
    if ALL_CLINICS in clinics and len(clinics) > 1:
        raise Refusal(Why.invalid, f"{ALL_CLINICS!r} already means every clinic: give it alone.", field="clinics")


@contextlib.contextmanager
def _caller_there(by: str, nothing: str) -> Iterator[None]:
    """A change by a manager whose own account was removed meanwhile (`CallerRemoved`) is refused, as their
    sign-in would be now."""
    try:
        yield
    except CallerRemoved:
        log.info("staff_change_refused", by=by, reason="the manager asking was removed meanwhile")
        raise Refusal(Why.unauthenticated, f"Your account was removed meanwhile: {nothing}.") from None


def _refused(waits: dt.timedelta | None, free: int) -> Refusal:
    """The one answer to a sign-in that did not work, whether the id exists or not, the PIN was wrong or the
    account or address must wait (an unknown id waits just as an account does, so this tells nothing)."""
    if waits is None:
        return Refusal(
            Why.unauthenticated,
            "Wrong staff id or PIN. Check both and try again; after "
            f"{free} wrong tries in a row sign-in waits a minute (longer each time), or a "
            "manager can unlock your account.",
        )
    seconds = max(1, math.ceil(waits.total_seconds()))
    minutes = math.ceil(seconds / 60)
    if waits <= BUSY:
        return Refusal(
            Why.unauthenticated,
            "Another sign-in with this staff id or from this device's network is being checked: try again in a second.",
            retry_after=seconds,
        )
    when = (
        f"{seconds} second{'s' if seconds > 1 else ''}"
        if seconds < 60
        else f"{minutes} minute{'s' if minutes > 1 else ''}"
    )
    return Refusal(
        Why.unauthenticated,
        "Wrong staff id or PIN, or too many wrong tries: check both and try again "
        f"in {when}, or ask a manager to unlock your account.",
        retry_after=seconds,
    )


def check_secret(secret: str) -> None:
    if not MIN_SECRET <= len(secret) <= MAX_SECRET:
        raise Refusal(Why.invalid, f"A PIN or password is {MIN_SECRET} to {MAX_SECRET} characters.", field="secret")


def _token() -> str:
    return secrets.token_urlsafe(32)
