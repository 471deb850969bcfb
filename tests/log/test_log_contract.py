"""The event-log contract, run against every backend: embedded (local disk) and Redis (Streams).

Append with gap-free seq, refusal of a seq that is not next, idempotency keys, reopening, replay of a
day, resume from a seq, and following the log (`tail`).
"""

from __future__ import annotations

import asyncio
import datetime as dt

import msgspec
import pytest

from floor.core.events import PresenceUndone, ProviderPresence
from floor.core.presence import Presence
from floor.log.base import Diverged, KeyTaken, Record, SeqTaken, mark
from floor.log.embedded import EmbeddedLog
from floor.log.redis import MISSED
from tests.support.logs import Opener
from tests.support.records import DAY, event, receipt, record

pytestmark = pytest.mark.anyio

CLINIC = "riverside"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_appended_events_read_back_in_order(open_log: Opener) -> None:
    log = await open_log()
    records = [record(1, key="k1"), record(2), record(3, key="k3")]
    for r in records:
        await log.append(CLINIC, r)
    events = [r.event for r in records]
    assert await log.last_seq(CLINIC) == 3
    assert await log.read(CLINIC, 0) == events
    assert await log.read_day(CLINIC, DAY) == (0, events)
    assert await log.receipt(CLINIC, "k1") == records[0].receipt
    assert await log.receipt(CLINIC, "k3") == records[2].receipt
    assert await log.receipt(CLINIC, "k2") is None
    assert await log.last_seq("elsewhere") == 0


@pytest.mark.parametrize("seq", [0, 2, 5, -1])
async def test_the_first_seq_must_be_1(open_log: Opener, seq: int) -> None:
    log = await open_log()
    with pytest.raises(SeqTaken) as taken:
        await log.append(CLINIC, record(seq))
    assert taken.value.last_seq == 0
    assert await log.read(CLINIC, 0) == []
    await log.append(CLINIC, record(1))
    assert await log.read(CLINIC, 0) == [event(1)]


async def test_a_seq_that_is_not_next_is_refused_and_stores_nothing(open_log: Opener) -> None:
    log = await open_log()
    await log.append(CLINIC, record(1))
    await log.append(CLINIC, record(2))
    for seq in (1, 2, 4, 100):
        with pytest.raises(SeqTaken) as taken:
            await log.append(CLINIC, record(seq, actor="someone-else"))
        assert taken.value.last_seq == 2
    assert await log.last_seq(CLINIC) == 2
    assert await (await open_log()).read(CLINIC, 0) == [event(1), event(2)]


async def test_a_reused_idempotency_key_raises_key_taken_with_the_first_receipt(open_log: Opener) -> None:
    log = await open_log()
    first = record(1, key="tap-1")
    await log.append(CLINIC, first)
    with pytest.raises(KeyTaken) as taken:
        await log.append(CLINIC, Record(event(2), receipt("tap-1", 2, fingerprint="another request")))
    assert taken.value.receipt == first.receipt
    assert await log.last_seq(CLINIC) == 1
    # The seq it did not take is still free for a new key.
    await log.append(CLINIC, record(2, key="tap-2"))
    assert await log.read(CLINIC, 0) == [event(1), event(2)]


async def test_a_batch_is_stored_whole_and_reads_back_as_separate_events(open_log: Opener) -> None:
    log = await open_log()
    await log.append(CLINIC, record(1))
    batch = [record(2), record(3, key="import-1"), record(4)]
    await log.append_all(CLINIC, batch)
    await log.append(CLINIC, record(5))
    events = [event(s) for s in range(1, 6)]
    assert await log.last_seq(CLINIC) == 5
    assert await log.read(CLINIC, 0) == events
    assert await log.read(CLINIC, 2) == events[2:]  # a resume inside a batch
    assert await log.read_day(CLINIC, DAY) == (0, events)
    assert await log.receipt(CLINIC, "import-1") == batch[1].receipt
    again = await open_log()
    assert await again.read(CLINIC, 0) == events
    assert await again.tail(CLINIC, 3, 0.01) == events[3:]


async def test_a_refused_batch_stores_none_of_its_records(open_log: Opener) -> None:
    log = await open_log()
    await log.append(CLINIC, record(1, key="tap-1"))
    with pytest.raises(SeqTaken) as taken:
        await log.append_all(CLINIC, [record(1, actor="other"), record(2)])
    assert taken.value.last_seq == 1
    # A key already used refuses the batch even when it is on the last record, and nothing before it is kept.
    with pytest.raises(KeyTaken):
        await log.append_all(CLINIC, [record(2, key="tap-2"), Record(event(3), receipt("tap-1", 3, "other"))])
    assert await log.last_seq(CLINIC) == 1
    assert await log.receipt(CLINIC, "tap-2") is None
    assert await (await open_log()).read(CLINIC, 0) == [event(1)]
    await log.append_all(CLINIC, [record(2, key="tap-2"), record(3)])
    assert [e.seq for e in await log.read(CLINIC, 0)] == [1, 2, 3]


@pytest.mark.parametrize(
    "batch",
    [
        [],
        [record(1), record(3)],
        [record(1), record(2, day=DAY + dt.timedelta(days=1))],
        [record(1, key="same"), record(2, key="same")],
    ],
    ids=["empty", "a gap", "two days", "one key twice"],
)
async def test_a_malformed_batch_is_a_programming_error(open_log: Opener, batch: list[Record]) -> None:
    log = await open_log()
    with pytest.raises(ValueError):
        await log.append_all(CLINIC, batch)
    assert await log.last_seq(CLINIC) == 0


async def test_keys_and_seqs_belong_to_one_clinic(open_log: Opener) -> None:
    log = await open_log()
    await log.append(CLINIC, record(1, key="tap-1"))
    await log.append("hillside", record(1, key="tap-1"))
    assert await log.last_seq("hillside") == 1
    assert await log.read("hillside", 0) == [event(1)]


async def test_seq_and_receipts_survive_a_reopen(open_log: Opener) -> None:
    log = await open_log()
    first = record(1, key="tap-1")
    await log.append(CLINIC, first)
    await log.append(CLINIC, record(2, key="tap-2"))
    await log.close()

    log = await open_log()
    assert await log.last_seq(CLINIC) == 2
    assert await log.receipt(CLINIC, "tap-1") == first.receipt
    with pytest.raises(KeyTaken):
        await log.append(CLINIC, Record(event(3), receipt("tap-1", 3, fingerprint="other")))
    with pytest.raises(SeqTaken):
        await log.append(CLINIC, record(2))
    await log.append(CLINIC, record(3))
    assert [e.seq for e in await log.read(CLINIC, 0)] == [1, 2, 3]


async def test_two_writers_on_one_log_never_both_take_a_seq(open_log: Opener) -> None:
    a, b = await open_log(), await open_log()
    await a.append(CLINIC, record(1))
    if isinstance(a, EmbeddedLog):
        b = a  # one process owns the embedded files; its writers share one log object
    attempts = [(a if i % 2 else b, record(2, actor=f"tablet-{i}")) for i in range(20)]
    results = await asyncio.gather(*(log.append(CLINIC, r) for log, r in attempts), return_exceptions=True)
    winners = [r for (_, r), result in zip(attempts, results, strict=True) if result is None]
    assert len(winners) == 1
    assert all(isinstance(x, SeqTaken) and x.last_seq == 2 for x in results if x is not None)
    assert await (await open_log()).read(CLINIC, 0) == [event(1), winners[0].event]


async def test_a_writer_behind_is_refused_with_the_events_it_missed_when_the_log_can_say_them(open_log: Opener) -> None:
    """A shared log (Redis) says, in its refusal, the events stored from the refused seq on (at most MISSED),
    so the writer folds them in without reading the log; a log that does not say them gives None."""
    log = await open_log()
    for seq in (1, 2, 3):
        await log.append(CLINIC, record(seq))
    with pytest.raises(SeqTaken) as behind:
        await log.append(CLINIC, record(2, actor="other-server"))
    with pytest.raises(SeqTaken) as ahead:
        await log.append(CLINIC, record(5, actor="other-server"))
    with pytest.raises(SeqTaken) as invalid:
        await log.append(CLINIC, record(0, actor="other-server"))
    if log.shared:
        assert behind.value.missed == [event(2), event(3)]
    else:
        assert behind.value.missed is None
    assert behind.value.last_seq == ahead.value.last_seq == invalid.value.last_seq == 3
    assert ahead.value.missed is None and invalid.value.missed is None
    assert await log.read(CLINIC, 0) == [event(1), event(2), event(3)]


async def test_a_writer_far_behind_is_refused_without_the_events(open_log: Opener) -> None:
    log = await open_log()
    await log.append_all(CLINIC, [record(seq) for seq in range(1, MISSED + 3)])
    with pytest.raises(SeqTaken) as far:
        await log.append(CLINIC, record(1, actor="other-server"))
    assert far.value.missed is None and far.value.last_seq == MISSED + 2
    with pytest.raises(SeqTaken) as near:
        await log.append(CLINIC, record(3, actor="other-server"))
    assert near.value.missed == ([event(seq) for seq in range(3, MISSED + 3)] if log.shared else None)


async def test_read_day_replays_one_day_with_the_seq_before_it(open_log: Opener) -> None:
    d1, d3 = DAY, DAY + dt.timedelta(days=2)
    first = [event(s, day=d1) for s in (1, 2, 3)]
    third = [event(s, day=d3) for s in (4, 5)]
    log = await open_log()
    for e in first + third:
        await log.append(CLINIC, Record(e))
    for reader in (log, await open_log()):
        assert await reader.read_day(CLINIC, d1 - dt.timedelta(days=1)) == (0, [])
        assert await reader.read_day(CLINIC, d1) == (0, first)
        assert await reader.read_day(CLINIC, d1 + dt.timedelta(days=1)) == (3, [])
        assert await reader.read_day(CLINIC, d3) == (3, third)
        assert await reader.read_day(CLINIC, d3 + dt.timedelta(days=1)) == (5, [])


async def test_days_lists_the_days_held_oldest_first_and_not_the_pruned(open_log: Opener) -> None:
    d1, d3, d4 = DAY, DAY + dt.timedelta(days=2), DAY + dt.timedelta(days=3)
    log = await open_log()
    assert await log.days(CLINIC) == []
    for s, day in ((1, d1), (2, d1), (3, d3), (4, d4)):
        await log.append(CLINIC, Record(event(s, day=day)))
    for reader in (log, await open_log()):
        assert await reader.days(CLINIC) == [d1, d3, d4]
        assert await reader.days("elsewhere") == []
    assert await log.prune(CLINIC, d3) == [d1]
    assert await (await open_log()).days(CLINIC) == [d3, d4]


async def test_read_since_resumes_with_exactly_the_later_events(open_log: Opener) -> None:
    events = [event(s, day=DAY + dt.timedelta(days=(s - 1) // 3)) for s in range(1, 9)]
    log = await open_log()
    for e in events:
        await log.append(CLINIC, Record(e))
    for reader in (log, await open_log()):
        for since in range(len(events)):
            assert await reader.read(CLINIC, since) == events[since:], since
        assert await reader.read(CLINIC, 8) == []
        assert await reader.read(CLINIC, 50) == []


async def test_tail_returns_at_once_what_is_there_and_waits_for_what_is_not(open_log: Opener) -> None:
    log = await open_log()
    await log.append(CLINIC, record(1))
    assert await log.tail(CLINIC, 0, wait=5) == [event(1)]
    assert await log.tail(CLINIC, 1, wait=0.05) == []

    writer = await open_log() if not isinstance(log, EmbeddedLog) else log
    waiting = asyncio.ensure_future(log.tail(CLINIC, 1, wait=5))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await writer.append(CLINIC, record(2))
    assert await asyncio.wait_for(waiting, 5) == [event(2)]


async def test_a_large_day_reads_back_whole(open_log: Opener) -> None:
    log = await open_log()
    for s in range(1, 6_001):
        await log.append(CLINIC, Record(event(s)))
    base, events = await (await open_log()).read_day(CLINIC, DAY)
    assert base == 0 and [e.seq for e in events] == list(range(1, 6_001))
    assert [e.seq for e in await log.read(CLINIC, 5_990)] == list(range(5_991, 6_001))


async def test_prune_deletes_the_days_before_and_keeps_the_rest_and_the_seq(open_log: Opener) -> None:
    days = [DAY + dt.timedelta(days=n) for n in range(4)]
    events = [event(s, day=days[(s - 1) // 2]) for s in range(1, 9)]  # two events a day
    log = await open_log()
    for e in events:
        await log.append(CLINIC, Record(e))
    assert await log.prune(CLINIC, days[2]) == days[:2]
    assert await log.prune(CLINIC, days[2]) == []  # nothing left to prune
    for reader in (log, await open_log()):
        assert (await reader.read_day(CLINIC, days[0]))[1] == []
        assert (await reader.read_day(CLINIC, days[1]))[1] == []
        assert await reader.read_day(CLINIC, days[2]) == (4, events[4:6])
        assert await reader.read_day(CLINIC, days[3]) == (6, events[6:])
        assert await reader.last_seq(CLINIC) == 8
        assert await reader.read(CLINIC, 0) is None  # the log no longer holds the first events
        assert await reader.read(CLINIC, 4) == events[4:]
    await log.append(CLINIC, record(9, day=days[3]))
    assert await log.prune("elsewhere", days[3]) == []


async def test_prune_keeps_the_day_of_the_last_event_whatever_the_date(open_log: Opener) -> None:
    later = DAY + dt.timedelta(days=1)
    log = await open_log()
    for s in (1, 2):
        await log.append(CLINIC, Record(event(s, day=DAY)))
    await log.append(CLINIC, Record(event(3, day=later)))
    assert await log.prune(CLINIC, later + dt.timedelta(days=30)) == [DAY]
    reopened = await open_log()
    assert await reopened.last_seq(CLINIC) == 3
    assert await reopened.read_day(CLINIC, later) == (2, [event(3, day=later)])
    await reopened.append(CLINIC, record(4, day=later))  # seqs carry on after a restart
    with pytest.raises(SeqTaken):
        await reopened.append(CLINIC, record(1, day=later))


async def test_presence_taps_and_their_undo_read_back_as_they_were_stored(open_log: Opener) -> None:
    """Provider presence events (issue 16) round-trip on every backend, after a reopen too."""
    log = await open_log()
    base = event(1)
    presence = [
        msgspec.structs.replace(base, seq=2, version=1, change=ProviderPresence("kim", Presence.stepped_away, 30)),
        msgspec.structs.replace(base, seq=3, version=2, change=ProviderPresence("kim", Presence.back)),
        msgspec.structs.replace(base, seq=4, version=3, change=PresenceUndone("kim", 3, Presence.back)),
        msgspec.structs.replace(base, seq=5, version=1, change=ProviderPresence("okafor", Presence.running_late)),
    ]
    await log.append(CLINIC, record(1))
    for e in presence:
        await log.append(CLINIC, Record(e))
    assert await log.read(CLINIC, 0) == [base, *presence]
    again = await open_log()
    assert await again.read_day(CLINIC, DAY) == (0, [base, *presence])


async def test_a_shared_log_refuses_an_append_after_another_event_than_the_writer_holds(open_log: Opener) -> None:
    """`held`: the mark of the event the writer holds before its append. A shared log (Redis) whose event there is
    another (a failover lost the writer's, another server stored its own) refuses with Diverged and stores nothing;
    reading or following from there says the same. A log only this process writes has nothing to check."""
    log = await open_log()
    await log.append(CLINIC, record(1))
    await log.append(CLINIC, record(2), mark(record(1).event))
    lost = record(2, actor="ma-lost").event  # what the writer folded at seq 2, that the log no longer holds
    if log.shared:
        with pytest.raises(Diverged) as diverged:
            await log.append_all(CLINIC, [record(3), record(4)], mark(lost))
        assert diverged.value.seq == 2
        assert await log.last_seq(CLINIC) == 2
        with pytest.raises(Diverged):
            await log.read(CLINIC, 1, mark(record(1, actor="ma-lost").event))
    await log.append_all(CLINIC, [record(3), record(4)], mark(record(2).event))
    await log.append(CLINIC, record(5))  # a writer that holds nothing today checks nothing
    assert [e.seq for e in await log.read(CLINIC, 0)] == [1, 2, 3, 4, 5]
    assert [e.seq for e in await log.read(CLINIC, 3, mark(record(3).event))] == [4, 5]
    assert [e.seq for e in await log.tail(CLINIC, 3, 0.1, mark(record(3).event))] == [4, 5]
    if log.shared:
        with pytest.raises(Diverged):  # within a batch, each record follows the one before it
            await log.tail(CLINIC, 3, 0.1, mark(lost))
        with pytest.raises(Diverged):  # a writer behind is refused so, not handed events to fold on its own
            await log.append(CLINIC, record(3), mark(lost))
    # Whether the event at a seq is the one a reader folded: what a refused tap asks before it is refused.
    assert await log.holds(CLINIC, 2, mark(record(2).event))
    assert await log.holds(CLINIC, 2, mark(lost)) is not log.shared
    assert await log.holds(CLINIC, 9, mark(lost)) is not log.shared  # the log has no seq 9
    assert await log.holds(CLINIC, 2, "")  # nothing to tell by
