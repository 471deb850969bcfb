"""Who may call what: every route and the live socket, with no token, a dead token, a display's token, each
role, and staff of another clinic, allowed or refused exactly as the access table (floor.core.access) says.

Each route declares the act it performs (`opt={"act": ...}`); who may call it is asked of the table, not
written here. A route added without declaring its act fails `test_every_route_and_the_socket_declares_what_it_does`
(and its guard refuses it to everyone), and one added without a request here to call it by fails it too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.handlers.base import BaseRouteHandler
from litestar.routes import WebSocketRoute
from litestar.testing import TestClient
from structlog.testing import capture_logs

from floor.clock import ManualClock
from floor.close_codes import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, CLOSE_UNKNOWN_CLINIC
from floor.core.access import ALLOWED, Act, Action, Role, may, may_mark_presence, refusal_text
from floor.core.commands import BookVisit, MarkRoom, TakeStep
from floor.core.errors import Refusal
from floor.core.floor import Room
from floor.core.journey import PATH, Stage
from floor.core.rooms import RoomAction, RoomState
from floor.floors import Floors
from floor.log.embedded import frame
from floor.schedule.upcoming import UpcomingSchedule
from floor.web import live
from floor.web.app import create_app
from floor.web.auth import Guarding, Rule
from tests.support.answers import answered
from tests.support.clinics import quiet_clinic
from tests.support.records import record
from tests.support.staff import PEOPLE, PIN, add_person, test_floors

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in Chicago
CLINIC = "riverside"
API = f"/api/clinics/{CLINIC}"
#: A second clinic, on its own clock: alerts are raised there.
ALERTS = "lakeside"
PROVIDERS = ("kim", "okafor", "silva", "hart")
DESK, MA, PROVIDER, MANAGER = Role.front_desk, Role.medical_assistant, Role.provider, Role.manager

#: Anyone may call these (they are throttled per address instead); tested in test_sign_in_and_pairing.
PUBLIC = frozenset(
    {("POST", "/api/sign-in"), ("POST", "/api/displays/pairings"), ("POST", "/api/displays/pairings/claim")}
)
SOCKET = ("WS", "/api/clinics/{clinic:str}/live")
#: For load balancers and Prometheus, which have no token: no sign-in, nothing about patients or staff, not in
#: the OpenAPI document; tested in test_health_and_metrics.
OPERATIONS = frozenset({("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")})
#: The pages and the OpenAPI document: static files, public by design.
NOT_ROUTES = ("/schema", "/{file_path:path}")


# -- a signed-in floor ------------------------------------------------------------------------------


@dataclass
class World:
    client: TestClient
    floors: Floors
    #: The sign-ins' own clock (tokens expire on it); the clinic's never moves, so alerts never surprise.
    session_clock: ManualClock
    #: Lakeside's clock, moved to raise alerts there without touching the riverside floor.
    alert_clock: ManualClock
    people: dict[Role, dict[str, str]] = field(default_factory=dict)
    display: dict[str, str] = field(default_factory=dict)
    _names: Iterator[int] = field(default_factory=itertools.count)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.client.blocking_portal.call(fn, *args)

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self._names)}"

    @property
    def seq(self) -> int:
        return self.floors.get(CLINIC).floor.seq

    @property
    def rooms(self) -> dict[str, Room]:
        return self.floors.get(CLINIC).floor.rooms

    # Floor itself taps (no role): the setup of each check, never the thing checked.
    def _handle(self, command, clinic: str = CLINIC) -> dict:
        runtime = self.floors.get(clinic)
        return answered(runtime, command, self.call(runtime.handle, command, "setup", "setup"))

    def book(self, walk_in: bool = True, clinic: str = CLINIC) -> str:
        start = None if walk_in else START + dt.timedelta(minutes=30)
        n = next(self._names)
        command = BookVisit(f"Patient {n}", PROVIDERS[n % len(PROVIDERS)], "follow", start, walk_in)
        return self._handle(command, clinic)["visit"]["id"]

    def step(self, visit: str, stage: Stage, room: str | None = None) -> None:
        self._handle(TakeStep(visit, stage, room))

    def mark(self, room: str, action: RoomAction) -> None:
        self._handle(MarkRoom(room, action))

    def room_in(self, state: RoomState) -> str:
        """A room in this state: an existing one, else one put there."""
        found = next((r.id for r in self.rooms.values() if r.state is state), None)
        if found is not None:
            return found
        if state is RoomState.ready:
            return self._free_a_room()
        ready = self.room_in(RoomState.ready)
        if state is RoomState.blocked:
            self.mark(ready, RoomAction.blocked)
        elif state is RoomState.turnover:
            visit = self.book()
            self.step(visit, Stage.roomed, ready)
            self.step(visit, Stage.left_without_being_seen)
        elif state is RoomState.occupied:
            self.step(self.book(), Stage.roomed, ready)
        return ready

    def _free_a_room(self) -> str:
        """Every room is taken (earlier checks used them): turn one over for the next."""
        room = next(r for r in self.rooms.values() if r.state is not RoomState.ready)
        if room.state is RoomState.blocked:
            self.mark(room.id, RoomAction.unblocked)
            return room.id
        if room.state is RoomState.occupied:
            assert room.visit is not None
            stage = self.floors.get(CLINIC).floor.visits[room.visit].stage
            out = (
                Stage.checked_out
                if stage in (Stage.provider_in, Stage.teach_back_done)
                else (Stage.left_without_being_seen)
            )
            self.step(room.visit, out)
        self.mark(room.id, RoomAction.ready)
        return room.id

    def visit_at(self, stage: Stage) -> str:
        """A new visit taken along the happy path to `stage`."""
        visit = self.book(walk_in=stage is not Stage.scheduled)
        for next_stage in PATH[2 : PATH.index(stage) + 1] if stage is not Stage.scheduled else ():
            room = self.room_in(RoomState.ready) if next_stage is Stage.roomed else None
            self.step(visit, next_stage, room)
        return visit

    def alert(self) -> str:
        """An active alert at Lakeside nobody acknowledged: a patient waits longer than the clinic allows."""
        runtime = self.floors.get(ALERTS)
        for alert in runtime.floor.alerts.values():
            if alert.active and alert.acknowledged_at is None:
                return alert.id
        self.book(clinic=ALERTS)
        self.alert_clock.advance(minutes=runtime.clinic.thresholds.waiting_to_be_roomed + 1)
        self.call(runtime.review_alerts)
        return self.alert()

    def staff_member(self) -> str:
        return add_person(self.client, self.floors, Role.front_desk, self.unique("target"))

    def pairing_code(self) -> str:
        return self.call(self.floors.sessions.start_pairing).code

    def new_display(self, clinic: str = CLINIC) -> tuple[str, dict[str, str]]:
        """A display paired with the clinic: (its id, its bearer headers)."""
        sessions = self.floors.sessions
        started = self.call(sessions.start_pairing)
        display = self.call(sessions.approve_pairing, started.code, clinic, None, "Hall", "setup")
        token = self.call(sessions.collect, started.claim)
        return display.id, bearer(token.token)

    def token(self, role: Role, device: str = "tablet-1") -> dict[str, str]:
        """A fresh sign-in of the role's test person (through the sessions, not the throttled route)."""
        person = add_person(self.client, self.floors, role)
        return bearer(self.call(self.floors.sessions.sign_in, person, PIN, device).token)

    def member_of(self, role: Role, clinic: str) -> dict[str, str]:
        """A fresh sign-in of a `role` who works in `clinic` only."""
        person = f"{role.value.replace('_', '-')}-of-{clinic}"
        with contextlib.suppress(Refusal):  # added by an earlier check
            self.call(self.floors.sessions.add_staff, person, "Other Person", role, PIN, "setup", (clinic,))
        return bearer(self.call(self.floors.sessions.sign_in, person, PIN, "tablet-9").token)

    def signed_out(self) -> dict[str, str]:
        headers = self.token(MANAGER, "tablet-gone")
        assert self.client.post("/api/sign-out", headers=headers).status_code == 204
        return headers

    def removed(self) -> dict[str, str]:
        """The token of someone since removed from the staff."""
        person = add_person(self.client, self.floors, Role.manager, self.unique("leaver"))
        headers = bearer(self.call(self.floors.sessions.sign_in, person, PIN, "tablet-3").token)
        self.call(self.floors.sessions.remove_staff, person, "setup")
        return headers

    def revoked_display(self) -> dict[str, str]:
        display, headers = self.new_display()
        self.call(self.floors.sessions.revoke_display, display, "setup")
        return headers

    def expire_sign_ins(self) -> None:
        self.session_clock.advance(seconds=self.floors.sessions.staff_term.total_seconds() + 60)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One app for the whole module (building one takes a fifth of a second): every check sets up what it
    needs afresh, so they do not depend on each other."""
    lakeside = msgspec.structs.replace(quiet_clinic(), id=ALERTS, name="Lakeside Clinic")
    data = tmp_path_factory.mktemp("floor")
    # Yesterday's day in the log, for the routes that read a past day (a day before the log begins is a 404).
    (data / CLINIC).mkdir()
    yesterday = START.date() - dt.timedelta(days=1)
    (data / CLINIC / f"{yesterday}.log").write_bytes(frame(record(1, day=yesterday)))
    floors = test_floors(data, [quiet_clinic(), lakeside], clock=ManualClock(START), tick_seconds=3600)
    world = World(None, floors, ManualClock(START), ManualClock(START))  # type: ignore[arg-type]
    floors.sessions.clock = world.session_clock
    floors.get(ALERTS).clock = world.alert_clock
    guarding = Guarding(write_rate=1000, write_burst=100_000, public_rate=1000, public_burst=100_000)
    with TestClient(create_app(floors, guarding=guarding)) as client:
        world.client = client
        yield world


@pytest.fixture
def world(shared: World) -> World:
    """The shared floor with every role freshly signed in and a wall display paired."""
    shared.people = {role: shared.token(role) for role in Role}
    _, shared.display = shared.new_display()
    return shared


# -- every route: what it declares it does, and a request to call it with -----------------------------------
#
# Who may call each route is not written here: each route declares the act it performs (`opt={"act": ...}`),
# and the test asks floor.core.access who may do it. What is written here is only how to call each route.


Make = Callable[[World], tuple[str, Any]]


@dataclass(frozen=True)
class Route:
    #: (path, JSON body) of a request that succeeds for a right role; called afresh for every attempt.
    make: Make
    ok: int
    #: The action the request's body taps, on a route whose tap the core checks (`Rule.taps`).
    tap: Action | None = None
    #: The act the request performs when it is not the route's own (a past day's board).
    act: Act | None = None
    #: Who may send this request when the table's rule takes the person too (floor.core.access.may_mark_presence).
    who: Callable[[Role], bool] | None = None


def _new_visit(w: World) -> tuple[str, Any]:
    return f"{API}/visits", {"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True}


def _move(w: World) -> tuple[str, Any]:
    """A patient who is here, sent to another provider."""
    visit = w.visit_at(Stage.arrived)
    now_with = w.floors.get(CLINIC).floor.visits[visit].provider
    return f"{API}/visits/{visit}/events", {"type": "move", "provider": next(p for p in PROVIDERS if p != now_with)}


def _new_staff(w: World) -> tuple[str, Any]:
    return "/api/staff", {
        "id": w.unique("new"),
        "name": "New Person",
        "role": "front_desk",
        "secret": "9753",
        "clinics": [CLINIC],
    }


def _export_encounters(w: World) -> tuple[str, Any]:
    w.visit_at(Stage.roomed)  # a day with a journey under way
    return f"{API}/export/encounters?day={START.date()}", None


def _kept_schedule(w: World) -> tuple[str, Any]:
    tomorrow = START.date() + dt.timedelta(days=1)
    kept = UpcomingSchedule(
        CLINIC,
        tomorrow,
        "csv",
        b"external_id,time,provider,visit_type,patient_name\n",
        0,
        START,
        "mgr-dana",
        "tablet-1",
    )
    w.client.blocking_portal.call(w.floors.upcoming.put, kept)
    return f"{API}/schedule?date={tomorrow}", None


def _rename_a_room(w: World) -> tuple[str, Any]:
    """The clinic's rooms, one of them given a new label, as the page showed them (its set-up version)."""
    runtime = w.floors.get(CLINIC)
    rooms = [{"id": r.id, "label": r.label, "zone": r.zone} for r in runtime.clinic.rooms]
    rooms[-1]["label"] = f"Room {w.unique('x')}"
    return f"{API}/rooms", {"version": runtime.floor.setup_version, "rooms": rooms}


def _rename_a_provider(w: World) -> tuple[str, Any]:
    """The clinic's providers, one of them given a new name, as the page showed them (its set-up version)."""
    runtime = w.floors.get(CLINIC)
    providers = [{"id": p.id, "name": p.name, "initials": p.initials} for p in runtime.clinic.providers]
    providers[-1]["name"] = f"Dr. {w.unique('x')}"
    return f"{API}/providers", {"version": runtime.floor.setup_version, "providers": providers}


def _relabel_a_visit_type(w: World) -> tuple[str, Any]:
    """The clinic's visit types, one of them given a new label, as the page showed them (its set-up version)."""
    runtime = w.floors.get(CLINIC)
    types = [msgspec.to_builtins(v) for v in runtime.clinic.visit_types]
    types[-1]["label"] = f"Visit {w.unique('x')}"
    return f"{API}/visit-types", {"version": runtime.floor.setup_version, "visit_types": types}


def _raise_the_turnover_minutes(w: World) -> tuple[str, Any]:
    """The clinic's alert thresholds, the turnover minutes changed, as the page showed them (its set-up version)."""
    runtime = w.floors.get(CLINIC)
    thresholds = msgspec.to_builtins(runtime.clinic.thresholds)
    thresholds["turnover"] = thresholds["turnover"] % 600 + 1
    return f"{API}/thresholds", {"version": runtime.floor.setup_version, "thresholds": thresholds}


BOARD = ("GET", "/api/clinics/{clinic:str}/board")

ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/api/clinics"): Route(lambda w: ("/api/clinics", None), 200),
    BOARD: Route(lambda w: (f"{API}/board", None), 200),
    ("GET", "/api/clinics/{clinic:str}/visits/{visit:str}"): Route(
        lambda w: (f"{API}/visits/{w.visit_at(Stage.arrived)}", None), 200
    ),
    ("GET", "/api/clinics/{clinic:str}/visits/{visit:str}/audit"): Route(
        lambda w: (f"{API}/visits/{w.visit_at(Stage.arrived)}/audit", None), 200
    ),
    ("GET", "/api/clinics/{clinic:str}/measures"): Route(lambda w: (f"{API}/measures", None), 200),
    ("GET", "/api/clinics/{clinic:str}/lateness"): Route(lambda w: (f"{API}/lateness", None), 200),
    ("GET", "/api/clinics/{clinic:str}/learned"): Route(lambda w: (f"{API}/learned", None), 200),
    ("GET", "/api/clinics/{clinic:str}/export/encounters"): Route(_export_encounters, 200),
    ("GET", "/api/clinics/{clinic:str}/export/measures"): Route(lambda w: (f"{API}/export/measures", None), 200),
    ("POST", "/api/clinics/{clinic:str}/visits"): Route(_new_visit, 201, tap=Act.book),
    ("POST", "/api/clinics/{clinic:str}/schedule"): Route(
        lambda w: (f"{API}/schedule?date={START.date()}", {"resourceType": "Bundle", "type": "collection"}), 200
    ),
    ("GET", "/api/clinics/{clinic:str}/schedule/upcoming"): Route(lambda w: (f"{API}/schedule/upcoming", None), 200),
    ("DELETE", "/api/clinics/{clinic:str}/schedule"): Route(_kept_schedule, 204),
    ("POST", "/api/clinics/{clinic:str}/visits/{visit:str}/events"): Route(
        lambda w: (f"{API}/visits/{w.visit_at(Stage.scheduled)}/events", {"type": "arrived"}), 201, tap=Stage.arrived
    ),
    ("POST", "/api/clinics/{clinic:str}/rooms/{room:str}/events"): Route(
        lambda w: (f"{API}/rooms/{w.room_in(RoomState.ready)}/events", {"type": "blocked", "reason": "leak"}),
        201,
        tap=RoomAction.blocked,
    ),
    ("PUT", "/api/clinics/{clinic:str}/rooms"): Route(_rename_a_room, 201),
    ("PUT", "/api/clinics/{clinic:str}/providers"): Route(_rename_a_provider, 201),
    ("PUT", "/api/clinics/{clinic:str}/visit-types"): Route(_relabel_a_visit_type, 201),
    ("PUT", "/api/clinics/{clinic:str}/thresholds"): Route(_raise_the_turnover_minutes, 201),
    # The staff provider (dr-kim) is not the clinic's provider kim: a provider marks only themself.
    ("POST", "/api/clinics/{clinic:str}/providers/{provider:str}/presence"): Route(
        lambda w: (f"{API}/providers/kim/presence", {"type": "stepped_away"}),
        201,
        tap=Act.mark_presence,
        who=lambda role: may_mark_presence(role, PEOPLE[role][0], "kim"),
    ),
    ("POST", "/api/clinics/{clinic:str}/alerts/{alert:str}/acknowledge"): Route(
        lambda w: (f"/api/clinics/{ALERTS}/alerts/{w.alert()}/acknowledge", None), 201, tap=Act.acknowledge_alert
    ),
    ("GET", "/api/me"): Route(lambda w: ("/api/me", None), 200),
    ("POST", "/api/sign-out"): Route(lambda w: ("/api/sign-out", None), 204),
    ("GET", "/api/staff"): Route(lambda w: ("/api/staff", None), 200),
    ("POST", "/api/staff"): Route(_new_staff, 201),
    ("POST", "/api/staff/{staff:str}/unlock"): Route(lambda w: (f"/api/staff/{w.staff_member()}/unlock", None), 200),
    ("PUT", "/api/staff/{staff:str}/secret"): Route(
        lambda w: (f"/api/staff/{w.staff_member()}/secret", {"secret": "1357"}), 204
    ),
    ("DELETE", "/api/staff/{staff:str}"): Route(lambda w: (f"/api/staff/{w.staff_member()}", None), 204),
    ("GET", "/api/staff/{staff:str}/audit"): Route(lambda w: (f"/api/staff/{PEOPLE[DESK][0]}/audit", None), 200),
    ("GET", "/api/displays"): Route(lambda w: ("/api/displays", None), 200),
    ("POST", "/api/displays"): Route(
        lambda w: ("/api/displays", {"code": w.pairing_code(), "clinic": CLINIC, "zone": "east"}), 201
    ),
    ("PUT", "/api/displays/{display:str}"): Route(
        lambda w: (f"/api/displays/{w.new_display()[0]}", {"label": "West hall", "zone": "west"}), 200
    ),
    ("DELETE", "/api/displays/{display:str}"): Route(lambda w: (f"/api/displays/{w.new_display()[0]}", None), 200),
}

#: Requests that perform another act than their route's: a past day's board is a report (Act.read_history); a
#: visit's event that moves the patient to another provider (Act.move_visit).
MORE: list[tuple[tuple[str, str], Route]] = [
    (
        BOARD,
        Route(lambda w: (f"{API}/board?day={START.date() - dt.timedelta(days=1)}", None), 200, act=Act.read_history),
    ),
    (("POST", "/api/clinics/{clinic:str}/visits/{visit:str}/events"), Route(_move, 201, tap=Act.move_visit)),
]
CALLS = [*ROUTES.items(), *MORE]


def handlers(app) -> dict[tuple[str, str], BaseRouteHandler]:
    """(method, path) of everything the app serves but its pages and /schema, with its handler; the socket as
    method WS."""
    found: dict[tuple[str, str], BaseRouteHandler] = {}
    for route in app.routes:
        if route.path == "/" or route.path.startswith(NOT_ROUTES):
            continue
        if isinstance(route, WebSocketRoute):
            found[("WS", route.path)] = route.route_handler
        else:
            found |= {
                (method, route.path): handler
                for method, (handler, _) in route.route_handler_map.items()
                if method not in ("OPTIONS", "HEAD")
            }
    return found


def exposed_routes(app) -> set[tuple[str, str]]:
    return set(handlers(app))


def declared(world: World, key: tuple[str, str]) -> Act | Rule:
    return handlers(world.client.app)[key].opt["act"]


def may_call(world: World, key: tuple[str, str], route: Route) -> frozenset[Role]:
    """The staff roles floor.core.access lets make this request."""
    does = route.act or declared(world, key)
    if does is Rule.taps:
        assert route.tap is not None, f"{key} is a tap route: say which action its request taps"
        does = route.tap
    if route.who is not None:
        return frozenset(r for r in Role if route.who(r))
    if does is Rule.signed_in:
        return frozenset(Role)
    assert isinstance(does, Act | Stage | RoomAction), f"{key} declares {does!r}"
    return frozenset(r for r in Role if may(r, does))


def test_every_route_and_the_socket_declares_what_it_does(world: World) -> None:
    """A route added without `opt={"act": ...}` fails here (and its guard refuses every call: see below)."""
    found = handlers(world.client.app)
    undeclared = sorted(key for key, handler in found.items() if not isinstance(handler.opt.get("act"), Act | Rule))
    assert not undeclared, f"routes that do not declare the act they perform: {undeclared}"
    # Only these need no sign-in; the rest are in the table with a request to call them by.
    assert {key for key, h in found.items() if h.opt["act"] is Rule.anyone} == PUBLIC | OPERATIONS
    assert set(found) == set(ROUTES) | PUBLIC | OPERATIONS | {SOCKET}
    # The OpenAPI document lists the same HTTP routes.
    spec = world.client.get("/schema/openapi.json").json()
    documented = {
        (method.upper(), path) for path, ops in spec["paths"].items() for method in ops if path.startswith("/api")
    }
    assert documented == {(m, p.replace(":str", "")) for m, p in set(ROUTES) | PUBLIC}


def test_every_act_of_the_table_is_declared_by_a_route_or_checked_by_the_core(world: World) -> None:
    declared_acts = {h.opt["act"] for h in handlers(world.client.app).values()}
    # The core checks a tap's own action (Floor.decide), an undo's included (see the undo tests below); a past
    # day's board asks for read_history.
    elsewhere = {route.tap for _, route in CALLS} | {route.act for _, route in CALLS} | {Act.undo}
    assert set(Act) <= declared_acts | elsewhere


def test_the_documents_say_managers_only_of_exactly_the_routes_the_table_keeps_to_managers(world: World) -> None:
    for key, handler in handlers(world.client.app).items():
        does = handler.opt["act"]
        if isinstance(does, Act):
            managers_only = not ALLOWED[does]
            summary = getattr(handler, "summary", None) or ""  # the socket has none: all staff watch it
            assert ("(managers)" in summary) == managers_only, (key, summary)


def test_a_route_that_declares_nothing_is_refused_to_everyone(tmp_path) -> None:
    from litestar import get

    from floor.web.http import clinic_routes

    @get("/{clinic:str}/forgotten", sync_to_thread=False)
    def forgotten() -> str:
        return "patients"

    @get("/{clinic:str}/declared", sync_to_thread=False, opt={"act": Act.read_floor})
    def declared_() -> str:
        return "patients"

    floors = test_floors(tmp_path, [quiet_clinic()], clock=ManualClock(START))
    app = create_app(floors)
    app.register(clinic_routes(floors, [forgotten, declared_], tag="clinics"))
    with TestClient(app) as client:
        headers = bearer(
            client.blocking_portal.call(
                floors.sessions.sign_in, add_person(client, floors, MANAGER), PIN, "tablet-1"
            ).token
        )
        answer = client.get(f"{API}/forgotten", headers=headers)
        assert answer.status_code == 500 and "patients" not in answer.text
        assert client.get(f"{API}/declared", headers=headers).text == "patients"  # the same, declared


def _call(w: World, method: str, route: Route, headers: dict[str, str] | None):
    """Make the route's request (setting up what it needs), send it; a refusal must write nothing."""
    path, body = route.make(w)
    before = _written(w)
    answer = w.client.request(method, path, json=body, headers=headers)
    if answer.status_code >= 400:
        assert _written(w) == before, answer.text
    return answer


def _written(w: World) -> tuple:
    directory = w.floors.sessions.directory
    return (
        {c: r.floor.seq for c, r in w.floors.runtimes.items()},
        w.call(directory.all_staff),
        w.call(directory.all_displays),
    )


def _assert_unauthenticated(answer) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    body = answer.json()
    assert body["error"] == "unauthenticated" and body["message"]


def _says_who_may(world: World, key: tuple[str, str], route: Route, role: Role, message: str) -> None:
    """A refusal says who may, in the table's words."""
    does = route.act or declared(world, key)
    if does is Rule.taps:
        does = route.tap  # the core refuses it, in the same words
    if isinstance(does, Act | Stage | RoomAction) and route.who is None:
        assert message == refusal_text(role, does)
    else:
        assert "managers" in message.lower(), message


@pytest.mark.parametrize(
    ("key", "route"), CALLS, ids=[f"{m} {p}" + (" " + r.act if r.act else "") for (m, p), r in CALLS]
)
def test_each_route_answers_no_token_401_dead_token_401_and_each_role_as_the_access_table_says(
    world: World, key: tuple[str, str], route: Route
) -> None:
    method = key[0]
    roles = may_call(world, key, route)
    assert MANAGER in roles  # managers may do everything: a request no one may send tests nothing

    answer = _call(world, method, route, None)
    _assert_unauthenticated(answer)
    assert "Authorization: Bearer" in answer.json()["message"]
    dead = [
        bearer("not-a-token"),
        {"Authorization": "Basic bWdyOjI0Njg="},
        world.signed_out(),
        world.removed(),
        world.revoked_display(),
    ]
    for headers in dead:
        _assert_unauthenticated(_call(world, method, route, headers))

    answer = _call(world, method, route, world.display)
    if handlers(world.client.app)[key].opt.get("displays"):
        assert answer.status_code == route.ok, answer.text
    else:
        assert answer.status_code == 403, answer.text
        assert answer.json() == {"error": "forbidden", "message": answer.json()["message"]}
        assert "display" in answer.json()["message"]

    for role in sorted(frozenset(Role) - roles):
        answer = _call(world, method, route, world.people[role])
        assert answer.status_code == 403, f"{role}: {answer.text}"
        assert answer.json()["error"] == "forbidden"
        _says_who_may(world, key, route, role, answer.json()["message"])

    expiring = world.token(MANAGER, "tablet-late")
    for role in sorted(roles):
        answer = _call(world, method, route, world.people[role])
        assert answer.status_code == route.ok, f"{role}: {answer.text}"

    world.expire_sign_ins()
    _assert_unauthenticated(_call(world, method, route, expiring))


def test_options_on_every_route_answers_its_methods_to_anyone_and_logs_no_error(world: World) -> None:
    """OPTIONS, which Litestar answers for every route itself, is no request a guard should refuse as undeclared:
    that answered 500 and logged a server error for anyone who asked."""
    paths = {path for method, path in handlers(world.client.app) if method != "WS"}
    assert len(paths) > 20
    with capture_logs() as logs:
        for path in sorted(paths):
            concrete = re.sub(r"\{(\w+)(:\w+)?\}", "x", path)
            answer = world.client.options(concrete)
            assert answer.status_code == 204, f"{path}: {answer.status_code} {answer.text}"
            assert "OPTIONS" in answer.headers["Allow"], path
            assert answer.content == b"", path
    assert not [entry for entry in logs if entry["log_level"] == "error"], logs


# -- clinic boundaries ---------------------------------------------------------------------------------------

#: Every request to a clinic's routes (the table covers every route the app exposes; the socket is checked below).
CLINIC_CALLS = [(key, route) for key, route in CALLS if key[1].startswith("/api/clinics/{clinic")]


@pytest.mark.parametrize(
    ("key", "route"), CLINIC_CALLS, ids=[f"{m} {p}" + (" " + r.act if r.act else "") for (m, p), r in CLINIC_CALLS]
)
def test_staff_of_another_clinic_are_refused_403_on_every_clinic_route(
    world: World, key: tuple[str, str], route: Route
) -> None:
    method = key[0]
    target, _ = route.make(world)
    clinic = target.split("/")[3]
    other = ALERTS if clinic == CLINIC else CLINIC
    for role in Role:
        answer = _call(world, method, route, world.member_of(role, other))
        assert answer.status_code == 403, f"{role}: {answer.text}"
        assert answer.json()["error"] == "forbidden"
        assert f"not on the staff of clinic {clinic!r}" in answer.json()["message"], answer.text
    # The same people in the route's own clinic get on as the table allows their role.
    for role in sorted(may_call(world, key, route)):
        answer = _call(world, method, route, world.member_of(role, clinic))
        assert answer.status_code == route.ok, f"{role}: {answer.text}"


def test_a_member_of_one_clinic_lists_and_reads_only_it(world: World) -> None:
    desk = world.member_of(DESK, ALERTS)
    assert [c["id"] for c in world.client.get("/api/clinics", headers=desk).json()] == [ALERTS]
    assert world.client.get("/api/me", headers=desk).json()["clinics"] == [ALERTS]
    assert world.client.get(f"/api/clinics/{ALERTS}/board", headers=desk).status_code == 200
    board = world.client.get(f"{API}/board", headers=desk)
    assert board.status_code == 403 and "patient_name" not in board.text
    visit = world.visit_at(Stage.scheduled)
    seq = world.seq
    tap = world.client.post(f"{API}/visits/{visit}/events", json={"type": "arrived"}, headers=desk)
    assert tap.status_code == 403 and world.seq == seq
    assert world.floors.get(CLINIC).floor.visits[visit].stage is Stage.scheduled
    # A manager of every clinic lists both.
    assert len(world.client.get("/api/clinics", headers=world.people[MANAGER]).json()) == 2


def test_a_manager_of_one_clinic_manages_only_its_staff_and_displays(world: World) -> None:
    manager = world.member_of(MANAGER, ALERTS)
    theirs = add_person(world.client, world.floors, DESK, "desk-lake")
    world.call(world.floors.sessions.set_clinics, theirs, (ALERTS,), "setup")
    everywhere = world.staff_member()  # every clinic: not only theirs
    listed = {m["id"] for m in world.client.get("/api/staff", headers=manager).json()}
    assert theirs in listed and everywhere not in listed and PEOPLE[MANAGER][0] not in listed
    for method, path, body in [
        ("POST", f"/api/staff/{everywhere}/unlock", None),
        ("PUT", f"/api/staff/{everywhere}/secret", {"secret": "1357"}),
        ("DELETE", f"/api/staff/{everywhere}", None),
    ]:
        answer = world.client.request(method, path, json=body, headers=manager)
        assert answer.status_code == 403, answer.text
    assert world.call(world.floors.sessions.directory.staff, everywhere) is not None
    assert world.client.post(f"/api/staff/{theirs}/unlock", headers=manager).status_code == 200

    new = {"name": "New Person", "role": "front_desk", "secret": "9753"}
    answer = world.client.post(
        "/api/staff", json={**new, "id": world.unique("n"), "clinics": [CLINIC]}, headers=manager
    )
    assert answer.status_code == 403, answer.text
    answer = world.client.post("/api/staff", json={**new, "id": world.unique("n"), "clinics": ["*"]}, headers=manager)
    assert answer.status_code == 403, answer.text
    answer = world.client.post("/api/staff", json={**new, "id": world.unique("n")}, headers=manager)
    assert answer.status_code == 201 and answer.json()["clinics"] == [ALERTS]  # their clinic by default
    answer = world.client.post(
        "/api/staff", json={**new, "id": world.unique("n"), "clinics": ["nowhere"]}, headers=world.people[MANAGER]
    )
    assert answer.status_code in (400, 422) and "nowhere" in answer.text

    answer = world.client.post("/api/displays", json={"code": world.pairing_code(), "clinic": CLINIC}, headers=manager)
    assert answer.status_code == 403, answer.text
    riverside_wall, _ = world.new_display(CLINIC)
    lakeside_wall, _ = world.new_display(ALERTS)
    shown = {d["id"] for d in world.client.get("/api/displays", headers=manager).json()}
    assert lakeside_wall in shown and riverside_wall not in shown
    assert world.client.delete(f"/api/displays/{riverside_wall}", headers=manager).status_code == 403
    assert world.client.delete(f"/api/displays/{lakeside_wall}", headers=manager).status_code == 200


def test_the_live_socket_lets_in_each_role_and_a_display_as_the_access_table_says(world: World, monkeypatch) -> None:
    handler = handlers(world.client.app)[SOCKET]
    for act in (handler.opt["act"], Act.read_measures):  # what it declares; and were it for managers only
        monkeypatch.setitem(handler.opt, "act", act)
        for role in Role:
            if may(role, act):
                assert json.loads(_first_message_after_auth(world.client, world.people[role]))["kind"] == "snapshot"
            else:
                with _socket(world.client, headers=world.people[role]) as ws:
                    with pytest.raises(WebSocketDisconnect) as closed:
                        ws.receive_text(timeout=5)
                    assert closed.value.code == CLOSE_FORBIDDEN
                    assert refusal_text(role, act) in closed.value.detail
        assert json.loads(_first_message_after_auth(world.client, world.display))["kind"] == "snapshot"
    monkeypatch.setitem(handler.opt, "displays", False)  # and were it for staff only
    with _socket(world.client, headers=world.display) as ws:
        assert _closed(ws) == CLOSE_FORBIDDEN


def test_a_member_of_another_clinic_cannot_open_its_live_feed(world: World) -> None:
    for role in Role:
        other = world.member_of(role, ALERTS)
        with _socket(world.client, headers=other) as ws:
            assert _closed(ws) == CLOSE_FORBIDDEN
        with _socket(world.client) as ws:  # the token in the first message instead
            ws.send_text(json.dumps({"type": "auth", "token": other["Authorization"][7:]}))
            assert _closed(ws) == CLOSE_FORBIDDEN
        first = json.loads(_first_message_after_auth(world.client, other, ALERTS))
        assert first["kind"] == "snapshot" and first["board"]["clinic"] == ALERTS


# -- which step each role may tap -----------------------------------------------------------------------

#: The step, and the stage a visit must be at to take it (who may tap it is floor.core.access's).
STEPS: dict[Stage, Stage] = {
    Stage.arrived: Stage.scheduled,
    Stage.no_show: Stage.scheduled,
    Stage.cancelled: Stage.scheduled,
    Stage.roomed: Stage.arrived,
    Stage.left_without_being_seen: Stage.arrived,
    Stage.prep_done: Stage.roomed,
    Stage.provider_in: Stage.prep_done,
    Stage.teach_back_done: Stage.provider_in,
    Stage.checked_out: Stage.teach_back_done,
}


def test_the_step_table_names_every_step() -> None:
    assert set(STEPS) == set(Stage) - {Stage.scheduled}


@pytest.mark.parametrize("step", list(STEPS), ids=str)
def test_each_visit_step_by_each_role(world: World, step: Stage) -> None:
    before = STEPS[step]
    for role in Role:
        visit = world.visit_at(before)
        tap = {"type": step.value}
        if step is Stage.roomed:
            tap["room"] = world.room_in(RoomState.ready)
        seq = world.seq
        answer = world.client.post(f"{API}/visits/{visit}/events", json=tap, headers=world.people[role])
        stage = world.floors.get(CLINIC).floor.visits[visit].stage
        if may(role, step):
            assert answer.status_code == 201, f"{role} {step}: {answer.text}"
            assert stage is step and answer.json()["event"]["actor"] == PEOPLE[role][0]
        else:
            assert answer.status_code == 403, f"{role} {step}: {answer.text}"
            assert answer.json()["error"] == "forbidden"
            assert answer.json()["message"] == refusal_text(role, step)
            assert stage is before and world.seq == seq


def test_the_refusal_says_who_may_take_the_step(world: World) -> None:
    cases = [
        (DESK, Stage.roomed, "Front desk cannot room a patient: that is for managers and medical assistants."),
        (MA, Stage.provider_in, "Medical assistants cannot mark the provider in: that is for managers and providers."),
        (PROVIDER, Stage.arrived, "Providers cannot check a patient in: that is for front desk and managers."),
    ]
    for role, step, message in cases:
        visit = world.visit_at(STEPS[step])
        tap = (
            {"type": step.value, "room": world.room_in(RoomState.ready)}
            if step is Stage.roomed
            else {"type": step.value}
        )
        answer = world.client.post(f"{API}/visits/{visit}/events", json=tap, headers=world.people[role])
        assert answer.status_code == 403
        assert answer.json()["message"] == message


@pytest.mark.parametrize(
    ("action", "state"),
    [
        (RoomAction.ready, RoomState.turnover),
        (RoomAction.blocked, RoomState.ready),
        (RoomAction.unblocked, RoomState.blocked),
    ],
    ids=str,
)
def test_room_marks_by_each_role_as_the_access_table_says(world: World, action: RoomAction, state: RoomState) -> None:
    for role in Role:
        room = world.room_in(state)
        seq = world.seq
        answer = world.client.post(
            f"{API}/rooms/{room}/events", json={"type": action.value}, headers=world.people[role]
        )
        if may(role, action):
            assert answer.status_code == 201, f"{role}: {answer.text}"
            assert answer.json()["room"]["state"] != state.value
        else:
            assert answer.status_code == 403, f"{role}: {answer.text}"
            assert answer.json()["message"] == refusal_text(role, action)
            assert world.floors.get(CLINIC).floor.rooms[room].state is state and world.seq == seq


def test_a_step_is_undone_by_whoever_tapped_it_or_a_manager(world: World) -> None:
    other_desk = add_person(world.client, world.floors, DESK, "desk-two")
    other_desk_headers = bearer(world.call(world.floors.sessions.sign_in, other_desk, PIN, "tablet-2").token)
    desk = world.people[DESK]

    def arrive() -> str:
        visit = world.visit_at(Stage.scheduled)
        assert (
            world.client.post(f"{API}/visits/{visit}/events", json={"type": "arrived"}, headers=desk).status_code == 201
        )
        return visit

    def undo(visit: str, headers: dict[str, str]):
        return world.client.post(f"{API}/visits/{visit}/events", json={"type": "undo"}, headers=headers)

    visit = arrive()
    for headers in (other_desk_headers, world.people[MA], world.people[PROVIDER]):
        seq = world.seq
        refused = undo(visit, headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "forbidden"
        assert PEOPLE[DESK][0] in refused.json()["message"] and "manager" in refused.json()["message"]
        assert world.seq == seq
        assert world.floors.get(CLINIC).floor.visits[visit].stage is Stage.arrived
    undone = undo(visit, desk)
    assert undone.status_code == 201, undone.text
    assert undone.json()["visit"]["stage"] == "scheduled"

    visit = arrive()
    undone = undo(visit, world.people[MANAGER])
    assert undone.status_code == 201, undone.text
    assert undone.json()["visit"]["stage"] == "scheduled"
    assert undone.json()["event"]["actor"] == PEOPLE[MANAGER][0]


def test_only_a_manager_acknowledges_an_alert(world: World) -> None:
    alert = world.alert()
    for role in (DESK, MA, PROVIDER):
        refused = world.client.post(f"/api/clinics/{ALERTS}/alerts/{alert}/acknowledge", headers=world.people[role])
        assert refused.status_code == 403, refused.text
        assert refused.json()["message"].endswith("cannot acknowledge alerts: that is for managers.")
    assert world.floors.get(ALERTS).floor.alerts[alert].acknowledged_at is None
    answer = world.client.post(f"/api/clinics/{ALERTS}/alerts/{alert}/acknowledge", headers=world.people[MANAGER])
    assert answer.status_code == 201, answer.text
    assert answer.json()["alert"]["acknowledged_by"] == PEOPLE[MANAGER][0]


# -- the live socket ---------------------------------------------------------------------------------------


def _closed(ws, timeout: float = 5) -> int:
    """Read until the server closes the socket; its close code."""
    while True:
        try:
            ws.receive_text(timeout=timeout)
        except WebSocketDisconnect as closed:
            return closed.code


def _socket(client: TestClient, clinic: str = CLINIC, headers: dict[str, str] | None = None):
    return client.websocket_connect(f"/api/clinics/{clinic}/live", headers=headers)


def _first_message_after_auth(client: TestClient, headers: dict[str, str], clinic: str = CLINIC) -> str:
    with _socket(client, clinic) as ws:
        ws.send_text(json.dumps({"type": "auth", "token": headers["Authorization"].removeprefix("Bearer ")}))
        return ws.receive_text(timeout=5)


def test_a_socket_that_never_says_who_it_is_is_closed_4401(world: World, monkeypatch) -> None:
    monkeypatch.setattr(live, "AUTH_WAIT", 0.2)
    with _socket(world.client) as ws:
        assert _closed(ws) == CLOSE_UNAUTHENTICATED


@pytest.mark.parametrize(
    "first",
    ['{"type": "auth", "token": "not-a-token"}', "not json", '{"type": "hello"}', '{"type": "auth", "token": 7}'],
)
def test_a_socket_with_a_bad_auth_message_is_closed_4401(world: World, first: str) -> None:
    with _socket(world.client) as ws:
        ws.send_text(first)
        assert _closed(ws) == CLOSE_UNAUTHENTICATED


def test_a_socket_with_a_signed_out_expired_revoked_or_removed_token_is_closed_4401(world: World) -> None:
    display, display_headers = world.new_display()
    assert world.client.delete(f"/api/displays/{display}", headers=world.people[MANAGER]).status_code == 200
    expiring = world.token(DESK, "tablet-late")
    dead = [world.signed_out(), display_headers, world.removed(), bearer("x" * 43)]
    for headers in dead:
        with _socket(world.client) as ws:
            ws.send_text(json.dumps({"type": "auth", "token": headers["Authorization"][7:]}))
            assert _closed(ws) == CLOSE_UNAUTHENTICATED
        with _socket(world.client, headers=headers) as ws:  # on the handshake instead
            assert _closed(ws) == CLOSE_UNAUTHENTICATED
    world.expire_sign_ins()
    with _socket(world.client, headers=expiring) as ws:
        assert _closed(ws) == CLOSE_UNAUTHENTICATED


def test_a_display_of_another_clinic_is_closed_4403_and_an_unknown_clinic_4404(world: World) -> None:
    _, lakeside_wall = world.new_display(ALERTS)
    with _socket(world.client, headers=lakeside_wall) as ws:
        assert _closed(ws) == CLOSE_FORBIDDEN
    assert json.loads(_first_message_after_auth(world.client, lakeside_wall, ALERTS))["kind"] == "snapshot"
    with _socket(world.client, "nowhere", headers=world.people[MANAGER]) as ws:
        assert _closed(ws) == CLOSE_UNKNOWN_CLINIC


def test_staff_managers_and_displays_get_a_snapshot_first_and_the_display_no_names(world: World) -> None:
    visit = world.visit_at(Stage.roomed)
    names = {v.patient_name for v in world.floors.get(CLINIC).floor.visits.values()}
    for role in Role:
        snapshot = json.loads(_first_message_after_auth(world.client, world.people[role]))
        assert snapshot["kind"] == "snapshot" and snapshot["seq"] == world.seq
        assert {v["patient_name"] for v in snapshot["board"]["visits"]} == names
    with _socket(world.client, headers=world.people[DESK]) as ws:  # Authorization on the handshake
        assert json.loads(ws.receive_text(timeout=5))["kind"] == "snapshot"

    text = _first_message_after_auth(world.client, world.display)
    snapshot = json.loads(text)
    assert snapshot["kind"] == "snapshot" and snapshot["seq"] == world.seq
    token = world.floors.get(CLINIC).floor.visits[visit].token
    assert token in {v["token"] for v in snapshot["board"]["visits"]}  # the floor is there ...
    assert "patient_name" not in text
    assert not [name for name in names if name in text]  # ... without a name
