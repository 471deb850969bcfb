"""Rooms a manager sets from the browser, on the runtime, on both backends: every server on the log folds the change
in order and its clinic, walls and zones follow it; a new day, and a server started later (the next day, or the
same day), start from the rooms set, not the clinic file's, until a manager chooses the file's back."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import msgspec
import pytest
from structlog.testing import capture_logs

from floor.clock import ManualClock
from floor.close_codes import CLOSE_FORBIDDEN
from floor.config import Clinic, Provider, Room
from floor.core.access import Role
from floor.core.commands import BookVisit, SetProviders, SetRooms, TakeStep
from floor.core.journey import Stage
from floor.core.rooms import RoomState
from floor.fanout import RESYNC, Hub
from floor.floors import Floors
from floor.log.embedded import EmbeddedLog
from floor.log.redis import RedisLog
from floor.runtime import ClinicRuntime
from floor.schedule.upcoming import FileUpcoming, RedisUpcoming
from tests.support.clinics import quiet_clinic
from tests.support.floors import snapshot
from tests.support.redis_server import forget_prefix
from tests.support.staff import cheapen
from tests.support.waiting import until

pytestmark = pytest.mark.anyio

CLINIC = quiet_clinic()
MORNING = dt.datetime(2026, 11, 23, 9, 0, tzinfo=CLINIC.tz)
NEXT_MORNING = MORNING + dt.timedelta(days=1)
NORTH_1 = Room("n1", "North 1", "north")

Server = Callable[..., "Floors"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["embedded", "redis"])
async def server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Server]:
    """Each call: one more server (Floors) on the clinic's one storage, not started."""
    prefix = f"test-setup-{uuid.uuid4().hex[:10]}"
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    started: list[Floors] = []

    def make(clock: ManualClock, clinic: Clinic = CLINIC) -> Floors:
        if request.param == "embedded":
            event_log, kept = EmbeddedLog(tmp_path), FileUpcoming(tmp_path)
        else:
            event_log, kept = RedisLog(url, prefix=prefix), RedisUpcoming(url, prefix=prefix)
        floors = cheapen(Floors([clinic], event_log, clock, tick_seconds=3600, upcoming=kept))
        started.append(floors)
        return floors

    yield make
    for floors in started:
        if floors.started:
            await floors.stop()
    if request.param == "redis":
        await forget_prefix(url, prefix)


async def set_rooms(floors: Floors, rooms: list[Room], *, from_file: bool = False) -> None:
    runtime = floors.get(CLINIC.id)
    command = SetRooms(rooms, runtime.floor.setup_version, from_file)
    await runtime.handle(command, "mgr-dana", "console", role=Role.manager)
    await floors.keep_setup(runtime)


def added(*extra: Room, without: tuple[str, ...] = ()) -> list[Room]:
    return [r for r in CLINIC.rooms if r.id not in without] + list(extra)


def has_north_1(runtime: ClinicRuntime) -> None:
    room = runtime.floor.rooms["n1"]
    assert (room.label, room.zone) == ("North 1", "north")
    assert runtime.clinic.room("n1") == NORTH_1
    assert "north" in runtime.hallway.zones
    wall = msgspec.json.decode(runtime.snapshot("display:north")[1])
    assert [r["id"] for r in wall["board"]["rooms"]] == ["n1"]
    assert wall["setup"] == runtime.feed.setup


async def test_a_new_day_and_a_server_started_the_next_day_start_with_the_rooms_set(server: Server) -> None:
    clock = ManualClock(MORNING)
    floors = server(clock)
    await floors.start()
    runtime = floors.get(CLINIC.id)
    await set_rooms(floors, added(NORTH_1, without=("w5",)))
    has_north_1(runtime)
    assert "w5" not in runtime.floor.rooms
    # The next day on the running server: the new day's floor has the room, ready, and not the one taken out.
    clock.set(NEXT_MORNING)
    runtime.tick()
    assert runtime.floor.day == NEXT_MORNING.date()
    assert runtime.floor.rooms["n1"].state is RoomState.ready and "w5" not in runtime.floor.rooms
    has_north_1(runtime)
    await floors.stop()

    later = server(clock)
    await later.start()
    again = later.get(CLINIC.id)
    assert again.floor.day == NEXT_MORNING.date()
    has_north_1(again)
    assert "w5" not in again.floor.rooms
    assert again.floor.setup_version == runtime.floor.setup_version > 0
    assert [r.id for r in again.board().rooms] == [r.id for r in added(NORTH_1, without=("w5",))]


async def test_a_server_started_again_the_same_day_folds_the_day_as_the_one_that_ran_it(server: Server) -> None:
    clock = ManualClock(MORNING)
    floors = server(clock)
    await floors.start()
    runtime = floors.get(CLINIC.id)
    # A patient in West 5 before it is taken out: the day opened with it.
    walk_in = await runtime.handle(BookVisit("Ann Lee", "kim", "follow", walk_in=True), "desk-ana", "t1")
    visit = walk_in.event.change.visit
    await runtime.handle(TakeStep(visit, Stage.roomed, "w5"), "ma-ben", "t1")
    await runtime.handle(TakeStep(visit, Stage.left_without_being_seen), "ma-ben", "t1")
    await set_rooms(floors, added(NORTH_1, without=("w5",)))
    await runtime.handle(
        TakeStep(
            (
                await runtime.handle(BookVisit("Bo Park", "kim", "follow", walk_in=True), "desk-ana", "t1")
            ).event.change.visit,
            Stage.roomed,
            "n1",
        ),
        "ma-ben",
        "t1",
    )
    before, rooms, clinic = snapshot(runtime.floor), list(runtime.floor.rooms), runtime.clinic
    await floors.stop()

    again = server(clock)
    await again.start()
    restarted = again.get(CLINIC.id)
    assert snapshot(restarted.floor) == before and list(restarted.floor.rooms) == rooms
    assert restarted.clinic == clinic and restarted.floor._gone_rooms["w5"].label == "West 5"


async def test_two_servers_on_one_redis_log_both_have_the_new_room(redis_url: str) -> None:
    prefix = f"test-setup-{uuid.uuid4().hex[:10]}"
    clock = ManualClock(MORNING)
    a, b = (
        cheapen(
            Floors(
                [CLINIC],
                RedisLog(redis_url, prefix=prefix),
                clock,
                tick_seconds=3600,
                upcoming=RedisUpcoming(redis_url, prefix=prefix),
            )
        )
        for _ in range(2)
    )
    await a.start()
    await b.start()
    try:
        await set_rooms(a, added(NORTH_1))
        other = b.get(CLINIC.id)
        await until(lambda: "n1" in other.floor.rooms, "the other server folding the new room", pause=0.01)
        has_north_1(other)
        assert other.floor.setup_version == a.get(CLINIC.id).floor.setup_version
        assert other.feed.setup == a.get(CLINIC.id).feed.setup  # screens of either server agree on the set-up
    finally:
        await a.stop()
        await b.stop()
        await forget_prefix(redis_url, prefix)


async def test_the_file_s_rooms_chosen_back_lead_again_and_a_file_changed_since_is_said(server: Server) -> None:
    clock = ManualClock(MORNING)
    floors = server(clock)
    await floors.start()
    await set_rooms(floors, added(NORTH_1))
    await floors.stop()

    # The clinic file gains a room meanwhile: the browser's rooms stand, and the log says so.
    edited = msgspec.structs.replace(CLINIC, rooms=added(Room("e6", "East 6", "east")))
    clock.set(NEXT_MORNING)
    with capture_logs() as logs:
        floors = server(clock, edited)
        await floors.start()
    runtime = floors.get(CLINIC.id)
    assert "n1" in runtime.floor.rooms and "e6" not in runtime.floor.rooms
    assert [e["event"] for e in logs if e["event"] == "clinic_file_rooms_not_used"] == ["clinic_file_rooms_not_used"]
    # A manager chooses the file's rooms: from then on (and after a restart) the file leads.
    await set_rooms(floors, list(edited.rooms), from_file=True)
    assert "e6" in runtime.floor.rooms and "n1" not in runtime.floor.rooms
    await floors.stop()
    floors = server(clock, edited)
    await floors.start()
    assert list(floors.get(CLINIC.id).floor.rooms) == [r.id for r in edited.rooms]


async def test_every_screen_is_drawn_again_and_a_wall_of_a_zone_taken_out_is_closed(server: Server) -> None:
    floors = server(ManualClock(MORNING))
    await floors.start()
    runtime = floors.get(CLINIC.id)
    east, west, staff = (floors.hub.subscribe(CLINIC.id, a) for a in ("display:east", "display:west", "staff"))
    await set_rooms(floors, [r for r in CLINIC.rooms if r.zone == "east"])
    assert runtime.hallway.zones == ("east",)
    assert west.ending == (CLOSE_FORBIDDEN, "this display's zone is no longer in the clinic")
    assert west not in floors.hub.subscribers(CLINIC.id)
    for sub in (east, staff):
        assert list(sub.queue) == [RESYNC], "a screen not drawn again from the new set-up"
    # The next tap's update is rendered for the zones the clinic has now (one for the wall closed had no text).
    await runtime.handle(BookVisit("Ann Lee", "kim", "follow", walk_in=True), "desk-ana", "t1")
    runtime.fan_out()
    assert list(east.queue) == [RESYNC]  # the snapshot it is due covers the tap


async def test_providers_set_hold_the_next_day_and_after_a_restart_as_rooms_do(server: Server) -> None:
    clock = ManualClock(MORNING)
    floors = server(clock)
    await floors.start()
    runtime = floors.get(CLINIC.id)
    patel = Provider("patel", "Dr. Ravi Patel", "RP")
    await set_rooms(floors, added(NORTH_1))
    command = SetProviders([*CLINIC.providers[:-1], patel], runtime.floor.setup_version)
    await runtime.handle(command, "mgr-dana", "console", role=Role.manager)
    await floors.keep_setup(runtime)
    wall = msgspec.json.decode(runtime.snapshot("display")[1])
    assert ("RP", "Dr. Ravi Patel") in [(d["provider"], d["name"]) for d in wall["board"]["delays"]]
    await floors.stop()

    edited = msgspec.structs.replace(CLINIC, providers=[*CLINIC.providers, Provider("lee", "Dr. Ada Lee", "AL")])
    clock.set(NEXT_MORNING)
    with capture_logs() as logs:
        floors = server(clock, edited)
        await floors.start()
    again = floors.get(CLINIC.id)
    assert [p.id for p in again.clinic.providers] == [*(p.id for p in CLINIC.providers[:-1]), "patel"]
    assert "n1" in again.floor.rooms
    assert "clinic_file_providers_not_used" in [e["event"] for e in logs]
    assert again.board().file_providers == edited.providers
    await again.handle(BookVisit("Ann Lee", "patel", "follow", walk_in=True), "desk-ana", "t1")


async def test_a_change_the_shared_log_lost_is_gone_from_the_server_that_folded_it(redis_url: str) -> None:
    """A Redis restarted without its data: the server starts the day over from the log, which no longer holds the
    rooms set: it is on the rooms the day opened with, as every other server is, not on the ones it had folded."""
    prefix = f"test-setup-lost-{uuid.uuid4().hex[:10]}"
    event_log = RedisLog(redis_url, prefix=prefix)
    await event_log.open()
    runtime = ClinicRuntime(CLINIC, event_log, ManualClock(MORNING), Hub())
    try:
        await runtime.start()
        await runtime.handle(SetRooms(added(NORTH_1), 0), "mgr-dana", "console", role=Role.manager)
        assert "n1" in runtime.floor.rooms
        await forget_prefix(redis_url, prefix)  # Redis restarted, without its data
        async with runtime.writer.lock:
            await runtime.writer.reload()
        assert list(runtime.floor.rooms) == [r.id for r in CLINIC.rooms] and runtime.clinic == CLINIC
        assert runtime.floor.setup_version == 0 and "north" not in runtime.hallway.zones
    finally:
        await event_log.close()
        await forget_prefix(redis_url, prefix)


async def test_a_screen_resuming_from_before_a_change_after_a_restart_gets_a_snapshot(server: Server) -> None:
    clock = ManualClock(MORNING)
    floors = server(clock)
    await floors.start()
    runtime = floors.get(CLINIC.id)
    before = await runtime.handle(BookVisit("Ann Lee", "kim", "follow", walk_in=True), "desk-ana", "t1")
    await set_rooms(floors, added(NORTH_1))
    after = await runtime.handle(BookVisit("Bo Park", "kim", "follow", walk_in=True), "desk-ana", "t1")
    await floors.stop()
    again = server(clock)
    await again.start()
    restarted = again.get(CLINIC.id)
    # An older page sends no set-up mark: from before the change, a snapshot (drawn with North 1); from after, the
    # updates it missed.
    [item] = restarted.catch_up(before.event.seq, "staff")
    assert msgspec.json.decode(item[1])["kind"] == "snapshot"
    assert restarted.catch_up(after.event.seq - 1, "staff")[0][0] == after.event.seq
