"""A three-master Redis Cluster losing one master, against a real `floor serve` given every node's URL.

Killed (-9) and kept down past the node timeout: its clinics' taps are answered 503 with Retry-After, never
500, for the whole outage; with `cluster-require-full-coverage no` the other clinics' taps go on being
stored, with the default (yes) the whole cluster refuses and every clinic gets 503. Paused (SIGSTOP) while
it holds the staff directory: its clinics' taps get 503 within the tap deadline and /readyz is 503, while
staff signed in before go on tapping the clinics on the other nodes (their sign-ins are remembered). In
every case a tablet retrying with its Idempotency-Key loses no acknowledged tap and stores none twice."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from floor.core.access import Role
from tests.server.conftest import CLINICS, ServerProcess
from tests.server.test_redis_failover import SYNC_AT_ONCE
from tests.server.test_redis_stall import PAUSE, Tablet, _ready, _wait, _walk_ins
from tests.support.redis_cluster import ClusterNode, ReadmeCluster

pytestmark = [pytest.mark.server, pytest.mark.long]

#: The cluster's node timeout (ms): short, so the test sees the cluster decide a master has failed.
NODE_TIMEOUT_MS = 1000
#: Flags added to the README's node command (nothing about where or how a node keeps its data).
NODE_TIMEOUT = ("--cluster-node-timeout", str(NODE_TIMEOUT_MS))
DIRECTORY_KEY = "floor:{directory}:staff"


def _on(cluster: ReadmeCluster, node: ClusterNode) -> list[str]:
    return [c for c in CLINICS if cluster.master_of_key(f"floor:{{{c}}}:log") is node]


def _served(cluster: ReadmeCluster, key: str) -> bool:
    """Whether a running master serves the key's slot (after its own master was killed: once a replica took over)."""
    try:
        cluster.master_of_key(key)
        return True
    except RuntimeError:
        return False


def _serve(tmp_path: Path, cluster: ReadmeCluster, clinic_dir: Path) -> ServerProcess:
    floor = ServerProcess(
        tmp_path / "data", tmp_path / "floor.log", "--redis", cluster.urls(), "--clinic", str(clinic_dir)
    )
    floor.start()
    _wait(lambda: _ready(floor.url)[0] == 200, "ready")
    return floor


def _tablets(floor: ServerProcess, *clinics: str) -> list[Tablet]:
    """One tablet per clinic, each its own sign-in (the server allows 5 writes a second per sign-in)."""
    floor.add_staff("desk-ana", Role.front_desk, "Ana Flores")
    tablets = [Tablet(floor.url, floor.sign_in("desk-ana", f"tablet-{c}"), c) for c in clinics]
    for t in tablets:
        t.start()
    _wait(lambda: all(len(t.stored) >= 3 for t in tablets), "taps before the outage")
    return tablets


def _check_nothing_lost_or_doubled(cluster: ReadmeCluster, tablets: list[Tablet]) -> None:
    for t in tablets:
        owner = cluster.master_of_key(f"floor:{{{t.clinic}}}:log")
        stored = _walk_ins(f"redis://127.0.0.1:{owner.port}/0", t.clinic)
        names = [name for _, name in stored]
        assert set(t.stored.items()) <= {(name, seq) for seq, name in stored}, t.clinic
        assert len(names) == len(set(names)), t.clinic


def _three_more_taps_each(tablets: list[Tablet], what: str) -> None:
    counts = [len(t.stored) for t in tablets]
    _wait(lambda: all(len(t.stored) >= n + 3 for t, n in zip(tablets, counts, strict=True)), what)


def _stop(tablets: list[Tablet], floor: ServerProcess) -> None:
    for t in tablets:
        t.stop.set()
    for t in tablets:
        t.join(15)
    floor.stop()


@pytest.mark.parametrize("full_coverage", ["yes", "no"])
def test_a_master_killed_past_the_node_timeout_gets_503_never_500(
    tmp_path: Path, clinic_dir: Path, full_coverage: str
) -> None:
    with ReadmeCluster(
        tmp_path / "redis", count=3, extra=(*NODE_TIMEOUT, "--cluster-require-full-coverage", full_coverage)
    ).start() as cluster:
        directory = cluster.master_of_key(DIRECTORY_KEY)
        victim = next(n for n in cluster.nodes if n is not directory and _on(cluster, n))
        lost, kept = _on(cluster, victim)[0], next(c for c in CLINICS if c not in _on(cluster, victim))
        floor = _serve(tmp_path, cluster, clinic_dir)
        tablets = _tablets(floor, lost, kept)
        try:
            victim.kill9()
            killed_at = time.monotonic()
            # The cluster marks it failed (past the node timeout): CLUSTERDOWN where it applies.
            _wait(lambda: cluster.marked_failed(victim), "the other nodes to flag the killed master failed")
            status, body = _ready(floor.url)
            assert status == 503 and any(str(victim.port) in p for p in body["problems"]), body
            time.sleep(1)  # the tablets tap on (every 0.25 s) against the cluster's verdict
            down_for = time.monotonic() - killed_at
            restarted_at = time.monotonic()
            victim.start()  # the README's command again, same port and directory: its AOF brings its clinics back
            cluster.wait_ok()
            back_at = time.monotonic()
            _wait(lambda: _ready(floor.url)[0] == 200, "ready again")
            _three_more_taps_each(tablets, "taps after the outage")
        finally:
            _stop(tablets, floor)

        outage = {t.clinic: [a for a in t.answers if killed_at <= a[0] <= back_at] for t in tablets}
        assert down_for > NODE_TIMEOUT_MS / 1000
        for t in tablets:
            # Never a 500, never a hang: 201 or 503 with Retry-After, all along.
            assert {s for _, s, _, _ in t.answers} <= {201, 503}, (t.clinic, t.answers)
            assert all(ra and int(ra) > 0 for _, s, ra, _ in t.answers if s == 503)
        assert any(s == 503 for _, s, _, _ in outage[lost])
        assert sum(s == 201 for _, s, _, _ in outage[lost]) <= 1  # at most one stored as the kill landed
        if full_coverage == "no":
            # While the node is down, the other nodes' clinics go on as if nothing happened. Not while it rejoins:
            # a restarted node answers CLUSTERDOWN for a second or two, and a client that meets it then may get
            # a 503 for another node's clinic too (with Retry-After, as asserted above; the retry is stored).
            down = [a for a in outage[kept] if a[0] < restarted_at]
            assert down and all(s == 201 for _, s, _, _ in down), down
        _check_nothing_lost_or_doubled(cluster, tablets)


def test_a_paused_directory_node_stalls_only_its_own_clinics(tmp_path: Path, clinic_dir: Path) -> None:
    with ReadmeCluster(
        tmp_path / "redis", count=3, extra=(*NODE_TIMEOUT, "--cluster-require-full-coverage", "no")
    ).start() as cluster:
        directory = cluster.master_of_key(DIRECTORY_KEY)
        assert _on(cluster, directory), "a clinic on the directory's node, for this test to pause"
        stalled, going = _on(cluster, directory)[0], next(c for c in CLINICS if c not in _on(cluster, directory))
        floor = _serve(tmp_path, cluster, clinic_dir)
        tablets = _tablets(floor, stalled, going)
        paused = False
        try:
            time.sleep(1)  # the server has polled the directory's revision since the sign-ins
            directory.pause()
            paused, paused_at = True, time.monotonic()
            status, body = _ready(floor.url)
            assert status == 503 and any(str(directory.port) in p for p in body["problems"]), body
            time.sleep(max(0.0, paused_at + PAUSE - time.monotonic()))
            resumed_at = time.monotonic()
            directory.resume()
            paused = False
            _wait(lambda: _ready(floor.url)[0] == 200, "ready again after SIGCONT")
            _three_more_taps_each(tablets, "taps after the pause")
        finally:
            if paused:
                directory.resume()
            _stop(tablets, floor)

        during = {t.clinic: [a for a in t.answers if paused_at <= a[0] <= resumed_at] for t in tablets}
        first = next(a for a in during[stalled] if a[1] == 503)
        # The stalled node's clinic: 503 with Retry-After within the tap deadline, well before the pause ends.
        assert first[0] - paused_at < PAUSE - 1 and first[2], first
        # The other clinic, tapped by a tablet signed in before: every tap stored although the directory's node
        # does not answer.
        assert during[going] and all(s == 201 for _, s, _, _ in during[going]), during[going]
        for t in tablets:
            assert {s for _, s, _, _ in t.answers} <= {201, 503}, (t.clinic, t.answers)
        _check_nothing_lost_or_doubled(cluster, tablets)


def test_a_server_starts_on_a_url_list_whose_first_node_failed_over(tmp_path: Path, clinic_dir: Path) -> None:
    with ReadmeCluster(
        tmp_path / "redis", count=6, replicas=1, extra=(*NODE_TIMEOUT, *SYNC_AT_ONCE)
    ).start() as cluster:
        gone = next(n for n in cluster.nodes if _on(cluster, n))
        clinic = _on(cluster, gone)[0]
        gone.kill9()
        _wait(lambda: _served(cluster, f"floor:{{{clinic}}}:log"), "its replica to take over")
        cluster.wait_ok()
        # The failed master listed first, as the URL an instance was configured with.
        floor = ServerProcess(
            tmp_path / "data", tmp_path / "floor.log", "--redis", cluster.urls(first=gone), "--clinic", str(clinic_dir)
        )
        floor.start()
        try:
            desk = floor.signed_in(Role.front_desk)
            for c in CLINICS:
                tapped = httpx.post(
                    f"{floor.url}/api/clinics/{c}/visits",
                    headers=desk,
                    timeout=10,
                    json={"patient_name": "Ann Lee", "provider": "hart", "visit_type": "follow", "walk_in": True},
                )
                assert tapped.status_code == 201, (c, tapped.text)
                time.sleep(0.25)  # the server's 5 writes a second per sign-in
        finally:
            floor.stop()
