"""loadtests/projection_calibration.py on a hand-built day: what each review projected, beside what happened."""

from __future__ import annotations

import datetime as dt

from floor.config import demo_clinic
from floor.core.commands import BookVisit, TakeStep
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.learned import EMPTY
from loadtests.projection_calibration import samples, show_table
from tests.support.floors import Tapping

CLINIC = demo_clinic()  # follow-up: roomed 6, prep 3, provider 12: planned provider-in at the booked time + 9
DAY = dt.date(2026, 11, 23)


def at(hhmm: str) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return dt.datetime.combine(DAY, dt.time(h, m), tzinfo=CLINIC.tz)


def test_each_review_sets_the_projection_beside_the_real_lateness_and_who_was_never_seen() -> None:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded("calibration"))
    tapping = Tapping(floor, at)
    tap, events = tapping.tap, tapping.events

    seen = tap("07:30", BookVisit("Ann Lee", "kim", "follow", at("09:00")))
    never = tap("07:31", BookVisit("Bo Chan", "kim", "follow", at("09:20")))
    for when, step in (("08:55", Stage.arrived), ("09:00", Stage.roomed), ("09:06", Stage.prep_done)):
        tap(when, TakeStep(seen, step, "e1" if step is Stage.roomed else None))
    tap("09:20", TakeStep(seen, Stage.provider_in))  # planned 09:09: 11 late
    tap("09:35", TakeStep(never, Stage.no_show))

    rows = samples(CLINIC, events, floor, EMPTY)
    # Reviews every 5 minutes from 08:00 (the first whole hour after the first tap); the 09:00 visit (planned
    # provider-in 09:09) is within the 30 minutes ahead from 08:40.
    mine = [s for s in rows if s.real is not None]
    assert len(mine) == len(range(40, 80, 5))  # 08:40 to 09:15, then seen
    waiting = mine[-1]  # 09:15: here, prepped, the provider free: projected at once, 6 late; 11 in the end
    assert waiting.here and waiting.real == 11 and round(waiting.projected) == 6
    assert not mine[0].here and mine[0].projected == 0  # 08:40, not yet come: on time
    # The 09:20 patient never saw the provider: in the samples, with no real lateness, until marked a no-show.
    gone = [s for s in rows if s.real is None]
    assert gone and all(not s.here for s in gone)
    assert any(line.startswith("not yet due, all") and line.split()[-1] == "0.00" for line in show_table(gone))
