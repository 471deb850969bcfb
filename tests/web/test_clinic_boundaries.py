"""Clinic boundaries on both directory backends: staff added for one clinic read, tap and watch only it,
through the API and the live socket; a change of clinics is honoured by every server sharing the directory;
accounts stored before clinics were recorded keep every clinic, and the server says which at start."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import msgspec
import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from structlog.testing import capture_logs

from floor.close_codes import CLOSE_FORBIDDEN, CLOSE_UNKNOWN_CLINIC
from floor.config import demo_clinic_path
from floor.core.access import Role
from floor.directory.base import Directory
from floor.directory.embedded import EmbeddedDirectory
from floor.directory.redis import RedisDirectory
from floor.floors import SESSION_CHECK_SECONDS, Floors
from floor.log.embedded import EmbeddedLog
from floor.web.app import create_app
from tests.support.clinics import quiet_clinic
from tests.support.redis_server import forget_prefix
from tests.support.staff import PIN, cheapen, sign_in

RIVERSIDE, LAKESIDE = "riverside", "lakeside"
CLINICS = [quiet_clinic(), msgspec.structs.replace(quiet_clinic(), id=LAKESIDE, name="Lakeside Clinic")]


@pytest.fixture(params=["embedded", "redis"])
def directories(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[callable]:
    """Makes directories over one storage (servers sharing it)."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""

    def make() -> Directory:
        return (
            EmbeddedDirectory(tmp_path / "directory.json")
            if request.param == "embedded"
            else RedisDirectory(url, prefix=prefix)
        )

    yield make
    if request.param == "redis":
        anyio.run(forget_prefix, url, prefix)


def _floors(tmp_path: Path, directory: Directory, name: str = "a") -> Floors:
    return cheapen(Floors(CLINICS, EmbeddedLog(tmp_path / name), tick_seconds=3600, directory=directory))


def _member(client: TestClient, manager: dict[str, str], staff: str, role: Role, clinics: list[str]) -> dict:
    body = {"id": staff, "name": "Pat Staff", "role": role.value, "secret": PIN, "clinics": clinics}
    added = client.post("/api/staff", json=body, headers=manager)
    assert added.status_code == 201, added.text
    assert added.json()["clinics"] == clinics
    signed = client.post("/api/sign-in", json={"staff": staff, "secret": PIN, "device": "tablet-1"})
    assert signed.status_code == 201, signed.text
    return {"Authorization": f"Bearer {signed.json()['token']}"}


def _socket_closes(client: TestClient, clinic: str, headers: dict[str, str]) -> int | None:
    with client.websocket_connect(f"/api/clinics/{clinic}/live", headers=headers) as ws:
        try:
            first = json.loads(ws.receive_text(timeout=5))
        except WebSocketDisconnect as closed:
            return closed.code
        assert first["kind"] == "snapshot" and first["board"]["clinic"] == clinic
        return None


def test_staff_of_one_clinic_cannot_read_tap_or_watch_another(tmp_path: Path, directories) -> None:
    floors = _floors(tmp_path, directories())
    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)  # of every clinic
        desk = _member(client, manager, "desk-lake", Role.front_desk, [LAKESIDE])
        ma = _member(client, manager, "ma-lake", Role.medical_assistant, [LAKESIDE])
        both = _member(client, manager, "desk-both", Role.front_desk, [RIVERSIDE, LAKESIDE])
        assert client.get("/api/me", headers=desk).json()["clinics"] == [LAKESIDE]

        walk_in = {"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True}
        visit = client.post(f"/api/clinics/{RIVERSIDE}/visits", json=walk_in, headers=both)
        assert visit.status_code == 201, visit.text
        visit_id = visit.json()["visit"]["id"]
        seq = floors.get(RIVERSIDE).floor.seq
        for who in (desk, ma):
            board = client.get(f"/api/clinics/{RIVERSIDE}/board", headers=who)
            assert board.status_code == 403 and "Ann Lee" not in board.text
            assert client.get(f"/api/clinics/{RIVERSIDE}/visits/{visit_id}", headers=who).status_code == 403
            assert client.post(f"/api/clinics/{RIVERSIDE}/visits", json=walk_in, headers=who).status_code == 403
            assert (
                client.post(
                    f"/api/clinics/{RIVERSIDE}/rooms/e1/events", json={"type": "blocked"}, headers=who
                ).status_code
                == 403
            )
            assert _socket_closes(client, RIVERSIDE, who) == CLOSE_FORBIDDEN
            assert client.get(f"/api/clinics/{LAKESIDE}/board", headers=who).status_code == 200
            assert _socket_closes(client, LAKESIDE, who) is None
        tap = client.post(
            f"/api/clinics/{RIVERSIDE}/visits/{visit_id}/events", json={"type": "checked_out"}, headers=desk
        )
        assert tap.status_code == 403
        assert floors.get(RIVERSIDE).floor.seq == seq
        assert _socket_closes(client, RIVERSIDE, both) is None


def test_a_change_of_clinics_is_honoured_by_every_server(tmp_path: Path, directories) -> None:
    servers = [_floors(tmp_path, directories(), name) for name in ("a", "b")]
    with TestClient(create_app(servers[0])) as a, TestClient(create_app(servers[1])) as b:
        manager = sign_in(b, servers[1], Role.manager)
        desk = _member(b, manager, "desk-river", Role.front_desk, [RIVERSIDE])
        time.sleep(2 * SESSION_CHECK_SECONDS)  # with Redis, A remembers what it checks from here on
        assert a.get(f"/api/clinics/{RIVERSIDE}/board", headers=desk).status_code == 200
        b.blocking_portal.call(servers[1].sessions.set_clinics, "desk-river", (LAKESIDE,), "test")
        deadline = time.monotonic() + 2.0
        while a.get(f"/api/clinics/{RIVERSIDE}/board", headers=desk).status_code == 200:
            assert time.monotonic() < deadline, "server A still lets the old sign-in read riverside"
            time.sleep(0.02)
        again = a.post("/api/sign-in", json={"staff": "desk-river", "secret": PIN, "device": "tablet-1"})
        headers = {"Authorization": f"Bearer {again.json()['token']}"}
        assert a.get(f"/api/clinics/{RIVERSIDE}/board", headers=headers).status_code == 403
        assert a.get(f"/api/clinics/{LAKESIDE}/board", headers=headers).status_code == 200


def test_accounts_stored_before_clinics_keep_every_clinic_and_are_named_at_start(tmp_path: Path, directories) -> None:
    setup = _floors(tmp_path, directories(), "setup")
    with TestClient(create_app(setup)) as client:
        sign_in(client, setup, Role.front_desk)  # every clinic: then made an old record, without clinics
        member = client.blocking_portal.call(setup.sessions.directory.staff, "desk-ana")
        client.blocking_portal.call(
            setup.sessions.directory.replace_staff, msgspec.structs.replace(member, clinics=None)
        )
    floors = _floors(tmp_path, directories(), "server")
    with capture_logs() as logs, TestClient(create_app(floors)) as client:
        warned = [e for e in logs if e["event"] == "staff_without_clinics"]
        assert len(warned) == 1 and warned[0]["staff"] == ["desk-ana"], warned
        desk = sign_in(client, floors, Role.front_desk)
        assert client.get("/api/me", headers=desk).json()["clinics"] == ["*"]
        for clinic in (RIVERSIDE, LAKESIDE):
            assert client.get(f"/api/clinics/{clinic}/board", headers=desk).status_code == 200


def test_floor_staff_add_and_clinics_set_an_accounts_clinics(tmp_path: Path, monkeypatch, capsys) -> None:
    import io

    from floor.bootstrap import embedded_directory
    from floor.cli import main

    data = str(tmp_path / "data")
    # The clinic files name both clinics (`floor staff` refuses a clinic none of them has).
    lakeside = tmp_path / "lakeside.toml"
    lakeside.write_text(demo_clinic_path().read_text().replace('id = "riverside"', f'id = "{LAKESIDE}"', 1))
    monkeypatch.setenv("FLOOR_CLINICS", f"{demo_clinic_path()}:{lakeside}")
    # `main` points the logs at this test's captured stderr, which later tests would find closed.
    monkeypatch.setattr("floor.cli.configure", lambda level: None)
    monkeypatch.setattr("sys.stdin", io.StringIO(PIN + "\n"))
    main(
        [
            "staff",
            "add",
            "--id",
            "ana",
            "--role",
            "front_desk",
            "--clinic",
            LAKESIDE,
            "--secret-stdin",
            "--data-dir",
            data,
        ]
    )
    assert f"front desk, in {LAKESIDE}." in capsys.readouterr().err

    def clinics() -> tuple[str, ...] | None:
        return anyio.run(embedded_directory(data).staff, "ana").clinics

    assert clinics() == (LAKESIDE,)
    main(["staff", "clinics", "--id", "ana", "--clinic", RIVERSIDE, "--clinic", LAKESIDE, "--data-dir", data])
    assert clinics() == (RIVERSIDE, LAKESIDE)
    main(["staff", "list", "--data-dir", data])
    assert f"{RIVERSIDE},{LAKESIDE}" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="needs --clinic"):
        main(["staff", "clinics", "--id", "ana", "--data-dir", data])


def test_a_manager_of_one_clinic_is_not_told_which_other_clinics_the_server_runs(tmp_path: Path) -> None:
    """Pairing a wall or adding an account for a clinic id that is not the manager's: one answer whether the server
    runs it or not, as every route under /api/clinics gives. An id the server does not run was answered 404 or 422
    listing every clinic on the server, and one it runs 403, to a manager of another clinic (a hostile review of
    break-ins)."""
    floors = _floors(tmp_path, EmbeddedDirectory(tmp_path / "directory.json"))
    with TestClient(create_app(floors)) as client:
        boss = sign_in(client, floors, Role.manager)  # of every clinic
        lake = _member(client, boss, "mgr-lake", Role.manager, [LAKESIDE])
        answers = {}
        for clinic in (RIVERSIDE, "no-such-clinic"):
            code = client.post("/api/displays/pairings").json()["code"]
            paired = client.post("/api/displays", json={"code": code, "clinic": clinic}, headers=lake)
            body = {"id": f"desk-{clinic[:6]}", "name": "Pat Staff", "role": "front_desk", "secret": PIN}
            added = client.post("/api/staff", json={**body, "clinics": [clinic]}, headers=lake)
            answers[clinic] = [(a.status_code, a.json()["error"]) for a in (paired, added)]
            if clinic != RIVERSIDE:
                assert RIVERSIDE not in paired.text + added.text
        assert answers[RIVERSIDE] == answers["no-such-clinic"] == [(403, "forbidden")] * 2
        # Nor which clinics a member of another clinic works in.
        _member(client, boss, "desk-river", Role.front_desk, [RIVERSIDE])
        for refused in (
            client.post("/api/staff/desk-river/unlock", headers=lake),
            client.delete("/api/staff/desk-river", headers=lake),
        ):
            assert refused.status_code == 403 and RIVERSIDE not in refused.text, refused.text
        # A manager of every clinic is told which there are.
        code = client.post("/api/displays/pairings").json()["code"]
        unknown = client.post("/api/displays", json={"code": code, "clinic": "no-such-clinic"}, headers=boss)
        assert unknown.status_code == 404 and RIVERSIDE in unknown.text and LAKESIDE in unknown.text


def test_staff_of_one_clinic_are_not_told_by_the_socket_which_other_clinics_the_server_runs(tmp_path: Path) -> None:
    """The live socket answers another clinic's id as HTTP does (403, 4403), whether the server runs it or not: it
    closed 4404 "no clinic on this server" for an id it does not run and 4403 for one it does, so any signed-in
    member of one clinic could list the others (a hostile review of break-ins)."""
    floors = _floors(tmp_path, EmbeddedDirectory(tmp_path / "directory.json"))
    with TestClient(create_app(floors)) as client:
        boss = sign_in(client, floors, Role.manager)  # of every clinic
        desk = _member(client, boss, "desk-lake", Role.front_desk, [LAKESIDE])
        pairing = client.post("/api/displays/pairings").json()
        paired = client.post("/api/displays", json={"code": pairing["code"], "clinic": LAKESIDE}, headers=boss)
        assert paired.status_code == 201, paired.text
        token = client.post("/api/displays/pairings/claim", json={"claim": pairing["claim"]}).json()["token"]
        wall = {"Authorization": f"Bearer {token}"}
        for who in (desk, wall):
            closes = {c: _socket_closes(client, c, who) for c in (RIVERSIDE, "no-such-clinic")}
            assert closes == {RIVERSIDE: CLOSE_FORBIDDEN, "no-such-clinic": CLOSE_FORBIDDEN}
            assert client.get("/api/clinics/no-such-clinic/board", headers=desk).status_code == 403
        # Staff of every clinic are told there is no such clinic.
        assert _socket_closes(client, "no-such-clinic", boss) == CLOSE_UNKNOWN_CLINIC
