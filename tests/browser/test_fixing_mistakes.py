"""Fixing mistakes and the visit code, in a real browser: a no-show tapped by mistake (asked first) is undone
from the visit's detail twenty clinic minutes later, a walk-in booked by mistake is removed, each recorded in
the audit trail; and the code the wall shows for a visit is on the matching tablet card, the tablet's alert and
the manager's alert. The server runs on a fast clinic clock, so twenty minutes pass in seconds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from floor.core.access import Role
from tests.browser.conftest import (
    CLINIC,
    Screens,
    book_visit,
    fast_clock_server,
    pair_wall,
    serious_violations,
    sign_in_page,
)
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.long]

API = f"/api/clinics/{CLINIC}"
DESK, MA, MANAGER = PEOPLE[Role.front_desk][0], PEOPLE[Role.medical_assistant][0], PEOPLE[Role.manager][0]
MORNING = "2026-11-23T15:00:00+00:00"  # 09:00 at the demo clinic
SPEED = 240  # clinic minutes per real quarter second: twenty minutes in five seconds


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with fast_clock_server(tmp_path, MORNING, SPEED) as proc:
        yield proc


def _code(holder) -> str:
    """The visit code a card, dialog or alert shows (its text says "Visit code" to a screen reader first)."""
    code = holder.locator("[data-visit-code]").first
    shown = code.get_attribute("data-visit-code")
    assert code.inner_text().split()[-1] == shown
    return shown


def _now(server: ServerProcess, headers: dict) -> dt.datetime:
    board = httpx.get(f"{server.url}{API}/board", headers=headers, timeout=10).json()
    return dt.datetime.fromisoformat(board["now"])


def _detail_from_the_floor(tablet: Page, visit: str) -> Page:
    floor = tablet.locator("#floor-details")
    if floor.get_attribute("open") is None:
        tablet.locator("#floor-details > summary").click()
    tablet.locator(f"#visits-body [data-detail-visit='{visit}']").click()
    tablet.locator("#visit-detail[open]").wait_for(timeout=10_000)
    tablet.locator("#visit-detail .history li").first.wait_for(timeout=10_000)
    return tablet


def test_a_no_show_tapped_by_mistake_is_undone_from_the_detail_later_and_a_walk_in_removed(
    server: ServerProcess, screens: Screens
) -> None:
    desk, manager = server.signed_in(Role.front_desk), server.signed_in(Role.manager)
    # Booked for 09:00 clinic time, due now: the front desk's default view (late and next hour) lists it.
    booked = httpx.post(
        f"{server.url}{API}/visits",
        headers=desk,
        timeout=10,
        json={"patient_name": "Nora Quinn", "provider": "kim", "visit_type": "follow", "start": "2026-11-23T09:00:00"},
    )
    assert booked.status_code == 201, booked.text
    visit = booked.json()["visit"]
    tablet = screens.open(f"{server.url}/")
    sign_in_page(tablet, DESK, PIN)
    card = tablet.locator(f"[data-list='desk-arrivals'] [data-visit='{visit['id']}']")
    assert _code(card) == visit["token"]

    # The no-show asks first: going back sends nothing.
    card.locator("[data-step='no_show']").click()
    confirm = tablet.locator("dialog[data-confirm][open]")
    confirm.wait_for(timeout=10_000)
    assert visit["token"] in confirm.inner_text()
    assert serious_violations(tablet) == []
    confirm.locator("[data-confirm-no]").click()
    confirm.wait_for(state="detached", timeout=10_000)
    card.locator("[data-step='no_show']").click()
    tablet.locator("dialog[data-confirm][open] [data-confirm-yes]").click()
    card.wait_for(state="detached", timeout=10_000)

    # Twenty clinic minutes later, from the visit's detail (the whole floor's list), by who tapped it.
    marked = _now(server, desk)
    while _now(server, desk) < marked + dt.timedelta(minutes=21):
        tablet.wait_for_timeout(250)  # the server's fast clinic clock: about five seconds in all
    _detail_from_the_floor(tablet, visit["id"])
    dialog = tablet.locator("#visit-detail")
    assert "No show" in dialog.inner_text() or "no-show" in dialog.inner_text()
    assert _code(dialog) == visit["token"]
    assert serious_violations(tablet) == []
    dialog.locator("[data-detail='undo']").click()
    tablet.wait_for_function(
        "() => /Undone/.test(document.querySelector('[data-detail-message]')?.textContent)", timeout=10_000
    )
    said = tablet.locator("[data-detail-message]").text_content()
    assert said.endswith("is scheduled again."), said  # the stage in the sentence's case, not "is Scheduled"
    dialog.locator("[data-detail='close']").click()
    tablet.locator(f"[data-list='desk-arrivals'] [data-visit='{visit['id']}']").wait_for(timeout=10_000)
    trail = httpx.get(f"{server.url}{API}/visits/{visit['id']}/audit", headers=manager, timeout=10).json()["entries"]
    assert [(e["type"], e["person"]) for e in trail] == [("booked", DESK), ("no_show", DESK), ("undo", DESK)]
    gap = dt.datetime.fromisoformat(trail[2]["at"]) - dt.datetime.fromisoformat(trail[1]["at"])
    assert gap >= dt.timedelta(minutes=20)

    # A walk-in booked by mistake: removed from its detail, after a confirmation.
    walk_in = httpx.post(
        f"{server.url}{API}/visits",
        headers=desk,
        timeout=10,
        json={"patient_name": "Wrong Person", "provider": "kim", "visit_type": "follow", "walk_in": True},
    ).json()["visit"]
    tablet.locator(f"[data-list='desk-waiting'] [data-visit='{walk_in['id']}']").wait_for(timeout=10_000)
    _detail_from_the_floor(tablet, walk_in["id"])
    dialog.locator("[data-detail='undo']").click()
    tablet.locator("dialog[data-confirm][open] [data-confirm-yes]").click()
    tablet.wait_for_function(
        "() => /removed/.test(document.querySelector('[data-detail-message]')?.textContent)", timeout=10_000
    )
    tablet.locator(f"[data-list='desk-waiting'] [data-visit='{walk_in['id']}']").wait_for(
        state="detached", timeout=10_000
    )
    trail = httpx.get(f"{server.url}{API}/visits/{walk_in['id']}/audit", headers=manager, timeout=10).json()["entries"]
    assert [(e["type"], e["person"]) for e in trail] == [("walk_in", DESK), ("walk_in_removed", DESK)]


def test_the_walls_visit_code_is_on_the_tablet_card_and_alert_and_the_managers_alert(
    server: ServerProcess, screens: Screens
) -> None:
    manager, desk = server.signed_in(Role.manager), server.signed_in(Role.front_desk)
    server.add_staff(MA, Role.medical_assistant)
    wall = screens.open(f"{server.url}/board.html", width=1920, height=1080)
    pair_wall(wall, server, manager)
    visit = httpx.post(
        f"{server.url}{API}/visits",
        headers=desk,
        timeout=10,
        json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True},
    ).json()["visit"]
    token = visit["token"]
    # Waiting past the clinic's limit: the wall's alert names the visit by its code only.
    wall.wait_for_function(
        f"() => document.querySelector('#alerts-list').textContent.includes('{token}')", timeout=20_000
    )
    wall_alert = wall.locator("#alerts-list li", has_text=token).first.inner_text()
    assert "Ann" not in wall_alert

    tablet = screens.open(f"{server.url}/")
    sign_in_page(tablet, MA, PIN)
    card = tablet.locator(f"[data-list='ma-waiting'] [data-visit='{visit['id']}']")
    assert _code(card) == token
    alert = tablet.locator(f"#tablet-alerts [data-alert-visit='{visit['id']}']")
    alert.wait_for(timeout=10_000)
    assert _code(alert) == token and "Ann Lee" in alert.inner_text()
    assert serious_violations(tablet) == []

    console = screens.open(f"{server.url}/manager.html")
    console.fill("#signin-staff", MANAGER)
    console.fill("#signin-secret", PIN)
    console.fill("#signin-device", "office")
    console.click("#signin-form button[type='submit']")
    console.wait_for_function(
        f"() => [...document.querySelectorAll('#alerts [data-alert]')].some(li => "
        f"li.textContent.includes('{token} · Ann Lee'))",
        timeout=10_000,
    )


def test_a_room_mark_is_undone_on_the_tablet_and_a_check_out_without_teach_back_asks_first(
    server: ServerProcess, screens: Screens
) -> None:
    desk, ma = server.signed_in(Role.front_desk), server.signed_in(Role.medical_assistant)
    server.add_staff("kim", Role.provider, "Jenna Kim")
    blocked = httpx.post(
        f"{server.url}{API}/rooms/e3/events", headers=ma, timeout=10, json={"type": "blocked", "reason": "leak"}
    )
    assert blocked.status_code == 201, blocked.text
    tablet = screens.open(f"{server.url}/")
    sign_in_page(tablet, MA, PIN)
    room = tablet.locator("[data-list='ma-rooms'] [data-room='e3']")
    room.locator("[data-action='room-undo']").click()
    room.wait_for(state="detached", timeout=10_000)  # ready again: no longer a room to tidy
    board = httpx.get(f"{server.url}{API}/board", headers=desk, timeout=10).json()
    assert next(r for r in board["rooms"] if r["id"] == "e3")["state"] == "ready"

    visit = httpx.post(
        f"{server.url}{API}/visits",
        headers=desk,
        timeout=10,
        json={"patient_name": "Pat Doe", "provider": "kim", "visit_type": "follow", "walk_in": True},
    ).json()["visit"]
    kim = server.sign_in("kim")
    for headers, body in (
        (ma, {"type": "roomed", "room": "e1"}),
        (ma, {"type": "prep_done"}),
        (kim, {"type": "provider_in"}),
    ):
        answer = httpx.post(f"{server.url}{API}/visits/{visit['id']}/events", headers=headers, json=body, timeout=10)
        assert answer.status_code == 201, answer.text
    provider = screens.open(f"{server.url}/")
    sign_in_page(provider, "kim", PIN)
    card = provider.locator(f"[data-list='pr-with'] [data-visit='{visit['id']}']")
    card.locator("[data-action='step'][data-step='checked_out']").click()
    confirm = provider.locator("dialog[data-confirm][open]")
    assert "teach-back" in confirm.inner_text()
    confirm.locator("[data-confirm-no]").click()
    confirm.wait_for(state="detached", timeout=10_000)
    assert card.get_attribute("data-stage") == "provider_in"


def test_the_managers_alerts_list_those_to_acknowledge_first_and_fold_the_cleared_away(
    server: ServerProcess, screens: Screens
) -> None:
    server.signed_in(Role.manager)  # the manager's account, signed in on the page below
    desk, ma = server.signed_in(Role.front_desk), server.signed_in(Role.medical_assistant)
    visits = [
        httpx.post(
            f"{server.url}{API}/visits",
            headers=desk,
            timeout=10,
            json={"patient_name": name, "provider": "kim", "visit_type": "follow", "walk_in": True},
        ).json()["visit"]
        for name in ("Ann Lee", "Bo Chen", "Cruz Diaz")
    ]
    page = screens.open(f"{server.url}/manager.html")
    sign_in_page(page, MANAGER, PIN, device="office")
    # All three wait past the clinic's limit (the fast clinic clock: seconds). A provider's lateness may be
    # raised beside them: the patients' waits are the alerts looked at.
    waits = "#alerts > li.alert-dwell"
    page.wait_for_function("s => document.querySelectorAll(s).length === 3", arg=waits, timeout=30_000)
    dwell = page.locator(waits)
    assert [li.locator("[data-action='acknowledge']").count() for li in dwell.all()] == [1, 1, 1]
    top = dwell.first.get_attribute("data-alert")
    dwell.first.locator("[data-action='acknowledge']").click()
    # Acknowledged, the top alert goes below those still to acknowledge.
    page.wait_for_function(
        "([s, id]) => { const all = [...document.querySelectorAll('#alerts > li[data-alert]')];"
        " const at = all.findIndex((li) => li.dataset.alert === id);"
        " return at >= 0 && all[at].querySelector('.ack') && all.slice(at).every((li) => li.querySelector('.ack')); }",
        arg=[waits, top],
        timeout=10_000,
    )
    assert [li.locator("[data-action='acknowledge']").count() for li in dwell.all()] == [1, 1, 0]
    # A patient roomed: their alert is cleared and folded away, not among the active ones.
    roomed = visits[2]
    answer = httpx.post(
        f"{server.url}{API}/visits/{roomed['id']}/events",
        headers=ma,
        timeout=10,
        json={"type": "roomed", "room": "e1"},
    )
    assert answer.status_code == 201, answer.text
    page.wait_for_function("s => document.querySelectorAll(s).length === 2", arg=waits, timeout=10_000)
    assert all(roomed["token"] not in text for text in dwell.all_text_contents())
    cleared = page.locator("#alerts-cleared-list li.alert-dwell[data-state='cleared']")
    assert cleared.count() == 1 and cleared.locator("button").count() == 0
    assert roomed["token"] in cleared.first.text_content()
    assert page.locator("#alerts-cleared").evaluate("d => d.tagName === 'DETAILS' && !d.open")
    assert serious_violations(page) == []


def test_a_patients_wait_in_an_alert_counts_up_on_the_tablet_and_the_manager_page_as_on_the_wall(
    server: ServerProcess, screens: Screens
) -> None:
    """The minutes stored when a "waiting too long" alert was raised are never moved by the server: the tablet and
    the manager page said "16 min" while the wall said 45 (a hostile review). They count from when the patient
    entered the stage, as the wall does."""
    server.signed_in(Role.manager)
    desk = server.signed_in(Role.front_desk)
    visit = book_visit(server, desk, "Ann Lee")
    manager = screens.open(f"{server.url}/manager.html")
    sign_in_page(manager, MANAGER, PIN, device="office")
    tablet = screens.open(f"{server.url}/")
    sign_in_page(tablet, DESK, PIN)
    minutes = (
        r"s => { const m = /(\d+) min/.exec(document.querySelector(s)?.textContent || ''); return m ? +m[1] : 0; }"
    )
    for page, where in (
        (manager, "#alerts > li.alert-dwell .alert-head strong"),
        (tablet, f"#tablet-alerts li[data-alert-visit='{visit['id']}']"),
    ):
        page.wait_for_selector(where, timeout=30_000)
        first = page.evaluate(f"({minutes})", where)
        # The clinic clock runs fast: several minutes pass on it within seconds.
        page.wait_for_function(f"s => ({minutes})(s) >= {first + 3}", arg=where, timeout=30_000)


def test_a_zones_wall_lets_go_of_an_alert_whose_patient_was_roomed_in_another_zone(
    server: ServerProcess, screens: Screens
) -> None:
    """Before a room, every zone's wall shows a patient's long wait; roomed in the east, the west wall was told
    the patient left its zone and never heard the alert clear: it stayed all day (a hostile review)."""
    manager = server.signed_in(Role.manager)
    desk, ma = server.signed_in(Role.front_desk), server.signed_in(Role.medical_assistant)
    west = screens.open(f"{server.url}/board.html", width=1920, height=1080)
    pair_wall(west, server, manager, zone="west")
    walk_in = httpx.post(
        f"{server.url}{API}/visits",
        headers=desk,
        timeout=10,
        json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True, "minutes_ago": 25},
    ).json()["visit"]
    shown = f"#alerts-list li.alert:not([hidden]):has-text('{walk_in['token']}')"
    west.locator(shown).first.wait_for(timeout=10_000)
    east_room = httpx.post(
        f"{server.url}{API}/visits/{walk_in['id']}/events",
        headers=ma,
        timeout=10,
        json={"type": "roomed", "room": "e1"},
    )
    assert east_room.status_code == 201, east_room.text
    west.locator(shown).first.wait_for(state="detached", timeout=10_000)


def test_a_rehearsals_fast_clinic_clock_does_not_show_the_real_sign_ins_end(
    server: ServerProcess, screens: Screens
) -> None:
    """The demo's clinic clock runs fast; a sign-in ends by the real one: "until 4:03 AM" beside the clinic's
    7:57 AM said nothing true, so the tablet leaves the end out there."""
    desk = server.signed_in(Role.front_desk)
    assert httpx.get(f"{server.url}{API}/board", headers=desk, timeout=10).json()["clock_speed"] == SPEED
    visit = book_visit(server, desk, "Ann Lee")  # a walk-in: on the desk's list whatever the hour
    tablet = screens.open(f"{server.url}/")
    sign_in_page(tablet, DESK, PIN, device="desk-tablet")
    tablet.locator(f"[data-visit='{visit['id']}']").first.wait_for(timeout=10_000)  # the snapshot is in
    who = tablet.locator("#whoami", has_text="desk-tablet")
    who.wait_for(timeout=10_000)
    assert "until" not in who.inner_text()
