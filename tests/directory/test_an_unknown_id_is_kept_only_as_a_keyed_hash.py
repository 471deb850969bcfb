"""A PIN typed into the staff-id field is counted against that "id" (an unknown id waits as an account does), and
was kept as typed for 24 hours in the directory (directory.json, or a Redis key's name) beside the address: on
both backends, only a keyed hash of an id that is no account is kept, never its text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from floor.clock import ManualClock
from floor.core.access import Role
from floor.core.errors import Refusal
from floor.directory.base import Directory
from floor.directory.embedded import EmbeddedDirectory
from floor.directory.redis import RedisDirectory
from floor.sessions import Sessions
from tests.support.directories import Opener
from tests.support.staff import CHEAP

pytestmark = pytest.mark.anyio

PIN_AS_ID = "482913"
AT = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _everything_kept(directory: Directory) -> bytes:
    """The directory's whole storage: its file, or every key under its prefix with its value."""
    if isinstance(directory, EmbeddedDirectory):
        assert directory.path is not None
        return Path(directory.path).read_bytes()
    assert isinstance(directory, RedisDirectory)
    kept = b""
    async for key in directory.redis.scan_iter(match=f"{directory.tag}*"):
        kind = (await directory.redis.type(key)).decode()
        value = await directory.redis.hgetall(key) if kind == "hash" else await directory.redis.get(key)
        kept += key + b"=" + repr(value).encode() + b"\n"
    return kept


async def test_a_pin_typed_as_a_staff_id_is_never_kept_as_text(open_directory: Opener) -> None:
    directory = await open_directory()
    sessions = Sessions(directory, ManualClock(AT), cost=CHEAP)
    await sessions.add_staff("ana", "Ana Flores", Role.front_desk, "2468", "cli")
    for _ in range(5):
        with pytest.raises(Refusal):
            await sessions.sign_in(PIN_AS_ID, "2468", "tablet-1", "203.0.113.9")
    # Still counted: the sixth try with that id waits, as an account's would.
    with pytest.raises(Refusal) as waits:
        await sessions.sign_in(PIN_AS_ID, "2468", "tablet-2", "198.51.100.7")
    assert waits.value.detail.get("retry_after"), waits.value.message
    kept = await _everything_kept(directory)
    assert PIN_AS_ID.encode() not in kept
    assert b"unknown:" in kept  # what is kept for it
    # Another server on the same directory counts it under the same key.
    elsewhere = Sessions(await open_directory(), ManualClock(AT), cost=CHEAP)
    with pytest.raises(Refusal) as again:
        await elsewhere.sign_in(PIN_AS_ID, "2468", "tablet-3", "192.0.2.1")
    assert again.value.detail.get("retry_after"), again.value.message


async def test_ids_kept_as_typed_before_the_upgrade_are_forgotten_at_start(open_directory: Opener) -> None:
    """A directory kept by an earlier Floor holds the typed ids' wrong tries under their text, for up to a day: a
    starting server forgets them (an account's own are kept: they make it wait)."""
    from floor.credentials import ACCOUNT_LOCKOUT
    from floor.directory.base import account_key

    directory = await open_directory()
    sessions = Sessions(directory, ManualClock(AT), cost=CHEAP)
    await sessions.add_staff("ana", "Ana Flores", Role.front_desk, "2468", "cli")
    now = dt.datetime.now(dt.UTC)  # Redis keeps attempts by its own clock
    for key in (account_key(PIN_AS_ID), account_key("ana")):
        await directory.fail_attempt([(key, ACCOUNT_LOCKOUT)], now)
    assert PIN_AS_ID.encode() in await _everything_kept(directory)
    assert await directory.forget_typed_ids() == 1
    assert PIN_AS_ID.encode() not in await _everything_kept(directory)
    assert (await directory.strikes(account_key("ana"), now)).count == 1
    assert await directory.forget_typed_ids() == 0


def test_a_starting_server_forgets_them(tmp_path: Path) -> None:
    import anyio
    from litestar.testing import TestClient

    from floor.credentials import ACCOUNT_LOCKOUT
    from floor.directory.base import account_key
    from floor.web.app import create_app
    from tests.support.staff import test_floors

    path = tmp_path / "directory.json"

    async def before() -> None:
        await EmbeddedDirectory(path).fail_attempt([(account_key(PIN_AS_ID), ACCOUNT_LOCKOUT)], AT)

    anyio.run(before)
    assert PIN_AS_ID.encode() in path.read_bytes()
    with TestClient(create_app(test_floors(tmp_path, directory=EmbeddedDirectory(path)))):
        assert PIN_AS_ID.encode() not in path.read_bytes()
