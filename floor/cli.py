"""`floor serve` runs the server; `floor demo` also plays a generated clinic day on an accelerated clock."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import ipaddress
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TypeVar

import msgspec
import uvicorn

from floor.bootstrap import Floors, build_floors, embedded_floors
from floor.clock import Clock, ScaledClock, SystemClock
from floor.config import Clinic, ConfigError, demo_clinic_path, load_clinics
from floor.days import RETENTION_DAYS
from floor.log.redis import MAX_REPLICA_TIMEOUT_MS, ReplicaAck
from floor.logging_setup import configure
from floor.redis_client import safe_url

T = TypeVar("T")

#: What the commands that ask "which day is it?" read (export's default day and whether it has closed, import's
#: today, the demo's opening): the wall clock, replaced by tests so that none depends on the date it runs on.
CLOCK: Clock = SystemClock()


def _env_list(name: str) -> list[str]:
    value = os.environ.get(name, "")
    return [p for p in value.split(os.pathsep) if p]


def _add_replica_ack(parser: argparse.ArgumentParser) -> None:
    """--redis-replicas and --redis-replica-timeout (the commands that store taps in Redis take both)."""
    default = ReplicaAck()
    parser.add_argument("--redis-replicas", metavar="N", type=_whole("--redis-replicas", "FLOOR_REDIS_REPLICAS"),
                        default=os.environ.get("FLOOR_REDIS_REPLICAS", str(default.replicas)),
                        help="with Redis: answer a tap only once N replicas of its node have it (Redis WAIT), "
                             "else 503; default $FLOOR_REDIS_REPLICAS, else 0 (answer once the primary has it)")
    parser.add_argument("--redis-replica-timeout", metavar="MS",
                        type=_whole("--redis-replica-timeout", "FLOOR_REDIS_REPLICA_TIMEOUT", least=1,
                                     most=MAX_REPLICA_TIMEOUT_MS),
                        default=os.environ.get("FLOOR_REDIS_REPLICA_TIMEOUT", str(default.timeout_ms)),
                        help="milliseconds a tap waits for those replicas before its 503 (at most "
                             f"{MAX_REPLICA_TIMEOUT_MS}: the WAIT must end before Redis's command timeout); default "
                             f"$FLOOR_REDIS_REPLICA_TIMEOUT, else {default.timeout_ms}")


def _whole(flag: str, env: str, least: int = 0, most: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if value < least or (most is not None and value > most):
            within = f"between {least} and {most}" if most is not None else f"of at least {least}"
            raise argparse.ArgumentTypeError(f"{flag} (or ${env}) must be a whole number {within}, not {text!r}")
        return value
    return parse


def _replica_ack(args: argparse.Namespace) -> ReplicaAck:
    return ReplicaAck(args.redis_replicas, args.redis_replica_timeout)


def _redis_url(args: argparse.Namespace) -> str | None:
    """--redis, else $FLOOR_REDIS_URL, else $REDIS_URL: one URL, or several comma-separated (any node that
    answers at start will do; floor/redis_client.py `connect`)."""
    return args.redis or os.environ.get("FLOOR_REDIS_URL") or os.environ.get("REDIS_URL")


def _trusted_proxies(text: str) -> list[str]:
    """--trusted-proxies: addresses or networks (10.0.0.5, 10.0.0.0/24, ::1), comma-separated, or `*`."""
    proxies = [p.strip() for p in text.split(",") if p.strip()]
    for proxy in proxies:
        if proxy == "*":
            continue
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"--trusted-proxies (or $FLOOR_TRUSTED_PROXIES) takes addresses or networks such as 10.0.0.5 or "
                f"10.0.0.0/24, comma-separated, not {proxy!r}") from None
    return proxies


def _server(floors: Floors, host: str, port: int,
            background: list[Callable[[], Coroutine[None, None, None]]] | None = None,
            demo_pairing_clinic: str | None = None, trusted_proxies: list[str] | None = None) -> uvicorn.Server:
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
        # The client's address (the per-address sign-in and pairing limits count it) is the peer's, unless the
        # peer is a proxy named in --trusted-proxies: only then is its X-Forwarded-For (and -Proto) believed.
        # Without this uvicorn would believe any client connecting from 127.0.0.1 (or $FORWARDED_ALLOW_IPS).
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=trusted_proxies or None,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)


def _exit_cleanly(signum: int, frame: object) -> None:
    # By the time uvicorn hands the signal back, the shutdown is done: sockets closed with 1012, taps in flight
    # stored, the log closed. Freeing the interpreter's objects one by one (thousands of sockets' worth) only
    # delays the restart by a second or two, so the process ends here, its output flushed.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _run(server: uvicorn.Server) -> None:
    # On SIGTERM uvicorn shuts down gracefully (sockets get 1012), then raises the signal again for the handler
    # that was there before it started. A SIGTERM is how a platform restarts a service, not a crash: this
    # handler ends the process with 0, where the default one would die of the signal (-15).
    signal.signal(signal.SIGTERM, _exit_cleanly)
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
    redis_url = _redis_url(args)
    clock = ScaledClock(args.clock_start, args.clock_speed, args.clock_origin) if args.clock_start else None
    floors = build_floors(clinics, data_dir=args.data_dir, redis_url=redis_url, clock=clock,
                          replica_ack=_replica_ack(args))
    floors.retention_days = args.retention_days
    # A fast clock needs reviews and heartbeats as often in clinic time as a real one.
    floors.tick_seconds = max(0.5, floors.tick_seconds / args.clock_speed)
    where = f"Redis at {safe_url(redis_url)}" if redis_url else f"data in {Path(args.data_dir).resolve()}"
    # The embedded log has one writer: while this server runs, `floor import` goes through it (floor/log/owner.py).
    owner = None if redis_url else _own_data_dir(args.data_dir)  # noqa: F841  # held for the life of the process
    if redis_url:
        _reach_before_serving(redis_url)
    else:
        _load_before_serving(floors, [c.id for c in clinics])
    _print(f"Floor: serving {', '.join(c.id for c in clinics)} on http://{args.host}:{args.port} ({where})")
    if args.trusted_proxies:
        _print(f"Floor: client addresses from X-Forwarded-For of {', '.join(args.trusted_proxies)} only")
    _run(_server(floors, args.host, args.port, trusted_proxies=args.trusted_proxies))


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
        raise SystemExit(f"floor: cannot start: {e.filename or 'the data directory'}: {e.strerror or e}. "
                         "Check the disk and the file's permissions, then start again.") from None


def _reach_before_serving(redis_url: str) -> None:
    """Connect to Redis once before serving, so a Redis that no listed node of answers stops the start with one
    line saying so and what to do, not a traceback of the server's start."""
    from floor.log.base import LogUnavailable
    from floor.redis_client import connect

    async def reach() -> None:
        client = await connect(redis_url, pool_size=2)
        await client.aclose()

    try:
        asyncio.run(reach())
    except LogUnavailable as e:
        raise SystemExit(f"floor: cannot start: {e}. Start Redis, or give --redis (or FLOOR_REDIS_URL) a node "
                         "that answers; several may be listed, comma-separated.") from None


def check(args: argparse.Namespace) -> None:
    """`floor check`: the embedded log's files and the staff directory, offline; what is wrong and what
    `--repair` does (or did). Exits 1 while a problem is left unrepaired."""
    from floor.bootstrap import embedded_directory
    from floor.directory.embedded import check_directory
    from floor.log.embedded import check_logs
    from floor.log.owner import LOCK_NAME, hold

    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        raise SystemExit(f"floor: no data directory at {data_dir.resolve()}")
    owner = hold(data_dir)
    if owner is None:
        if args.repair:
            raise SystemExit(f"floor: a Floor server (or import) is writing to {data_dir.resolve()} (it holds "
                             f"{LOCK_NAME}); stop it before `floor check --repair`. Nothing was changed.")
        _print("floor: a server is writing to this data directory: a record being written may show as damaged")
    try:
        findings, files, records = check_logs(data_dir, repair=args.repair)
        findings += check_directory(embedded_directory(data_dir).path, repair=args.repair)
    finally:
        if owner is not None:
            owner.close()
    for f in findings:
        if f.repaired:
            print(f"{f.file}: {f.problem}\n    repaired: {f.repair}")
        elif f.repair:
            print(f"{f.file}: {f.problem}\n    --repair would {f.repair}")
        else:
            print(f"{f.file}: {f.problem}\n    not repairable here: restore the file from a backup")
    left = [f for f in findings if not f.repaired]
    print(f"{files} log files, {records} records, the staff directory: "
          f"{len(findings)} problem(s){f', {len(findings) - len(left)} repaired' if args.repair else ''}")
    if left:
        raise SystemExit(1)


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
    redis_url = _redis_url(args)
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


def _clinic_words(clinics: tuple[str, ...] | None) -> str:
    from floor.core.access import ALL_CLINICS, clinics_of

    clinics = clinics_of(clinics)
    return "in every clinic" if ALL_CLINICS in clinics else f"in {', '.join(clinics)}"


def staff(args: argparse.Namespace) -> None:
    from floor.clock import SystemClock
    from floor.core.access import ALL_CLINICS, Role, clinics_of
    from floor.core.errors import Refusal
    from floor.sessions import Sessions

    clinics = tuple(dict.fromkeys(args.clinic or [ALL_CLINICS]))

    async def run() -> None:
        directory = _directory(args)
        await directory.open()
        sessions = Sessions(directory, SystemClock())
        try:
            if args.action == "add":
                member = await sessions.add_staff(args.id, args.name or args.id, Role(args.role), _read_secret(args),
                                                  "floor staff add", clinics)
                _print(f"Added {member.id} ({member.name}), {member.role.value.replace('_', ' ')}, "
                       f"{_clinic_words(member.clinics)}.")
            elif args.action == "clinics":
                if not args.clinic:
                    raise SystemExit("floor: staff clinics needs --clinic (one or more, or '*' for every clinic)")
                member = await sessions.set_clinics(args.id, clinics, "floor staff clinics")
                _print(f"{member.id} now works {_clinic_words(member.clinics)}; their sign-ins ended.")
            elif args.action == "list":
                for m in await directory.all_staff():
                    held = await sessions.strikes(m.id)
                    waits = held.until if held is not None and held.waits(sessions.clock.now()) else None
                    locked = f" (locked until {waits:%H:%M} UTC)" if waits else ""
                    print(f"{m.id:20} {m.role.value:18} {','.join(clinics_of(m.clinics)):20} {m.name}{locked}")
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
    from floor.core.learned import EMPTY
    from floor.core.learning import LEARN_DAYS, Tally
    from floor.days import fold_day
    from floor.replay import read_events, replay

    clinic = load_clinics(args.clinic or [demo_clinic_path()])[0]
    learned = EMPTY
    path = Path(args.file)
    if not args.no_history:
        # A day file of an embedded log: learn from the days before it in the same folder, as the server
        # learned when that day opened.
        day = _day_of(path)
        if day is not None:
            past = sorted(p for p in path.parent.glob("*.log") if _day_of(p) is not None and _day_of(p) < day)
            tally = Tally(clinic)
            for p in past[-LEARN_DAYS:]:
                events = read_events(p)
                if events:
                    tally.add(fold_day(clinic, _day_of(p), events))
            learned = tally.learned()
            print(f"learned from {len(learned.days)} past days", file=sys.stderr)
    lines, _ = replay(clinic, read_events(args.file), learned=learned)
    for line in lines:
        c = line.change
        what = getattr(c, "kind", "") or ""
        who = " ".join(f"{k}={v}" for k in ("provider", "visit", "stage") if (v := getattr(c, k, None)))
        detail = getattr(c, "detail", None)
        facts = "" if detail is None else " " + msgspec.json.encode(detail).decode()
        print(f"{line.at.astimezone(clinic.tz):%H:%M} {type(c).__struct_config__.tag:14} {c.alert} {what} {who}{facts}")
    print(f"{len(lines)} alert changes", file=sys.stderr)


def _day_of(path: Path) -> dt.date | None:
    try:
        return dt.date.fromisoformat(path.stem)
    except ValueError:
        return None


def _clinic_named(name: str) -> Clinic:
    """A clinic by its file, or by its id among $FLOOR_CLINICS (and the demo clinic)."""
    if Path(name).exists():
        found = load_clinics([name])
        if len(found) == 1:
            return found[0]
        raise SystemExit(f"floor: {name} holds {len(found)} clinics; name one file")
    for clinic in load_clinics(_env_list("FLOOR_CLINICS") or [demo_clinic_path()]):
        if clinic.id == name:
            return clinic
    raise SystemExit(f"floor: no clinic {name!r} (give its TOML file, or set FLOOR_CLINICS)")


def export_day(args: argparse.Namespace) -> None:
    from floor import export
    from floor.days import day_measures

    clinic = _clinic_named(args.clinic)
    day = args.day or CLOCK.now().astimezone(clinic.tz).date()
    events = asyncio.run(_day_events(args, clinic.id, day))
    if args.what == "encounters":
        closed = day < CLOCK.now().astimezone(clinic.tz).date()
        sys.stdout.buffer.write(export.to_json(export.encounters(clinic, day, events, closed)) + b"\n")
        return
    # Today's measures as they stand now; a past day's as it closed.
    now = CLOCK.now() if day == CLOCK.now().astimezone(clinic.tz).date() else None
    measures = day_measures(clinic, day, events, now)
    if args.what == "measures-csv":
        sys.stdout.write(export.measures_csv(clinic, day, measures))
    else:
        sys.stdout.buffer.write(export.to_json(export.measure_report(clinic, day, measures)) + b"\n")


async def _day_events(args: argparse.Namespace, clinic: str, day: dt.date) -> list:
    """The day's events, read without changing anything: safe beside a running server (the embedded file is
    read as it is, and a record being written is left alone, not cut off as a starting server would)."""
    redis_url = _redis_url(args)
    if redis_url:
        from floor.log.redis import RedisLog

        redis_log = RedisLog(redis_url)
        await redis_log.open()
        try:
            return (await redis_log.read_day(clinic, day))[1]
        finally:
            await redis_log.close()
    from floor.log.embedded import scan

    path = Path(args.data_dir) / clinic / f"{day.isoformat()}.log"
    if not path.exists():
        _print(f"floor: no events for {clinic} on {day} in {path.parent}")
        return []
    records, _ = scan(path.read_bytes(), str(path))
    return [r.event for r in records]


def _own_data_dir(data_dir: str):
    from floor.log.owner import LOCK_NAME, hold

    try:
        owner = hold(data_dir)
    except OSError:
        return None  # the log reports an unusable data directory better
    if owner is None:
        # Two writers on one embedded log would store the same seq twice: refuse rather than corrupt the day.
        raise SystemExit(f"floor: another process is writing to {Path(data_dir).resolve()} (it holds "
                         f"{LOCK_NAME}): another `floor serve` on this data directory, or a `floor import` "
                         "finishing. Stop it, or give this server its own --data-dir (several servers share "
                         "one floor through --redis).")
    return owner


def import_file(args: argparse.Namespace) -> None:
    from floor.core.errors import Refusal
    from floor.schedule import Format, ScheduleRefused, format_of, import_schedule

    clinic = _clinic_named(args.clinic)
    try:
        body = Path(args.file).read_bytes()
    except OSError as e:
        raise SystemExit(f"floor: cannot read {args.file}: {e.strerror}") from None
    kind = Format(args.format) if args.format else format_of(None, args.file, body)
    assert kind is not None
    day = args.date or CLOCK.now().astimezone(clinic.tz).date()
    redis_url = _redis_url(args)
    owner = None
    if not redis_url:
        from floor.log.owner import hold

        owner = hold(args.data_dir)
        if owner is None:
            media = "text/csv" if kind is Format.csv else "application/fhir+json"
            raise SystemExit(
                f"floor: a Floor server is running on {Path(args.data_dir).resolve()}; two processes must not "
                "append to one embedded log, so nothing was imported. Import through the server (as a manager):\n"
                f"  curl -X POST -H 'Authorization: Bearer TOKEN' -H 'Content-Type: {media}' --data-binary "
                f"@{args.file} 'http://HOST:PORT/api/clinics/{clinic.id}/schedule?date={day}'")
    try:
        summary = asyncio.run(_import(clinic, redis_url, args.data_dir, body, kind, day, import_schedule,
                                      _replica_ack(args)))
    except ScheduleRefused as refused:
        for p in refused.problems:
            print(f"{args.file}: {p.where}: {p.field + ': ' if p.field else ''}{p.message}", file=sys.stderr)
        raise SystemExit(f"floor: {len(refused.problems)} problem(s); nothing was imported") from None
    except Refusal as refusal:
        raise SystemExit(f"floor: {refusal.message}") from None
    finally:
        if owner is not None:
            owner.close()
    for row in summary.rows:
        if row.outcome.value != "unchanged":
            reason = f" ({row.reason})" if row.reason else ""
            print(f"{row.where}: {row.external_id} {row.outcome.value.replace('_', ' ')} {row.visit or ''}{reason}")
    if summary.books_at is not None:
        print(f"{clinic.id} {day}: kept; it is booked when the day opens ({summary.books_at:%Y-%m-%d %H:%M %Z}): "
              f"{summary.added} to add, {summary.cancelled} cancelled, {summary.no_show} no-show, "
              f"{summary.not_applied} not applied")
        return
    print(f"{clinic.id} {day}: {summary.added} added, {summary.updated} updated, {summary.cancelled} cancelled, "
          f"{summary.no_show} no-show, {summary.unchanged} unchanged, {summary.not_applied} not applied "
          f"(log at seq {summary.seq})")


async def _import(clinic: Clinic, redis_url: str | None, data_dir: str, body: bytes, kind, day: dt.date,
                  import_schedule, replica_ack: ReplicaAck):
    """The import through a clinic runtime of its own on the same log a server uses, so it is decided and
    stored exactly as the HTTP endpoint does (Floor itself is the actor: no role check)."""
    from floor.fanout import Hub
    from floor.runtime import ClinicRuntime
    from floor.schedule.upcoming import FileUpcoming, RedisUpcoming

    if redis_url:
        from floor.log.redis import RedisLog

        event_log, upcoming = RedisLog(redis_url, clinics=1, replica_ack=replica_ack), RedisUpcoming(redis_url)
    else:
        from floor.log.embedded import EmbeddedLog

        event_log, upcoming = EmbeddedLog(data_dir), FileUpcoming(data_dir)
    await event_log.open()
    await upcoming.open()
    try:
        runtime = ClinicRuntime(clinic, event_log, CLOCK, Hub())
        await runtime.start()
        summary = await import_schedule(runtime, body, kind, day, "floor import", "cli", upcoming=upcoming)
        await runtime.settle()  # the alert review the import triggered, if any, is stored before closing
        return summary
    finally:
        await upcoming.close()
        await event_log.close()


def _demo_clock(clinic: Clinic, speed: float, start: dt.time | None) -> Clock:
    from floor.simulator import demo_start

    today = CLOCK.now().astimezone(clinic.tz).date()
    begin = clinic.local(today, start) if start else demo_start(clinic, today)
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
                        "several nodes comma-separated (redis://a:7000,redis://b:7001), any one answering at "
                        "start will do; default $FLOOR_REDIS_URL, else $REDIS_URL, else the embedded log")
    s.add_argument("--clinic", action="append", metavar="PATH",
                   help="a clinic TOML file or a directory of them; repeatable (default: $FLOOR_CLINICS, "
                        "else the demo clinic)")
    _add_replica_ack(s)
    s.add_argument("--trusted-proxies", metavar="ADDRESSES", type=_trusted_proxies,
                   default=os.environ.get("FLOOR_TRUSTED_PROXIES") or os.environ.get("FORWARDED_ALLOW_IPS", ""),
                   help="the reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For "
                        "gives the client's address; default $FLOOR_TRUSTED_PROXIES (else $FORWARDED_ALLOW_IPS), "
                        "else none: every client is known by the address it connects from")
    s.add_argument("--retention-days", type=int, default=int(os.environ.get("FLOOR_RETENTION_DAYS", RETENTION_DAYS)),
                   help=f"clinic days kept in the log, today included; older ones are deleted (default "
                        f"{RETENTION_DAYS}, or $FLOOR_RETENTION_DAYS)")
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
    st.add_argument("action", choices=["add", "list", "unlock", "secret", "clinics"])
    st.add_argument("--id", help="the staff id they sign in with (add, unlock, secret, clinics)")
    st.add_argument("--clinic", action="append", metavar="CLINIC",
                    help="add, clinics: a clinic they work in (repeat for several); '*' for every clinic the server "
                         "runs (the default for add)")
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
    r.add_argument("--no-history", action="store_true",
                   help="do not learn from the day files before it in the same folder (as the server does)")
    r.set_defaults(run=replay_day)

    e = commands.add_parser("export", help="a clinic day as FHIR (Encounters or a MeasureReport) or CSV, on stdout",
                            description="Reads the log without changing it: safe beside a running server.")
    e.add_argument("--clinic", required=True, metavar="FILE_OR_ID",
                   help="the clinic's TOML file, or its id among $FLOOR_CLINICS (or the demo clinic)")
    e.add_argument("--day", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD (default: today, clinic time)")
    e.add_argument("--what", choices=["encounters", "measures", "measures-csv"], default="encounters",
                   help="encounters: a FHIR Bundle of Encounters (default); measures: a FHIR MeasureReport; "
                        "measures-csv: the measures as CSV")
    e.add_argument("--data-dir", default=os.environ.get("FLOOR_DATA_DIR", "floor-data"))
    e.add_argument("--redis", metavar="URL", default=None)
    e.set_defaults(run=export_day)

    im = commands.add_parser("import", help="import a day's schedule from a CSV file or a FHIR R4 Bundle",
                             description="Books, moves and cancels today's visits to match the file, or keeps a "
                                         "later day's file to book when that day opens (README, Schedule import). "
                                         "With the embedded log it refuses while a server runs on the data "
                                         "directory: import through the server's endpoint then.")
    im.add_argument("file", help="the schedule: a .csv file, or a .json FHIR Bundle of Appointments")
    im.add_argument("--clinic", required=True, metavar="FILE_OR_ID",
                    help="the clinic's TOML file, or its id among $FLOOR_CLINICS (or the demo clinic)")
    im.add_argument("--date", type=dt.date.fromisoformat, default=None,
                    help="the clinic day, YYYY-MM-DD: today (the default, clinic time) or a day ahead")
    im.add_argument("--format", choices=["csv", "fhir"], default=None, help="default: by the file's name or content")
    im.add_argument("--data-dir", default=os.environ.get("FLOOR_DATA_DIR", "floor-data"))
    im.add_argument("--redis", metavar="URL", default=None)
    _add_replica_ack(im)
    im.set_defaults(run=import_file)

    ch = commands.add_parser("check", help="check the embedded log's files and the staff directory offline",
                             description="Reads every clinic's day files (each record's checksum, seqs in order "
                                         "and gap-free, damaged tails, damage in the middle) and the staff "
                                         "directory, and says what it found and what --repair would do. Exits "
                                         "1 while a problem is left unrepaired.")
    ch.add_argument("--data-dir", default=os.environ.get("FLOOR_DATA_DIR", "floor-data"))
    ch.add_argument("--repair", action="store_true",
                    help="move damaged tails (and damaged bytes that hold no record) beside their file, and an "
                         "unreadable staff directory aside; needs no server running on the data directory")
    ch.set_defaults(run=check)

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
