"""The manager's console in a real browser, against a real server: a manager adds a staff member, unlocks an
account, pairs and revokes a wall display, blocks a room with a reason, imports the day's schedule (a file
with a bad line is refused, every bad line shown and nothing stored; then a good one), reads a visit's audit
trail and downloads the exports. Every state of the page passes axe with no serious or critical violation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from floor.core.access import Role
from tests.browser.conftest import CLINIC, Screens, pair_wall, serious_violations, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

DATA = Path(__file__).resolve().parent.parent / "data"
MANAGER = PEOPLE[Role.manager][0]
DAY = "2026-11-23"  # the servers' clinic day (tests/server/conftest.py: CLINIC_MORNING)
API = f"/api/clinics/{CLINIC}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the module (starting one and adding its manager takes seconds): each test uses its own
    staff, room, visit and day, so they do not depend on one another or on their order."""
    tmp_path = tmp_path_factory.mktemp("console")
    proc = ServerProcess(tmp_path / "data", tmp_path / "server.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def _console(server: ServerProcess, screens: Screens) -> tuple[Page, dict[str, str]]:
    """The manager page, signed in as the test manager, with the live floor shown; and the manager's headers."""
    headers = server.signed_in(Role.manager)  # added once per server
    page = screens.open(f"{server.url}/manager.html", width=1280, height=900)
    sign_in_page(page, MANAGER, PIN, device="manager-office")
    page.wait_for_selector("#conn[data-mode='live']", timeout=15_000)
    page.wait_for_selector(f"#staff-table tr[data-staff='{MANAGER}']", timeout=10_000)
    page.wait_for_selector("#rooms-table tr[data-room='e1']", timeout=10_000)
    return page, headers


def _refused_where(server: ServerProcess, headers: dict[str, str], name: str, content_type: str) -> set[str]:
    """Where the server's check of tests/data/`name` as the day's schedule finds a problem ("line 3", ...)."""
    answer = httpx.post(
        f"{server.url}{API}/schedule?date={DAY}&check=true",
        timeout=10,
        content=(DATA / name).read_bytes(),
        headers={**headers, "Content-Type": content_type},
    )
    return {e["where"] for e in answer.json()["errors"]}


def _message(page: Page, form: str) -> str:
    """What the form says once it has an answer (not while it says it is working on it)."""
    page.wait_for_function(
        "(id) => { const box = document.querySelector(`#${id} [data-form-message]`);"
        " return !box.hidden && box.textContent && !box.textContent.endsWith('…'); }",
        arg=form,
        timeout=10_000,
    )
    return page.locator(f"#{form} [data-form-message]").inner_text()


def test_a_manager_adds_a_staff_member_who_can_then_sign_in(server: ServerProcess, screens: Screens) -> None:
    page, _ = _console(server, screens)
    assert serious_violations(page) == []
    # Submitted empty, the form says which field is missing, in words, and marks it.
    page.click("#staff-add button[type=submit]")
    assert _message(page, "staff-add").startswith("Name:")
    assert page.get_attribute("#staff-add-name", "aria-invalid") == "true"
    # Every control is labelled, so it can be found by its label; Enter submits.
    add = page.locator("#staff-add")
    add.get_by_label("Name", exact=True).fill("Lee Park")
    add.get_by_label("Staff id").fill("lee")
    add.get_by_label("Role").select_option("medical_assistant")
    add.get_by_label("First PIN or password").fill("1357")
    add.get_by_label("First PIN or password").press("Enter")
    assert "Lee Park (lee) is added as medical assistant" in _message(page, "staff-add")
    page.wait_for_selector("#staff-table tr[data-staff='lee']")
    assert "Medical assistant" in page.locator("#staff-table tr[data-staff='lee']").inner_text()
    signed = httpx.post(f"{server.url}/api/sign-in", json={"staff": "lee", "secret": "1357", "device": "t"}, timeout=10)
    assert signed.status_code == 201 and signed.json()["role"] == "medical_assistant"
    # The same id again: refused, naming the field.
    add.get_by_label("Name", exact=True).fill("Lee Again")
    add.get_by_label("Staff id").fill("lee")
    add.get_by_label("First PIN or password").fill("1357")
    page.click("#staff-add button[type=submit]")
    said = _message(page, "staff-add")
    assert said.startswith("Staff id:") and "already" in said, said
    assert page.get_attribute("#staff-add-id", "aria-invalid") == "true"
    assert serious_violations(page) == []


def test_a_manager_adds_a_provider_whose_sign_in_is_linked_to_their_provider_id(
    server: ServerProcess, screens: Screens
) -> None:
    page, headers = _console(server, screens)
    add = page.locator("#staff-add")
    assert add.get_by_label("Provider on the floor").is_hidden()  # only a provider is linked
    add.get_by_label("Role").select_option("provider")
    linked = add.get_by_label("Provider on the floor")
    assert linked.is_visible()
    assert serious_violations(page) == []
    add.get_by_label("Name", exact=True).fill("Jenna Kim")
    add.get_by_label("Staff id").fill("jkim")
    linked.select_option("kim")
    add.get_by_label("First PIN or password").fill("2468")
    page.click("#staff-add button[type=submit]")
    said = _message(page, "staff-add")
    assert "Jenna Kim (jkim) is added as provider" in said and "(kim) on the floor" in said, said
    page.wait_for_selector("#staff-table tr[data-staff='jkim']")
    assert "(kim)" in page.locator("#staff-table tr[data-staff='jkim']").inner_text()
    assert add.get_by_label("Provider on the floor").is_hidden()  # the form is reset to its first role
    signed = httpx.post(
        f"{server.url}/api/sign-in", json={"staff": "jkim", "secret": "2468", "device": "t"}, timeout=10
    )
    assert signed.status_code == 201 and signed.json()["provider"] == "kim", signed.text
    listed = {s["id"]: s for s in httpx.get(f"{server.url}/api/staff", headers=headers, timeout=10).json()}
    assert listed["jkim"]["provider"] == "kim"


def test_a_manager_unlocks_a_locked_account_and_removes_one(server: ServerProcess, screens: Screens) -> None:
    server.add_many([("ben", Role.medical_assistant, "Ben Osei", PIN), ("amy", Role.front_desk, "Amy Cole", PIN)])
    page, headers = _console(server, screens)
    page.wait_for_selector("#staff-table tr[data-staff='ben'][data-locked='false']")
    for _ in range(5):
        httpx.post(f"{server.url}/api/sign-in", json={"staff": "ben", "secret": "0000", "device": "t"}, timeout=10)
    page.get_by_role("button", name="Refresh the staff list").click()  # locked while the page was open
    page.wait_for_selector("#staff-table tr[data-staff='ben'][data-locked='true']", timeout=10_000)
    row = page.locator("#staff-table tr[data-staff='ben']")
    assert row.get_attribute("data-locked") == "true" and "Locked" in row.inner_text()
    page.get_by_role("button", name="Unlock Ben Osei").click()
    page.wait_for_selector("#staff-table tr[data-staff='ben'][data-locked='false']", timeout=10_000)
    assert "unlocked" in page.locator("#staff-message").inner_text()
    signed = httpx.post(f"{server.url}/api/sign-in", json={"staff": "ben", "secret": PIN, "device": "t"}, timeout=10)
    assert signed.status_code == 201, signed.text
    # A new PIN, from the row's button: the old one stops working.
    page.get_by_role("button", name="Set a new PIN for Ben Osei").click()
    assert page.input_value("#staff-secret-who") == "ben"
    page.locator("#staff-secret").get_by_label("New PIN or password").fill("97531")
    page.click("#staff-secret button[type=submit]")
    assert "Ben Osei has a new PIN" in _message(page, "staff-secret")
    for pin, status in ((PIN, 401), ("97531", 201)):
        answer = httpx.post(
            f"{server.url}/api/sign-in", json={"staff": "ben", "secret": pin, "device": "t"}, timeout=10
        )
        assert answer.status_code == status, (pin, answer.text)
    # Removing asks first: dismissed, nothing happens; accepted, the account is gone.
    page.once("dialog", lambda d: d.dismiss())
    page.get_by_role("button", name="Remove Amy Cole").click()
    assert page.locator("#staff-table tr[data-staff='amy']").count() == 1
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Remove Amy Cole").click()
    page.wait_for_selector("#staff-table tr[data-staff='amy']", state="detached", timeout=10_000)
    ids = {s["id"] for s in httpx.get(f"{server.url}/api/staff", headers=headers, timeout=10).json()}
    assert "amy" not in ids and "ben" in ids
    assert page.locator(f"#staff-table tr[data-staff='{MANAGER}'] [data-action='remove']").count() == 0
    assert serious_violations(page) == []


def test_a_manager_pairs_a_wall_for_a_zone_then_revokes_it(server: ServerProcess, screens: Screens) -> None:
    page, headers = _console(server, screens)
    wall = screens.open(f"{server.url}/board.html", width=1920, height=1080)
    wall.wait_for_function(
        "() => /[A-Z0-9]{3}/.test(document.querySelector('#pairing-code').textContent)", timeout=10_000
    )
    code = "".join(wall.locator("#pairing-code").inner_text().split())
    # A wrong code: refused in words.
    page.locator("#display-pair").get_by_label("Code on the display").fill("ZZZZZZ")
    page.click("#display-pair button[type=submit]")
    assert _message(page, "display-pair").startswith("Code on the display: No display is waiting")
    zones = {r["zone"] for r in httpx.get(f"{server.url}{API}/board", headers=headers, timeout=10).json()["rooms"]}
    zone = sorted(zones)[0]
    page.locator("#display-pair").get_by_label("Code on the display").fill(code.lower())
    page.locator("#display-pair").get_by_label("Display name").fill("East hallway")
    page.locator("#display-pair").get_by_label("Zone").select_option(zone)
    page.click("#display-pair button[type=submit]")
    assert "Paired East hallway" in _message(page, "display-pair")
    wall.wait_for_selector("#conn[data-mode='live']", timeout=15_000)
    row = page.locator("#displays-table tr[data-state='paired']")
    assert row.count() == 1 and zone in row.inner_text() and "East hallway" in row.inner_text()
    displays = httpx.get(f"{server.url}/api/displays", headers=headers, timeout=10).json()
    assert [(d["label"], d["zone"], d["revoked_at"]) for d in displays] == [("East hallway", zone, None)]
    assert serious_violations(page) == []
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Revoke East hallway").click()
    page.wait_for_selector("#displays-table tr[data-state='revoked']", timeout=10_000)
    assert httpx.get(f"{server.url}/api/displays", headers=headers, timeout=10).json()[0]["revoked_at"]
    wall.wait_for_function("() => document.querySelector('#conn').dataset.mode !== 'live'", timeout=15_000)


def test_a_manager_moves_a_paired_wall_to_another_zone_and_it_follows_still_paired(
    server: ServerProcess, screens: Screens
) -> None:
    """The east hallway's wall is wanted in the west: Change, a name and a zone, Save; the wall, still paired,
    shows the west's rooms at once (it had to be revoked and paired again, dark meanwhile)."""
    page, headers = _console(server, screens)
    wall = screens.open(f"{server.url}/board.html", width=1920, height=1080)
    pair_wall(wall, server, headers, zone="east")
    wall.wait_for_selector("[data-room='e1']", timeout=10_000)
    page.click("#displays-refresh")
    page.wait_for_selector("#displays-table tr[data-state='paired'] button[data-action='change']", timeout=10_000)
    page.locator("#displays-table tr[data-state='paired'] button[data-action='change']").last.click()
    page.locator("#display-edit").get_by_label("Display name").fill("West hallway")
    page.locator("#display-edit").get_by_label("Zone").select_option("west")
    page.click("#display-edit button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('#displays-message').textContent.includes('West hallway is saved')",
        timeout=10_000,
    )
    assert "shows west now, still paired" in page.locator("#displays-message").inner_text()
    page.wait_for_selector("#displays-table tr[data-state='paired'] >> text=changed", timeout=10_000)
    assert f"by {MANAGER}" in page.locator("#displays-table tr[data-state='paired'] >> text=changed").inner_text()
    wall.wait_for_selector("[data-room='w1']", timeout=10_000)
    assert wall.locator("[data-room='e1']").count() == 0
    assert wall.locator("#conn").get_attribute("data-mode") == "live"
    displays = httpx.get(f"{server.url}/api/displays", headers=headers, timeout=10).json()
    assert ("West hallway", "west", None) in [(d["label"], d["zone"], d["revoked_at"]) for d in displays]
    assert serious_violations(page) == []
    # Reloaded, the wall is still the west's.
    wall.reload()
    wall.wait_for_selector("[data-room='w1']", timeout=10_000)
    assert wall.locator("[data-room='e1']").count() == 0


def test_pins_typed_in_the_console_are_not_left_for_whoever_signs_in_next(
    server: ServerProcess, screens: Screens
) -> None:
    """A manager types a first PIN for a new account and a new PIN for another, is called away and signs out (or
    the sign-in ends): the next manager to sign in at that computer found both PINs still in the fields (and the
    new account's name and id), one click from sending them or reading them out of the page."""
    page, _ = _console(server, screens)
    page.fill("#staff-add-name", "Quinn Park")
    page.fill("#staff-add-id", "quinn")
    page.fill("#staff-add-secret", "5432")
    page.fill("#staff-secret-secret", "9876")
    page.click("#sign-out")
    page.wait_for_selector("#signin-form", state="visible", timeout=10_000)
    sign_in_page(page, MANAGER, PIN, device="manager-office")
    page.wait_for_selector("#conn[data-mode='live']", timeout=15_000)
    for field in ("#staff-add-name", "#staff-add-id", "#staff-add-secret", "#staff-secret-secret"):
        assert page.input_value(field) == "", field


def test_a_manager_blocks_a_room_with_a_reason_and_unblocks_it(server: ServerProcess, screens: Screens) -> None:
    page, headers = _console(server, screens)
    page.locator("#room-block").get_by_label("Room", exact=True).select_option("e1")
    page.locator("#room-block").get_by_label("Reason").fill("Sink leaking")
    page.click("#room-block button[type=submit]")
    assert "is blocked: Sink leaking" in _message(page, "room-block")
    page.wait_for_selector("#rooms-table tr[data-room='e1'][data-state='blocked']", timeout=10_000)
    assert "Sink leaking" in page.locator("#rooms-table tr[data-room='e1']").inner_text()
    rooms = {r["id"]: r for r in httpx.get(f"{server.url}{API}/board", headers=headers, timeout=10).json()["rooms"]}
    assert (rooms["e1"]["state"], rooms["e1"]["reason"]) == ("blocked", "Sink leaking")
    # A blocked room cannot be blocked again: it is listed as blocked, and cannot be chosen.
    assert page.locator("#room-block-room option[value='e1']").is_disabled()
    assert serious_violations(page) == []
    page.locator("#rooms-table tr[data-room='e1'] [data-action='unblock']").click()
    page.wait_for_selector("#rooms-table tr[data-room='e1'][data-state='ready']", timeout=10_000)
    rooms = {r["id"]: r for r in httpx.get(f"{server.url}{API}/board", headers=headers, timeout=10).json()["rooms"]}
    assert rooms["e1"]["state"] == "ready" and not rooms["e1"].get("reason")


def test_a_room_reason_naming_a_patient_of_the_day_is_refused_on_the_reason_field(
    server: ServerProcess, screens: Screens
) -> None:
    page, headers = _console(server, screens)
    booked = httpx.post(
        f"{server.url}{API}/visits",
        json={"patient_name": "Inés Quarry", "provider": "kim", "visit_type": "follow", "walk_in": True},
        headers=headers,
        timeout=10,
    )
    assert booked.status_code == 201, booked.text
    page.locator("#room-block").get_by_label("Room", exact=True).select_option("e5")
    page.locator("#room-block").get_by_label("Reason").fill("Held for Quarry, Ines")
    page.click("#room-block button[type=submit]")
    said = _message(page, "room-block")
    assert said.startswith("Reason: Not marked: the reason names one of today's patients"), said
    assert page.get_attribute("#room-block-reason", "aria-invalid") == "true"
    assert page.input_value("#room-block-reason") == "Held for Quarry, Ines", "kept for the manager to edit"
    assert serious_violations(page) == []
    rooms = {r["id"]: r for r in httpx.get(f"{server.url}{API}/board", headers=headers, timeout=10).json()["rooms"]}
    assert rooms["e5"]["state"] == "ready"


def test_a_schedule_with_a_bad_line_is_refused_whole_then_a_good_one_is_imported(
    server: ServerProcess, screens: Screens
) -> None:
    page, headers = _console(server, screens)
    assert page.input_value("#schedule-date") == DAY
    page.set_input_files("#schedule-file", str(DATA / "schedule-riverside-bad.csv"))
    page.click("#schedule-check")
    assert _message(page, "schedule-upload").startswith("Refused: nothing was stored.")
    problems = page.locator("#schedule-problems li")
    problems.first.wait_for(timeout=10_000)
    refused = {li.get_attribute("data-where") for li in problems.all()}
    assert refused == _refused_where(server, headers, "schedule-riverside-bad.csv", "text/csv")  # every one shown
    assert "line 3" in refused
    assert "line 3 · time" in problems.filter(has_text="line 3").first.inner_text()
    assert page.locator("[data-action='import']").count() == 0
    assert _imported(server, headers) == []
    assert serious_violations(page) == []

    page.set_input_files("#schedule-file", str(DATA / "schedule-riverside.csv"))
    assert page.locator("#schedule-problems").count() == 0  # a new file: the old problems are gone
    page.click("#schedule-check")
    assert "The file is good" in _message(page, "schedule-upload")
    assert _imported(server, headers) == []  # checked only
    page.click("[data-action='import']")
    page.wait_for_function(
        "() => document.querySelector('#schedule-upload [data-form-message]').textContent.startsWith('Imported')",
        timeout=10_000,
    )
    assert "5 added" in _message(page, "schedule-upload")
    assert _imported(server, headers) == ["EHR-1001", "EHR-1002", "EHR-1003", "EHR-1004", "EHR-1006"]

    # A day ahead is kept, listed, and can be withdrawn.
    page.set_input_files("#schedule-file", str(DATA / "schedule-riverside-changed.csv"))
    page.fill("#schedule-date", "2026-11-24")
    page.click("#schedule-check")
    assert "on 2026-11-24 it will" in _message(page, "schedule-upload")
    page.click("[data-action='import']")
    page.wait_for_selector("#upcoming-table tr[data-day='2026-11-24']", timeout=10_000)
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Withdraw the schedule for 2026-11-24").click()
    page.wait_for_selector("#upcoming-table tr[data-day='2026-11-24']", state="detached", timeout=10_000)
    upcoming = httpx.get(f"{server.url}{API}/schedule/upcoming", headers=headers, timeout=10).json()
    assert upcoming == {"days": []}


def test_a_fhir_schedule_is_checked_in_the_console_as_a_csv_one_is(server: ServerProcess, screens: Screens) -> None:
    page, headers = _console(server, screens)
    page.set_input_files("#schedule-file", str(DATA / "schedule-riverside-bad.fhir.json"))
    page.click("#schedule-check")
    assert _message(page, "schedule-upload").startswith("Refused: nothing was stored.")
    problems = page.locator("#schedule-problems li")
    problems.first.wait_for(timeout=10_000)
    expected = _refused_where(server, headers, "schedule-riverside-bad.fhir.json", "application/fhir+json")
    assert expected and {li.get_attribute("data-where") for li in problems.all()} == expected
    page.set_input_files("#schedule-file", str(DATA / "schedule-riverside.fhir.json"))
    page.click("#schedule-check")
    assert "The file is good" in _message(page, "schedule-upload")
    assert page.locator("[data-action='import']").count() == 1  # checked only: nothing imported by this test
    assert serious_violations(page) == []


def test_a_bundle_saved_without_a_file_extension_is_checked_as_a_bundle(
    server: ServerProcess, screens: Screens
) -> None:
    """A file the browser gives no type (a Bundle saved as `schedule`, no extension) was sent as text/csv, and read
    as CSV: six messages about unknown and missing columns ('{'). The server tells it by its first character."""
    page, _ = _console(server, screens)
    bundle = (DATA / "schedule-riverside.fhir.json").read_bytes()
    # Playwright gives a file of no type application/octet-stream: the browser's own File, as a picker gives it.
    page.evaluate(
        """(text) => {
            const picked = new DataTransfer();
            picked.items.add(new File([text], "schedule", { type: "" }));
            const input = document.getElementById("schedule-file");
            input.files = picked.files;
            input.dispatchEvent(new Event("change", { bubbles: true }));
        }""",
        bundle.decode(),
    )
    page.click("#schedule-check")
    assert "The file is good" in _message(page, "schedule-upload")
    assert page.locator("#schedule-problems").count() == 0


def _imported(server: ServerProcess, headers: dict[str, str]) -> list[str]:
    """The external ids of today's visits (the visits a schedule booked)."""
    visits = httpx.get(f"{server.url}{API}/board", headers=headers, timeout=10).json()["visits"]
    return sorted(v["external_id"] for v in visits if v["external_id"])


def test_a_manager_reads_a_visits_audit_trail(server: ServerProcess, screens: Screens) -> None:
    desk = server.signed_in(Role.front_desk, device="front-desk-1")
    booked = httpx.post(
        f"{server.url}{API}/visits",
        headers=desk,
        timeout=10,
        json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True},
    )
    assert booked.status_code == 201, booked.text
    visit = booked.json()["visit"]
    page, _ = _console(server, screens)
    page.wait_for_selector(f"#audit-visit-visit option[value='{visit['id']}']", state="attached", timeout=10_000)
    page.locator("#audit-visit").get_by_label("Visit", exact=True).select_option(visit["id"])
    page.click("#audit-visit button[type=submit]")
    table = page.locator("#audit-table")
    table.wait_for(timeout=10_000)
    text = table.inner_text()
    assert "Walk-in added" in text and "front-desk-1" in text and PEOPLE[Role.front_desk][0] in text
    # The provider and the visit type by the names the clinic file gives them, not their ids.
    assert "with Dr. Jenna Kim (Follow-up)" in text and "with kim" not in text, text
    assert "Ann Lee" in page.locator("#audit-table caption").inner_text()
    # A person's trail: everything the front desk did that day.
    page.locator("#audit-person").get_by_label("Staff member", exact=True).fill(PEOPLE[Role.front_desk][0])
    page.click("#audit-person button[type=submit]")
    page.wait_for_function("() => document.querySelector('#audit-table caption').textContent.startsWith('Everything')")
    assert visit["id"] in page.locator("#audit-table").inner_text()
    assert serious_violations(page) == []


def test_a_manager_downloads_the_exports(server: ServerProcess, screens: Screens) -> None:
    page, _ = _console(server, screens)
    assert page.input_value("#downloads-day") == DAY
    with page.expect_download() as got:
        page.get_by_role("button", name="Measures (CSV)").click()
    csv = Path(got.value.path()).read_text()
    assert got.value.suggested_filename == f"{CLINIC}-{DAY}-measures.csv" and csv.splitlines()[0]
    with page.expect_download() as got:
        page.get_by_role("button", name="Visits (FHIR Encounters)").click()
    bundle = json.loads(Path(got.value.path()).read_text())
    assert bundle["resourceType"] == "Bundle"
    with page.expect_download() as got:
        page.get_by_role("button", name="Measures (FHIR MeasureReport)").click()
    assert json.loads(Path(got.value.path()).read_text())["resourceType"] == "MeasureReport"
    # A day not begun yet: said in words, naming the field.
    page.fill("#downloads-day", "2026-12-01")
    page.get_by_role("button", name="Measures (CSV)").click()
    assert _message(page, "downloads").startswith("Day: 2026-12-01 has not begun yet")
    assert serious_violations(page) == []


def test_a_manager_looks_at_a_day_before_the_log_begins_and_is_told_so(server: ServerProcess, screens: Screens) -> None:
    """This server's log begins today: yesterday is no day of zeros, the page says Floor holds no record of it."""
    page, _ = _console(server, screens)
    assert page.input_value("#past-day-date") == "2026-11-22"  # yesterday, by default
    page.click("#past-day button[type=submit]")
    message = page.locator("#past-day [data-form-message].error")
    message.wait_for(timeout=10_000)
    assert "no record of 2026-11-22" in message.inner_text() and "its log begins on 2026-11-23" in message.inner_text()
    assert page.locator("#past-heading").count() == 0
    assert serious_violations(page) == []


def test_a_past_day_shows_its_visits_measures_and_lateness_as_it_closed(tmp_path: Path, screens: Screens) -> None:
    """A server runs the 22nd (a walk-in roomed, seen, taught back and checked out, a booked patient who did not come),
    then starts again on the same data on the 23rd: the console shows the 22nd as it closed."""
    proc = ServerProcess(tmp_path / "data", tmp_path / "server.log", "--clock-start", "2026-11-22T15:00:00+00:00")
    proc.start()
    try:
        desk, ma = proc.signed_in(Role.front_desk), proc.signed_in(Role.medical_assistant)
        proc.signed_in(Role.manager)
        kim = proc.sign_in(proc.add_staff("kim", Role.provider, "Jenna Kim"))

        def book(body: dict) -> dict:
            answer = httpx.post(f"{proc.url}{API}/visits", headers=desk, timeout=10, json=body)
            assert answer.status_code == 201, answer.text
            return answer.json()["visit"]

        seen = book(
            {"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True, "minutes_ago": 30}
        )
        gone = book(
            {"patient_name": "Bo Chen", "provider": "kim", "visit_type": "follow", "start": "2026-11-22T09:30:00"}
        )
        for headers, visit, body in (
            (ma, seen, {"type": "roomed", "room": "e1", "minutes_ago": 25}),
            (ma, seen, {"type": "prep_done", "minutes_ago": 20}),
            (kim, seen, {"type": "provider_in", "minutes_ago": 15}),  # not with the teach-back: its start is known
            (kim, seen, {"type": "teach_back_done"}),
            (desk, seen, {"type": "checked_out"}),
            (desk, gone, {"type": "no_show"}),
        ):
            answer = httpx.post(f"{proc.url}{API}/visits/{visit['id']}/events", headers=headers, json=body, timeout=10)
            assert answer.status_code == 201, answer.text
        proc.stop()
        proc.args = ()  # the next day: the test servers' clinic morning, the 23rd
        proc.start()

        page, _ = _console(proc, screens)
        assert page.input_value("#past-day-date") == "2026-11-22"
        page.click("#past-day button[type=submit]")
        page.wait_for_selector("#past-heading", timeout=10_000)
        facts = page.locator("#past-result .summary").inner_text()
        assert "2 booked" in facts and "1 no-shows" in facts, facts
        # The figures a quality manager reviews a week by, as today's tiles give them (a past day had no teach-back
        # rate, no no-show rate and no cycle time: a review of the measures).
        assert "teach-back 100% of 1" in facts and "no-show rate 100% of 1" in facts, facts
        assert "cycle time " in facts and "cycle time —" not in facts, facts
        visits = {
            r.locator("th, td").nth(1).inner_text(): r.inner_text() for r in page.locator("#past-visits tbody tr").all()
        }
        assert set(visits) == {"Ann Lee", "Bo Chen"}
        assert seen["token"] in visits["Ann Lee"] and "Jenna Kim" in visits["Ann Lee"]
        assert "Follow-up" in visits["Ann Lee"] and "follow\t" not in visits["Ann Lee"], visits["Ann Lee"]
        assert visits["Bo Chen"].split("\t")[-1] == "No show", visits["Bo Chen"]
        rows = page.locator("#past-measures tbody tr").all_inner_texts()
        measures = {r.split("\t")[0]: r.split("\t")[1:] for r in rows}
        seen_booked, teach_back, no_shows = (measures["Dr. Jenna Kim"][i] for i in (0, 5, 6))
        assert (seen_booked, teach_back, no_shows) == ("1 / 2", "100% of 1", "1"), measures
        assert measures["Dr. Daniel Okafor"][0] == "0 / 0"
        lateness = page.locator("#past-lateness tbody tr").all_inner_texts()
        assert any("Jenna Kim" in r for r in lateness), lateness
        assert serious_violations(page) == []
    finally:
        proc.stop()


def test_a_share_reads_as_a_percent_of_its_hits_rounded_once(server: ServerProcess, screens: Screens) -> None:
    """5 no-shows of 13 (38.46%) read 39% beside "5 of 13 visits": the core's rate (0.385) was rounded again."""
    page = screens.open(f"{server.url}/manager.html")
    shown = page.evaluate(
        """async () => {
            const { percent } = await import("/manager/floor.js");
            return [percent({ count: 13, hits: 5, rate: 0.385 }), percent({ count: 0, hits: 0, rate: null }),
                    percent(null), percent(0.25)];
        }"""
    )
    assert shown == ["38%", "—", "—", "25%"]


def test_a_tap_the_server_refuses_for_a_damaged_log_is_not_sent_again(server: ServerProcess, screens: Screens) -> None:
    """A tap met a log holding an event no floor can fold: 503 `log_damaged`. The tablet sent every 503 again, every
    30 s for as long as it took a person to repair the log, then stored it at the wrong time (a hostile review).
    Other 503s are sent again as before."""
    page = screens.open(f"{server.url}/manager.html")
    sent = page.evaluate(
        """async () => {
            const { tap } = await import("/lib/api.js");
            const answers = { damaged: { error: "log_damaged", message: "Not available: the log is damaged." },
                              busy: { error: "unavailable", message: "Not available right now." } };
            const counts = {};
            for (const kind of ["damaged", "busy"]) {
                let calls = 0;
                window.fetch = async () => {
                    calls += 1;
                    if (kind === "busy" && calls > 1) return new Response('{"seq": 1}', { status: 201 });
                    return new Response(JSON.stringify(answers[kind]), { status: 503 });
                };
                let outcome;
                try { await tap("/api/x", {}, { token: "t" }); outcome = "stored"; }
                catch (e) { outcome = `${e.status} ${e.message}`; }
                counts[kind] = [calls, outcome];
            }
            return counts;
        }"""
    )
    assert sent == {"damaged": [1, "503 Not available: the log is damaged."], "busy": [2, "stored"]}
