"""What counts as one address for the limits (an IPv6 host's /64), and a full record of wrong sign-ins keeping
what matters: a flood of wrong sign-ins under fresh ids wiped a locked manager's wrong PINs (the embedded
directory dropped the keys forgotten soonest), and the guesser had their free tries again (a hostile review)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from floor.clock import ManualClock
from floor.core.access import Role
from floor.core.errors import Refusal
from floor.credentials import MAX_FAILURES
from floor.directory import embedded
from floor.directory.base import address_group, address_key
from floor.directory.embedded import EmbeddedDirectory
from floor.sessions import Sessions
from tests.support.staff import CHEAP, PIN

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("address", "group"),
    [
        ("2001:db8:c1:1::1", "2001:db8:c1:1::/64"),
        ("2001:db8:c1:1:ffff:ffff:ffff:ffff", "2001:db8:c1:1::/64"),
        ("2001:db8:c1:2::1", "2001:db8:c1:2::/64"),
        ("::ffff:10.0.0.7", "10.0.0.7"),  # an IPv4 client on a dual-stack socket
        ("10.0.0.7", "10.0.0.7"),
        ("unknown", "unknown"),
    ],
)
def test_an_ipv6_hosts_prefix_is_one_address(address: str, group: str) -> None:
    assert address_group(address) == group
    assert address_key(address) == f"address:{group}"


async def _refused(sessions: Sessions, staff: str, secret: str, address: str) -> Refusal | None:
    try:
        await sessions.sign_in(staff, secret, "tablet", address)
    except Refusal as refused:
        return refused
    return None


def test_a_flood_of_other_ids_does_not_wipe_an_accounts_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "MAX_STRIKES", 300)  # a small record, for a short flood

    async def run() -> tuple[bool, int, Refusal | None]:
        clock = ManualClock(START)
        sessions = Sessions(EmbeddedDirectory(None), clock, cost=CHEAP)
        await sessions.add_staff("dana", "Dana Reyes", Role.manager, PIN, "test")
        for i in range(MAX_FAILURES):  # the guesser's free tries on the manager's account
            assert await _refused(sessions, "dana", f"{1000 + i}", "192.0.2.1") is not None
        clock.advance(seconds=1)
        waits_before = (await sessions.strikes("dana")).waits(clock.now())
        # Then wrong sign-ins under fresh ids from fresh addresses, more than the record holds.
        for i in range(embedded.MAX_STRIKES * 2):
            await _refused(sessions, f"junk-{i}", "0000", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
        right = await _refused(sessions, "dana", PIN, "192.0.2.2")
        return waits_before, (await sessions.strikes("dana")) is not None, right

    waits_before, still_held, right = asyncio.run(run())
    assert waits_before and still_held
    assert right is not None  # the right PIN, refused unchecked: the account still waits
