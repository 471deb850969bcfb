"""A real server process and the `websockets` client: taps reach sockets; resuming with `since` is exact.

Screens sign in: with `Authorization: Bearer` on the handshake (clients that can set headers), or with the
token in their first message (as a browser page does)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from floor.core.access import Role
from tests.server.conftest import ServerProcess, token_of

pytestmark = [pytest.mark.anyio, pytest.mark.server]

CLINIC = "riverside"
#: What every staff screen gets on each clock tick whatever happens on the floor: not updates.
TICKS = frozenset({"heartbeat", "delays", "measures"})


@pytest.fixture
def shared(module_server: ServerProcess) -> ServerProcess:
    """The module's server, for the tests that do not restart it or read its log (their own `server` else)."""
    return module_server


@pytest.fixture
def desk(shared: ServerProcess) -> dict[str, str]:
    return shared.signed_in(Role.front_desk)


async def _recv(ws, timeout: float = 5.0) -> dict:
    """The next update (snapshot or event), past any tick messages."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message["kind"] not in TICKS:
            return message


async def _no_event_within(ws, seconds: float) -> None:
    try:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), seconds))
            assert message["kind"] in TICKS, f"unexpected extra message {message}"
    except TimeoutError:
        return


def _walk_in(client: httpx.Client, name: str = "Ann Lee") -> dict:
    """A front desk client adds a walk-in."""
    r = client.post(
        f"/api/clinics/{CLINIC}/visits",
        json={"patient_name": name, "provider": "kim", "visit_type": "follow", "walk_in": True},
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_tap_over_http_reaches_a_connected_socket_with_the_next_seq(
    shared: ServerProcess, desk: dict[str, str]
) -> None:
    async with connect(f"{shared.ws_url}/api/clinics/{CLINIC}/live", additional_headers=desk) as ws:
        snapshot = await _recv(ws)
        assert snapshot["kind"] == "snapshot"
        assert snapshot["board"]["clinic"] == CLINIC
        with httpx.Client(base_url=shared.url, headers=desk) as client:
            answer = await asyncio.to_thread(_walk_in, client)
        event = await _recv(ws)
        assert event["kind"] == "event"
        assert event["seq"] == snapshot["seq"] + 1 == answer["seq"]
        assert event["visit"]["id"] == answer["visit"]["id"]
        assert event["visit"]["stage"] == "arrived"
        assert event["event"]["change"]["type"] == "visit_booked"


async def test_a_socket_resuming_with_since_gets_exactly_the_missed_events(
    shared: ServerProcess, desk: dict[str, str]
) -> None:
    ma, provider = shared.signed_in(Role.medical_assistant), shared.signed_in(Role.provider)
    with httpx.Client(base_url=shared.url, headers=desk) as client:
        visit = (await asyncio.to_thread(_walk_in, client))["visit"]["id"]
        async with connect(f"{shared.ws_url}/api/clinics/{CLINIC}/live", additional_headers=desk) as ws:
            seen = (await _recv(ws))["seq"]
        missed = []
        for body, who in (
            ({"type": "roomed", "room": "e1"}, ma),
            ({"type": "prep_done"}, ma),
            ({"type": "provider_in"}, provider),
        ):
            r = await asyncio.to_thread(
                client.post, f"/api/clinics/{CLINIC}/visits/{visit}/events", json=body, headers=who
            )
            assert r.status_code == 201, r.text
            missed.append(r.json()["seq"])
        async with connect(f"{shared.ws_url}/api/clinics/{CLINIC}/live?since={seen}", additional_headers=desk) as ws:
            got = [await _recv(ws) for _ in missed]
            assert [m["kind"] for m in got] == ["event"] * 3
            assert [m["seq"] for m in got] == missed == [seen + 1, seen + 2, seen + 3]
            assert [m["visit"]["stage"] for m in got] == ["roomed", "prep_done", "provider_in"]
            await _no_event_within(ws, 0.5)
            # And it stays live after catching up.
            r = await asyncio.to_thread(
                client.post,
                f"/api/clinics/{CLINIC}/visits/{visit}/events",
                json={"type": "teach_back_done"},
                headers=provider,
            )
            assert (await _recv(ws))["seq"] == r.json()["seq"] == seen + 4


async def test_resuming_when_up_to_date_brings_a_heartbeat_at_once_and_no_event(
    shared: ServerProcess, desk: dict[str, str]
) -> None:
    with httpx.Client(base_url=shared.url, headers=desk) as client:
        await asyncio.to_thread(_walk_in, client)
    async with connect(f"{shared.ws_url}/api/clinics/{CLINIC}/live", additional_headers=desk) as ws:
        seq = (await _recv(ws))["seq"]
    async with connect(f"{shared.ws_url}/api/clinics/{CLINIC}/live?since={seq}", additional_headers=desk) as ws:
        # Sooner than any tick: the screen knows at once that it is in step.
        heartbeat = json.loads(await asyncio.wait_for(ws.recv(), 2))
        assert heartbeat["kind"] == "heartbeat" and heartbeat["seq"] == seq and heartbeat["stale"] is False
        await _no_event_within(ws, 0.3)


async def test_a_screen_from_before_the_days_first_event_gets_a_snapshot(
    shared: ServerProcess, desk: dict[str, str]
) -> None:
    # seq 0 here is the start of the day: the screen may hold another day's board, so it is not resumed.
    async with connect(f"{shared.ws_url}/api/clinics/{CLINIC}/live?since=0", additional_headers=desk) as ws:
        assert (await _recv(ws))["kind"] == "snapshot"


async def test_a_page_signs_in_with_its_first_message_and_a_screen_without_a_token_is_closed(
    shared: ServerProcess, desk: dict[str, str]
) -> None:
    # A browser cannot set headers on a socket: it sends the token as its first message.
    async with connect(f"{shared.ws_url}/api/clinics/{CLINIC}/live") as ws:
        await ws.send(json.dumps({"type": "auth", "token": token_of(desk)}))
        snapshot = await _recv(ws)
        assert snapshot["kind"] == "snapshot" and snapshot["board"]["clinic"] == CLINIC
    for first in ({"type": "auth", "token": "not-a-token"}, {"type": "hello"}):
        async with connect(f"{shared.ws_url}/api/clinics/{CLINIC}/live") as ws:
            await ws.send(json.dumps(first))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401, first
    # Nor does a tap get in without one.
    r = httpx.post(
        f"{shared.url}/api/clinics/{CLINIC}/visits",
        json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True},
    )
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("path", "code", "words"),
    [
        ("/api/clinics/nowhere/live", 4404, "no clinic"),
        (f"/api/clinics/{CLINIC}/live?since=abc", 4400, "since"),
        (f"/api/clinics/{CLINIC}/live?since=-3", 4400, "since"),
        (f"/api/clinics/{CLINIC}/live?since=3&mark=zz", 4400, "mark"),
        (f"/api/clinics/{CLINIC}/live?since=3&mark=ABCDEF0123456789", 4400, "mark"),
        # Echoed in the reason, these made it longer than a close frame holds: the close failed (1011).
        (f"/api/clinics/{CLINIC}/live?since=3&mark=" + "%E2%82%AC" * 20, 4400, "mark"),
        (f"/api/clinics/{CLINIC}/live?since=3&mark=" + "%01" * 20, 4400, "mark"),
        (f"/api/clinics/{CLINIC}/live?since=" + "%01" * 20, 4400, "since"),
    ],
)
async def test_a_bad_clinic_or_parameter_closes_with_a_clear_code_and_reason(
    shared: ServerProcess, desk: dict[str, str], path: str, code: int, words: str
) -> None:
    async with connect(f"{shared.ws_url}{path}", additional_headers=desk) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == code
    assert words in closed.value.rcvd.reason


async def test_every_screen_of_the_clinic_gets_every_event_in_order(
    shared: ServerProcess, desk: dict[str, str]
) -> None:
    # Staff screens and a manager's, which also gets the measures on every tick.
    manager = shared.signed_in(Role.manager)
    sockets = [
        await connect(f"{shared.ws_url}/api/clinics/{CLINIC}/live", additional_headers=headers)
        for headers in (desk, desk, desk, desk, manager)
    ]
    try:
        starts = {(await _recv(ws))["seq"] for ws in sockets}
        assert len(starts) == 1
        with httpx.Client(base_url=shared.url, headers=desk) as client:
            seqs = [(await asyncio.to_thread(_walk_in, client, f"Patient {i}"))["seq"] for i in range(10)]
        for ws in sockets:
            assert [(await _recv(ws))["seq"] for _ in seqs] == seqs
    finally:
        for ws in sockets:
            await ws.close()


async def test_logs_carry_context_but_never_a_patient_name_nor_a_token(server: ServerProcess) -> None:
    desk = server.sign_in(server.add_staff("desk-rosa", Role.front_desk), device="desk-tablet-2")
    with httpx.Client(base_url=server.url, headers={**desk, "X-Request-ID": "req-123"}) as client:
        visit = (await asyncio.to_thread(_walk_in, client, "Zebedee Quinterro"))["visit"]["id"]
        r = await asyncio.to_thread(
            client.post, f"/api/clinics/{CLINIC}/visits/{visit}/events", json={"type": "checked_out"}
        )
        assert r.status_code == 409
    await asyncio.sleep(0.2)
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    stored = [line for line in lines if line.get("event") == "tap_stored"]
    # The actor and device are the sign-in's: who signed in, on the device they named.
    assert stored and stored[-1]["clinic"] == CLINIC and stored[-1]["actor"] == "desk-rosa"
    assert stored[-1]["device"] == "desk-tablet-2"
    assert stored[-1]["type"] == "walk_in" and stored[-1]["request_id"] == "req-123"
    assert "Zebedee" not in server.log() and "Quinterro" not in server.log()
    assert token_of(desk) not in server.log()


async def _room_in_w3(client: httpx.Client, visit: str, ma: dict[str, str]) -> None:
    r = await asyncio.to_thread(
        client.post, f"/api/clinics/{CLINIC}/visits/{visit}/events", json={"type": "roomed", "room": "w3"}, headers=ma
    )
    assert r.status_code == 201, r.text


async def test_after_a_server_restart_a_screen_resuming_with_since_gets_the_missed_events(
    server: ServerProcess,
) -> None:
    desk, ma = server.signed_in(Role.front_desk), server.signed_in(Role.medical_assistant)
    with httpx.Client(base_url=server.url, headers=desk) as client:
        visit = (await asyncio.to_thread(_walk_in, client))["visit"]["id"]
        async with connect(f"{server.ws_url}/api/clinics/{CLINIC}/live", additional_headers=desk) as ws:
            seen = (await _recv(ws))["seq"]
        await _room_in_w3(client, visit, ma)
    server.kill9()
    server.start()
    # The screen's sign-in outlives the restart: it resumes with the same token.
    async with connect(f"{server.ws_url}/api/clinics/{CLINIC}/live?since={seen}", additional_headers=desk) as ws:
        message = await _recv(ws)
        assert message["kind"] == "event" and message["seq"] == seen + 1
        assert message["visit"]["stage"] == "roomed" and message["rooms"][0]["id"] == "w3"
        await _no_event_within(ws, 0.3)


async def test_after_a_backup_is_restored_a_screen_that_saw_a_lost_event_gets_a_snapshot(
    server: ServerProcess,
) -> None:
    """The data directory restored from a backup taken before the screen's last update: the log holds another
    event at that seq now. By seq alone the screen was told it was in step and kept a roomed patient the log no
    longer has; resuming with the update's mark, it is sent the log's board."""
    desk, ma = server.signed_in(Role.front_desk), server.signed_in(Role.medical_assistant)
    backup = server.data_dir.parent / "backup"
    with httpx.Client(base_url=server.url, headers=desk) as client:
        visit = (await asyncio.to_thread(_walk_in, client))["visit"]["id"]
        server.stop()
        shutil.copytree(server.data_dir, backup)
        server.start()
        async with connect(f"{server.ws_url}/api/clinics/{CLINIC}/live", additional_headers=desk) as ws:
            first = await _recv(ws)
            await _room_in_w3(client, visit, ma)
            seen = await _recv(ws)
        assert seen["kind"] == "event" and seen["seq"] == first["seq"] + 1 and len(seen["mark"]) == 16
        server.stop()
        shutil.rmtree(server.data_dir)
        shutil.copytree(backup, server.data_dir)
        server.start()
        other = (await asyncio.to_thread(_walk_in, client, "Bo Diaz"))["visit"]["id"]
    resume = f"{server.ws_url}/api/clinics/{CLINIC}/live?since={seen['seq']}"
    async with connect(f"{resume}&mark={seen['mark']}", additional_headers=desk) as ws:
        snapshot = await _recv(ws)
    assert snapshot["kind"] == "snapshot" and snapshot["seq"] == seen["seq"] and snapshot["mark"] != seen["mark"]
    stages = {v["id"]: v["stage"] for v in snapshot["board"]["visits"]}
    assert stages[visit] == "arrived" and other in stages
    # The screen with the log's event at that seq is in step: a heartbeat, no snapshot.
    async with connect(f"{resume}&mark={snapshot['mark']}", additional_headers=desk) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 2))["kind"] == "heartbeat"
        await _no_event_within(ws, 0.3)


async def test_at_debug_level_the_log_shows_handshakes_but_never_a_token(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FLOOR_LOG_LEVEL", "debug")
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log")
    server.start()
    try:
        desk = server.signed_in(Role.front_desk)
        async with connect(f"{server.ws_url}/api/clinics/{CLINIC}/live", additional_headers=desk) as ws:
            assert (await _recv(ws))["kind"] == "snapshot"
    finally:
        server.stop()
    log = server.log()
    # The handshake was logged, header by header (named as the client sent them: "Authorization" is dropped too).
    assert "< upgrade: websocket" in log.lower()
    assert token_of(desk) not in log
