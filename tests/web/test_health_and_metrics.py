"""/healthz, /readyz and /metrics in-process: no sign-in needed, and the counters move with what happens.

The Redis outage (/readyz 503, then 200) is tested against real processes in tests/server/test_health_and_shutdown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import uuid
from pathlib import Path

from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from floor.clock import ManualClock
from floor.core.access import Role
from floor.fanout import Hub
from floor.floors import Floors
from floor.log.base import LogUnavailable
from floor.log.embedded import EmbeddedLog
from floor.retry import Backoff
from floor.schedule.upcoming import FileUpcoming
from floor.web.app import create_app
from tests.support.clinics import quiet_clinic
from tests.support.floors import walk_ins_in_one_go
from tests.support.staff import cheapen, sign_in, test_floors

API = "/api/clinics/riverside"
DATA = Path(__file__).resolve().parent.parent / "data"
CSV = {"Content-Type": "text/csv"}


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, parsed by prometheus_client's own parser: {(name, labels): value}."""
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def taps(samples: dict, kind: str, result: str) -> float:
    return samples.get(("floor_taps_total", (("result", result), ("type", kind))), 0.0)


def test_health_routes_need_no_sign_in_and_say_the_embedded_log_is_ready(tmp_path) -> None:
    floors = test_floors(tmp_path, [quiet_clinic()], tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready" and ready.json()["log"] == "embedded"
        assert client.get("/metrics").status_code == 200
        # Not part of the clinic API: no sign-in, and not in the OpenAPI document.
        paths = client.get("/schema/openapi.json").json()["paths"]
        assert not {"/healthz", "/readyz", "/metrics"} & set(paths)


def test_readyz_answers_503_naming_the_stale_clinics_while_the_log_cannot_be_reached(tmp_path) -> None:
    floors = test_floors(tmp_path, [quiet_clinic()], tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        floors.get("riverside").stale = True  # as the follower sets it when the shared log does not answer
        answer = client.get("/readyz")
        assert answer.status_code == 503
        body = answer.json()
        assert body["status"] == "not ready" and body["stale_clinics"] == ["riverside"]
        assert "cannot be reached" in body["problems"][0]
        assert client.get("/healthz").status_code == 200  # alive all the same: no restart for an outage
        floors.get("riverside").stale = False
        assert client.get("/readyz").status_code == 200
    # Stopped: no longer ready.
    assert not floors.started


class OutageLog(EmbeddedLog):
    """A shared log (as Redis is) that cannot be read, and says so to /readyz, until `back` is set; then read as
    Redis's XREAD BLOCK is: what is new at once, else nothing once `wait` seconds have passed."""

    shared = True

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.back = threading.Event()
        self.reads = 0

    async def trouble(self, timeout: float) -> str | None:
        return None if self.back.is_set() else "Redis node 127.0.0.1:6379 did not answer a PING within 1 s"

    async def tail(self, clinic: str, after: int, wait: float, held: str = ""):
        self.reads += 1
        if not self.back.is_set():
            raise LogUnavailable("Redis is unreachable (ConnectionError)", maybe_stored=True)
        if (events := await self.read(clinic, after, held)) is None or events:
            return events
        await asyncio.sleep(wait)  # as XREAD BLOCK: nothing new, an answer once the wait is over
        return []


def test_readyz_is_ready_as_soon_as_the_log_answers_again_not_after_the_followers_wait(tmp_path) -> None:
    """A follower waits up to 5 s between failed reads (floor.retry.Backoff): Redis back just after one, the clinic
    stayed stale and /readyz 503 until the wait ran out, the load balancer keeping the server out meanwhile. Its
    wait here would not end within the test; /readyz, finding the log answering with a clinic stale, has the
    follower read again now. While the log does not answer, /readyz asks nothing more of it."""
    log = OutageLog(tmp_path)
    floors = cheapen(Floors([quiet_clinic()], log, None, upcoming=FileUpcoming(tmp_path), tick_seconds=3600))
    held = asyncio.Event()

    async def long_wait(seconds: float) -> None:
        await held.wait()

    runtime = floors.get("riverside")
    runtime.follower.backoff = Backoff(sleep=long_wait)
    with TestClient(create_app(floors)) as client:
        for _ in range(200):
            if runtime.stale and log.reads:
                break
            threading.Event().wait(0.01)
        assert runtime.stale
        reads = log.reads
        for _ in range(3):
            down = client.get("/readyz")
            assert down.status_code == 503 and "did not answer a PING" in down.json()["problems"][0]
        assert log.reads == reads  # the follower waits on, and /readyz woke it for nothing

        log.back.set()
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.json()
        assert not runtime.stale and log.reads > reads


def test_tap_counters_move_by_type_and_result(tmp_path) -> None:
    floors = test_floors(tmp_path, [quiet_clinic()], tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        desk, ma = sign_in(client, floors, Role.front_desk), sign_in(client, floors, Role.medical_assistant)
        before = scrape(client)

        key = {"Idempotency-Key": uuid.uuid4().hex}
        walk_in = {"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True}
        booked = client.post(f"{API}/visits", json=walk_in, headers={**desk, **key})
        assert booked.status_code == 201
        assert client.post(f"{API}/visits", json=walk_in, headers={**desk, **key}).status_code == 201  # a retry
        visit = booked.json()["visit"]["id"]
        # The front desk may not room a patient: refused by the floor, nothing stored.
        refused = client.post(f"{API}/visits/{visit}/events", json={"type": "roomed", "room": "e1"}, headers=desk)
        assert refused.status_code == 403
        # Nor may anyone take a step the journey does not allow yet.
        illegal = client.post(f"{API}/visits/{visit}/events", json={"type": "prep_done"}, headers=ma)
        assert illegal.status_code == 409

        after = scrape(client)
        assert taps(after, "walk_in", "stored") - taps(before, "walk_in", "stored") == 1
        assert taps(after, "walk_in", "replayed") - taps(before, "walk_in", "replayed") == 1
        assert taps(after, "roomed", "forbidden") - taps(before, "roomed", "forbidden") == 1
        assert taps(after, "prep_done", "illegal_step") - taps(before, "prep_done", "illegal_step") == 1
        assert taps(after, "roomed", "stored") == taps(before, "roomed", "stored") == 0

        # One append (the retry stored nothing), and its update fanned out once.
        appends = ("floor_log_append_seconds_count", ())
        assert after[appends] - before[appends] == 1
        fanned = ("floor_fanout_seconds_count", ())
        assert after[fanned] - before[fanned] == 1


def test_schedule_imports_are_counted_one_per_file_and_stored_in_one_append(tmp_path) -> None:
    # The sample file is for 2026-11-23 (one of its rows is pinned to it): the clinic's day is that one.
    clock = ManualClock(dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.UTC))
    floors = test_floors(tmp_path, [quiet_clinic()], clock=clock, tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        url = f"{API}/schedule?date=2026-11-23"
        schedule = (DATA / "schedule-riverside.csv").read_bytes()
        before = scrape(client)
        assert client.post(url, content=schedule, headers={**manager, **CSV}).status_code == 200
        bad = client.post(url, content=(DATA / "schedule-riverside-bad.csv").read_bytes(), headers={**manager, **CSV})
        assert bad.status_code == 422
        after = scrape(client)
        assert taps(after, "schedule_import", "stored") - taps(before, "schedule_import", "stored") == 1
        assert taps(after, "schedule_import", "invalid") - taps(before, "schedule_import", "invalid") == 1
        # Five visits booked in one append; each of them fanned out.
        appends, fanned = ("floor_log_append_seconds_count", ()), ("floor_fanout_seconds_count", ())
        assert after[appends] - before[appends] == 1
        assert after[fanned] - before[fanned] == 5


def test_sockets_by_audience_and_queue_overflows(tmp_path) -> None:
    floors = test_floors(tmp_path, [quiet_clinic()], hub=Hub(queue_limit=2), tick_seconds=3600)
    runtime = floors.get("riverside")

    with TestClient(create_app(floors)) as client:
        manager = sign_in(client, floors, Role.manager)
        with client.websocket_connect(f"{API}/live", headers=manager) as ws:
            assert json.loads(ws.receive_text(timeout=5))["kind"] == "snapshot"
            samples = scrape(client)
            assert samples[("floor_sockets", (("audience", "manager"),))] == 1
            assert samples[("floor_sockets", (("audience", "display"),))] == 0
            client.blocking_portal.call(walk_ins_in_one_go, runtime)
            assert json.loads(ws.receive_text(timeout=5))["kind"] == "snapshot"
            assert scrape(client)[("floor_fanout_resyncs_total", ())] == 1
        # Gone, and the count of its overflow stays.
        for _ in range(100):
            samples = scrape(client)
            if samples[("floor_sockets", (("audience", "manager"),))] == 0:
                break
        assert samples[("floor_sockets", (("audience", "manager"),))] == 0
        assert samples[("floor_fanout_resyncs_total", ())] == 1
        assert samples[("floor_fanout_too_slow_closes_total", ())] == 0


def test_two_apps_in_one_process_count_apart(tmp_path) -> None:
    one = test_floors(tmp_path / "one", [quiet_clinic()], tick_seconds=3600)
    two = test_floors(tmp_path / "two", [quiet_clinic()], tick_seconds=3600)
    with TestClient(create_app(one)) as a, TestClient(create_app(two)) as b:
        desk = sign_in(a, one, Role.front_desk)
        walk_in = {"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True}
        assert a.post(f"{API}/visits", json=walk_in, headers=desk).status_code == 201
        assert taps(scrape(a), "walk_in", "stored") == 1
        assert taps(scrape(b), "walk_in", "stored") == 0


def test_garbage_collections_memory_and_open_files_are_reported_for_a_soak_to_watch(tmp_path) -> None:
    import gc

    floors = test_floors(tmp_path, [quiet_clinic()], tick_seconds=3600)
    with TestClient(create_app(floors)) as client:
        before = scrape(client)
        gc.collect()
        gc.collect(0)
        after = scrape(client)
    full = ("floor_gc_pause_seconds_count", (("generation", "2"),))
    young = ("floor_gc_pause_seconds_count", (("generation", "0"),))
    assert after[full] >= before.get(full, 0) + 1
    assert after[young] >= before.get(young, 0) + 1
    assert after[("floor_gc_pause_seconds_sum", (("generation", "2"),))] > 0
    # Every pause falls in a bucket: the +Inf bucket is the count.
    assert after[("floor_gc_pause_seconds_bucket", (("generation", "2"), ("le", "+Inf")))] == after[full]
    assert after[("floor_gc_pause_max_seconds", ())] > 0
    assert after[("process_resident_memory_bytes", ())] > 0
    assert after[("process_open_fds", ())] > 0
