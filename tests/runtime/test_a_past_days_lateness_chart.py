"""A day's lateness chart, the manager's, read the next morning as a past day is the chart as it was that evening
(a review of a clinic's week): until the day closed (a day that ran past its session's close was cut off at the
close, the overrun with it), and projected with what Floor had learned for that day (it was projected with the
configured minutes). And projecting it, which replays the day at every point, holds up no clinic's taps."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from pathlib import Path

import pytest

from floor.clock import ManualClock
from floor.core.access import Role
from floor.core.commands import BookVisit, TakeStep
from floor.core.journey import Stage
from floor.core.learned import EMPTY, Learned
from floor.log.base import LogUnavailable
from floor.log.embedded import EmbeddedLog
from floor.runtime import reads
from floor.schedule.upcoming import FileUpcoming
from floor.wire import encode
from tests.support.clinics import quiet_clinic
from tests.support.history import write_days
from tests.support.staff import test_floors

CLINIC = quiet_clinic()
MONDAY, TUESDAY = dt.date(2026, 11, 23), dt.date(2026, 11, 24)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=CLINIC.tz).astimezone(dt.UTC)


def test_a_day_that_ran_past_its_close_is_charted_until_its_last_tap_the_next_morning_as_that_evening(
    tmp_path: Path,
) -> None:
    async def run() -> None:
        clock = ManualClock(local(MONDAY, 16))
        floors = test_floors(tmp_path, [CLINIC], clock=clock, tick_seconds=3600)
        await floors.start()
        try:
            runtime = floors.get(CLINIC.id)
            booked = await runtime.handle(
                BookVisit("Ann Lee", "kim", "follow", local(MONDAY, 16, 40)), "desk-ana", "t", role=Role.front_desk
            )
            visit = booked.event.change.visit
            # Dr. Kim walks in at 17:30, 41 minutes late; the patient leaves at 17:55, the session over at 17:00.
            for at, step in (
                (local(MONDAY, 16, 40), Stage.arrived),
                (local(MONDAY, 16, 45), Stage.roomed),
                (local(MONDAY, 16, 50), Stage.prep_done),
                (local(MONDAY, 17, 30), Stage.provider_in),
                (local(MONDAY, 17, 50), Stage.teach_back_done),
                (local(MONDAY, 17, 55), Stage.checked_out),
            ):
                clock.set(at)
                await runtime.handle(TakeStep(visit, step, "e1" if step is Stage.roomed else None), "ma-ben", "t")
            that_evening = await runtime.lateness_over_day(None, 10)
            assert that_evening.points[-1].at == dt.datetime.combine(MONDAY, dt.time(17, 50), tzinfo=CLINIC.tz)

            clock.set(local(TUESDAY, 7))
            runtime.tick()
            assert runtime.floor.day == TUESDAY
            next_morning = await runtime.lateness_over_day(MONDAY, 10)
            assert [p.at for p in next_morning.points] == [p.at for p in that_evening.points], "the overrun cut off"
            assert encode(next_morning) == encode(that_evening)
        finally:
            await floors.stop()

    asyncio.run(run())


def test_a_past_day_is_charted_with_what_floor_had_learned_that_day_as_it_was_that_evening(tmp_path: Path) -> None:
    """Ten past days where Dr. Kim's follow-ups take twice their configured 12 minutes: the day's chart projected
    his morning with what was learned; the next morning the same day was charted with the configured minutes, its
    figures not the ones the manager saw (a review of a clinic's week)."""

    async def run() -> None:
        event_log = EmbeddedLog(tmp_path)
        await write_days(
            event_log,
            CLINIC,
            MONDAY,
            10,
            lambda day, n: [day.seen("kim", "follow", with_provider=24) for _ in range(6)],
        )
        await event_log.close()
        clock = ManualClock(local(MONDAY, 8))
        floors = test_floors(tmp_path, [CLINIC], clock=clock, tick_seconds=3600)
        await floors.start()
        try:
            runtime = floors.get(CLINIC.id)
            while runtime.learned_for != MONDAY:
                await asyncio.sleep(0.01)
            assert runtime.learned.times("kim", "follow", Stage.provider_in).expected > 17
            visits = []
            for i in range(4):
                at = local(MONDAY, 9) + dt.timedelta(minutes=15 * i)
                booked = await runtime.handle(
                    BookVisit(f"P{i}", "kim", "follow", at), "desk-ana", "t", role=Role.front_desk
                )
                visits.append(booked.event.change.visit)
            for at, step in (
                (local(MONDAY, 9), Stage.arrived),
                (local(MONDAY, 9, 1), Stage.roomed),
                (local(MONDAY, 9, 7), Stage.prep_done),
                (local(MONDAY, 9, 9), Stage.provider_in),
                (local(MONDAY, 9, 33), Stage.teach_back_done),
                (local(MONDAY, 9, 35), Stage.checked_out),
            ):
                clock.set(at)
                await runtime.handle(TakeStep(visits[0], step, "e1" if step is Stage.roomed else None), "ma-ben", "t")
            for visit in visits[1:]:
                await runtime.handle(TakeStep(visit, Stage.no_show), "desk-ana", "t")
            clock.set(local(MONDAY, 17))
            that_evening = await runtime.lateness_over_day(None, 10)

            clock.set(local(TUESDAY, 7))
            runtime.tick()
            assert runtime.floor.day == TUESDAY
            next_morning = await runtime.lateness_over_day(MONDAY, 10)
            assert encode(next_morning) == encode(that_evening)
        finally:
            await floors.stop()

    asyncio.run(run())


class FullAtMidnight(FileUpcoming):
    """The disk is full when the day is learned: the first tries to keep what it learned fail."""

    def __init__(self, data_dir: Path, fails: int) -> None:
        super().__init__(data_dir)
        self.fails = fails

    async def keep_learned(self, clinic: str, day: dt.date, learned: Learned) -> None:
        if self.fails:
            self.fails -= 1
            raise LogUnavailable("could not keep the day's learning: No space left on device")
        await super().keep_learned(clinic, day, learned)


def test_what_a_day_learned_is_kept_once_the_disk_has_room_again(tmp_path: Path) -> None:
    async def run() -> None:
        event_log = EmbeddedLog(tmp_path)
        await write_days(event_log, CLINIC, MONDAY, 3, lambda day, n: day.seen("kim", "follow", with_provider=24))
        await event_log.close()
        kept = FullAtMidnight(tmp_path, fails=2)
        floors = test_floors(
            tmp_path, [CLINIC], clock=ManualClock(local(MONDAY, 0, 5)), tick_seconds=0.01, upcoming=kept
        )
        await floors.start()
        try:
            runtime = floors.get(CLINIC.id)
            for _ in range(500):
                if await kept.learned_on(CLINIC.id, MONDAY) is not None:
                    break
                await asyncio.sleep(0.01)
            assert kept.fails == 0
            assert await kept.learned_on(CLINIC.id, MONDAY) == runtime.learned != EMPTY
        finally:
            await floors.stop()

    asyncio.run(run())


def test_a_chart_is_projected_beside_the_clinics_taps_not_in_their_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Projecting a day's chart replays the day through the projection at every point: a demo-size day charted every
    minute took 3 to 4 s, every 10 minutes half a second, on the event loop, every clinic's taps and walls held
    meanwhile (a review of a clinic's week). The chart is projected in a thread: here it waits, on another thread,
    until a tap has been answered, which only a loop left free to answer it can do."""
    answered = threading.Event()
    project = reads.lateness_over_day

    def projected_once_the_tap_is_answered(*args, **kwargs):
        assert answered.wait(5), "the chart was projected on the event loop: no tap was answered meanwhile"
        return project(*args, **kwargs)

    monkeypatch.setattr(reads, "lateness_over_day", projected_once_the_tap_is_answered)

    async def run() -> None:
        clock = ManualClock(local(MONDAY, 9))
        floors = test_floors(tmp_path, [CLINIC], clock=clock, tick_seconds=3600)
        await floors.start()
        try:
            runtime = floors.get(CLINIC.id)
            chart = asyncio.create_task(runtime.lateness_over_day(None, 1))
            await asyncio.sleep(0)  # the chart begins
            tapped = await runtime.handle(
                BookVisit("Ann Lee", "kim", "follow", walk_in=True), "desk-ana", "t", role=Role.front_desk
            )
            assert tapped.event.seq == 1
            answered.set()
            assert (await chart).points
        finally:
            await floors.stop()

    asyncio.run(run())
