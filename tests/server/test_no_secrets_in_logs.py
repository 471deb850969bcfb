"""No token, device key, display claim or PIN reaches the server's output at any level (issue 18): a real
server at debug level, through sign-ins (a wrong PIN and the right one, without and with a device key), sockets
authenticated by message, by header and with a `?token=` a client put in the URL, a tap, and a wall display's
pairing. Its whole output is searched."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from floor.core.access import Role
from tests.server.conftest import ServerProcess, bearer

pytestmark = pytest.mark.anyio

CLINIC = "riverside"
#: Distinctive, so that no timestamp, port or id can contain them by chance.
PIN = "Qv7-pin-83105"
WRONG_PIN = "Zx4-pin-61927"
MANAGER_PIN = "Mk2-pin-40718"
WALK_IN = {"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True}


@pytest.mark.parametrize("stack", ["frames", "websockets-sansio", "websockets"])
async def test_debug_logs_hold_no_token_claim_or_pin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stack: str
) -> None:
    monkeypatch.setenv("FLOOR_LOG_LEVEL", "debug")
    monkeypatch.setenv("FLOOR_WS", stack)
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log")
    server.add_staff("desk-ana", Role.front_desk, pin=PIN)
    server.add_staff("mgr-dana", Role.manager, pin=MANAGER_PIN)
    server.start()
    secrets: list[str] = [PIN, WRONG_PIN, MANAGER_PIN]
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            wrong = await http.post("/api/sign-in", json={"staff": "desk-ana", "secret": WRONG_PIN, "device": "t1"})
            assert wrong.status_code == 401
            signed = await http.post("/api/sign-in", json={"staff": "desk-ana", "secret": PIN, "device": "t1"})
            assert signed.status_code == 201, signed.text
            key = signed.json()["device_key"]
            secrets += [signed.json()["token"], key, key.partition(".")[2]]
            # Again from the same tablet with its device key: a wrong PIN, then the right one.
            with_key = {"staff": "desk-ana", "device": "t1", "device_key": key}
            assert (await http.post("/api/sign-in", json={**with_key, "secret": WRONG_PIN})).status_code == 401
            signed = await http.post("/api/sign-in", json={**with_key, "secret": PIN})
            assert signed.status_code == 201, signed.text
            token = signed.json()["token"]
            manager = await http.post(
                "/api/sign-in", json={"staff": "mgr-dana", "secret": MANAGER_PIN, "device": "office"}
            )
            manager_token = manager.json()["token"]
            secrets += [token, manager_token]
            live = f"{server.ws_url}/api/clinics/{CLINIC}/live"

            # By message; with the token also in the URL (Floor ignores it there, but uvicorn logs the URL);
            # and by header.
            async with (
                connect(live) as by_message,
                connect(f"{live}?token={token}") as by_query,
                connect(live, additional_headers=bearer(token)) as by_header,
            ):
                for ws in (by_message, by_query):
                    await ws.send(json.dumps({"type": "auth", "token": token}))
                for ws in (by_message, by_query, by_header):
                    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["kind"] == "snapshot"
                tapped = await http.post(f"/api/clinics/{CLINIC}/visits", json=WALK_IN, headers=bearer(token))
                assert tapped.status_code == 201, tapped.text
                for ws in (by_message, by_query, by_header):
                    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["kind"] == "event"

            # A wall display: its claim, then its token, on its own socket.
            started = (await http.post("/api/displays/pairings")).json()
            secrets.append(started["claim"])
            paired = await http.post(
                "/api/displays", json={"code": started["code"], "clinic": CLINIC}, headers=bearer(manager_token)
            )
            assert paired.status_code == 201, paired.text
            collected = await http.post("/api/displays/pairings/claim", json={"claim": started["claim"]})
            display_token = collected.json()["token"]
            secrets.append(display_token)
            async with connect(f"{live}?token={display_token}") as wall:
                await wall.send(json.dumps({"type": "auth", "token": display_token}))
                assert json.loads(await asyncio.wait_for(wall.recv(), 10))["kind"] == "snapshot"
            assert (await http.post("/api/sign-out", headers=bearer(token))).status_code == 204
    finally:
        server.stop()

    output = server.log()
    assert '"level": "debug"' in output or '"level":"debug"' in output, "the server did not log at debug level"
    for secret in secrets:
        assert secret not in output, f"{secret[:6]}... is in the server's output"
    assert "/live?token=<redacted>" in output, "uvicorn's socket line was not seen (nothing was searched?)"
