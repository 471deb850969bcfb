"""Limits counted per client address believe `X-Forwarded-For` only from a proxy named in `--trusted-proxies`
(issue 18): by default a header any client can write changes nothing, so a burst spread over forged addresses is
still one address's burst. Counted here by the cap on displays waiting to be paired from one address."""

from __future__ import annotations

from pathlib import Path

import httpx

from floor.sessions import PAIRINGS_PER_ADDRESS
from tests.server.conftest import ServerProcess


def _pairings(server: ServerProcess, forwarded_for: list[str]) -> list[httpx.Response]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        return [http.post("/api/displays/pairings", headers={"X-Forwarded-For": address}) for address in forwarded_for]


def test_a_forged_x_forwarded_for_from_an_untrusted_peer_is_one_address(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log")
    server.start()
    try:
        forged = [f"203.0.113.{i}" for i in range(PAIRINGS_PER_ADDRESS + 2)]
        answers = _pairings(server, forged)
    finally:
        server.stop()
    assert [a.status_code for a in answers] == [201] * PAIRINGS_PER_ADDRESS + [429, 429]
    refused = answers[-1]
    assert "from this address" in refused.json()["message"] and int(refused.headers["Retry-After"]) > 0


def test_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log", "--trusted-proxies", "127.0.0.1")
    server.start()
    try:
        # Each client behind the proxy has its own allowance; one client past its own is refused.
        spread = _pairings(server, [f"203.0.113.{i}" for i in range(PAIRINGS_PER_ADDRESS + 2)])
        one = _pairings(server, ["198.51.100.7"] * (PAIRINGS_PER_ADDRESS + 1))
    finally:
        server.stop()
    assert [a.status_code for a in spread] == [201] * (PAIRINGS_PER_ADDRESS + 2)
    assert [a.status_code for a in one] == [201] * PAIRINGS_PER_ADDRESS + [429]
