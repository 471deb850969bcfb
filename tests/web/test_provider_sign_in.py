"""A provider's sign-in is linked to the clinic provider id their account was added with: the server says which
provider they are (/api/me, the sign-in answer), and decides what "themself" means for a presence tap from it,
not from the sign-in id."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.core.access import Role
from floor.web.app import create_app
from tests.support.staff import PIN, sign_in, test_floors

API = "/api/clinics/riverside"
START = dt.datetime(2026, 11, 23, 7, 50, tzinfo=ZoneInfo("America/Chicago"))


@pytest.fixture
def world(tmp_path):
    floors = test_floors(tmp_path, clock=ManualClock(START), tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        yield client, floors, sign_in(client, floors, Role.manager)


def _add(client: TestClient, manager: dict[str, str], **body):
    return client.post(
        "/api/staff", json={"name": "Jenna Kim", "role": "provider", "secret": PIN, **body}, headers=manager
    )


def test_a_provider_added_with_their_provider_id_is_that_provider_whatever_they_sign_in_as(world) -> None:
    client, _, manager = world
    added = _add(client, manager, id="jkim", provider="kim")
    assert added.status_code == 201, added.text
    assert added.json()["provider"] == "kim"
    assert {s["id"]: s.get("provider") for s in client.get("/api/staff", headers=manager).json()}["jkim"] == "kim"

    signed = client.post("/api/sign-in", json={"staff": "jkim", "secret": PIN, "device": "tablet-3"})
    assert signed.status_code == 201 and signed.json()["provider"] == "kim"
    jkim = {"Authorization": f"Bearer {signed.json()['token']}"}
    me = client.get("/api/me", headers=jkim).json()
    assert (me["id"], me["role"], me["provider"]) == ("jkim", "provider", "kim")

    own = client.post(f"{API}/providers/kim/presence", json={"type": "running_late"}, headers=jkim)
    assert own.status_code == 201, own.text
    assert own.json()["event"]["actor"] == "jkim"
    other = client.post(f"{API}/providers/okafor/presence", json={"type": "running_late"}, headers=jkim)
    assert other.status_code == 403 and other.json()["field"] == "provider"


def test_a_provider_id_must_be_a_clinics_and_only_for_role_provider(world) -> None:
    client, _, manager = world
    unknown = _add(client, manager, id="jkim", provider="nobody")
    assert unknown.status_code == 422 and unknown.json()["field"] == "provider"
    assert "nobody" in unknown.json()["message"]
    desk = _add(client, manager, id="ana", role="front_desk", provider="kim")
    assert desk.status_code == 422 and desk.json()["field"] == "provider"
    assert [s["id"] for s in client.get("/api/staff", headers=manager).json()] == ["mgr-dana"]


def test_an_account_added_before_the_link_is_the_provider_with_its_own_id(world) -> None:
    client, floors, _ = world
    okafor = sign_in(client, floors, Role.provider, staff_id="okafor")  # added without a provider id
    assert (stored := client.blocking_portal.call(floors.sessions.directory.staff, "okafor")) is not None
    assert stored.provider is None
    assert client.get("/api/me", headers=okafor).json()["provider"] == "okafor"
    manager_me = client.get("/api/me", headers=sign_in(client, floors, Role.manager)).json()
    assert "provider" not in manager_me


def test_floor_staff_add_links_a_provider_and_refuses_the_link_for_other_roles(tmp_path) -> None:
    """The real CLI, in a process of its own (it sets up the logging of a whole program)."""
    import asyncio
    import subprocess
    import sys

    from floor.directory.embedded import EmbeddedDirectory

    data = tmp_path / "data"

    def floor_staff_add(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "floor",
                "--log-level",
                "warning",
                "staff",
                "add",
                *args,
                "--secret-stdin",
                "--data-dir",
                str(data),
            ],
            input="2468\n",
            capture_output=True,
            text=True,
            timeout=60,
        )

    added = floor_staff_add("--id", "jkim", "--name", "Jenna Kim", "--role", "provider", "--provider", "kim")
    assert added.returncode == 0, added.stderr
    assert "Added jkim (Jenna Kim), provider, linked to provider kim, in every clinic." in added.stdout + added.stderr
    refused = floor_staff_add("--id", "ana", "--role", "front_desk", "--provider", "kim")
    assert refused.returncode != 0 and "role provider" in refused.stderr
    directory = EmbeddedDirectory(next(data.rglob("*.json")))
    assert {m.id: m.provider for m in asyncio.run(directory.all_staff())} == {"jkim": "kim"}
