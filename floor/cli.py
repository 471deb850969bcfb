"""`floor serve` runs the server; `floor demo` also plays a generated clinic day on an accelerated clock."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TypeVar

import msgspec
import uvicorn

from floor.bootstrap import Floors, build_floors, embedded_floors
from floor.clock import Clock, ScaledClock
from floor.config import Clinic, ConfigError, demo_clinic_path, load_clinics
from floor.log.redis import safe_url
from floor.logs import configure

T = TypeVar("T")


def _env_list(name: str) -> list[str]:
    value = os.environ.get(name, "")
    return [p for p in value.split(os.pathsep) if p]


def _server(floors: Floors, host: str, port: int,
            background: list[Callable[[], Coroutine[None, None, None]]] | None = None,
            demo_pairing_clinic: str | None = None) -> uvicorn.Server:
    from floor.web.app import create_app
    from floor.web.auth import Guarding
    from floor.web.frames import FloorSocketProtocol

    # Pages served from another origin (a proxy's public name) that may open the live feed.
    origins = frozenset(o.strip() for o in os.environ.get("FLOOR_ALLOWED_ORIGINS", "").split(",") if o.strip())
    # The socket stack, for comparing (loadtests/README.md): "frames" (ours, the default), or one of
    # uvicorn's own ("websockets-sansio", "websockets"), under which every update goes through ASGI.
    ws = os.environ.get("FLOOR_WS", "frames")
    config = uvicorn.Config(
        create_app(floors, background=background or [], guarding=Guarding(allowed_origins=origins),
                   demo_pairing_clinic=demo_pairing_clinic),
        host=host,
        port=port,
        # uvicorn's websockets-sansio protocol, letting the live feed write each update's frame once for all
        # the screens of an audience (floor/web/frames.py).
        ws=FloorSocketProtocol if ws == "frames" else ws,
        # Off: a per-socket zlib pass and ~40 KB of compressor state per screen, for messages of a few
        # hundred bytes; and compressed frames could not be shared between screens (loadtests/README.md).
        # FLOOR_WS_DEFLATE=1 turns it on where bandwidth costs more than the server's CPU and memory.
        ws_per_message_deflate=os.environ.get("FLOOR_WS_DEFLATE") == "1",
        ws_max_size=64 * 1024,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)


def _run(server: uvicorn.Server) -> None:
    # uvloop unless FLOOR_LOOP=asyncio (for comparing: loadtests/README.md).
    if os.environ.get("FLOOR_LOOP", "uvloop") == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            uvloop.run(server.serve())
            return
    asyncio.run(server.serve())


def serve(args: argparse.Namespace) -> None:
    clinics = load_clinics(args.clinic or _env_list("FLOOR_CLINICS") or [demo_clinic_path()])
    redis_url = args.redis or os.environ.get("FLOOR_REDIS_URL") or os.environ.get("REDIS_URL")
    clock = ScaledClock(args.clock_start, args.clock_speed, args.clock_origin) if args.clock_start else None
    floors = build_floors(clinics, data_dir=args.data_dir, redis_url=redis_url, clock=clock)
    # A fast clock needs reviews and heartbeats as often in clinic time as a real one.
    floors.tick_seconds = max(0.5, floors.tick_seconds / args.clock_speed)
    where = f"Redis at {safe_url(redis_url)}" if redis_url else f"data in {Path(args.data_dir).resolve()}"
    _print(f"Floor: serving {', '.join(c.id for c in clinics)} on http://{args.host}:{args.port} ({where})")
    _run(_server(floors, args.host, args.port))


def demo(args: argparse.Namespace) -> None:
    from floor.demo import add_demo_staff, play_day

    clinics = load_clinics([demo_clinic_path()])
    clinic = clinics[0]
    clock = _demo_clock(clinic, args.speed, args.start)
    data_dir = tempfile.mkdtemp(prefix="floor-demo-")
    floors = embedded_floors(clinics, data_dir, clock)
    # Heartbeats, delays and reviews as often in clinic time as on a real day.
    floors.tick_seconds = max(0.5, floors.tick_seconds / args.speed)
    people = asyncio.run(_with_directory(floors, add_demo_staff(floors.sessions, clinic)))

    async def play() -> None:
        await play_day(floors.get(clinic.id), seed=args.seed)

    base = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
    accounts = "\n".join(f"    {role.value.replace('_', ' '):18} {staff_id:8} PIN {pin}   ({name})"
                         for staff_id, name, role, pin in people)
    _print(f"""
Floor demo: {clinic.name}, a generated clinic day at {args.speed:g}x speed
(clinic clock starts {clock.now().astimezone(clinic.tz):%H:%M} {clinic.timezone}; data in {data_dir}).

  Wall display: {base}/board.html   (the demo pairs it by itself; a real wall waits for a manager)
  Waiting room: {base}/waiting.html
  Tablet:       {base}/   (sign in with a demo account below)
  Manager:      {base}/manager.html   (as dana)
  API docs:     {base}/schema

  Demo staff (PINs are new each run):
{accounts}

Press Ctrl+C to stop.
""")
    _run(_server(floors, args.host, args.port, background=[play], demo_pairing_clinic=clinic.id))


async def _with_directory(floors: Floors, job: Coroutine[None, None, T]) -> T:
    await floors.sessions.directory.open()
    try:
        return await job
    finally:
        await floors.sessions.directory.close()


def _directory(args: argparse.Namespace):
    redis_url = args.redis or os.environ.get("FLOOR_REDIS_URL") or os.environ.get("REDIS_URL")
    if redis_url:
        from floor.directory.redis import RedisDirectory

        return RedisDirectory(redis_url)
    from floor.bootstrap import embedded_directory

    return embedded_directory(args.data_dir)


def _read_secret(args: argparse.Namespace) -> str:
    if args.secret_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("PIN or password: ")
    if getpass.getpass("Again: ") != first:
        raise SystemExit("floor: the two entries differ; nothing was changed")
    return first


def staff(args: argparse.Namespace) -> None:
    from floor.clock import SystemClock
    from floor.core.access import Role
    from floor.core.errors import Refusal
    from floor.sessions import Sessions

    async def run() -> None:
        directory = _directory(args)
        await directory.open()
        sessions = Sessions(directory, SystemClock())
        try:
            if args.action == "add":
                member = await sessions.add_staff(args.id, args.name or args.id, Role(args.role), _read_secret(args),
                                                  "floor staff add")
                _print(f"Added {member.id} ({member.name}), {member.role.value.replace('_', ' ')}.")
            elif args.action == "list":
                for m in await directory.all_staff():
                    locked = " (locked)" if await sessions.locked(m.id) else ""
                    print(f"{m.id:20} {m.role.value:18} {m.name}{locked}")
            elif args.action == "unlock":
                await sessions.unlock(args.id, "floor staff unlock")
                _print(f"Unlocked {args.id}.")
            elif args.action == "secret":
                await sessions.set_secret(args.id, _read_secret(args), "floor staff secret")
                _print(f"New PIN or password set for {args.id}; the account is unlocked.")
        except Refusal as refusal:
            raise SystemExit(f"floor: {refusal.message}") from None
        finally:
            await directory.close()

    asyncio.run(run())


def replay_day(args: argparse.Namespace) -> None:
    from floor.replay import read_events, replay

    clinic = load_clinics(args.clinic or [demo_clinic_path()])[0]
    lines, _ = replay(clinic, read_events(args.file))
    for line in lines:
        c = line.change
        what = getattr(c, "kind", "") or ""
        who = " ".join(f"{k}={v}" for k in ("provider", "visit", "stage") if (v := getattr(c, k, None)))
        detail = getattr(c, "detail", None)
        facts = "" if detail is None else " " + msgspec.json.encode(detail).decode()
        print(f"{line.at.astimezone(clinic.tz):%H:%M} {type(c).__struct_config__.tag:14} {c.alert} {what} {who}{facts}")
    print(f"{len(lines)} alert changes", file=sys.stderr)


def _demo_clock(clinic: Clinic, speed: float, start: dt.time | None) -> Clock:
    today = dt.datetime.now(clinic.tz).date()
    opening = clinic.local(today, clinic.session.opens) - dt.timedelta(minutes=15)
    begin = clinic.local(today, start) if start else opening
    return ScaledClock(begin.astimezone(dt.UTC), speed)


def _print(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="floor", description="Real-time clinic floor status server.")
    parser.add_argument("--log-level", default=os.environ.get("FLOOR_LOG_LEVEL", "info"),
                        choices=["debug", "info", "warning", "error"])
    commands = parser.add_subparsers(dest="command", required=True)

    s = commands.add_parser("serve", help="run the server")
    s.add_argument("--host", default=os.environ.get("FLOOR_HOST", "127.0.0.1"))
    s.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    s.add_argument("--data-dir", default=os.environ.get("FLOOR_DATA_DIR", "floor-data"),
                   help="where the embedded log keeps its files (default ./floor-data, or $FLOOR_DATA_DIR)")
    s.add_argument("--redis", metavar="URL", default=None,
                   help="share the floor through Redis (redis://host:6379/0; a Redis Cluster is detected); "
                        "default $FLOOR_REDIS_URL, else $REDIS_URL, else the embedded log")
    s.add_argument("--clinic", action="append", metavar="PATH",
                   help="a clinic TOML file or a directory of them; repeatable (default: $FLOOR_CLINICS, "
                        "else the demo clinic)")
    # For rehearsals and tests that play a clinic day in minutes; several servers given the same three
    # values agree on the time. Not for a real clinic.
    s.add_argument("--clock-start", type=dt.datetime.fromisoformat, default=None, help=argparse.SUPPRESS)
    s.add_argument("--clock-speed", type=float, default=1.0, help=argparse.SUPPRESS)
    s.add_argument("--clock-origin", type=float, default=None, help=argparse.SUPPRESS)
    s.set_defaults(run=serve)

    d = commands.add_parser("demo", help="serve the demo clinic and play a generated day on a fast clock")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    d.add_argument("--speed", type=float, default=30.0, help="how many times faster than real time (30)")
    d.add_argument("--start", type=dt.time.fromisoformat, default=None,
                   help="clinic time to start the day at, HH:MM (default: 15 minutes before opening)")
    d.add_argument("--seed", type=int, default=1, help="seed of the generated day")
    d.set_defaults(run=demo)

    st = commands.add_parser("staff", help="add staff (the first manager), list them, unlock or reset a PIN",
                             description="Staff accounts live beside the floor: in the data directory, or in "
                                         "Redis with --redis. There is no default account or password.")
    st.add_argument("action", choices=["add", "list", "unlock", "secret"])
    st.add_argument("--id", help="the staff id they sign in with (add, unlock, secret)")
    st.add_argument("--name", help="their name as colleagues know it (add)")
    st.add_argument("--role", choices=[r for r in ("front_desk", "medical_assistant", "provider", "manager")],
                    help="add: front_desk, medical_assistant, provider or manager")
    st.add_argument("--secret-stdin", action="store_true", help="read the PIN or password from one line of stdin "
                    "instead of asking twice")
    st.add_argument("--data-dir", default=os.environ.get("FLOOR_DATA_DIR", "floor-data"))
    st.add_argument("--redis", metavar="URL", default=None)
    st.set_defaults(run=staff)

    r = commands.add_parser("replay", help="what alerts Floor would have raised on a recorded day")
    r.add_argument("file", help="an embedded log day file (DATA/<clinic>/<day>.log) or a JSON array of events")
    r.add_argument("--clinic", action="append", metavar="PATH", help="the clinic's TOML file (default: demo)")
    r.set_defaults(run=replay_day)

    args = parser.parse_args(argv)
    if args.command == "staff" and args.action != "list" and not args.id:
        parser.error(f"staff {args.action} needs --id")
    if args.command == "staff" and args.action == "add" and not args.role:
        parser.error("staff add needs --role")
    configure(args.log_level)
    try:
        args.run(args)
    except ConfigError as e:
        parser.exit(2, f"floor: {e}\n")


if __name__ == "__main__":
    main()
