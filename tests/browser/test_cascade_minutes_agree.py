"""A provider's cascade alert says the same minutes on every screen at the same moment: the hallway wall, the
manager's alert and timeline lane, and the tablet's alert line all show the provider's live delay, not the
figure stored on the alert (the server updates that only when it moves UPDATE_MINUTES or more, to keep the
log small, so it lags the live delay by up to that much).

The server runs in this process on a manual clinic clock: the test moves the clock and ticks the clinic
itself, so every minute on the screens is known and nothing depends on how fast the machine is."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from floor.clock import ManualClock
from floor.core.access import Role
from floor.core.alerts import UPDATE_MINUTES
from tests.browser.conftest import CLINIC, Screens, pair_wall, sign_in_page
from tests.support.in_process_server import ManualClockServer
from tests.support.staff import PEOPLE, PIN, test_floors

pytestmark = [pytest.mark.browser, pytest.mark.server]

API = f"/api/clinics/{CLINIC}"
DAY = dt.date(2026, 11, 23)
CHICAGO = dt.timedelta(hours=-6)  # the demo clinic's offset that day (no change of clocks near it)
PROVIDER, INITIALS, NAME = "kim", "JK", "Dr. Jenna Kim"
#: Dr. Kim's follow-ups, every 20 minutes from 08:00; nobody rooms anyone, so she runs later by the minute.
BOOKED = ["08:00", "08:20", "08:40", "09:00", "09:20", "09:40"]


def clinic_time(hhmm: str) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time.fromisoformat(hhmm), tzinfo=dt.UTC) - CHICAGO


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(clinic_time("07:45"))


@pytest.fixture
def server(tmp_path: Path, clock: ManualClock) -> Iterator[ManualClockServer]:
    # No tick of its own: an hour between ticks is longer than the test.
    floors = test_floors(tmp_path, clock=clock, tick_seconds=3600)
    with ManualClockServer(floors) as server:
        for role in (Role.front_desk, Role.medical_assistant, Role.manager):
            person, name = PEOPLE[role]
            server.run(floors.sessions.add_staff(person, name, role, PIN, "test"))
        yield server


def _headers(server: ManualClockServer, role: Role) -> dict[str, str]:
    answer = httpx.post(
        f"{server.url}/api/sign-in", json={"staff": PEOPLE[role][0], "secret": PIN, "device": "test"}, timeout=10
    )
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _stored_and_live(server: ManualClockServer, manager: dict[str, str]) -> tuple[dict, dict]:
    """Dr. Kim's active cascade alert (its stored figures) and her live delay, as the board route has them."""
    board = httpx.get(f"{server.url}{API}/board", headers=manager, timeout=10).json()
    cascades = [a for a in board["alerts"] if a["kind"] == "cascade" and not a["cleared_at"]]
    assert [a["provider"] for a in cascades] == [PROVIDER], cascades
    return cascades[0], next(d for d in board["delays"] if d["provider"] == PROVIDER)


def _text(page: Page, selector: str) -> str:
    node = page.locator(selector).first
    node.wait_for(timeout=10_000)
    return node.text_content() or ""


def _shown(pattern: str, page: Page, selector: str, minutes: int) -> None:
    """Wait until the element shows `minutes` where the pattern's {n} is."""
    page.wait_for_function(
        "([s, re]) => { const e = document.querySelector(s); return !!e && new RegExp(re).test(e.textContent); }",
        arg=[selector, pattern.replace("{n}", str(minutes))],
        timeout=10_000,
    )


WALL = f"#alerts-list li.alert-cascade[data-provider='{INITIALS}']:not([hidden]) .alert-text"
MANAGER_ALERT = "#alerts li.alert-cascade[data-state='active']"
LANE = f"#timeline g.lane[data-provider='{PROVIDER}']"
TABLET = "#tablet-alerts li.alert-cascade"


def _every_screen_says(wall: Page, manager: Page, tablet: Page, minutes: int) -> None:
    _shown(rf"^{INITIALS} \({NAME}\): \+{{n}} min,", wall, WALL, minutes)
    _shown(rf"^{NAME} running {{n}} min late$", manager, f"{MANAGER_ALERT} .alert-head strong", minutes)
    _shown(r"^Projected {n} min late$", manager, f"{LANE} .lane-late", minutes)
    _shown(rf"^{NAME} running {{n}} min late", tablet, TABLET, minutes)


def _book_kims_day(server: ManualClockServer, desk: dict[str, str]) -> list[dict]:
    """Dr. Kim's follow-ups at the BOOKED times, booked by the front desk: the visits as the API answered."""
    visits = []
    for n, start in enumerate(BOOKED):
        answer = httpx.post(
            f"{server.url}{API}/visits",
            headers=desk,
            timeout=10,
            json={
                "patient_name": f"Pat Number{n}",
                "provider": PROVIDER,
                "visit_type": "follow",
                "start": f"{DAY}T{start}:00",
            },
        )
        assert answer.status_code == 201, answer.text
        visits.append(answer.json()["visit"])
    return visits


def _open_screens(server: ManualClockServer, screens: Screens, manager: dict[str, str]) -> tuple[Page, Page, Page]:
    """The hallway wall (paired), the manager's console and an assistant's tablet, open and fed a tick."""
    wall = screens.open(f"{server.url}/board.html", width=1920, height=1080)
    pair_wall(wall, server, manager)
    console = screens.open(f"{server.url}/manager.html")
    sign_in_page(console, PEOPLE[Role.manager][0], PIN, device="office")
    tablet = screens.open(f"{server.url}/")
    sign_in_page(tablet, PEOPLE[Role.medical_assistant][0], PIN)
    server.tick()  # the delays to the screens now open
    return wall, console, tablet


def test_a_cascades_minutes_are_the_providers_live_delay_on_every_screen(
    server: ManualClockServer, clock: ManualClock, screens: Screens
) -> None:
    desk, manager = _headers(server, Role.front_desk), _headers(server, Role.manager)
    visits = _book_kims_day(server, desk)
    # The first two come on time and wait; nobody is roomed.
    for visit, start in zip(visits[:2], BOOKED[:2], strict=True):
        clock.set(clinic_time(start))
        answer = httpx.post(
            f"{server.url}{API}/visits/{visit['id']}/events", headers=desk, timeout=10, json={"type": "arrived"}
        )
        assert answer.status_code == 201, answer.text
    clock.set(clinic_time("08:31"))
    server.tick()  # the cascade is raised
    raised, _ = _stored_and_live(server, manager)

    wall, console, tablet = _open_screens(server, screens, manager)
    _, live = _stored_and_live(server, manager)
    _every_screen_says(wall, console, tablet, round(live["lateness"]))

    # Three minutes on, her patients still waiting: her delay has grown, by less than the server's step for
    # storing it on the alert, so the alert keeps the figure it was raised with.
    clock.set(clinic_time("08:34"))
    server.tick()
    stored, live = _stored_and_live(server, manager)
    assert stored["version"] == raised["version"] and stored["detail"] == raised["detail"]
    late, kept = round(live["lateness"]), round(stored["detail"]["lateness"])
    assert late != kept and abs(live["lateness"] - stored["detail"]["lateness"]) < UPDATE_MINUTES, (live, stored)
    _every_screen_says(wall, console, tablet, late)

    # "Back on time" is the live one too, the same on the manager's alert, her lane and the tablet's line.
    lane = _text(console, f"{LANE} .lane-pace")
    back = re.fullmatch(r"back on time (\d{1,2}:\d{2}\s[AP]M)", lane)
    assert back, lane
    assert f"Back on time about {back[1]}." in _text(console, f"{MANAGER_ALERT} .alert-body")
    assert _text(tablet, TABLET).endswith(f"; back on time about {back[1]}.")


def _step(server: ManualClockServer, headers: dict[str, str], visit: str, step: str, room: str | None = None) -> None:
    body = {"type": step, **({"room": room} if room else {})}
    answer = httpx.post(f"{server.url}{API}/visits/{visit}/events", headers=headers, timeout=10, json=body)
    assert answer.status_code == 201, answer.text


def test_a_cascade_still_up_after_the_provider_caught_up_says_later_visits_affected_not_0_min(
    server: ManualClockServer, clock: ManualClock, screens: Screens
) -> None:
    """Dr. Kim saw three patients late and is with the fourth, seen late too: the next patient is projected on time,
    yet the run keeps the alert up until she is done with this one (then she has caught up: nobody is due). Every
    screen says she is running late with later visits affected, never "+0 min" or "running 0 min late"."""
    person, name = PEOPLE[Role.provider]
    server.run(server.floors.sessions.add_staff(person, name, Role.provider, PIN, "test", provider=PROVIDER))
    desk, ma, manager = (_headers(server, role) for role in (Role.front_desk, Role.medical_assistant, Role.manager))
    kim = _headers(server, Role.provider)
    visits = [v["id"] for v in _book_kims_day(server, desk)]
    for visit, start in zip(visits[:4], BOOKED[:4], strict=True):
        clock.set(clinic_time(start))
        _step(server, desk, visit, "arrived")
    clock.set(clinic_time("09:01"))
    server.tick()  # three and more waiting late: the cascade is raised
    _stored_and_live(server, manager)
    # She sees the four waiting, one after the other, each 15 or more minutes late.
    for n, (visit, room) in enumerate(zip(visits[:4], ("e1", "e2", "e3", "e4"), strict=True)):
        clock.set(clinic_time(f"09:{10 + 3 * n:02d}"))
        _step(server, ma, visit, "roomed", room)
        _step(server, ma, visit, "prep_done")
        _step(server, kim, visit, "provider_in")
        if n < 3:
            clock.set(clinic_time(f"09:{12 + 3 * n:02d}"))
            _step(server, kim, visit, "teach_back_done")
            _step(server, desk, visit, "checked_out")
    clock.set(clinic_time("09:20"))
    server.tick()
    alert, live = _stored_and_live(server, manager)  # still up: she is with the fourth, started late
    assert round(live["lateness"]) == 0 and len(alert["detail"]["affected"]) >= 3, (alert, live)

    wall, console, tablet = _open_screens(server, screens, manager)
    _shown(rf"^{INITIALS} \({NAME}\): later visits affected$", wall, WALL, 0)
    _shown(rf"^{NAME} running late, later visits affected$", console, f"{MANAGER_ALERT} .alert-head strong", 0)
    _shown(rf"^{NAME} running late, later visits affected", tablet, TABLET, 0)


def test_a_cascade_still_up_with_every_patient_ahead_on_time_says_back_on_time_now(
    server: ManualClockServer, clock: ManualClock, screens: Screens
) -> None:
    """As above, but her next patient came early and is prepped: on time for everyone ahead (a delay of 0), her run
    still holds the alert up. The tablet said "back on time about 9:29", the next patient's time, as if she were late
    until then; the projection recovers her now, and the tablet says she is back on time now."""
    person, name = PEOPLE[Role.provider]
    server.run(server.floors.sessions.add_staff(person, name, Role.provider, PIN, "test", provider=PROVIDER))
    desk, ma, manager = (_headers(server, role) for role in (Role.front_desk, Role.medical_assistant, Role.manager))
    kim = _headers(server, Role.provider)
    visits = [v["id"] for v in _book_kims_day(server, desk)]
    for visit, start in zip(visits[:4], BOOKED[:4], strict=True):
        clock.set(clinic_time(start))
        _step(server, desk, visit, "arrived")
    clock.set(clinic_time("09:01"))
    server.tick()
    _stored_and_live(server, manager)
    clock.set(clinic_time("09:05"))  # the 09:20 patient comes early and is made ready
    _step(server, desk, visits[4], "arrived")
    _step(server, ma, visits[4], "roomed", "e5")
    _step(server, ma, visits[4], "prep_done")
    for n, (visit, room) in enumerate(zip(visits[:4], ("e1", "e2", "e3", "e4"), strict=True)):
        clock.set(clinic_time(f"09:{10 + 3 * n:02d}"))
        _step(server, ma, visit, "roomed", room)
        _step(server, ma, visit, "prep_done")
        _step(server, kim, visit, "provider_in")
        if n < 3:
            clock.set(clinic_time(f"09:{12 + 3 * n:02d}"))
            _step(server, kim, visit, "teach_back_done")
            _step(server, desk, visit, "checked_out")
    clock.set(clinic_time("09:22"))
    server.tick()
    _, live = _stored_and_live(server, manager)  # still up: she is with the fourth, started late
    assert round(live["lateness"]) == 0 and live["recovers_at"] is not None, live

    _, console, tablet = _open_screens(server, screens, manager)
    _shown(rf"^{NAME} running late, later visits affected", tablet, TABLET, 0)
    assert _text(tablet, TABLET).endswith("; back on time now."), _text(tablet, TABLET)
    # The manager's alert says the same (it said "Back on time about 09:22", the clock's own time).
    assert "Back on time now." in _text(console, f"{MANAGER_ALERT} .alert-body"), _text(console, MANAGER_ALERT)


def test_a_cascade_names_as_projected_late_only_the_patients_still_to_be_seen(
    server: ManualClockServer, clock: ManualClock, screens: Screens
) -> None:
    """Dr. Kim's first two patients were seen late and have left; the next three wait, projected late. The alert keeps
    all five (the two seen late are links of its run), but the manager's alert and the tablet's line named the two
    checked out first among those "projected late", and the ones still waiting in "and 1 more"."""
    person, name = PEOPLE[Role.provider]
    server.run(server.floors.sessions.add_staff(person, name, Role.provider, PIN, "test", provider=PROVIDER))
    desk, ma, manager = (_headers(server, role) for role in (Role.front_desk, Role.medical_assistant, Role.manager))
    kim = _headers(server, Role.provider)
    visits = [v["id"] for v in _book_kims_day(server, desk)]
    for visit, start in zip(visits[:4], BOOKED[:4], strict=True):
        clock.set(clinic_time(start))
        _step(server, desk, visit, "arrived")
    clock.set(clinic_time("09:01"))
    server.tick()
    for n, (visit, room) in enumerate(zip(visits[:2], ("e1", "e2"), strict=True)):
        clock.set(clinic_time(f"09:{10 + 3 * n:02d}"))
        _step(server, ma, visit, "roomed", room)
        _step(server, ma, visit, "prep_done")
        _step(server, kim, visit, "provider_in")
        clock.set(clinic_time(f"09:{12 + 3 * n:02d}"))
        _step(server, kim, visit, "teach_back_done")
        _step(server, desk, visit, "checked_out")
    clock.set(clinic_time("09:16"))
    server.tick()
    alert, _ = _stored_and_live(server, manager)
    assert alert["detail"]["affected"][:2] == visits[:2] and set(visits[2:4]) <= set(alert["detail"]["affected"])

    wall, console, tablet = _open_screens(server, screens, manager)
    body = f"{MANAGER_ALERT} .alert-body"
    console.wait_for_function(
        "s => /^3 visits projected late: .*Pat Number2, .*Pat Number3, .*Pat Number4\\./.test("
        "document.querySelector(s)?.textContent || '')",
        arg=body,
        timeout=10_000,
    )
    tablet.wait_for_function(
        "s => /projected late .*Pat Number2, .*Pat Number3, .*Pat Number4;/.test("
        "document.querySelector(s)?.textContent || '')",
        arg=TABLET,
        timeout=10_000,
    )
    for gone in ("Pat Number0", "Pat Number1"):
        assert gone not in _text(console, body) and gone not in _text(tablet, TABLET)
    # The wall names nobody, as before.
    assert "Pat" not in _text(wall, WALL)
