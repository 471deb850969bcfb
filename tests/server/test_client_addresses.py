"""Limits counted per client address believe `X-Forwarded-For` only from a proxy named in `--trusted-proxies`
(issue 18): by default a header any client can write changes nothing, so a burst spread over forged addresses is
still one address's burst. Counted here by the cap on displays waiting to be paired from one address, and by
the wrong sign-ins an address may send before it must wait."""

from __future__ import annotations

from pathlib import Path

import httpx

from floor.core.access import Role
from floor.credentials import ADDRESS_LOCKOUT
from floor.sessions import PAIRINGS_PER_ADDRESS
from tests.server.conftest import ServerProcess
from tests.support.staff import PIN

DESK = "desk-ana"


def _pairings(server: ServerProcess, forwarded_for: list[str]) -> list[httpx.Response]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        return [http.post("/api/displays/pairings", headers={"X-Forwarded-For": address}) for address in forwarded_for]


def _wrong_sign_ins_then_the_right_one(server: ServerProcess, first: int) -> list[httpx.Response]:
    """As many wrong PINs as an address may send, each for another id and under another forged address, then
    the right PIN of a real account under yet another."""
    with httpx.Client(base_url=server.url, timeout=10) as http:
        tries = [(f"nobody-{i}", "1111") for i in range(ADDRESS_LOCKOUT.free)] + [(DESK, PIN)]
        return [
            http.post(
                "/api/sign-in",
                json={"staff": staff, "secret": secret, "device": "tablet"},
                headers={"X-Forwarded-For": f"198.51.100.{first + i}"},
            )
            for i, (staff, secret) in enumerate(tries)
        ]


def test_a_forged_x_forwarded_for_from_an_untrusted_peer_is_one_address(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log")
    server.add_staff(DESK, Role.front_desk)
    server.start()
    try:
        forged = [f"203.0.113.{i}" for i in range(PAIRINGS_PER_ADDRESS + 2)]
        answers = _pairings(server, forged)
        signing = _wrong_sign_ins_then_the_right_one(server, 1)
    finally:
        server.stop()
    assert [a.status_code for a in answers] == [201] * PAIRINGS_PER_ADDRESS + [429, 429]
    refused = answers[-1]
    assert "from this address" in refused.json()["message"] and int(refused.headers["Retry-After"]) > 0
    # The wrong PINs were all one address's: it waits, and the right PIN sent from it waits with it.
    assert [a.status_code for a in signing] == [401] * len(signing)
    assert "Retry-After" not in signing[0].headers
    assert int(signing[-1].headers["Retry-After"]) > 0


def test_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log", "--trusted-proxies", "127.0.0.1")
    server.add_staff(DESK, Role.front_desk)
    server.start()
    try:
        # Each client behind the proxy has its own allowance; one client past its own is refused.
        spread = _pairings(server, [f"203.0.113.{i}" for i in range(PAIRINGS_PER_ADDRESS + 2)])
        one = _pairings(server, ["198.51.100.7"] * (PAIRINGS_PER_ADDRESS + 1))
        signing = _wrong_sign_ins_then_the_right_one(server, 10)
    finally:
        server.stop()
    assert [a.status_code for a in spread] == [201] * (PAIRINGS_PER_ADDRESS + 2)
    assert [a.status_code for a in one] == [201] * PAIRINGS_PER_ADDRESS + [429]
    # Each wrong PIN came from its own client: none waits, and the right PIN from another gets in.
    assert [a.status_code for a in signing] == [401] * ADDRESS_LOCKOUT.free + [201]
    assert not [a for a in signing if "Retry-After" in a.headers]


def test_every_peer_a_proxy_takes_the_address_the_nearest_proxy_wrote(tmp_path: Path) -> None:
    """`--trusted-proxies '*'` (or FORWARDED_ALLOW_IPS=*, as platforms behind a load balancer set it) took the first
    address of X-Forwarded-For, which a client writes itself where the load balancer appends to it (most do): each
    wrong PIN under an address of its own, no address ever waited (a hostile review of break-ins). The client is the
    last address, the one the proxy in front of Floor wrote."""
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log", "--trusted-proxies", "*")
    server.add_staff(DESK, Role.front_desk)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            # One client, 192.0.2.50, each try under another address of its own making, the balancer's appended.
            tries = [(f"nobody-{i}", "1111") for i in range(ADDRESS_LOCKOUT.free)] + [(DESK, PIN)]
            signing = [
                http.post(
                    "/api/sign-in",
                    json={"staff": staff, "secret": secret, "device": "tablet"},
                    headers={"X-Forwarded-For": f"198.51.100.{i}, 192.0.2.50"},
                )
                for i, (staff, secret) in enumerate(tries)
            ]
            # Clients behind a proxy that writes the header itself each have their own allowance.
            spread = [
                http.post("/api/displays/pairings", headers={"X-Forwarded-For": f"203.0.113.{i}"})
                for i in range(PAIRINGS_PER_ADDRESS + 2)
            ]
    finally:
        server.stop()
    assert [a.status_code for a in signing] == [401] * len(signing)
    assert int(signing[-1].headers["Retry-After"]) > 0
    assert [a.status_code for a in spread] == [201] * (PAIRINGS_PER_ADDRESS + 2)
