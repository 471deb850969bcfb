"""A tap whose every try lost a race to other servers' appends stored nothing: it is answered 503 with
Retry-After (the tablet sends it again), never a 500 the tablet drops (a hostile review: two servers with
--redis-replicas under bursts lost one tap in forty that way)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from floor.clock import ManualClock
from floor.core.access import Role
from floor.floors import Floors
from floor.retry import GaveUp
from floor.runtime import writer
from floor.web.app import create_app
from tests.support.staff import sign_in, test_floors
from tests.web.test_input_limits import API, START, WALK_IN


@pytest.fixture
def app(tmp_path) -> Iterator[tuple[TestClient, Floors]]:
    floors = test_floors(tmp_path, clock=ManualClock(START), tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        yield client, floors


def _always_lost(what: str, tries: int = 10) -> Iterator[int]:
    raise GaveUp(f"{what}; gave up after {tries} tries")
    yield 0  # a generator, as floor.retry.attempts is


def test_a_tap_that_lost_every_race_is_answered_503_to_send_again(app, monkeypatch) -> None:
    client, floors = app
    desk = sign_in(client, floors, Role.front_desk)
    monkeypatch.setattr(writer, "attempts", _always_lost)
    answer = client.post(f"{API}/visits", json={"patient_name": "Ann Lee", **WALK_IN}, headers=desk)
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["error"] == "unavailable"
    assert "Nothing was stored" in answer.json()["message"]
    assert floors.get("riverside").floor.seq == 0
    monkeypatch.undo()
    assert client.post(f"{API}/visits", json={"patient_name": "Ann Lee", **WALK_IN}, headers=desk).status_code == 201
