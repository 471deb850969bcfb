"""Random taps, legal and illegal, against a demo-clinic floor: the floor's invariants hold after every tap.

The machine keeps the events it stored (decided without refusal, then applied) and checks that folding them
from scratch rebuilds the live floor exactly, that a refusal changed nothing, and that rooms and visits agree.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import msgspec
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from floor.clock import ManualClock
from floor.config import AppointmentTime, Thresholds, demo_clinic
from floor.core.access import Act, Role, may, may_undo
from floor.core.alerts import DWELL_LIMITS, review
from floor.core.commands import (
    BookVisit,
    Command,
    MarkRoom,
    MoveVisit,
    RescheduleVisit,
    TakeStep,
    Tap,
    UndoRoomMark,
    UndoStep,
)
from floor.core.errors import Refusal, Why
from floor.core.events import (
    Event,
    RoomMarked,
    RoomMarkUndone,
    StepTaken,
    StepUndone,
    VisitMoved,
    VisitRescheduled,
    WalkInRemoved,
)
from floor.core.floor import MOVABLE, Floor
from floor.core.ids import Ids
from floor.core.journey import ENDS, IN_ROOM, PATH, STEPS, Stage, allowed_steps, enters_room
from floor.core.learning import learn
from floor.core.measures import measure
from floor.core.projection import project
from floor.core.rooms import RoomAction, RoomState
from floor.replay import ALERT_EVENTS
from tests.support.floors import snapshot

pytestmark = pytest.mark.long

CLINIC = demo_clinic()
TZ = CLINIC.tz
DAY = dt.date(2025, 3, 12)
OPENS = dt.datetime(2025, 3, 12, 8, 0, tzinfo=TZ)
ROOM_IDS = [r.id for r in CLINIC.rooms]
PROVIDERS = [p.id for p in CLINIC.providers]
VISIT_TYPES = [v.code for v in CLINIC.visit_types]
ACTORS = ["ana", "ben", "cruz"]
DEVICES = ["desk-1", "tablet-east", "tablet-west"]

#: The order in which a visit reaches stages; a visit reaches at most one end, always last.
STAGE_ORDER = {s: i for i, s in enumerate(PATH[:-1])} | {s: len(PATH) for s in ENDS}

picks = st.integers(min_value=0, max_value=40)
#: Minutes ago a late tap says (mostly none; some out of range).
minutes_agos = st.sampled_from([0, 0, 0, 3, 20, 61])
versions = st.one_of(st.none(), st.just("current"), st.integers(min_value=0, max_value=12))
rooms_or_none = st.one_of(st.none(), st.sampled_from([*ROOM_IDS, "x9"]))


class FloorMachine(RuleBasedStateMachine):
    #: Outcomes over every run of the machine, so a test can check the rules actually exercised the floor.
    totals: Counter[str] = Counter()
    clinic = CLINIC

    def __init__(self) -> None:
        super().__init__()
        self.floor = Floor(self.clinic, DAY, ids=Ids.seeded())
        self.clock = ManualClock(OPENS)
        self.stored: list[Event] = []

    # -- helpers ----------------------------------------------------------------------------------------------

    def tap(
        self, command: Command, actor: str = "ana", device: str = "desk-1", role: Role | None = None
    ) -> Event | None:
        """Decide the command; store and apply the event, or check the refusal changed nothing."""
        before = snapshot(self.floor)
        tap = Tap(actor, device, self.clock.now(), role)
        self.refused = None
        try:
            ev = self.floor.decide(command, tap)
        except Refusal as refusal:
            assert isinstance(refusal.why, Why)
            assert snapshot(self.floor) == before, f"refused {command!r} changed the floor"
            self.note(f"refused {refusal.why.value}")
            self.refused = refusal.why
            return None
        assert snapshot(self.floor) == before, f"deciding {command!r} changed the floor"
        last = self.stored[-1].at if self.stored else None
        assert ev.seq == self.floor.seq + 1
        assert ev.at == (tap.now if last is None else max(tap.now, last))
        assert (ev.actor, ev.device, ev.day) == (actor, device, DAY)
        if last is not None and tap.now < last:
            self.note("clock behind, time held")
        previewed = self.floor.preview(ev)
        assert snapshot(self.floor) == before, f"preview of {ev!r} changed the floor"
        touched = self.floor.apply(ev)
        assert msgspec.to_builtins(previewed) == msgspec.to_builtins(touched)
        self.stored.append(ev)
        self.note(f"accepted {ev.type}")
        if isinstance(ev.change, StepUndone) and ev.change.room is not None and not enters_room(ev.change.step):
            self.note("accepted undo back into a room")
        return ev

    def note(self, outcome: str) -> None:
        if currently_in_test_context():  # the machine is also driven by hand, outside Hypothesis
            event(outcome)
        FloorMachine.totals[outcome] += 1

    def visit_id(self, pick: int, *, latest_first: bool = False) -> str:
        """One of today's visits (the last tapped first, if asked), or (one time in n+1) an id nobody booked."""
        ids = list(self.floor.visits)
        if latest_first:
            last_tap = {e.visit: e.seq for e in self.stored if e.visit is not None}
            ids.sort(key=last_tap.__getitem__, reverse=True)
        i = pick % (len(ids) + 1)
        return ids[i] if i < len(ids) else f"v{900 + pick}"

    def ready_rooms(self) -> list[str]:
        """Ready rooms, the most used first, so rooms are reused (and undoing a checkout can find its room taken)."""
        rooms = sorted(self.floor.rooms.values(), key=lambda r: r.version, reverse=True)
        return [r.id for r in rooms if r.state is RoomState.ready]

    @staticmethod
    def clinic_day(at: dt.datetime) -> dt.date:
        return at.astimezone(TZ).date()

    def version(self, visit: str, choice: int | str | None) -> int | None:
        if choice == "current":
            v = self.floor.visits.get(visit)
            return v.version if v else 1
        return choice

    # -- the clock --------------------------------------------------------------------------------------------

    @rule(
        minutes=st.integers(min_value=0, max_value=20),
        seconds=st.integers(min_value=0, max_value=59),
        back=st.integers(min_value=0, max_value=5),
    )
    def time_passes(self, minutes: int, seconds: int, back: int) -> None:
        """The clock moves on; one time in six it steps back instead (an NTP correction, a restarted host)."""
        self.clock.advance(minutes=-minutes if back == 0 else minutes, seconds=seconds)

    # -- the server's own look at the floor ----------------------------------------------------------------

    @rule()
    def the_server_reviews_the_alerts(self) -> None:
        """The server's review now (its clock, which may be behind the last tap): the alert changes it decides,
        stored and applied like taps. Whatever the taps made of the floor, it is projected and alerted on."""
        now = self.clock.now()
        for change in review(self.floor, now):
            ev = self.floor.record(change, Tap("floor", "server", now))
            self.floor.apply(ev)
            self.stored.append(ev)
            self.note(f"alert {type(change).__name__} {self.floor.alerts[change.alert].kind}")
        # A patient has a dwell alert up exactly while their stay in the stage is past its limit, as of the
        # floor's time (a clock behind it once cleared the alert for good).
        at = max(now, self.floor.last_at) if self.floor.last_at else now
        up = {a.visit for a in self.floor.alerts.values() if a.active and a.kind == "dwell"}
        for v in self.floor.visits.values():
            limit = DWELL_LIMITS.get(v.stage)
            past = limit is not None and at - v.times[v.stage] >= dt.timedelta(
                minutes=getattr(self.clinic.thresholds, limit)
            )
            assert (v.id in up) == past, f"{v.id} {v.stage} since {v.times[v.stage]}, at {at}: alert up {v.id in up}"

    # -- taps -------------------------------------------------------------------------------------------------

    @initialize(progress=st.lists(st.integers(min_value=0, max_value=len(PATH) - 1), max_size=6))
    def a_morning_so_far(self, progress: list[int]) -> None:
        """Start from a floor already in use: one visit per entry, taken that many steps down the happy path."""
        for i, steps in enumerate(progress):
            self.clock.advance(minutes=2)
            start = OPENS + dt.timedelta(minutes=20 * i)
            booked = self.tap(BookVisit(f"Early {i}", PROVIDERS[i % 4], VISIT_TYPES[i % 4], start=start))
            visit = booked.change.visit
            for step in PATH[1 : steps + 1]:
                self.clock.advance(minutes=1)
                room = self.ready_rooms()[0] if enters_room(step) else None
                assert self.tap(TakeStep(visit, step, room)) is not None
        self.note("started with a visit gone from its room" if len(PATH) - 1 in progress else "started")

    @rule(
        provider=st.sampled_from([*PROVIDERS, "nobody"]),
        visit_type=st.sampled_from([*VISIT_TYPES, "bogus"]),
        walk_in=st.booleans(),
        day_offset=st.sampled_from([0, 0, 0, 0, 1, -1]),
        hour=st.integers(min_value=0, max_value=23),
        naive=st.booleans(),
        no_start=st.integers(min_value=0, max_value=9),
        actor=st.sampled_from(ACTORS),
        minutes_ago=minutes_agos,
    )
    def book(
        self,
        provider: str,
        visit_type: str,
        walk_in: bool,
        day_offset: int,
        hour: int,
        naive: bool,
        no_start: int,
        actor: str,
        minutes_ago: int = 0,
    ) -> None:
        """A scheduled visit (with a start on the clinic day or not, aware or naive, or none) or a walk-in."""
        start: dt.datetime | None = dt.datetime.combine(
            DAY + dt.timedelta(days=day_offset), dt.time(hour), tzinfo=None if naive else TZ
        )
        if no_start == 0:
            start = None
        ev = self.tap(
            BookVisit("Pat", provider, visit_type, start=start, walk_in=walk_in, minutes_ago=minutes_ago), actor
        )
        if ev is not None:
            visit = self.floor.visits[ev.change.visit]
            assert ev.version == visit.version == 1
            if walk_in:
                came = ev.at - dt.timedelta(minutes=minutes_ago)  # added late: here since they came
                assert (visit.stage, visit.start, visit.times[Stage.arrived], visit.steps) == (
                    Stage.arrived,
                    came,
                    came,
                    [],
                )
                assert ev.change.happened == (came if minutes_ago else None)
                if minutes_ago:
                    self.note("accepted a walk-in added late")
            else:
                assert visit.stage is Stage.scheduled
                assert self.clinic_day(visit.start) == DAY
                if naive:
                    assert visit.start.replace(tzinfo=None) == start

    @rule(
        appointment=st.integers(min_value=0, max_value=4),
        provider=st.sampled_from(PROVIDERS),
        hour=st.integers(min_value=7, max_value=17),
    )
    def book_from_schedule(self, appointment: int, provider: str, hour: int) -> None:
        """A schedule import books an appointment: once only, whatever its provider or time."""
        external_id = f"appt-{appointment}"
        twin = self.floor.by_external_id(external_id)
        start = dt.datetime.combine(DAY, dt.time(hour), tzinfo=TZ)
        ev = self.tap(BookVisit("Imported", provider, VISIT_TYPES[0], start=start, external_id=external_id))
        assert (ev is None) == (twin is not None), f"{external_id} booked twice or refused the first time"
        if ev is None:
            assert self.refused is Why.taken
        else:
            assert self.floor.visits[ev.change.visit].external_id == external_id

    @rule(
        pick=picks,
        provider=st.sampled_from([*PROVIDERS, "nobody"]),
        hour=st.integers(min_value=0, max_value=23),
        day_offset=st.sampled_from([0, 0, 0, 1]),
        version=versions,
        role=st.sampled_from([None, *Role]),
    )
    def reschedule(
        self, pick: int, provider: str, hour: int, day_offset: int, version: int | str | None, role: Role | None
    ) -> None:
        """Move a visit to another time or provider: only while it is scheduled, only on today, only by staff
        who may book."""
        visit_id = self.visit_id(pick)
        before = self.floor.visits.get(visit_id)
        before = msgspec.structs.replace(before) if before else None
        start = dt.datetime.combine(DAY + dt.timedelta(days=day_offset), dt.time(hour), tzinfo=TZ)
        expected = self.version(visit_id, version)
        ev = self.tap(
            RescheduleVisit(visit_id, start, provider, VISIT_TYPES[1], expected_version=expected), "ana", "desk-1", role
        )
        if ev is None:
            return
        assert role is None or may(role, Act.book)
        assert before is not None and before.stage is Stage.scheduled and provider in PROVIDERS and day_offset == 0
        assert isinstance(ev.change, VisitRescheduled)
        assert (ev.change.previous_start, ev.change.previous_provider) == (before.start, before.provider)
        after = self.floor.visits[visit_id]
        assert (after.start, after.provider, after.stage, after.version) == (
            start,
            provider,
            Stage.scheduled,
            before.version + 1,
        )

    @rule(
        pick=picks,
        provider=st.sampled_from([*PROVIDERS, "nobody"]),
        version=versions,
        role=st.sampled_from([None, *Role]),
    )
    def move(self, pick: int, provider: str, version: int | str | None, role: Role | None) -> None:
        """Send a patient to another provider: only one who is here and waiting (or booked on the floor and not yet
        come: booked with the other instead), only to another of the clinic's providers, only by the desk or a
        manager; the patient keeps their stage, room and booked time."""
        visit_id = self.visit_id(pick, latest_first=True)
        before = self.floor.visits.get(visit_id)
        before = msgspec.structs.replace(before) if before else None
        ev = self.tap(MoveVisit(visit_id, provider, self.version(visit_id, version)), "ana", "desk-1", role)
        if ev is None:
            return
        assert role is None or may(role, Act.move_visit)
        assert before is not None and provider in PROVIDERS and provider != before.provider
        after = self.floor.visits[visit_id]
        if before.stage is Stage.scheduled:
            assert before.external_id is None and isinstance(ev.change, VisitRescheduled)
            assert (after.provider, after.moved_from, after.start, after.stage) == (
                provider,
                None,
                before.start,
                before.stage,
            )
            return
        assert before.stage in MOVABLE
        assert isinstance(ev.change, VisitMoved) and ev.change.previous_provider == before.provider
        assert (after.provider, after.version) == (provider, before.version + 1)
        kept = (after.stage, after.room, after.start, after.times)
        assert kept == (before.stage, before.room, before.start, before.times)
        booked_with = before.moved_from or before.provider
        assert after.moved_from == (None if before.walk_in or provider == booked_with else booked_with)
        assert (after.moved_at, after.moves) == (ev.at, before.moves + 1)

    @rule(
        pick=picks,
        step=st.sampled_from(STEPS),
        room=rooms_or_none,
        version=versions,
        device=st.sampled_from(DEVICES),
        minutes_ago=minutes_agos,
    )
    def any_step(
        self, pick: int, step: Stage, room: str | None, version: int | str | None, device: str, minutes_ago: int = 0
    ) -> None:
        visit = self.visit_id(pick)
        ev = self.take(visit, step, room, self.version(visit, version), device, minutes_ago)
        if ev is not None and minutes_ago:
            happened = ev.at - dt.timedelta(minutes=minutes_ago)
            assert ev.change.happened == happened == self.floor.visits[visit].times[step]
            self.note("accepted a step tapped late")

    @rule(
        pick=st.integers(min_value=0, max_value=3),
        branch=st.integers(min_value=0, max_value=9),
        room_pick=st.integers(min_value=0, max_value=4),
        busy_room=st.integers(min_value=0, max_value=5),
        current_version=st.booleans(),
        device=st.sampled_from(DEVICES),
    )
    def journey_step(
        self, pick: int, branch: int, room_pick: int, busy_room: int, current_version: bool, device: str
    ) -> None:
        """A step the journey allows, mostly along the happy path (a small branch takes another option);
        rooming into a ready room, except when busy_room is 0: then into a room that is not ready."""
        # Most advanced first, so that small picks (which Hypothesis favours) carry visits to the end.
        open_visits = sorted(
            (v for v in self.floor.visits.values() if allowed_steps(v.stage)),
            key=lambda v: STAGE_ORDER[v.stage],
            reverse=True,
        )
        if not open_visits:
            return
        visit = open_visits[pick % len(open_visits)]
        options = allowed_steps(visit.stage)
        step = options[branch] if branch < len(options) else options[0]
        room, into_busy_room = None, False
        if enters_room(step):
            ready = self.ready_rooms()
            busy = [r.id for r in self.floor.rooms.values() if r.state is not RoomState.ready]
            into_busy_room = bool(busy) and (busy_room == 0 or not ready)
            candidates = busy if into_busy_room else ready
            room = candidates[room_pick % len(candidates)]
        ev = self.take(visit.id, step, room, visit.version if current_version else None, device)
        assert (ev is None) == into_busy_room, "a step the journey allows is refused only for a busy room"

    @rule(pick=st.integers(min_value=0, max_value=3), room_pick=st.integers(min_value=0, max_value=2))
    def room_a_waiting_patient(self, pick: int, room_pick: int) -> None:
        """Room someone who is waiting, into one of the most used ready rooms (rooms get reused)."""
        waiting = [v for v in self.floor.visits.values() if v.stage is Stage.arrived]
        ready = self.ready_rooms()
        if waiting and ready:
            visit = waiting[pick % len(waiting)]
            room = ready[room_pick % len(ready)]
            assert self.take(visit.id, Stage.roomed, room, visit.version, "tablet-east") is not None
            assert (visit.room, self.floor.rooms[room].visit) == (room, visit.id)

    def take(
        self, visit: str, step: Stage, room: str | None, version: int | None, device: str, minutes_ago: int = 0
    ) -> Event | None:
        before = self.floor.visits.get(visit)
        before = msgspec.structs.replace(before) if before else None
        ev = self.tap(TakeStep(visit, step, room, version, minutes_ago=minutes_ago), "cruz", device)
        if ev is not None:
            assert isinstance(ev.change, StepTaken)
            assert ev.change.previous is before.stage
            assert ev.version == before.version + 1
            assert ev.change.without_teach_back == (step is Stage.checked_out and before.stage is Stage.provider_in)
            if before.stage in IN_ROOM and step not in IN_ROOM:
                assert ev.change.room == before.room
                assert self.floor.rooms[before.room].state is RoomState.turnover
        return ev

    @rule(pick=st.integers(min_value=0, max_value=6), version=versions)
    def undo(self, pick: int, version: int | str | None) -> None:
        visit = self.visit_id(pick, latest_first=True)
        self.take_back(visit, self.version(visit, version))

    @rule(
        pick=picks,
        step=st.sampled_from([*STEPS, "undo"]),
        role=st.sampled_from(list(Role)),
        actor=st.sampled_from(ACTORS),
    )
    def tap_in_a_role(self, pick: int, step: Stage | str, role: Role, actor: str) -> None:
        """Signed-in staff tap: each role only its own steps, an undo only its own tap (managers anything)."""
        visit = self.visit_id(pick, latest_first=True)
        command: Command
        if step == "undo":
            current = self.floor.visits.get(visit)
            last = current.steps[-1] if current is not None and current.steps else None
            permitted = last is None or may_undo(role, actor, last.by)
            if last is None and current is not None and current.walk_in and current.stage is Stage.arrived:
                permitted = may_undo(role, actor, current.booked_by)  # the walk-in's booking: taken off the floor
            command = UndoStep(visit)
        else:
            ready = self.ready_rooms()
            room = ready[0] if enters_room(step) and ready else None
            permitted = may(role, step)
            command = TakeStep(visit, step, room)
        ev = self.tap(command, actor, "tablet-west", role)
        if permitted:
            assert self.refused is not Why.forbidden, f"{role} {actor} may {command!r}"
        else:
            assert ev is None and self.refused is Why.forbidden, f"{role} {actor} may not {command!r}"

    @rule(pick=st.integers(min_value=0, max_value=3))
    def undo_a_departure(self, pick: int) -> None:
        """Undo the step that took a visit out of its room, whether or not the room has been taken since."""
        gone = [
            v
            for v in self.floor.visits.values()
            if v.steps and v.steps[-1].room is not None and not enters_room(v.steps[-1].step)
        ]
        if gone:
            visit = gone[pick % len(gone)]
            room = self.floor.rooms[visit.steps[-1].room]
            free = room.state in (RoomState.turnover, RoomState.ready)
            ev = self.take_back(visit.id, None)
            assert (ev is not None) == free, f"undo into a {room.state} room: {ev}"
            if ev is not None:
                assert (room.visit, visit.room) == (visit.id, room.id)

    def take_back(self, visit: str, version: int | None) -> Event | None:
        before = self.floor.visits.get(visit)
        last = before.steps[-1] if before and before.steps else None
        ev = self.tap(UndoStep(visit, version), "ana", "tablet-east")
        if ev is not None and last is None:
            # A walk-in with no step: its booking is undone, the walk-in taken off the floor.
            assert isinstance(ev.change, WalkInRemoved) and before is not None and before.walk_in
            assert self.floor.visits[visit].stage is Stage.cancelled and self.floor.visits[visit].entered_in_error
        elif ev is not None:
            assert isinstance(ev.change, StepUndone)
            assert (ev.change.undone_seq, ev.change.step, ev.change.stage) == (last.seq, last.step, last.previous)
            assert self.floor.visits[visit].stage is last.previous
            assert any(e.seq == last.seq for e in self.stored), "the undone event must stay in the log"
        return ev

    @rule(
        room=st.sampled_from([*ROOM_IDS, "x9"]),
        action=st.sampled_from(list(RoomAction)),
        device=st.sampled_from(DEVICES),
        behind=st.sampled_from([None, 0, 1]),
    )
    def mark_room(self, room: str, action: RoomAction, device: str, behind: int | None = None) -> None:
        """Mark a room, unchecked (None) or on the version a screen saw `behind` versions ago."""
        current = self.floor.rooms.get(room)
        seen = current.version - behind if current is not None and behind is not None else None
        reason = "random" if action is RoomAction.blocked else ""
        ev = self.tap(MarkRoom(room, action, reason, seen), "ben", device)
        if ev is not None:
            assert ev.version == self.floor.rooms[room].version
            assert self.floor.rooms[room].visit is None
            assert not behind, "a mark on a room changed since it was seen was taken"
        elif current is not None and behind:
            assert self.refused is Why.stale_version

    @rule(room=st.sampled_from([*ROOM_IDS, "x9"]), role=st.sampled_from([None, *Role]), actor=st.sampled_from(ACTORS))
    def undo_room_mark(self, room: str, role: Role | None, actor: str) -> None:
        """Undo a room's last mark: the room is as it was before it, only while nothing else changed the room, and
        only for who marked it or a manager."""
        current = self.floor.rooms.get(room)
        mark = current.undoable_mark() if current is not None else None
        prior = (mark.previous, mark.previous_since) if mark is not None else None
        ev = self.tap(UndoRoomMark(room), actor, "tablet-east", role)
        if mark is None:
            assert ev is None and self.refused in (Why.not_found, Why.nothing_to_undo)
        elif role is not None and not may_undo(role, actor, mark.by):
            assert ev is None and self.refused is Why.forbidden
        else:
            assert ev is not None, self.refused
            after = self.floor.rooms[room]
            assert (after.state, after.since, after.visit, after.last_mark) == (*prior, None, None)

    @rule(pick=picks)
    def tidy_room(self, pick: int) -> None:
        """Clean a room in turnover, or unblock a blocked one."""
        rooms = [r for r in self.floor.rooms.values() if r.state in (RoomState.turnover, RoomState.blocked)]
        if rooms:
            room = rooms[pick % len(rooms)]
            action = RoomAction.ready if room.state is RoomState.turnover else RoomAction.unblocked
            assert self.tap(MarkRoom(room.id, action), "ben", "tablet-west") is not None
            assert room.state is RoomState.ready

    # -- invariants -------------------------------------------------------------------------------------------

    @invariant()
    def rooms_and_visits_agree(self) -> None:
        holders: Counter[str] = Counter()
        for v in self.floor.visits.values():
            if v.stage in IN_ROOM:
                assert v.room is not None, f"{v.id} is {v.stage} without a room"
                room = self.floor.rooms[v.room]
                assert room.visit == v.id and room.state is RoomState.occupied
                holders[v.room] += 1
            else:
                assert v.room is None, f"{v.id} is {v.stage} but holds {v.room}"
        assert all(n == 1 for n in holders.values()), holders
        for room in self.floor.rooms.values():
            assert (room.state is RoomState.occupied) == (room.visit is not None), room
            if room.visit is not None:
                assert self.floor.visits[room.visit].room == room.id

    @invariant()
    def visits_are_where_their_steps_took_them(self) -> None:
        for v in self.floor.visits.values():
            booked_at = Stage.arrived if v.walk_in else Stage.scheduled
            if v.walk_in and v.entered_in_error:  # taken off the floor, booked by mistake
                assert (v.stage, v.steps, set(v.times)) == (Stage.cancelled, [], {Stage.arrived, Stage.cancelled})
                continue
            assert v.stage is (v.steps[-1].step if v.steps else booked_at)
            if v.steps:
                assert v.steps[0].previous is booked_at
            assert set(v.times) == {booked_at, *(s.step for s in v.steps)}
            assert v.without_teach_back == (v.stage is Stage.checked_out and Stage.teach_back_done not in v.times)
            reached = sorted(v.times, key=STAGE_ORDER.__getitem__)
            assert sum(s in ENDS for s in reached) <= 1
            # The booking is no step: a patient may have come before their visit was booked (a step tapped late).
            times = [v.times[s] for s in reached if s is not Stage.scheduled]
            assert times == sorted(times), f"{v.id} stage times go backwards: {v.times}"
            assert [s.at for s in v.steps] == sorted(s.at for s in v.steps)

    @invariant()
    def a_moved_patient_came_and_is_with_another_provider_than_booked(self) -> None:
        for v in self.floor.visits.values():
            if v.moved_from is not None:
                assert v.stage is not Stage.scheduled and not v.walk_in and v.moved_from != v.provider

    @invariant()
    def the_log_is_gap_free_and_in_time_order(self) -> None:
        assert [e.seq for e in self.stored] == list(range(1, len(self.stored) + 1))
        assert self.floor.seq == len(self.stored)
        ats = [e.at for e in self.stored]
        assert ats == sorted(ats)
        assert self.floor.last_at == (ats[-1] if ats else None)

    @invariant()
    def versions_count_the_events(self) -> None:
        taps = [e for e in self.stored if not isinstance(e.change, ALERT_EVENTS)]  # an alert names its visit
        per_visit = Counter(e.visit for e in taps if e.visit is not None)
        for v in self.floor.visits.values():
            assert v.version == per_visit[v.id]
        room_changes = RoomMarked | RoomMarkUndone | StepTaken | StepUndone
        per_room = Counter(e.change.room for e in taps if isinstance(e.change, room_changes) and e.change.room)
        for room in self.floor.rooms.values():
            assert room.version == per_room[room.id]

    @invariant()
    def the_floor_is_projected_measured_and_learned_from(self) -> None:
        """Every provider's projection, the alerts, the measures and what a later day learns from this one, on any
        floor the taps made; and on the same log folded under a clinic file that has since lost a visit type,
        a provider and a room (the projection once failed on a visit whose type the file no longer had, the fold
        on a room it no longer had)."""
        now = self.clock.now()
        fewer = msgspec.structs.replace(
            self.clinic,
            visit_types=self.clinic.visit_types[1:],
            providers=self.clinic.providers[:-1],
            rooms=self.clinic.rooms[1:],
        )
        changed = Floor.fold(fewer, DAY, 0, self.stored, Ids.seeded("restarted"))
        for floor in (self.floor, changed):
            for provider in floor.clinic.providers:
                projection = project(floor, provider.id, now)
                assert all(p.visit in floor.visits for p in projection.visits)
            measured = measure(floor, now)
            assert measured.clinic.booked == sum(not v.entered_in_error for v in floor.visits.values())
            learn(floor.clinic, [floor])
        review(changed, now)

    @invariant()
    def folding_the_stored_events_rebuilds_the_floor(self) -> None:
        assert snapshot(Floor.fold(self.clinic, DAY, 0, self.stored)) == snapshot(self.floor)


#: The same runs every time (derandomized, no example database): a run that by chance never accepted a walk-in
#: added late failed the coverage check below now and then (seen twice by helpers on a loaded machine), a CI
#: failure unrelated to any change. New runs are explored by changing the seed here, not by chance in CI.
MACHINE_SETTINGS = settings(
    max_examples=200,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    database=None,
)


class ProviderTimeMachine(FloorMachine):
    """The same taps in a clinic whose booked time is the provider's, whose cascade is one visit a minute late,
    and whose patients may wait a minute in any stage: its reviews raise cascades as well as dwell alerts."""

    clinic = msgspec.structs.replace(
        CLINIC,
        session=msgspec.structs.replace(CLINIC.session, appointment_time=AppointmentTime.provider),
        thresholds=Thresholds(1, 1, 1, 1, cascade_visits=1, cascade_minutes=1, turnover=1),
    )


def test_random_taps_keep_the_floor_consistent_where_the_booked_time_is_the_providers() -> None:
    FloorMachine.totals = Counter()  # what note() counts, whichever machine
    run_state_machine_as_test(ProviderTimeMachine, settings=settings(MACHINE_SETTINGS, max_examples=100))
    totals = FloorMachine.totals
    assert totals["alert AlertRaised cascade"], dict(totals)


def test_random_taps_keep_the_floor_consistent() -> None:
    FloorMachine.totals = Counter()
    run_state_machine_as_test(FloorMachine, settings=MACHINE_SETTINGS)
    totals = FloorMachine.totals
    # The run must have exercised the floor, not just been refused. Only outcomes that every run produces many
    # times are required here (the rare ones are driven by hand in the tests below), so this does not flake.
    accepted = [
        "booked",
        "walk_in",
        "visit_rescheduled",
        "visit_moved",
        "arrived",
        "roomed",
        "prep_done",
        "provider_in",
        "teach_back_done",
        "checked_out",
        "left_without_being_seen",
        "undo",
        "room_ready",
        "room_blocked",
        "room_unblocked",
    ]
    missing = [f"accepted {k}" for k in accepted if not totals[f"accepted {k}"]]
    rare = {Why.room_unavailable}
    edge_only = {Why.unauthenticated, Why.taken}  # sign-in and staff management
    missing += [f"refused {w.value}" for w in Why if w not in rare | edge_only and not totals[f"refused {w.value}"]]
    missing += [
        k
        for k in (
            "clock behind, time held",
            "accepted undo back into a room",
            "alert AlertRaised dwell",
            "alert AlertCleared dwell",
            "accepted a walk-in added late",
        )
        if not totals[k]
    ]
    assert not missing, f"never happened: {missing} (totals {dict(totals)})"


def _check(machine: FloorMachine) -> None:
    machine.rooms_and_visits_agree()
    machine.visits_are_where_their_steps_took_them()
    machine.the_log_is_gap_free_and_in_time_order()
    machine.versions_count_the_events()
    machine.folding_the_stored_events_rebuilds_the_floor()


def _types(machine: FloorMachine) -> list[str]:
    return [e.type for e in machine.stored]


def test_the_machine_walks_a_visit_through_the_whole_journey_and_back_into_its_room() -> None:
    machine = FloorMachine()
    machine.a_morning_so_far([])
    machine.book("kim", "new", False, 0, 9, False, 1, "ana", 0)
    for _ in PATH[1:]:  # the first allowed step each time: the happy path, rooming in the first ready room, e1
        machine.time_passes(3, 0, 1)
        machine.journey_step(0, 0, 0, 1, True, "desk-1")
        _check(machine)
    (visit,) = machine.floor.visits.values()
    assert visit.stage is Stage.checked_out
    assert list(visit.times) == list(PATH)
    assert machine.floor.rooms["e1"].state is RoomState.turnover
    machine.time_passes(30, 0, 0)  # back
    machine.undo(0, "current")
    assert visit.stage is Stage.teach_back_done
    assert machine.floor.rooms["e1"].visit == visit.id
    machine.mark_room("e1", RoomAction.blocked, "desk-1")  # refused: occupied
    _check(machine)
    assert _types(machine) == [
        "booked",
        "arrived",
        "roomed",
        "prep_done",
        "provider_in",
        "teach_back_done",
        "checked_out",
        "undo",
    ]
    assert machine.stored[-1].at == machine.stored[-2].at, "the clock stepped back; the undo keeps the last time"
    machine.teardown()


def test_the_machine_rules_reach_rooms_refusals_and_the_other_ends() -> None:
    machine = FloorMachine()

    def outcome(rule, *args) -> str:  # the machine's own tally says what the tap came to
        before = Counter(FloorMachine.totals)
        rule(*args)
        _check(machine)
        return ", ".join(sorted((FloorMachine.totals - before).elements()))

    m = machine
    m.a_morning_so_far([0, 0, 0])  # v1, v2, v3, scheduled
    assert outcome(m.book, "okafor", "new", True, 0, 9, False, 1, "ben", 0) == "refused invalid"  # a walk-in's start
    assert outcome(m.book, "okafor", "new", True, 0, 9, False, 0, "ben", 0) == "accepted walk_in"  # v4, arrived
    v1, _, _, v4 = m.floor.visits  # in booking order
    # journey_step picks among open visits, most advanced first: v4 then v1, v2, v3.
    assert outcome(m.journey_step, 0, 0, 0, 1, True, "desk-1") == "accepted roomed"  # v4 in e1
    assert outcome(m.journey_step, 3, 1, 0, 1, False, "desk-1") == "accepted no_show"  # v3
    assert outcome(m.journey_step, 2, 2, 0, 1, False, "desk-1") == "accepted cancelled"  # v2
    assert outcome(m.journey_step, 1, 0, 0, 1, False, "desk-1") == "accepted arrived"  # v1
    assert outcome(m.journey_step, 1, 0, 0, 0, False, "desk-1") == "refused room_unavailable"  # v1 into e1
    # any_step picks among all visits in booking order, the fifth pick being an unknown id.
    assert outcome(m.any_step, 0, Stage.arrived, None, None, "desk-1") == "refused illegal_step"  # v1 again
    assert outcome(m.any_step, 4, Stage.arrived, None, None, "desk-1") == "refused not_found"
    assert outcome(m.any_step, 3, Stage.prep_done, "e1", "current", "desk-1") == "refused invalid"  # v4 + room
    assert outcome(m.any_step, 3, Stage.prep_done, None, 99, "desk-1") == "refused stale_version"
    assert outcome(m.any_step, 3, Stage.prep_done, None, "current", "desk-1") == "accepted prep_done"
    # undo picks the last tapped visit first.
    assert outcome(m.undo, 0, "current") == "accepted undo"  # v4's prep done
    assert outcome(m.journey_step, 0, 1, 0, 1, True, "desk-1") == "accepted left_without_being_seen"  # v4 from e1
    assert m.floor.rooms["e1"].state is RoomState.turnover
    assert outcome(m.undo, 0, None) == "accepted undo, accepted undo back into a room"
    assert m.floor.rooms["e1"].visit == v4
    assert outcome(m.undo, 0, None) == "accepted undo"  # v4's rooming: e1 ready again
    assert outcome(m.mark_room, "e1", RoomAction.ready, "desk-1") == "refused illegal_step"
    assert outcome(m.mark_room, "x9", RoomAction.ready, "desk-1") == "refused not_found"
    assert outcome(m.mark_room, "e2", RoomAction.blocked, "desk-1", 0) == "accepted room_blocked"
    assert outcome(m.mark_room, "e2", RoomAction.unblocked, "desk-1", 1) == "refused stale_version"
    assert outcome(m.tidy_room, 0) == "accepted room_unblocked"
    assert outcome(m.journey_step, 0, 0, 0, 1, True, "desk-1") == "accepted roomed"  # v1 (first arrived) into e1
    assert m.floor.rooms["e1"].visit == v1
    for step, branch in (("prep_done", 0), ("provider_in", 0), ("checked_out", 1)):  # skipping the teach-back
        assert outcome(m.journey_step, 0, branch, 0, 1, True, "desk-1") == f"accepted {step}"
    assert m.floor.visits[v1].without_teach_back
    assert outcome(m.tidy_room, 0) == "accepted room_ready"
    assert all(r.state is RoomState.ready for r in m.floor.rooms.values())
    assert outcome(m.room_a_waiting_patient, 0, 0) == "accepted roomed"  # v4 into the most used room, e1
    assert m.floor.rooms["e1"].visit == v4
    # move picks the last tapped visit first: v4, roomed with okafor, goes to kim in its room.
    assert outcome(m.move, 0, "kim", "current", Role.front_desk) == "accepted visit_moved"
    assert (m.floor.visits[v4].provider, m.floor.rooms["e1"].visit) == ("kim", v4)
    assert outcome(m.move, 0, "kim", None, None) == "refused invalid"  # already with kim
    assert outcome(m.move, 0, "okafor", None, Role.medical_assistant) == "refused forbidden"
    assert outcome(m.move, 0, "okafor", 1, None) == "refused stale_version"
    assert outcome(m.undo_a_departure, 0) == "refused room_unavailable"  # v1's checkout: e1 is taken
    assert m.floor.visits[v1].stage is Stage.checked_out
    assert outcome(m.book, "nobody", "new", False, 0, 9, False, 1, "ana") == "refused invalid"
    assert outcome(m.book, "kim", "new", False, 1, 9, False, 1, "ana") == "refused invalid"
    assert outcome(m.book, "kim", "new", False, 0, 9, True, 1, "ana") == "accepted booked"
    assert m.floor.visits[m.stored[-1].change.visit].start == dt.datetime(2025, 3, 12, 9, 0, tzinfo=TZ)
    # A walk-in booked by mistake: undoing its booking takes it off the floor, and that is the last undo.
    assert outcome(m.book, "okafor", "new", True, 0, 9, False, 0, "ben", 0) == "accepted walk_in"
    assert outcome(m.undo, 0, None) == "accepted walk_in_removed"
    assert outcome(m.undo, 0, None) == "refused nothing_to_undo"
