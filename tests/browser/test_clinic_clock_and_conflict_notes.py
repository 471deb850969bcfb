"""Small things a clinic notices on the tablet and the manager's console, in a real browser whose own time zone
is not the clinic's: the sign-in's end and the console's "Added" and "Kept" are on the clinic's clock, as the
cards are; a tap another tablet beat, on a card far down a long list, brings its note into view (the card
moves to the top of its list); and the note and the visit's history say on which device the step was made,
in English and in Spanish."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, WebSocketRoute

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, book_visit, import_day, serious_violations, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.long]

API = f"/api/clinics/{CLINIC}"
DAY = "2026-11-23"  # the test servers' clinic day (tests/server/conftest.py CLINIC_MORNING: 09:00 there)
DESK, MANAGER = PEOPLE[Role.front_desk][0], PEOPLE[Role.manager][0]
DEVICE_ZONE = "Asia/Tokyo"  # fifteen hours from the clinic's Chicago: another hour, another day


def _zone(server: ServerProcess, headers: dict[str, str]) -> ZoneInfo:
    clinics = httpx.get(f"{server.url}/api/clinics", headers=headers, timeout=10).json()
    return ZoneInfo(next(c["timezone"] for c in clinics if c["id"] == CLINIC))


def _hm(at: dt.datetime) -> str:
    """9:05 PM, as an English page writes the hour and minute."""
    return f"{at.hour % 12 or 12}:{at.minute:02d} {'AM' if at.hour < 12 else 'PM'}"


def _text(page: Page, selector: str) -> str:
    """A node's text with the narrow and no-break spaces some locales put before AM/PM made plain."""
    return re.sub(r"[\u202f\u00a0]", " ", page.locator(selector).inner_text())


def _hold_feed(tablet: Page) -> dict[str, bool]:
    """This tablet's live feed, held back on demand as on a slow network: set ["on"] False to hold it."""
    passing = {"on": True}

    def relay(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        ws.on_message(lambda m: upstream.send(m))
        upstream.on_message(lambda m: ws.send(m) if passing["on"] else None)

    tablet.route_web_socket("**/live*", relay)
    return passing


def _arrived_elsewhere(server: ServerProcess, visit: dict, staff: str, device: str) -> None:
    other = server.sign_in(staff, device=device)
    answer = httpx.post(
        f"{server.url}{API}/visits/{visit['id']}/events",
        headers=other,
        json={"type": "arrived", "expected_version": visit["version"]},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text


def test_the_sign_in_expiry_is_on_the_clinics_clock_on_a_device_in_another_time_zone(
    server: ServerProcess, screens: Screens
) -> None:
    desk = server.signed_in(Role.front_desk)
    clinic_zone = _zone(server, desk)
    visit = book_visit(server, desk, "Ann Lee", start=f"{DAY}T09:30:00")
    tablet = screens.open(f"{server.url}/", timezone_id=DEVICE_ZONE)
    assert tablet.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == DEVICE_ZONE
    with tablet.expect_response(lambda r: r.url.endswith("/api/sign-in")) as signed:
        sign_in_page(tablet, DESK, PIN, device="desk-tablet")
    ends = dt.datetime.fromisoformat(signed.value.json()["expires_at"])
    in_clinic, on_device = _hm(ends.astimezone(clinic_zone)), _hm(ends.astimezone(ZoneInfo(DEVICE_ZONE)))
    assert in_clinic != on_device
    # The card's booked time is the clinic's 9:30 AM; the sign-in's end beside it is on the same clock.
    card = tablet.locator(f"[data-visit='{visit['id']}']")
    card.wait_for(timeout=10_000)
    assert "booked 9:30 AM" in re.sub(r"[\u202f\u00a0]", " ", card.inner_text())
    tablet.locator("#whoami", has_text="until").wait_for(timeout=10_000)
    who = _text(tablet, "#whoami")
    assert re.search(rf"until {re.escape(in_clinic)}\b", who), who
    assert not re.search(rf"\b{re.escape(on_device)}", who), who

    tablet.reload()  # signed in still: who this is comes from /api/me, on the clinic's clock again
    tablet.locator("#whoami", has_text="until").wait_for(timeout=10_000)
    assert re.search(rf"until {re.escape(in_clinic)}\b", _text(tablet, "#whoami"))


def test_the_consoles_added_and_kept_columns_are_on_the_clinics_clock(server: ServerProcess, screens: Screens) -> None:
    manager = server.signed_in(Role.manager)
    clinic_zone = _zone(server, manager)
    kept = httpx.post(
        f"{server.url}{API}/schedule?date=2026-11-24",
        content="external_id,time,provider,visit_type,patient_name\nEHR-1,09:00,kim,follow,Ann Lee\n",
        headers={**manager, "Content-Type": "text/csv"},
        timeout=10,
    )
    assert kept.status_code == 202, kept.text  # kept for the day ahead
    staged = httpx.get(f"{server.url}{API}/schedule/upcoming", headers=manager, timeout=10).json()["days"][0]
    staff = httpx.get(f"{server.url}/api/staff", headers=manager, timeout=10).json()
    added = next(s for s in staff if s["id"] == MANAGER)

    page = screens.open(f"{server.url}/manager.html", width=1280, height=900, timezone_id=DEVICE_ZONE)
    sign_in_page(page, MANAGER, PIN, device="manager-office")
    page.wait_for_selector("#conn[data-mode='live']", timeout=15_000)
    row = f"#staff-table tr[data-staff='{MANAGER}']"
    page.wait_for_selector(row, timeout=10_000)
    page.wait_for_selector("#upcoming-table tr[data-day='2026-11-24']", timeout=10_000)
    for selector, iso in ((row, added["added_at"]), ("#upcoming-table tr[data-day='2026-11-24']", staged["staged_at"])):
        at = dt.datetime.fromisoformat(iso)
        in_clinic, on_device = at.astimezone(clinic_zone), at.astimezone(ZoneInfo(DEVICE_ZONE))
        assert _hm(in_clinic) != _hm(on_device)
        page.wait_for_function(
            "([s, t]) => document.querySelector(s).textContent.replace(/[\\u202f\\u00a0]/g, ' ').includes(t)",
            arg=[selector, _hm(in_clinic)],
            timeout=10_000,
        )
        shown = _text(page, selector)
        assert f"{in_clinic:%b} {in_clinic.day}, {_hm(in_clinic)}" in shown, shown
        assert _hm(on_device) not in shown, shown


def _long_day(server: ServerProcess, manager: dict[str, str]) -> list[dict]:
    """40 visits booked through the day, every 12 minutes from 08:00: the front desk's whole day is a long list."""
    rows = []
    for i in range(40):
        minutes = 8 * 60 + i * 12
        rows.append(f"EHR-{i},{minutes // 60:02d}:{minutes % 60:02d},kim,follow,Patient {i:02d}")
    visits = import_day(server, manager, DAY, rows)
    return sorted(visits, key=lambda v: v["start"])


def test_a_conflict_on_a_card_far_down_the_list_brings_its_note_into_view(
    server: ServerProcess, screens: Screens
) -> None:
    visits = _long_day(server, server.signed_in(Role.manager))
    server.signed_in(Role.front_desk)
    server.add_staff("desk-ben", Role.front_desk, "Ben Ortiz")
    tablet = screens.open(f"{server.url}/", width=768, height=1024)
    passing = _hold_feed(tablet)
    sign_in_page(tablet, DESK, PIN)
    tablet.select_option("#desk-when", "all")
    arrivals = tablet.locator("[data-list='desk-arrivals']")
    tablet.wait_for_function(
        "() => document.querySelectorAll(\"[data-list='desk-arrivals'] li[data-visit]\").length === 40", timeout=10_000
    )
    far = visits[-3]  # near the end of the day's list
    card = arrivals.locator(f"li[data-visit='{far['id']}']")
    card.scroll_into_view_if_needed()
    assert tablet.evaluate("() => window.scrollY") > 2000  # far down the list

    passing["on"] = False
    _arrived_elsewhere(server, far, "desk-ben", "front-tablet-2")
    card.locator("[data-step='arrived']").click()
    note = card.locator("[data-conflict]")
    note.wait_for(timeout=10_000)
    # The card met the conflict and moved to the top of its list; its note is on screen, not under the toolbar.
    assert arrivals.locator("li[data-visit]").first.get_attribute("data-visit") == far["id"]
    box = note.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 1024, box
    on_top = tablet.evaluate(
        "(id) => { const n = document.querySelector(`[data-visit='${id}'] [data-conflict]`);"
        " const r = n.getBoundingClientRect();"
        " return n.contains(document.elementFromPoint(r.left + r.width / 2, r.top + 4)); }",
        far["id"],
    )
    assert on_top, "the note is covered"
    # Focus went with it: "OK, got it" dismisses the note, and the card goes back to its place.
    assert tablet.evaluate("() => document.activeElement?.dataset.action") == "dismiss"
    assert serious_violations(tablet) == []
    tablet.keyboard.press("Enter")
    note.wait_for(state="detached", timeout=10_000)


@pytest.mark.parametrize(
    ("lang", "by"), [("en", "by desk-ben on front-tablet-2"), ("es", "por desk-ben en front-tablet-2")]
)
def test_a_conflict_note_the_card_and_the_visits_history_say_on_which_device(
    server: ServerProcess, screens: Screens, lang: str, by: str
) -> None:
    desk = server.signed_in(Role.front_desk)
    server.add_staff("desk-ben", Role.front_desk, "Ben Ortiz")
    visit = book_visit(server, desk, "Ann Lee", start=f"{DAY}T09:00:00")
    tablet = screens.open(f"{server.url}/?lang={lang}")
    passing = _hold_feed(tablet)
    sign_in_page(tablet, DESK, PIN)
    card = tablet.locator(f"[data-list='desk-arrivals'] [data-visit='{visit['id']}']")
    card.wait_for(timeout=10_000)
    passing["on"] = False
    _arrived_elsewhere(server, visit, "desk-ben", "front-tablet-2")
    card.locator("[data-step='arrived']").click()
    note = card.locator("[data-conflict]")
    note.wait_for(timeout=10_000)
    assert by in note.inner_text(), note.inner_text()

    # The card, once the feed catches up, and the visit's history say it too.
    passing["on"] = True
    tablet.reload()
    waiting = tablet.locator(f"[data-list='desk-waiting'] [data-visit='{visit['id']}']")
    waiting.wait_for(timeout=10_000)
    assert by in waiting.inner_text(), waiting.inner_text()
    waiting.locator("[data-action='detail']").click()
    tablet.locator("#visit-detail[open] .history li").first.wait_for(timeout=10_000)
    arrived = tablet.locator("#visit-detail .history li[data-type='step_taken']")
    assert by in arrived.inner_text(), arrived.inner_text()
