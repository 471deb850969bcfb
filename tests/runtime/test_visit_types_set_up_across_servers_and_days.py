"""Visit types a manager sets from the browser, on the runtime, on both backends: kept beside the log with the rooms
and providers, so a new day and a server started later (the next day, or the same day) plan by the minutes set, not
the clinic file's, until a manager chooses the file's back."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import msgspec
import pytest
from structlog.testing import capture_logs

from floor.clock import ManualClock
from floor.config import Clinic, StageMinutes, VisitType
from floor.core.access import Role
from floor.core.commands import BookVisit, SetThresholds, SetVisitTypes, TakeStep
from floor.core.journey import Stage
from floor.floors import Floors
from floor.log.embedded import EmbeddedLog
from floor.log.redis import RedisLog
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
TELEHEALTH = VisitType("tele", "Telehealth", 15, StageMinutes(0, 0, 2, 10, 2))
FOLLOW = CLINIC.visit_type("follow")
LONGER_FOLLOW = msgspec.structs.replace(
    FOLLOW, stage_minutes=msgspec.structs.replace(FOLLOW.stage_minutes, provider_in=30)
)
#: The visit types set: follow-ups take 30 minutes with the provider, telehealth added, annual physicals taken out.
SET = [LONGER_FOLLOW if v.code == "follow" else v for v in CLINIC.visit_types if v.code != "annual"] + [TELEHEALTH]

Server = Callable[..., "Floors"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["embedded", "redis"])
async def server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Server]:
    """Each call: one more server (Floors) on the clinic's one storage, not started."""
    prefix = f"test-setup-vt-{uuid.uuid4().hex[:10]}"
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


async def set_visit_types(floors: Floors, types: list[VisitType], *, from_file: bool = False) -> None:
    runtime = floors.get(CLINIC.id)
    command = SetVisitTypes(types, runtime.floor.setup_version, from_file)
    await runtime.handle(command, "mgr-dana", "console", role=Role.manager)
    await floors.keep_setup(runtime)


async def test_visit_types_set_hold_the_next_day_and_after_a_restart(server: Server) -> None:
    clock = ManualClock(MORNING)
    floors = server(clock)
    await floors.start()
    runtime = floors.get(CLINIC.id)
    await set_visit_types(floors, SET)
    assert runtime.clinic.visit_types == SET and runtime.board().visit_types == SET
    clock.set(NEXT_MORNING)
    runtime.tick()
    assert runtime.floor.day == NEXT_MORNING.date() and runtime.floor.clinic.visit_types == SET
    await floors.stop()

    # The clinic file gains a type meanwhile: the browser's types stand, and the log says so.
    edited = msgspec.structs.replace(
        CLINIC, visit_types=[*CLINIC.visit_types, VisitType("flu", "Flu shot", 5, FOLLOW.stage_minutes)]
    )
    with capture_logs() as logs:
        floors = server(clock, edited)
        await floors.start()
    again = floors.get(CLINIC.id)
    assert again.clinic.visit_types == again.floor.clinic.visit_types == SET
    assert again.floor.clinic.visit_type_of("follow").stage_minutes.provider_in == 30
    assert "clinic_file_visit_types_not_used" in [e["event"] for e in logs]
    assert again.board().visit_types == SET
    tele = await again.handle(BookVisit("Ann Lee", "kim", "tele", walk_in=True), "desk-ana", "t1")
    await again.handle(TakeStep(tele.event.change.visit, Stage.left_without_being_seen), "ma-ben", "t1")

    # A manager chooses the file's visit types: from then on (and after a restart) the file leads.
    await set_visit_types(floors, list(edited.visit_types), from_file=True)
    assert again.clinic.visit_types == edited.visit_types
    await floors.stop()
    floors = server(clock, edited)
    await floors.start()
    assert floors.get(CLINIC.id).clinic.visit_types == edited.visit_types


async def test_a_server_started_again_the_same_day_folds_the_day_as_the_one_that_ran_it(server: Server) -> None:
    clock = ManualClock(MORNING)
    floors = server(clock)
    await floors.start()
    runtime = floors.get(CLINIC.id)
    # An annual physical, over before the type is taken out: the day opened with it.
    booked = await runtime.handle(BookVisit("Ann Lee", "kim", "annual", walk_in=True), "desk-ana", "t1")
    await runtime.handle(TakeStep(booked.event.change.visit, Stage.left_without_being_seen), "ma-ben", "t1")
    await set_visit_types(floors, SET)
    await runtime.handle(BookVisit("Bo Park", "kim", "tele", walk_in=True), "desk-ana", "t1")
    before, clinic, delays = snapshot(runtime.floor), runtime.clinic, runtime.board().delays
    await floors.stop()

    again = server(clock)
    await again.start()
    restarted = again.get(CLINIC.id)
    assert snapshot(restarted.floor) == before and restarted.clinic == clinic
    assert restarted.board().delays == delays


async def test_thresholds_set_hold_the_next_day_and_after_a_restart_beside_the_visit_types(server: Server) -> None:
    clock = ManualClock(MORNING)
    floors = server(clock)
    await floors.start()
    runtime = floors.get(CLINIC.id)
    await set_visit_types(floors, SET)
    lower = msgspec.structs.replace(CLINIC.thresholds, waiting_to_be_roomed=10, turnover=20)
    await runtime.handle(SetThresholds(lower, runtime.floor.setup_version), "mgr-dana", "console", role=Role.manager)
    await floors.keep_setup(runtime)
    assert runtime.board().thresholds == lower
    await floors.stop()

    # The clinic file's thresholds change meanwhile: the browser's stand, and the log says so.
    edited = msgspec.structs.replace(CLINIC, thresholds=msgspec.structs.replace(CLINIC.thresholds, turnover=5))
    clock.set(NEXT_MORNING)
    with capture_logs() as logs:
        floors = server(clock, edited)
        await floors.start()
    again = floors.get(CLINIC.id)
    assert again.floor.clinic.thresholds == again.board().thresholds == lower
    assert again.clinic.visit_types == SET
    assert "clinic_file_thresholds_not_used" in [e["event"] for e in logs]
    await again.handle(
        SetThresholds(edited.thresholds, again.floor.setup_version, True), "mgr-dana", "console", role=Role.manager
    )
    await floors.keep_setup(again)
    await floors.stop()
    floors = server(clock, edited)
    await floors.start()
    restarted = floors.get(CLINIC.id)
    assert restarted.clinic.thresholds == edited.thresholds and restarted.clinic.visit_types == SET


async def test_two_servers_on_one_redis_log_both_plan_by_the_new_minutes(redis_url: str) -> None:
    prefix = f"test-setup-vt-{uuid.uuid4().hex[:10]}"
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
        await set_visit_types(a, SET)
        other = b.get(CLINIC.id)
        await until(lambda: other.floor.setup_version > 0, "the other server folding the new visit types", pause=0.01)
        assert other.floor.clinic.visit_type_of("follow").stage_minutes.provider_in == 30
        assert other.clinic.visit_types == SET and other.board().visit_types == SET
        assert other.feed.setup == a.get(CLINIC.id).feed.setup  # screens of either server agree on the set-up
    finally:
        await a.stop()
        await b.stop()
        await forget_prefix(redis_url, prefix)


async def test_a_change_stored_but_not_kept_before_a_crash_holds_on_a_server_started_the_next_day(
    server: Server,
) -> None:
    """The server stored a manager's change of the visit types (and thresholds) in the log and died before keeping the
    set-up beside it: started the next morning, it opened the day with the set-up kept before (the clinic file's),
    the change folded only from the log of the day before, which no server reads again. It is taken from there."""
    clock = ManualClock(MORNING)
    floors = server(clock)
    await floors.start()
    runtime = floors.get(CLINIC.id)
    thresholds = msgspec.structs.replace(CLINIC.thresholds, waiting_to_be_roomed=5)
    await runtime.handle(SetVisitTypes(SET, runtime.floor.setup_version), "mgr-dana", "console", role=Role.manager)
    await runtime.handle(
        SetThresholds(thresholds, runtime.floor.setup_version), "mgr-dana", "console", role=Role.manager
    )
    version = runtime.floor.setup_version
    assert await floors.upcoming.setup_of(CLINIC.id) is None  # died before keeping it: nothing kept beside the log
    await floors.stop()

    clock.set(NEXT_MORNING)
    again = server(clock)
    await again.start()
    restarted = again.get(CLINIC.id)
    assert restarted.floor.day == NEXT_MORNING.date()
    assert restarted.clinic.visit_types == restarted.floor.clinic.visit_types == SET
    assert restarted.floor.clinic.thresholds == thresholds and restarted.floor.setup_version == version
    assert restarted.board().visit_types == SET and restarted.board().file_visit_types == CLINIC.visit_types
    await again.keep_setup(restarted)  # and kept at once, as a tick would
    kept = await again.upcoming.setup_of(CLINIC.id)
    assert kept is not None and kept.seq == version and kept.visit_types == SET and kept.thresholds == thresholds
