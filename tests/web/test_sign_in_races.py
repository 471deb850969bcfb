"""Sign-ins and wall displays caught in a race with a manager (a hostile review): a sign-in with the old PIN,
in its PIN check while a manager sets a new PIN (or removes the account and gives its id to someone else), got
a token that outlived the change; a display revoked before it collected its token got one for a year."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from floor.core.access import Role
from tests.support.staff import PIN, HeldChecks, add_person, sign_in
from tests.web.test_sign_in_and_pairing import API, CLINIC, attempt, bearer, on_each_directory, served  # noqa: F401


def _checking(checks: HeldChecks) -> None:
    for _ in range(2000):
        if checks.checked:
            return
        time.sleep(0.005)
    raise AssertionError("the sign-in never reached its PIN check")


def test_a_sign_in_with_the_old_pin_in_flight_during_a_new_pin_gets_no_lasting_token(
    on_each_directory,  # noqa: F811
    monkeypatch,
) -> None:
    client, floors = on_each_directory
    manager = sign_in(client, floors, Role.manager)
    desk = add_person(client, floors, Role.front_desk)
    checks = HeldChecks(monkeypatch)  # every PIN check from now on waits for release()
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Whoever saw the old PIN keeps signing in with it; one attempt is in its (slow, scrypt) check ...
        old = pool.submit(attempt, client, desk, PIN, "thief-phone")
        _checking(checks)
        # ... when the manager sets a new PIN: "ends every sign-in made with the old one".
        changed = client.put(f"/api/staff/{desk}/secret", headers=manager, json={"secret": "8642"})
        assert changed.status_code == 204, changed.text
        checks.release()
        answer = old.result(timeout=30)
    if answer.status_code == 201:
        me = client.get("/api/me", headers=bearer(answer.json()["token"]))
        # The old PIN's token outlives the new PIN (12 hours), with the floor's patient names.
        assert me.status_code == 401, f"signed in with the old PIN after it was changed: {me.status_code} {me.text}"


def test_a_sign_in_in_flight_when_the_account_is_removed_and_its_id_given_again_is_not_the_new_account(
    served,  # noqa: F811
    monkeypatch,
) -> None:
    client, floors = served
    manager = sign_in(client, floors, Role.manager)
    # A manager account being retired; the id is then given to a new front-desk hire.
    leaving = "alex"
    client.blocking_portal.call(floors.sessions.add_staff, leaving, "Alex Old", Role.manager, PIN, "test")
    checks = HeldChecks(monkeypatch)
    with ThreadPoolExecutor(max_workers=1) as pool:
        old = pool.submit(attempt, client, leaving, PIN, "old-tablet")
        _checking(checks)
        assert client.delete(f"/api/staff/{leaving}", headers=manager).status_code == 204
        added = client.post(
            "/api/staff",
            headers=manager,
            json={"id": leaving, "name": "Alex New", "role": "front_desk", "secret": "97531"},
        )
        assert added.status_code == 201, added.text
        checks.release()
        answer = old.result(timeout=30)
    if answer.status_code == 201:
        token = bearer(answer.json()["token"])
        staff = client.get("/api/staff", headers=token)
        # The removed manager's PIN now signs in as the new front-desk account, with the old account's manager role.
        assert staff.status_code in (401, 403), f"a removed manager's sign-in still manages staff: {staff.status_code}"


def test_a_display_revoked_before_it_collects_its_token_gets_no_token(on_each_directory) -> None:  # noqa: F811
    client, floors = on_each_directory
    manager = sign_in(client, floors, Role.manager)
    started = client.post("/api/displays/pairings").json()
    # A stranger's screen on the clinic Wi-Fi shows a code; a manager enters it by mistake (or is fooled) ...
    paired = client.post("/api/displays", headers=manager, json={"code": started["code"], "clinic": CLINIC})
    assert paired.status_code == 201
    display = paired.json()["id"]
    # ... sees the wrong display in the list at once and revokes it, before the screen polled for its token.
    revoked = client.delete(f"/api/displays/{display}", headers=manager)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]

    collected = client.post("/api/displays/pairings/claim", json={"claim": started["claim"]})
    token = collected.json().get("token") if collected.status_code == 200 else None
    watched = None
    if token:
        with client.websocket_connect(f"{API}/live") as wall:
            wall.send_text(json.dumps({"type": "auth", "token": token}))
            watched = json.loads(wall.receive_text(timeout=5))["kind"]
    # A revoked display must never be handed a token (let alone a live hallway feed for a year).
    assert collected.status_code == 404, (collected.status_code, collected.text[:200], watched)
