"""`floor serve`: run the server on the settings' clinics, log and directory."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, NoReturn

import structlog
import uvicorn

from floor import bootstrap
from floor.cli.common import always, say
from floor.clock import Clock
from floor.config import Clinic, load_clinics
from floor.floors import Floors
from floor.log.base import LogCorrupt
from floor.settings import (
    Settings,
    data_dir_flag,
    host_flag,
    port_flag,
    redis_flag,
    replica_ack_flags,
    retention_days_flag,
    trusted_proxies_flag,
)


def add(s: argparse.ArgumentParser) -> None:
    """Declares the subcommand's flags on its parser (its name and help: floor/cli/__init__.py)."""
    host_flag(s, from_environment=True)
    port_flag(s)
    data_dir_flag(s, help="where the embedded log keeps its files (default ./floor-data, or $FLOOR_DATA_DIR)")
    redis_flag(
        s,
        help="share the floor through Redis (redis://host:6379/0; a Redis Cluster is detected); "
        "several nodes comma-separated (redis://a:7000,redis://b:7001), any one answering at "
        "start will do; default $FLOOR_REDIS_URL, else $REDIS_URL, else the embedded log",
    )
    s.add_argument(
        "--clinic",
        action="append",
        metavar="PATH",
        dest="clinic_files",
        help="a clinic TOML file or a directory of them; repeatable (default: $FLOOR_CLINICS, else the demo clinic)",
    )
    replica_ack_flags(s)
    trusted_proxies_flag(s)
    retention_days_flag(s)
    # For rehearsals and tests that play a clinic day in minutes; several servers given the same three
    # values agree on the time. Not for a real clinic.
    s.add_argument("--clock-start", type=dt.datetime.fromisoformat, default=None, help=argparse.SUPPRESS)
    s.add_argument("--clock-speed", type=float, default=1.0, help=argparse.SUPPRESS)
    s.add_argument("--clock-origin", type=float, default=None, help=argparse.SUPPRESS)
    s.set_defaults(run=run, writes_data_dir=always)


def languages_without_a_file(clinics: list[Clinic]) -> list[str]:
    """Warns of each screen language a clinic file lists with no `static/i18n/<code>.json` (README, Languages:
    copy en.json, translate it, list its code): its screens show English, and the waiting room shows English in
    that language's turn too. Started with `languages = ["en", "fr"]` and no fr.json, nothing said so."""
    from floor.web.app import static_dir

    i18n = static_dir() / "i18n"
    missing = []
    for clinic in clinics:
        for i, code in enumerate(clinic.display.languages):
            if not (i18n / f"{code}.json").is_file():
                field = f"display.languages[{i}]"
                missing.append(f"{clinic.id}: {field}")
                structlog.get_logger("floor.serve").warning(
                    "clinic_language_without_file",
                    clinic=clinic.id,
                    field=field,
                    language=code,
                    expected=str(i18n / f"{code}.json"),
                    then="its screens show English",
                )
    return missing


def run(args: argparse.Namespace, settings: Settings, clock: Clock) -> None:
    clinics = load_clinics(list(settings.clinic_files))
    languages_without_a_file(clinics)
    # Before anything is loaded or locked: with the port taken, the server said it was starting on it, loaded its
    # clinics, then left uvicorn's bind error and exited 3 (an ops review).
    port_free(settings.host, settings.port, "floor: cannot start: cannot serve")
    redis_url = settings.redis_url
    floors = bootstrap.build_floors(clinics, settings, bootstrap.clock(settings))
    # A fast clock needs reviews and heartbeats as often in clinic time as a real one.
    floors.tick_seconds = max(0.5, floors.tick_seconds / settings.clock_speed)
    if redis_url:
        from floor.redis_client import safe_url  # redis-py is loaded only by a server that uses Redis

        where = f"Redis at {safe_url(redis_url)}"
    else:
        where = f"data in {Path(settings.data_dir).resolve()}"
    # The embedded log has one writer: while this server runs, `floor import` goes through it (floor/log/owner.py).
    owner = None if redis_url else _own_data_dir(settings.data_dir)  # noqa: F841  # held for the life of the process
    if redis_url:
        _reach_before_serving(redis_url)
    else:
        _load_before_serving(floors, [c.id for c in clinics])
    say(f"Floor: starting {', '.join(c.id for c in clinics)} on http://{settings.host}:{settings.port} ({where})")
    if settings.trusted_proxies:
        if "*" in settings.trusted_proxies:
            say("Floor: client addresses from X-Forwarded-For's last address (every peer taken for a proxy)")
        else:
            say(f"Floor: client addresses from X-Forwarded-For of {', '.join(settings.trusted_proxies)} only")
    serve_until_stopped(uvicorn_server(floors, settings), settings)


class NearestProxy:
    """`--trusted-proxies '*'` (every peer is a proxy, as behind a platform's load balancer whose addresses are not
    known): the client is the last address in X-Forwarded-For, the one the proxy in front of Floor wrote (replacing
    the header or appending to it). uvicorn's own `*` took the first address, which a client behind a proxy that
    appends writes itself: each wrong PIN under an address of its own, and no per-address limit held (a hostile
    review of break-ins). Floor reads no scheme from the proxy (X-Forwarded-Proto): nothing it does depends on it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            forwarded = [v for name, v in scope["headers"] if name.lower() == b"x-forwarded-for"]
            last = b",".join(forwarded).decode("latin-1").rsplit(",", 1)[-1].strip() if forwarded else ""
            if last:
                scope = {**scope, "client": (_host_of(last), 0)}
        await self.app(scope, receive, send)


def _host_of(forwarded: str) -> str:
    """An X-Forwarded-For entry's address: `[v6]:port` and `v4:port` without their port."""
    if forwarded.startswith("["):
        return forwarded[1:].partition("]")[0]
    host, colon, port = forwarded.partition(":")
    return host if colon and port.isdigit() and ":" not in port else forwarded


#: Connections the kernel may hold for the server before it accepts them (capped by `net.core.somaxconn`, 4096
#: on current Linux). After a restart every wall reconnects within a second or so: a connection that finds the
#: queue full is dropped and its client's kernel tries again 1, 3, 7, 15 s later, so a few thousand sockets
#: were still away half a minute after the server was up (uvicorn's default is 2048; loadtests/README.md).
BACKLOG = 65535


def uvicorn_server(
    floors: Floors,
    settings: Settings,
    background: list[Callable[[], Coroutine[None, None, None]]] | None = None,
    demo_pairing_clinic: str | None = None,
) -> uvicorn.Server:
    """The uvicorn server for `floors` on the settings' host and port, socket stack and trusted proxies."""
    from floor.web.app import create_app
    from floor.web.auth import Guarding
    from floor.web.frames import FloorHttpProtocol, FloorSocketProtocol, LimitedHttpProtocol

    trusted_proxies = list(settings.trusted_proxies)
    app = create_app(
        floors,
        background=background or [],
        guarding=Guarding(
            allowed_origins=settings.allowed_origins,
            allowed_hosts=settings.allowed_hosts,
            waiting_per_address=settings.sockets_waiting_per_address,
            waiting_per_network=10 * settings.sockets_waiting_per_address,
        ),
        demo_pairing_clinic=demo_pairing_clinic,
        cannot_start=_cannot_start,
    )
    if "*" in trusted_proxies:
        # uvicorn's `*` takes X-Forwarded-For's first address, which a client writes itself behind a proxy that
        # appends to it; Floor's takes the last, the one the proxy in front of it wrote (NearestProxy).
        app, trusted_proxies = NearestProxy(app), []
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        # uvicorn's websockets-sansio protocol, letting the live feed write each update's frame once for all
        # the screens of an audience (floor/web/frames.py).
        ws=FloorSocketProtocol if settings.ws == "frames" else settings.ws,
        # With it, a live socket's handshake goes to that protocol without being parsed twice (floor/web/frames.py).
        # Either way, a request's head is held to floor/web/frames.py HEAD_LIMIT (uvicorn's own has no limit).
        http=FloorHttpProtocol if settings.ws == "frames" else LimitedHttpProtocol,
        # Off: a per-socket zlib pass and ~40 KB of compressor state per screen, for messages of a few
        # hundred bytes; and compressed frames could not be shared between screens (loadtests/README.md).
        # FLOOR_WS_DEFLATE=1 turns it on where bandwidth costs more than the server's CPU and memory.
        ws_per_message_deflate=settings.ws_deflate,
        ws_max_size=64 * 1024,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        lifespan="on",
        # The client's address (the per-address sign-in and pairing limits count it) is the peer's, unless the
        # peer is a proxy named in --trusted-proxies: only then is its X-Forwarded-For (and -Proto) believed.
        # Without this uvicorn would believe any client connecting from 127.0.0.1 (or $FORWARDED_ALLOW_IPS).
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=trusted_proxies or None,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        backlog=BACKLOG,
    )
    return uvicorn.Server(config)


def port_free(host: str, port: int, cannot: str) -> None:
    """Ends the command with one line (`cannot` on {host}:{port}: why, and what to do) when `host:port` cannot be
    served: taken by another program, an address this machine has not, a port under 1024 without the right."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds it
            probe.bind(infos[0][4])
    except OSError as e:
        raise SystemExit(
            f"{cannot} on {host}:{port}: {e.strerror or e} (another program may be using it: stop it, or give "
            "--port another number)"
        ) from None


def _cannot_start(error: Exception) -> NoReturn:
    """The log could not be loaded as the server started (an event no floor can fold, Redis gone): one line
    saying why and what to do, and the process ends before serving anything (not a lifespan traceback). What
    the command does once the server stops (`floor demo` removes its data directory) is done first."""
    structlog.get_logger("floor.serve").error("cannot_start", reason=str(error))
    for job in _then:
        job()
    logging.shutdown()
    advice = (
        " Nothing was served: the other clinics can be served without this one (give --clinic only their files)."
        if isinstance(error, LogCorrupt)
        else ""
    )
    print(f"floor: cannot start: {str(error).rstrip('.')}.{advice}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(1)


#: What to do once the server has stopped, before the process ends (`serve_until_stopped`'s `then`).
_then: list[Callable[[], None]] = []


def _exit_cleanly(signum: int, frame: object) -> None:
    # By the time uvicorn hands the signal back, the shutdown is done: sockets closed with 1012, taps in flight
    # stored, the log closed. Freeing the interpreter's objects one by one (thousands of sockets' worth) only
    # delays the restart by a second or two, so the process ends here, its output flushed.
    for job in _then:
        job()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def serve_until_stopped(server: uvicorn.Server, settings: Settings, then: Callable[[], None] | None = None) -> None:
    """Serve until Ctrl+C or SIGTERM; then `then`, if given (on SIGTERM too, which ends the process at once)."""
    if then is not None:
        _then.append(then)
    try:
        _serve(server, settings)
    except KeyboardInterrupt:
        pass  # Ctrl+C: uvicorn has shut down as gracefully as on SIGTERM (asyncio raises it again once done)
    finally:
        if then is not None:
            _then.remove(then)
            then()


def _serve(server: uvicorn.Server, settings: Settings) -> None:
    # On SIGTERM uvicorn shuts down gracefully (sockets get 1012), then raises the signal again for the handler
    # that was there before it started. A SIGTERM is how a platform restarts a service, not a crash: this
    # handler ends the process with 0, where the default one would die of the signal (-15).
    signal.signal(signal.SIGTERM, _exit_cleanly)
    # uvloop unless FLOOR_LOOP=asyncio (for comparing: loadtests/README.md).
    if settings.loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            uvloop.run(server.serve())
            return
    asyncio.run(server.serve())


def _load_before_serving(floors: Floors, clinics: list[str]) -> None:
    """Read the embedded log's newest days and the staff directory before serving, so a damaged file stops the
    start with one line naming it and what to do (a damaged last record is moved aside here, and logged)."""
    from floor.log.base import LogCorrupt, LogUnavailable

    try:
        floors.log.preload(clinics)  # type: ignore[attr-defined]  # the embedded log's
        floors.sessions.directory.load()  # type: ignore[attr-defined]
    except (LogCorrupt, LogUnavailable) as e:
        raise SystemExit(f"floor: cannot start: {e}") from None
    except OSError as e:
        raise SystemExit(
            f"floor: cannot start: {e.filename or 'the data directory'}: {e.strerror or e}. "
            "Check the disk and the file's permissions, then start again."
        ) from None


def _reach_before_serving(redis_url: str) -> None:
    """Connect to Redis once before serving, so a Redis that no listed node of answers stops the start with one
    line saying so and what to do, not a traceback of the server's start; and so does a Redis that evicts keys
    when it is full (`floor.redis_client.evicts`)."""
    from floor.log.base import LogUnavailable
    from floor.redis_client import call, connect, evicting

    async def reach() -> str | None:
        client = await connect(redis_url, pool_size=2)
        try:
            return await call(client, lambda: evicting(client), "Redis")
        finally:
            await client.aclose()

    try:
        evicts = asyncio.run(reach())
    except LogUnavailable as e:
        raise SystemExit(
            f"floor: cannot start: {str(e).rstrip('.')}. Start Redis, or give --redis (or FLOOR_REDIS_URL) a node "
            "that answers; several may be listed, comma-separated."
        ) from None
    if evicts:
        # Started, every tap would be acknowledged into a store that may throw it away when memory runs short.
        raise SystemExit(f"floor: cannot start: {evicts} (CONFIG SET maxmemory-policy noeviction, and in its config).")


def _own_data_dir(data_dir: str):
    from floor.log.owner import LOCK_NAME, hold

    try:
        owner = hold(data_dir)
    except OSError as e:
        # Serving without the lock would let a second writer in beside this one (the same seqs stored twice).
        raise SystemExit(
            f"floor: cannot lock {Path(data_dir).resolve() / LOCK_NAME}: {e.strerror or e}. Nothing was started: "
            "make the data directory writable (or free space on its disk) and start again."
        ) from None
    if owner is None:
        # Two writers on one embedded log would store the same seq twice: refuse rather than corrupt the day.
        raise SystemExit(
            f"floor: another process is writing to {Path(data_dir).resolve()} (it holds "
            f"{LOCK_NAME}): another `floor serve` on this data directory, or a `floor import` "
            "finishing. Stop it, or give this server its own --data-dir (several servers share "
            "one floor through --redis)."
        )
    return owner
