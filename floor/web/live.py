"""The live feed socket: a snapshot (or the missed events), then every event in order, plus heartbeats."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from litestar import WebSocket, websocket
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath

from floor.bootstrap import Floors
from floor.fanout import RESYNC, Subscriber
from floor.runtime import ClinicRuntime
from floor.web.errors import CLOSE_BAD_PARAMETER, CLOSE_UNKNOWN_CLINIC
from floor.wire import Audience

log = structlog.get_logger("floor.live")


def _since(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ValueError(f"since must be a whole number of 0 or more, not {raw[:20]!r}")
    return int(raw)


@websocket("/{clinic:str}/live")
async def live(socket: WebSocket, floors: NamedDependency[Floors], clinic: FromPath[str]) -> None:
    await socket.accept()
    runtime = floors.runtimes.get(clinic)
    if runtime is None:
        await socket.close(CLOSE_UNKNOWN_CLINIC, f"no clinic {clinic[:40]!r} on this server")
        return
    try:
        since = _since(socket.query_params.get("since"))
    except ValueError as e:
        await socket.close(CLOSE_BAD_PARAMETER, str(e))
        return
    audience = Audience.staff
    sub = floors.hub.subscribe(clinic, audience)
    # No await between subscribing and catching up: no event can fall between the two.
    sub.queue.extend(runtime.catch_up(since, audience))
    reader = asyncio.create_task(_drain(socket, sub))
    try:
        await _send(socket, sub, runtime, audience)
    finally:
        floors.hub.unsubscribe(sub)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _send(socket: WebSocket, sub: Subscriber, runtime: ClinicRuntime, audience: Audience) -> None:
    sent = -1
    while (item := await sub.next()) is not None:
        if item is RESYNC:
            item = runtime.snapshot(audience)
        elif 0 < item[0] <= sent:
            continue  # already part of a snapshot this screen has
        try:
            await socket.send_text(item[1])
        except (WebSocketDisconnect, RuntimeError, OSError):
            return
        if item[0] > 0:
            sent = item[0]


async def _drain(socket: WebSocket, sub: Subscriber) -> None:
    """Screens send nothing we act on; reading notices when they go away."""
    try:
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                break
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        sub.close()
