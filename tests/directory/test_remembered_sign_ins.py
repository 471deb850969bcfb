"""A server remembers the sign-ins it checked (floor/sessions.py `Sessions.caller`), so a request needs no
round trip to the directory's one Redis node: trusted while the revision poll is recent, forgotten when the
revision moves (a sign-in ended anywhere), and never past its expiry.

The directory here is the in-memory one, marked shared and able to stop answering; its revision is what a
Redis directory's is. The real Redis across two servers is in tests/web/test_revocation_and_audit.py and
tests/server/test_redis_cluster_outage.py."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import pytest

from floor.clock import ManualClock
from floor.core.access import Role
from floor.core.errors import Refusal
from floor.directory.embedded import EmbeddedDirectory
from floor.log.base import LogUnavailable
from floor.sessions import SESSION_CACHE_SIZE, SESSION_RECHECK_SECONDS, SESSION_TRUST_SECONDS, Sessions, token_hash
from tests.support.staff import CHEAP, PIN

pytestmark = pytest.mark.anyio

START = dt.datetime(2030, 1, 7, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class SharedDirectory(EmbeddedDirectory):
    """The in-memory directory, as if several servers shared it; `down` makes every session look-up fail as an
    unreachable Redis does, and `lookups` counts them."""

    shared = True

    def __init__(self) -> None:
        super().__init__(None)
        self.down = False
        self.lookups = 0
        self.hold: asyncio.Event | None = None
        #: Sessions gone without the revision moving: the directory restored from a backup taken before them.
        self.restored_without: set[str] = set()

    async def session(self, token_hash, now):
        self.lookups += 1
        if self.hold is not None:
            await self.hold.wait()
        if self.down:
            raise LogUnavailable("Redis did not answer within 3 s", maybe_stored=True)
        if token_hash in self.restored_without:
            return None
        return await super().session(token_hash, now)


class Ticker:
    """An injected monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _server(directory: SharedDirectory, clock: ManualClock, ticker: Ticker) -> Sessions:
    return Sessions(directory, clock, cost=CHEAP, monotonic=ticker)


async def _signed_in(sessions: Sessions) -> str:
    with contextlib.suppress(Refusal):  # added by an earlier call
        await sessions.add_staff("desk-ana", "Ana Flores", Role.front_desk, PIN, "test")
    return (await sessions.sign_in("desk-ana", PIN, "tablet")).token


async def test_a_checked_sign_in_is_answered_while_the_directory_does_not_answer() -> None:
    directory, clock, ticker = SharedDirectory(), ManualClock(START), Ticker()
    sessions = await _server(directory, clock, ticker)
    token = await _signed_in(sessions)
    sessions.revision_seen(await directory.revision())
    assert (await sessions.caller(token)).person == "desk-ana"
    looked_up = directory.lookups

    directory.down = True
    ticker.now += SESSION_TRUST_SECONDS - 1  # the last poll answered 14 s ago
    assert (await sessions.caller(token)).person == "desk-ana"
    assert directory.lookups == looked_up  # no round trip to the directory
    # An unknown token still needs the directory: unavailable, not refused.
    with pytest.raises(LogUnavailable):
        await sessions.caller("not-a-known-token")

    # Past the trust window with no answer from the directory, a remembered sign-in is looked up again.
    ticker.now += 2
    with pytest.raises(LogUnavailable):
        await sessions.caller(token)


async def test_a_sign_out_through_another_server_is_honoured_at_the_next_revision_poll() -> None:
    directory, clock, ticker = SharedDirectory(), ManualClock(START), Ticker()
    a, b = await _server(directory, clock, ticker), await _server(directory, clock, ticker)
    token = await _signed_in(b)
    a.revision_seen(await directory.revision())
    caller = await a.caller(token)
    assert caller is not None

    await b.sign_out(await b.caller(token))
    assert await b.caller(token) is None  # at once where it was signed out
    # On A, until its poll reads the moved revision (every half second), then refused.
    a.revision_seen(await directory.revision())
    assert await a.caller(token) is None


async def test_a_remembered_sign_in_still_expires_by_the_clock() -> None:
    directory, clock, ticker = SharedDirectory(), ManualClock(START), Ticker()
    sessions = await _server(directory, clock, ticker)
    token = await _signed_in(sessions)
    sessions.revision_seen(await directory.revision())
    assert await sessions.caller(token) is not None
    clock.advance(hours=12, seconds=1)
    assert await sessions.caller(token) is None


async def test_a_look_up_under_way_when_a_sign_in_ends_does_not_remember_it() -> None:
    directory, clock, ticker = SharedDirectory(), ManualClock(START), Ticker()
    a, b = await _server(directory, clock, ticker), await _server(directory, clock, ticker)
    token = await _signed_in(b)
    a.revision_seen(await directory.revision())
    directory.hold = asyncio.Event()
    looking = asyncio.create_task(a.caller(token))  # reads the session before it ends...
    await asyncio.sleep(0.01)
    a.revision_seen(await directory.revision() + 1)  # ...a sign-in ends meanwhile and A's poll hears of it
    directory.hold.set()
    assert await looking is not None
    directory.hold = None
    await directory.end_session((await b.caller(token)).session)
    assert await a.caller(token) is None  # looked up again: not remembered from before the poll


async def test_the_remembered_sign_ins_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("floor.sessions.SESSION_CACHE_SIZE", 3)
    directory, clock, ticker = SharedDirectory(), ManualClock(START), Ticker()
    sessions = await _server(directory, clock, ticker)
    sessions.revision_seen(await directory.revision())
    tokens = [await _signed_in(sessions) for _ in range(5)]
    for token in tokens:
        assert await sessions.caller(token) is not None
    assert len(sessions._known) == 3 < SESSION_CACHE_SIZE


async def test_a_sign_in_the_directory_lost_in_a_restore_is_refused_within_a_minute() -> None:
    """Restored from a backup taken before a sign-in, the directory no longer has it, and its revision is the
    backup's: nothing ended, nothing moved. The server that remembered the sign-in honoured it for its 12 hours
    while every other refused it (a newcomer following deploy.md); it is looked up again after a minute."""
    directory, clock, ticker = SharedDirectory(), ManualClock(START), Ticker()
    sessions = await _server(directory, clock, ticker)
    token = await _signed_in(sessions)
    sessions.revision_seen(await directory.revision())
    assert await sessions.caller(token) is not None
    directory.restored_without.add(token_hash(token))
    ticker.now += SESSION_RECHECK_SECONDS - 1
    sessions.revision_seen(await directory.revision())  # the same revision: polled, trusted
    assert await sessions.caller(token) is not None  # remembered, within the minute
    ticker.now += 2
    sessions.revision_seen(await directory.revision())
    assert await sessions.caller(token) is None
