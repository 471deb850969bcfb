"""Credentials are slow salted scrypt hashes; repeated failures make an account (or address) wait, longer each time."""

from __future__ import annotations

import datetime as dt

import pytest

from floor.credentials import (
    ACCOUNT_LOCKOUT,
    ADDRESS_LOCKOUT,
    MAX_ADDRESS_FAILURES,
    MAX_FAILURES,
    OWASP,
    TEST_COST,
    TEST_HASHING_VARIABLE,
    ScryptCost,
    configured_cost,
    device_nonce,
    hash_secret,
    issue_device_key,
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


def test_the_fifth_failure_in_a_row_starts_a_wait_that_doubles_up_to_a_quarter_hour() -> None:
    assert MAX_FAILURES == 5
    assert [ACCOUNT_LOCKOUT.wait_after(n) for n in range(1, MAX_FAILURES)] == [None] * (MAX_FAILURES - 1)
    minutes = [ACCOUNT_LOCKOUT.wait_after(n) / dt.timedelta(minutes=1) for n in range(5, 12)]  # type: ignore[operator]
    assert minutes == [1, 2, 4, 8, 15, 15, 15]
    assert ACCOUNT_LOCKOUT.wait_after(10_000) == dt.timedelta(minutes=15)
    # An address (a clinic's tablets may share one) is allowed more before it waits.
    assert ADDRESS_LOCKOUT.wait_after(MAX_ADDRESS_FAILURES - 1) is None
    assert ADDRESS_LOCKOUT.wait_after(MAX_ADDRESS_FAILURES) == dt.timedelta(minutes=1)


@pytest.mark.parametrize("value", [None, "", "0", "true", "yes", "1 ", "on"])
def test_only_an_explicit_test_flag_lowers_the_cost_of_new_hashes(value: str | None) -> None:
    environ = {} if value is None else {TEST_HASHING_VARIABLE: value}
    assert configured_cost(environ) == OWASP
    assert configured_cost({TEST_HASHING_VARIABLE: "1"}) == TEST_COST
    assert TEST_COST.n < OWASP.n


def test_sign_ins_hash_at_owasps_cost_unless_the_test_flag_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from floor.clock import SystemClock
    from floor.directory.embedded import EmbeddedDirectory
    from floor.sessions import Sessions

    monkeypatch.delenv(TEST_HASHING_VARIABLE)  # the suite sets it (tests/conftest.py)
    assert Sessions(EmbeddedDirectory(None), SystemClock()).cost == OWASP
    monkeypatch.setenv(TEST_HASHING_VARIABLE, "1")
    assert Sessions(EmbeddedDirectory(None), SystemClock()).cost == TEST_COST
    assert Sessions(EmbeddedDirectory(None), SystemClock(), cost=OWASP).cost == OWASP


def test_a_device_key_holds_only_for_its_person_and_their_hash_of_the_time() -> None:
    stored, other = hash_secret("4821", CHEAP), hash_secret("4821", CHEAP)
    key = issue_device_key("desk-ana", stored)
    nonce, _, mac = key.partition(".")
    assert len(key) < 100 and nonce and mac
    assert device_nonce("desk-ana", stored, key) == nonce
    assert issue_device_key("desk-ana", stored) != key  # a new nonce each time
    # Another person, the same PIN hashed again (a new PIN, or the id removed and added again), or any change.
    assert device_nonce("ma-ben", stored, key) is None
    assert device_nonce("desk-ana", other, key) is None
    for bad in (None, "", key[:-1], key + "A", f"{nonce}.", f".{mac}", nonce, f"{nonce}x.{mac}", "é" * 40):
        assert device_nonce("desk-ana", stored, bad) is None, bad
    assert device_nonce("desk-ana", stored, key + "." + "A" * 200) is None
