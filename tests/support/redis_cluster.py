"""A Redis Cluster for tests, started exactly as README.md tells an operator to start one.

The node command is read from the README's recipe (the `for p in ...; do ...; done` loop of the Redis Cluster
section), with `$p` replaced by a free port and run in a temporary base directory, so the tests and the docs
cannot drift apart: a recipe that loses data fails the durability tests. Two things differ, both about running
under a test rather than about the data: each node runs in the foreground (no `--daemonize yes`), so the test
can kill -9, stop and resume it by its process; and the test may add flags of its own (a short
`--cluster-node-timeout`, so failures are noticed in seconds; `--cluster-require-full-coverage no`, to see the
other masters go on serving), never one about where or how a node keeps its data.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import redis

from tests.support.processes import stop
from tests.support.redis_server import PortTaken, free_cluster_port, served_by

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_cluster_loop(readme: Path = README) -> str:
    """The body of the README's node loop (`mkdir -p redis-$p && redis-server ...`), continuation lines joined."""
    text = readme.read_text().replace("\\\n", " ")
    match = re.search(r"^\s*for p in [\d ]+; do (.*?); done\s*$", text, re.MULTILINE)
    if match is None:
        raise AssertionError("README.md has no Redis Cluster node loop (`for p in ...; do ...; done`)")
    return " ".join(match.group(1).split())


def readme_node_args(readme: Path = README) -> list[str]:
    """The redis-server arguments the README gives each node, `$p` still in them."""
    for step in readme_cluster_loop(readme).split("&&"):
        words = shlex.split(step)
        if words and words[0] == "redis-server":
            return words[1:]
    raise AssertionError("the README's node loop runs no redis-server")


class ClusterNode:
    """One node started from the README's loop body, in the foreground, in `base` (the loop's working directory)."""

    def __init__(self, base: Path, port: int, steps: list[list[str]], extra: tuple[str, ...]) -> None:
        self.base = base
        self.port = port
        self.steps = steps
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)

    def start(self) -> ClusterNode:
        *before, server = self.steps
        for step in before:
            subprocess.run(step, cwd=self.base, check=True)
        args = list(server)
        if "--daemonize" in args:  # the flag and its value: the test holds the process instead
            i = args.index("--daemonize")
            del args[i : i + 2]
        # What the node prints before it opens its logfile (or all of it, with no logfile) goes beside it.
        with open(self.base / f"node-{self.port}.out", "ab") as out:
            self.proc = subprocess.Popen([*args, *self.extra], cwd=self.base, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if served_by(self.port, self.proc.pid):
                return self
            time.sleep(0.02)
        out = (self.base / f"node-{self.port}.out").read_text(errors="replace")
        log = self.log.read_text(errors="replace") if self.log is not None and self.log.exists() else ""
        failure = PortTaken if "Address already in use" in out + log else RuntimeError
        raise failure(f"cluster node on port {self.port} did not start (exit {self.proc.poll()}):\n{out[-1500:]}")

    @property
    def log(self) -> Path | None:
        """The node's logfile, from its own command (`--dir` and `--logfile`); None if it logs to stdout."""
        args = self.steps[-1]
        if "--logfile" not in args:
            return None
        directory = args[args.index("--dir") + 1] if "--dir" in args else "."
        return self.base / directory / args[args.index("--logfile") + 1]

    def kill9(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)  # a paused node cannot hear SIGTERM
        stop(self.proc)
        self.proc = None

    def wait_rewrite(self, timeout: float = 30) -> None:
        """BGREWRITEAOF, and wait until it is done (INFO persistence says no rewrite runs or is scheduled)."""
        self.client.bgrewriteaof()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.client.info("persistence")
            if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
                return
            time.sleep(0.05)
        raise RuntimeError(f"node {self.port}: the AOF rewrite did not finish in {timeout} s")


class ReadmeCluster:
    """`count` nodes started as README.md says, joined with `redis-cli --cluster create` (`replicas` per master)."""

    def __init__(
        self, base: Path, count: int = 3, replicas: int = 0, extra: tuple[str, ...] = (), readme: Path = README
    ) -> None:
        self.base = base
        self.replicas = replicas
        base.mkdir(parents=True, exist_ok=True)
        self.body = readme_cluster_loop(readme)
        self.extra = extra
        self.nodes: list[ClusterNode] = [self._node() for _ in range(count)]

    def _node(self) -> ClusterNode:
        port = free_cluster_port()
        steps = [shlex.split(step) for step in self.body.replace("$p", str(port)).split("&&")]
        return ClusterNode(self.base, port, steps, self.extra)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}"

    def urls(self, first: ClusterNode | None = None) -> str:
        """Every node's URL, comma-separated, as FLOOR_REDIS_URL may list them (`first`, if given, leading)."""
        ordered = sorted(self.nodes, key=lambda n: n is not first)
        return ",".join(f"redis://127.0.0.1:{n.port}" for n in ordered)

    def __enter__(self) -> ReadmeCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> ReadmeCluster:
        try:
            for i in range(len(self.nodes)):
                for _ in range(4):  # a port another process took between the pick and the bind: pick again
                    try:
                        self.nodes[i].start()
                        break
                    except PortTaken:
                        self.nodes[i] = self._node()
                else:
                    self.nodes[i].start()
            subprocess.run(
                [
                    "redis-cli",
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{n.port}" for n in self.nodes),
                    "--cluster-replicas",
                    str(self.replicas),
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
            self.wait_ok()
            if self.replicas:
                self.wait_replicas_linked()
        except BaseException:
            self.stop()
            raise
        return self

    def node(self, port: int) -> ClusterNode:
        return next(n for n in self.nodes if n.port == port)

    def running(self) -> list[ClusterNode]:
        return [n for n in self.nodes if n.proc is not None]

    def wait_ok(self, timeout: float = 30) -> None:
        """Until every running node says the cluster is ok and agrees on who serves every slot."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if all(n.client.cluster("info")["cluster_state"] == "ok" for n in self.running()):
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the cluster did not come up (cluster_state is not ok)")

    def wait_replicas_linked(self, timeout: float = 60) -> None:
        """Until every master has its replicas connected and in sync (`master_link_status:up`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                infos = [n.client.info("replication") for n in self.running()]
                masters = [i for i in infos if i["role"] == "master"]
                replicas = [i for i in infos if i["role"] == "slave"]
                # Online: the primary counts the replica in WAIT (it has acknowledged the initial sync).
                online = [
                    sum(i.get(f"slave{k}", {}).get("state") == "online" for k in range(i["connected_slaves"]))
                    for i in masters
                ]
                if all(n >= self.replicas for n in online) and all(i["master_link_status"] == "up" for i in replicas):
                    # A replica just synced gets writes only after its first acknowledgement (up to a second
                    # later): linked once a write to each master is acknowledged by its replicas.
                    for node in self.running():
                        if node.client.info("replication")["role"] == "master":
                            node.client.set(self.key_on(node), 1)
                            if node.client.execute_command("WAIT", self.replicas, 10000) < self.replicas:
                                raise RuntimeError(f"the replicas of {node.port} do not acknowledge writes")
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the replicas did not link to their masters in {timeout} s\n{self.describe()}")

    def describe(self) -> str:
        """Each node's replication role and links, and the end of its log: what a failed wait leaves to read."""
        lines = []
        for node in self.nodes:
            try:
                info = node.client.info("replication")
                links = {k: v for k, v in info.items() if k.startswith(("slave", "master_"))}
                lines.append(f"node {node.port}: {info['role']} {links}")
            except redis.RedisError as e:
                lines.append(f"node {node.port}: {type(e).__name__} {e}")
            if node.log is not None and node.log.exists():
                lines.extend("    " + x for x in node.log.read_text(errors="replace").splitlines()[-12:])
        return "\n".join(lines)

    def marked_failed(self, node: ClusterNode) -> bool:
        """Whether every other running node flags `node` as failed (`fail` in CLUSTER NODES, not the `fail?` of a
        node that only it suspects): the cluster's verdict, reached once the node timeout has passed."""
        try:
            for other in self.running():
                if other is node:
                    continue
                lines = other.client.execute_command("CLUSTER", "NODES").decode().splitlines()
                line = next(x for x in lines if x.split()[1].split("@")[0].endswith(f":{node.port}"))
                if "fail" not in line.split()[2].split(","):
                    return False
        except (redis.RedisError, StopIteration):
            return False
        return True

    def master_of_key(self, key: str) -> ClusterNode:
        """The node serving the key's slot now (by what each running master says it serves itself)."""
        slot = self.running()[0].client.cluster("keyslot", key)
        for node in self.running():
            try:
                info = node.client.info("replication")
                if info["role"] != "master":
                    continue
                for line in node.client.execute_command("CLUSTER", "NODES").decode().splitlines():
                    fields = line.split()
                    if "myself" in fields[2]:
                        for span in fields[8:]:
                            lo, _, hi = span.partition("-")
                            if lo.isdigit() and int(lo) <= slot <= int(hi or lo):
                                return node
            except redis.RedisError:
                continue
        raise RuntimeError(f"no running master serves {key!r}")

    def key_on(self, master: ClusterNode) -> str:
        """A key in one of the slots the master serves."""
        ranges = [
            (lo, hi)
            for lo, hi, owner, *_ in master.client.execute_command("CLUSTER", "SLOTS")
            if int(owner[1]) == master.port
        ]
        for i in range(100000):
            key = f"probe-{i}"
            slot = master.client.cluster("keyslot", key)
            if any(lo <= slot <= hi for lo, hi in ranges):
                return key
        raise RuntimeError(f"node {master.port} serves no slot")

    def replica_of(self, master: ClusterNode) -> ClusterNode:
        """A replica of the master (one that replicates from its port)."""
        for node in self.running():
            info = node.client.info("replication")
            if info["role"] == "slave" and int(info["master_port"]) == master.port:
                return node
        raise RuntimeError(f"node {master.port} has no replica")

    def take_over(self, replica: ClusterNode, timeout: float = 30) -> None:
        """Promote the replica now (CLUSTER FAILOVER TAKEOVER: without its master's agreement, as when the
        master is gone), and wait until the running nodes agree the cluster is ok again."""
        replica.client.execute_command("CLUSTER", "FAILOVER", "TAKEOVER")
        deadline = time.monotonic() + timeout
        while replica.client.info("replication")["role"] != "master":
            if time.monotonic() > deadline:
                raise RuntimeError(f"node {replica.port} was not promoted")
            time.sleep(0.05)
        self.wait_ok(timeout)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
