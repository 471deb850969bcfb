"""A clinic file changed in the evening, after the day's session closed (when an IT team changes it: the
clinic is empty), with a restart. The day ran its whole session on the old file and was measured on it at the
close; the restart kept the new file as the one the day ran on, and the next morning the day read as a past day
was measured by it: its on-time starts and lateness changed overnight (a review of a clinic's week). The day's
kept clinic file is the one it closed on; a restart during the session still keeps the file it runs on from then
(a file put right at 09:00 is the one the day ran on)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import msgspec

from floor.clock import ManualClock
from floor.config import AppointmentTime, Clinic
from floor.core.access import Role
from floor.core.commands import BookVisit, MarkRoom, TakeStep
from floor.core.journey import Stage
from floor.core.rooms import RoomAction
from floor.days import closed_at
from floor.wire import encode
from tests.support.clinics import quiet_clinic
from tests.support.staff import test_floors

ARRIVAL = quiet_clinic()
#: The clinic's booked times put right: they are when the provider walks in.
PROVIDER = msgspec.structs.replace(
    ARRIVAL, session=msgspec.structs.replace(ARRIVAL.session, appointment_time=AppointmentTime.provider)
)
MONDAY, TUESDAY = dt.date(2026, 11, 23), dt.date(2026, 11, 24)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ARRIVAL.tz).astimezone(dt.UTC)


async def _started(tmp_path: Path, clinic: Clinic, clock: ManualClock):
    floors = test_floors(tmp_path, [clinic], clock=clock, tick_seconds=3600)
    await floors.start()
    await floors._booking[clinic.id]  # the clinic file the day runs on, kept
    return floors, floors.get(clinic.id)


async def _a_morning(runtime, clock: ManualClock) -> None:
    """Two patients booked at 9:00 and 9:30, each seen 9 minutes after their time: on time by the booked
    times read as arrivals (rooming and prep take 9 minutes), late by them read as the provider's."""
    for name, at in (("Ann Lee", local(MONDAY, 9)), ("Bo Chen", local(MONDAY, 9, 30))):
        clock.set(at - dt.timedelta(hours=1))
        booked = await runtime.handle(
            BookVisit(name, "kim", "follow", at), "desk-ana", "tablet-1", role=Role.front_desk
        )
        visit = booked.event.change.visit
        for minutes, step in ((0, Stage.arrived), (1, Stage.roomed), (7, Stage.prep_done), (9, Stage.provider_in)):
            clock.set(at + dt.timedelta(minutes=minutes))
            await runtime.handle(TakeStep(visit, step, "e1" if step is Stage.roomed else None), "ma-ben", "tablet-1")
        for minutes, step in ((20, Stage.teach_back_done), (22, Stage.checked_out)):
            clock.set(at + dt.timedelta(minutes=minutes))
            await runtime.handle(TakeStep(visit, step), "ma-ben", "tablet-1")
        clock.set(at + dt.timedelta(minutes=24))
        await runtime.handle(MarkRoom("e1", RoomAction.ready), "ma-ben", "tablet-1")


def test_a_day_read_the_next_morning_is_measured_by_the_file_it_closed_on_not_one_put_in_that_evening(
    tmp_path: Path,
) -> None:
    async def run() -> None:
        clock = ManualClock(local(MONDAY, 7))
        floors, runtime = await _started(tmp_path, ARRIVAL, clock)
        await _a_morning(runtime, clock)
        clock.set(closed_at(ARRIVAL, MONDAY, runtime.events))
        at_the_close = runtime.measures()
        assert at_the_close.clinic.on_time_starts.count == 2
        await floors.stop()

        # 19:00 on Monday: the file changed, the server restarted on it.
        clock.set(local(MONDAY, 19))
        floors, runtime = await _started(tmp_path, PROVIDER, clock)
        try:
            assert (await floors.upcoming.clinic_on(ARRIVAL.id, MONDAY)) == ARRIVAL, (
                "Monday's kept clinic file was written over after it closed"
            )
            clock.set(local(TUESDAY, 7))
            runtime.tick()
            assert runtime.floor.day == TUESDAY
            past = await runtime.measures_on(MONDAY)
            assert encode(past) == encode(at_the_close)
        finally:
            await floors.stop()

    asyncio.run(run())


def test_a_file_put_right_during_the_session_is_the_one_the_day_ran_on(tmp_path: Path) -> None:
    async def run() -> None:
        clock = ManualClock(local(MONDAY, 7))
        floors, runtime = await _started(tmp_path, ARRIVAL, clock)
        await floors.stop()
        clock.set(local(MONDAY, 8, 5))
        floors, runtime = await _started(tmp_path, PROVIDER, clock)
        try:
            assert (await floors.upcoming.clinic_on(ARRIVAL.id, MONDAY)) == PROVIDER
            clock.set(local(TUESDAY, 7))
            runtime.tick()
            assert (await runtime.clinic_on(MONDAY)) == PROVIDER
        finally:
            await floors.stop()

    asyncio.run(run())
