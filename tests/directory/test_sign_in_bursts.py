"""Guesses sent all at once get no more PIN checks than guesses sent one by one (issue 18): every attempt is
counted before its PIN is checked, on both directory backends, so 40 wrong PINs and the right one sent
together give no token, and only the account's free tries are ever checked."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from floor.clock import ManualClock
from floor.core.access import Role
from floor.core.errors import Refusal
from floor.credentials import MAX_FAILURES
from floor.sessions import Sessions, SignedIn
from tests.support.directories import Opener
from tests.support.staff import CHEAP, PIN, HeldChecks

pytestmark = pytest.mark.anyio

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
DESK = "desk-ana"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def until(condition, what: str) -> None:
    for _ in range(1000):
        if await condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never: {what}")


async def test_forty_wrong_pins_and_the_right_one_sent_together_get_no_token(
    open_directory: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two servers on one Redis directory share the burst; the embedded file has one server.
    first = Sessions(await open_directory(), ManualClock(START), cost=CHEAP)
    second = first if not first.directory.shared else Sessions(await open_directory(), first.clock, cost=CHEAP)
    await first.add_staff(DESK, "Ana Flores", Role.front_desk, PIN, "test")
    checks = HeldChecks(monkeypatch)

    async def guess(i: int) -> SignedIn:
        return await (first if i % 2 else second).sign_in(DESK, f"{1000 + i}", f"tablet-{i}", "10.0.0.7")

    wrong = [asyncio.create_task(guess(i)) for i in range(40)]

    async def in_flight() -> bool:
        held = await first.strikes(DESK)
        return held is not None and held.pending >= MAX_FAILURES

    # The right PIN goes in while the wrong ones are all still waiting for their answer: the free tries are
    # being checked, so it is told to try again in a second.
    await until(in_flight, "the free tries in flight")
    with pytest.raises(Refusal) as right:
        await second.sign_in(DESK, PIN, "tablet-right", "10.0.0.7")
    assert right.value.detail["retry_after"] == 1
    checks.release()
    answers = await asyncio.gather(*wrong, return_exceptions=True)
    # And when it does, the wrong ones have made the account wait.
    with pytest.raises(Refusal) as again:
        await second.sign_in(DESK, PIN, "tablet-right", "10.0.0.7")
    assert again.value.detail["retry_after"] == 60

    assert all(isinstance(a, Refusal) for a in answers), "a guess got a token"
    assert PIN not in checks.checked
    assert len(checks.checked) == MAX_FAILURES, "more PINs were checked than the free tries"
    refused_unchecked = [a for a in answers if isinstance(a, Refusal) and "retry_after" in a.detail]
    assert len(refused_unchecked) >= 40 - MAX_FAILURES
    held = await first.strikes(DESK)
    assert held is not None and held.count == MAX_FAILURES and held.until == START + dt.timedelta(minutes=1)

    # The burst kept the owner out for the minute and no longer.
    first.clock.advance(seconds=60)  # type: ignore[attr-defined]
    signed = await second.sign_in(DESK, PIN, "tablet-right", "10.0.0.7")
    assert signed.staff == DESK and await first.strikes(DESK) is None


async def test_a_burst_from_one_address_over_many_ids_gets_the_addresss_free_tries(
    open_directory: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = Sessions(await open_directory(), ManualClock(START), cost=CHEAP)
    await sessions.add_staff(DESK, "Ana Flores", Role.front_desk, PIN, "test")
    checks = HeldChecks(monkeypatch)
    checks.release()
    ids = [f"someone-{i}" for i in range(60)] + [DESK]
    answers = await asyncio.gather(
        *(sessions.sign_in(i, "1111", "tablet", "10.0.0.7") for i in ids), return_exceptions=True
    )
    assert all(isinstance(a, Refusal) for a in answers)
    assert len(checks.checked) == sessions.address_lockout.free
    # Another address is not held up by it.
    signed = await sessions.sign_in(DESK, PIN, "tablet", "10.0.0.8")
    assert signed.staff == DESK


async def test_many_right_sign_ins_at_once_are_never_made_to_wait(open_directory: Opener) -> None:
    """Several tablets of one person (or one clinic's network) signing in at the same moment: those beyond
    the free tries in flight are told to try again in a second, never to wait, and then get in."""
    sessions = Sessions(await open_directory(), ManualClock(START), cost=CHEAP)
    await sessions.add_staff(DESK, "Ana Flores", Role.front_desk, PIN, "test")
    answers = await asyncio.gather(
        *(sessions.sign_in(DESK, PIN, f"tablet-{i}", "10.0.0.7") for i in range(30)), return_exceptions=True
    )
    busy = [a for a in answers if isinstance(a, Refusal)]
    assert all(a.detail["retry_after"] == 1 for a in busy)
    assert len(busy) < 30
    assert await sessions.strikes(DESK) is None
    for _ in busy:
        assert (await sessions.sign_in(DESK, PIN, "tablet-again", "10.0.0.7")).staff == DESK
