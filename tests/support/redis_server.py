"""Redis for tests: the machine's own on 127.0.0.1:6379 when it answers, or a `redis-server` the tests start.

Servers the tests start live on free loopback ports in a temporary directory and can be killed (-9) and
started again on the same files (for persistence tests) or joined into a cluster.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.processes import stop

MACHINE_REDIS = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PortTaken(RuntimeError):
    """A server the tests started exited because another process had bound its port meanwhile."""


def ephemeral_low() -> int:
    """The lowest port the kernel hands out for bind(0) and outgoing connections (32768 if it cannot tell)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_cluster_port() -> int:
    """A port for a cluster node, with its bus port (port + 10000) free too, both below the kernel's ephemeral
    range where there is room: `free_port` and every outgoing connection of another test take ports from that
    range, so none of them can take a node's port between this pick and the node's bind, nor while a killed
    node is started again."""
    rng = random.Random()
    low, top = 10000, min(ephemeral_low(), 65536) - 10001
    if top - low < 2000:  # a host whose ephemeral range starts low: no room below it, pick as before
        low, top = 20000, 55535
    for _ in range(200):
        port = rng.randint(low, top)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair for a cluster node")


def answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def served_by(port: int, pid: int) -> bool:
    """Whether the Redis answering on `port` is process `pid` (not another test's server that took the port)."""
    try:
        client = redis.Redis(port=port, socket_connect_timeout=0.5, socket_timeout=0.5, retry=Retry(NoBackoff(), 0))
        try:
            info = client.info()  # server and persistence: a restarted server answers while it loads its data
            return int(info["process_id"]) == pid and not info.get("loading")
        finally:
            client.close()
    except redis.RedisError:
        return False


class RedisServer:
    def __init__(self, directory: Path, *args: str, port: int | None = None) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.directory = directory
        self.args = args
        self.port = port or free_port()
        self.picked = port is None  # a port of our own choosing may be chosen again if another process took it
        self.proc: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start and wait until it answers; on a port this object picked and another process took meanwhile
        (`free_port` picks, then the server binds), pick another, a few times."""
        for _ in range(4):
            try:
                self._start()
                break
            except PortTaken:
                if not self.picked:
                    raise
                self.port = free_port()
        else:
            self._start()
        self.picked = False  # started again after a kill, it keeps its port: clients hold its URL
        return self

    def _start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--logfile",
                str(self.directory / "redis.log"),
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if served_by(self.port, self.proc.pid):
                return self
            time.sleep(0.02)
        log = self.log()
        failure = PortTaken if "Address already in use" in log else RuntimeError
        raise failure(f"redis-server on port {self.port} did not start: {log[-2000:]}")

    def kill9(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        stop(self.proc)
        self.proc = None

    def log(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""


async def forget_prefix(url: str, prefix: str) -> None:
    """Delete a test's keys (`<prefix>:*`) from a Redis other tests share."""
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
