"""Plays a simulated clinic day (floor/simulator.py) against real Floor servers over HTTP.

The in-process pump (floor/demo.py) taps a runtime directly; this driver does what staff tablets do: read
the board, tap over HTTP. Each round reads the board from the next server in turn and sends that round's
bookings and taps to the same server (it surely knows every visit on the board it served), so with
several servers on one shared log the taps are spread over all of them and race each other through it.

Staff sign in: the caller passes the headers of one signed-in person per role in `ROLES`, and every tap
goes with the headers of the role whose step it is. Writes are throttled per sign-in and per server (5 a
second, bursts of 30); the day's scheduled visits are all booked in the first round, more than one burst,
so a tap answered 429 is left for a later round, as a tablet told to wait would, and that person sends
nothing more to that server until its Retry-After has passed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace

import httpx
import msgspec

from floor.core.access import Role
from floor.core.commands import BookVisit, Command, MarkRoom, TakeStep
from floor.core.journey import Stage
from floor.simulator import Staff
from floor.wire import Board

_DESK, _MA, _PROVIDER = Role.front_desk, Role.medical_assistant, Role.provider
#: Who taps which step on a real floor (the same split as floor/demo.py); bookings are the desk's and room
#: marks the assistant's.
ROLE = {
    Stage.arrived: _DESK,
    Stage.no_show: _DESK,
    Stage.cancelled: _DESK,
    Stage.roomed: _MA,
    Stage.prep_done: _MA,
    Stage.left_without_being_seen: _DESK,
    Stage.provider_in: _PROVIDER,
    Stage.teach_back_done: _PROVIDER,
    Stage.checked_out: _DESK,
}
#: The roles the driver taps as: sign in one person for each.
ROLES = frozenset({_DESK, _MA, _PROVIDER})

_boards = msgspec.json.Decoder(Board)


class TapFailed(AssertionError):
    """A server answered a tap with something other than 2xx or the 409 of a staff race."""


@dataclass
class Played:
    """What a played stretch of the day did, for the test's report and its assertions."""

    rounds: int = 0
    booked: int = 0
    taps: int = 0
    refused: int = 0  # 409s: another tap (or a board a moment behind) got there first
    throttled: int = 0  # 429s: left for a later round
    per_server: dict[str, int] = field(default_factory=dict)  # taps and bookings each base URL took (not 429)
    last_board: Board | None = None


def floor_view(board: Board) -> SimpleNamespace:
    """As much of a Floor as `Staff.due` reads: visits and rooms keyed by id."""
    return SimpleNamespace(visits={v.id: v for v in board.visits}, rooms={r.id: r for r in board.rooms})


def book_body(booking: BookVisit) -> dict:
    """The POST /visits body for a booking (`start` as ISO 8601 with its offset)."""
    body = {
        "patient_name": booking.patient_name,
        "provider": booking.provider,
        "visit_type": booking.visit_type,
        "walk_in": booking.walk_in,
    }
    if booking.start is not None:
        body["start"] = booking.start.isoformat()
    if booking.notes:
        body["notes"] = booking.notes
    return body


def tap_request(clinic: str, command: Command) -> tuple[str, dict, Role]:
    """The path, JSON body and role of a staff tap."""
    if isinstance(command, TakeStep):
        body: dict = {"type": command.step.value}
        if command.room is not None:
            body["room"] = command.room
        return f"/api/clinics/{clinic}/visits/{command.visit}/events", body, ROLE[command.step]
    if isinstance(command, MarkRoom):
        return f"/api/clinics/{clinic}/rooms/{command.room}/events", {"type": command.action.value}, _MA
    raise TypeError(f"the simulated staff do not tap {command!r}")


class _Throttled(Exception):
    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after


async def _post(client: httpx.AsyncClient, url: str, body: dict, signed_in: Mapping[str, str]) -> httpx.Response | None:
    """POST one tap as a signed-in person, with its own Idempotency-Key; None for a 409 (a staff race),
    _Throttled for a 429, TapFailed for the rest."""
    headers = {"Idempotency-Key": f"sim-{uuid.uuid4()}", **signed_in}
    response = await client.post(url, json=body, headers=headers)
    if response.status_code == 409:
        return None
    if response.status_code == 429:
        raise _Throttled(float(response.headers["Retry-After"]))
    if not response.is_success:
        raise TapFailed(f"POST {url} {body} -> {response.status_code}: {response.text}")
    return response


async def play_over_http(
    base_urls: list[str],
    clinic: str,
    staff: Staff,
    clock_now: Callable[[], dt.datetime],
    until: dt.datetime,
    signed_in: Mapping[Role, Mapping[str, str]],
    every: float = 0.1,
    timeout: float = 10.0,
) -> Played:
    """Play `staff`'s day on the servers at `base_urls` until the clinic clock (`clock_now`, the same
    accelerated time the servers keep) reaches `until`, looking at the floor every `every` real seconds.
    `signed_in` has the headers of a signed-in person for each of `ROLES`, good on every server."""
    missing = ROLES - signed_in.keys()
    assert not missing, f"sign in a person for {sorted(missing)}"
    played = Played(per_server=dict.fromkeys(base_urls, 0))
    waiting: dict[tuple[str, Role], float] = {}  # (server, role) -> when it may tap there again

    def may_tap(base: str, role: Role) -> bool:
        return time.monotonic() >= waiting.get((base, role), 0.0)

    def throttled(base: str, role: Role, told: _Throttled) -> None:
        waiting[(base, role)] = time.monotonic() + told.retry_after
        played.throttled += 1

    async with httpx.AsyncClient(timeout=timeout) as client:
        while (now := clock_now()) < until:
            base = base_urls[played.rounds % len(base_urls)]
            played.rounds += 1
            response = await client.get(f"{base}/api/clinics/{clinic}/board", headers=signed_in[_DESK])
            if response.status_code != 200:
                raise TapFailed(f"GET {base} board -> {response.status_code}: {response.text}")
            board = played.last_board = _boards.decode(response.content)
            now = clock_now()
            for index, booking in staff.bookings_due(now):
                if not may_tap(base, _DESK):
                    break  # the rest are booked in a later round
                try:
                    answer = await _post(
                        client, f"{base}/api/clinics/{clinic}/visits", book_body(booking), signed_in[_DESK]
                    )
                except _Throttled as told:
                    throttled(base, _DESK, told)
                    continue
                played.per_server[base] += 1
                if answer is None:
                    raise TapFailed(f"booking {booking} was refused with 409")
                staff.booked(index, answer.json()["visit"]["id"])
                played.booked += 1
            for command in staff.due(floor_view(board), now):  # type: ignore[arg-type]
                path, body, role = tap_request(clinic, command)
                if not may_tap(base, role):
                    continue  # due again next round, if still due
                try:
                    answer = await _post(client, f"{base}{path}", body, signed_in[role])
                except _Throttled as told:
                    throttled(base, role, told)
                    continue
                played.per_server[base] += 1
                played.taps += 1
                played.refused += answer is None
            await asyncio.sleep(every)
    return played
