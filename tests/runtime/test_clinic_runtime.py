"""One clinic's runtime over a real embedded log: taps, retries, races, restarts, catch-up, midnight, fan-out."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import msgspec
import pytest

from floor.clock import ManualClock
from floor.core.commands import BookVisit, Command, MarkRoom, TakeStep, Tap, UndoStep
from floor.core.errors import Refusal, Why
from floor.core.journey import Stage
from floor.core.projection import visit_plan
from floor.core.rooms import RoomAction, RoomState
from floor.fanout import RESYNC, Hub, Subscriber, Written
from floor.log.base import LogUnavailable, Receipt, Record, SeqTaken
from floor.log.embedded import EmbeddedLog
from floor.runtime import Answer, ClinicRuntime, Idempotency
from floor.web.http import tap_answer
from floor.wire import Audience, RoomAnswer, VisitAnswer, encode
from tests.support.answers import answered
from tests.support.clinics import quiet_clinic
from tests.support.waiting import until

pytestmark = pytest.mark.anyio

CLINIC = "riverside"
START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in Chicago (CST, UTC-6)
MIDNIGHT = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)  # 00:00 on the 24th in Chicago
STAFF = Audience.staff


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def started(
    data_dir: Path,
    *,
    clock: ManualClock | None = None,
    hub: Hub | None = None,
    event_log: EmbeddedLog | None = None,
    retain: int = 50_000,
) -> ClinicRuntime:
    event_log = event_log or EmbeddedLog(data_dir)
    await event_log.open()
    runtime = ClinicRuntime(quiet_clinic(), event_log, clock or ManualClock(START), hub or Hub(), retain=retain)
    await runtime.start()
    return runtime


def walk_in(name: str = "Ann Lee") -> BookVisit:
    return BookVisit(name, "kim", "follow", walk_in=True)


def step(visit: str, stage: Stage, room: str | None = None) -> TakeStep:
    return TakeStep(visit, stage, room=room)


async def tap(runtime: ClinicRuntime, command: Command, idem: Idempotency | None = None) -> dict:
    answer = await runtime.handle(command, "ma-rosa", "tablet-1", idem)
    await asyncio.sleep(0)  # the update goes to the screens once the answer is on its way
    return answered(runtime, command, answer)


def queued(sub: Subscriber) -> list[tuple[int, dict | None]]:
    """Drain what is queued for a screen: (seq, message), with RESYNC as (-1, None)."""
    items = []
    while sub.queue:
        seq, text = sub.queue.popleft()
        items.append((seq, json.loads(text) if text else None))
    return items


def board(runtime: ClinicRuntime) -> dict:
    state = msgspec.to_builtins(runtime.board())
    del state["now"]
    return state


# -- taps --------------------------------------------------------------------------------------------------


async def test_a_tap_is_stored_answered_and_sent_to_every_screen(tmp_path: Path) -> None:
    runtime = await started(tmp_path)
    sub = runtime.hub.subscribe(CLINIC, STAFF)

    answer = await runtime.handle(walk_in(), "front-desk", "kiosk-2")
    assert not answer.replayed
    assert not sub.queue  # answered first: the screens get it once the answer is on its way
    await asyncio.sleep(0)
    booked = answered(runtime, walk_in(), answer)
    assert booked["seq"] == 1
    assert booked["event"]["change"]["type"] == "visit_booked"
    assert booked["event"]["actor"] == "front-desk" and booked["event"]["device"] == "kiosk-2"
    assert booked["event"]["at"] == "2026-11-23T15:00:00Z" and booked["event"]["day"] == "2026-11-23"
    visit = booked["visit"]["id"]
    assert booked["visit"]["stage"] == "arrived" and booked["visit"]["patient_name"] == "Ann Lee"

    runtime.clock.advance(minutes=4)
    roomed = await tap(runtime, step(visit, Stage.roomed, "e2"))
    assert roomed["seq"] == 2
    assert roomed["visit"]["stage"] == "roomed" and roomed["visit"]["room"] == "e2"
    assert roomed["visit"]["version"] == 2

    (first, m1), (second, m2) = queued(sub)
    assert (first, m1["kind"], m1["seq"], m1["visit"]["stage"]) == (1, "event", 1, "arrived")
    assert (second, m2["kind"], m2["seq"]) == (2, "event", 2)
    assert m2["event"] == roomed["event"] and m2["visit"] == roomed["visit"]
    assert [(r["id"], r["state"], r["visit"]) for r in m2["rooms"]] == [("e2", "occupied", visit)]

    assert await runtime.log.last_seq(CLINIC) == 2
    assert runtime.floor.visits[visit].stage is Stage.roomed
    assert runtime.floor.rooms["e2"].state is RoomState.occupied


async def test_a_refused_tap_writes_nothing_and_sends_nothing(tmp_path: Path) -> None:
    runtime = await started(tmp_path)
    visit = (await tap(runtime, walk_in()))["visit"]["id"]
    sub = runtime.hub.subscribe(CLINIC, STAFF)
    for command, why in [
        (step(visit, Stage.checked_out), Why.illegal_step),
        (step(visit, Stage.roomed, "nowhere"), Why.invalid),
        (step("v99", Stage.arrived), Why.not_found),
        (BookVisit("Bo", "nobody", "follow", walk_in=True), Why.invalid),
    ]:
        with pytest.raises(Refusal) as refused:
            await runtime.handle(command, "ma", "t1")
        assert refused.value.why is why
    assert await runtime.log.last_seq(CLINIC) == 1
    assert runtime.floor.seq == 1
    assert queued(sub) == []


# -- retries ----------------------------------------------------------------------------------------------


async def test_a_retry_with_the_same_key_gets_the_same_answer_and_appends_once(tmp_path: Path) -> None:
    runtime = await started(tmp_path)
    sub = runtime.hub.subscribe(CLINIC, STAFF)
    idem = Idempotency("tablet-1:0001", "sha256:book-ann")
    first = await runtime.handle(walk_in(), "ma", "t1", idem)
    runtime.clock.advance(seconds=30)
    again = await runtime.handle(walk_in(), "ma", "t1", idem)
    assert again == first._replace(replayed=True)
    assert not first.replayed
    assert await runtime.log.last_seq(CLINIC) == 1
    assert [seq for seq, _ in queued(sub)] == [1]

    # A retried step gets its answer too, though taking the step again would now be refused.
    visit = first.touched.visit.id
    room_idem = Idempotency("tablet-1:0002", "sha256:room-ann")
    roomed = await runtime.handle(step(visit, Stage.roomed, "e1"), "ma", "t1", room_idem)
    replayed = roomed._replace(replayed=True)
    assert await runtime.handle(step(visit, Stage.roomed, "e1"), "ma", "t1", room_idem) == replayed
    assert await runtime.log.last_seq(CLINIC) == 2

    # Later taps do not disturb them, nor does a restart.
    await tap(runtime, walk_in("Bo Chen"))
    await runtime.log.close()
    restarted = await started(tmp_path)
    assert await restarted.handle(walk_in(), "ma", "t1", idem) == first._replace(replayed=True)
    assert await restarted.handle(step(visit, Stage.roomed, "e1"), "ma", "t1", room_idem) == replayed
    assert await restarted.log.last_seq(CLINIC) == 3
    assert [v.patient_name for v in restarted.floor.visits.values()] == ["Ann Lee", "Bo Chen"]


async def test_a_receipt_stored_as_the_answers_bytes_by_an_older_server_still_answers_its_retry(tmp_path: Path) -> None:
    """Receipts used to keep the HTTP answer itself; they now keep the event and what it touched. A retry of a
    tap stored before still gets that first answer, byte for byte."""
    runtime = await started(tmp_path)
    book, block = walk_in(), MarkRoom("w2", RoomAction.blocked, "leak")
    stored = []
    for n, command in enumerate([book, block], 1):
        event = runtime.floor.decide(command, Tap("ma", "t1", START))
        touched = runtime.floor.preview(event)
        if isinstance(command, BookVisit):
            first = VisitAnswer(event.seq, event, touched.visit, visit_plan(touched.visit, runtime.clinic))
        else:
            first = RoomAnswer(event.seq, event, touched.rooms[0])
        body = encode(first)
        receipt = Receipt(f"key-{n}", "sha256:first", 201, msgspec.Raw(body))
        await runtime.log.append(CLINIC, Record(event, receipt))
        runtime.writer.fold(event)
        stored.append((command, receipt.key, body))
    await runtime.log.close()

    restarted = await started(tmp_path)
    for command, key, body in stored:
        again = await restarted.handle(command, "ma", "t1", Idempotency(key, "sha256:first"))
        assert again.replayed
        assert encode(tap_answer(command, again, restarted.clinic)) == body
    assert await restarted.log.last_seq(CLINIC) == 2


async def test_a_key_reused_for_another_request_is_refused(tmp_path: Path) -> None:
    runtime = await started(tmp_path)
    await runtime.handle(walk_in(), "ma", "t1", Idempotency("k", "fingerprint-a"))
    with pytest.raises(Refusal) as refused:
        await runtime.handle(walk_in("Bo Chen"), "ma", "t1", Idempotency("k", "fingerprint-b"))
    assert refused.value.why is Why.invalid
    assert refused.value.field == "Idempotency-Key"
    assert await runtime.log.last_seq(CLINIC) == 1
    assert [v.patient_name for v in runtime.floor.visits.values()] == ["Ann Lee"]


# -- races ------------------------------------------------------------------------------------------------


async def test_two_racing_arrivals_on_one_visit_store_exactly_one(tmp_path: Path) -> None:
    runtime = await started(tmp_path)
    booked = await tap(runtime, BookVisit("Ann Lee", "kim", "follow", start=START + dt.timedelta(minutes=30)))
    visit = booked["visit"]["id"]
    assert booked["visit"]["stage"] == "scheduled"

    results = await asyncio.gather(
        *(runtime.handle(step(visit, Stage.arrived), "ma", f"t{i}") for i in (1, 2)), return_exceptions=True
    )
    answers = [r for r in results if isinstance(r, Answer)]
    refusals = [r for r in results if isinstance(r, Refusal)]
    assert len(answers) == 1 and len(refusals) == 1, results
    assert refusals[0].why is Why.illegal_step
    assert answers[0].event.seq == 2
    assert await runtime.log.last_seq(CLINIC) == 2
    assert [e.type for e in runtime.history(visit).events] == ["booked", "arrived"]


async def test_two_visits_roomed_into_one_room_only_one_gets_it(tmp_path: Path) -> None:
    runtime = await started(tmp_path)
    visits = [(await tap(runtime, walk_in(name)))["visit"]["id"] for name in ("Ann Lee", "Bo Chen")]
    results = await asyncio.gather(
        *(runtime.handle(step(v, Stage.roomed, "w1"), "ma", "t1") for v in visits), return_exceptions=True
    )
    won = [v for v, r in zip(visits, results, strict=True) if isinstance(r, Answer)]
    refusals = [r for r in results if isinstance(r, Refusal)]
    assert len(won) == 1 and len(refusals) == 1, results
    assert refusals[0].why is Why.room_unavailable
    assert refusals[0].detail["room_state"] == "occupied"
    assert await runtime.log.last_seq(CLINIC) == 3
    assert runtime.floor.rooms["w1"].visit == won[0]
    loser = next(v for v in visits if v not in won)
    assert runtime.floor.visits[loser].stage is Stage.arrived and runtime.floor.visits[loser].room is None


class SharedLog(EmbeddedLog):
    """One log two servers write to (as Redis is): each server's floor follows it a moment late."""

    shared = True


async def test_a_step_another_server_made_possible_is_taken_not_refused_by_a_floor_behind_the_log(
    tmp_path: Path,
) -> None:
    shared = SharedLog(tmp_path)
    a = await started(tmp_path, event_log=shared)
    b = await started(tmp_path, event_log=shared)  # not following: behind whatever `a` stores
    visit = (await tap(a, walk_in()))["visit"]["id"]
    await tap(a, step(visit, Stage.roomed, "e1"))
    await tap(a, TakeStep(visit, Stage.left_without_being_seen))
    assert b.floor.seq == 0
    # The room is in turnover on the log; `b` still holds an empty floor. Before, `b` answered 404 (and, once it
    # knew the visit but not that it left, 409 for marking the room ready).
    marked = await tap(b, MarkRoom("e1", RoomAction.ready))
    assert marked["seq"] == 4 and marked["room"]["state"] == "ready"
    assert b.floor.rooms["e1"].state is RoomState.ready
    # A step the whole log refuses is still refused, and nothing is stored.
    with pytest.raises(Refusal) as refused:
        await b.handle(step(visit, Stage.arrived), "ma", "t1")
    assert refused.value.why is Why.illegal_step
    assert await shared.last_seq(CLINIC) == 4


class RefusingWithWhatWasMissed(SharedLog):
    """A shared log whose refusal of a seq says the events stored since, as the Redis log's does (or says
    events that do not run on from the writer's floor, `off_by`); it counts the reads the writer makes."""

    def __init__(self, path: Path, off_by: int = 0) -> None:
        super().__init__(path)
        self.off_by = off_by
        self.reads = 0

    async def append_all(self, clinic: str, records, held: str = "") -> None:
        try:
            await super().append_all(clinic, records, held)
        except SeqTaken as taken:
            stored = await super().read(clinic, records[0].event.seq - 1 + self.off_by) or []
            raise SeqTaken(clinic, records[0].event.seq, taken.last_seq, stored) from None

    async def read(self, clinic: str, since: int, held: str = ""):
        self.reads += 1
        return await super().read(clinic, since, held)


@pytest.mark.parametrize("off_by", [0, 1])
async def test_a_tap_refused_because_another_server_appended_first_folds_in_what_the_refusal_said(
    tmp_path: Path, off_by: int
) -> None:
    shared = RefusingWithWhatWasMissed(tmp_path, off_by)
    a = await started(tmp_path, event_log=shared)
    b = await started(tmp_path, event_log=shared)  # not following: behind whatever `a` stores
    visit = (await tap(a, walk_in()))["visit"]["id"]
    await tap(a, step(visit, Stage.roomed, "e1"))
    shared.reads = 0
    # `b` decides on an empty floor, is refused seq 1, folds in the two events and books at seq 3.
    assert (await tap(b, walk_in("Bo Chen")))["seq"] == 3
    # The events the refusal brought are folded without reading the log; events that do not run on from
    # `b`'s floor are not trusted, and `b` reads the log as before.
    assert shared.reads == off_by
    assert b.events == await shared.read(CLINIC, 0)
    assert b.floor.rooms["e1"].state is RoomState.occupied
    # `a` is behind in turn: refused, it folds in `b`'s walk-in and books at seq 4, and so on.
    assert (await tap(a, walk_in("Cy Diaz")))["seq"] == 4
    assert (await tap(b, MarkRoom("w2", RoomAction.blocked, "leak")))["seq"] == 5
    assert (await tap(a, MarkRoom("w2", RoomAction.unblocked)))["seq"] == 6  # a step only the log makes possible
    assert a.events == await shared.read(CLINIC, 0)
    assert [e.seq for e in a.events] == [1, 2, 3, 4, 5, 6]
    assert a.floor.rooms["w2"].state is RoomState.ready


# -- restarts and catch-up --------------------------------------------------------------------------------


async def _a_busy_morning(runtime: ClinicRuntime) -> list[str]:
    visits = [(await tap(runtime, walk_in(name)))["visit"]["id"] for name in ("Ann Lee", "Bo Chen", "Cy Diaz")]
    later = BookVisit("Di Ek", "okafor", "new", start=START + dt.timedelta(hours=2))
    visits.append((await tap(runtime, later))["visit"]["id"])
    for stage, room in [
        (Stage.roomed, "e1"),
        (Stage.prep_done, None),
        (Stage.provider_in, None),
        (Stage.checked_out, None),
    ]:
        runtime.clock.advance(minutes=7)
        await tap(runtime, step(visits[0], stage, room))
    await tap(runtime, MarkRoom("e1", RoomAction.ready))
    await tap(runtime, step(visits[1], Stage.roomed, "e3"))
    await tap(runtime, UndoStep(visits[1]))
    await tap(runtime, step(visits[1], Stage.roomed, "e4"))
    await tap(runtime, MarkRoom("w2", RoomAction.blocked, "leak"))
    await tap(runtime, step(visits[2], Stage.left_without_being_seen))
    return visits


async def test_a_restarted_runtime_rebuilds_the_same_board(tmp_path: Path) -> None:
    runtime = await started(tmp_path)
    await _a_busy_morning(runtime)
    before = board(runtime)
    assert before["seq"] == 14 and len(before["visits"]) == 4
    sent_before = runtime.catch_up(5, STAFF)
    await runtime.log.close()

    later = runtime.clock.now() + dt.timedelta(minutes=5)
    restarted = await started(tmp_path, clock=ManualClock(later))
    after = board(restarted)
    # A provider on time now and from now on is back on time now: the restart's clock is 5 minutes on.
    for delay in before["delays"]:
        if delay["lateness"] == 0 and delay["recovers_at"] is not None:
            delay["recovers_at"] = msgspec.to_builtins(later)
    assert after == before
    assert restarted.events == runtime.events
    assert restarted.catch_up(5, STAFF) == sent_before  # the same texts a screen would have got
    # And it carries on from there.
    assert (await tap(restarted, walk_in("Ed Fu")))["seq"] == 15


async def test_catch_up_sends_exactly_the_missed_events_or_a_snapshot(tmp_path: Path) -> None:
    runtime = await started(tmp_path)
    sub = runtime.hub.subscribe(CLINIC, STAFF)
    await _a_busy_morning(runtime)
    live = queued(sub)
    seq = runtime.floor.seq
    assert [s for s, _ in live] == list(range(1, seq + 1))

    (snapshot,) = runtime.catch_up(None, STAFF)
    message = json.loads(snapshot[1])
    assert snapshot[0] == seq and message["kind"] == "snapshot" and message["seq"] == seq
    del message["board"]["now"]
    assert message["board"] == board(runtime)

    ((zero, text),) = runtime.catch_up(seq, STAFF)  # in step: a heartbeat says so at once
    assert zero == 0 and json.loads(text)["kind"] == "heartbeat" and json.loads(text)["seq"] == seq
    for k in range(1, seq):
        items = runtime.catch_up(k, STAFF)
        assert [s for s, _ in items] == list(range(k + 1, seq + 1)), k
        assert [json.loads(text) for _, text in items] == [m for _, m in live[k:]], k
    for since in (seq + 1, seq + 1000):
        assert json.loads(runtime.catch_up(since, STAFF)[0][1])["kind"] == "snapshot"


async def test_catch_up_from_before_the_retained_events_is_a_snapshot(tmp_path: Path) -> None:
    runtime = await started(tmp_path, retain=4)
    await _a_busy_morning(runtime)
    seq = runtime.floor.seq
    assert [s for s, _ in runtime.catch_up(seq - 4, STAFF)] == list(range(seq - 3, seq + 1))
    for since in (1, seq - 5):
        (item,) = runtime.catch_up(since, STAFF)
        assert json.loads(item[1])["kind"] == "snapshot" and item[0] == seq


# -- midnight ---------------------------------------------------------------------------------------------


async def test_the_day_rolls_over_at_midnight_clinic_time_on_the_tick(tmp_path: Path) -> None:
    runtime = await started(tmp_path)
    sub = runtime.hub.subscribe(CLINIC, STAFF)
    manager = runtime.hub.subscribe(CLINIC, Audience.manager)
    visits = await _a_busy_morning(runtime)
    seq = runtime.floor.seq
    await tap(runtime, step(visits[3], Stage.arrived))
    await tap(runtime, step(visits[3], Stage.roomed, "w3"))  # still in a room at midnight
    seq += 2
    queued(sub)
    queued(manager)

    runtime.clock.set(MIDNIGHT - dt.timedelta(seconds=1))
    runtime.tick()
    assert runtime.floor.day == dt.date(2026, 11, 23)
    assert [m["kind"] for _, m in queued(sub)] == ["heartbeat", "delays"]  # measures are for managers
    assert [m["kind"] for _, m in queued(manager)] == ["heartbeat", "measures"]

    runtime.clock.set(MIDNIGHT)
    runtime.tick()
    assert runtime.floor.day == dt.date(2026, 11, 24)
    assert runtime.floor.seq == seq
    assert runtime.floor.visits == {} and runtime.events == []
    assert {r.state for r in runtime.floor.rooms.values()} == {RoomState.ready}
    assert queued(sub) == [(-1, None)]  # RESYNC: every screen gets a fresh snapshot
    snapshot = json.loads(runtime.snapshot(STAFF)[1])
    assert snapshot["board"]["day"] == "2026-11-24" and snapshot["board"]["visits"] == []

    runtime.clock.advance(hours=8)
    answer = await tap(runtime, walk_in("Early Bird"))
    assert answer["seq"] == seq + 1 and answer["event"]["day"] == "2026-11-24"
    assert runtime.floor.visits.keys() == {answer["visit"]["id"]}
    assert answer["event"]["change"]["visit"] == answer["visit"]["id"]
    assert await runtime.log.read_day(CLINIC, dt.date(2026, 11, 24)) == (seq, runtime.events)
    base, yesterday = await runtime.log.read_day(CLINIC, dt.date(2026, 11, 23))
    assert base == 0 and len(yesterday) == seq


class GatedLog(EmbeddedLog):
    """An embedded log whose appends wait until the test lets them through (a slow disk)."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def append_all(self, clinic: str, records, held: str = "") -> None:
        self.entered.set()
        await self.gate.wait()
        await super().append_all(clinic, records, held)


@pytest.mark.parametrize("in_flight", ["booking", "step"])
async def test_midnight_during_a_tap_in_flight_keeps_that_tap_in_its_own_day(tmp_path: Path, in_flight: str) -> None:
    gated = GatedLog(tmp_path)
    gated.gate.set()
    runtime = await started(tmp_path, event_log=gated, clock=ManualClock(MIDNIGHT - dt.timedelta(minutes=5)))
    visit = (await tap(runtime, walk_in()))["visit"]["id"]
    gated.gate.clear()
    gated.entered.clear()
    command = walk_in("Late Larry") if in_flight == "booking" else step(visit, Stage.roomed, "e1")
    pending = asyncio.create_task(runtime.handle(command, "ma", "t1"))
    await gated.entered.wait()

    runtime.clock.set(MIDNIGHT + dt.timedelta(seconds=1))
    runtime.tick()
    gated.gate.set()
    answer = answered(runtime, command, await pending)
    assert answer["seq"] == 2 and answer["event"]["day"] == "2026-11-23"

    runtime.tick()
    assert runtime.floor.day == dt.date(2026, 11, 24)
    assert runtime.floor.visits == {}, "yesterday's tap was folded into today's board"
    assert {r.state for r in runtime.floor.rooms.values()} == {RoomState.ready}
    assert await runtime.log.read_day(CLINIC, dt.date(2026, 11, 24)) == (2, [])
    assert (await tap(runtime, walk_in("Early Bird")))["seq"] == 3
    restarted = await started(tmp_path, clock=ManualClock(runtime.clock.now()))
    assert board(restarted) == board(runtime)


# -- fan-out ----------------------------------------------------------------------------------------------


async def test_a_slow_screen_is_resynced_and_never_holds_up_the_others(tmp_path: Path) -> None:
    runtime = await started(tmp_path, hub=Hub(queue_limit=3))
    slow = runtime.hub.subscribe(CLINIC, STAFF)
    fast = runtime.hub.subscribe(CLINIC, STAFF)
    got: list[int] = []
    for i in range(6):
        await tap(runtime, walk_in(f"Patient {i}"))
        got.append((await fast.next())[0])
    assert got == [1, 2, 3, 4, 5, 6]
    assert slow.resyncs == 1
    assert await slow.next() is RESYNC
    assert not slow.queue  # the snapshot it now fetches covers everything up to here
    snapshot = json.loads(runtime.snapshot(STAFF)[1])
    assert snapshot["seq"] == 6 and len(snapshot["board"]["visits"]) == 6

    for i in range(2):
        await tap(runtime, walk_in(f"Later {i}"))
    assert [(await slow.next())[0] for _ in range(2)] == [7, 8]
    assert [(await fast.next())[0] for _ in range(2)] == [7, 8]
    assert not fast.queue and fast.resyncs == 0


class TakingWire:
    """A socket that takes every frame straight away (the direct, framed-once path)."""

    shares_frames = True

    def __init__(self) -> None:
        self.seqs: list[int] = []

    def write(self, frame: bytes) -> Written:
        self.seqs.append(json.loads(frame[4:] if frame[1] & 0x7F == 126 else frame[2:])["seq"])
        return Written.sent

    def cut(self, code: int, reason: str) -> None:
        raise AssertionError("not too slow")


async def test_a_screen_joining_between_a_taps_answer_and_its_fan_out_gets_that_update_once(tmp_path: Path) -> None:
    runtime = await started(tmp_path)
    await tap(runtime, walk_in("Ann Lee"))
    answer = await runtime.handle(walk_in("Bo Chen"), "ma", "t1")
    assert answer.event.seq == 2 and runtime.floor.seq == 2  # folded and answered, not sent yet

    fresh, resuming, in_step = (runtime.hub.subscribe(CLINIC, STAFF) for _ in range(3))
    direct = runtime.hub.subscribe(CLINIC, STAFF, wire=TakingWire())
    runtime.join(fresh, None)
    runtime.join(resuming, 1)
    runtime.join(in_step, 2)
    runtime.join(direct, 1)
    assert [seq for seq, _ in queued(direct)] == [2]  # its sender wrote the catch-up: the queue is empty again
    await asyncio.sleep(0)  # the fan-out of seq 2

    (snapshot,) = queued(fresh)
    assert snapshot[0] == 2 and snapshot[1]["kind"] == "snapshot" and len(snapshot[1]["board"]["visits"]) == 2
    assert [seq for seq, _ in queued(resuming)] == [2]
    assert [m["kind"] for _, m in queued(in_step)] == ["heartbeat"]
    assert direct.wire.seqs == []

    await tap(runtime, walk_in("Cy Diaz"))
    for sub in (fresh, resuming, in_step):
        assert [seq for seq, _ in queued(sub)] == [3]
    assert direct.wire.seqs == [3]


# -- cancellation -----------------------------------------------------------------------------------------


async def test_a_tap_whose_caller_goes_away_mid_write_is_still_folded_in(tmp_path: Path) -> None:
    gated = GatedLog(tmp_path)
    runtime = await started(tmp_path, event_log=gated)
    sub = runtime.hub.subscribe(CLINIC, STAFF)
    caller = asyncio.create_task(runtime.handle(walk_in(), "ma", "t1"))
    await gated.entered.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert runtime.floor.seq == 0
    gated.gate.set()
    await until(lambda: runtime.floor.seq == 1, "the stored tap to be folded in")
    assert [v.patient_name for v in runtime.floor.visits.values()] == ["Ann Lee"]
    assert [seq for seq, _ in queued(sub)] == [1]
    assert await gated.last_seq(CLINIC) == 1
    # The runtime is not left locked: the next tap goes through.
    assert (await tap(runtime, walk_in("Bo Chen")))["seq"] == 2


class UnreadableLog(EmbeddedLog):
    """A shared log that once hands back something this server cannot decode (a newer Floor's event)."""

    shared = True

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.tails = 0

    async def tail(self, clinic: str, after: int, wait: float, held: str = ""):
        self.tails += 1
        if self.tails == 1:
            raise msgspec.ValidationError("Invalid value 'visit_teleported' - at `$.change.type`")
        await asyncio.sleep(0.01)
        return []


async def test_a_follower_that_meets_an_event_it_cannot_read_says_so_and_goes_stale(tmp_path: Path) -> None:
    log = UnreadableLog(tmp_path)
    runtime = await started(tmp_path, event_log=log)
    follower = asyncio.create_task(runtime.follow(wait=0.01))
    try:
        for _ in range(100):
            if runtime.stale:
                break
            await asyncio.sleep(0.01)
        assert runtime.stale  # screens and /readyz say so; before, the follower died and nobody knew
        assert not follower.done()  # and it keeps trying
    finally:
        follower.cancel()
        with pytest.raises(asyncio.CancelledError):
            await follower


class OutageLog(SharedLog):
    """A shared log that cannot be reached until `back` is set, then reads as Redis's XREAD BLOCK does: with nothing
    new after `after`, it answers only once `wait` seconds have passed."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.back = asyncio.Event()

    async def tail(self, clinic: str, after: int, wait: float, held: str = ""):
        if not self.back.is_set():
            raise LogUnavailable("Redis is unreachable (ConnectionError)", maybe_stored=True)
        if (events := await self.read(clinic, after, held)) is None or events:
            return events
        await asyncio.sleep(wait)
        return []


async def test_a_clinic_is_in_step_again_as_soon_as_the_log_answers_not_after_a_quiet_wait(tmp_path: Path) -> None:
    # A failover with no tap after it: the follower's first read on the promoted master blocked its whole wait (5 s)
    # for a new event, the clinic stale meanwhile (its screens told they were out of step, /readyz 503) though
    # nothing was missed; with the backoff before it, a server stayed out of rotation 10 to 14 s after the
    # promotion while the other served (a review of Redis failovers).
    log = OutageLog(tmp_path)
    runtime = await started(tmp_path, event_log=log)
    follower = asyncio.create_task(runtime.follow())
    try:
        await until(lambda: runtime.stale, "the clinic to be stale while the log cannot be reached")
        log.back.set()
        await until(lambda: not runtime.stale, "the clinic to be in step once the log answers", tries=200, pause=0.01)
    finally:
        follower.cancel()
        with pytest.raises(asyncio.CancelledError):
            await follower


async def test_after_a_snapshot_at_a_lower_seq_the_screen_gets_the_updates_after_it(tmp_path: Path) -> None:
    # The log lost events this server had folded (a Redis without persistence restarted): the floor is reloaded
    # at a lower seq and every screen resynced. Updates after the new snapshot must reach them.
    hub = Hub()
    wall = hub.subscribe(CLINIC, STAFF, wire=TakingWire())
    hub.publish(CLINIC, 10, lambda _: '{"seq": 10}')
    assert wall.wire.seqs == [10] and wall.upto == 10
    hub.resync_all(CLINIC)
    assert await wall.next() is RESYNC
    wall.snapshot_at(3)  # as the live socket does when it sends the snapshot it fetched
    hub.publish(CLINIC, 4, lambda _: '{"seq": 4}')
    assert wall.wire.seqs == [10, 4]
