"""Behind a trusted proxy, on an IPv6 network: a guest laptop's wrong sign-ins make its own address wait, not the
clinic's tablets on the same /64 (every device of a network shares it: a review of a fix that counted the /64 as
one address); the /64 has limits of its own, ten times an address's (tests/directory)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from floor.core.access import Role
from floor.credentials import ADDRESS_LOCKOUT
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = pytest.mark.server

NETWORK = "2001:db8:c1:1"  # a clinic's Wi-Fi: one /64


def test_a_guests_wrong_pins_make_only_its_own_address_wait(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log", "--trusted-proxies", "127.0.0.1")
    server.start()
    try:
        server.signed_in(Role.front_desk)  # the account
        desk = PEOPLE[Role.front_desk][0]
        with httpx.Client(base_url=server.url, timeout=10) as http:

            def sign_in(staff: str, secret: str, address: str) -> httpx.Response:
                body = {"staff": staff, "secret": secret, "device": "tablet"}
                return http.post("/api/sign-in", json=body, headers={"X-Forwarded-For": address})

            guest = [sign_in(f"nobody-{i}", "1111", f"{NETWORK}::bad") for i in range(ADDRESS_LOCKOUT.free + 2)]
            assert "Retry-After" in guest[-1].headers  # the guest's address waits
            assert sign_in(desk, PIN, f"{NETWORK}::bad").status_code == 401  # even with a right PIN
            assert sign_in(desk, PIN, f"{NETWORK}::a").status_code == 201  # a tablet of the same network does not
    finally:
        server.stop()
