"""What a stranger on the clinic's network learns, and what a shared tablet keeps (a hostile review): the live
socket told an unknown clinic (4404) from a real one (4401) before asking who was there, so anyone could list a
server's clinics; answers naming patients carried no Cache-Control, so a browser could keep them on disk after
a sign-out."""

from __future__ import annotations

import asyncio
import datetime as dt

from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from structlog.testing import capture_logs

from floor.core.access import Role
from floor.directory.base import StaffMember
from floor.web.app import create_app
from tests.support.staff import sign_in, test_floors
from tests.web.test_sign_in_and_pairing import API, served  # noqa: F401 (fixture)


def _close_code_without_signing_in(client, clinic: str) -> int | None:
    try:
        with client.websocket_connect(f"/api/clinics/{clinic}/live") as ws:
            ws.send_text('{"type": "auth", "token": "not-a-token"}')
            ws.receive_text(timeout=5)
    except WebSocketDisconnect as closed:
        return closed.code
    return None


def test_a_stranger_cannot_tell_which_clinic_ids_exist(served) -> None:  # noqa: F811
    client, _ = served
    http = {c: client.get(f"/api/clinics/{c}/board").status_code for c in ("riverside", "no-such-clinic")}
    assert http == {"riverside": 401, "no-such-clinic": 401}
    sockets = {c: _close_code_without_signing_in(client, c) for c in ("riverside", "no-such-clinic")}
    assert sockets == {"riverside": 4401, "no-such-clinic": 4401}


def test_answers_with_patient_names_are_not_stored_by_browsers(served) -> None:  # noqa: F811
    client, floors = served
    desk, manager = sign_in(client, floors, Role.front_desk), sign_in(client, floors, Role.manager)
    booked = client.post(
        f"{API}/visits",
        headers=desk,
        json={"patient_name": "Zelda Quixote", "provider": "kim", "visit_type": "follow", "walk_in": True},
    ).json()
    answers = {
        "booked": client.post(
            f"{API}/visits",
            headers=desk,
            json={"patient_name": "Zelda Two", "provider": "kim", "visit_type": "follow", "walk_in": True},
        ),
        "board": client.get(f"{API}/board", headers=desk),
        "visit": client.get(f"{API}/visits/{booked['visit']['id']}", headers=desk),
        "export": client.get(f"{API}/export/encounters", headers=manager),
    }
    assert all("Zelda" in a.text for a in answers.values())
    assert {name: a.headers.get("cache-control") for name, a in answers.items()} == dict.fromkeys(answers, "no-store")
    # Pages may be kept, but are asked for again each time (after an upgrade, the new scripts at once).
    assert client.get("/index.html").headers["cache-control"] == "no-cache"
    assert client.get("/lib/feed.js").headers["cache-control"] == "no-cache"


def test_no_staff_id_is_floors_own_or_a_displays(served) -> None:  # noqa: F811
    client, floors = served
    manager = sign_in(client, floors, Role.manager)
    for staff in ("floor", "d-0a1b2c3d"):
        added = client.post(
            "/api/staff", headers=manager, json={"id": staff, "name": "Pat Doe", "role": "front_desk", "secret": "4826"}
        )
        assert (added.status_code, added.json()["field"]) == (422, "id"), added.text


def test_an_account_kept_from_before_with_a_reserved_id_is_named_at_start(tmp_path) -> None:
    floors = test_floors(tmp_path)
    old = StaffMember("floor", "Flo Orr", Role.front_desk, "scrypt$x", dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    assert asyncio.run(floors.sessions.directory.add_staff(old))  # added before such ids were refused
    with capture_logs() as logs, TestClient(create_app(floors)):
        warned = [e for e in logs if e["event"] == "staff_id_reserved"]
    assert len(warned) == 1 and warned[0]["staff"] == ["floor"], warned
