"""Over HTTP: whatever redis-py raises for "Redis cannot take this now" (a cluster down, a move mid-failover, a
timeout), a tap, a sign-in and the staff list are answered 503 with Retry-After and an honest message, never
500. The server runs on a real Redis; then its clients are swapped for ones raising the error."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from litestar.testing import TestClient
from redis import exceptions as e

from floor.config import demo_clinic
from floor.core.access import Role
from floor.directory.redis import RedisDirectory
from floor.floors import Floors
from floor.log.redis import RedisLog
from floor.schedule.upcoming import FileUpcoming
from floor.web.app import create_app
from tests.support.redis_server import forget_prefix
from tests.support.staff import PIN, add_person, cheapen, sign_in

CLINIC = "riverside"
ERRORS = [
    e.ClusterDownError("The cluster is down"),
    e.MasterDownError("Link with MASTER is down"),
    e.TryAgainError("Multiple keys request during rehashing of slot"),
    e.MovedError("3999 127.0.0.1:7001"),
    e.ClusterError("TTL exhausted."),
    e.SlotNotCoveredError('Slot "3999" is not covered by the cluster.'),
    e.ReadOnlyError("You can't write against a read only replica."),
    e.TimeoutError("Timeout reading from 127.0.0.1:7000"),
    e.ConnectionError("Error 111 connecting to 127.0.0.1:7000. Connection refused."),
    e.BusyLoadingError("Redis is loading the dataset in memory"),
]


class Raising:
    """A redis-py client (or a registered script) whose every command raises `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def _raise(self, *args, **kwargs):
        raise self.error

    def __getattr__(self, name: str):
        return self._raise

    def __call__(self, *args, **kwargs):
        return self._raise()


@pytest.fixture
def served(tmp_path: Path, redis_url: str) -> Iterator[tuple[TestClient, Floors]]:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    floors = cheapen(
        Floors(
            [demo_clinic()],
            RedisLog(redis_url, prefix=prefix),
            tick_seconds=3600,
            directory=RedisDirectory(redis_url, prefix=prefix),
            upcoming=FileUpcoming(tmp_path),
        )
    )
    try:
        with TestClient(create_app(floors)) as client:
            yield client, floors
    finally:
        anyio.run(forget_prefix, redis_url, prefix)


def _walk_in(client: TestClient, headers: dict[str, str]):
    return client.post(
        f"/api/clinics/{CLINIC}/visits",
        json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True},
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )


def _assert_503(answer, *, maybe_stored: bool) -> None:
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["Retry-After"]) > 0
    body = answer.json()
    assert body["error"] == "unavailable"
    if maybe_stored:
        # The answer was lost, not known refused: it must not claim nothing was stored.
        assert "may have been stored" in body["message"] and "same Idempotency-Key" in body["message"]
        assert "not stored" not in body["message"] and "Nothing was stored" not in body["message"]


@pytest.mark.parametrize("error", ERRORS, ids=lambda x: type(x).__name__)
def test_a_tap_gets_503_when_the_log_cannot_take_it(served, error: Exception) -> None:
    client, floors = served
    desk = sign_in(client, floors, Role.front_desk)
    assert _walk_in(client, desk).status_code == 201
    redis_log = floors.log
    real, script = redis_log.redis, redis_log._append
    redis_log.redis, redis_log._append = Raising(error), Raising(error)
    try:
        _assert_503(_walk_in(client, desk), maybe_stored=True)
    finally:
        redis_log.redis, redis_log._append = real, script
    assert _walk_in(client, desk).status_code == 201


@pytest.mark.parametrize("error", ERRORS, ids=lambda x: type(x).__name__)
def test_a_sign_in_and_the_staff_list_get_503_when_the_directory_cannot_answer(served, error: Exception) -> None:
    client, floors = served
    manager = sign_in(client, floors, Role.manager)
    person = add_person(client, floors, Role.front_desk)
    directory = floors.sessions.directory
    real = directory.redis
    directory.redis = Raising(error)
    try:
        _assert_503(
            client.post("/api/sign-in", json={"staff": person, "secret": PIN, "device": "t"}), maybe_stored=True
        )
        _assert_503(client.get("/api/staff", headers=manager), maybe_stored=True)
    finally:
        directory.redis = real
    assert client.post("/api/sign-in", json={"staff": person, "secret": PIN, "device": "t"}).status_code == 201


class AnswerLost:
    """The append script runs in Redis, then its answer is lost on the way back (a node killed or stalled after
    it stored the tap, a connection cut): what the server sees is a timeout."""

    def __init__(self, script) -> None:
        self.script = script

    async def __call__(self, keys, args):
        await self.script(keys=keys, args=args)
        raise e.TimeoutError("Timeout reading from 127.0.0.1:7000")


def test_a_tap_whose_answer_was_lost_is_stored_once_and_its_retry_gets_the_first_answer(served) -> None:
    client, floors = served
    desk = sign_in(client, floors, Role.front_desk)
    key = uuid.uuid4().hex
    walk_in = {"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True}
    redis_log = floors.log
    script, redis_log._append = redis_log._append, AnswerLost(redis_log._append)
    try:
        first = client.post(f"/api/clinics/{CLINIC}/visits", json=walk_in, headers={**desk, "Idempotency-Key": key})
    finally:
        redis_log._append = script
    # Stored, but the server cannot know: the 503 must not say nothing was stored.
    _assert_503(first, maybe_stored=True)

    retry = client.post(f"/api/clinics/{CLINIC}/visits", json=walk_in, headers={**desk, "Idempotency-Key": key})
    assert retry.status_code == 201, retry.text
    assert retry.headers.get("Idempotent-Replayed") == "true"  # the stored tap's own answer
    board = client.get(f"/api/clinics/{CLINIC}/board", headers=desk).json()
    ann = [v for v in board["visits"] if v["patient_name"] == "Ann Lee"]
    assert [v["id"] for v in ann] == [retry.json()["visit"]["id"]]  # one walk-in, not two
