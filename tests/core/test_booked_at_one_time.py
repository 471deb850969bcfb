"""Patients booked at one time (a wave of three at the top of the hour, a slot booked twice), on a hand-built day: a
cascade's run of late visits takes them in the order the provider is projected to see them, as it takes those seen
(`_started_late`) and as a clinic counts a run.

By planned provider-in, a clinic on the "arrival" convention planned a wave's patient of a type with longer rooming
and prep after the others, so one seen first and on time did not end their run: a cascade was raised on a run the
day did not have (loadtests/fourth_days.py, `waves`).
"""

from __future__ import annotations

from floor.core.commands import TakeStep
from floor.core.journey import PATH, Stage
from floor.core.projection import project
from tests.core.test_projection_and_alerts import CLINIC, Day, at

ARRIVED, ROOMED, PREP, IN, TAUGHT, OUT = PATH[1:]
L = CLINIC.thresholds.cascade_minutes  # 10 (K = 3)


def walk(day: Day, visit: str, *steps: tuple[str, Stage]) -> None:
    """`Day.walk`, each patient roomed into a room of their own (the n-th visit booked into the n-th room)."""
    room = CLINIC.rooms[list(day.floor.visits).index(visit)].id
    for when, step in steps:
        day.tap(when, TakeStep(visit, step, room if step is Stage.roomed else None))


def _wave(day: Day, first_ready: str) -> list[str]:
    """Kim saw her 08:30 follow-up 16 minutes late (planned in 08:39, in at 08:55, done 09:08). At 09:00 she has a wave
    of three: a procedure (planned in 09:16: 12 minutes of rooming and 4 of prep) and two follow-ups (planned in 09:09);
    nothing more is booked before 10:20. The patient of `first_ready` (0: the procedure, 1: a follow-up) came at 08:50
    and is prepped by 09:05; the other two came at 09:10, not roomed yet."""
    v = [day.book("08:30"), day.book("09:00", visit_type="procedure"), day.book("09:00"), day.book("09:00")]
    v.append(day.book("10:20"))
    walk(day, v[0], ("08:25", ARRIVED), ("08:30", ROOMED), ("08:36", PREP), ("08:55", IN), ("09:08", TAUGHT))
    wave = v[1:4]
    early = wave[first_ready]
    walk(day, early, ("08:50", ARRIVED), ("08:52", ROOMED), ("09:05", PREP))
    walk(day, v[0], ("09:09", OUT))
    for x in wave:
        if x != early:
            walk(day, x, ("09:10", ARRIVED))
    return v


def test_a_wave_patient_seen_first_and_on_time_ends_the_run_though_planned_in_after_the_others() -> None:
    # Kim takes the procedure at once, on time; its 28 minutes make the two follow-ups 31 and 43 minutes late. The 08:30
    # visit late, the 09:00 procedure on time, then two late: not three in a row, as the day will count it.
    day = Day()
    v = _wave(day, first_ready=0)
    for minute in range(10, 16):
        day.review(f"09:{minute:02d}")
    projected = {p.visit: p for p in project(day.floor, "kim", at("09:15")).visits}
    assert projected[v[1]].lateness < L
    assert projected[v[1]].provider_in < min(projected[v[2]].provider_in, projected[v[3]].provider_in)
    assert all(projected[x].lateness >= L + 10 for x in v[2:4])
    assert day.active("cascade") == []


def test_a_wave_seen_late_from_its_first_patient_on_is_still_a_run() -> None:
    # The same wave, but Kim walked in to the 08:30 patient only at 09:08 and is still with them at 09:28: whoever of
    # the wave she sees first is late too, and the run (the 08:30 visit and the three of the wave) raises the cascade.
    day = Day()
    v = [day.book("08:30"), day.book("09:00", visit_type="procedure"), day.book("09:00"), day.book("09:00")]
    walk(day, v[0], ("08:25", ARRIVED), ("08:30", ROOMED), ("08:36", PREP), ("09:08", IN))
    walk(day, v[1], ("08:50", ARRIVED), ("08:52", ROOMED), ("09:05", PREP))
    for x in v[2:4]:
        walk(day, x, ("09:10", ARRIVED))
    for minute in range(10, 29):
        day.review(f"09:{minute:02d}")
    projected = {p.visit: p for p in project(day.floor, "kim", at("09:28")).visits}
    assert all(projected[x].lateness >= L + 2 for x in v[1:4])
    (alert,) = day.active("cascade")
    assert set(v[1:4]) <= set(alert.detail.affected)
