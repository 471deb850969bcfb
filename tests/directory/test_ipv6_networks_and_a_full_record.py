"""Limits per address on an IPv6 network (each address counted, and its /64 with ten times the limit: one host can
take any address of its /64, and every device of the network shares it), and a full record of wrong sign-ins
keeping what matters: a flood under fresh ids wiped a locked manager's wrong PINs (the embedded directory
dropped the keys forgotten soonest), and the guesser had their free tries again (a hostile review)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from floor.clock import ManualClock
from floor.core.access import Role
from floor.core.errors import Refusal
from floor.credentials import ADDRESS_LOCKOUT, MAX_FAILURES, NETWORK_LOCKOUT
from floor.directory import embedded
from floor.directory.base import address_key, network_of
from floor.directory.embedded import EmbeddedDirectory
from floor.sessions import Sessions
from tests.support.staff import CHEAP, PIN

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("2001:db8:c1:1::1", "2001:db8:c1:1::/64"),
        ("2001:db8:c1:1:ffff:ffff:ffff:ffff", "2001:db8:c1:1::/64"),
        ("2001:db8:c1:2::1", "2001:db8:c1:2::/64"),
        ("::ffff:10.0.0.7", None),  # an IPv4 client on a dual-stack socket
        ("10.0.0.7", None),
        ("unknown", None),
    ],
)
def test_an_ipv6_address_belongs_to_its_64(address: str, network: str | None) -> None:
    assert network_of(address) == network
    assert address_key(address) == f"address:{address}"  # each address is counted on its own too


def test_one_host_rotating_its_ipv6_addresses_waits_but_its_network_neighbours_do_not() -> None:
    async def run() -> tuple[Refusal | None, Refusal | None]:
        clock = ManualClock(START)
        sessions = Sessions(EmbeddedDirectory(None), clock, cost=CHEAP)
        await sessions.add_staff("ana", "Ana Flores", Role.front_desk, PIN, "test")
        # A guest laptop's 21 wrong PINs (past an address's 20) under fresh ids: its own address waits ...
        for i in range(ADDRESS_LOCKOUT.free + 1):
            await _refused(sessions, f"guess-{i}", "0000", "2001:db8:c1:1::bad")
        guest = await _refused(sessions, "ana", PIN, "2001:db8:c1:1::bad")
        # ... and Ana, on a tablet of the same network, signs in at once.
        ana = await _refused(sessions, "ana", PIN, "2001:db8:c1:1::a")
        return guest, ana

    guest, ana = asyncio.run(run())
    assert guest is not None and ana is None

    async def rotating() -> list[Refusal | None]:
        clock = ManualClock(START)
        sessions = Sessions(EmbeddedDirectory(None), clock, cost=CHEAP)
        # One host taking a new address of its /64 for each guess: the /64 waits past ten addresses' worth.
        return [
            await _refused(sessions, f"guess-{i}", "0000", f"2001:db8:c1:1::{i + 1:x}")
            for i in range(NETWORK_LOCKOUT.free + 2)
        ]

    answers = asyncio.run(rotating())
    assert all(r is not None for r in answers)
    assert "retry_after" not in answers[NETWORK_LOCKOUT.free - 2].detail  # ten addresses' worth: no wait yet
    assert answers[-1].detail.get("retry_after"), answers[-1].message  # then the whole /64 waits


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
