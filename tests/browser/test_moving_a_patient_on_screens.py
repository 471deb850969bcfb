"""Moving a waiting patient to another provider, in a real browser: the manager from the timeline's visit detail,
the front desk from a visit's detail on the tablet; the visit changes lanes, the trail says who moved them, and
the screens pass axe's serious checks with the control on them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from floor.clock import ManualClock
from floor.config import Provider, demo_clinic
from floor.core.access import Role
from floor.core.commands import BookVisit, TakeStep, Tap
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.log.base import Record
from floor.log.embedded import EmbeddedLog
from tests.browser.conftest import CLINIC, Screens, fast_clock_server, serious_violations, sign_in_page
from tests.browser.test_cascade_minutes_agree import BOOKED, ManualClockServer, _book_kims_day, _headers, clinic_time
from tests.browser.test_clinic_clock_and_conflict_notes import _hold_feed
from tests.browser.test_learned_on_the_manager_page import TODAY, serving
from tests.browser.test_live_screens import _room_on_tablet
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN, test_floors

pytestmark = [pytest.mark.browser, pytest.mark.server]

API = f"/api/clinics/{CLINIC}"
MORNING = "2026-11-23T15:00:00+00:00"  # 09:00 at the demo clinic


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with fast_clock_server(tmp_path, MORNING, 1) as proc:
        yield proc


def _here(server: ServerProcess, name: str, *, roomed: bool) -> str:
    """A patient booked with Dr. Kim at 9:00, arrived (and roomed)."""
    desk, ma = server.signed_in(Role.front_desk), server.signed_in(Role.medical_assistant)
    booked = httpx.post(
        f"{server.url}{API}/visits",
        headers=desk,
        timeout=10,
        json={"patient_name": name, "provider": "kim", "visit_type": "follow", "start": "2026-11-23T09:00:00"},
    )
    assert booked.status_code == 201, booked.text
    visit = booked.json()["visit"]["id"]
    steps = [(desk, {"type": "arrived"})] + ([(ma, {"type": "roomed", "room": "e1"})] if roomed else [])
    for who, body in steps:
        tapped = httpx.post(f"{server.url}{API}/visits/{visit}/events", headers=who, timeout=10, json=body)
        assert tapped.status_code == 201, tapped.text
    return visit


def _trail(server: ServerProcess, visit: str) -> list[tuple[str, str, str | None]]:
    manager = server.signed_in(Role.manager)
    entries = httpx.get(f"{server.url}{API}/visits/{visit}/audit", headers=manager, timeout=10).json()["entries"]
    return [(e["type"], e["person"], e.get("provider")) for e in entries]


def test_the_manager_moves_a_roomed_patient_to_another_provider_from_the_timeline(
    server: ServerProcess, screens: Screens
) -> None:
    visit = _here(server, "Nora Quinn", roomed=True)
    server.signed_in(Role.manager)  # adds the manager
    console = screens.open(f"{server.url}/manager.html", width=1280, height=900)
    sign_in_page(console, PEOPLE[Role.manager][0], PIN, device="office")
    kim_lane = console.locator(f"#timeline [data-provider='kim'] g.visit[data-visit='{visit}']")
    kim_lane.wait_for(timeout=10_000)
    kim_lane.click()
    form = console.locator(f"#visit-detail form[data-move-visit='{visit}']")
    form.wait_for(timeout=10_000)
    assert serious_violations(console) == []
    console.get_by_label("Move to another provider").select_option("okafor")
    form.get_by_role("button", name="Move").click()
    console.wait_for_function(
        "() => /moved to Dr\\. Daniel Okafor/.test(document.querySelector('#move-message')?.textContent)",
        timeout=10_000,
    )
    bar = console.locator(f"#timeline [data-provider='okafor'] g.visit[data-visit='{visit}']")
    bar.wait_for(timeout=10_000)
    assert console.locator(f"#timeline [data-provider='kim'] [data-visit='{visit}']").count() == 0
    assert "Nora Quinn (moved from Dr. Jenna Kim) —" in bar.locator("title").first.text_content()
    assert "Dr. Jenna Kim" in console.locator("#visit-detail").inner_text()  # booked with
    assert _trail(server, visit)[-1] == ("visit_moved", PEOPLE[Role.manager][0], "okafor")
    # The console's audit trail of the visit says from whom to whom.
    console.wait_for_selector(f"#audit-visit-visit option[value='{visit}']", state="attached", timeout=10_000)
    console.locator("#audit-visit").get_by_label("Visit", exact=True).select_option(visit)
    console.click("#audit-visit button[type=submit]")
    console.locator("#audit-table").wait_for(timeout=10_000)
    assert "Moved from Dr. Jenna Kim to Dr. Daniel Okafor" in console.locator("#audit-table").inner_text()


def test_the_front_desk_moves_a_waiting_patient_from_the_visits_detail(server: ServerProcess, screens: Screens) -> None:
    visit = _here(server, "Omar Reyes", roomed=False)
    tablet = screens.open(f"{server.url}/")
    sign_in_page(tablet, PEOPLE[Role.front_desk][0], PIN)
    floor = tablet.locator("#floor-details")
    floor.wait_for(timeout=10_000)
    if floor.get_attribute("open") is None:
        tablet.locator("#floor-details > summary").click()
    tablet.locator(f"#visits-body [data-detail-visit='{visit}']").click()
    dialog = tablet.locator("#visit-detail[open]")
    dialog.locator("form[data-detail-move]").wait_for(timeout=10_000)
    assert serious_violations(tablet) == []
    dialog.get_by_label("Move to another provider").select_option("silva")
    dialog.locator("[data-detail='move']").click()
    tablet.wait_for_function(
        "() => /moved to Maria Silva, NP/.test(document.querySelector('[data-detail-message]')?.textContent)",
        timeout=10_000,
    )
    # The history says it, and the move is no longer offered to the provider they are with now.
    dialog.locator(".history li[data-type='visit_moved']").wait_for(timeout=10_000)
    assert "Moved from Dr. Jenna Kim to Maria Silva, NP" in dialog.inner_text()
    options = dialog.locator("select[name='provider'] option")
    assert "silva" not in [options.nth(i).get_attribute("value") for i in range(options.count())]
    assert _trail(server, visit)[-1] == ("visit_moved", PEOPLE[Role.front_desk][0], "silva")

    # Undo after the move takes back the check-in, not the move: it says so first (pressed at once, it put a
    # patient sitting in the waiting room back to "not come"; a hostile review), and going back sends nothing.
    dialog.locator("[data-detail='undo']").click()
    confirm = tablet.locator("dialog[data-confirm][open]")
    confirm.wait_for(timeout=5_000)
    assert "was moved to another provider after this step" in confirm.inner_text()
    assert "choose Dr. Jenna Kim under “Move to another provider”" in confirm.inner_text()
    confirm.locator("[data-confirm-no]").click()
    confirm.wait_for(state="detached", timeout=5_000)
    assert _trail(server, visit)[-1] == ("visit_moved", PEOPLE[Role.front_desk][0], "silva")

    # Moved back to Dr. Kim, the provider at the check-in: undo is what it was, asked nothing (it warned and named
    # the wrong provider to move them to; a review).
    dialog.get_by_label("Move to another provider").select_option("kim")
    dialog.locator("[data-detail='move']").click()
    tablet.wait_for_function(
        "() => /moved to Dr\\. Jenna Kim/.test(document.querySelector('[data-detail-message]')?.textContent)",
        timeout=10_000,
    )
    dialog.locator("[data-detail='undo']").click()
    tablet.wait_for_function(
        "() => /Undone/.test(document.querySelector('[data-detail-message]')?.textContent)", timeout=10_000
    )
    assert tablet.locator("dialog[data-confirm]").count() == 0
    assert _trail(server, visit)[-1][0] == "undo"


def test_a_patient_of_a_provider_the_clinic_file_no_longer_has_has_a_lane_and_is_moved_to_one_it_has(
    tmp_path: Path, screens: Screens
) -> None:
    """Today's log books Lena Park with Dr. Lee, and she has arrived; then the clinic file lost Dr. Lee and the
    server restarted. The timeline keeps a lane for Dr. Lee while a visit names him, and the manager moves Lena to
    Dr. Kim from it."""
    clinic = demo_clinic()
    with_lee = msgspec.structs.replace(clinic, providers=[*clinic.providers, Provider("lee", "Dr. Sam Lee", "SL")])
    floor = Floor(with_lee, TODAY, ids=Ids.seeded("lee"))
    events = []

    def tap(command, hour: int, minute: int) -> str:
        events.append(floor.decide(command, Tap("desk", "t1", with_lee.local(TODAY, dt.time(hour, minute)))))
        floor.apply(events[-1])
        return events[-1].change.visit

    visit = tap(BookVisit("Lena Park", "lee", "follow", with_lee.local(TODAY, dt.time(7, 45))), 7, 0)
    tap(TakeStep(visit, Stage.arrived), 7, 40)

    async def today(log: EmbeddedLog) -> None:
        await log.append_all(clinic.id, [Record(e) for e in events])

    with serving(tmp_path, today) as server:
        console = screens.open(f"{server.url}/manager.html", width=1280, height=900)
        sign_in_page(console, PEOPLE[Role.manager][0], PIN, device="office")
        lee = console.locator("#timeline [data-provider='lee']")
        lee.locator(f"g.visit[data-visit='{visit}']").wait_for(timeout=10_000)
        assert "(taken out)" in lee.locator(".lane-name").text_content()
        lee.locator(f"g.visit[data-visit='{visit}']").click()
        console.get_by_label("Move to another provider").select_option("kim")
        console.locator(f"#visit-detail form[data-move-visit='{visit}']").get_by_role("button", name="Move").click()
        console.locator(f"#timeline [data-provider='kim'] g.visit[data-visit='{visit}']").wait_for(timeout=10_000)
        assert console.locator("#timeline [data-provider='lee']").count() == 0  # nobody names him now


def test_an_assistant_who_rooms_a_patient_moved_meanwhile_is_told_of_the_move_not_of_an_undo(
    server: ServerProcess, screens: Screens
) -> None:
    visit = _here(server, "Ines Mora", roomed=False)
    tablet = screens.open(f"{server.url}/")
    passing = _hold_feed(tablet)
    sign_in_page(tablet, PEOPLE[Role.medical_assistant][0], PIN)
    tablet.locator(f"[data-visit='{visit}'][data-stage='arrived']").wait_for(timeout=10_000)
    passing["on"] = False  # this tablet's feed is held back: it still shows the patient with Dr. Kim
    desk = server.signed_in(Role.front_desk)
    moved = httpx.post(
        f"{server.url}{API}/visits/{visit}/events",
        headers=desk,
        timeout=10,
        json={"type": "move", "provider": "okafor"},
    )
    assert moved.status_code == 201, moved.text
    _room_on_tablet(tablet, visit, "e1")
    note = tablet.locator(f"[data-visit='{visit}'] [data-conflict]")
    note.wait_for(timeout=10_000)
    assert "moved to Dr. Daniel Okafor" in note.inner_text(), note.inner_text()
    assert "undone" not in note.inner_text()


def test_the_manager_moves_a_waiting_patient_from_dr_kims_cascade_alert(tmp_path: Path, screens: Screens) -> None:
    """Dr. Kim's first two patients wait, nobody rooms them: at 8:31 her cascade is up, naming them. From the
    alert, the manager opens one and sends them to Dr. Okafor; the alert no longer names them."""
    clock = ManualClock(clinic_time("07:45"))
    floors = test_floors(tmp_path, clock=clock, tick_seconds=3600)
    with ManualClockServer(floors) as server:
        for role in (Role.front_desk, Role.manager):
            person, name = PEOPLE[role]
            server.run(floors.sessions.add_staff(person, name, role, PIN, "test"))
        desk = _headers(server, Role.front_desk)
        visits = _book_kims_day(server, desk)
        for visit, start in zip(visits[:2], BOOKED[:2], strict=True):
            clock.set(clinic_time(start))
            tapped = httpx.post(
                f"{server.url}{API}/visits/{visit['id']}/events", headers=desk, json={"type": "arrived"}
            )
            assert tapped.status_code == 201, tapped.text
        clock.set(clinic_time("08:31"))
        server.tick()
        console = screens.open(f"{server.url}/manager.html", width=1280, height=900)
        sign_in_page(console, PEOPLE[Role.manager][0], PIN, device="office")
        alert = console.locator("#alerts li.alert-cascade[data-state='active']")
        first = visits[0]["id"]
        move = alert.locator(f"[data-move-from='{first}']")
        move.wait_for(timeout=10_000)
        assert "Pat Number0" in move.inner_text()
        assert serious_violations(console) == []
        move.click()
        detail = console.locator(f"#visit-detail form[data-move-visit='{first}']")
        detail.wait_for(timeout=10_000)
        assert console.evaluate("() => document.activeElement?.id") == "move-provider"
        # Closed, the detail gives the focus back to the alert's button that opened it; opened again, on we go.
        console.locator("#visit-detail-close").click()
        assert console.evaluate("() => document.activeElement?.dataset.moveFrom") == first
        move.click()
        detail.wait_for(timeout=10_000)
        console.get_by_label("Move to another provider").select_option("okafor")
        detail.get_by_role("button", name="Move").click()
        console.wait_for_function(
            "() => /moved to Dr\\. Daniel Okafor/.test(document.querySelector('#move-message')?.textContent)",
            timeout=10_000,
        )
        # A patient not yet come, booked on the floor: booked with Dr. Okafor instead, from the alert too.
        later = visits[2]["id"]
        alert.locator(f"[data-move-from='{later}']").click()
        console.locator(f"#visit-detail form[data-move-visit='{later}']").wait_for(timeout=10_000)
        console.get_by_label("Move to another provider").select_option("okafor")
        console.locator(f"#visit-detail form[data-move-visit='{later}']").get_by_role("button", name="Move").click()
        console.locator(f"#timeline [data-provider='okafor'] [data-visit='{later}']").first.wait_for(timeout=10_000)
        manager = _headers(server, Role.manager)
        history = httpx.get(f"{server.url}{API}/visits/{later}", headers=manager).json()
        assert history["events"][-1]["change"]["type"] == "visit_rescheduled"
        server.tick()  # the review after the moves
        console.wait_for_function(
            "(id) => !document.querySelector(`#alerts li.alert-cascade[data-state='active'] [data-move-from='${id}']`)"
            " && !/Pat Number0/.test(document.querySelector('#alerts li.alert-cascade[data-state=active]')"
            "?.textContent || '')",
            arg=first,
            timeout=10_000,
        )


def test_the_desk_checking_in_a_patient_booked_with_another_provider_meanwhile_is_told_with_whom(
    server: ServerProcess, screens: Screens
) -> None:
    desk = server.signed_in(Role.front_desk)
    booked = httpx.post(
        f"{server.url}{API}/visits",
        headers=desk,
        timeout=10,
        json={"patient_name": "Tomas Lind", "provider": "kim", "visit_type": "follow", "start": "2026-11-23T09:00:00"},
    )
    assert booked.status_code == 201, booked.text
    visit = booked.json()["visit"]["id"]
    tablet = screens.open(f"{server.url}/")
    passing = _hold_feed(tablet)
    sign_in_page(tablet, PEOPLE[Role.front_desk][0], PIN)
    card = tablet.locator(f"[data-list='desk-arrivals'] [data-visit='{visit}']")
    card.wait_for(timeout=10_000)
    passing["on"] = False  # this tablet has not heard: the manager books the visit with Dr. Okafor instead
    manager = server.signed_in(Role.manager)
    body = {"type": "move", "provider": "okafor"}
    moved = httpx.post(f"{server.url}{API}/visits/{visit}/events", headers=manager, timeout=10, json=body)
    assert moved.status_code == 201 and moved.json()["event"]["change"]["type"] == "visit_rescheduled", moved.text
    card.locator("[data-step='arrived']").click()
    note = tablet.locator(f"[data-visit='{visit}'] [data-conflict]")
    note.wait_for(timeout=10_000)
    assert "moved to Dr. Daniel Okafor" in note.inner_text(), note.inner_text()
