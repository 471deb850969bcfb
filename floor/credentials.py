"""Staff credentials: PINs and passwords stored only as slow salted scrypt hashes, and sign-in throttling.

scrypt at OWASP's current minimum (N=2^17, r=8, p=1: 128 MiB and a few hundred ms per check) makes a
stolen hash expensive to guess even for a short PIN; the lockout below makes guessing online hopeless.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
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
_SALT_BYTES = 16
_KEY_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_secret(secret: str, cost: ScryptCost = OWASP) -> str:
    """`scrypt$N$r$p$salt$key`, everything needed to check the secret again and nothing to recover it."""
    salt = os.urandom(_SALT_BYTES)
    key = hashlib.scrypt(secret.encode(), salt=salt, n=cost.n, r=cost.r, p=cost.p, maxmem=cost.maxmem,
                         dklen=_KEY_BYTES)
    return f"scrypt${cost.n}${cost.r}${cost.p}${_b64(salt)}${_b64(key)}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        cost = ScryptCost(int(n), int(r), int(p))
        expected = base64.b64decode(key)
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(secret.encode(), salt=base64.b64decode(salt), n=cost.n, r=cost.r, p=cost.p,
                                maxmem=cost.maxmem, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


#: Failed sign-ins in a row that lock an account until a manager resets it.
MAX_FAILURES = 5


def is_locked(failures: int) -> bool:
    """Failures are counted per account (a success sets the count back to 0); this many lock it, and then
    even the right PIN is refused until a manager unlocks the account."""
    return failures >= MAX_FAILURES
