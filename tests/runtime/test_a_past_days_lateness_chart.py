"""A past day's lateness chart is the day as it was: the manager's chart of a day that ran past its session's
close, looked at that evening, ran until the last patient left; read the next morning it stopped at the close,
the overrun (the very lateness a manager looks back for) cut off, while the day's measures are taken at its last
tap (a review of a clinic's week)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from floor.clock import ManualClock
from floor.core.access import Role
from floor.core.commands import BookVisit, TakeStep
from floor.core.journey import Stage
from floor.wire import encode
from tests.support.clinics import quiet_clinic
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
