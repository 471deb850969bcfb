"""A manager sets the clinic's alert thresholds from the browser (SetThresholds → SetUpChanged): decided in the core
by the rules a clinic file's `[thresholds]` are checked by, folded from the log alone; the alerts are reviewed by the
new ones from the next review."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from floor import audit
from floor.config import demo_clinic
from floor.core.access import Role
from floor.core.alerts import review
from floor.core.commands import BookVisit, Command, SetThresholds, SetVisitTypes, Tap
from floor.core.errors import Refusal, Why
from floor.core.events import AlertRaised, Event, SetUpChanged
from floor.core.floor import Floor
from floor.core.ids import Ids
from tests.support.floors import snapshot

CLINIC = demo_clinic()
DAY = dt.date(2025, 3, 12)
OPENS = dt.datetime(2025, 3, 12, 8, 0, tzinfo=CLINIC.tz)


class Manager:
    def __init__(self) -> None:
        self.floor = Floor(CLINIC, DAY, ids=Ids.seeded())
        self.now = OPENS
        self.events: list[Event] = []

    def tap(self, command: Command, role: Role = Role.manager) -> Event:
        self.now += dt.timedelta(minutes=1)
        event = self.floor.decide(command, Tap("dana", "console", self.now, role))
        self.floor.apply(event)
        self.events.append(event)
        return event

    def refused(self, command: Command, role: Role = Role.manager) -> Refusal:
        before, clinic = snapshot(self.floor), self.floor.clinic
        with pytest.raises(Refusal) as e:
            self.floor.decide(command, Tap("dana", "console", self.now, role))
        assert snapshot(self.floor) == before and self.floor.clinic is clinic
        return e.value


def thresholds(**changed: int):
    return msgspec.structs.replace(CLINIC.thresholds, **changed)


def test_a_lower_limit_raises_the_alert_of_a_patient_waiting_past_it_at_the_next_review() -> None:
    m = Manager()
    m.tap(BookVisit("Ann Lee", "kim", "follow", walk_in=True))  # here, waiting to be roomed
    assert CLINIC.thresholds.waiting_to_be_roomed == 15
    twelve = m.now + dt.timedelta(minutes=12)
    assert [c for c in review(m.floor, twelve) if isinstance(c, AlertRaised) and c.kind == "dwell"] == []
    event = m.tap(SetThresholds(thresholds(waiting_to_be_roomed=10), expected_version=0))
    assert isinstance(event.change, SetUpChanged) and event.change.rooms is None
    assert m.floor.clinic.thresholds.waiting_to_be_roomed == 10 and m.floor.setup_version == event.seq
    [raised] = [c for c in review(m.floor, twelve) if isinstance(c, AlertRaised) and c.kind == "dwell"]
    assert raised.detail.limit == 10
    again = Floor.fold(CLINIC, DAY, 0, m.events)
    assert snapshot(again) == snapshot(m.floor) and again.clinic == m.floor.clinic


@pytest.mark.parametrize(
    ("new", "field", "words"),
    [
        (thresholds(waiting_for_prep=0), "thresholds.waiting_for_prep", "waiting for prep must be 1 to 600 minutes"),
        (thresholds(turnover=601), "thresholds.turnover", "turnover must be 1 to 600 minutes"),
        (thresholds(cascade_visits=51), "thresholds.cascade_visits", "cascade visits must be 1 to 50 visits"),
        (CLINIC.thresholds, "thresholds", "nothing changed"),
    ],
)
def test_thresholds_a_clinic_file_could_not_have_are_refused_naming_the_field(new, field, words) -> None:
    refused = Manager().refused(SetThresholds(new))
    assert (refused.why, refused.field) == (Why.invalid, field), refused.message
    assert words in refused.message, refused.message


def test_one_set_up_version_and_only_managers() -> None:
    m = Manager()
    m.tap(SetThresholds(thresholds(turnover=20), expected_version=0))
    assert m.refused(SetVisitTypes(list(CLINIC.visit_types[:-1]), expected_version=0)).why is Why.stale_version
    assert m.refused(SetThresholds(thresholds(turnover=25), expected_version=0)).why is Why.stale_version
    refused = m.refused(SetThresholds(thresholds(turnover=25), m.floor.setup_version), Role.front_desk)
    assert refused.why is Why.forbidden


def test_the_audit_trail_says_the_change_in_words() -> None:
    m = Manager()
    entry = audit.entry(CLINIC.id, m.tap(SetThresholds(thresholds(waiting_for_provider=20, cascade_visits=4))))
    assert entry.changes == [
        "Changed the alert thresholds: waiting for the provider from 15 to 20 minutes, a cascade's visits from 3 to 4 "
        "visits"
    ]


def test_a_cascade_cleared_by_raising_k_comes_back_as_itself_at_once_when_k_is_set_back() -> None:
    """A manager who raises the cascade's K by mistake while a cascade is up, and sets it back (or takes the file's
    back) a minute later, gets the same alert back at once, acknowledged as it was: it came back ten minutes later
    (the re-arm after a clear, meant for a wobble of the floor's) under a new id, its acknowledgement gone."""
    from floor.core.commands import AcknowledgeAlert
    from floor.core.events import AlertCleared
    from tests.core.test_projection_and_alerts import Day, _first_raise, _overrun_morning, at

    day = Day()
    _overrun_morning(day)
    raised = _first_raise(day, "09:55", "10:30")
    assert raised == "09:55"
    (alert,) = day.active("cascade")

    def manager(when: str, command: Command) -> None:
        event = day.floor.decide(command, Tap("dana", "console", at(when), Role.manager))
        day.floor.apply(event)
        day.events.append(event)

    manager("09:56", AcknowledgeAlert(alert.id))

    def set_thresholds(when: str, new) -> list:
        event = day.floor.decide(
            SetThresholds(new, expected_version=day.floor.setup_version), Tap("dana", "console", at(when), Role.manager)
        )
        day.floor.apply(event)
        day.events.append(event)
        return day.review(when)

    cleared = set_thresholds("09:57", thresholds(cascade_visits=10))
    assert [type(c) for c in cleared if getattr(c, "alert", None) == alert.id] == [AlertCleared]
    back = set_thresholds("09:58", CLINIC.thresholds)
    assert [c for c in back if isinstance(c, AlertRaised) and c.kind == "cascade"] == [
        AlertRaised(alert.id, "cascade", day.floor.alerts[alert.id].detail, "kim")
    ]
    (again,) = day.active("cascade")
    assert again.id == alert.id and again.acknowledged_by == "dana" and again.raised_at == at("09:55")
    for when in ("10:00", "10:05", "10:10"):  # no flap, no second alert
        day.review(when)
        assert [a.id for a in day.active("cascade")] == [alert.id]
    assert [a.id for a in day.floor.alerts.values() if a.kind == "cascade"] == [alert.id]
    assert snapshot(Floor.fold(CLINIC, day.floor.day, 0, day.events)) == snapshot(day.floor)
