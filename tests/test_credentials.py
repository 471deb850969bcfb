"""Credentials are slow salted scrypt hashes; repeated failures lock an account until a manager resets it."""

from __future__ import annotations

from floor.credentials import (
    MAX_FAILURES,
    OWASP,
    ScryptCost,
    hash_secret,
    is_locked,
    verify_secret,
)

CHEAP = ScryptCost(n=2**10)  # the same code with a small cost, so the other tests stay fast


def test_the_default_cost_is_owasps_and_the_right_pin_verifies() -> None:
    assert (OWASP.n, OWASP.r, OWASP.p) == (2**17, 8, 1)
    stored = hash_secret("4821")
    assert stored.startswith("scrypt$131072$8$1$")
    assert "4821" not in stored
    assert verify_secret("4821", stored)
    assert not verify_secret("4822", stored)


def test_the_salt_differs_each_time_and_damage_never_verifies() -> None:
    a, b = hash_secret("4821", CHEAP), hash_secret("4821", CHEAP)
    assert a != b and verify_secret("4821", a) and verify_secret("4821", b)
    for broken in ("", "scrypt$1024$8$1$x", a.replace("scrypt", "md5"), a[:-4] + "AAAA", "not$a$hash$at$all$x"):
        assert not verify_secret("4821", broken)


def test_the_account_locks_at_the_fifth_failure_in_a_row() -> None:
    assert MAX_FAILURES == 5
    assert not any(is_locked(n) for n in range(MAX_FAILURES))
    assert is_locked(MAX_FAILURES) and is_locked(MAX_FAILURES + 3)
