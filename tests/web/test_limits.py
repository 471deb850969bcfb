"""Limits: writes per sign-in, public routes per address, body and message sizes, socket origins, no CORS.
Every refused request writes nothing."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.close_codes import CLOSE_FORBIDDEN, CLOSE_TOO_BIG
from floor.core.access import Role
from floor.directory.base import PairingLimits
from floor.floors import Floors
from floor.web.app import MAX_BODY_BYTES, create_app
from floor.web.auth import Guarding
from floor.web.live import MAX_MESSAGE
from tests.support.clinics import quiet_clinic
from tests.support.staff import PEOPLE, PIN, add_person, test_floors

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in Chicago
CLINIC = "riverside"
API = f"/api/clinics/{CLINIC}"
SAME_ORIGIN = "http://testserver.local"  # the TestClient's Host is testserver.local
WALK_IN = {"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True}


def failures(client: TestClient, floors: Floors, person: str) -> int:
    held = client.blocking_portal.call(floors.sessions.strikes, person)
    return held.count if held is not None else 0


class ClientAddress:
    """The app, seeing the client address a test names in `X-Test-Address` (the TestClient always says
    `testclient`), so per-address limits can be told apart."""

    def __init__(self, app) -> None:
        self.app = app

    def __getattr__(self, name: str):
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket"):
            address = dict(scope["headers"]).get(b"x-test-address")
            if address:
                scope = {**scope, "client": (address.decode(), 50000)}
        await self.app(scope, receive, send)


@contextlib.contextmanager
def serving(tmp_path, guarding: Guarding) -> Iterator[tuple[TestClient, Floors]]:
    floors = test_floors(tmp_path, [quiet_clinic()], clock=ManualClock(START), tick_seconds=3600)
    with TestClient(ClientAddress(create_app(floors, guarding=guarding))) as client:  # type: ignore[arg-type]
        yield client, floors


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def token(client: TestClient, floors: Floors, role: Role, device: str = "tablet-1", staff: str | None = None) -> str:
    """A sign-in made through the sessions, so the public route's limit is not spent on setup."""
    person = add_person(client, floors, role, staff)
    return client.blocking_portal.call(floors.sessions.sign_in, person, PIN, device).token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def seq(floors: Floors) -> int:
    return floors.get(CLINIC).floor.seq


def assert_too_many(answer) -> int:
    assert answer.status_code == 429, answer.text
    body = answer.json()
    assert body["error"] == "too_many_requests" and "wait" in body["message"]
    retry_after = int(answer.headers["Retry-After"])
    assert retry_after >= 1
    return retry_after


# -- writes per sign-in ---------------------------------------------------------------------------------


def test_the_fourth_quick_write_is_refused_429_and_writes_nothing_while_reads_go_on(tmp_path) -> None:
    guarding = Guarding(write_rate=0.5, write_burst=3)
    time = guarding.writes.clock = FakeTime()  # type: ignore[misc]
    with serving(tmp_path, guarding) as (client, floors):
        desk = bearer(token(client, floors, Role.front_desk))
        for n in range(1, 4):
            answer = client.post(f"{API}/visits", json=WALK_IN, headers=desk)
            assert answer.status_code == 201, answer.text
            assert answer.json()["seq"] == n
        for _ in range(2):
            assert assert_too_many(client.post(f"{API}/visits", json=WALK_IN, headers=desk)) == 2  # 1 / 0.5 a s
            assert seq(floors) == 3 and client.get(f"{API}/board", headers=desk).json()["seq"] == 3
        # Any write counts against the same sign-in: a room tap, a sign-out.
        assert_too_many(client.post(f"{API}/rooms/e1/events", json={"type": "blocked"}, headers=desk))
        assert_too_many(client.post("/api/sign-out", headers=desk))
        assert client.get("/api/me", headers=desk).status_code == 200  # still signed in: nothing was done

        # Reads are not throttled.
        for _ in range(20):
            assert client.get(f"{API}/board", headers=desk).status_code == 200

        # Another sign-in has its own bucket, even the same person's on another tablet.
        other_tablet = bearer(token(client, floors, Role.front_desk, "tablet-2"))
        manager = bearer(token(client, floors, Role.manager))
        assert client.post(f"{API}/visits", json=WALK_IN, headers=other_tablet).status_code == 201
        assert client.post(f"{API}/visits", json=WALK_IN, headers=manager).status_code == 201
        assert seq(floors) == 5

        # Once Retry-After has passed, the first sign-in may tap again.
        time.now += 2
        assert client.post(f"{API}/visits", json=WALK_IN, headers=desk).status_code == 201
        assert_too_many(client.post(f"{API}/visits", json=WALK_IN, headers=desk))
        assert seq(floors) == 6


def test_a_write_refused_for_a_bad_token_spends_nobodys_allowance(tmp_path) -> None:
    with serving(tmp_path, Guarding(write_rate=0.01, write_burst=1)) as (client, floors):
        desk = bearer(token(client, floors, Role.front_desk))
        for _ in range(5):
            assert client.post(f"{API}/visits", json=WALK_IN, headers=bearer("nope")).status_code == 401
            assert client.post(f"{API}/visits", json=WALK_IN).status_code == 401
        assert client.post(f"{API}/visits", json=WALK_IN, headers=desk).status_code == 201


# -- public routes per address --------------------------------------------------------------------------


def test_public_routes_are_throttled_per_address_and_a_refused_sign_in_counts_no_failure(tmp_path) -> None:
    with serving(tmp_path, Guarding(public_rate=0.01, public_burst=2)) as (client, floors):
        person = add_person(client, floors, Role.front_desk)
        assert client.post("/api/displays/pairings").status_code == 201
        wrong = client.post("/api/sign-in", json={"staff": person, "secret": "0000", "device": "t1"})
        assert wrong.status_code == 401
        counted = failures(client, floors, person)
        assert counted == 1

        assert_too_many(client.post("/api/displays/pairings"))
        assert_too_many(client.post("/api/displays/pairings/claim", json={"claim": "c" * 43}))
        assert_too_many(client.post("/api/sign-in", json={"staff": person, "secret": "0000", "device": "t1"}))
        assert_too_many(client.post("/api/sign-in", json={"staff": person, "secret": PIN, "device": "t1"}))
        assert failures(client, floors, person) == counted

        # Another address has its own allowance.
        elsewhere = {"X-Test-Address": "10.0.0.9"}
        signed = client.post("/api/sign-in", json={"staff": person, "secret": PIN, "device": "t1"}, headers=elsewhere)
        assert signed.status_code == 201, signed.text
        # Signed-in routes do not spend the address's allowance.
        for _ in range(5):
            assert client.get("/api/me", headers=bearer(signed.json()["token"])).status_code == 200


def test_displays_waiting_for_a_code_are_capped_per_address_and_in_all(tmp_path) -> None:
    with serving(tmp_path, Guarding()) as (client, floors):
        floors.sessions.pairing_limits = PairingLimits(per_address=2, in_all=3)
        floors.sessions.clock = clock = ManualClock(START)
        here, there, elsewhere = ({"X-Test-Address": a} for a in ("10.0.0.7", "10.0.0.8", "10.0.0.9"))
        assert [client.post("/api/displays/pairings", headers=here).status_code for _ in range(2)] == [201, 201]
        assert "from this address" in client.post("/api/displays/pairings", headers=here).json()["message"]
        assert_too_many(client.post("/api/displays/pairings", headers=here))
        assert client.post("/api/displays/pairings", headers=there).status_code == 201
        in_all = client.post("/api/displays/pairings", headers=elsewhere)
        assert_too_many(in_all)
        assert "on this server" in in_all.json()["message"]
        # Once they expire, codes are given again.
        clock.advance(seconds=floors.sessions.pairing_term.total_seconds() + 1)
        assert client.post("/api/displays/pairings", headers=elsewhere).status_code == 201


def test_one_ipv6_network_cannot_take_every_code_on_the_server(tmp_path) -> None:
    """One host on an IPv6 network can take any of its 2^64 addresses: the cap per address held it to nothing, and
    it took the server's every code (1,000 in all), so no new wall of any clinic could get one (a hostile review of
    break-ins; sign-ins were held per /64 already). Its /64 has a cap of its own, ten times an address's, as
    sign-in's; a clinic's walls each on their own address still get theirs."""
    with serving(tmp_path, Guarding(public_rate=1000, public_burst=10_000)) as (client, floors):
        floors.sessions.pairing_limits = PairingLimits(per_address=2, in_all=50, per_network=20)
        taken = [
            client.post("/api/displays/pairings", headers={"X-Test-Address": f"2001:db8::{n:x}"}).status_code
            for n in range(1, 51)
        ]
        assert taken.count(201) == 20 and set(taken) == {201, 429}
        refused = client.post("/api/displays/pairings", headers={"X-Test-Address": "2001:db8::ffff"})
        assert "from this address" in refused.json()["message"]
        # Another network, and IPv4 walls, still get codes.
        for address in ("2001:db8:0:1::1", "10.0.0.7"):
            assert client.post("/api/displays/pairings", headers={"X-Test-Address": address}).status_code == 201


# -- sizes -----------------------------------------------------------------------------------------------


def test_a_body_over_64_kib_is_refused_413_and_nothing_is_written(tmp_path) -> None:
    with serving(tmp_path, Guarding()) as (client, floors):
        desk = bearer(token(client, floors, Role.front_desk))
        manager = bearer(token(client, floors, Role.manager))
        big = {**WALK_IN, "notes": "x" * MAX_BODY_BYTES}
        answer = client.post(f"{API}/visits", json=big, headers=desk)
        assert answer.status_code == 413, answer.text
        assert answer.json()["error"] == "too_large"
        assert seq(floors) == 0 and floors.get(CLINIC).floor.visits == {}
        # Sent in chunks with no Content-Length, the body is counted as it arrives.
        raw = json.dumps(big).encode()
        chunks = (raw[i : i + 4096] for i in range(0, len(raw), 4096))
        chunked = client.post(f"{API}/visits", content=chunks, headers={**desk, "Content-Type": "application/json"})
        assert "content-length" not in chunked.request.headers
        assert chunked.status_code == 413, chunked.text
        assert seq(floors) == 0

        # Just under the limit the body is read (and refused for what it says, not for its size).
        under = {**WALK_IN, "notes": "x" * (MAX_BODY_BYTES - 200)}
        assert len(json.dumps(under)) < MAX_BODY_BYTES
        assert client.post(f"{API}/visits", json=under, headers=desk).status_code == 400
        assert seq(floors) == 0

        staff = client.get("/api/staff", headers=manager).json()
        new = {"id": "big-one", "name": "Big One", "role": "front_desk", "secret": "x" * MAX_BODY_BYTES}
        assert client.post("/api/staff", json=new, headers=manager).status_code == 413
        assert client.get("/api/staff", headers=manager).json() == staff

        person = PEOPLE[Role.front_desk][0]
        sign_in = {"staff": person, "secret": "y" * MAX_BODY_BYTES, "device": "t1"}
        assert client.post("/api/sign-in", json=sign_in).status_code == 413
        assert failures(client, floors, person) == 0


def _socket(client: TestClient, headers: dict[str, str] | None = None):
    return client.websocket_connect(f"{API}/live", headers=headers)


def _closed(ws) -> int:
    while True:
        try:
            ws.receive_text(timeout=5)
        except WebSocketDisconnect as closed:
            return closed.code


def _auth(token: str, padding: int = 0) -> str:
    return json.dumps({"type": "auth", "token": token} | ({"pad": "p" * padding} if padding else {}))


def test_a_socket_message_over_4096_bytes_closes_it_1009_before_or_after_auth(tmp_path) -> None:
    with serving(tmp_path, Guarding()) as (client, floors):
        desk = token(client, floors, Role.front_desk)
        with _socket(client) as ws:
            ws.send_text(_auth(desk, MAX_MESSAGE))
            assert _closed(ws) == CLOSE_TOO_BIG
        with _socket(client) as ws:
            ws.send_bytes(_auth(desk, MAX_MESSAGE).encode())
            assert _closed(ws) == CLOSE_TOO_BIG

        with _socket(client) as ws:
            ws.send_text(_auth(desk))
            assert json.loads(ws.receive_text(timeout=5))["kind"] == "snapshot"
            ws.send_text("x" * MAX_MESSAGE)  # at the limit: read and ignored
            ws.send_text("x" * (MAX_MESSAGE + 1))
            assert _closed(ws) == CLOSE_TOO_BIG
        with _socket(client, headers=bearer(desk)) as ws:
            assert json.loads(ws.receive_text(timeout=5))["kind"] == "snapshot"
            ws.send_bytes(b"x" * (MAX_MESSAGE + 1))
            assert _closed(ws) == CLOSE_TOO_BIG


def test_the_socket_limit_counts_bytes_not_characters(tmp_path) -> None:
    wide = "é" * (MAX_MESSAGE // 2 + 10)  # under 4096 characters, over 4096 bytes of UTF-8
    assert len(wide) < MAX_MESSAGE < len(wide.encode())
    with serving(tmp_path, Guarding()) as (client, floors):
        desk = token(client, floors, Role.front_desk)
        with _socket(client) as ws:
            ws.send_text(json.dumps({"type": "auth", "token": wide}, ensure_ascii=False))
            assert _closed(ws) == CLOSE_TOO_BIG
        with _socket(client) as ws:
            ws.send_text(_auth(desk))
            assert json.loads(ws.receive_text(timeout=5))["kind"] == "snapshot"
            ws.send_text(wide)
            assert _closed(ws) == CLOSE_TOO_BIG


# -- origins and CORS -------------------------------------------------------------------------------------


def test_a_socket_from_another_origin_is_refused_before_the_handshake(tmp_path) -> None:
    with serving(tmp_path, Guarding()) as (client, floors):
        desk = token(client, floors, Role.front_desk)
        for origin in (
            "https://evil.example",
            "http://testserver.local.evil.example",
            "null",
            "http://testserver.local:8080",
            "http://evil.example/http://testserver.local",
        ):
            # The server closes before accepting: the TestClient raises on entering (a browser sees a 403),
            # however good the token.
            with pytest.raises(WebSocketDisconnect) as refused, _socket(client, {"origin": origin, **bearer(desk)}):
                pass
            assert refused.value.code == CLOSE_FORBIDDEN, origin


def test_a_socket_from_our_own_origin_a_listed_one_or_no_browser_is_accepted(tmp_path) -> None:
    guarding = Guarding(allowed_origins=frozenset({"https://floor.clinic.example"}))
    with serving(tmp_path, guarding) as (client, floors):
        desk = token(client, floors, Role.front_desk)
        # Our own host under either scheme: behind a TLS proxy the page is https and the server sees plain http.
        for headers in (
            {"origin": SAME_ORIGIN},
            {"origin": "https://testserver.local"},
            {"origin": "https://floor.clinic.example"},
            {},
        ):
            with _socket(client, headers) as ws:
                ws.send_text(_auth(desk))
                assert json.loads(ws.receive_text(timeout=5))["kind"] == "snapshot", headers


def test_a_write_from_a_page_of_another_site_is_refused_and_spends_nothing(tmp_path) -> None:
    """A page of any site a clinic's browser opens may post to Floor without asking first (a form, or fetch in
    no-cors mode with a text/plain body), and the body was read as JSON whatever its type: every wrong PIN it sent
    counted against the clinic's own address (20 make every tablet there wait to sign in, but those with a device
    key) and its pairings took the address's ten (no wall there could get a code). A hostile review of
    break-ins."""
    with serving(tmp_path, Guarding()) as (client, floors):
        person = add_person(client, floors, Role.front_desk)
        desk = bearer(token(client, floors, Role.front_desk))
        before = seq(floors)
        for origin in ("https://evil.example", "null", "http://testserver.local.evil.example"):
            for content_type in ("text/plain;charset=UTF-8", "application/x-www-form-urlencoded"):
                for secret in ("0000", PIN):
                    body = json.dumps({"staff": person, "secret": secret, "device": "t1"})
                    answer = client.post(
                        "/api/sign-in", content=body, headers={"Origin": origin, "Content-Type": content_type}
                    )
                    assert (answer.status_code, answer.json()["error"]) == (403, "forbidden"), answer.text
                    assert "token" not in answer.json()
            assert client.post("/api/displays/pairings", headers={"Origin": origin}).status_code == 403
            assert client.post(f"{API}/visits", json=WALK_IN, headers={"Origin": origin, **desk}).status_code == 403
        assert failures(client, floors, person) == 0
        assert seq(floors) == before
        # Not a pairing was started for the address: its ten are all still there.
        for _ in range(10):
            assert client.post("/api/displays/pairings").status_code == 201


def test_a_write_from_our_own_pages_a_listed_origin_or_no_browser_goes_through(tmp_path) -> None:
    guarding = Guarding(allowed_origins=frozenset({"https://floor.clinic.example"}))
    with serving(tmp_path, guarding) as (client, floors):
        person = add_person(client, floors, Role.front_desk)
        # Our own host under either scheme (behind a TLS proxy the page is https and the server sees plain http),
        # a listed origin, and clients that are not browsers (they send no Origin).
        for headers in (
            {"Origin": SAME_ORIGIN},
            {"Origin": "https://testserver.local"},
            {"Origin": "https://floor.clinic.example"},
            {},
        ):
            signed = client.post("/api/sign-in", json={"staff": person, "secret": PIN, "device": "t1"}, headers=headers)
            assert signed.status_code == 201, (headers, signed.text)
            desk = bearer(signed.json()["token"])
            assert client.post(f"{API}/visits", json=WALK_IN, headers={**headers, **desk}).status_code == 201
            assert client.post("/api/sign-out", headers={**headers, **desk}).status_code == 204


def test_no_cors_headers_are_ever_sent(tmp_path) -> None:
    with serving(tmp_path, Guarding()) as (client, floors):
        desk = bearer(token(client, floors, Role.front_desk))
        origin = {"Origin": "https://evil.example"}
        answers = [
            client.get(f"{API}/board", headers={**origin, **desk}),
            client.post(f"{API}/visits", json=WALK_IN, headers={**origin, **desk}),
            client.options(
                f"{API}/board",
                headers={
                    **origin,
                    "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "authorization",
                },
            ),
            client.options("/api/sign-in", headers={**origin, "Access-Control-Request-Method": "POST"}),
            client.post("/api/displays/pairings", headers=origin),
        ]
        # A read is answered (a page of another site cannot read it without CORS); a write is refused.
        assert [a.status_code for a in answers][:2] == [200, 403]
        for answer in answers:
            assert not [h for h in answer.headers if h.lower().startswith("access-control-")], answer.headers


@pytest.mark.parametrize("status", [431, 408])
def test_a_request_refused_before_the_app_sees_it_has_every_errors_body(status: int) -> None:
    # The README: "Every error, 500 included, has the same body, {error, message, field?, ...}". A head over
    # 64 KiB or 100 headers (431) and a request too slow to send (408) are answered by the protocol
    # (floor/web/frames.py) before the app, and were plain text ("The request's headers are too large.").
    from floor.web import frames

    answer = {431: frames._HEAD_TOO_LARGE, 408: frames._TIMED_OUT}[status]
    head, body = answer.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} ")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert int(headers["content-length"]) == len(body)
    said = json.loads(body)
    assert set(said) == {"error", "message"} and said["error"] and said["message"]


def test_no_page_of_another_site_may_frame_floors_pages(tmp_path) -> None:
    """A page of another site could show the manager's page (or a tablet's) in a frame made invisible, and lead the
    person signed in there to click through its buttons (remove a colleague, revoke a wall, a step on the wrong
    patient): every answer says that only Floor's own pages, and the origins listed in FLOOR_ALLOWED_ORIGINS, may
    frame it. A hostile review of break-ins."""
    with serving(tmp_path, Guarding()) as (client, floors):
        desk = bearer(token(client, floors, Role.front_desk))
        for answer in (
            client.get("/"),
            client.get("/manager.html"),
            client.get("/board.html"),
            client.get(f"{API}/board", headers=desk),
            client.get("/no-such-page.html"),
        ):
            assert answer.headers["content-security-policy"] == "frame-ancestors 'self'", answer.request.url
            assert answer.headers["x-frame-options"] == "SAMEORIGIN", answer.request.url
    listed = Guarding(allowed_origins=frozenset({"https://b.example", "https://a.example"}))
    with serving(tmp_path / "listed", listed) as (client, _):
        answer = client.get("/manager.html")
        assert answer.headers["content-security-policy"] == "frame-ancestors 'self' https://a.example https://b.example"
        # X-Frame-Options cannot name other origins: left out, the CSP (every browser of the last decade) says it.
        assert "x-frame-options" not in answer.headers
