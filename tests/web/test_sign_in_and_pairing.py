"""Signing in and out, staff accounts, lockout after wrong PINs, and pairing a wall display end to end.
No token, claim or PIN ever reaches a log line."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest
import structlog
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from floor import logging_setup
from floor.clock import ManualClock
from floor.close_codes import CLOSE_SIGNED_OUT
from floor.core.access import Role
from floor.credentials import MAX_FAILURES
from floor.directory.base import Directory
from floor.directory.embedded import EmbeddedDirectory
from floor.directory.redis import RedisDirectory
from floor.floors import Floors
from floor.sessions import CODE_ALPHABET, CODE_LENGTH
from floor.web.app import create_app
from floor.web.auth import Guarding
from tests.support.clinics import quiet_clinic
from tests.support.redis_server import forget_prefix
from tests.support.staff import PEOPLE, PIN, HeldChecks, add_person, sign_in, test_floors

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in Chicago
CLINIC = "riverside"
API = f"/api/clinics/{CLINIC}"
DESK, MANAGER = PEOPLE[Role.front_desk][0], PEOPLE[Role.manager][0]
WRONG = (
    "Wrong staff id or PIN. Check both and try again; after 5 wrong tries in a row sign-in waits a minute "
    "(longer each time), or a manager can unlock your account."
)
BUSY = "Another sign-in with this staff id or from this device's network is being checked: try again in a second."
WAIT_A_MINUTE = (
    "Wrong staff id or PIN, or too many wrong tries: check both and try again in 1 minute, or ask a "
    "manager to unlock your account."
)


@contextlib.contextmanager
def serving(tmp_path, directory: Directory | None = None) -> Iterator[tuple[TestClient, Floors]]:
    floors = test_floors(tmp_path, [quiet_clinic()], clock=ManualClock(START), tick_seconds=3600, directory=directory)
    floors.sessions.clock = ManualClock(START)
    guarding = Guarding(write_rate=1000, write_burst=10_000, public_rate=1000, public_burst=10_000)
    with TestClient(create_app(floors, guarding=guarding)) as client:
        yield client, floors


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[TestClient, Floors]]:
    with serving(tmp_path) as pair:
        yield pair


@pytest.fixture(params=["embedded", "redis"])
def on_each_directory(request: pytest.FixtureRequest, tmp_path) -> Iterator[tuple[TestClient, Floors]]:
    """The server on the embedded directory file, and on a Redis directory (as several servers share one)."""
    if request.param == "embedded":
        directory: Directory = EmbeddedDirectory(tmp_path / "directory.json")
    else:
        url, prefix = request.getfixturevalue("redis_url"), f"test-{uuid.uuid4().hex[:12]}"
        directory = RedisDirectory(url, prefix=prefix)
    try:
        with serving(tmp_path, directory) as pair:
            yield pair
    finally:
        if request.param == "redis":
            anyio.run(forget_prefix, url, prefix)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def attempt(client: TestClient, staff: str, secret: str, device: str = "tablet-1", device_key: str | None = None):
    body = {"staff": staff, "secret": secret, "device": device}
    if device_key is not None:
        body["device_key"] = device_key
    return client.post("/api/sign-in", json=body)


def answer_of(response) -> tuple[int, dict, str | None]:
    return response.status_code, response.json(), response.headers.get("Retry-After")


def _closed(ws, timeout: float = 5) -> int:
    while True:
        try:
            ws.receive_text(timeout=timeout)
        except WebSocketDisconnect as closed:
            return closed.code


# -- pairing a wall display -------------------------------------------------------------------------------


def test_a_display_is_paired_end_to_end_and_receives_the_hallway_feed(served) -> None:
    client, floors = served
    manager, desk = sign_in(client, floors, Role.manager), sign_in(client, floors, Role.front_desk)
    booked = client.post(
        f"{API}/visits",
        headers=desk,
        json={"patient_name": "Zelda Quixote", "provider": "kim", "visit_type": "follow", "walk_in": True},
    ).json()

    started = client.post("/api/displays/pairings")
    assert started.status_code == 201 and started.headers["Cache-Control"] == "no-store"
    code, claim = started.json()["code"], started.json()["claim"]
    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    # How long it works, by the server's clock, for a wall whose own clock is off to count down.
    assert started.json()["expires_in"] == 10 * 60

    waiting = client.post("/api/displays/pairings/claim", json={"claim": claim})
    assert waiting.status_code == 202 and waiting.json() == {"status": "waiting"}

    # The manager types the code off the screen, in whatever case, with a dash.
    typed = f"{code[:3].lower()}-{code[3:].lower()}"
    paired = client.post(
        "/api/displays",
        headers=manager,
        json={"code": typed, "clinic": CLINIC, "zone": "east", "label": "Dr. Kim's hall, east"},
    )
    assert paired.status_code == 201, paired.text
    display = paired.json()
    assert display["clinic"] == CLINIC and display["zone"] == "east" and display["label"] == "Dr. Kim's hall, east"
    assert display["paired_by"] == MANAGER and display.get("revoked_at") is None

    collected = client.post("/api/displays/pairings/claim", json={"claim": claim})
    assert collected.status_code == 200, collected.text
    assert collected.headers["Cache-Control"] == "no-store"
    token = collected.json()["token"]
    assert collected.json()["display"] == display
    again = client.post("/api/displays/pairings/claim", json={"claim": claim})
    assert again.status_code == 404 and "new code" in again.json()["message"]
    assert client.post("/api/displays", headers=manager, json={"code": code, "clinic": CLINIC}).status_code == 404

    me = client.get("/api/me", headers=bearer(token)).json()
    assert me == {
        "kind": "display",
        "id": display["id"],
        "device": "Dr. Kim's hall, east",
        "expires_at": me["expires_at"],
        "clinic": CLINIC,
        "zone": "east",
    }

    with client.websocket_connect(f"{API}/live") as wall:
        wall.send_text(json.dumps({"type": "auth", "token": token}))
        text = wall.receive_text(timeout=5)
        snapshot = json.loads(text)
        assert snapshot["kind"] == "snapshot" and snapshot["seq"] == 1
        # The wall shows the token the tablet was answered with (and not the visit's id).
        assert [v["token"] for v in snapshot["board"]["visits"]] == [booked["visit"]["token"]]
        assert booked["visit"]["id"] not in text
        assert "Zelda" not in text and "patient_name" not in text

        client.post(
            f"{API}/visits",
            headers=desk,
            json={"patient_name": "Yusuf Ravenscroft", "provider": "kim", "visit_type": "follow", "walk_in": True},
        )
        text = wall.receive_text(timeout=5)
        update = json.loads(text)
        assert update["kind"] == "update" and update["seq"] == 2
        assert "Ravenscroft" not in text and "patient_name" not in text

    listed = client.get("/api/displays", headers=manager)
    assert listed.status_code == 200 and listed.json() == [display]


def test_pairing_refusals_say_what_to_do(served) -> None:
    client, floors = served
    manager, desk = sign_in(client, floors, Role.manager), sign_in(client, floors, Role.front_desk)
    started = client.post("/api/displays/pairings").json()

    wrong = client.post("/api/displays", headers=manager, json={"code": "ZZZZZZ", "clinic": CLINIC})
    assert wrong.status_code == 404
    assert wrong.json()["field"] == "code"
    assert "No display is waiting with code 'ZZZZZZ'" in wrong.json()["message"]
    assert "reload the display page" in wrong.json()["message"]

    zone = client.post(
        "/api/displays", headers=manager, json={"code": started["code"], "clinic": CLINIC, "zone": "north"}
    )
    assert zone.status_code == 422 and zone.json()["field"] == "zone"
    assert "east, west" in zone.json()["message"]
    clinic = client.post("/api/displays", headers=manager, json={"code": started["code"], "clinic": "nowhere"})
    assert clinic.status_code == 404 and "riverside" in clinic.json()["message"]
    label = client.post(
        "/api/displays", headers=manager, json={"code": started["code"], "clinic": CLINIC, "label": "<script>"}
    )
    assert label.status_code == 422 and label.json()["field"] == "label" and "< or >" in label.json()["message"]
    hidden = client.post(
        "/api/displays", headers=manager, json={"code": started["code"], "clinic": CLINIC, "label": "Hall\u200b"}
    )
    assert hidden.status_code == 422 and "invisible character" in hidden.json()["message"]

    forbidden = client.post("/api/displays", headers=desk, json={"code": started["code"], "clinic": CLINIC})
    assert forbidden.status_code == 403 and forbidden.json()["message"] == (
        "Front desk cannot manage displays: that is for managers."
    )
    assert client.get("/api/displays", headers=manager).json() == []
    # None of that used the code up: the display is still waiting and a manager can still pair it.
    assert client.post("/api/displays/pairings/claim", json={"claim": started["claim"]}).status_code == 202

    unknown = client.post("/api/displays/pairings/claim", json={"claim": "x" * 43})
    assert unknown.status_code == 404 and "show a new code" in unknown.json()["message"]

    # A code not entered in time is gone, for the manager and for the display.
    floors.sessions.clock.advance(seconds=floors.sessions.pairing_term.total_seconds() + 1)
    late = client.post("/api/displays", headers=manager, json={"code": started["code"], "clinic": CLINIC})
    assert late.status_code == 404
    assert client.post("/api/displays/pairings/claim", json={"claim": started["claim"]}).status_code == 404


# -- lockout ------------------------------------------------------------------------------------------------


def _failures(client: TestClient, manager: dict[str, str], staff: str) -> tuple[bool, int]:
    view = next(s for s in client.get("/api/staff", headers=manager).json() if s["id"] == staff)
    return view["locked"], view["failures"]


def test_repeated_wrong_pins_make_the_account_wait_a_minute_or_until_a_manager_unlocks_it(served) -> None:
    client, floors = served
    manager = sign_in(client, floors, Role.manager)
    desk = add_person(client, floors, Role.front_desk)

    for n in range(1, MAX_FAILURES):
        answer = attempt(client, desk, "1111")
        assert answer.status_code == 401 and answer.json() == {"error": "unauthenticated", "message": WRONG}
        assert _failures(client, manager, desk) == (False, n)
    fifth = attempt(client, desk, "1111")
    assert fifth.status_code == 401 and fifth.json() == {"error": "unauthenticated", "message": WAIT_A_MINUTE}
    assert fifth.headers["Retry-After"] == "60"
    right = attempt(client, desk, PIN)
    assert right.status_code == 401 and right.json()["message"] == WAIT_A_MINUTE
    assert _failures(client, manager, desk) == (True, MAX_FAILURES)
    view = next(s for s in client.get("/api/staff", headers=manager).json() if s["id"] == desk)
    assert view["locked_until"] == (START + dt.timedelta(minutes=1)).isoformat().replace("+00:00", "Z")

    unlocked = client.post(f"/api/staff/{desk}/unlock", headers=manager)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["locked"] is False and unlocked.json()["failures"] == 0
    assert attempt(client, desk, PIN).status_code == 201
    assert client.post("/api/staff/nobody/unlock", headers=manager).status_code == 404


def test_anonymous_wrong_pins_keep_an_account_out_only_for_the_timed_wait(on_each_directory) -> None:
    """Whoever sends wrong PINs, however many at once, the account's owner signs in once the wait is over."""
    client, floors = on_each_directory
    desk = add_person(client, floors, Role.front_desk)
    clock = floors.sessions.clock
    for _ in range(MAX_FAILURES + 20):
        assert attempt(client, desk, "1111").status_code == 401
    assert attempt(client, desk, PIN).headers["Retry-After"] == "60"
    clock.advance(seconds=59)
    assert attempt(client, desk, PIN).headers["Retry-After"] == "1"
    clock.advance(seconds=1)
    assert attempt(client, desk, PIN).status_code == 201

    # The next round waits longer (2 minutes after one more wrong PIN), but still only that long.
    for _ in range(MAX_FAILURES + 1):
        attempt(client, desk, "1111")
    assert attempt(client, desk, PIN).headers["Retry-After"] == "60"
    clock.advance(seconds=60)
    assert attempt(client, desk, "1111").headers["Retry-After"] == "120"
    clock.advance(seconds=120)
    assert attempt(client, desk, PIN).status_code == 201


def test_forty_wrong_pins_and_the_right_one_sent_at_once_over_http_get_no_token(on_each_directory, monkeypatch) -> None:
    """The burst of issue 18 through the route, from threads: the right PIN goes in while the 40 wrong ones
    are all in flight (their PIN checks held), and only the free tries are ever checked."""
    client, floors = on_each_directory
    desk = add_person(client, floors, Role.front_desk)
    checks = HeldChecks(monkeypatch)

    def in_flight() -> int:
        held = client.blocking_portal.call(floors.sessions.strikes, desk)
        return held.pending if held is not None else 0

    with ThreadPoolExecutor(max_workers=41) as pool:
        wrong = [pool.submit(attempt, client, desk, f"{1000 + i}", f"tablet-{i}") for i in range(40)]
        for _ in range(2000):
            if in_flight() >= MAX_FAILURES:
                break
            time.sleep(0.005)
        right = pool.submit(attempt, client, desk, PIN, "tablet-right").result(timeout=30)
        checks.release()
        answers = [w.result(timeout=30) for w in wrong]
    assert right.status_code == 401 and right.headers["Retry-After"] == "1"
    assert right.json()["message"] == BUSY
    assert [a.status_code for a in answers] == [401] * 40
    later = attempt(client, desk, PIN)
    assert later.status_code == 401 and later.json()["message"] == WAIT_A_MINUTE
    assert len(checks.checked) == MAX_FAILURES and PIN not in checks.checked


def test_an_unknown_id_gets_the_same_answers_as_a_known_one(on_each_directory) -> None:
    """Step by step, through wrong PINs and the wait they start: nothing tells whether the id exists."""
    client, floors = on_each_directory
    add_person(client, floors, Role.front_desk)
    known, unknown = [], []
    for _ in range(MAX_FAILURES + 2):
        for staff, answers in ((DESK, known), ("nobody-here", unknown)):
            answer = attempt(client, staff, "1111")
            answers.append((answer.status_code, answer.json(), answer.headers.get("Retry-After")))
    assert known == unknown
    assert known[0] == (401, {"error": "unauthenticated", "message": WRONG}, None)
    assert known[-1] == (401, {"error": "unauthenticated", "message": WAIT_A_MINUTE}, "60")


def test_a_right_pin_starts_the_count_of_wrong_ones_again(served) -> None:
    client, floors = served
    manager = sign_in(client, floors, Role.manager)
    desk = add_person(client, floors, Role.front_desk)
    for _ in range(MAX_FAILURES - 1):
        assert attempt(client, desk, "1111").status_code == 401
    assert attempt(client, desk, PIN).status_code == 201
    assert _failures(client, manager, desk) == (False, 0)
    for _ in range(MAX_FAILURES - 1):
        assert attempt(client, desk, "1111").status_code == 401
    assert _failures(client, manager, desk) == (False, MAX_FAILURES - 1)
    assert attempt(client, desk, PIN).status_code == 201


def test_a_new_pin_from_a_manager_unlocks_the_account_and_the_old_one_stops_working(served) -> None:
    client, floors = served
    manager = sign_in(client, floors, Role.manager)
    desk = add_person(client, floors, Role.front_desk)
    lost_tablet = bearer(attempt(client, desk, PIN).json()["token"])
    assert client.get("/api/me", headers=lost_tablet).status_code == 200
    for _ in range(MAX_FAILURES):
        attempt(client, desk, "1111")
    assert attempt(client, desk, PIN).json()["message"] == WAIT_A_MINUTE

    changed = client.put(f"/api/staff/{desk}/secret", headers=manager, json={"secret": "8642"})
    assert changed.status_code == 204, changed.text
    assert client.get("/api/me", headers=lost_tablet).status_code == 401  # signed in with the old PIN: ended
    assert client.get("/api/me", headers=manager).status_code == 200
    assert attempt(client, desk, PIN).status_code == 401
    assert attempt(client, desk, "8642").status_code == 201
    short = client.put(f"/api/staff/{desk}/secret", headers=manager, json={"secret": "12"})
    assert short.status_code == 422 and short.json()["field"] == "secret"
    assert client.put("/api/staff/nobody/secret", headers=manager, json={"secret": "8642"}).status_code == 404


def test_a_tablet_that_signed_in_before_is_not_kept_out_by_anonymous_wrong_pins(on_each_directory) -> None:
    """OWASP's device cookies: the device key a sign-in gives, sent with the next one, counts that tablet's
    attempts on their own, so the account's wait does not keep its owner out there; any key that does not
    hold answers exactly as no key."""
    client, floors = on_each_directory
    manager = sign_in(client, floors, Role.manager)
    desk = add_person(client, floors, Role.front_desk)
    first = attempt(client, desk, PIN)
    assert first.status_code == 201 and first.headers["Cache-Control"] == "no-store"
    key = first.json()["device_key"]
    theirs = attempt(client, MANAGER, PIN).json()["device_key"]
    for _ in range(MAX_FAILURES):
        assert attempt(client, desk, "1111").status_code == 401
    without = answer_of(attempt(client, desk, PIN))
    assert without == (401, {"error": "unauthenticated", "message": WAIT_A_MINUTE}, "60")
    nonce = key.partition(".")[0]
    for bad in (theirs, f"{nonce}.{'A' * 43}", key[:-2], "x"):
        assert answer_of(attempt(client, desk, PIN, device_key=bad)) == without, bad
    too_long = attempt(client, desk, PIN, device_key="A" * 129)
    assert too_long.status_code == 400 and too_long.json()["field"] == "device_key"

    again = attempt(client, desk, PIN, device_key=key)
    assert again.status_code == 201, again.text
    assert again.json()["device_key"] == key
    assert client.get("/api/me", headers=bearer(again.json()["token"])).status_code == 200
    assert _failures(client, manager, desk) == (True, MAX_FAILURES)

    # Wrong PINs sent with the key make that tablet wait, and do not add to the account's count.
    floors.sessions.clock.advance(seconds=60)
    for _ in range(MAX_FAILURES - 1):
        assert answer_of(attempt(client, desk, "1111", device_key=key)) == (
            401,
            {"error": "unauthenticated", "message": WRONG},
            None,
        )
    assert answer_of(attempt(client, desk, "1111", device_key=key)) == without
    assert answer_of(attempt(client, desk, PIN, device_key=key)) == without
    assert _failures(client, manager, desk) == (False, MAX_FAILURES)
    assert attempt(client, desk, PIN).status_code == 201  # the account's minute is over

    # A new PIN voids the key: with it, the account's count and wait apply again.
    floors.sessions.clock.advance(seconds=60)
    assert client.put(f"/api/staff/{desk}/secret", headers=manager, json={"secret": "8642"}).status_code == 204
    for _ in range(MAX_FAILURES):
        assert attempt(client, desk, "1111").status_code == 401
    assert answer_of(attempt(client, desk, "8642", device_key=key)) == answer_of(attempt(client, desk, "8642"))
    assert answer_of(attempt(client, desk, "8642", device_key=key))[2] == "60"


# -- staff accounts ------------------------------------------------------------------------------------------


def test_a_manager_adds_a_member_who_can_then_sign_in(served) -> None:
    client, floors = served
    manager = sign_in(client, floors, Role.manager)
    new = {"id": "dr-new", "name": "Noor Adeyemi", "role": "provider", "secret": "5151"}
    added = client.post("/api/staff", headers=manager, json=new)
    assert added.status_code == 201, added.text
    view = added.json()
    assert {k: view[k] for k in ("id", "name", "role", "locked", "failures", "added_by")} == {
        "id": "dr-new",
        "name": "Noor Adeyemi",
        "role": "provider",
        "locked": False,
        "failures": 0,
        "added_by": MANAGER,
    }
    assert "secret" not in view and "5151" not in added.text
    assert "dr-new" in [s["id"] for s in client.get("/api/staff", headers=manager).json()]

    signed = attempt(client, "dr-new", "5151", "tablet-7")
    assert signed.status_code == 201 and signed.headers["Cache-Control"] == "no-store"
    assert {k: signed.json()[k] for k in ("staff", "name", "role")} == {
        "staff": "dr-new",
        "name": "Noor Adeyemi",
        "role": "provider",
    }
    me = client.get("/api/me", headers=bearer(signed.json()["token"])).json()
    assert (me["id"], me["role"], me["device"]) == ("dr-new", "provider", "tablet-7")

    taken = client.post("/api/staff", headers=manager, json={**new, "name": "Someone Else"})
    assert taken.status_code == 409 and taken.json()["error"] == "taken" and taken.json()["field"] == "id"
    assert attempt(client, "dr-new", "5151").status_code == 201  # the first one is untouched

    for bad, field in (
        ({**new, "id": "Bad Id"}, "id"),
        ({**new, "id": "dr-other", "secret": "12"}, "secret"),
        ({**new, "id": "dr-other", "role": "janitor"}, "role"),
    ):
        refused = client.post("/api/staff", headers=manager, json=bad)
        assert refused.status_code in (400, 422) and refused.json()["field"] == field, refused.text
    assert len(client.get("/api/staff", headers=manager).json()) == 2


def test_removing_a_member_ends_their_sign_ins_at_once(served) -> None:
    client, floors = served
    manager = sign_in(client, floors, Role.manager)
    desk = sign_in(client, floors, Role.front_desk)
    desk_other_tablet = sign_in(client, floors, Role.front_desk, device="tablet-2")
    assert client.get("/api/me", headers=desk).status_code == 200

    with client.websocket_connect(f"{API}/live", headers=desk) as ws:
        assert json.loads(ws.receive_text(timeout=5))["kind"] == "snapshot"
        assert client.delete(f"/api/staff/{DESK}", headers=manager).status_code == 204
        assert _closed(ws) == CLOSE_SIGNED_OUT

    for headers in (desk, desk_other_tablet):
        gone = client.get("/api/me", headers=headers)
        assert gone.status_code == 401 and gone.json()["error"] == "unauthenticated"
    assert attempt(client, DESK, PIN).json() == {"error": "unauthenticated", "message": WRONG}
    assert client.delete(f"/api/staff/{DESK}", headers=manager).status_code == 404
    yourself = client.delete(f"/api/staff/{MANAGER}", headers=manager)
    assert yourself.status_code == 422 and "another manager" in yourself.json()["message"]


def test_a_new_pin_ends_the_sign_ins_made_with_the_old_one_and_closes_their_sockets(served) -> None:
    """A manager sets a new PIN after one was seen or a tablet was lost: that tablet must stop at once."""
    client, floors = served
    manager = sign_in(client, floors, Role.manager)
    desk = sign_in(client, floors, Role.front_desk)
    with client.websocket_connect(f"{API}/live", headers=desk) as ws:
        assert json.loads(ws.receive_text(timeout=5))["kind"] == "snapshot"
        assert client.put(f"/api/staff/{DESK}/secret", headers=manager, json={"secret": "8642"}).status_code == 204
        assert _closed(ws) == CLOSE_SIGNED_OUT
    assert client.get("/api/me", headers=desk).status_code == 401
    assert client.get("/api/me", headers=manager).status_code == 200
    assert attempt(client, DESK, "8642").status_code == 201


def test_a_manager_setting_their_own_pin_keeps_the_sign_in_they_set_it_from(on_each_directory) -> None:
    """Their other sign-ins end, as anyone's do; the page they set it from stays signed in."""
    client, floors = on_each_directory
    here = sign_in(client, floors, Role.manager)
    elsewhere = sign_in(client, floors, Role.manager, device="tablet-2")
    assert client.put(f"/api/staff/{MANAGER}/secret", headers=here, json={"secret": "8642"}).status_code == 204
    assert client.get("/api/me", headers=here).status_code == 200
    assert client.get("/api/me", headers=elsewhere).status_code == 401
    assert attempt(client, MANAGER, "8642").status_code == 201


# -- signing out ---------------------------------------------------------------------------------------------


def test_a_signed_out_token_stops_working_at_once_and_its_socket_closes(served) -> None:
    client, floors = served
    desk = sign_in(client, floors, Role.front_desk)
    other_tablet = sign_in(client, floors, Role.front_desk, device="tablet-2")
    with client.websocket_connect(f"{API}/live", headers=desk) as ws:
        assert json.loads(ws.receive_text(timeout=5))["kind"] == "snapshot"
        out = client.post("/api/sign-out", headers=desk)
        assert out.status_code == 204
        assert _closed(ws) == CLOSE_SIGNED_OUT
    assert client.get("/api/me", headers=desk).status_code == 401
    assert client.get(f"{API}/board", headers=desk).status_code == 401
    assert (
        client.post(
            f"{API}/visits",
            headers=desk,
            json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True},
        ).status_code
        == 401
    )
    assert client.post("/api/sign-out", headers=desk).status_code == 401
    assert floors.get(CLINIC).floor.seq == 0
    # Only that tablet was signed out.
    assert client.get("/api/me", headers=other_tablet).status_code == 200


def test_a_sign_in_lasts_a_shift(served) -> None:
    client, floors = served
    signed = attempt(client, add_person(client, floors, Role.front_desk), PIN)
    expires = dt.datetime.fromisoformat(signed.json()["expires_at"])
    assert expires == START + floors.sessions.staff_term
    floors.sessions.clock.set(expires - dt.timedelta(seconds=1))
    assert client.get("/api/me", headers=bearer(signed.json()["token"])).status_code == 200
    floors.sessions.clock.set(expires)
    assert client.get("/api/me", headers=bearer(signed.json()["token"])).status_code == 401


# -- nothing secret in the logs ------------------------------------------------------------------------------


@contextlib.contextmanager
def production_logs() -> Iterator[io.StringIO]:
    """Floor's own log lines rendered as in production (floor.logging_setup: context merged, JSON), into a buffer."""
    saved = structlog.get_config()
    lines = io.StringIO()
    structlog.configure(
        processors=[*logging_setup._SHARED, structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(lines),
        cache_logger_on_first_use=False,
    )
    try:
        yield lines
    finally:
        structlog.configure(**saved)


def test_no_token_claim_or_pin_reaches_the_logs(tmp_path, caplog, capsys) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = ["Qv7-first-PIN", "Wx3-wrong-PIN", "Zr5-new-PIN"]
    with production_logs() as lines, serving(tmp_path) as (client, floors):
        manager = attempt(client, add_person(client, floors, Role.manager), PIN).json()["token"]
        secrets.append(manager)
        added = client.post(
            "/api/staff",
            headers=bearer(manager),
            json={"id": "desk-lee", "name": "Lee Park", "role": "front_desk", "secret": secrets[0]},
        )
        assert added.status_code == 201
        assert attempt(client, "desk-lee", secrets[1]).status_code == 401
        assert attempt(client, "nobody-here", secrets[1]).status_code == 401
        assert attempt(client, secrets[0], "x").status_code == 401  # a PIN typed into the id's field
        first = attempt(client, "desk-lee", secrets[0]).json()
        secrets += [first["token"], first["device_key"], first["device_key"].partition(".")[2]]
        assert attempt(client, "desk-lee", secrets[1], device_key=first["device_key"]).status_code == 401
        desk = attempt(client, "desk-lee", secrets[0], device_key=first["device_key"]).json()["token"]
        secrets.append(desk)
        visit = client.post(
            f"{API}/visits",
            headers=bearer(desk),
            json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True},
        ).json()
        assert client.post(
            f"{API}/visits/{visit['visit']['id']}/events", headers=bearer(desk), json={"type": "undo"}
        ).status_code in (201, 409)
        assert (
            client.put("/api/staff/desk-lee/secret", headers=bearer(manager), json={"secret": secrets[2]}).status_code
            == 204
        )
        desk = attempt(client, "desk-lee", secrets[2]).json()["token"]  # the new PIN ended the sign-in before it
        secrets.append(desk)

        started = client.post("/api/displays/pairings").json()
        secrets.append(started["claim"])
        assert client.post("/api/displays/pairings/claim", json={"claim": started["claim"]}).status_code == 202
        assert (
            client.post(
                "/api/displays", headers=bearer(manager), json={"code": started["code"], "clinic": CLINIC}
            ).status_code
            == 201
        )
        display = client.post("/api/displays/pairings/claim", json={"claim": started["claim"]}).json()["token"]
        secrets.append(display)
        for token in (desk, display, "not-a-real-token-but-secret-looking-1234567890"):
            with client.websocket_connect(f"{API}/live") as ws:
                ws.send_text(json.dumps({"type": "auth", "token": token}))
                with contextlib.suppress(WebSocketDisconnect):
                    ws.receive_text(timeout=5)
        assert client.get("/api/me", headers=bearer("Rt9-bogus-token-xyz")).status_code == 401
        secrets.append("Rt9-bogus-token-xyz")
        assert client.post("/api/sign-out", headers=bearer(desk)).status_code == 204

    written = lines.getvalue()
    events = {json.loads(line)["event"] for line in written.splitlines()}
    # The capture saw the whole story, so finding no secret in it means something.
    assert {
        "signed_in",
        "sign_in_refused",
        "staff_added",
        "staff_secret_changed",
        "tap_stored",
        "display_paired",
        "display_token_issued",
        "signed_out",
        "request",
    } <= events
    captured = capsys.readouterr()
    for secret in secrets:
        for where, text in (
            ("structlog", written),
            ("logging", caplog.text),
            ("stdout", captured.out),
            ("stderr", captured.err),
        ):
            assert secret not in text, f"{secret!r} in {where}"
