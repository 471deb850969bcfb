"""A manager sets the clinic's rooms in the console (Rooms: add a room, change its label or zone, take it out), in a
real browser against a real server: a hallway wall of the room's zone shows the new room, its new label, and then
no more of it, without a reload. Providers, visit types (a tablet's walk-in form follows) and alert thresholds the
same way. Every state of the console passes axe with no serious or critical violation, and
the forms are used from the keyboard."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, book_visit, pair_wall, serious_violations, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

API = f"/api/clinics/{CLINIC}"


def _message(page: Page, form: str) -> str:
    page.wait_for_function(
        "(id) => { const box = document.querySelector(`#${id} [data-form-message]`);"
        " return !box.hidden && box.textContent; }",
        arg=form,
        timeout=10_000,
    )
    return page.locator(f"#{form} [data-form-message]").inner_text()


def test_a_manager_adds_renames_and_takes_out_a_room_and_the_zone_s_wall_follows_without_a_reload(
    server: ServerProcess, screens: Screens
) -> None:
    manager = server.signed_in(Role.manager)
    wall = screens.open(f"{server.url}/board.html", width=1920, height=1080)
    pair_wall(wall, server, manager, zone="east")
    wall.wait_for_selector(".tile[data-room='e1']", timeout=10_000)
    wall.evaluate("() => { window.notReloaded = true; }")

    page = screens.open(f"{server.url}/manager.html", width=1280, height=900)
    sign_in_page(page, PEOPLE[Role.manager][0], PIN, device="manager-office")
    page.wait_for_selector("#conn[data-mode='live']", timeout=15_000)
    page.wait_for_selector("#rooms-table tr[data-room='e1']", timeout=10_000)
    assert serious_violations(page) == []

    # A zone a clinic file could not have: refused on the Zone field, nothing stored.
    add = page.locator("#room-add")
    add.get_by_label("Id").fill("e6")
    add.get_by_label("Label").fill("East 6")
    add.get_by_label("Zone").fill("East Wing")
    add.get_by_label("Zone").press("Enter")
    said = _message(page, "room-add")
    assert said.startswith("Zone:") and "lowercase letters" in said, said
    assert page.get_attribute("#room-add-zone", "aria-invalid") == "true"
    assert serious_violations(page) == []

    # Added from the keyboard: in the console's list and on the east wall, ready.
    add.get_by_label("Zone").fill("east")
    add.get_by_label("Zone").press("Enter")
    assert "East 6 is added in zone east, ready." in _message(page, "room-add")
    page.wait_for_selector("#rooms-table tr[data-room='e6'][data-state='ready']", timeout=10_000)
    tile = wall.locator(".tile[data-room='e6']")
    tile.wait_for(timeout=10_000)
    assert "East 6" in tile.inner_text()
    # The console says the rooms now differ from the clinic file's, and offers the file's back.
    page.wait_for_selector("#rooms-file:not([hidden])", timeout=10_000)
    assert page.get_by_role("button", name="Use the clinic file’s rooms").is_visible()
    assert serious_violations(page) == []

    # Its label changed: the wall shows the new one.
    edit = page.locator("#room-edit")
    edit.get_by_label("Room", exact=True).select_option("e6")
    assert edit.get_by_label("Label").input_value() == "East 6"
    edit.get_by_label("Label").fill("East Six")
    edit.get_by_label("Label").press("Enter")
    assert "East Six (zone east) is saved." in _message(page, "room-edit")
    wall.wait_for_function(
        "() => document.querySelector(\".tile[data-room='e6']\")?.textContent.includes('East Six')", timeout=10_000
    )
    audit = httpx.get(f"{server.url}/api/staff/{PEOPLE[Role.manager][0]}/audit", headers=manager, timeout=10).json()
    assert [e["changes"] for e in audit["entries"]] == [
        ["Added room East 6 in zone east"],
        ["Renamed room East 6 to East Six"],
    ]

    # Taken out, once confirmed: gone from the console and the wall.
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Take East Six out of the clinic").click()
    page.wait_for_selector("#rooms-table tr[data-room='e6']", state="detached", timeout=10_000)
    wall.locator(".tile[data-room='e6']").wait_for(state="detached", timeout=10_000)
    # The live feed can take the row away before the answer to the PUT comes back and the console says so.
    page.locator("#rooms-message", has_text="East Six is taken out of the clinic.").wait_for(timeout=10_000)
    page.wait_for_selector("#rooms-file", state="hidden", timeout=10_000)
    assert serious_violations(page) == []
    assert wall.evaluate("() => window.notReloaded") is True, "the wall was reloaded"
    # The manager's own trail says it in words.
    page.locator("#audit-person").get_by_label("Staff member", exact=True).fill(PEOPLE[Role.manager][0])
    page.click("#audit-person button[type=submit]")
    page.wait_for_function("() => document.querySelector('#audit-table caption')?.textContent.startsWith('Everything')")
    trail = page.locator("#audit-table").inner_text()
    assert "Set-up changed: Added room East 6 in zone east" in trail and "Renamed room East 6 to East Six" in trail
    assert serious_violations(page) == []
    board = httpx.get(f"{server.url}{API}/board", headers=manager, timeout=10).json()
    assert "e6" not in {r["id"] for r in board["rooms"]} and board["file_rooms"] is None


def test_a_manager_adds_renames_and_takes_out_a_provider_and_the_wall_follows_without_a_reload(
    server: ServerProcess, screens: Screens
) -> None:
    manager = server.signed_in(Role.manager)
    wall = screens.open(f"{server.url}/board.html", width=1920, height=1080)
    pair_wall(wall, server, manager)
    wall.wait_for_selector("tr.prov[data-provider='JK']", timeout=10_000)
    wall.evaluate("() => { window.notReloaded = true; }")

    page = screens.open(f"{server.url}/manager.html", width=1280, height=900)
    sign_in_page(page, PEOPLE[Role.manager][0], PIN, device="manager-office")
    page.wait_for_selector("#conn[data-mode='live']", timeout=15_000)
    page.wait_for_selector("#providers-table tr[data-provider='kim']", timeout=10_000)

    add = page.locator("#provider-add")
    add.get_by_label("Id").fill("patel")
    add.get_by_label("Name").fill("Dr. Ravi Patel")
    add.get_by_label("Initials").fill("JK")  # Dr. Kim's: the walls could not tell them apart
    add.get_by_label("Initials").press("Enter")
    said = _message(page, "provider-add")
    assert said.startswith("Initials:") and "is also provider kim's" in said, said
    assert page.get_attribute("#provider-add-initials", "aria-invalid") == "true"
    assert serious_violations(page) == []
    add.get_by_label("Initials").fill("RP")
    add.get_by_label("Initials").press("Enter")
    assert "Dr. Ravi Patel (RP) is added: bookable now." in _message(page, "provider-add")
    wall.wait_for_selector("tr.prov[data-provider='RP']", timeout=10_000)
    page.wait_for_selector("#providers-file:not([hidden])", timeout=10_000)
    assert serious_violations(page) == []

    edit = page.locator("#provider-edit")
    edit.get_by_label("Provider", exact=True).select_option("patel")
    edit.get_by_label("Initials").fill("RVP")
    edit.get_by_label("Initials").press("Enter")
    assert "Dr. Ravi Patel (RVP) is saved." in _message(page, "provider-edit")
    wall.wait_for_selector("tr.prov[data-provider='RVP']", timeout=10_000)
    assert wall.locator("tr.prov[data-provider='RP']").count() == 0

    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Take Dr. Ravi Patel out of the clinic").click()
    page.wait_for_selector("#providers-table tr[data-provider='patel']", state="detached", timeout=10_000)
    wall.locator("tr.prov[data-provider='RVP']").wait_for(state="detached", timeout=10_000)
    page.wait_for_selector("#providers-file", state="hidden", timeout=10_000)
    assert serious_violations(page) == []
    assert wall.evaluate("() => window.notReloaded") is True, "the wall was reloaded"


def test_a_provider_taken_out_in_the_console_keeps_a_lane_that_says_taken_out_not_not_in_file(
    server: ServerProcess, screens: Screens
) -> None:
    """Their lane said "(not in file)", as for a provider a changed clinic file no longer has: with providers set
    from the browser no file was changed, so the words were wrong; "(taken out)" is true of both."""
    server.signed_in(Role.manager)  # the manager's account
    desk = server.signed_in(Role.front_desk)
    seen = book_visit(server, desk, "Ann Lee", provider="hart")
    left = httpx.post(
        f"{server.url}{API}/visits/{seen['id']}/events",
        headers=desk,
        json={"type": "left_without_being_seen"},
        timeout=10,
    )
    assert left.status_code == 201, left.text

    page = screens.open(f"{server.url}/manager.html", width=1280, height=900)
    sign_in_page(page, PEOPLE[Role.manager][0], PIN, device="manager-office")
    page.wait_for_selector("#timeline g.lane[data-provider='hart']", timeout=15_000)
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Take Dr. Aaron Hart out of the clinic").click()
    page.wait_for_selector("#providers-table tr[data-provider='hart']", state="detached", timeout=10_000)
    page.wait_for_function(
        "() => document.querySelector(\"#timeline g.lane[data-provider='hart'] .lane-name\")?.textContent"
        " === 'hart (taken out)'",
        timeout=10_000,
    )


def test_a_manager_adds_changes_and_takes_out_a_visit_type_and_a_tablet_follows_without_a_reload(
    server: ServerProcess, screens: Screens
) -> None:
    manager = server.signed_in(Role.manager)
    server.signed_in(Role.front_desk)  # the desk's account
    tablet = screens.open(f"{server.url}/", width=768, height=1024)
    sign_in_page(tablet, PEOPLE[Role.front_desk][0], PIN)
    tablet.wait_for_selector("#walkin-type option[value='follow']", state="attached", timeout=10_000)
    tablet.evaluate("() => { window.notReloaded = true; }")

    page = screens.open(f"{server.url}/manager.html", width=1280, height=900)
    sign_in_page(page, PEOPLE[Role.manager][0], PIN, device="manager-office")
    page.wait_for_selector("#conn[data-mode='live']", timeout=15_000)
    page.wait_for_selector("#visit-types-table tr[data-visit-type='follow']", timeout=10_000)
    assert serious_violations(page) == []

    # No minutes with the provider: a clinic file could not have it; refused on that field, nothing stored.
    add = page.locator("#visit-type-add")
    add.get_by_label("Code").fill("tele")
    add.get_by_label("Label").fill("Telehealth")
    for label, minutes in (("Slot", "15"), ("Waiting to be roomed", "0"), ("Rooming to prep", "0")):
        add.get_by_label(label, exact=True).fill(minutes)
    for label, minutes in (("Prep to provider", "2"), ("With the provider", "0"), ("Teach-back to checkout", "2")):
        add.get_by_label(label, exact=True).fill(minutes)
    add.get_by_label("With the provider").press("Enter")
    said = _message(page, "visit-type-add")
    assert said.startswith("With the provider:") and "1 to 600 minutes" in said, said
    assert page.get_attribute("#visit-type-add-provider_in", "aria-invalid") == "true"
    assert serious_violations(page) == []

    # Added from the keyboard: in the console's list, and bookable on the tablet at once.
    add.get_by_label("With the provider").fill("10")
    add.get_by_label("With the provider").press("Enter")
    assert "Telehealth is added: bookable now." in _message(page, "visit-type-add")
    page.wait_for_selector("#visit-types-table tr[data-visit-type='tele']", timeout=10_000)
    tablet.wait_for_selector("#walkin-type option[value='tele']", state="attached", timeout=10_000)
    page.wait_for_selector("#visit-types-file:not([hidden])", timeout=10_000)
    assert page.get_by_role("button", name="Use the clinic file’s visit types").is_visible()
    assert serious_violations(page) == []

    # Follow-ups take longer with the provider: saved, and the table and the board say so.
    edit = page.locator("#visit-type-edit")
    edit.get_by_label("Visit type", exact=True).select_option("follow")
    assert edit.get_by_label("With the provider").input_value() == "12"
    edit.get_by_label("With the provider").fill("30")
    edit.get_by_label("With the provider").press("Enter")
    assert "Follow-up is saved" in _message(page, "visit-type-edit")
    page.locator("#visit-types-table tr[data-visit-type='follow'] td", has_text="30").wait_for(timeout=10_000)
    board = httpx.get(f"{server.url}{API}/board", headers=manager, timeout=10).json()
    follow = next(t for t in board["visit_types"] if t["code"] == "follow")
    assert follow["stage_minutes"]["provider_in"] == 30

    # Taken out, once confirmed: gone from the console and the tablet's walk-in form.
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Take Telehealth out of the clinic").click()
    page.wait_for_selector("#visit-types-table tr[data-visit-type='tele']", state="detached", timeout=10_000)
    page.locator("#visit-types-message", has_text="Telehealth is taken out of the clinic.").wait_for(timeout=10_000)
    tablet.wait_for_selector("#walkin-type option[value='tele']", state="detached", timeout=10_000)
    assert serious_violations(page) == []

    # The clinic file's back: the file's minutes, and the console no longer says they differ.
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Use the clinic file’s visit types").click()
    page.wait_for_selector("#visit-types-file", state="hidden", timeout=10_000)
    page.locator("#visit-types-table tr[data-visit-type='follow'] td", has_text="12").wait_for(timeout=10_000)
    assert tablet.evaluate("() => window.notReloaded") is True, "the tablet was reloaded"
    audit = httpx.get(f"{server.url}/api/staff/{PEOPLE[Role.manager][0]}/audit", headers=manager, timeout=10).json()
    assert [e["changes"][0] for e in audit["entries"]] == [
        "Added visit type Telehealth (tele): slot 15, waiting to be roomed 0, rooming to prep 0, prep to provider 2, "
        "with the provider 10, teach-back to checkout 2 minutes",
        "Changed Follow-up's minutes: with the provider from 12 to 30",
        "Took out visit type Telehealth (tele)",
        "Changed Follow-up's minutes: with the provider from 30 to 12",
    ]
    assert serious_violations(page) == []


def test_a_manager_sets_the_alert_thresholds_and_takes_the_file_s_back(server: ServerProcess, screens: Screens) -> None:
    manager = server.signed_in(Role.manager)
    page = screens.open(f"{server.url}/manager.html", width=1280, height=900)
    sign_in_page(page, PEOPLE[Role.manager][0], PIN, device="manager-office")
    page.wait_for_selector("#conn[data-mode='live']", timeout=15_000)
    form = page.locator("#thresholds-form")
    page.wait_for_function("() => document.querySelector('#thresholds-turnover').value !== ''", timeout=10_000)
    file = httpx.get(f"{server.url}{API}/board", headers=manager, timeout=10).json()["thresholds"]
    assert form.get_by_label("Waiting to be roomed").input_value() == str(file["waiting_to_be_roomed"])
    assert serious_violations(page) == []

    # A cascade of no visits: a clinic file could not have it; refused on that field, nothing stored.
    form.get_by_label("Cascade: visits late").fill("0")
    form.get_by_label("Cascade: visits late").press("Enter")
    said = _message(page, "thresholds-form")
    assert said.startswith("Cascade: visits late:") and "1 to 50 visits" in said, said
    assert page.get_attribute("#thresholds-cascade_visits", "aria-invalid") == "true"
    assert serious_violations(page) == []

    # Patients may wait 10 minutes to be roomed: saved from the keyboard, on the board, and the file's offered back.
    form.get_by_label("Cascade: visits late").fill(str(file["cascade_visits"]))
    form.get_by_label("Waiting to be roomed").fill("10")
    form.get_by_label("Waiting to be roomed").press("Enter")
    assert "The thresholds are saved" in _message(page, "thresholds-form")
    page.wait_for_selector("#thresholds-file:not([hidden])", timeout=10_000)
    board = httpx.get(f"{server.url}{API}/board", headers=manager, timeout=10).json()
    assert board["thresholds"] == {**file, "waiting_to_be_roomed": 10} and board["file_thresholds"] == file
    assert serious_violations(page) == []

    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Use the clinic file’s thresholds").click()
    page.wait_for_selector("#thresholds-file", state="hidden", timeout=10_000)
    page.wait_for_function(
        "(v) => document.querySelector('#thresholds-waiting_to_be_roomed').value === v",
        arg=str(file["waiting_to_be_roomed"]),
        timeout=10_000,
    )
    assert httpx.get(f"{server.url}{API}/board", headers=manager, timeout=10).json()["thresholds"] == file
    assert serious_violations(page) == []


def test_a_form_being_filled_while_another_manager_saves_is_refused_as_stale_not_saved_over_their_change(
    server: ServerProcess, screens: Screens
) -> None:
    """A manager typing in the Alert thresholds or a visit type's minutes while another manager saves theirs: the
    feed redraws, and the save went with the set-up version then, undoing the other's change unseen (their turnover
    of 20 minutes back to the one this form was filled with). Each form is sent with the version it was filled at:
    refused, said, and filled again with the set-up now."""
    manager = server.signed_in(Role.manager)
    page = screens.open(f"{server.url}/manager.html", width=1280, height=900)
    sign_in_page(page, PEOPLE[Role.manager][0], PIN, device="manager-office")
    page.wait_for_selector("#conn[data-mode='live']", timeout=15_000)
    page.wait_for_function("() => document.querySelector('#thresholds-turnover').value !== ''", timeout=10_000)
    page.wait_for_selector("#visit-types-table tr[data-visit-type='follow']", timeout=10_000)

    def board() -> dict:
        return httpx.get(f"{server.url}{API}/board", headers=manager, timeout=10).json()

    # The thresholds: this page's manager types a turnover of 15 and the cascade's minutes; another saves a turnover
    # of 20 meanwhile (the feed redrew the turnover, no longer focused: 15 was gone unseen, and 25 saved beside 20).
    form = page.locator("#thresholds-form")
    form.get_by_label("Turnover").fill("15")
    form.get_by_label("Cascade: minutes late").fill("25")
    now = board()
    other = {**now["thresholds"], "turnover": 20}
    put = httpx.put(
        f"{server.url}{API}/thresholds",
        json={"version": now["setup_version"], "thresholds": other},
        headers=manager,
        timeout=10,
    )
    assert put.status_code == 201, put.text
    page.locator("#thresholds-file:not([hidden])").wait_for(timeout=10_000)
    form.get_by_label("Cascade: minutes late").press("Enter")
    said = _message(page, "thresholds-form")
    assert "changed first" in said, said
    assert board()["thresholds"] == other
    page.wait_for_function("() => document.querySelector('#thresholds-turnover').value === '20'", timeout=10_000)

    # A visit type: follow-ups' label being changed here while another manager gives them 30 minutes with the provider.
    edit = page.locator("#visit-type-edit")
    edit.get_by_label("Visit type", exact=True).select_option("follow")
    assert edit.get_by_label("With the provider").input_value() == "12"
    edit.get_by_label("Label").fill("Follow-up visit")
    now = board()
    longer = [
        {**t, "stage_minutes": {**t["stage_minutes"], "provider_in": 30}} if t["code"] == "follow" else t
        for t in now["visit_types"]
    ]
    put = httpx.put(
        f"{server.url}{API}/visit-types",
        json={"version": now["setup_version"], "visit_types": longer},
        headers=manager,
        timeout=10,
    )
    assert put.status_code == 201, put.text
    page.locator("#visit-types-table tr[data-visit-type='follow'] td", has_text="30").wait_for(timeout=10_000)
    edit.get_by_label("Label").press("Enter")
    said = _message(page, "visit-type-edit")
    assert "changed first" in said, said
    assert board()["visit_types"] == longer
    page.wait_for_function(
        "() => document.querySelector('#visit-type-edit-provider_in').value === '30'", timeout=10_000
    )
    assert serious_violations(page) == []


def test_a_room_or_provider_being_changed_while_another_manager_saves_is_refused_as_stale(
    server: ServerProcess, screens: Screens
) -> None:
    """The Rooms and Providers Change forms as the visit types': a room's label typed here while another manager moves
    the room to another zone went with the version now and put the room back in its zone, unseen; refused now, and
    the form filled with the room as it is."""
    manager = server.signed_in(Role.manager)
    page = screens.open(f"{server.url}/manager.html", width=1280, height=900)
    sign_in_page(page, PEOPLE[Role.manager][0], PIN, device="manager-office")
    page.wait_for_selector("#conn[data-mode='live']", timeout=15_000)

    def board() -> dict:
        return httpx.get(f"{server.url}{API}/board", headers=manager, timeout=10).json()

    now = board()
    room = now["rooms"][0]
    edit = page.locator("#room-edit")
    page.wait_for_function(
        "(id) => [...document.querySelectorAll('#room-edit-room option')].some((o) => o.value === id)",
        arg=room["id"],
        timeout=10_000,
    )
    edit.get_by_label("Room", exact=True).select_option(room["id"])
    edit.get_by_label("Label").fill("Exam Twelve")
    moved = [{**r, "zone": "far"} if r["id"] == room["id"] else r for r in now["rooms"]]
    moved = [{"id": r["id"], "label": r["label"], "zone": r["zone"]} for r in moved]
    put = httpx.put(
        f"{server.url}{API}/rooms", json={"version": now["setup_version"], "rooms": moved}, headers=manager, timeout=10
    )
    assert put.status_code == 201, put.text
    page.wait_for_selector("#rooms-file:not([hidden])", timeout=10_000)
    edit.get_by_label("Label").press("Enter")
    said = _message(page, "room-edit")
    assert "changed first" in said, said
    assert next(r for r in board()["rooms"] if r["id"] == room["id"])["zone"] == "far"
    page.wait_for_function("() => document.querySelector('#room-edit-zone').value === 'far'", timeout=10_000)

    # A provider's initials typed here while another manager renames them: refused, the new name kept.
    now = board()
    provider = now["providers"][0]
    edit = page.locator("#provider-edit")
    edit.get_by_label("Provider", exact=True).select_option(provider["id"])
    edit.get_by_label("Initials").fill("ZZ")
    renamed = [
        {"id": p["id"], "name": "Dr. Renamed" if p["id"] == provider["id"] else p["name"], "initials": p["initials"]}
        for p in now["providers"]
    ]
    put = httpx.put(
        f"{server.url}{API}/providers",
        json={"version": now["setup_version"], "providers": renamed},
        headers=manager,
        timeout=10,
    )
    assert put.status_code == 201, put.text
    page.wait_for_selector("#providers-file:not([hidden])", timeout=10_000)
    edit.get_by_label("Initials").press("Enter")
    said = _message(page, "provider-edit")
    assert "changed first" in said, said
    assert next(p for p in board()["providers"] if p["id"] == provider["id"])["name"] == "Dr. Renamed"
    page.wait_for_function(
        "() => document.querySelector('#provider-edit-name').value === 'Dr. Renamed'", timeout=10_000
    )
    assert serious_violations(page) == []


def test_a_room_added_just_after_another_managers_change_is_said_changed_first_without_a_field_path(
    server: ServerProcess, screens: Screens
) -> None:
    """Another manager's change lands just before this page's Add: refused as stale, and said in words, not prefixed
    with the API's own name for the version ('expected_version: The clinic's set-up changed first ...')."""
    manager = server.signed_in(Role.manager)
    page = screens.open(f"{server.url}/manager.html", width=1280, height=900)
    sign_in_page(page, PEOPLE[Role.manager][0], PIN, device="manager-office")
    page.wait_for_selector("#conn[data-mode='live']", timeout=15_000)
    page.wait_for_selector("#room-edit-room option", state="attached", timeout=10_000)

    def another_manager_first(route) -> None:
        if route.request.method == "PUT":
            now = httpx.get(f"{server.url}{API}/board", headers=manager, timeout=10).json()
            rooms = [{"id": r["id"], "label": r["label"], "zone": r["zone"]} for r in now["rooms"]]
            rooms.append({"id": "w9", "label": "West Nine", "zone": rooms[0]["zone"]})
            answer = httpx.put(
                f"{server.url}{API}/rooms",
                json={"version": now["setup_version"], "rooms": rooms},
                headers=manager,
                timeout=10,
            )
            assert answer.status_code == 201, answer.text
        route.continue_()

    page.route(f"**{API}/rooms", another_manager_first)
    add = page.locator("#room-add")
    add.get_by_label("Id").fill("e9")
    add.get_by_label("Label").fill("East Nine")
    add.get_by_label("Zone").fill("east")
    add.get_by_label("Zone").press("Enter")
    said = _message(page, "room-add")
    assert said.startswith("The clinic's set-up changed first"), said
    assert "expected_version" not in said, said


def test_the_file_s_thresholds_taken_back_fill_the_form_over_what_was_typed(
    server: ServerProcess, screens: Screens
) -> None:
    """A manager who typed in the Alert thresholds form and then takes the clinic file's back sees the file's in the
    form, not what they had typed (kept as typed, it would read as saved)."""
    manager = server.signed_in(Role.manager)
    now = httpx.get(f"{server.url}{API}/board", headers=manager, timeout=10).json()
    file = now["thresholds"]
    put = httpx.put(
        f"{server.url}{API}/thresholds",
        json={"version": now["setup_version"], "thresholds": {**file, "turnover": file["turnover"] % 600 + 1}},
        headers=manager,
        timeout=10,
    )
    assert put.status_code == 201, put.text
    page = screens.open(f"{server.url}/manager.html", width=1280, height=900)
    sign_in_page(page, PEOPLE[Role.manager][0], PIN, device="manager-office")
    page.wait_for_selector("#conn[data-mode='live']", timeout=15_000)
    page.wait_for_selector("#thresholds-file:not([hidden])", timeout=10_000)
    page.locator("#thresholds-form").get_by_label("Waiting to be roomed").fill("44")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Use the clinic file’s thresholds").click()
    page.wait_for_selector("#thresholds-file", state="hidden", timeout=10_000)
    page.wait_for_function(
        "(v) => document.querySelector('#thresholds-waiting_to_be_roomed').value === v",
        arg=str(file["waiting_to_be_roomed"]),
        timeout=10_000,
    )
    assert page.input_value("#thresholds-turnover") == str(file["turnover"])


def test_the_file_s_rooms_and_visit_types_taken_back_fill_the_change_forms_over_what_was_typed(
    server: ServerProcess, screens: Screens
) -> None:
    """As the thresholds': a manager who typed in the Rooms or Visit types Change form and then takes the clinic file's
    back sees the file's in the form (kept as typed, it read as the room's label now, and a save went refused)."""
    manager = server.signed_in(Role.manager)
    now = httpx.get(f"{server.url}{API}/board", headers=manager, timeout=10).json()
    room = {k: now["rooms"][0][k] for k in ("id", "label", "zone")}
    rooms = [{k: r[k] for k in ("id", "label", "zone")} for r in now["rooms"]]
    put = httpx.put(
        f"{server.url}{API}/rooms",
        json={"version": now["setup_version"], "rooms": [*rooms, {"id": "n1", "label": "North 1", "zone": "north"}]},
        headers=manager,
        timeout=10,
    )
    assert put.status_code == 201, put.text
    follow = next(t for t in now["visit_types"] if t["code"] == "follow")
    longer = [{**t, "slot_minutes": 45} if t["code"] == "follow" else t for t in now["visit_types"]]
    put = httpx.put(
        f"{server.url}{API}/visit-types",
        json={"version": put.json()["setup_version"], "visit_types": longer},
        headers=manager,
        timeout=10,
    )
    assert put.status_code == 201, put.text
    page = screens.open(f"{server.url}/manager.html", width=1280, height=900)
    sign_in_page(page, PEOPLE[Role.manager][0], PIN, device="manager-office")
    page.wait_for_selector("#visit-types-file:not([hidden])", timeout=15_000)
    page.locator("#room-edit").get_by_label("Room", exact=True).select_option(room["id"])
    page.locator("#room-edit").get_by_label("Label").fill("Typed here")
    types = page.locator("#visit-type-edit")
    types.get_by_label("Visit type", exact=True).select_option("follow")
    types.get_by_label("Slot", exact=True).fill("50")
    for name in ("rooms", "visit types"):
        page.once("dialog", lambda d: d.accept())
        page.get_by_role("button", name=f"Use the clinic file’s {name}").click()
        page.wait_for_selector(f"#{name.replace(' ', '-')}-file", state="hidden", timeout=10_000)
    page.wait_for_function(
        "([label, slot]) => document.querySelector('#room-edit-label').value === label"
        " && document.querySelector('#visit-type-edit-slot_minutes').value === slot",
        arg=[room["label"], str(follow["slot_minutes"])],
        timeout=10_000,
    )
