"""Two things the alerts said wrong, checked in the core on a clinic clock that moves only when told (ManualClock):

- A patient's wait cleared by a step tapped by mistake, then undone: the undo raised a new alert for the same wait,
  unacknowledged, the one the manager had acknowledged gone. The wait continues from when the patient entered the
  stage, and so does its alert: raised again as itself (its id, when it was first raised, who acknowledged it).
- A cascade still up once its provider had caught up (its links seen late hold it a while) said "back on time about
  10:49" at 10:40 with a delay of 0 minutes: the next patient's time, as if she were late until then. On time now and
  from now on, she is back on time now, and the alert is not updated every few minutes for the clock alone."""

from __future__ import annotations

from floor.clock import ManualClock
from floor.core.commands import AcknowledgeAlert, TakeStep, Tap, UndoStep
from floor.core.events import AlertRaised, AlertUpdated
from floor.core.journey import Stage
from floor.core.projection import project
from floor.days import alerts_raised
from tests.core.test_projection_and_alerts import Day, _out_of_order_morning, at


class Clocked:
    """A Day whose taps and reviews are at a ManualClock's time."""

    def __init__(self, day: Day, start: str) -> None:
        self.day, self.clock = day, ManualClock(at(start))

    def hm(self) -> str:
        return self.clock.now().astimezone(at("00:00").tzinfo).strftime("%H:%M")

    def tap(self, command, who: str = "staff") -> None:
        event = self.day.floor.decide(command, Tap(who, "t1", self.clock.now()))
        self.day.floor.apply(event)
        self.day.events.append(event)
        self.day.review(self.hm())

    def later(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)
        self.day.review(self.hm())


def test_an_undone_step_brings_back_the_same_acknowledged_alert_counting_from_the_stage_entered() -> None:
    day = Day()
    visit = day.book("09:00", provider="silva")
    day.walk(visit, ("08:50", Stage.arrived), ("08:52", Stage.roomed), ("09:10", Stage.prep_done))
    c = Clocked(day, "09:25")
    c.later(0)
    (alert,) = day.active("dwell")  # waiting for the provider 15 minutes
    manager = Tap("dana", "t9", c.clock.now(), role=None)
    event = day.floor.decide(AcknowledgeAlert(alert.id), manager)
    day.floor.apply(event)
    c.later(1)
    c.tap(TakeStep(visit, Stage.provider_in))  # 09:26, the wrong patient
    assert day.active("dwell") == []
    c.later(2)
    c.tap(UndoStep(visit))  # 09:28
    (again,) = day.active("dwell")
    assert again.id == alert.id, "a new alert for the same wait"
    assert again.acknowledged_by == "dana" and again.raised_at == at("09:25")
    assert again.detail.minutes == 18  # from 09:10, when the patient entered the stage, not from the undo
    raised = [e for e in day.events if isinstance(e.change, AlertRaised)]
    assert {e.change.alert for e in raised} == {alert.id}
    assert alerts_raised(day.floor, day.events)["silva"] == 1  # the day's measures count one alert
    c.later(10)
    assert day.active("dwell") == [again] and len([a for a in day.floor.alerts.values() if a.kind == "dwell"]) == 1


def test_a_cascade_of_a_provider_caught_up_says_she_is_back_on_time_now_not_at_the_next_visit() -> None:
    day = Day()
    v = _out_of_order_morning(day)
    (alert,) = day.active("cascade")
    # Kim finishes the visit she is with at 10:40; the next patient (10:49 planned) is here and ready.
    day.walk(v[5], ("10:35", Stage.arrived))
    day.walk(v[3], ("10:40", Stage.teach_back_done), ("10:40", Stage.checked_out))
    day.walk(v[5], ("10:40", Stage.roomed))
    c = Clocked(day, "10:40")
    c.later(0)
    projection = project(day.floor, "kim", c.clock.now())
    assert projection.lateness == 0 and alert.active, "the scene: a cascade still up, its provider on time"
    assert projection.recovers_at == c.clock.now(), projection.recovers_at
    assert alert.detail.recovers_at is not None and alert.detail.recovers_at <= c.clock.now(), alert.detail
    updates = len([e for e in day.events if isinstance(e.change, AlertUpdated)])
    c.later(6)  # the clock alone: on time all along, nothing new to tell
    assert project(day.floor, "kim", c.clock.now()).recovers_at == c.clock.now()
    assert alert.active
    assert len([e for e in day.events if isinstance(e.change, AlertUpdated)]) == updates
