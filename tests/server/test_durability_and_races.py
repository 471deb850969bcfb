"""Acknowledged taps survive `kill -9`; a torn last record is survived; retries and races are safe."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from floor.core.access import Role
from tests.server.conftest import ServerProcess

pytestmark = [pytest.mark.server, pytest.mark.long]

CLINIC = "riverside"
PATH = ("roomed", "prep_done", "provider_in", "teach_back_done", "checked_out")


def _walk_in(client: httpx.Client, name: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """Add a walk-in (the front desk's step): with the client's own headers, or the desk's `headers`."""
    return client.post(
        f"/api/clinics/{CLINIC}/visits",
        headers=headers,
        json={"patient_name": name, "provider": "silva", "visit_type": "follow", "walk_in": True},
    )


def _tap(client: httpx.Client, visit: str, step: str, **extra) -> httpx.Response:
    body = {"type": step, **({"room": extra.pop("room")} if "room" in extra else {})}
    return client.post(f"/api/clinics/{CLINIC}/visits/{visit}/events", json=body, headers=extra.get("headers"))


def _history(client: httpx.Client, visit: str) -> list[int]:
    r = client.get(f"/api/clinics/{CLINIC}/visits/{visit}")
    assert r.status_code == 200, r.text
    return [e["seq"] for e in r.json()["events"]]


def test_every_acknowledged_tap_survives_kill_9_under_load(server: ServerProcess) -> None:
    acked: dict[int, str] = {}  # seq -> visit
    stop = threading.Event()
    # Four front desk tablets, each its own sign-in (writes are throttled per sign-in).
    desk = server.add_staff("desk-ana", Role.front_desk)
    with ThreadPoolExecutor(4) as pool:
        tablets = list(pool.map(lambda n: server.sign_in(desk, f"desk-tablet-{n}"), range(4)))

    def tablet(n: int) -> None:
        with httpx.Client(base_url=server.url, timeout=5, headers=tablets[n]) as client:
            i = 0
            while not stop.is_set():
                try:
                    r = _walk_in(client, f"Patient {n}-{i}")
                    if r.status_code == 429:  # this tablet's burst is spent: wait as told
                        stop.wait(float(r.headers["Retry-After"]))
                    if r.status_code == 201:
                        acked[r.json()["seq"]] = r.json()["visit"]["id"]
                        visit = r.json()["visit"]["id"]
                        r = client.post(
                            f"/api/clinics/{CLINIC}/visits/{visit}/events", json={"type": "left_without_being_seen"}
                        )
                        if r.status_code == 201:
                            acked[r.json()["seq"]] = visit
                except httpx.TransportError:
                    return  # the server is gone; this tap was never acknowledged
                i += 1

    threads = [threading.Thread(target=tablet, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(acked) < 60 and time.monotonic() < deadline:
        time.sleep(0.02)
    server.kill9()
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acked) >= 60

    server.start()
    # The sign-in survives the kill too: the directory is on disk beside the log.
    with httpx.Client(base_url=server.url, headers=tablets[0]) as client:
        board = client.get(f"/api/clinics/{CLINIC}/board").json()
        assert board["seq"] >= max(acked)
        for seq, visit in acked.items():
            assert seq in _history(client, visit)
        # The log is gap-free after the restart: the next tap gets the next seq.
        r = _walk_in(client, "After restart")
        assert r.status_code == 201
        assert r.json()["seq"] == board["seq"] + 1


def _day_file(data_dir: Path) -> Path:
    files = sorted((data_dir / CLINIC).glob("*.log"))
    assert len(files) == 1
    return files[0]


def test_a_torn_last_record_is_moved_aside_logged_and_the_server_starts(server: ServerProcess) -> None:
    desk = server.signed_in(Role.front_desk)
    with httpx.Client(base_url=server.url, headers=desk) as client:
        seqs = [_walk_in(client, f"Patient {i}").json()["seq"] for i in range(5)]
    server.kill9()
    log_file = _day_file(server.data_dir)
    intact = log_file.stat().st_size
    torn = b'\x00\x00\x01\xf4\x12\x34\x56\x78{"event":{"seq":'  # a record cut off mid-write
    with open(log_file, "ab") as f:
        f.write(torn)

    server.start()
    [error] = [json.loads(line) for line in server.log().splitlines() if "damaged_tail_quarantined" in line]
    assert error["level"] == "error" and error["file"] == str(log_file)
    assert error["offset"] == intact and error["last_seq"] == seqs[-1]
    assert log_file.stat().st_size == intact
    assert log_file.with_name(f"{log_file.name}.damaged-{intact}").read_bytes() == torn
    with httpx.Client(base_url=server.url, headers=desk) as client:
        assert client.get(f"/api/clinics/{CLINIC}/board").json()["seq"] == seqs[-1]
        r = _walk_in(client, "After the tear")
        assert r.status_code == 201 and r.json()["seq"] == seqs[-1] + 1
    server.kill9()
    server.start()
    with httpx.Client(base_url=server.url, headers=desk) as client:
        assert client.get(f"/api/clinics/{CLINIC}/board").json()["seq"] == seqs[-1] + 1


def test_retried_taps_with_one_idempotency_key_apply_once(server: ServerProcess) -> None:
    desk, ma = server.signed_in(Role.front_desk), server.signed_in(Role.medical_assistant)
    with httpx.Client(base_url=server.url, headers=ma) as client:
        visit = _walk_in(client, "Ann Lee", desk).json()["visit"]["id"]
        headers = {"Idempotency-Key": "tablet-7-tap-42"}
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: _tap(client, visit, "roomed", room="e2", headers=headers), range(8)))
        assert {a.status_code for a in answers} == {201}
        assert len({a.content for a in answers}) == 1  # the same first answer, byte for byte
        assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 7
        steps = client.get(f"/api/clinics/{CLINIC}/visits/{visit}").json()["events"]
        assert [e["change"].get("step") for e in steps].count("roomed") == 1
    # The key still answers after a restart, and a different request under it is refused.
    server.kill9()
    server.start()
    with httpx.Client(base_url=server.url, headers=ma) as client:
        again = _tap(client, visit, "roomed", room="e2", headers=headers)
        assert again.content == answers[0].content
        other = _tap(client, visit, "prep_done", headers=headers)
        assert other.status_code == 422 and "Idempotency-Key" in other.json()["message"]


def test_two_concurrent_conflicting_taps_on_one_visit_one_wins_one_gets_409(server: ServerProcess) -> None:
    desk, ma = server.signed_in(Role.front_desk), server.signed_in(Role.medical_assistant)
    with httpx.Client(base_url=server.url, headers=ma) as client:
        for round_ in range(5):
            visit = _walk_in(client, f"Race {round_}", desk).json()["visit"]["id"]
            barrier = threading.Barrier(2)

            def room(room_id: str, visit: str = visit, barrier: threading.Barrier = barrier) -> httpx.Response:
                barrier.wait()
                return _tap(client, visit, "roomed", room=room_id)

            with ThreadPoolExecutor(2) as pool:
                answers = list(pool.map(room, ["w1", "w2"]))
            assert sorted(a.status_code for a in answers) == [201, 409]
            loser = next(a for a in answers if a.status_code == 409).json()
            assert loser["error"] == "illegal_step" and loser["stage"] == "roomed"
            history = client.get(f"/api/clinics/{CLINIC}/visits/{visit}").json()
            assert [e["change"].get("step") for e in history["events"]].count("roomed") == 1
            winner_room = history["visit"]["room"]
            r = _tap(client, visit, "left_without_being_seen")
            assert r.status_code == 201
            assert (
                client.post(f"/api/clinics/{CLINIC}/rooms/{winner_room}/events", json={"type": "ready"}).status_code
                == 201
            )


def test_a_burst_of_moves_and_a_rooming_of_one_patient_on_the_version_seen_store_one(server: ServerProcess) -> None:
    """Three desks send the patient to three providers and an assistant rooms them, all at once, on the version
    each screen showed: one change is stored, the rest are told it changed (409) and store nothing."""
    desk, ma = server.signed_in(Role.front_desk), server.signed_in(Role.medical_assistant)
    with httpx.Client(base_url=server.url) as client:
        for round_ in range(3):
            visit = _walk_in(client, f"Burst {round_}", desk).json()["visit"]
            barrier = threading.Barrier(4)
            sends = [(desk, {"type": "move", "provider": p}) for p in ("kim", "okafor", "hart")] + [
                (ma, {"type": "roomed", "room": "e2"})
            ]

            def send(sent, visit=visit, barrier=barrier) -> httpx.Response:
                who, body = sent
                barrier.wait()
                return client.post(
                    f"/api/clinics/{CLINIC}/visits/{visit['id']}/events",
                    json={**body, "expected_version": visit["version"]},
                    headers=who,
                )

            with ThreadPoolExecutor(4) as pool:
                answers = list(pool.map(send, sends))
            assert sorted(a.status_code for a in answers) == [201, 409, 409, 409], [a.text for a in answers]
            history = client.get(f"/api/clinics/{CLINIC}/visits/{visit['id']}", headers=desk).json()
            assert len(history["events"]) == 2  # the booking and the one change that won
            winner = answers[[a.status_code for a in answers].index(201)].json()
            assert history["visit"]["version"] == winner["visit"]["version"] == 2
            if history["visit"]["room"]:
                assert (
                    client.post(
                        f"/api/clinics/{CLINIC}/visits/{visit['id']}/events",
                        json={"type": "left_without_being_seen"},
                        headers=ma,
                    ).status_code
                    == 201
                )
                room = history["visit"]["room"]
                assert (
                    client.post(
                        f"/api/clinics/{CLINIC}/rooms/{room}/events", json={"type": "ready"}, headers=ma
                    ).status_code
                    == 201
                )


def test_a_stale_expected_version_gets_409_with_the_visit_as_it_is(server: ServerProcess) -> None:
    desk, ma = server.signed_in(Role.front_desk), server.signed_in(Role.medical_assistant)
    with httpx.Client(base_url=server.url, headers=ma) as client:
        visit = _walk_in(client, "Ann Lee", desk).json()["visit"]
        assert _tap(client, visit["id"], "roomed", room="e3").status_code == 201
        r = client.post(
            f"/api/clinics/{CLINIC}/visits/{visit['id']}/events",
            json={"type": "left_without_being_seen", "expected_version": visit["version"]},
        )
        assert r.status_code == 409
        body = r.json()
        assert body["error"] == "stale_version"
        assert body["visit"]["stage"] == "roomed" and body["visit"]["version"] == visit["version"] + 1


def test_a_second_server_on_the_same_data_directory_refuses_to_start(server: ServerProcess, tmp_path: Path) -> None:
    # Two writers on one embedded log would store the same seq twice.
    second = ServerProcess(server.data_dir, tmp_path / "second.log")
    with pytest.raises(RuntimeError, match="exited with 1"):
        second.start()
    assert "another process is writing to" in second.log()
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200  # the first one carries on
