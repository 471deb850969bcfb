"""Ids and wall tokens: drawn from the injected source, never repeated, and old logs fold as they always did."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import re
from collections.abc import Iterator

import msgspec
import pytest

from floor.config import demo_clinic
from floor.core.alerts import review
from floor.core.commands import BookVisit, TakeStep, Tap
from floor.core.events import AlertRaised, Event
from floor.core.floor import Floor
from floor.core.ids import ID_CHARS, Ids, legacy_token
from floor.core.journey import Stage
from floor.core.schedule import Appointment, plan
from floor.hallway import Hallway, wall_alert_id
from floor.ids import secure
from tests.support.floors import snapshot

CLINIC = demo_clinic()
DAY = dt.date(2026, 11, 23)
OPENS = dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC)  # 08:00 in Chicago
ID = re.compile(rf"[va][0-9a-hjkmnp-tv-z]{{{ID_CHARS}}}")


def _walk_in(floor: Floor, at: dt.datetime, name: str = "Pat") -> Event:
    event = floor.decide(BookVisit(name, "kim", "follow", walk_in=True), Tap("ana", "desk-1", at))
    floor.apply(event)
    return event


def _scripted(*draws: str) -> Ids:
    """A source that draws the given strings first (each cut to the length asked), then counts."""
    queue: Iterator[str] = itertools.chain(draws, (f"{n:0{ID_CHARS}d}" for n in itertools.count()))
    return Ids(lambda n: next(queue)[:n].lower())


def test_across_many_days_and_bookings_no_visit_or_alert_id_repeats() -> None:
    ids = secure()  # the production source, one per server
    seen: list[str] = []
    for d in range(20):
        day = DAY + dt.timedelta(days=d)
        floor = Floor(CLINIC, day, seq=d * 1_000, ids=ids)
        at = dt.datetime.combine(day, dt.time(14, 0), dt.UTC)
        seen += [_walk_in(floor, at + dt.timedelta(seconds=i)).visit or "" for i in range(300)]
        # Every one of them waits too long: a dwell alert each.
        seen += [c.alert for c in review(floor, at + dt.timedelta(hours=2))]
    assert len(seen) == 20 * 600
    assert len(set(seen)) == len(seen)
    assert all(ID.fullmatch(i) for i in seen), [i for i in seen if not ID.fullmatch(i)][:3]


def test_an_id_already_on_the_days_floor_is_drawn_again() -> None:
    floor = Floor(CLINIC, DAY, ids=_scripted("aaaaaaaaaaaa", "AAA", "aaaaaaaaaaaa", "bbbbbbbbbbbb", "BBB"))
    first = _walk_in(floor, OPENS).visit
    second = _walk_in(floor, OPENS).visit
    assert (first, second) == ("vaaaaaaaaaaaa", "vbbbbbbbbbbbb")


def test_wall_tokens_are_distinct_among_a_days_visits() -> None:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    events = [_walk_in(floor, OPENS + dt.timedelta(seconds=i)) for i in range(3_000)]
    tokens = [e.change.token for e in events]  # type: ignore[union-attr]
    # 3,000 tokens drawn from 32,768 would repeat about 130 times if they were not drawn again.
    assert len(set(tokens)) == len(tokens)
    assert all(t is not None and re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{3}", t) for t in tokens)
    assert [floor.visits[e.visit or ""].token for e in events] == tokens


def test_a_token_taken_on_the_floor_is_drawn_again() -> None:
    floor = Floor(CLINIC, DAY, ids=_scripted("aaaaaaaaaaaa", "k7q", "bbbbbbbbbbbb", "K7Q", "k7q", "m2x"))
    assert [_walk_in(floor, OPENS).change.token for _ in range(2)] == ["K7Q", "M2X"]  # type: ignore[union-attr]


def test_a_copy_of_the_floor_draws_from_the_same_source() -> None:
    """An import is planned on a deep copy: were its source copied too, the floor would draw the same ids again."""
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    assert copy.deepcopy(floor).ids is floor.ids
    rows = [
        Appointment(
            f"line {n}",
            f"A-{n}",
            "booked",
            OPENS + dt.timedelta(hours=1, minutes=20 * n),
            "kim",
            "follow",
            f"Patient {n}",
        )
        for n in range(3)
    ]
    planned = plan(floor, DAY, rows, Tap("mgr", "desk", OPENS))
    planned_ids = {e.visit for e in planned.events}
    planned_tokens = {e.change.token for e in planned.events}  # type: ignore[union-attr]
    booked = _walk_in(floor, OPENS)  # the plan was not stored: the floor draws on
    assert booked.visit not in planned_ids and booked.change.token not in planned_tokens  # type: ignore[union-attr]


def test_a_floor_built_without_an_id_source_folds_but_does_not_decide() -> None:
    floor = Floor(CLINIC, DAY)
    with pytest.raises(RuntimeError, match="ids="):
        floor.decide(BookVisit("Pat", "kim", "follow", walk_in=True), Tap("ana", "desk-1", OPENS))
    assert snapshot(floor) == snapshot(Floor(CLINIC, DAY)), "the refused decision changed the floor"


def test_an_alert_id_says_nothing_of_its_visit_and_the_wall_shows_the_visits_token() -> None:
    floor = Floor(CLINIC, DAY, ids=Ids.seeded())
    visit = _walk_in(floor, OPENS).visit or ""
    roomed = _walk_in(floor, OPENS, "Roo").visit or ""
    floor.apply(floor.decide(TakeStep(roomed, Stage.roomed, "e1"), Tap("ben", "t1", OPENS)))
    changes = review(floor, OPENS + dt.timedelta(minutes=20))  # one waits to be roomed, one for prep
    raised = {c.visit: c for c in changes if isinstance(c, AlertRaised)}
    assert raised.keys() == {visit, roomed} and len(changes) == 2
    for v, alert in raised.items():
        assert v not in alert.alert and v[1:] not in alert.alert
        floor.apply(floor.record(alert, Tap("floor", "floor", OPENS + dt.timedelta(minutes=20))))
    board = Hallway(CLINIC).board(floor, OPENS + dt.timedelta(minutes=20), [], False)
    tokens = {v.id: v.token for v in floor.visits.values()}
    assert sorted(v.token for v in board.visits) == sorted(tokens.values())
    assert {r.id: r.visit for r in board.rooms if r.visit} == {"e1": tokens[roomed]}
    # The wall knows each alert by its own id (a digest of the internal one), never the internal id.
    assert {a.id: a.visit for a in board.alerts} == {wall_alert_id(raised[v].alert): tokens[v] for v in (visit, roomed)}
    assert not [a for a in floor.alerts if a in msgspec.json.encode(board).decode()], "an alert id on the wall"
    assert not [v for v in tokens if v in msgspec.json.encode(board).decode()], "a visit id on the wall"


#: A day as the Floor before random ids stored it: ids from the seq, no token, alert ids that were their episode.
OLD_LOG = b"""[
 {"seq":7,"at":"2026-11-23T14:00:00Z","day":"2026-11-23","actor":"ana","device":"desk-1","version":1,
  "change":{"type":"visit_booked","visit":"v7","patient_name":"Ann Lee","provider":"kim","visit_type":"follow",
            "start":"2026-11-23T14:00:00Z","walk_in":true,"notes":"","external_id":null,"external_system":null}},
 {"seq":8,"at":"2026-11-23T14:01:00Z","day":"2026-11-23","actor":"ana","device":"desk-1","version":1,
  "change":{"type":"visit_booked","visit":"v8","patient_name":"Bo Chan","provider":"kim","visit_type":"follow",
            "start":"2026-11-23T14:01:00Z","walk_in":true,"notes":"","external_id":null,"external_system":null}},
 {"seq":9,"at":"2026-11-23T14:02:00Z","day":"2026-11-23","actor":"ben","device":"t1","version":2,
  "change":{"type":"step_taken","visit":"v7","step":"roomed","previous":"arrived","room":"e1",
            "without_teach_back":false,"entered_in_error":false}},
 {"seq":10,"at":"2026-11-23T14:20:00Z","day":"2026-11-23","actor":"floor","device":"floor","version":1,
  "change":{"type":"alert_raised","alert":"dwell-v8-arrived-1795442460","kind":"dwell",
            "detail":{"minutes":19.0,"limit":15},"provider":"kim","visit":"v8","stage":"arrived"}},
 {"seq":11,"at":"2026-11-23T14:20:00Z","day":"2026-11-23","actor":"floor","device":"floor","version":1,
  "change":{"type":"alert_raised","alert":"schedule-2026-11-23","kind":"schedule",
            "detail":{"problems":["line 3: provider: unknown provider 'dr-gone'"]}}},
 {"seq":12,"at":"2026-11-23T14:21:00Z","day":"2026-11-23","actor":"dana","device":"office","version":2,
  "change":{"type":"alert_acknowledged","alert":"dwell-v8-arrived-1795442460"}}
]"""


def test_an_old_log_folds_exactly_as_before() -> None:
    events = msgspec.json.decode(OLD_LOG, type=list[Event])
    floor = Floor.fold(CLINIC, DAY, 6, events, Ids.seeded())
    assert floor.seq == 12
    assert list(floor.visits) == ["v7", "v8"]
    assert (floor.visits["v7"].stage, floor.visits["v7"].room, floor.rooms["e1"].visit) == (Stage.roomed, "e1", "v7")
    # The tokens the wall showed for these visits before tokens were stored (the old derivation's output).
    assert [legacy_token("v7"), legacy_token("v8"), legacy_token("v1")] == ["1JY", "RHF", "QVR"]
    assert {v.id: v.token for v in floor.visits.values()} == {"v7": "1JY", "v8": "RHF"}
    board = Hallway(CLINIC).board(floor, OPENS + dt.timedelta(minutes=25), [], False)
    assert {r.id: r.visit for r in board.rooms if r.visit} == {"e1": "1JY"}
    # An old alert's id held its visit's internal id (v8): the wall gets a digest of it instead.
    assert {a.id: a.visit for a in board.alerts} == {
        wall_alert_id("dwell-v8-arrived-1795442460"): "RHF",
        wall_alert_id("schedule-2026-11-23"): None,
    }
    assert "v8" not in msgspec.json.encode(board.alerts).decode()
    dwell = floor.alerts["dwell-v8-arrived-1795442460"]
    assert (dwell.kind, dwell.visit, dwell.stage, dwell.acknowledged_by, dwell.active) == (
        "dwell",
        "v8",
        Stage.arrived,
        "dana",
        True,
    )
    # An old alert is its own episode: the same wait is not raised again under a new id, nor the schedule's day
    # (v7 waiting for prep since it was roomed is a wait of its own).
    assert {"dwell-v8-arrived-1795442460", "schedule-2026-11-23"} <= floor.episodes()
    raised = [c for c in review(floor, OPENS + dt.timedelta(minutes=30)) if isinstance(c, AlertRaised)]
    assert [(c.visit, c.episode) for c in raised] == [("v7", "dwell-v7-roomed-1795442520")]
    # New visits on the old day get ids and tokens of their own, never an old visit's.
    floor.ids = _scripted("000000000000", "1jy", "rhf", "qvr")
    booked = _walk_in(floor, OPENS + dt.timedelta(minutes=30))
    assert (booked.visit, booked.change.token) == ("v000000000000", "QVR")  # type: ignore[union-attr]
