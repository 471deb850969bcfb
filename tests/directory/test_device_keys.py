"""A device that signed in as someone before is not kept out by others' wrong PINs (issue 18, OWASP's device
cookies), on both directory backends: its sign-ins as that person carry the device key it was given, and are
counted against the device instead of the account and the address. A key that does not hold (missing, forged,
another person's, from before a new PIN) changes nothing: the answers are those without it."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac

import pytest

from floor.clock import ManualClock
from floor.core.access import Role
from floor.core.errors import Refusal
from floor.credentials import MAX_FAILURES
from floor.directory.base import address_key, device_key
from floor.sessions import Sessions, SignedIn
from tests.support.directories import Opener
from tests.support.staff import CHEAP, PIN, HeldChecks

pytestmark = pytest.mark.anyio

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
DESK, MA = "desk-ana", "ma-ben"
#: The owner's tablet at the clinic, and someone guessing from elsewhere.
CLINIC_NET, ELSEWHERE = "10.0.0.7", "203.0.113.9"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def refusal(sessions: Sessions, staff: str, secret: str, key: str | None, address: str = CLINIC_NET) -> dict:
    """The answer to a sign-in that must not work: its status and detail (message, retry_after)."""
    with pytest.raises(Refusal) as refused:
        await sessions.sign_in(staff, secret, "tablet-1", address, device_key=key)
    e = refused.value
    return {"why": e.why, "message": e.message, "detail": e.detail, "field": e.field}


async def lock_out(sessions: Sessions, staff: str) -> None:
    """Anonymous wrong PINs from elsewhere, until the account waits a minute."""
    for _ in range(MAX_FAILURES):
        with pytest.raises(Refusal):
            await sessions.sign_in(staff, "1111", "somewhere", ELSEWHERE)
    held = await sessions.strikes(staff)
    assert held is not None and held.until == sessions.clock.now() + dt.timedelta(minutes=1)


def forged(staff: str, hashed_with: str, nonce: str = "bm9uY2Utb2YtbXktb3du") -> str:
    """A key of the right form whose mac was made with `hashed_with` instead of the account's stored hash."""
    message = f"floor-device-key\n{staff}\n{nonce}".encode()
    mac = base64.urlsafe_b64encode(hmac.new(hashed_with.encode(), message, hashlib.sha256).digest()).rstrip(b"=")
    return f"{nonce}.{mac.decode()}"


async def desk_and_ma(open_directory: Opener) -> tuple[Sessions, SignedIn, SignedIn]:
    sessions = Sessions(await open_directory(), ManualClock(START), cost=CHEAP)
    await sessions.add_staff(DESK, "Ana Flores", Role.front_desk, PIN, "test")
    await sessions.add_staff(MA, "Ben Osei", Role.medical_assistant, PIN, "test")
    return sessions, await sessions.sign_in(DESK, PIN, "tablet-1", CLINIC_NET), await sessions.sign_in(MA, PIN, "t2")


async def test_a_device_that_signed_in_before_gets_in_while_others_wrong_pins_make_the_account_wait(
    open_directory: Opener,
) -> None:
    sessions, ana, ben = await desk_and_ma(open_directory)
    assert ana.device_key and ana.device_key != ben.device_key
    await lock_out(sessions, DESK)

    # Without a key, or with one that does not hold, the owner is told to wait, word for word as before.
    waits = await refusal(sessions, DESK, PIN, None)
    assert waits["detail"]["retry_after"] == 60 and "in 1 minute" in waits["message"]
    nonce = ana.device_key.partition(".")[0]
    for bad in (
        ben.device_key,  # another person's
        f"{nonce}.{'A' * 43}",  # a forged mac
        forged(DESK, "a guess at the hash"),
        ana.device_key[:-1],  # cut short
        "not-a-device-key",
        ana.device_key + ".more",
    ):
        assert await refusal(sessions, DESK, PIN, bad) == waits, bad
    # An unknown id with a key forged against no hash at all answers as it does without one.
    for _ in range(MAX_FAILURES):
        with pytest.raises(Refusal):
            await sessions.sign_in("nobody-here", "1111", "somewhere", ELSEWHERE)
    assert await refusal(sessions, "nobody-here", PIN, forged("nobody-here", "")) == await refusal(
        sessions, "nobody-here", PIN, None
    )
    assert await refusal(sessions, "nobody-here", PIN, forged("nobody-here", "")) == waits

    # With the key its tablet got, the owner signs in at once, and keeps the key.
    again = await sessions.sign_in(DESK, PIN, "tablet-1", CLINIC_NET, device_key=ana.device_key)
    assert again.staff == DESK and again.device_key == ana.device_key
    # The account's wait still holds for everyone else.
    assert await refusal(sessions, DESK, PIN, None, ELSEWHERE) == waits
    held = await sessions.strikes(DESK)
    assert held is not None and held.count == MAX_FAILURES


async def test_wrong_pins_sent_with_a_device_key_make_that_device_wait_and_not_the_account(
    open_directory: Opener,
) -> None:
    sessions, ana, _ = await desk_and_ma(open_directory)
    key = ana.device_key
    for _ in range(MAX_FAILURES - 1):
        assert (await refusal(sessions, DESK, "1111", key))["detail"].get("retry_after") is None
    fifth = await refusal(sessions, DESK, "1111", key)
    assert fifth["detail"]["retry_after"] == 60
    assert (await refusal(sessions, DESK, PIN, key))["detail"]["retry_after"] == 60  # the device waits
    nonce = key.partition(".")[0]
    held = await sessions.directory.strikes(device_key(nonce), sessions.clock.now())
    assert held is not None and held.count == MAX_FAILURES
    # Neither the account nor the tablet's address was counted: without the key the owner gets in.
    assert await sessions.strikes(DESK) is None
    assert await sessions.directory.strikes(address_key(CLINIC_NET), sessions.clock.now()) is None
    assert (await sessions.sign_in(DESK, PIN, "tablet-2", CLINIC_NET)).staff == DESK

    # The device's wait is timed like an account's, and a right PIN after it clears the device's count.
    sessions.clock.advance(seconds=60)  # type: ignore[attr-defined]
    assert (await sessions.sign_in(DESK, PIN, "tablet-1", CLINIC_NET, device_key=key)).staff == DESK
    assert await sessions.directory.strikes(device_key(nonce), sessions.clock.now()) is None


async def test_a_new_pin_or_removing_the_person_voids_their_device_keys(open_directory: Opener) -> None:
    sessions, ana, _ = await desk_and_ma(open_directory)
    await sessions.set_secret(DESK, "8642", "mgr-dana")
    await lock_out(sessions, DESK)
    waits = await refusal(sessions, DESK, "8642", None)
    assert waits["detail"]["retry_after"] == 60
    assert await refusal(sessions, DESK, "8642", ana.device_key) == waits
    # Wrong PINs with the old key count against the account, as without it.
    sessions.clock.advance(seconds=60)  # type: ignore[attr-defined]
    assert (await refusal(sessions, DESK, "1111", ana.device_key))["detail"]["retry_after"] == 120

    # Removed and added again with the very same PIN: a new hash, so the old key is void too.
    sessions.clock.advance(seconds=120)  # type: ignore[attr-defined]
    before = await sessions.sign_in(DESK, "8642", "tablet-1", CLINIC_NET)
    await sessions.remove_staff(DESK, "mgr-dana")
    await sessions.add_staff(DESK, "Ana Flores", Role.front_desk, "8642", "mgr-dana")
    await lock_out(sessions, DESK)
    assert await refusal(sessions, DESK, "8642", before.device_key) == await refusal(sessions, DESK, "8642", None)


async def test_forty_wrong_pins_and_the_right_one_sent_together_with_a_device_key_get_no_token(
    open_directory: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The device's own count is taken before each PIN is checked, as the account's is: a stolen key gives a
    burst no more tries than the free ones."""
    first = Sessions(await open_directory(), ManualClock(START), cost=CHEAP)
    second = first if not first.directory.shared else Sessions(await open_directory(), first.clock, cost=CHEAP)
    await first.add_staff(DESK, "Ana Flores", Role.front_desk, PIN, "test")
    key = (await first.sign_in(DESK, PIN, "tablet-1", CLINIC_NET)).device_key
    nonce = key.partition(".")[0]
    checks = HeldChecks(monkeypatch)

    async def guess(i: int) -> SignedIn:
        return await (first if i % 2 else second).sign_in(DESK, f"{1000 + i}", f"t-{i}", f"10.1.0.{i}", key)

    wrong = [asyncio.create_task(guess(i)) for i in range(40)]
    for _ in range(1000):
        held = await first.directory.strikes(device_key(nonce), first.clock.now())
        if held is not None and held.pending >= MAX_FAILURES:
            break
        await asyncio.sleep(0.005)
    else:
        raise AssertionError("never: the free tries in flight")
    with pytest.raises(Refusal) as right:
        await second.sign_in(DESK, PIN, "tablet-right", CLINIC_NET, device_key=key)
    assert right.value.detail["retry_after"] == 1
    checks.release()
    answers = await asyncio.gather(*wrong, return_exceptions=True)
    assert all(isinstance(a, Refusal) for a in answers), "a guess got a token"
    assert len(checks.checked) == MAX_FAILURES and PIN not in checks.checked
    with pytest.raises(Refusal) as again:
        await second.sign_in(DESK, PIN, "tablet-right", CLINIC_NET, device_key=key)
    assert again.value.detail["retry_after"] == 60
    held = await first.directory.strikes(device_key(nonce), first.clock.now())
    assert held is not None and held.count == MAX_FAILURES
    assert await first.strikes(DESK) is None
