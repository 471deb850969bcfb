"""The per-address limits (10 displays waiting for a code, 20 wrong sign-ins before the address waits) count an
IPv6 /64 as one address: one laptop on a clinic's IPv6 Wi-Fi owns a whole /64 (2^64 addresses, `ip addr add` or
privacy addresses); counted one by one, there was no per-address limit for it at all (a hostile review)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from floor.credentials import ADDRESS_LOCKOUT
from floor.sessions import PAIRINGS_PER_ADDRESS
from tests.server.conftest import ServerProcess

pytestmark = pytest.mark.server

ONE_HOST = "2001:db8:c1:1"  # one /64: one host's SLAAC prefix


def test_one_hosts_ipv6_prefix_is_one_address_for_the_limits(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log", "--trusted-proxies", "127.0.0.1")
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            pairings = [
                http.post("/api/displays/pairings", headers={"X-Forwarded-For": f"{ONE_HOST}::{i:x}"}).status_code
                for i in range(1, PAIRINGS_PER_ADDRESS + 3)
            ]
            guesses = [
                http.post(
                    "/api/sign-in",
                    json={"staff": f"nobody-{i}", "secret": "1111", "device": "tablet"},
                    headers={"X-Forwarded-For": f"{ONE_HOST}::{100 + i:x}"},
                )
                for i in range(ADDRESS_LOCKOUT.free + 2)
            ]
    finally:
        server.stop()
    waited = [g for g in guesses if "Retry-After" in g.headers]
    assert pairings.count(429) >= 2 and waited, (
        f"one /64 asked for {len(pairings)} pairing codes ({pairings.count(201)} given, the cap is "
        f"{PAIRINGS_PER_ADDRESS}) and sent {len(guesses)} wrong sign-ins ({len(waited)} made to wait, "
        f"the cap is {ADDRESS_LOCKOUT.free})"
    )
