"""A clinic file whose time zone is changed between days (a clinic set up on UTC by mistake, put right on
America/Chicago one evening with a restart). By the new zone it is still the evening of the 23rd, but the log
already holds the 24th (UTC's day, which the kept schedule or the night's taps opened). The server loaded an
empty 23rd at seq 0 and, at the first tap, caught up with the log and went onto the 24th: the evening's patients
were stored on the 24th, and at the clinic's own midnight no day opened, so they, and the rooms they held, were
still on the next morning's floor; and the 23rd's kept clinic file was written over with the Chicago one (a
hostile review of time).

The review asked for the evening on the 23rd and a fresh 24th at the clinic's midnight. Neither can be: the log
holds the 24th already (its kept schedule may be booked there), so an evening stored on the 23rd would come after
a later day's events (`floor check` refuses seqs out of the days' order; a server loading the 24th reads it from
its first event on), and the 24th can be opened only once. So the floor is never loaded behind the log's newest
day: it is on the 24th from the restart, says so in the log, the 23rd's kept clinic file is left as the 23rd ran
on it, and the clinic's next midnight after the 24th opens the 25th with every room ready."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import msgspec
from structlog.testing import capture_logs

from floor.clock import ManualClock
from floor.core.commands import BookVisit, TakeStep
from floor.core.journey import Stage
from floor.core.rooms import RoomState
from tests.support.clinics import quiet_clinic
from tests.support.staff import test_floors

CHICAGO = quiet_clinic()
ON_UTC = msgspec.structs.replace(CHICAGO, timezone="UTC")
DAY, NEXT, AFTER = dt.date(2026, 11, 23), dt.date(2026, 11, 24), dt.date(2026, 11, 25)


async def _started(tmp_path: Path, clinic, clock: ManualClock):
    floors = test_floors(tmp_path, [clinic], clock=clock, tick_seconds=3600)
    await floors.start()
    await floors._booking[clinic.id]  # the kept schedule, if any, and the clinic file the day runs on
    return floors, floors.get(clinic.id)


def test_the_floor_is_never_loaded_behind_the_log_s_newest_day_after_the_clinic_s_zone_was_put_right(
    tmp_path: Path,
) -> None:
    async def run() -> None:
        # The clinic on UTC: a day on the 23rd, then 01:00 UTC on the 24th, where a night tap is stored.
        clock = ManualClock(dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC))
        floors, utc = await _started(tmp_path, ON_UTC, clock)
        await utc.handle(BookVisit("Day Walk-in", "kim", "follow", walk_in=True), "desk-ana", "tablet-1")
        clock.set(dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC))
        night = await utc.handle(BookVisit("Night Walk-in", "kim", "follow", walk_in=True), "desk-ana", "tablet-1")
        assert night.event.day == NEXT
        await floors.stop()

        # 02:00 UTC: restarted on America/Chicago, where it is 20:00 on the 23rd.
        clock.set(dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC))
        with capture_logs() as logs:
            floors, chicago = await _started(tmp_path, CHICAGO, clock)
        try:
            assert chicago.floor.day == NEXT, "loaded behind the log's newest day"
            (ahead,) = [e for e in logs if e["event"] == "clinic_day_ahead_of_clock"]
            assert (ahead["log_level"], ahead["day"], ahead["clock_day"]) == ("warning", str(NEXT), str(DAY))
            kept = await floors.upcoming.clinic_on(CHICAGO.id, DAY)
            assert kept is not None and kept.timezone == "UTC", "the 23rd's kept clinic file was written over"

            evening = await chicago.handle(
                BookVisit("Evening Patient", "kim", "follow", walk_in=True), "desk-ana", "tablet-1"
            )
            visit = evening.event.change.visit
            await chicago.handle(TakeStep(visit, Stage.roomed, room="e1"), "ma-ben", "tablet-1")
            # On the 24th, after the night's tap, stamped when it was tapped.
            assert evening.event.day == NEXT and evening.event.seq == night.event.seq + 1
            assert evening.event.at == clock.now()

            # 00:10 on the 24th in Chicago: the floor is the 24th's already, as the log is.
            clock.set(dt.datetime(2026, 11, 24, 0, 10, tzinfo=CHICAGO.tz).astimezone(dt.UTC))
            chicago.tick()
            assert chicago.floor.day == NEXT

            # 00:10 on the 25th: the clinic's midnight after the 24th opens the 25th, every room ready.
            clock.set(dt.datetime(2026, 11, 25, 0, 10, tzinfo=CHICAGO.tz).astimezone(dt.UTC))
            chicago.tick()
            floor = chicago.floor
            assert floor.day == AFTER
            assert floor.visits == {} and floor.rooms["e1"].state is RoomState.ready, (
                f"{sorted(v.patient_name for v in floor.visits.values())}, e1 {floor.rooms['e1'].state.value}"
            )
            assert await chicago.log.days(CHICAGO.id) == [DAY, NEXT]  # nothing stored on a day behind the log's
        finally:
            await floors.stop()

    asyncio.run(run())
