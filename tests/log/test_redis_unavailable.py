"""Every redis-py error that means "Redis cannot take this now" is LogUnavailable (503, try again), decided in
one place (`floor.redis_client.call`), and a command that does not answer in time is one too.

The errors are raised by a fake command inside `call`, as redis-py's clients raise them (standalone and
cluster, redis.asyncio.cluster); the real outages are in tests/server/test_redis_outage.py and
tests/server/test_redis_cluster_outage.py."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis import exceptions as e

from floor.log.base import LogUnavailable
from floor.redis_client import call, safe_url, urls

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


UNAVAILABLE = [
    e.ClusterDownError("The cluster is down"),
    e.MasterDownError("Link with MASTER is down and replica-serve-stale-data is set to 'no'."),
    e.TryAgainError("Multiple keys request during rehashing of slot"),
    e.MovedError("3999 127.0.0.1:7001"),
    e.AskError("3999 127.0.0.1:7001"),
    e.ClusterError("TTL exhausted."),
    e.SlotNotCoveredError('Slot "3999" is not covered by the cluster.'),
    e.ReadOnlyError("You can't write against a read only replica."),
    e.BusyLoadingError("Redis is loading the dataset in memory"),
    e.MaxConnectionsError("Too many connections"),
    e.OutOfMemoryError("command not allowed when used memory > 'maxmemory'."),
    e.ResponseError("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist"),
    e.ResponseError("NOREPLICAS Not enough good replicas to write."),
    # A master demoted to a replica ends every blocking read on it (a follower's XREAD).
    e.ResponseError("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"),
    e.RedisClusterException("Redis Cluster cannot be connected. Please provide at least one reachable node"),
    e.TimeoutError("Timeout reading from 127.0.0.1:7000"),
    e.ConnectionError("Error 111 connecting to 127.0.0.1:7000. Connection refused."),
    ConnectionResetError(104, "Connection reset by peer"),
]


class Client:
    """Stands for a redis-py client: `call` only needs one that is not None."""


@pytest.mark.parametrize("error", UNAVAILABLE, ids=lambda x: type(x).__name__)
async def test_an_error_meaning_redis_cannot_take_it_now_is_unavailable(error: Exception) -> None:
    async def command() -> None:
        raise error

    with pytest.raises(LogUnavailable) as raised:
        await call(Client(), command, "the Redis log")
    assert raised.value.__cause__ is error
    # Even a refusal may follow an attempt of the client's own whose answer was lost: the 503 says the tap
    # may be stored, and the tablet retries with its key.
    assert raised.value.maybe_stored


@pytest.mark.parametrize(
    "error",
    [
        e.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
        e.ClusterCrossSlotError("Keys in request don't hash to the same slot"),
        e.DataError("Invalid input of type: 'NoneType'"),
        e.RedisClusterException("No way to dispatch this command to Redis Cluster. Missing key."),
        ValueError("a bug"),
    ],
    ids=lambda x: type(x).__name__,
)
async def test_a_bug_or_a_bad_command_is_not_called_an_outage(error: Exception) -> None:
    async def command() -> None:
        raise error

    with pytest.raises(type(error)):
        await call(Client(), command, "the Redis log")


async def test_a_command_that_does_not_answer_in_time_is_unavailable_at_its_deadline() -> None:
    async def stalled() -> None:
        await asyncio.sleep(30)  # a paused node: the socket is open and nothing comes back

    began = time.monotonic()
    with pytest.raises(LogUnavailable) as raised:
        await call(Client(), stalled, "the Redis log", deadline=0.2)
    assert time.monotonic() - began < 5
    assert "did not answer within 0.2 s" in str(raised.value) and raised.value.maybe_stored


async def test_a_client_that_is_not_open_is_unavailable() -> None:
    async def command() -> None:
        raise AssertionError("not called")

    with pytest.raises(LogUnavailable, match="not open"):
        await call(None, command, "the Redis log")


def test_a_url_list_names_every_node_and_hides_every_password() -> None:
    listed = "redis://:s3cret@10.0.0.1:7000, redis://user:p4ss@10.0.0.2:7001,redis://10.0.0.3:7002"
    assert urls(listed) == ["redis://:s3cret@10.0.0.1:7000", "redis://user:p4ss@10.0.0.2:7001", "redis://10.0.0.3:7002"]
    shown = safe_url(listed)
    assert "s3cret" not in shown and "p4ss" not in shown and "user" not in shown
    assert shown == "redis://***@10.0.0.1:7000,redis://***@10.0.0.2:7001,redis://10.0.0.3:7002"
    assert safe_url("redis://:pw@h:1/0") == "redis://***@h:1/0"
