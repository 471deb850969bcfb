"""Staff credentials: PINs and passwords stored only as slow salted scrypt hashes, and the sign-in lockout.

scrypt at OWASP's current minimum (N=2^17, r=8, p=1: 128 MiB and a few hundred ms per check) makes a
stolen hash expensive to guess even for a short PIN; the timed lockout below makes guessing online hopeless
(a few tries an hour per account and per address) without letting anyone keep staff out for long.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ScryptCost:
    n: int = 2**17
    r: int = 8
    p: int = 1

    @property
    def maxmem(self) -> int:
        return 128 * self.n * self.r * self.p + 16 * 1024 * 1024


OWASP = ScryptCost()
#: For the test suite only: the same code at 1/128th of the work, so that tests which do not test hashing do
#: not spend half a second per `floor staff add` and per sign-in. Used only where the environment says
#: FLOOR_TEST_CHEAP_HASHING=1 exactly (see `configured_cost`); never set it outside the tests.
TEST_COST = ScryptCost(n=2**10)
TEST_HASHING_VARIABLE = "FLOOR_TEST_CHEAP_HASHING"
_SALT_BYTES = 16
_KEY_BYTES = 32


def configured_cost(environ: Mapping[str, str] = os.environ) -> ScryptCost:
    """The cost new hashes get: OWASP's, unless the test suite asked for `TEST_COST` with
    FLOOR_TEST_CHEAP_HASHING=1 (exactly "1": no other value, such as "true" or "0", lowers the cost). Hashes
    carry their own cost, so checking a PIN always uses the cost it was stored at."""
    if environ.get(TEST_HASHING_VARIABLE) == "1":
        return TEST_COST
    return OWASP


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_secret(secret: str, cost: ScryptCost = OWASP) -> str:
    """`scrypt$N$r$p$salt$key`, everything needed to check the secret again and nothing to recover it."""
    salt = os.urandom(_SALT_BYTES)
    key = hashlib.scrypt(secret.encode(), salt=salt, n=cost.n, r=cost.r, p=cost.p, maxmem=cost.maxmem, dklen=_KEY_BYTES)
    return f"scrypt${cost.n}${cost.r}${cost.p}${_b64(salt)}${_b64(key)}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        cost = ScryptCost(int(n), int(r), int(p))
        expected = base64.b64decode(key)
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(
            secret.encode(),
            salt=base64.b64decode(salt),
            n=cost.n,
            r=cost.r,
            p=cost.p,
            maxmem=cost.maxmem,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# -- device keys -------------------------------------------------------------------------------------------
# OWASP's "device cookies": a tablet that signed in as someone gets a key proving it, and its later sign-ins as
# that person are counted against the key rather than the account, so guesses sent by others (who hold no such
# key) cannot keep the person out. The key is `<nonce>.<mac>`, the mac an HMAC-SHA256 over the staff id and the
# nonce keyed by the account's stored hash: nothing new is stored, every server sharing the directory checks
# it, and a new PIN (a new hash) or a removed account voids every key given before.

_DEVICE_NONCE_BYTES = 16
#: The longest device key looked at (a real one is 66 characters); the wire allows no longer.
MAX_DEVICE_KEY = 128


def _device_mac(staff_id: str, nonce: str, stored: str) -> str:
    message = f"floor-device-key\n{staff_id}\n{nonce}".encode()
    digest = hmac.new(stored.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue_device_key(staff_id: str, stored: str) -> str:
    """A new device key for a device that just signed in as `staff_id`, whose stored hash is `stored`."""
    nonce = base64.urlsafe_b64encode(os.urandom(_DEVICE_NONCE_BYTES)).rstrip(b"=").decode()
    return f"{nonce}.{_device_mac(staff_id, nonce, stored)}"


def device_nonce(staff_id: str, stored: str, key: str | None) -> str | None:
    """The nonce of `key` if it is a device key given for `staff_id` while its hash was `stored`; else None
    (missing, malformed, forged, another person's, or from before a new PIN)."""
    if not key or len(key) > MAX_DEVICE_KEY:
        return None
    nonce, dot, mac = key.partition(".")
    if not dot or not nonce or not mac:
        return None
    expected = _device_mac(staff_id, nonce, stored)
    return nonce if hmac.compare_digest(mac.encode(), expected.encode()) else None


#: Wrong sign-ins in a row an account is allowed before it waits (a success sets the count back to 0).
MAX_FAILURES = 5
#: Wrong sign-ins from one client address (any ids, successes not counting) before the address waits.
MAX_ADDRESS_FAILURES = 20


@dataclass(frozen=True)
class Lockout:
    """How failed sign-ins are held against a key (a staff id as typed, or a client address).

    Every attempt is counted before its PIN is checked; `free` attempts go through, and the attempt that
    reaches `free` starts a timed wait: `first_wait`, doubling with every further failure after it, never
    longer than `longest_wait`. While a key waits its attempts are refused unchecked and not counted, so a
    burst cannot lengthen the wait. A key with no failure for `forget_after` starts again from nothing."""

    free: int
    first_wait: dt.timedelta = dt.timedelta(minutes=1)
    longest_wait: dt.timedelta = dt.timedelta(minutes=15)
    forget_after: dt.timedelta = dt.timedelta(hours=24)

    def wait_after(self, count: int) -> dt.timedelta | None:
        """The wait that the `count`th attempt in a row starts (None while it is still free)."""
        if count < self.free:
            return None
        doublings = min(count - self.free, 16)
        return min(self.longest_wait, self.first_wait * 2**doublings)


ACCOUNT_LOCKOUT = Lockout(MAX_FAILURES)
ADDRESS_LOCKOUT = Lockout(MAX_ADDRESS_FAILURES, forget_after=dt.timedelta(hours=1))
#: An IPv6 /64 (floor.directory.base.network_of): ten times an address's, as a clinic's devices share it.
NETWORK_LOCKOUT = Lockout(10 * MAX_ADDRESS_FAILURES, forget_after=dt.timedelta(hours=1))
