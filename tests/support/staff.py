"""Signed-in staff for in-process tests: one account per role, cheap hashes, bearer headers.

floors = test_floors(tmp_path)
with TestClient(create_app(floors)) as client:
    desk = sign_in(client, floors, Role.front_desk)   # {"Authorization": "Bearer ..."}
    client.post(".../visits", json=..., headers=desk)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

import floor.sessions
from floor.clock import Clock, ManualClock
from floor.config import Clinic, demo_clinic
from floor.core.access import Role
from floor.core.errors import Refusal
from floor.credentials import TEST_COST
from floor.fanout import Hub
from floor.floors import Floors
from floor.log.embedded import EmbeddedLog
from floor.schedule.upcoming import FileUpcoming

#: The real code at a tiny cost, so tests do not spend half a second per sign-in.
CHEAP = TEST_COST
PIN = "2468"
#: One person per role: (staff id, name).
PEOPLE = {
    Role.front_desk: ("desk-ana", "Ana Flores"),
    Role.medical_assistant: ("ma-ben", "Ben Osei"),
    Role.provider: ("dr-kim", "Jenna Kim"),
    Role.manager: ("mgr-dana", "Dana Reyes"),
}


def test_floors(tmp_path: Path, clinics: list[Clinic] | None = None, clock: Clock | None = None, **kwargs) -> Floors:
    """Floors on an embedded log in tmp_path, with an in-memory directory hashing cheaply."""
    kwargs.setdefault("upcoming", FileUpcoming(tmp_path))
    floors = Floors(clinics or [demo_clinic()], EmbeddedLog(tmp_path), clock, **kwargs)
    cheapen(floors)
    return floors


test_floors.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def cheapen(floors: Floors) -> Floors:
    floors.sessions.cost = CHEAP
    return floors


def add_person(client: TestClient, floors: Floors, role: Role, staff_id: str | None = None, pin: str = PIN) -> str:
    """Add the role's test person (or `staff_id`) to the directory, if not there yet; their id."""
    person, name = PEOPLE[role]
    person = staff_id or person
    with contextlib.suppress(Refusal):  # added by an earlier call
        client.blocking_portal.call(floors.sessions.add_staff, person, name, role, pin, "test")
    return person


def sign_in(
    client: TestClient, floors: Floors, role: Role, staff_id: str | None = None, device: str = "tablet-1"
) -> dict[str, str]:
    """Headers of a fresh sign-in as the role's test person (added first if needed)."""
    person = add_person(client, floors, role, staff_id)
    answer = client.post("/api/sign-in", json={"staff": person, "secret": PIN, "device": device})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


@contextlib.contextmanager
def signed_in_on_a_manual_clock(
    tmp_path: Path, start: dt.datetime, people: dict[str, tuple[Role, str | None]]
) -> Iterator[tuple[TestClient, Floors, ManualClock, dict[str, dict[str, str]]]]:
    """The demo clinic's server on a clock that moves only when told (from `start`; no ticks meanwhile), with
    `people` signed in (name: (role, staff id or None for the role's test person)): the client, the floors,
    the clock and each person's headers."""
    from floor.web.app import create_app

    clock = ManualClock(start)
    floors = test_floors(tmp_path, clock=clock, tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        headers = {name: sign_in(client, floors, role, staff_id) for name, (role, staff_id) in people.items()}
        yield client, floors, clock, headers


def everyone(client: TestClient, floors: Floors) -> dict[Role, dict[str, str]]:
    """Signed-in headers for every role."""
    return {role: sign_in(client, floors, role) for role in Role}


def hub_with(queue_limit: int) -> Hub:
    return Hub(queue_limit=queue_limit)


class HeldChecks:
    """Stands in for the PIN check: records each one and holds it until `release`, so every guess of a burst
    is in flight before any is answered."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.checked: list[str] = []
        self._gate = threading.Event()
        real = floor.sessions.verify_secret

        def check(secret: str, stored: str) -> bool:
            self.checked.append(secret)
            self._gate.wait(30)
            return real(secret, stored)

        monkeypatch.setattr(floor.sessions, "verify_secret", check)

    def release(self) -> None:
        self._gate.set()
