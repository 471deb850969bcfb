"""Taps made offline survive a page reload: the tablet keeps them in the browser's storage (per clinic and
person) and sends them again after the reload with the same Idempotency-Key, so each is stored once, also one
the server had stored before its answer was lost. A kept tap the server refuses is dropped and shown. The
"Live" pill is never green while the tablet is offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, Route, WebSocketRoute

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

DAY = "2026-11-23"  # the test servers' clinic day (09:00 there when they start)
DESK = PEOPLE[Role.front_desk][0]
KEPT = f"floor.outbox.{CLINIC}.{DESK}"
WALK_IN = "Wren Ortiz"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", tmp_path / "server.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def _book(server: ServerProcess, manager: dict[str, str]) -> dict[str, dict]:
    csv = (
        "external_id,time,provider,visit_type,patient_name\n"
        "EHR-1,09:20,kim,follow,Ann Lee\nEHR-2,09:30,okafor,follow,Bo Chen\nEHR-3,09:40,silva,follow,Cruz Diaz\n"
        "EHR-4,09:50,hart,follow,Dee Obi\n"
    )
    answer = httpx.post(
        f"{server.url}/api/clinics/{CLINIC}/schedule?date={DAY}",
        content=csv,
        headers={**manager, "Content-Type": "text/csv"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return {v["patient_name"]: v for v in _board(server, manager)["visits"]}


def _board(server: ServerProcess, headers: dict[str, str]) -> dict:
    return httpx.get(f"{server.url}/api/clinics/{CLINIC}/board", headers=headers, timeout=10).json()


def _kept(page: Page) -> list[dict]:
    return page.evaluate("k => JSON.parse(localStorage.getItem(k) || '[]')", KEPT)


def _tap_arrived(page: Page, visit: dict) -> None:
    page.locator(f"[data-list='desk-arrivals'] [data-visit='{visit['id']}'] [data-step='arrived']").click()
    # As a person taps: the next patient's card, slid into this one's place, is tapped more than the double-tap
    # guard's 0.6 s later (static/tablet/taps.js AGAIN_MS); a tap sooner there is taken for the second of a double
    # tap, held back and said so (tests/browser/test_taps_that_land_twice.py).
    page.wait_for_timeout(650)


def test_taps_made_offline_survive_a_reload_and_are_stored_once(server: ServerProcess, screens: Screens) -> None:
    manager = server.signed_in(Role.manager)
    visits = _book(server, manager)
    ann, bo, cruz, dee = visits["Ann Lee"], visits["Bo Chen"], visits["Cruz Diaz"], visits["Dee Obi"]
    server.signed_in(Role.front_desk)
    desk = screens.open(f"{server.url}/", width=1280, height=800)
    sign_in_page(desk, DESK, PIN)
    desk.locator(f"[data-visit='{ann['id']}']").wait_for(timeout=10_000)
    desk.wait_for_selector("#live[data-mode='live']", timeout=10_000)

    # The tablet loses its network: the pill says so at once.
    desk.context.set_offline(True)
    desk.wait_for_selector("#live[data-mode='offline']", timeout=10_000)
    assert desk.locator("#live-text").inner_text() == "Offline"
    desk.context.set_offline(False)
    desk.wait_for_selector("#live[data-mode='live']", timeout=15_000)

    # A network that drops taps: Ann's arrival and the walk-in reach the server but their answers are lost;
    # Bo's and Cruz's never get there. Every key sent is remembered.
    keys: dict[str, list[str]] = {}
    mode = {"now": "lossy"}

    def network(route: Route) -> None:
        request = route.request
        if request.method != "POST" or mode["now"] == "pass":
            route.continue_()
            return
        keys.setdefault(request.url, []).append(request.headers["idempotency-key"])
        if ann["id"] in request.url or request.url.endswith("/visits"):
            route.fetch()  # the server stores it...
        route.abort("internetdisconnected")  # ...and the tablet never hears

    # Dee's arrival goes through; its Undo, tapped just as the network goes, does not.
    _tap_arrived(desk, dee)
    undo = desk.locator(".toast [data-action='undo']")
    undo.wait_for(timeout=10_000)
    desk.route(f"**/api/clinics/{CLINIC}/**", network)
    undo.click()
    _tap_arrived(desk, ann)
    _tap_arrived(desk, bo)
    _tap_arrived(desk, cruz)
    desk.fill("#walkin-name", WALK_IN)
    desk.select_option("#walkin-provider", "hart")
    desk.click("#walkin-submit")
    desk.wait_for_function("() => document.querySelectorAll('#offline-taps li').length === 5", timeout=10_000)
    assert not desk.locator("#offline").is_hidden()
    assert desk.get_attribute("#live", "data-mode") != "live"  # the socket is up, but taps cannot get through
    assert len(_kept(desk)) == 5
    # Meanwhile Cruz is marked a no-show at another desk: the kept arrival will be refused.
    other = httpx.post(
        f"{server.url}/api/clinics/{CLINIC}/visits/{cruz['id']}/events",
        headers=manager,
        timeout=10,
        json={"type": "no_show", "expected_version": cruz["version"]},
    )
    assert other.status_code == 201, other.text

    # A walk-in kept on this tablet the day before (the clinic's clock is on the 23rd) is not booked today.
    desk.evaluate(
        """([k, path]) => localStorage.setItem(k, JSON.stringify([...JSON.parse(localStorage.getItem(k)),
        {key: 'kept-yesterday', path, clinic: 'riverside', staff: 'desk-ana',
         kept_at: Date.parse('2026-11-22T18:00:00Z'),
         body: {patient_name: 'Old Kept', provider: 'kim', visit_type: 'follow', walk_in: true}}]))""",
        [KEPT, f"/api/clinics/{CLINIC}/visits"],
    )
    desk.reload()
    sign_in_still = desk.locator("#whoami")
    sign_in_still.wait_for(state="visible", timeout=10_000)
    # After the reload the kept taps are sent again (still into a dropping network), with the same keys.
    desk.wait_for_function("() => document.querySelectorAll('#offline-taps li').length >= 4", timeout=10_000)
    # The day before's walk-in too, kept until the server says whether it was stored then (it is only asked).
    assert len(_kept(desk)) == 6
    mode["now"] = "pass"
    desk.wait_for_function("k => localStorage.getItem(k) === null", arg=KEPT, timeout=20_000)
    # One key per tap (the day before's walk-in, only asked after, goes to the same path under its own key).
    assert all(len(set(sent) - {"kept-yesterday"}) == 1 for sent in keys.values()), keys

    # Each stored once: one arrival each, one walk-in; Cruz's refusal is shown.
    board = _board(server, manager)
    by_id = {v["id"]: v for v in board["visits"]}
    for v in (ann, bo):
        assert by_id[v["id"]]["stage"] == "arrived"
        assert [s["step"] for s in by_id[v["id"]]["steps"]] == ["arrived"]
    assert by_id[cruz["id"]]["stage"] == "no_show"
    assert by_id[dee["id"]]["stage"] == "scheduled"
    dee_trail = httpx.get(f"{server.url}/api/clinics/{CLINIC}/visits/{dee['id']}/audit", headers=manager, timeout=10)
    assert [e["type"] for e in dee_trail.json()["entries"]] == ["booked", "arrived", "undo"]
    assert [v["patient_name"] for v in board["visits"]].count(WALK_IN) == 1
    assert "Old Kept" not in [v["patient_name"] for v in board["visits"]]
    trail = httpx.get(f"{server.url}/api/clinics/{CLINIC}/visits/{ann['id']}/audit", headers=manager, timeout=10)
    assert trail.status_code == 200, trail.text
    assert [e["type"] for e in trail.json()["entries"] if e["type"] == "arrived"] == ["arrived"]
    refused = desk.locator("#kept-refused")
    refused.wait_for(timeout=10_000)
    assert "Cruz Diaz" in refused.inner_text() and "no-show" in refused.inner_text()
    assert "Walk-in Old Kept: not sent, it was made on an earlier day." in refused.inner_text()
    desk.wait_for_selector("#live[data-mode='live']", timeout=10_000)
    assert desk.locator("#offline").is_hidden()
    violations = Axe().run(desk).response["violations"]
    assert [v["id"] for v in violations if v["impact"] in ("serious", "critical")] == []
    desk.click("#kept-refused-ok")
    assert refused.is_hidden()


def test_the_live_pill_is_not_green_while_the_socket_is_down_or_reconnecting(
    server: ServerProcess, screens: Screens
) -> None:
    server.signed_in(Role.front_desk)
    desk = screens.open(f"{server.url}/")
    sockets: list[WebSocketRoute] = []
    up = {"now": True}

    def relay(ws: WebSocketRoute) -> None:
        if not up["now"]:
            ws.close(code=1011, reason="down")
            return
        sockets.append(ws)
        upstream = ws.connect_to_server()
        ws.on_message(lambda m: upstream.send(m))
        upstream.on_message(lambda m: ws.send(m))

    desk.route_web_socket("**/live*", relay)
    sign_in_page(desk, DESK, PIN)
    desk.wait_for_selector("#live[data-mode='live']", timeout=10_000)
    up["now"] = False
    sockets[-1].close(code=1011, reason="dropped")
    # Down, then dialling again: never green, the banner says the connection dropped.
    desk.wait_for_selector("#live:not([data-mode='live'])", timeout=10_000)
    desk.locator("#offline").wait_for(timeout=10_000)
    modes = desk.evaluate("""() => new Promise((resolve) => {
      const seen = new Set([document.querySelector('#live').dataset.mode]);
      const watch = new MutationObserver(() => seen.add(document.querySelector('#live').dataset.mode));
      watch.observe(document.querySelector('#live'), {attributes: true});
      setTimeout(() => { watch.disconnect(); resolve([...seen]); }, 2500);
    })""")
    assert "live" not in modes and set(modes) <= {"offline", "connecting"}, modes
    up["now"] = True
    desk.wait_for_selector("#live[data-mode='live']", timeout=20_000)
    assert desk.locator("#live-text").inner_text() == "Live"
