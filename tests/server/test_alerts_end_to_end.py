"""A simulated clinic morning on two `floor serve` processes sharing one Redis: alerts end to end.

Both servers review the alerts after every tap and on every tick of the accelerated clinic clock, and
store what they decide in the shared log; the first to store a change wins and the other folds it in.
So however the taps are spread, every alert is raised once, every screen sees the same alerts, and a
manager's acknowledgement on one server reaches the screens of the other.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import redis
from websockets.asyncio.client import connect

from floor.clock import ScaledClock
from floor.config import demo_clinic
from floor.core.access import Role
from floor.simulator import Staff, plan_day
from tests.server.conftest import ServerProcess, staff_add
from tests.support.redis_server import RedisServer
from tests.support.sim_driver import ROLES, play_over_http

pytestmark = [pytest.mark.anyio, pytest.mark.server, pytest.mark.long]

CLINIC = "riverside"
#: A generated day whose morning has plenty of alerts. Played in-process (07:55-12:00, a look every 12 clinic
#: seconds) it raised 18 dwell and 2 cascade alerts (kim 09:06-09:36, silva 10:44-11:06) and cleared 19; the
#: simulator and the alert rules are being tuned, so the counts may move.
SEED = 35
SPEED = 480.0  # 07:55 to 12:00 clinic time is about half a minute of real time
MORNING = (dt.time(7, 55), dt.time(12, 0))
MANAGER, OTHER_MANAGER = "mgr-dana", "mgr-lee"
#: Who plays the day (one signed-in person per role the simulated staff tap as), and the two managers.
PEOPLE = {Role.front_desk: "desk-ana", Role.medical_assistant: "ma-ben", Role.provider: "dr-kim"}
Headers = dict[str, str]


def _change(message: dict) -> dict:
    return message["event"]["change"]


def _is(message: dict, kind: str) -> bool:
    return message["kind"] == "event" and _change(message)["type"] == kind


async def _wait_for(messages: list[dict], match: Callable[[dict], bool], what: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = next((m for m in messages if match(m)), None)
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {what} on the socket within {timeout} s")


async def _collect(ws, messages: list[dict]) -> None:
    async for raw in ws:
        messages.append(json.loads(raw))


async def _acknowledge_the_first_alert(
    a: ServerProcess, b: ServerProcess, messages: list[dict], managers: dict[str, Headers]
) -> str:
    """While the day plays: a manager acknowledges the first alert on A; B's screens learn who did; B
    refuses a second acknowledgement by another manager."""
    raised = await _wait_for(messages, lambda m: _is(m, "alert_raised"), "alert_raised", timeout=150)
    alert = _change(raised)["alert"]
    path = f"/api/clinics/{CLINIC}/alerts/{alert}/acknowledge"
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.post(f"{a.url}{path}", headers=managers[MANAGER])
        assert answer.status_code == 201, answer.text
        assert answer.json()["alert"]["acknowledged_by"] == MANAGER
        seen = await _wait_for(
            messages,
            lambda m: _is(m, "alert_acknowledged") and _change(m)["alert"] == alert,
            f"alert_acknowledged for {alert}",
            timeout=10,
        )
        assert seen["event"]["actor"] == MANAGER
        assert seen["alert"]["id"] == alert
        assert seen["alert"]["acknowledged_by"] == MANAGER
        assert seen["alert"]["acknowledged_at"] is not None
        again = await client.post(f"{b.url}{path}", headers=managers[OTHER_MANAGER])
        assert again.status_code == 409, again.text
        assert again.json()["error"] == "illegal_step"
    return alert


async def _same_boards(a: ServerProcess, b: ServerProcess, headers: Headers) -> tuple[dict, dict]:
    """Both servers' boards at one seq (the servers keep reviewing as the clinic clock runs on)."""
    async with httpx.AsyncClient(timeout=10, headers=headers) as client:
        for _ in range(100):
            board_a, board_b = await asyncio.gather(
                client.get(f"{a.url}/api/clinics/{CLINIC}/board"), client.get(f"{b.url}/api/clinics/{CLINIC}/board")
            )
            if board_a.json()["seq"] == board_b.json()["seq"]:
                return board_a.json(), board_b.json()
            await asyncio.sleep(0.05)
    raise AssertionError("the two servers' boards never stood at the same seq")


def _check_the_feed(messages: list[dict]) -> tuple[list[dict], Counter]:
    """The socket's updates are gap-free, each alert is raised once, and a provider never has two cascade
    alerts active at once. Returns the event messages and the raised alerts' kinds."""
    # Heartbeats and measures (every tick) carry the seq the board is at; only snapshots and events move it.
    updates = [m for m in messages if m["kind"] in ("snapshot", "event")]
    assert updates and updates[0]["kind"] == "snapshot", updates[:1]
    seq = updates[0]["seq"]
    for m in updates[1:]:
        assert m["kind"] == "event", f"unexpected {m['kind']} at seq {m['seq']} after {seq}"
        assert m["seq"] == seq + 1, f"gap on the socket: {seq} then {m['seq']}"
        seq = m["seq"]
    events = updates[1:]

    known = {x["id"]: x for x in updates[0]["board"]["alerts"]}
    cascades = {x["provider"]: x["id"] for x in known.values() if x["kind"] == "cascade" and x["cleared_at"] is None}
    raised: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for m in events:
        change = _change(m)
        match change["type"]:
            case "alert_raised":
                alert = change["alert"]
                raised[alert] += 1
                kinds[change["kind"]] += 1
                assert alert not in known, f"alert {alert} raised again at seq {m['seq']}"
                known[alert] = m["alert"]
                if change["kind"] == "cascade":
                    provider = change["provider"]
                    assert provider not in cascades, (
                        f"seq {m['seq']}: cascade {alert} raised for {provider} while {cascades[provider]} is active"
                    )
                    cascades[provider] = alert
            case "alert_cleared":
                alert = change["alert"]
                assert alert in known and known[alert]["cleared_at"] is None, f"seq {m['seq']}: clears {alert}"
                known[alert] = m["alert"]
                if cascades.get(m["alert"]["provider"]) == alert:
                    del cascades[m["alert"]["provider"]]
            case "alert_updated" | "alert_acknowledged":
                assert change["alert"] in known, f"seq {m['seq']}: {change['type']} of unknown {change['alert']}"
                known[change["alert"]] = m["alert"]
        if change["type"].startswith("alert_"):
            assert m["alert"]["id"] == change["alert"], m
    duplicates = {alert: n for alert, n in raised.items() if n > 1}
    assert not duplicates, f"alerts raised more than once on the socket: {duplicates}"
    return events, kinds


def _stored_events(url: str) -> list[dict]:
    client = redis.Redis.from_url(url)
    try:
        entries = client.xrange(f"floor:{{{CLINIC}}}:log")
    finally:
        client.close()
    return [json.loads(fields[b"r"])["event"] for _, fields in entries]


def _alert_lines(server: ServerProcess) -> Counter:
    """How many alert events this server stored itself (its `alert_stored` log lines), by type."""
    stored: Counter[str] = Counter()
    for line in server.log().splitlines():
        if '"alert_stored"' in line:
            stored[json.loads(line)["type"]] += 1
    return stored


async def test_a_simulated_morning_on_two_servers_raises_each_alert_once_everywhere(tmp_path: Path) -> None:
    clinic = demo_clinic()
    day = dt.date(2026, 11, 23)  # any day: the servers run on the clock given them, not the date the test runs on
    start, until = (clinic.local(day, t) for t in MORNING)
    staff = Staff(clinic, plan_day(clinic, day, SEED), SEED)
    began = time.monotonic()
    assert PEOPLE.keys() == ROLES

    with ExitStack() as stack:
        store = RedisServer(tmp_path / "redis").start()
        stack.callback(store.stop)
        # The staff directory lives in the Redis both servers share: add everyone before either starts.
        # The clinic clock is set after, so the morning does not start while PINs are hashed.
        accounts = [(staff_id, role) for role, staff_id in PEOPLE.items()]
        accounts += [(MANAGER, Role.manager), (OTHER_MANAGER, Role.manager)]
        staff_add(["--redis", store.url], accounts)
        origin = time.time() + 2
        clock = ScaledClock(start, SPEED, origin)
        args = (
            "--redis",
            store.url,
            "--clock-start",
            start.isoformat(),
            "--clock-speed",
            repr(SPEED),
            "--clock-origin",
            repr(origin),
        )
        a = ServerProcess(tmp_path / "a", tmp_path / "a.log", *args)
        b = ServerProcess(tmp_path / "b", tmp_path / "b.log", *args)
        stack.callback(a.stop)
        stack.callback(b.stop)
        await asyncio.gather(asyncio.to_thread(a.start), asyncio.to_thread(b.start))
        # Signed in on either server, good on both; half on each.
        signed = await asyncio.gather(
            *(
                asyncio.to_thread((a, b)[i % 2].sign_in, staff_id, f"tablet-{staff_id}")
                for i, (staff_id, _) in enumerate(accounts)
            )
        )
        headers = {staff_id: h for (staff_id, _), h in zip(accounts, signed, strict=True)}
        signed_in = {role: headers[staff_id] for role, staff_id in PEOPLE.items()}
        managers = {m: headers[m] for m in (MANAGER, OTHER_MANAGER)}

        messages: list[dict] = []
        # The manager's screen on B: the same events as every staff screen, and the measures on each tick.
        async with connect(
            f"{b.ws_url}/api/clinics/{CLINIC}/live", max_size=2**22, additional_headers=managers[MANAGER]
        ) as ws:
            collector = asyncio.create_task(_collect(ws, messages))
            acknowledged = asyncio.create_task(_acknowledge_the_first_alert(a, b, messages, managers))
            try:
                played = await play_over_http([a.url, b.url], CLINIC, staff, clock.now, until, signed_in)
                alert = await acknowledged
                board_a, board_b = await _same_boards(a, b, managers[MANAGER])
                await asyncio.sleep(0.5)  # the socket has the events up to the boards' seq
                await ws.close()
                await collector
            finally:
                for task in (acknowledged, collector):
                    task.cancel()
                await asyncio.gather(acknowledged, collector, return_exceptions=True)

        events, kinds = _check_the_feed(messages)
        raised = [m for m in events if _is(m, "alert_raised")]
        cleared = [m for m in events if _is(m, "alert_cleared")]
        print(
            f"\nseed {SEED}: {played.rounds} rounds, {played.booked} booked, {played.taps} taps "
            f"({played.refused} refused with 409, {played.throttled} put off by 429), "
            f"per server {list(played.per_server.values())}; "
            f"socket: {len(events)} events, raised {dict(kinds)}, {len(cleared)} cleared; acknowledged {alert}; "
            f"stored by A {dict(_alert_lines(a))}, by B {dict(_alert_lines(b))}"
        )
        assert raised, "the simulated morning raised no alert"
        assert cleared, "the simulated morning cleared no alert"
        assert all(played.per_server.values()), played.per_server

        # Both servers show exactly the same alerts.
        assert board_a["seq"] == board_b["seq"]
        alerts_a = {x["id"]: x for x in board_a["alerts"]}
        alerts_b = {x["id"]: x for x in board_b["alerts"]}
        assert alerts_a.keys() == alerts_b.keys()
        assert {k: (x["raised_at"], x["cleared_at"]) for k, x in alerts_a.items()} == {
            k: (x["raised_at"], x["cleared_at"]) for k, x in alerts_b.items()
        }
        assert alerts_a == alerts_b
        assert alerts_a[alert]["acknowledged_by"] == MANAGER

        # The shared log itself: one alert_raised per alert, though both servers review on every tick and tap.
        stored = _stored_events(store.url)
        assert [e["seq"] for e in stored] == list(range(1, len(stored) + 1))
        # Alert ids are random, so a second raise of one episode would carry an id of its own: count episodes (a
        # dwell's visit, stage and entry) and, for cascades, raises for a provider whose cascade is still active.
        raised_in_log = Counter(
            e["change"].get("episode") or e["change"]["alert"] for e in stored if e["change"]["type"] == "alert_raised"
        )
        duplicates = {alert: n for alert, n in raised_in_log.items() if n > 1}
        assert not duplicates, f"alerts raised more than once in the log: {duplicates}"
        assert all(
            e["change"].get("episode")
            for e in stored
            if e["change"]["type"] == "alert_raised" and e["change"]["kind"] == "dwell"
        )
        cascading: dict[str, str] = {}  # provider -> its active cascade
        by_id = {e["change"]["alert"]: e["change"] for e in stored if e["change"]["type"] == "alert_raised"}
        for e in stored:
            change = e["change"]
            if change["type"] == "alert_raised" and change["kind"] == "cascade":
                assert change["provider"] not in cascading, f"a second active cascade for {change['provider']}"
                cascading[change["provider"]] = change["alert"]
            elif change["type"] == "alert_cleared" and by_id[change["alert"]]["kind"] == "cascade":
                del cascading[by_id[change["alert"]]["provider"]]
        assert {
            e["change"]["alert"] for e in stored[: board_a["seq"]] if e["change"]["type"] == "alert_raised"
        } == alerts_a.keys()
        assert all(
            e["actor"] == "floor"
            for e in stored
            if e["change"]["type"] in ("alert_raised", "alert_updated", "alert_cleared")
        )
        # Every staff tap was stored as the signed-in person whose role it is, from the device they signed in on.
        tapped_by: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
        for e in stored:
            tapped_by[e["change"].get("step") or e["change"]["type"]].add((e["actor"], e["device"]))
        desk, ma, provider = (
            (PEOPLE[r], f"tablet-{PEOPLE[r]}") for r in (Role.front_desk, Role.medical_assistant, Role.provider)
        )
        assert tapped_by["visit_booked"] == tapped_by["arrived"] == tapped_by["checked_out"] == {desk}
        assert tapped_by["roomed"] == tapped_by["prep_done"] == tapped_by["room_marked"] == {ma}
        assert tapped_by["provider_in"] == {provider}
        assert tapped_by["alert_acknowledged"] == {(MANAGER, f"tablet-{MANAGER}")}
        # What B's socket sent is what the log holds.
        by_seq = {e["seq"]: e for e in stored}
        assert [m["event"] for m in events] == [by_seq[m["seq"]] for m in events]

    assert time.monotonic() - began < 180, f"took {time.monotonic() - began:.0f} s"
