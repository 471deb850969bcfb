"""A patient the provider has passed over, on hand-built days: held up before the provider by something the floor does
not show (a cast to come off, drops to work, a lab result), roomed or prepped by the taps, while the provider walks in
to patients booked after them.

Projected first in the provider's queue as ready, such a patient made the ready patients behind them late in the
projection, and a cascade was raised on a provider seeing them on time (loadtests/fifth_days.py: `ortho_cast`,
`ophthalmology`, `oncology`). Projected when nobody else is ready, they no longer do; and late themselves, they still
count as late.
"""

from __future__ import annotations

from floor.core.commands import TakeStep
from floor.core.journey import Stage
from floor.core.projection import project, provider_delay
from tests.core.test_projection_and_alerts import CLINIC, Day, at

ARRIVED, ROOMED, PREP, IN = Stage.arrived, Stage.roomed, Stage.prep_done, Stage.provider_in
L = CLINIC.thresholds.cascade_minutes  # 10 (K = 3)


def walk(day: Day, visit: str, *steps: tuple[str, Stage]) -> None:
    """`Day.walk`, each patient roomed into a room of their own (the n-th visit booked into the n-th room): nobody
    here leaves a room, and the rooms `Day.walk` hands out are shared with the other files' tests."""
    room = CLINIC.rooms[list(day.floor.visits).index(visit)].id
    for when, step in steps:
        day.tap(when, TakeStep(visit, step, room if step is Stage.roomed else None))


def _cast_morning(day: Day) -> list[str]:
    """Kim's 09:00 annual (planned in 09:11) is roomed at 09:00 and stays roomed: her cast is to come off first. Kim
    walks in to the 09:20 follow-up (planned in 09:29) on time, passing her over. The 09:32 and 09:44 follow-ups are
    here, the 09:56 one not yet: booked 12 minutes apart, Kim's minutes on a follow-up, so an annual's 20 minutes
    taken before them would make each of them 20 late."""
    v = [day.book("09:00", visit_type="annual")] + [day.book(s) for s in ("09:20", "09:32", "09:44", "09:56")]
    walk(day, v[0], ("08:55", ARRIVED), ("09:00", ROOMED))
    walk(day, v[1], ("09:15", ARRIVED), ("09:20", ROOMED), ("09:26", PREP), ("09:29", IN))
    walk(day, v[2], ("09:30", ARRIVED), ("09:32", ROOMED))
    walk(day, v[3], ("09:34", ARRIVED))
    return v


def test_a_passed_over_patient_not_ready_does_not_make_the_ready_patients_behind_them_late() -> None:
    day = Day()
    v = _cast_morning(day)
    day.review("09:35")
    projection = project(day.floor, "kim", at("09:35"))
    projected = {p.visit: p for p in projection.visits}
    # The follow-ups are seen in turn, on time, as Kim has been seeing them: no cascade, and Kim is on time.
    assert [projected[x].lateness for x in v[2:]] == [0, 0, 0]
    assert day.active("cascade") == []
    assert provider_delay(projection.visits) == projection.lateness == 0
    # The annual is seen once nobody else is ready: late, and not Kim's delay.
    assert projected[v[0]].provider_in > projected[v[4]].provider_in
    assert projected[v[0]].lateness >= L and projected[v[0]].passed_over


def test_a_passed_over_patient_truly_late_is_still_a_link_of_a_cascade() -> None:
    # The same morning, but Kim is stuck in the 09:20 follow-up (26 minutes of an expected 12 by 09:55): the 09:32
    # and 09:44 patients wait for her. With the annual still held (55 minutes in her room), the run is the annual,
    # the 09:32 and the 09:44 patients, the third not yet come: three links, K, and the alert names the annual.
    day = Day()
    v = _cast_morning(day)
    walk(day, v[2], ("09:38", PREP))
    for minute in range(36, 56):
        day.review(f"09:{minute:02d}")
    (alert,) = day.active("cascade")
    assert v[0] in alert.detail.affected
    projected = {p.visit: p for p in project(day.floor, "kim", at("09:55")).visits}
    assert projected[v[0]].lateness >= L and projected[v[0]].passed_over


def test_a_patient_who_came_late_and_was_not_ready_when_the_next_was_taken_is_not_passed_over() -> None:
    # The 09:00 patient came at 09:22, after the 09:20 patient was roomed; Kim took the 09:20 patient at 09:29, when
    # by the taps the 09:00 patient could not yet be ready (roomed 09:30 at the earliest, then prepped). She is next
    # in turn, as the provider takes whoever is ready booked earliest: she holds Kim, and the 09:40 patient waits.
    day = Day()
    v = [day.book(s) for s in ("09:00", "09:20", "09:40")]
    walk(day, v[1], ("09:15", ARRIVED), ("09:20", ROOMED))
    walk(day, v[0], ("09:22", ARRIVED))
    walk(day, v[1], ("09:26", PREP), ("09:29", IN))
    walk(day, v[0], ("09:30", ROOMED))
    walk(day, v[2], ("09:33", ARRIVED), ("09:36", ROOMED))
    projected = {p.visit: p for p in project(day.floor, "kim", at("09:37")).visits}
    assert not projected[v[0]].passed_over
    assert projected[v[0]].provider_in < projected[v[2]].provider_in
