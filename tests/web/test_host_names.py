"""DNS rebinding (a hostile review): a page of evil.example, its name then pointed at the clinic's server, sends
`Host: evil.example:PORT` and `Origin: http://evil.example:PORT`, which the Origin check takes for the server's own
pages: its wrong PINs locked the clinic's address out. With FLOOR_ALLOWED_HOSTS set, a request (or a live socket's
handshake) sent to a name not listed, nor an IP literal, nor localhost, is refused 421 before anything is done."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
from collections.abc import Iterator

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.close_codes import CLOSE_FORBIDDEN
from floor.core.access import Role
from floor.floors import Floors
from floor.web.app import create_app
from floor.web.auth import Guarding
from tests.support.clinics import quiet_clinic
from tests.support.in_process_server import InProcessServer
from tests.support.staff import PEOPLE, PIN, add_person, test_floors

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in Chicago
API = "/api/clinics/riverside"
LISTED = frozenset({"floor.clinic.example"})
EVIL = {"Host": "evil.example:8000", "Origin": "http://evil.example:8000"}


@contextlib.contextmanager
def serving(tmp_path, allowed_hosts: frozenset[str] = LISTED) -> Iterator[tuple[TestClient, Floors]]:
    floors = test_floors(tmp_path, [quiet_clinic()], clock=ManualClock(START), tick_seconds=3600)
    with TestClient(create_app(floors, guarding=Guarding(allowed_hosts=allowed_hosts))) as client:
        yield client, floors


def strikes(client: TestClient, floors: Floors, person: str) -> int:
    held = client.blocking_portal.call(floors.sessions.strikes, person)
    return held.count if held is not None else 0


def wrong_pin(client: TestClient, person: str, headers: dict[str, str]):
    return client.post("/api/sign-in", json={"staff": person, "secret": "0000", "device": "t1"}, headers=headers)


def test_a_write_sent_to_a_name_not_listed_is_refused_421_and_counts_nothing(tmp_path) -> None:
    with serving(tmp_path) as (client, floors):
        person = add_person(client, floors, Role.front_desk)
        for _ in range(3):
            answer = wrong_pin(client, person, EVIL)
            assert answer.status_code == 421, answer.text
            assert answer.json() == {
                "error": "host_not_allowed",
                "message": answer.json()["message"],
                "field": "Host",
            }
            assert "FLOOR_ALLOWED_HOSTS" in answer.json()["message"]
            assert answer.headers["cache-control"] == "no-store"
        assert strikes(client, floors, person) == 0
        # Every route, and a path no route has: the pages, a pairing, a read, the schema.
        for method, path in (
            ("POST", "/api/displays/pairings"),
            ("GET", f"{API}/board"),
            ("GET", "/"),
            ("GET", "/schema"),
            ("GET", "/no/such/path"),
        ):
            assert client.request(method, path, headers=EVIL).status_code == 421, path
        # Sent to the name the server is set up for, the same wrong PIN is counted, as it always was.
        assert wrong_pin(client, person, {"Host": "floor.clinic.example"}).status_code == 401
        assert strikes(client, floors, person) == 1


def test_without_the_setting_every_host_is_answered_as_before(tmp_path) -> None:
    with serving(tmp_path, allowed_hosts=frozenset()) as (client, floors):
        person = add_person(client, floors, Role.front_desk)
        assert wrong_pin(client, person, EVIL).status_code == 401
        assert strikes(client, floors, person) == 1


@pytest.mark.parametrize(
    "host",
    [
        "floor.clinic.example",
        "floor.clinic.example:8443",
        "FLOOR.Clinic.Example.",  # names are compared in lower case, without a trailing dot
        "10.1.2.3:8000",
        "127.0.0.1",
        "[::1]:8000",
        "[fe80::1]",
        "localhost:8000",
        "localhost",
    ],
)
def test_a_listed_name_an_ip_literal_and_localhost_are_answered(tmp_path, host: str) -> None:
    with serving(tmp_path) as (client, floors):
        person = add_person(client, floors, Role.front_desk)
        signed = client.post(
            "/api/sign-in",
            json={"staff": person, "secret": PIN, "device": "t1"},
            headers={"Host": host, "Origin": f"http://{host}"},
        )
        assert signed.status_code == 201, signed.text


@pytest.mark.parametrize(
    ("host", "answered"),
    [
        ("wall.clinic.example", True),
        ("a.b.clinic.example:8000", True),
        ("clinic.example", False),  # `*.suffix` is the names under it, not the suffix itself
        ("evilclinic.example", False),
        ("clinic.example.evil.example", False),
        ("wall.clinic.example.evil.example", False),
    ],
)
def test_a_wildcard_takes_every_name_under_it(tmp_path, host: str, answered: bool) -> None:
    with serving(tmp_path, allowed_hosts=frozenset({"*.clinic.example"})) as (client, _):
        status = client.post("/api/displays/pairings", headers={"Host": host}).status_code
        assert (status == 201) is answered, (host, status)
        assert (status == 421) is not answered, (host, status)


def test_a_live_socket_sent_to_a_name_not_listed_is_refused_before_it_is_accepted(tmp_path) -> None:
    with serving(tmp_path) as (client, floors):
        person = add_person(client, floors, Role.front_desk)
        token = client.blocking_portal.call(floors.sessions.sign_in, person, PIN, "tablet-1").token
        headers = {"host": EVIL["Host"], "origin": EVIL["Origin"], "authorization": f"Bearer {token}"}
        # However good its token. The TestClient cannot be answered with a status: the socket is closed before the
        # accept (a 403); over the network it is a 421 (below).
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(f"{API}/live", headers=headers):
            pass
        assert refused.value.code == CLOSE_FORBIDDEN


def _head(port: int, request: str) -> tuple[str, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request.encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer:
                head, _, body = answer.partition(b"\r\n\r\n")
                fields = dict(line.lower().split(": ", 1) for line in head.decode().split("\r\n")[1:])
                if len(body) >= int(fields.get("content-length", "0")):
                    break
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    return lines[0], dict(line.lower().split(": ", 1) for line in lines[1:]), body


def _handshake(host: str) -> str:
    return (
        f"GET {API}/live HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )


@pytest.mark.parametrize("ws", ["frames", "websockets-sansio"])
def test_over_the_network_a_name_not_listed_is_refused_421_on_a_write_and_on_the_live_socket(tmp_path, ws: str) -> None:
    floors = test_floors(tmp_path, [quiet_clinic()], clock=ManualClock(START), tick_seconds=3600)
    with InProcessServer(floors, allowed_hosts=LISTED, ws=ws) as server:
        person, name = PEOPLE[Role.front_desk]
        server.run(floors.sessions.add_staff(person, name, Role.front_desk, PIN, "test"))
        evil = f"evil.example:{server.port}"
        body = json.dumps({"staff": person, "secret": "0000", "device": "t1"})
        status, headers, said = _head(
            server.port,
            f"POST /api/sign-in HTTP/1.1\r\nHost: {evil}\r\nOrigin: http://{evil}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}",
        )
        assert status.startswith("HTTP/1.1 421 "), status
        assert json.loads(said)["error"] == "host_not_allowed" and headers["content-type"] == "application/json"
        assert server.run(floors.sessions.strikes(person)) is None

        status, headers, said = _head(server.port, _handshake(evil))
        assert status.startswith("HTTP/1.1 421 "), status
        assert json.loads(said) == {
            "error": "host_not_allowed",
            "message": json.loads(said)["message"],
            "field": "Host",
        }
        assert not floors.hub.subscribers("riverside")
        # The name listed, and an IP literal: the handshake is accepted.
        for host in (f"floor.clinic.example:{server.port}", f"127.0.0.1:{server.port}"):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
                s.sendall(_handshake(host).encode())
                assert s.recv(65536).startswith(b"HTTP/1.1 101 "), host
