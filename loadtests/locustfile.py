"""Locust scenarios: a clinic day on tablets over HTTP, and wall displays holding live sockets.

Run it with `loadtests/run_locust.py`, which starts a server, adds the accounts and runs locust headless:

    .venv/bin/python loadtests/run_locust.py --tablets 20 --displays 30 --seconds 60

or against a server of your own (its accounts and their PIN in the environment, see below):

    FLOOR_LOCUST_PIN=... .venv/bin/locust -f loadtests/locustfile.py --headless -u 50 -r 5 -t 60s \
        --host http://127.0.0.1:8000 --only-summary

Tablets sign in once (a scrypt check, so they are paced by the spawn rate), then work the floor as their
role does on the tablet page, with 1 to 3 s of think time between taps: read the work list (the board), pick
one of the three longest-waiting cards and tap its next step with the visit's version (`expected_version`)
and a fresh `Idempotency-Key`, as `static/lib/api.js` does.

- front desk: books visits for today (mostly scheduled, some walk-ins) while fewer patients wait than
  there are rooms; checks patients in (one in ten is a no-show); checks them out after the teach-back.
- medical assistant: rooms an arrived patient into a ready room, marks prep done, cleans rooms in
  turnover (marks them ready); now and then blocks a free room and unblocks it later, or marks a patient
  who waited with no room free as left without being seen.
- provider: provider in (their own patients first, else a colleague's), then teach-back done, or one in
  ten checks out at once without a teach-back.
- manager (at most one): reads the measures and acknowledges active alerts.
- Some check-outs and no-shows (5 in 100) are undone a moment later by the tablet that made them, as a tap on
  the wrong card is (see `UNDOABLE`).

Several tablets work the same floor, so a tablet is sometimes beaten to a card: another tablet moved that
visit first (409 `stale_version`), took that room (409 `room_unavailable`), or already marked that room
(409 `illegal_step` for a room that is no longer in the state this tablet saw). Those answers are what a
busy floor gives: they pass, under their own name (`... [409 beaten to it]`) so the summary counts them.
Every other answer that is not 2xx fails the request (4xx and 5xx alike: 401, 403, 404, 409 for a step
the tablet's own view allowed, 422, 429, 503, ...), and locust then exits 1.

Wall displays pair as the wall page does (a code, which a manager approves, then the display claims its
token: one manager sign-in approves every display of this process, at most 4 a second), then hold the
live socket `WS /api/clinics/{clinic}/live`, sending `{"type": "auth", ...}` first and an `Origin` that
matches the server, as a browser does. Every message received is one `WS` request in the summary, named
by its kind: `live snapshot` (its time: from dialling to the snapshot), `live update` (its time: from the
event's server timestamp to its arrival, so only meaningful with locust on the server's machine),
`live heartbeat`, `live delays`. A socket that closes or goes silent for 45 s while the test runs, or an
update whose seq does not follow the last one, is a failure; the display then dials again with
`?since=SEQ` as the page does.

Environment (run_locust.py sets all of it):

    FLOOR_LOCUST_PIN       the PIN or password of every account below (required)
    FLOOR_LOCUST_CLINIC    the clinic to work in (riverside)
    FLOOR_LOCUST_DESK, FLOOR_LOCUST_MA, FLOOR_LOCUST_PROVIDER, FLOOR_LOCUST_MANAGER
                           the staff ids each role signs in as (load-desk, load-ma, load-provider,
                           load-manager; tablets of one role share their account)
    FLOOR_LOCUST_USERS     how the users split: weights, e.g. desk=6,ma=7,provider=6,manager=1,display=30
                           (with -u equal to their sum the split is exact; a weight of 0 leaves the kind out)
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
import re
import time
import uuid
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import gevent
from gevent.lock import Semaphore
from locust import HttpUser, between, task
from locust.clients import ResponseContextManager
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

CLINIC = os.environ.get("FLOOR_LOCUST_CLINIC", "riverside")
PIN = os.environ.get("FLOOR_LOCUST_PIN", "")
ACCOUNTS = {
    "desk": os.environ.get("FLOOR_LOCUST_DESK", "load-desk"),
    "ma": os.environ.get("FLOOR_LOCUST_MA", "load-ma"),
    "provider": os.environ.get("FLOOR_LOCUST_PROVIDER", "load-provider"),
    "manager": os.environ.get("FLOOR_LOCUST_MANAGER", "load-manager"),
}
if not PIN:
    raise SystemExit("Set FLOOR_LOCUST_PIN to the PIN of the load accounts (loadtests/run_locust.py does it all).")


def _weights(spec: str) -> dict[str, int]:
    weights = {"desk": 3, "ma": 4, "provider": 3, "manager": 0, "display": 15}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kind, _, weight = part.partition("=")
        if kind.strip() not in weights or not weight.strip().isdigit():
            raise SystemExit(f"FLOOR_LOCUST_USERS: {part!r} is not KIND=N (kinds: {', '.join(weights)})")
        weights[kind.strip()] = int(weight)
    return weights


WEIGHTS = _weights(os.environ.get("FLOOR_LOCUST_USERS", ""))

#: Route templates: the summary groups requests by these names, not by visit or room.
BOARD = "/api/clinics/[c]/board"
VISITS = "/api/clinics/[c]/visits"
VISIT_EVENTS = "/api/clinics/[c]/visits/[v]/events"
ROOM_EVENTS = "/api/clinics/[c]/rooms/[r]/events"
BEATEN = " [409 beaten to it]"

#: Steps a tablet may undo a moment later: those that end the visit, so that no other tablet can have taken
#: a step since. (The server checks an undo's permission against the visit's last step before its
#: expected_version, so an undo that lands after someone else's next step is refused 403, not 409: see
#: "Locust" in loadtests/README.md.)
UNDOABLE = frozenset({"checked_out", "no_show"})
UNDO_RATE = 0.05
#: A socket that hears nothing this long is dead (heartbeats come every 15 s; the pages wait 45 s too).
SILENCE = 45.0

_numbers = itertools.count(1)
_PATIENTS = (
    "Avery",
    "Blake",
    "Casey",
    "Devon",
    "Emery",
    "Finley",
    "Harper",
    "Jordan",
    "Kai",
    "Logan",
    "Morgan",
    "Parker",
    "Quinn",
    "Riley",
    "Rowan",
    "Sage",
    "Skyler",
    "Taylor",
)
#: Numbers, and visit and alert ids (drawn at random: see floor/core/ids.py).
_DIGITS = re.compile(r"\b[va][0-9a-hjkmnp-tv-z]{12}\b|\d+")


def _body(response: ResponseContextManager) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def judge(response: ResponseContextManager, beaten: Callable[[dict[str, Any]], bool] | None = None) -> bool:
    """Whether the request did what was asked (2xx). A refusal `beaten` recognises as another tablet having
    got there first passes under its own name; anything else that is not 2xx is a failure."""
    if 200 <= response.status_code < 300:
        response.success()
        return True
    body = _body(response)
    if response.status_code == 409 and beaten is not None and beaten(body):
        response.request_meta["name"] += BEATEN
        response.success()
        return False
    # Digits and ids out, so that failures of one kind make one row of the error report, not one per visit.
    message = _DIGITS.sub("N", str(body.get("message", response.text))[:120])
    response.failure(f"{response.status_code} {body.get('error', '')}: {message}")
    return False


def visit_beaten(body: dict[str, Any]) -> bool:
    return body.get("error") in ("stale_version", "room_unavailable")


def room_beaten(seen: str) -> Callable[[dict[str, Any]], bool]:
    """A room mark refused because the room is no longer in the state this tablet saw."""
    return lambda body: body.get("error") == "illegal_step" and body.get("room_state") != seen


def _time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _since(visit: dict[str, Any]) -> dt.datetime:
    """When the visit reached its stage: the longest waiting come first on a work list."""
    return _time(visit["times"].get(visit["stage"]) or visit["start"])


def longest_waiting(visits: list[dict[str, Any]]) -> dict[str, Any]:
    """One of the three longest-waiting cards: staff mostly take the top of their list, not all the same."""
    return random.choice(sorted(visits, key=_since)[:3])


def sign_in(client: Any, kind: str, device: str) -> dict[str, str] | None:
    body = {"staff": ACCOUNTS[kind], "secret": PIN, "device": device}
    with client.post("/api/sign-in", json=body, name="/api/sign-in", catch_response=True) as r:
        if judge(r):
            return {"Authorization": f"Bearer {r.json()['token']}"}
    return None


class Tablet(HttpUser):
    """A staff member's tablet: signs in once, then reads the work list and taps, with think time."""

    abstract = True
    wait_time = between(1, 3)
    kind = ""

    def on_start(self) -> None:
        self.number = next(_numbers)
        # A failed sign-in leaves the tablet idle (it is counted as a failure; retrying a wrong PIN would
        # only lock the account).
        self.headers = sign_in(self.client, self.kind, f"locust {self.kind} {self.number}")

    def board(self) -> dict[str, Any] | None:
        if self.headers is None:
            return None
        with self.client.get(
            f"/api/clinics/{CLINIC}/board", headers=self.headers, name=BOARD, catch_response=True
        ) as r:
            return r.json() if judge(r) else None

    def post(
        self, path: str, name: str, body: dict[str, Any], beaten: Callable[[dict[str, Any]], bool] | None = None
    ) -> dict[str, Any] | None:
        """A tap, with its own Idempotency-Key (a tablet reuses it only when retrying the same tap)."""
        assert self.headers is not None
        headers = {**self.headers, "Idempotency-Key": uuid.uuid4().hex}
        with self.client.post(path, json=body, headers=headers, name=name, catch_response=True) as r:
            return r.json() if judge(r, beaten) else None

    def step(self, visit: dict[str, Any], to: str, room: str | None = None) -> dict[str, Any] | None:
        body: dict[str, Any] = {"type": to, "expected_version": visit["version"]}
        if room is not None:
            body["room"] = room
        answer = self.post(f"/api/clinics/{CLINIC}/visits/{visit['id']}/events", VISIT_EVENTS, body, visit_beaten)
        if answer is not None and to in UNDOABLE and random.random() < UNDO_RATE:
            gevent.sleep(random.uniform(0.5, 1.5))  # "that was the wrong card"
            self.post(
                f"/api/clinics/{CLINIC}/visits/{visit['id']}/events",
                VISIT_EVENTS,
                {"type": "undo", "expected_version": answer["visit"]["version"]},
                visit_beaten,
            )
        return answer

    def mark(self, room: dict[str, Any], action: str) -> None:
        self.post(
            f"/api/clinics/{CLINIC}/rooms/{room['id']}/events",
            ROOM_EVENTS,
            {"type": action},
            room_beaten(room["state"]),
        )


def _stage(board: dict[str, Any], *stages: str) -> list[dict[str, Any]]:
    return [v for v in board["visits"] if v["stage"] in stages]


def _rooms(board: dict[str, Any], state: str) -> list[dict[str, Any]]:
    return [r for r in board["rooms"] if r["state"] == state]


class FrontDesk(Tablet):
    weight = WEIGHTS["desk"]
    abstract = weight == 0
    kind = "desk"

    @task
    def work(self) -> None:
        board = self.board()
        if board is None:
            return
        done = _stage(board, "teach_back_done")
        expected = _stage(board, "scheduled")
        if done and random.random() < 0.7:
            self.step(longest_waiting(done), "checked_out")
        elif expected and random.random() < 0.7:
            self.step(longest_waiting(expected), "no_show" if random.random() < 0.1 else "arrived")
        elif len(_stage(board, "scheduled", "arrived")) < len(board["rooms"]):
            self.book(board)

    def book(self, board: dict[str, Any]) -> None:
        walk_in = random.random() < 0.3
        body: dict[str, Any] = {
            "patient_name": f"{random.choice(_PATIENTS)} Load{self.number}-{random.randrange(10_000)}",
            "provider": random.choice(board["providers"])["id"],
            "visit_type": random.choice(board["visit_types"])["code"],
            "walk_in": walk_in,
        }
        if not walk_in:
            body["start"] = self.start_time(board).isoformat()
        self.post(f"/api/clinics/{CLINIC}/visits", VISITS, body)

    @staticmethod
    def start_time(board: dict[str, Any]) -> dt.datetime:
        """A start about now (the patient is due soon), kept within today's clinic day: a start on another
        day is refused (422), and this tablet means no harm near midnight."""
        tz = ZoneInfo(board["timezone"])
        day = dt.date.fromisoformat(board["day"])
        opens = dt.datetime.combine(day, dt.time(0, 1), tz)
        closes = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), tz) - dt.timedelta(minutes=1)
        start = _time(board["now"]) + dt.timedelta(minutes=random.uniform(-5, 20))
        return min(max(start, opens), closes)


class MedicalAssistant(Tablet):
    weight = WEIGHTS["ma"]
    abstract = weight == 0
    kind = "ma"

    @task
    def work(self) -> None:
        board = self.board()
        if board is None:
            return
        ready, turnover, blocked = (_rooms(board, s) for s in ("ready", "turnover", "blocked"))
        arrived, roomed = _stage(board, "arrived"), _stage(board, "roomed")
        chores: list[Callable[[], Any]] = []
        if arrived and ready:
            chores += [lambda: self.step(longest_waiting(arrived), "roomed", random.choice(ready)["id"])] * 3
        if roomed:
            chores += [lambda: self.step(longest_waiting(roomed), "prep_done")] * 3
        if turnover:
            chores += [lambda: self.mark(random.choice(turnover), "ready")] * 2
        if blocked:
            chores.append(lambda: self.mark(random.choice(blocked), "unblocked"))
        if not chores and arrived and random.random() < 0.05:
            # Nobody could be roomed: now and then a patient gives up waiting.
            self.step(longest_waiting(arrived), "left_without_being_seen")
        elif len(ready) >= 3 and not blocked and random.random() < 0.02:
            self.mark(random.choice(ready), "blocked")  # a spill, the blood-draw chair is broken, ...
        elif chores:
            random.choice(chores)()


class Provider(Tablet):
    weight = WEIGHTS["provider"]
    abstract = weight == 0
    kind = "provider"
    mine: str | None = None

    @task
    def work(self) -> None:
        board = self.board()
        if board is None:
            return
        if self.mine is None:
            providers = [p["id"] for p in board["providers"]]
            self.mine = providers[self.number % len(providers)]
        waiting, seeing = _stage(board, "prep_done"), _stage(board, "provider_in")
        # Their own patients first; with none waiting, they see a colleague's.
        waiting = [v for v in waiting if v["provider"] == self.mine] or waiting
        seeing = [v for v in seeing if v["provider"] == self.mine] or seeing
        if seeing and (not waiting or random.random() < 0.5):
            self.step(longest_waiting(seeing), "checked_out" if random.random() < 0.1 else "teach_back_done")
        elif waiting:
            self.step(longest_waiting(waiting), "provider_in")


class Manager(Tablet):
    weight = WEIGHTS["manager"]
    abstract = weight == 0
    kind = "manager"
    wait_time = between(3, 6)

    @task
    def work(self) -> None:
        board = self.board()
        if board is None:
            return
        with self.client.get(
            f"/api/clinics/{CLINIC}/measures",
            headers=self.headers,
            name="/api/clinics/[c]/measures",
            catch_response=True,
        ) as r:
            judge(r)
        for alert in board.get("alerts", []):
            if alert.get("cleared_at") is None and alert.get("acknowledged_by") is None:
                self.post(
                    f"/api/clinics/{CLINIC}/alerts/{alert['id']}/acknowledge",
                    "/api/clinics/[c]/alerts/[a]/acknowledge",
                    {},
                )
                break


class Approver:
    """The manager who enters the displays' codes: one sign-in for this locust process, one code at a time,
    at most 4 a second (a sign-in may write 5 a second)."""

    EVERY = 0.25

    def __init__(self) -> None:
        self.lock = Semaphore()
        self.headers: dict[str, str] | None = None
        self.failed = False
        self.last = 0.0

    def approve(self, client: Any, code: str, label: str) -> bool:
        with self.lock:
            if self.headers is None and not self.failed:
                self.headers = sign_in(client, "manager", "locust manager")
                self.failed = self.headers is None
            if self.headers is None:
                return False
            gevent.sleep(max(0.0, self.last + self.EVERY - time.monotonic()))
            self.last = time.monotonic()
            body = {"code": code, "clinic": CLINIC, "label": label}
            with client.post(
                "/api/displays", json=body, headers=self.headers, name="/api/displays", catch_response=True
            ) as r:
                return judge(r)


APPROVER = Approver()


class WallDisplay(HttpUser):
    """A hallway wall: pairs once, then follows the live feed for the rest of the run."""

    weight = WEIGHTS["display"]
    abstract = weight == 0
    wait_time = between(1, 3)  # before pairing or dialling again after a failure

    def on_start(self) -> None:
        self.number = next(_numbers)
        self.token: str | None = None
        self.seq: int | None = None

    @task
    def watch(self) -> None:
        if self.token is None:
            self.token = self.pair()
        if self.token is not None:
            self.follow()

    def pair(self) -> str | None:
        with self.client.post("/api/displays/pairings", name="/api/displays/pairings", catch_response=True) as r:
            if not judge(r):
                return None
            started = r.json()
        if not APPROVER.approve(self.client, started["code"], f"Locust wall {self.number}"):
            return None
        with self.client.post(
            "/api/displays/pairings/claim",
            json={"claim": started["claim"]},
            name="/api/displays/pairings/claim",
            catch_response=True,
        ) as r:
            if r.status_code == 202:
                r.failure("202: still waiting, though a manager approved the code")
                return None
            return r.json()["token"] if judge(r) else None

    def report(
        self,
        name: str,
        started: float,
        length: int = 0,
        exception: Exception | None = None,
        elapsed_ms: float | None = None,
    ) -> None:
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            context={},
            exception=exception,
            response_length=length,
            response_time=(time.perf_counter() - started) * 1000 if elapsed_ms is None else elapsed_ms,
        )

    def follow(self) -> None:
        """Dial, say who we are, then take every message until the socket ends (a failure) or the run does."""
        assert self.token is not None
        url = f"{self.host.replace('http', 'ws', 1)}/api/clinics/{CLINIC}/live"
        if self.seq is not None:
            url += f"?since={self.seq}"
        started = time.perf_counter()
        opened = False
        # When the run ends, locust kills this greenlet (GreenletExit, not an Exception): the socket closes
        # quietly on the way out, and that is no failure.
        try:
            with connect(url, origin=self.host.rstrip("/"), open_timeout=10, close_timeout=2, max_size=2**23) as socket:
                opened = True
                socket.send(json.dumps({"type": "auth", "token": self.token}))
                while True:
                    try:
                        raw = socket.recv(timeout=SILENCE)
                    except TimeoutError:
                        self.report("live silent", started, exception=TimeoutError(f"no message for {SILENCE:g} s"))
                        return
                    self.take(raw, started)
        except (ConnectionClosed, OSError, InvalidHandshake, TimeoutError) as e:
            self.report("live closed" if opened else "live connect", started, exception=e)

    def take(self, raw: str | bytes, dialled: float) -> None:
        message = json.loads(raw)
        kind = message.get("kind", "unknown")
        name, exception, elapsed = f"live {kind}", None, 0.0
        if kind == "snapshot":
            self.seq = message["seq"]
            elapsed = (time.perf_counter() - dialled) * 1000
        elif kind in ("update", "event"):
            seq = message["seq"]
            if self.seq is not None and seq <= self.seq:
                exception = ValueError(f"update {seq} after {self.seq}: out of order")
            self.seq = seq
            at = message.get("at") or message.get("event", {}).get("at")
            if at:
                elapsed = max(0.0, (dt.datetime.now(dt.UTC) - _time(at)).total_seconds() * 1000)
        self.report(name, 0.0, len(raw), exception, elapsed_ms=elapsed)
