"""The ASGI app: routes, the live socket, static pages, OpenAPI at /schema, request ids in every log line."""

from __future__ import annotations

import asyncio
import errno
import secrets
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NoReturn

import structlog
from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.file_system import BaseLocalFileSystem
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.routes import WebSocketRoute
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from floor.close_codes import openapi_text
from floor.floors import Floors
from floor.log.base import LogCorrupt, LogUnavailable
from floor.web.auth import Guarding, from_our_pages, misdirected
from floor.web.body import FloorRequest
from floor.web.errors import HANDLERS
from floor.web.export import export_router
from floor.web.health import health_router
from floor.web.http import clinics_router
from floor.web.live import live, live_clinic, serve_live
from floor.web.openapi import serve_true_document
from floor.web.people import people_routers
from floor.web.schedule import schedule_router

log = structlog.get_logger("floor.http")

MAX_BODY_BYTES = 64 * 1024

LIVE_FEED_DOC = """Live clinic floor status. Every write is a tap that becomes one event in the clinic's log,
with a sequence number that is gap-free per clinic. Errors always have the `ErrorBody` shape.

**Signing in.** Staff sign in with `POST /api/sign-in` and send `Authorization: Bearer <token>` on every
request. A wall display shows the code from `POST /api/displays/pairings`; a manager enters it with
`POST /api/displays`; the display then collects its own token with `POST /api/displays/pairings/claim`.

**Live feed** (WebSocket, not expressible in OpenAPI): `GET /api/clinics/{clinic}/live[?since=SEQ&mark=MARK]`.
Send `{"type": "auth", "token": "..."}` as the first message (or `Authorization: Bearer` on the handshake
from clients that can). Messages are JSON text frames, tagged by `kind`. Staff and managers get:

* `{"kind": "snapshot", "seq", "board": Board, "mark"}`: first, unless `since` is within the retained log (and
  `mark`, when sent, is still the log's at that seq); again whenever the screen must resync (it fell behind, or
  a new clinic day opened). Replace everything.
* `{"kind": "event", "seq", "event": Event, "visit": Visit | null, "rooms": [Room], "mark"}`: one per event, in
  order; `visit` and `rooms` are the changed entities as they are now.
* Every event and wall update carries the `mark` of its event (a wall's its own, with no actor nor device in
  it), and a snapshot the mark of the event at its seq (or '' before the day's first); a screen resumes with the
  seq and mark of the last one it applied, so that after a log lost events (a backup restored, a failover) it
  gets a snapshot rather than updates on top of patients the log no longer holds.
* `{"kind": "heartbeat", "seq", "now", "stale"}`: every 15 s, so idle sockets stay open through proxies;
  `stale` is true while the server cannot reach a shared log (what it shows may be behind).
* `{"kind": "measures", "seq", "measures": ClinicMeasures, "delays": [ProviderDelay]}` every tick for
  managers; `{"kind": "delays", "seq", "delays": [ProviderDelay]}` for other staff.

A wall display gets the hallway projection, which has no patient names: `snapshot` with a `HallwayBoard`,
`{"kind": "update", "seq", "at", "visit": HallwayVisit | null, "rooms": [HallwayRoom], "alert", "mark"}` per event,
`heartbeat`, and `{"kind": "delays", "seq", "delays": [HallwayDelay]}` every tick. A display paired to a zone
gets only its zone's rooms, the visits in them or in no room, and their alerts (an update per event still;
`"gone": token` when a visit went to another zone's room). Alert ids on walls are the wall's own.

"""


def static_dir() -> Path:
    """The pages: `static/` in a source checkout, `floor/_static` in an installed wheel."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "static", here / "_static"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("Floor's static pages are missing (expected static/ beside the floor package)")


class PageFiles(BaseLocalFileSystem):
    """The pages' files, where an address no file can have is not found (404): a NUL in it, a file taken for a
    folder (`/index.html/x`), a name longer than the file system takes. Litestar answered those 500, with a
    traceback in the error log for anyone who asked (a hostile review)."""

    async def info(self, path: Any, **kwargs: Any) -> Any:
        try:
            return await super().info(path, **kwargs)
        except (ValueError, NotADirectoryError) as e:
            raise FileNotFoundError(errno.ENOENT, "no such page", str(path)[:200]) from e
        except OSError as e:
            if e.errno != errno.ENAMETOOLONG:
                raise
            raise FileNotFoundError(errno.ENOENT, "no such page", str(path)[:200]) from e


#: The most of a request's path its log lines keep.
LOGGED_PATH = 200


def _request_context(scope: Scope) -> tuple[str, str, str | None]:
    """The request id (the caller's X-Request-ID, or a new one), the path and the clinic of a request."""
    request_id = next((value for name, value in scope.get("headers") or () if name == b"x-request-id"), b"")
    path: str = scope["path"]
    parts = path.split("/")
    clinic = parts[3][:40] if len(parts) > 3 and parts[1:3] == ["api", "clinics"] else None
    # Both go on every log line of the request: held short, so a 60,000-character path is not 120 KB of log.
    return request_id.decode("latin-1")[:64] or secrets.token_hex(8), path[:LOGGED_PATH], clinic


def request_context(app: ASGIApp) -> ASGIApp:
    """Bind a request id (the caller's X-Request-ID, or a new one) and the clinic to every log line."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        # In a helper: a socket's middleware frame lives as long as the socket and keeps no copy of its headers.
        request_id, path, clinic = _request_context(scope)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, clinic=clinic)
        started = time.perf_counter()
        status = 0

        api = path.startswith("/api/")

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    # Answers name patients (the board, a visit, an export): a shared tablet's browser must not keep
                    # them on disk after a sign-out (a review). The pages may be kept, but are asked for again each
                    # time: after an upgrade a tablet could run the old scripts against the new server until it
                    # happened to drop them (an upgrade review). They are small (a few hundred KB).
                    headers.append((b"cache-control", b"no-store" if api else b"no-cache"))
                # No page of another site may show Floor's in a frame (floor.web.auth.framing).
                app_state = getattr(scope.get("app"), "state", None)
                guarding = getattr(app_state, "guarding", None)
                if guarding is not None:
                    headers += guarding.frame_headers
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http" and api:
                log.info(
                    "request",
                    method=scope["method"],
                    path=path,
                    status=status,
                    ms=round((time.perf_counter() - started) * 1000, 2),
                )
            structlog.contextvars.clear_contextvars()

    return middleware


class FloorApp(Litestar):
    """Litestar, with one front door of its own: a live socket (`/api/clinics/{clinic}/live`) goes straight to
    floor.web.live, before Litestar's routing, middleware and handler injection. After a restart every wall
    reconnects at once, and those were a fifth of the server's cost per socket (loadtests/README.md). What they
    did for the socket is done here or there: the request id and clinic bound to every log line (as
    `request_context`), the route's declared act (the same `opt`, read from the route), an error closed with
    a reason. Everything else goes through Litestar as before."""

    #: The live route's `opt`, the same dict Litestar's route holds (a test that changes one changes both).
    live_opt: dict

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[override]
        # Before anything else, for every route, a path no route has, and the live socket alike: a request sent to
        # a name the server is not set up for is a page of another site reaching it by DNS rebinding (floor.web.auth
        # `Guarding.host_allowed`). Not in a guard (none runs for a path no route has) nor in `request_context`
        # (the live socket never reaches it).
        if not self._host_allowed(scope):
            await self._misdirected(scope, send)
            return
        if scope["type"] == "websocket":
            clinic = live_clinic(scope["path"])
            if clinic is not None:
                await self._live(scope, receive, send, clinic)
                return
        await super().__call__(scope, receive, send)

    def _host_allowed(self, scope: Scope) -> bool:
        guarding = self.state.guarding
        if not guarding.allowed_hosts or scope["type"] not in ("http", "websocket"):
            return True
        for name, value in scope["headers"]:
            # uvicorn's websocket protocols pass header names as they came; ASGI asks for lower case.
            if name.lower() == b"host" and not guarding.host_allowed(value.decode("latin-1")):
                return False
        return True

    async def _misdirected(self, scope: Scope, send: Send) -> None:
        request_id, path, _ = _request_context(scope)
        host = next((v.decode("latin-1") for n, v in scope["headers"] if n.lower() == b"host"), "")
        # A line per refusal, saying what to do when the name is the server's own (a proxy that passes another Host).
        log.warning(
            "host_refused",
            request_id=request_id,
            host=host[:100],
            path=path,
            then="if that is a name of this server, add it to FLOOR_ALLOWED_HOSTS",
        )
        await misdirected(scope, send, [(b"x-request-id", request_id.encode()), *self.state.guarding.frame_headers])

    async def _live(self, scope: Scope, receive: Receive, send: Send, clinic: str) -> None:
        request_id, _, _ = _request_context(scope)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, clinic=clinic)
        try:
            state = self.state
            await serve_live(scope, receive, send, clinic, state.floors, state.guarding, self.live_opt)
        finally:
            structlog.contextvars.clear_contextvars()


LIVE_PATH = "/api/clinics/{clinic:str}/live"


def _live_opt(app: Litestar) -> dict:
    for route in app.routes:
        if isinstance(route, WebSocketRoute) and route.path == LIVE_PATH:
            return route.route_handler.opt
    raise LookupError("the live socket's route is missing")


def create_app(
    floors: Floors,
    background: list[Callable[[], Coroutine[None, None, None]]] = (),
    guarding: Guarding | None = None,
    demo_pairing_clinic: str | None = None,
    cannot_start: Callable[[Exception], NoReturn] | None = None,
) -> Litestar:
    """`background` jobs (the demo's simulated staff) run while the app serves. `demo_pairing_clinic`
    (`floor demo` only) pairs every new wall display with that clinic without a manager. `cannot_start`: what
    the command does when the log cannot be loaded (damaged, or out of reach), in place of a lifespan traceback."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        try:
            await floors.start()
        except (LogCorrupt, LogUnavailable) as e:
            if cannot_start is None:
                raise
            cannot_start(e)
        tasks = [asyncio.create_task(job()) for job in background]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await floors.stop()

    api = clinics_router(floors)
    sockets = Router("/api/clinics", route_handlers=[live], include_in_schema=False)
    pages = create_static_files_router(
        path="/",
        directories=[static_dir()],
        file_system=PageFiles(),
        html_mode=True,
        include_in_schema=False,
        name="pages",
    )
    app = FloorApp(
        route_handlers=[
            api,
            export_router(floors),
            schedule_router(floors),
            *people_routers(floors),
            sockets,
            health_router(),
            pages,
        ],
        lifespan=[lifespan],
        middleware=[request_context],
        guards=[from_our_pages],
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=MAX_BODY_BYTES,
        request_class=FloorRequest,
        state=State({"floors": floors, "guarding": guarding or Guarding(), "demo_pairing_clinic": demo_pairing_clinic}),
        openapi_config=OpenAPIConfig(
            title="Floor",
            version="0.1.0",
            description=LIVE_FEED_DOC + openapi_text(),
            path="/schema",
            components=Components(
                security_schemes={
                    "staff_or_display_token": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="The token from POST /api/sign-in (staff) or the display pairing claim.",
                    ),
                }
            ),
            security=[{"staff_or_display_token": []}],
            # Redoc's script from Floor itself (static/vendor/redoc), without Google's fonts: a clinic network
            # without the internet got a blank page from the CDN (a newcomer's run).
            render_plugins=[
                RedocRenderPlugin(
                    js_url="/vendor/redoc/redoc.standalone.js",
                    google_fonts=False,
                    favicon='<link rel="icon" href="data:,">',
                )
            ],
        ),
        logging_config=None,  # floor.logging_setup owns logging: JSON lines for every library
        debug=False,
    )
    app.live_opt = _live_opt(app)
    serve_true_document(app)
    return app
