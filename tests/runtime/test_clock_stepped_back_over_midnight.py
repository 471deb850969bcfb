"""A server clock running two minutes fast opens the clinic day at 23:58, and NTP then steps it back. A floor
stamps a tap "never before the last event (a clock stepped back)" (`Floor._stamp`), but a new day's floor
forgets the last day's last event: the first taps of the day were stamped on the day before, before the last
day's last event (the log's `at` went backwards), and a walk-in booked then started on the day before while
booked on the new day (a hostile review of time)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from floor.clock import ManualClock
from floor.core.commands import BookVisit, Tap
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.fanout import Hub
from floor.log.embedded import EmbeddedLog
from floor.runtime import ClinicRuntime
from tests.support.clinics import quiet_clinic

CLINIC = quiet_clinic()  # America/Chicago
TZ = CLINIC.tz
DAY, NEXT = dt.date(2026, 11, 23), dt.date(2026, 11, 24)


def local(day: dt.date, hour: int, minute: int, second: float = 0) -> dt.datetime:
    whole = int(second)
    at = dt.datetime.combine(day, dt.time(hour, minute, whole, int((second - whole) * 1e6)), tzinfo=TZ)
    return at.astimezone(dt.UTC)


def test_the_new_day_s_first_taps_after_ntp_steps_the_clock_back_are_not_stamped_on_the_day_before(
    tmp_path: Path,
) -> None:
    async def run() -> None:
        log = EmbeddedLog(tmp_path)
        await log.open()
        try:
            clock = ManualClock(local(DAY, 23, 59, 59.5))  # the fast clock's last moment of the 23rd
            runtime = ClinicRuntime(CLINIC, log, clock, Hub())
            await runtime.start()
            last = await runtime.handle(BookVisit("Late Evening", "kim", "follow", walk_in=True), "desk-ana", "t1")
            clock.set(local(NEXT, 0, 0, 30))
            runtime.tick()  # the 24th opens
            assert runtime.floor.day == NEXT
            clock.set(local(DAY, 23, 58, 30))  # NTP steps the clock back two minutes
            first = await runtime.handle(BookVisit("First Of Day", "kim", "follow", walk_in=True), "desk-ana", "t1")
            start = first.touched.visit.start
            assert first.event.day == NEXT
            assert first.event.at >= last.event.at, (
                f"the 24th's first event at {first.event.at.astimezone(TZ):%Y-%m-%d %H:%M:%S} is before the "
                f"23rd's last at {last.event.at.astimezone(TZ):%Y-%m-%d %H:%M:%S}"
            )
            assert CLINIC.day_of(start) == NEXT, f"a walk-in of the 24th arrived on {CLINIC.day_of(start)}"
            # A server started then (the 24th loaded from the log: nothing on it yet) stamps the tap alike.
            loaded = Floor(CLINIC, NEXT, last.event.seq, Ids.seeded())
            again = loaded.decide(
                BookVisit("First Of Day", "kim", "follow", walk_in=True), Tap("desk-ana", "t1", clock.now())
            )
            assert again.at == first.event.at
        finally:
            await log.close()

    asyncio.run(run())
