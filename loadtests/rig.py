"""What the load tests share: free ports, a Floor server (or two) on many clinics, a private Redis, display
tokens in bulk, and the server's CPU and memory read from /proc. Loopback only, everything bounded."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "floor" / "clinics" / "demo.toml"
TICKS = os.sysconf("SC_CLK_TCK")


def run_fast(main) -> None:
    """Run the coroutine `main` on uvloop where it is installed (as the server runs), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def ms(value: float) -> str:
    return f"{value * 1000:.1f}"


def clinic_files(folder: Path, count: int, prefix: str = "c") -> list[str]:
    """`count` copies of the demo clinic under ids c000, c001, ...: the same rooms, providers and day."""
    template = DEMO.read_text()
    ids = []
    for n in range(count):
        clinic = f"{prefix}{n:03d}"
        text = template.replace('id = "riverside"', f'id = "{clinic}"', 1)
        (folder / f"{clinic}.toml").write_text(text)
        ids.append(clinic)
    return ids


class Process:
    """CPU seconds and memory of a process, from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def cpu(self) -> float:
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def files(self) -> int:
        """Open file descriptors (each socket is one)."""
        try:
            return len(os.listdir(f"/proc/{self.pid}/fd"))
        except OSError:
            return -1

    def memory(self, field: str = "VmRSS") -> int:
        """Bytes of VmRSS (now) or VmHWM (the peak)."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        return 0


def raise_file_limit(want: int) -> int:
    """Raise this process's open-file limit toward `want` (servers started from here inherit it): the soft
    limit up to the hard one, and the hard one too where allowed (root). The limit now."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return soft
    for limit in ((want, max(hard, want)), (min(want, hard), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, limit)
            return limit[0]
        except (ValueError, OSError):
            continue
    return soft


class PrivateRedis:
    """A redis-server of our own on a free port, keeping nothing on disk: the machine's shared one stays clean."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.folder = tempfile.mkdtemp(prefix="floor-bench-redis-")
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.folder,
                "--maxclients",
                "20000",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("redis-server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)


class FloorServer:
    """`floor serve` on a free loopback port, for the given clinic files (none: the demo clinic). Its output
    goes to `log` when given (and its end is shown if it fails), else to this terminal."""

    def __init__(
        self,
        data_dir: str,
        clinics: list[str],
        redis_url: str | None = None,
        log: Path | None = None,
        extra: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir, self.clinics, self.redis_url, self.log = data_dir, clinics, redis_url, log
        #: More `floor serve` arguments (a fast clock: --clock-start, --clock-speed, --clock-origin) and environment.
        self.extra, self.env = extra or [], env or {}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> float:
        """Start it and wait until it answers; the seconds that took."""
        # BENCH_LOG=info shows the server's own log lines (warnings only by default).
        level = os.environ.get("BENCH_LOG", "warning")
        command = [
            sys.executable,
            "-m",
            "floor",
            "--log-level",
            level,
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            self.data_dir,
        ]
        if self.redis_url:
            command += ["--redis", self.redis_url]
        command += self.extra
        env = {**os.environ, "FLOOR_CLINICS": os.pathsep.join(self.clinics), **self.env}
        started = time.monotonic()
        if self.log is None:
            self.proc = subprocess.Popen(command, env=env)
        else:
            with open(self.log, "ab") as out:
                self.proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        for _ in range(1200):
            if self.proc.poll() is not None:
                raise SystemExit(f"floor serve exited with {self.proc.returncode}{self.tail()}")
            try:
                # Up once the API answers; without a token it answers 401.
                if httpx.get(f"{self.base}/api/clinics", timeout=1).status_code == 401:
                    return time.monotonic() - started
            except httpx.TransportError:
                time.sleep(0.05)
        raise SystemExit(f"floor serve did not answer within a minute{self.tail()}")

    def tail(self) -> str:
        """The end of the server's log, to show with a failure (empty when it logs to the terminal)."""
        return f":\n{self.log.read_text(errors='replace')[-4000:]}" if self.log and self.log.exists() else ""

    @property
    def process(self) -> Process:
        assert self.proc is not None
        return Process(self.proc.pid)

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)


def add_staff(data_dir: str, staff: str, pin: str, role: str, redis_url: str | None = None) -> None:
    command = [
        sys.executable,
        "-m",
        "floor",
        "--log-level",
        "warning",
        "staff",
        "add",
        "--id",
        staff,
        "--name",
        f"Load {staff}",
        "--role",
        role,
        "--secret-stdin",
        "--data-dir",
        data_dir,
    ]
    if redis_url:
        command += ["--redis", redis_url]
    subprocess.run(command, input=pin + "\n", text=True, check=True)


async def display_tokens(clinics: list[str], data_dir: str, redis_url: str | None = None) -> dict[str, str]:
    """One paired display per clinic, paired straight through the directory (pairing over HTTP is throttled
    per address, as it should be for people): the same code, approval and claim a wall goes through."""
    sys.path.insert(0, str(ROOT))
    from floor.bootstrap import embedded_directory
    from floor.clock import SystemClock
    from floor.logging_setup import configure
    from floor.sessions import Sessions

    configure("warning")
    if redis_url:
        from floor.directory.redis import RedisDirectory

        directory = RedisDirectory(redis_url)
    else:
        directory = embedded_directory(data_dir)
    await directory.open()
    try:
        sessions = Sessions(directory, SystemClock())
        tokens = {}
        for clinic in clinics:
            started = await sessions.start_pairing()
            await sessions.approve_pairing(started.code, clinic, None, f"Bench wall {clinic}", "bench")
            issued = await sessions.collect(started.claim)
            assert issued is not None
            tokens[clinic] = issued.token
        return tokens
    finally:
        await directory.close()


class Pace:
    """At most `rate` sends a second from one tablet (each sign-in may write 5 a second), started at a random
    point of its period so that tablets are not all in step."""

    def __init__(self, rate: float) -> None:
        self.every = 1 / rate
        self.next = time.monotonic() + random.random() * self.every

    async def wait(self) -> None:
        now = time.monotonic()
        if self.next > now:
            await asyncio.sleep(self.next - now)
        self.next = max(self.next, now) + self.every


class Arrivals:
    """Sends at random moments, `rate` a second on average: exponential gaps (a Poisson process), drawn from a
    seeded generator so that a run can be repeated. Taps that arrive on a fixed period fall at the same point of
    the server's loop every time (after its ticks, between its fan-outs), and a benchmark then measures where
    they fall. A send that is late (the previous answer took longer than the gap) goes at once: the schedule
    does not wait for the server."""

    def __init__(self, rate: float, rng: random.Random) -> None:
        self.rate, self.rng = rate, rng
        self.next = time.monotonic() + rng.expovariate(rate)

    async def wait(self) -> None:
        now = time.monotonic()
        if self.next > now:
            await asyncio.sleep(self.next - now)
        self.next += self.rng.expovariate(self.rate)


async def sign_in(client: httpx.AsyncClient, staff: str, pin: str, device: str) -> dict[str, str]:
    while True:
        r = await client.post("/api/sign-in", json={"staff": staff, "secret": pin, "device": device})
        if r.status_code == 429:  # sign-ins are throttled per address: 60 at once, then 5 a second
            await asyncio.sleep(float(r.headers["Retry-After"]))
            continue
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['token']}"}
