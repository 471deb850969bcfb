"""The hallway projection: what a public wall display may show.

Hallways are public, so these structs have no field that could hold a patient's name, date of birth or
record number: visits appear by room, stage, times, provider initials and a short token drawn at random
when the visit was booked (not from the patient, nor from its id). Every text here comes from the clinic's
configuration or an enum, but for a blocked room's reason, which staff write for the hallway ("sink leaking").

A display paired to one zone gets that zone's part of the floor, filtered here on the server (`zone=`): the
zone's rooms; the visits in them and the visits in no room yet (the waiting room is every zone's); the alerts
about those visits, and the alerts about no visit (a provider running late, a schedule not booked). Visits
and rooms of other zones, and their alerts, are never sent to it; a visit that goes to another zone's room is
sent as `gone` (its token), so the wall forgets it. Providers' delays and presence go to every wall of the
clinic (providers are not tied to a zone; their names are on the doors).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import msgspec
from msgspec import Struct

from floor.config import Clinic, Thresholds
from floor.core.floor import Alert, Floor, Room, Touched, Visit
from floor.core.ids import ALPHABET
from floor.core.journey import Stage
from floor.core.presence import Presence, ProviderPresenceView
from floor.core.rooms import RoomState
from floor.core.text import names_any


class HallwayVisit(Struct):
    token: str
    provider: str  # initials
    stage: Stage
    since: dt.datetime  # when it reached this stage
    start: dt.datetime  # scheduled start (a walk-in's arrival)
    walk_in: bool
    room: str | None = None


class HallwayRoom(Struct):
    id: str
    label: str
    zone: str
    state: RoomState
    since: dt.datetime | None = None
    visit: str | None = None  # the token of the visit in it
    #: A blocked room: why, as the staff member who blocked it wrote it (the wall shows it; the manager's
    #: block form says so, for staff not to write a patient's name there, and one naming a patient of the
    #: day is refused: `Floor._mark`, or left off the wall when that patient is booked later). "" otherwise.
    reason: str = ""


class HallwayDelay(Struct):
    provider: str  # initials
    lateness: float
    recovers_at: dt.datetime | None = None
    #: The provider's name as the clinic configured it (staff names are on the doors; patients' never).
    name: str = ""
    #: Marked `running_late` to clinic or `stepped_away`; null: on the floor.
    away: Presence | None = None


class HallwayPresence(Struct):
    """A provider marked away or back (a presence tap): the wall shows "running late" or "away"."""

    provider: str  # initials
    away: Presence | None = None


class HallwayAlert(Struct):
    #: The wall's own id for the alert (`wall_alert_id`), never the internal one.
    id: str
    kind: str
    raised_at: dt.datetime
    active: bool
    acknowledged: bool
    provider: str | None = None  # initials
    visit: str | None = None  # token
    stage: Stage | None = None
    lateness: float | None = None
    minutes: float | None = None
    limit: int | None = None


class HallwayBoard(Struct):
    clinic: str
    name: str
    timezone: str
    day: dt.date
    seq: int
    now: dt.datetime
    thresholds: Thresholds
    rooms: list[HallwayRoom]
    visits: list[HallwayVisit]
    delays: list[HallwayDelay]
    alerts: list[HallwayAlert]
    stale: bool = False
    #: The clinic's screen languages, its default first; the waiting room shows each in turn.
    languages: list[str] = msgspec.field(default_factory=lambda: ["en"])
    alternate_seconds: int = 10
    #: The zone this wall shows (None: the whole clinic), as the display is paired now: a manager may move it.
    zone: str | None = None


class HallwaySnapshot(Struct, tag="snapshot", tag_field="kind"):
    seq: int
    board: HallwayBoard
    #: The wall's mark of the event at `seq` (floor.log.base.wall_mark: no actor nor device in it), for resuming;
    #: '' before the day's first event.
    mark: str = ""
    #: The clinic's set-up it was drawn with (floor.config.setup_mark), sent back when resuming.
    setup: str = ""


class HallwayUpdate(Struct, tag="update", tag_field="kind"):
    """One event's effect on the hallway: the visit, rooms or alert it changed, as they are now."""

    seq: int
    at: dt.datetime
    visit: HallwayVisit | None
    rooms: list[HallwayRoom]
    alert: HallwayAlert | None = None
    presence: HallwayPresence | None = None
    #: A zone's display only: the token of a visit that left what the zone sees (roomed in another zone).
    gone: str | None = None
    #: The event's wall mark (floor.log.base.wall_mark), for resuming.
    mark: str = ""


class HallwayDelays(Struct, tag="delays", tag_field="kind"):
    """Every tick: each provider's lateness (it changes as time passes with nobody tapping)."""

    seq: int
    delays: list[HallwayDelay]


def wall_alert_id(alert_id: str) -> str:
    """The id a wall knows an alert by: a digest of the internal id, the same in the snapshot and in every
    update (so the wall matches them up) and on every server, with nothing to read back. The internal id is
    what acknowledging takes, on staff screens only; an alert raised by an older Floor had an id built from
    its visit's internal id (`dwell-v53-...`), which a wall must not show."""
    digest = int.from_bytes(hashlib.sha256(b"floor wall alert\0" + alert_id.encode()).digest()[:8], "big")
    return "w" + "".join(ALPHABET[(digest >> shift) & 31] for shift in range(0, 60, 5))


class Hallway:
    """Projects one clinic's floor for its wall displays."""

    def __init__(self, clinic: Clinic) -> None:
        self.clinic = clinic
        self._initials = {p.id: p.initials for p in clinic.providers}
        self._names = {p.id: p.name for p in clinic.providers}
        self._zone_of = {r.id: r.zone for r in clinic.rooms}
        #: The clinic's zones, in its order: each has its own display feed.
        self.zones = tuple(dict.fromkeys(r.zone for r in clinic.rooms))

    def _sees(self, zone: str | None, v: Visit) -> bool:
        """Whether a display of `zone` (None: the whole clinic) is shown this visit: one not roomed yet (the waiting
        room is every zone's), or one in, or last in, a room of the zone. (Checked out of another zone's room, it
        had no room, and every zone's wall was sent it again: a review.)"""
        if zone is None:
            return True
        room = v.room or next((s.room for s in reversed(v.steps) if s.room is not None), None)
        return room is None or self._zone_of.get(room) == zone

    def _sees_alert(self, zone: str | None, a: Alert, floor: Floor) -> bool:
        if zone is None or a.visit is None:
            return True
        v = floor.visits.get(a.visit)
        return v is not None and self._sees(zone, v)

    def initials(self, provider: str | None) -> str | None:
        return None if provider is None else self._initials.get(provider, "?")

    def visit(self, v: Visit) -> HallwayVisit:
        since = v.times.get(v.stage, v.start)
        return HallwayVisit(v.token, self._initials.get(v.provider, "?"), v.stage, since, v.start, v.walk_in, v.room)

    @staticmethod
    def room(r: Room, floor: Floor) -> HallwayRoom:
        # A reason is checked against the patients booked when the room was blocked (`Floor._mark`); one booked
        # since, or a reason stored before that rule, is kept off the wall here: no wall shows it while it names
        # one of the day's patients (staff still read it).
        reason = r.reason or ""
        if reason and floor.names_a_patient(reason):
            reason = ""
        return HallwayRoom(r.id, r.label, r.zone, r.state, r.since, floor.token(r.visit) if r.visit else None, reason)

    def alert(self, a: Alert, floor: Floor) -> HallwayAlert:
        return HallwayAlert(
            wall_alert_id(a.id),
            a.kind,
            a.raised_at,
            a.active,
            a.acknowledged_by is not None,
            self.initials(a.provider),
            floor.token(a.visit) if a.visit else None,
            a.stage,
            a.detail.lateness,
            a.detail.minutes,
            a.detail.limit,
        )

    def delays(self, delays: list[tuple[str, float, dt.datetime | None, Presence | None]]) -> list[HallwayDelay]:
        return [
            HallwayDelay(self._initials.get(p, "?"), lateness, recovers, self._names.get(p, ""), away)
            for p, lateness, recovers, away in delays
        ]

    @staticmethod
    def _naming(v: Visit, touched: list[Room], floor: Floor, zone: str | None) -> list[Room]:
        """The blocked rooms (of `zone`, not among `touched`) whose reason names the visit's patient."""
        sent = {r.id for r in touched}
        return [
            r
            for r in floor.rooms.values()
            if r.reason
            and r.id not in sent
            and (zone is None or r.zone == zone)
            and names_any(r.reason, [v.patient_name])
        ]

    def presence(self, p: ProviderPresenceView) -> HallwayPresence:
        """Only whether the provider is away and how: not who said it, nor when."""
        return HallwayPresence(self._initials.get(p.provider, "?"), p.status if p.status is not Presence.back else None)

    def board(
        self, floor: Floor, now: dt.datetime, delays: list[HallwayDelay], stale: bool, zone: str | None = None
    ) -> HallwayBoard:
        """The board a display sees: the whole clinic's, or one zone's (see the top of this module)."""
        c = self.clinic
        return HallwayBoard(
            c.id,
            c.name,
            c.timezone,
            floor.day,
            floor.seq,
            now,
            c.thresholds,
            [self.room(r, floor) for r in floor.rooms.values() if zone is None or r.zone == zone],
            [self.visit(v) for v in floor.visits.values() if self._sees(zone, v)],
            delays,
            [self.alert(a, floor) for a in floor.alerts.values() if self._sees_alert(zone, a, floor)],
            stale,
            list(c.display.languages),
            c.display.alternate_seconds,
            zone,
        )

    def update(
        self, seq: int, at: dt.datetime, touched: Touched, floor: Floor, zone: str | None = None, mark: str = ""
    ) -> HallwayUpdate:
        """`floor`: the floor the event was folded into (it knows the tokens of the visits in rooms and alerts).
        A zone's display gets an update for every event (its seq must not skip), with only what it sees."""
        visit = gone = None
        if touched.visit is not None:
            if self._sees(zone, touched.visit):
                visit = self.visit(touched.visit)
            elif any(r.id == touched.visit.room for r in touched.rooms):
                # Roomed in another zone just now: this wall forgets it, and hears no more of it (its token on
                # every later step told the wall each step of a patient it is not to see: a review).
                gone = touched.visit.token
        alert = None
        if touched.alert is not None and self._sees_alert(zone, touched.alert, floor):
            alert = self.alert(touched.alert, floor)
        presence = self.presence(touched.presence) if touched.presence else None
        rooms = [self.room(r, floor) for r in touched.rooms if zone is None or r.zone == zone]
        if touched.visit is not None and (held := self._naming(touched.visit, touched.rooms, floor, zone)):
            # A patient booked (or renamed) whom a blocked room's reason names: the walls that show it are sent the
            # room again, without it.
            rooms += [self.room(r, floor) for r in held]
        return HallwayUpdate(seq, at, visit, rooms, alert, presence, gone, mark)
