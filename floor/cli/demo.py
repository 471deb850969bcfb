"""`floor demo`: serve the demo clinic and play a generated day on it, on a fast clock."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Coroutine
from typing import TypeVar

from floor.bootstrap import embedded_floors
from floor.cli.common import say
from floor.cli.serve import port_free, serve_until_stopped, uvicorn_server
from floor.clock import Clock, ScaledClock
from floor.config import Clinic, demo_clinic_path, load_clinics
from floor.floors import Floors
from floor.settings import Settings, host_flag, port_flag

T = TypeVar("T")


def add(d: argparse.ArgumentParser) -> None:
    """Declares the subcommand's flags on its parser (its name and help: floor/cli/__init__.py)."""
    host_flag(d, from_environment=False)
    port_flag(d)
    d.add_argument("--speed", type=float, default=30.0, help="how many times faster than real time (30)")
    d.add_argument(
        "--start",
        type=dt.time.fromisoformat,
        default=None,
        help="clinic time to start the day at, HH:MM (default: 15 minutes before opening)",
    )
    d.add_argument("--seed", type=int, default=1, help="seed of the generated day")
    d.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings, clock: Clock) -> None:
    clinics = load_clinics([demo_clinic_path()])
    clinic = clinics[0]
    demo_clock = _demo_clock(clinic, args.speed, args.start, clock)
    data_dir = tempfile.mkdtemp(prefix="floor-demo-")
    # The demo's log and staff directory (PIN hashes) go with it, however it stops: Ctrl+C or an error (here),
    # SIGTERM (serve_until_stopped's `then`, as the process ends at once).
    try:
        _play(args, settings, clinics, demo_clock, data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _play(
    args: argparse.Namespace, settings: Settings, clinics: list[Clinic], demo_clock: Clock, data_dir: str
) -> None:
    from floor.demo import add_demo_staff, play_day

    clinic = clinics[0]
    host, port = settings.host, settings.port
    # Before the banner: with the port taken, it printed where to go and its PINs, then stopped (a newcomer opened
    # the printed address and reached the other program).
    port_free(host, port, "floor demo: cannot serve")
    floors = embedded_floors(clinics, data_dir, demo_clock)
    # Heartbeats, delays and reviews as often in clinic time as on a real day.
    floors.tick_seconds = max(0.5, floors.tick_seconds / args.speed)
    # The clinic clock stands still while the demo's PINs are hashed (several seconds): `--start 12:00` began at
    # 12:04, and the default quarter of an hour before opening was shorter by as much.
    speed, demo_clock.factor = demo_clock.factor, 0.0
    try:
        people = asyncio.run(_with_directory(floors, add_demo_staff(floors.sessions, clinic)))
    except KeyboardInterrupt:  # Ctrl+C while the accounts are made: stopped, without a traceback
        say("floor demo: stopped before it started.")
        return
    demo_clock.origin, demo_clock.factor = time.time(), speed

    async def play() -> None:
        await play_day(floors.get(clinic.id), seed=args.seed)

    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    accounts = "\n".join(
        f"    {role.value.replace('_', ' '):18} {staff_id:8} PIN {pin}   ({name})"
        for staff_id, name, role, pin in people
    )
    say(f"""
Floor demo: {clinic.name}, a generated clinic day at {args.speed:g}x speed
(clinic clock starts {demo_clock.now().astimezone(clinic.tz):%H:%M} {clinic.timezone}; data in {data_dir},
removed when the demo stops).

  Wall display: {base}/board.html   (the demo pairs it by itself; a real wall waits for a manager)
  Waiting room: {base}/waiting.html
  Tablet:       {base}/   (sign in with a demo account below)
  Manager:      {base}/manager.html   (as dana)
  API docs:     {base}/schema

  Demo staff (PINs are new each run):
{accounts}

Press Ctrl+C to stop.
""")
    server = uvicorn_server(floors, settings, background=[play], demo_pairing_clinic=clinic.id)
    serve_until_stopped(server, settings, then=lambda: shutil.rmtree(data_dir, ignore_errors=True))


async def _with_directory(floors: Floors, job: Coroutine[None, None, T]) -> T:
    await floors.sessions.directory.open()
    try:
        return await job
    finally:
        await floors.sessions.directory.close()


def _demo_clock(clinic: Clinic, speed: float, start: dt.time | None, clock: Clock) -> ScaledClock:
    from floor.simulator import demo_start

    today = clock.now().astimezone(clinic.tz).date()
    begin = clinic.local(today, start) if start else demo_start(clinic, today)
    return ScaledClock(begin.astimezone(dt.UTC), speed)
