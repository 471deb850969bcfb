"""Plays a simulated clinic day (floor/simulator.py) against real Floor servers over HTTP.

The in-process pump (floor/demo.py) taps a runtime directly; this driver does what staff tablets do: read
the board, tap over HTTP. Each round reads the board from the next server in turn and sends that round's
bookings and taps to the same server (it surely knows every visit on the board it served), so with
several servers on one shared log the taps are spread over all of them and race each other through it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import httpx
import msgspec

from floor.core.commands import BookVisit, Command, MarkRoom, TakeStep
from floor.core.journey import Stage
from floor.simulator import Staff
from floor.wire import Board

#: Who taps which step on a real floor (the same split as floor/demo.py), for the X-Floor-Actor header.
ROLE = {Stage.arrived: "front-desk", Stage.no_show: "front-desk", Stage.cancelled: "front-desk",
        Stage.roomed: "ma", Stage.prep_done: "ma", Stage.left_without_being_seen: "front-desk",
        Stage.provider_in: "provider", Stage.teach_back_done: "provider", Stage.checked_out: "front-desk"}
DEVICE = "sim-driver"

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
    per_server: dict[str, int] = field(default_factory=dict)  # taps and bookings sent to each base URL
    last_board: Board | None = None


def floor_view(board: Board) -> SimpleNamespace:
    """As much of a Floor as `Staff.due` reads: visits and rooms keyed by id."""
    return SimpleNamespace(visits={v.id: v for v in board.visits}, rooms={r.id: r for r in board.rooms})


def book_body(booking: BookVisit) -> dict:
    """The POST /visits body for a booking (`start` as ISO 8601 with its offset)."""
    body = {"patient_name": booking.patient_name, "provider": booking.provider, "visit_type": booking.visit_type,
            "walk_in": booking.walk_in}
    if booking.start is not None:
        body["start"] = booking.start.isoformat()
    if booking.notes:
        body["notes"] = booking.notes
    return body


def tap_request(clinic: str, command: Command) -> tuple[str, dict, str]:
    """The path, JSON body and actor of a staff tap."""
    if isinstance(command, TakeStep):
        body: dict = {"type": command.step.value}
        if command.room is not None:
            body["room"] = command.room
        return f"/api/clinics/{clinic}/visits/{command.visit}/events", body, ROLE[command.step]
    if isinstance(command, MarkRoom):
        return f"/api/clinics/{clinic}/rooms/{command.room}/events", {"type": command.action.value}, "ma"
    raise TypeError(f"the simulated staff do not tap {command!r}")


async def _post(client: httpx.AsyncClient, url: str, body: dict, actor: str) -> httpx.Response | None:
    """POST one tap with its own Idempotency-Key; None for a 409 (a staff race), TapFailed for the rest."""
    headers = {"Idempotency-Key": f"sim-{uuid.uuid4()}", "X-Floor-Actor": actor, "X-Floor-Device": DEVICE}
    response = await client.post(url, json=body, headers=headers)
    if response.status_code == 409:
        return None
    if not response.is_success:
        raise TapFailed(f"POST {url} {body} -> {response.status_code}: {response.text}")
    return response


async def play_over_http(base_urls: list[str], clinic: str, staff: Staff, clock_now: Callable[[], dt.datetime],
                         until: dt.datetime, every: float = 0.1, timeout: float = 10.0) -> Played:
    """Play `staff`'s day on the servers at `base_urls` until the clinic clock (`clock_now`, the same
    accelerated time the servers keep) reaches `until`, looking at the floor every `every` real seconds."""
    played = Played(per_server=dict.fromkeys(base_urls, 0))
    async with httpx.AsyncClient(timeout=timeout) as client:
        while (now := clock_now()) < until:
            base = base_urls[played.rounds % len(base_urls)]
            played.rounds += 1
            response = await client.get(f"{base}/api/clinics/{clinic}/board")
            if response.status_code != 200:
                raise TapFailed(f"GET {base} board -> {response.status_code}: {response.text}")
            board = played.last_board = _boards.decode(response.content)
            now = clock_now()
            for index, booking in staff.bookings_due(now):
                answer = await _post(client, f"{base}/api/clinics/{clinic}/visits", book_body(booking), "front-desk")
                played.per_server[base] += 1
                if answer is None:
                    raise TapFailed(f"booking {booking} was refused with 409")
                staff.booked(index, answer.json()["visit"]["id"])
                played.booked += 1
            for command in staff.due(floor_view(board), now):  # type: ignore[arg-type]
                path, body, actor = tap_request(clinic, command)
                answer = await _post(client, f"{base}{path}", body, actor)
                played.per_server[base] += 1
                played.taps += 1
                played.refused += answer is None
            await asyncio.sleep(every)
    return played
