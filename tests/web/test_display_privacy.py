"""A hallway screen never carries a patient's name, date of birth or record number.

A whole simulated clinic day is played through the app while a paired wall display and a manager's tablet
hold live sockets; every byte the display receives is kept and searched. The tablet's bytes are searched
for the same things, so the test proves the data was there to leak.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import typing

import msgspec
from litestar.testing import TestClient

from floor import hallway
from floor.clock import ManualClock
from floor.config import demo_clinic
from floor.core.access import Role
from floor.core.errors import Refusal
from floor.core.ids import legacy_token
from floor.fanout import Hub
from floor.log.base import mark, wall_mark
from floor.simulator import Staff, plan_day
from floor.web.app import create_app
from tests.support.staff import sign_in, test_floors

CLINIC = demo_clinic()
DAY = dt.date(2026, 11, 23)
OPENING = CLINIC.local(DAY, CLINIC.session.opens) - dt.timedelta(minutes=15)
CLOSING = CLINIC.local(DAY, CLINIC.session.closes) + dt.timedelta(minutes=90)


def _pair_display(client: TestClient, manager: dict[str, str]) -> str:
    pairing = client.post("/api/displays/pairings").json()
    approved = client.post("/api/displays", json={"code": pairing["code"], "clinic": CLINIC.id}, headers=manager)
    assert approved.status_code == 201, approved.text
    claimed = client.post("/api/displays/pairings/claim", json={"claim": pairing["claim"]})
    assert claimed.status_code == 200, claimed.text
    return claimed.json()["token"]


def _drain(ws) -> list[str]:
    frames = []
    while True:
        try:
            frames.append(ws.receive_text(timeout=0.5))
        except Exception:  # queue.Empty once nothing more comes
            return frames


def test_a_whole_clinic_day_sends_the_wall_no_name_birth_date_or_record_number(tmp_path) -> None:
    clock = ManualClock(OPENING.astimezone(dt.UTC))
    floors = test_floors(tmp_path, clock=clock, hub=Hub(queue_limit=100_000), tick_seconds=3600)
    runtime = floors.get(CLINIC.id)
    staff = Staff(CLINIC, plan_day(CLINIC, DAY, seed=7), seed=7)
    # Each patient also gets a date of birth and a record number in the team's notes.
    secrets = {
        i: (f"19{40 + i % 60:02d}-0{1 + i % 9}-1{i % 10}", f"MRN{4_100_000 + i * 37}") for i in range(len(staff.plan))
    }
    names = {p.patient_name for p in staff.plan}

    async def play_the_day() -> int:
        taps = 0
        while clock.now() < CLOSING:
            now = clock.now()
            for index, booking in staff.bookings_due(now):
                dob, mrn = secrets[index]
                noted = msgspec.structs.replace(booking, notes=f"DOB {dob}, {mrn}, allergic to penicillin")
                answer = await runtime.handle(noted, "desk-ana", "desk-1", role=Role.front_desk)
                staff.booked(index, answer.touched.visit.id)
                taps += 1
            for command in staff.due(runtime.floor, now):
                try:
                    await runtime.handle(command, "mgr-dana", "tablet-1", role=Role.manager)
                    taps += 1
                except Refusal:
                    pass  # a step the simulated staff raced for, as on a real floor
            clock.advance(minutes=2)
            runtime.tick()
            await runtime.review_alerts()
        return taps

    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        display_token = _pair_display(client, manager)
        with (
            client.websocket_connect(f"/api/clinics/{CLINIC.id}/live") as wall,
            client.websocket_connect(f"/api/clinics/{CLINIC.id}/live", headers=manager) as tablet,
        ):
            wall.send_text(json.dumps({"type": "auth", "token": display_token}))
            assert json.loads(wall.receive_text(timeout=5))["kind"] == "snapshot"
            taps = client.blocking_portal.call(play_the_day)
            wall_frames, tablet_frames = _drain(wall), _drain(tablet)
            # One more snapshot at the end of the day, with everything on it.
            wall.close()
        with client.websocket_connect(f"/api/clinics/{CLINIC.id}/live?since=0") as late:
            late.send_text(json.dumps({"type": "auth", "token": display_token}))
            wall_frames.append(late.receive_text(timeout=5))

    assert taps > 300 and len(names) > 50
    wall_bytes = "\n".join(wall_frames)
    tablet_bytes = "\n".join(tablet_frames)
    kinds = {json.loads(f)["kind"] for f in wall_frames}
    assert {"update", "snapshot"} <= kinds, kinds
    assert len(wall_frames) > 300  # it saw the day, event by event
    # The tablet got the names and notes, so they were there to leak...
    assert all(name in tablet_bytes for name in names)
    assert "MRN41" in tablet_bytes and "DOB 19" in tablet_bytes
    # ...and the wall got none of them: no name, no first or last name alone, no DOB, no record number.
    leaked = [n for n in names if n in wall_bytes]
    # A patient may share a surname with a provider, whose configured name the wall may show.
    staff_words = {word.strip(",.") for p in CLINIC.providers for word in p.name.split()}
    parts = {part for n in names for part in n.split() if len(part) > 2} - staff_words
    leaked += sorted(p for p in parts if p in wall_bytes)
    leaked += [s for pair in secrets.values() for s in pair if s in wall_bytes]
    leaked += [word for word in ("MRN", "DOB", "penicillin", "patient_name", "notes") if word in wall_bytes]
    assert not leaked, f"the wall display received: {leaked[:10]}"
    # Nor who tapped on which device: a wall resumes with a mark of its own, not the log's (which hashes them).
    by_seq = {e.seq: e for e in runtime.events}
    updates = [json.loads(f) for f in wall_frames if json.loads(f)["kind"] == "update"]
    assert updates and all(u["mark"] == wall_mark(by_seq[u["seq"]]) for u in updates)
    assert not [e.seq for e in runtime.events if mark(e) in wall_bytes]


def _string_fields(struct: type) -> dict[str, object]:
    hints = typing.get_type_hints(struct)
    return {name: hints[name] for name in struct.__struct_fields__}


def test_the_hallway_types_have_no_place_for_free_text() -> None:
    """Every field of the display feed is a number, time, enum, flag, nested hallway struct, or one of the
    strings listed here, each of which comes from the clinic's configuration or is derived from an id, but for
    a blocked room's reason: staff write it for the hallway to read (issue 17), as a sign on the door would."""
    allowed_text = {
        ("HallwayVisit", "token"),
        ("HallwayVisit", "provider"),
        ("HallwayVisit", "room"),
        ("HallwayRoom", "id"),
        ("HallwayRoom", "label"),
        ("HallwayRoom", "zone"),
        ("HallwayRoom", "visit"),
        ("HallwayRoom", "reason"),
        ("HallwayDelay", "provider"),
        ("HallwayDelay", "name"),
        ("HallwayAlert", "id"),
        ("HallwayAlert", "kind"),
        ("HallwayAlert", "provider"),
        ("HallwayAlert", "visit"),
        ("HallwayBoard", "clinic"),
        ("HallwayBoard", "name"),
        ("HallwayBoard", "timezone"),
        ("HallwayUpdate", "gone"),  # a visit token
        ("HallwaySnapshot", "mark"),  # a digest of the event at its seq (floor.log.base.mark), for resuming
        ("HallwayUpdate", "mark"),
        ("HallwaySnapshot", "setup"),  # a digest of the clinic file (floor.config.setup_mark), for resuming
        ("HallwayBoard", "languages"),
        ("HallwayBoard", "zone"),  # the zone the wall shows: a clinic file's id, as its rooms' zones
    }
    structs = [
        hallway.HallwayVisit,
        hallway.HallwayRoom,
        hallway.HallwayDelay,
        hallway.HallwayAlert,
        hallway.HallwayBoard,
        hallway.HallwaySnapshot,
        hallway.HallwayUpdate,
        hallway.HallwayDelays,
    ]
    found = set()
    for struct in structs:
        for name, hint in _string_fields(struct).items():
            if str in (typing.get_args(hint) or (hint,)):
                found.add((struct.__name__, name))
    assert found == allowed_text


def test_tokens_of_visits_booked_before_tokens_were_stored_are_short_distinct_and_not_the_visit_id() -> None:
    tokens = [legacy_token(f"v{n}") for n in range(1, 20_001)]
    assert len(set(tokens)) == len(tokens)
    assert all(len(t) == 3 and t.isalnum() and (t.isupper() or t.isdigit()) for t in tokens)
    assert legacy_token("v12") != "012"
    # Neighbouring bookings do not get neighbouring tokens.
    assert sum(a[:2] == b[:2] for a, b in itertools.pairwise(tokens)) < len(tokens) // 10
