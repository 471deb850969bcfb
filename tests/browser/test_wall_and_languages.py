"""The wall read from across the hall, and the screens in the clinic's or the device's language.

The wall and waiting-room tests give the page a hallway feed of their own (Playwright answers the page's live
socket with a snapshot built from the server's real structs), so every minute on the board is known: the
pages come from a real server, and the snapshot is what a server sends. The tablet tests run against a real
server end to end.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
import msgspec
import pytest
from playwright.sync_api import Page, WebSocketRoute

from floor.config import Thresholds, demo_clinic, demo_clinic_path
from floor.core.access import Role
from floor.core.journey import Stage
from floor.core.rooms import RoomState
from floor.hallway import HallwayAlert, HallwayBoard, HallwayDelay, HallwayRoom, HallwaySnapshot, HallwayVisit
from tests.browser.conftest import CLINIC, Screens, book_visit, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
BLOCKED_BECAUSE = "Sink leaking: plumber booked for 2 pm"


def ago(minutes: float) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes)


def _board(languages: list[str], alternate_seconds: int = 10) -> HallwayBoard:
    """Mid-morning: a patient 40 minutes in the waiting room (limit 15), one 18; a patient 30 minutes waiting
    for their provider in East 1; providers 12, 8 and 30 minutes late (the last one's alert acknowledged);
    East 2 blocked with a reason, East 3 in turnover 25 minutes (limit 10), East 4 for 3."""
    clinic = demo_clinic()
    rooms = {r.id: HallwayRoom(r.id, r.label, r.zone, RoomState.ready, ago(60)) for r in clinic.rooms}
    rooms["e1"] = HallwayRoom("e1", "East 1", "east", RoomState.occupied, ago(45), "K4P")
    rooms["e2"] = HallwayRoom("e2", "East 2", "east", RoomState.blocked, ago(50), reason=BLOCKED_BECAUSE)
    rooms["e3"] = HallwayRoom("e3", "East 3", "east", RoomState.turnover, ago(25))
    rooms["e4"] = HallwayRoom("e4", "East 4", "east", RoomState.turnover, ago(3))
    visits = [
        HallwayVisit("W40", "JK", Stage.arrived, ago(40), ago(45), False),
        HallwayVisit("W18", "MS", Stage.arrived, ago(18), ago(20), False),
        HallwayVisit("K4P", "DO", Stage.prep_done, ago(30), ago(60), False, "e1"),
        HallwayVisit("AH1", "AH", Stage.scheduled, ago(-20), ago(-20), False),
    ]
    delays = [
        HallwayDelay("JK", 12, name="Dr. Jenna Kim"),
        HallwayDelay("DO", 8, name="Dr. Daniel Okafor"),
        HallwayDelay("MS", 0, name="Maria Silva, NP"),
        HallwayDelay("AH", 30, name="Dr. Aaron Hart"),
    ]
    alerts = [
        HallwayAlert("a1", "cascade", ago(30), True, False, "JK", lateness=12),
        HallwayAlert("a2", "dwell", ago(25), True, False, "JK", "W40", Stage.arrived, minutes=15, limit=15),
        HallwayAlert("a3", "dwell", ago(3), True, False, "MS", "W18", Stage.arrived, minutes=15, limit=15),
        HallwayAlert("a4", "dwell", ago(15), True, False, "DO", "K4P", Stage.prep_done, minutes=15, limit=15),
        HallwayAlert("a5", "cascade", ago(40), True, True, "AH", lateness=30),
        HallwayAlert("a6", "cascade", ago(5), True, False, "DO", lateness=8),
    ]
    return HallwayBoard(
        CLINIC,
        clinic.name,
        clinic.timezone,
        NOW.date(),
        40,
        NOW,
        Thresholds(turnover=10),
        list(rooms.values()),
        visits,
        delays,
        alerts,
        False,
        languages,
        alternate_seconds,
    )


def _open_on_feed(screens: Screens, url: str, board: HallwayBoard) -> Page:
    """A paired display (its token kept on the device) whose live socket gets `board` as its snapshot."""
    context = screens.browser.new_context(viewport={"width": 1920, "height": 1080})
    screens.contexts.append(context)
    context.add_init_script(f"""
        localStorage.setItem("floor.display.token", "test-display-token");
        localStorage.setItem("floor.display.clinic", "{CLINIC}");
    """)
    snapshot = msgspec.json.encode(HallwaySnapshot(board.seq, board)).decode()

    def feed(ws: WebSocketRoute) -> None:
        ws.on_message(lambda _auth: ws.send(snapshot))

    page = context.new_page()
    page.on("pageerror", lambda e: screens.errors.append(f"{url}: {e}"))
    page.route_web_socket(re.compile(r".*/live.*"), feed)
    page.goto(url)
    return page


# The screens fed a board of the test's own (`_open_on_feed`) share `module_server`: their socket is routed to
# the test and their display token is the test's, so they read only the server's pages, scripts and language
# files, never its floor.


def test_at_1920x1080_the_wall_lists_alerts_most_urgent_first_whole_and_readable_from_3_m(
    module_server: ServerProcess, screens: Screens
) -> None:
    wall = _open_on_feed(screens, f"{module_server.url}/board.html", _board(["en", "es"]))
    wall.locator("#alerts-list li.alert:not([hidden])").first.wait_for(timeout=10_000)
    shown = wall.evaluate("""() => {
        const list = document.querySelector('#alerts-list').getBoundingClientRect();
        return [...document.querySelectorAll('#alerts-list li.alert:not([hidden])')].map((li) => {
            const text = li.querySelector('.alert-text');
            const box = li.getBoundingClientRect();
            const style = getComputedStyle(text);
            return {id: li.dataset.alert, visit: li.dataset.visit, text: text.textContent,
                    size: parseFloat(style.fontSize), whiteSpace: style.whiteSpace,
                    inside: box.top >= list.top - 0.5 && box.bottom <= list.bottom + 0.5,
                    clipped: text.scrollWidth > text.clientWidth + 1 || text.scrollHeight > text.clientHeight + 1};
        });
    }""")
    # Most urgent first: the patient 25 minutes past a 15-minute wait, then 15 past, then the providers by how
    # late they run, the patient 3 minutes over, and last the alert staff have acknowledged.
    assert [a["id"] for a in shown] == ["a2", "a4", "a1", "a6", "a3", "a5"]
    assert shown[0]["visit"] == "W40" and "40 min" in shown[0]["text"]
    for alert in shown:
        assert alert["size"] >= 30, alert  # about 30 px is what can be read from 3 m on a 55-inch 1080p screen
        assert alert["whiteSpace"] != "nowrap" and alert["inside"] and not alert["clipped"], alert
    assert wall.locator("#alerts-more").inner_text() == ""  # nothing hidden under "+N more"
    assert "seen by staff" in shown[-1]["text"]

    # A room left in turnover past the clinic's 10 minutes is red and says so; one 3 minutes in is not.
    late = wall.locator("[data-room='e3']")
    assert "over" in late.get_attribute("class").split()
    assert late.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(224, 38, 27)"
    assert "over 10 min limit" in late.inner_text()
    assert "over" not in wall.locator("[data-room='e4']").get_attribute("class").split()
    # A blocked room shows why.
    blocked = wall.locator("[data-room='e2']")
    assert blocked.locator(".stage").inner_text() == "Blocked"
    assert blocked.locator(".reason").inner_text() == BLOCKED_BECAUSE


def test_a_provider_is_red_only_with_a_cascade_raised_and_room_names_show_whole(
    module_server: ServerProcess, screens: Screens
) -> None:
    """A red "+12 min" beside "No alerts" (a review): red goes with a cascade alert for the provider, amber
    otherwise. And a room's name is read whole from the hall, on two lines if it must ("Procedure R…" was all
    ten rooms' name)."""
    board = _board(["en"])
    board = msgspec.structs.replace(
        board,
        alerts=[a for a in board.alerts if not (a.kind == "cascade" and a.provider == "JK")],
        rooms=[msgspec.structs.replace(r, label=f"Procedure Room {r.id.upper()}") for r in board.rooms],
    )
    wall = _open_on_feed(screens, f"{module_server.url}/board.html", board)
    wall.locator("tr[data-provider='JK'][data-lateness='12']").wait_for(timeout=10_000)
    jk = wall.locator("tr[data-provider='JK'] td.late")
    assert "running-late" in jk.get_attribute("class") and "very-late" not in jk.get_attribute("class")
    assert "very-late" in wall.locator("tr[data-provider='DO'] td.late").get_attribute("class")  # a cascade raised
    labels = wall.locator(".room-label")
    assert labels.count() == 10
    for i in range(10):
        whole = labels.nth(i).evaluate("n => n.scrollHeight <= n.clientHeight + 1 && n.scrollWidth <= n.clientWidth")
        assert whole, labels.nth(i).inner_text()


def test_eight_providers_all_show_on_the_wall(module_server: ServerProcess, screens: Screens) -> None:
    """The eighth provider's row fell below the panel at 1920x1080 (a review)."""
    initials = ["JK", "DO", "MS", "AH", "LP", "OH", "IC", "GB"]
    board = msgspec.structs.replace(
        _board(["en"]), delays=[HallwayDelay(i, 12, name=f"Dr. Provider {i}") for i in initials]
    )
    wall = _open_on_feed(screens, f"{module_server.url}/board.html", board)
    wall.locator("tr[data-provider='GB']").wait_for(timeout=10_000)
    inside = wall.evaluate(
        """() => {
            const edge = document.querySelector('.providers').getBoundingClientRect().bottom + 1;
            return [...document.querySelectorAll('tr[data-provider]')]
                .every(r => r.getBoundingClientRect().bottom <= edge);
        }"""
    )
    assert inside


def test_only_whole_alerts_show_and_the_rest_are_counted(module_server: ServerProcess, screens: Screens) -> None:
    board = _board(["en"])
    many = [HallwayAlert(f"x{i}", "cascade", ago(1), True, False, "MS", lateness=1) for i in range(10)]
    board = msgspec.structs.replace(board, alerts=board.alerts + many)
    wall = _open_on_feed(screens, f"{module_server.url}/board.html", board)
    wall.locator("#alerts-more", has_text="more").wait_for(timeout=10_000)
    shown = wall.locator("#alerts-list li.alert:not([hidden])")
    hidden = int(re.match(r"\+(\d+) more", wall.locator("#alerts-more").inner_text()).group(1))
    assert shown.count() + hidden == 16
    assert shown.first.get_attribute("data-alert") == "a2"
    last = shown.nth(shown.count() - 1).bounding_box()
    listed = wall.locator("#alerts-list").bounding_box()
    assert last["y"] + last["height"] <= listed["y"] + listed["height"] + 0.5


def test_the_waiting_room_speaks_the_clinics_language_first(module_server: ServerProcess, screens: Screens) -> None:
    page = _open_on_feed(screens, f"{module_server.url}/waiting.html", _board(["es", "en"], alternate_seconds=600))
    page.locator("#today-title", has_text="Tiempos de espera de hoy").wait_for(timeout=10_000)
    assert page.evaluate("document.documentElement.lang") == "es"
    assert page.locator("#clinic-name").inner_text() == "Bienvenidos a Riverside Family Medicine"
    kim = page.locator("li[data-provider='JK']")
    assert (
        kim.inner_text().replace("\n", " ")
        == "Dr. Jenna Kim lleva unos 10 minutos de retraso. Gracias por su paciencia."
    )


def test_the_waiting_room_on_a_device_asking_for_spanish_shows_only_spanish(
    module_server: ServerProcess, screens: Screens
) -> None:
    page = _open_on_feed(screens, f"{module_server.url}/waiting.html?lang=es", _board(["en"], alternate_seconds=3))
    page.locator("#today-title", has_text="Tiempos de espera de hoy").wait_for(timeout=10_000)
    page.wait_for_timeout(3500)  # past the clinic's turn length: a device's own language does not turn
    assert page.locator("#today-title").inner_text() == "Tiempos de espera de hoy"
    assert "lleva unos 30 minutos de retraso" in page.locator("li[data-provider='AH']").inner_text()


def test_the_waiting_room_alternates_the_clinics_languages(module_server: ServerProcess, screens: Screens) -> None:
    page = _open_on_feed(screens, f"{module_server.url}/waiting.html", _board(["en", "es"], alternate_seconds=3))
    page.locator("#today-title", has_text="Wait times today").wait_for(timeout=10_000)
    page.locator("#today-title", has_text="Tiempos de espera de hoy").wait_for(timeout=10_000)
    page.locator("#today-title", has_text="Wait times today").wait_for(timeout=10_000)


def test_the_waiting_room_pages_through_providers_that_do_not_fit(
    module_server: ServerProcess, screens: Screens
) -> None:
    """Eight providers seeing patients: the fifth and later were below the screen's edge, their patients told
    nothing (a review). As many as fit show at once, page after page."""
    names = [
        "Jenna Kim",
        "Daniel Okafor",
        "Maria Silva",
        "Aaron Hart",
        "Lena Park",
        "Omar Haddad",
        "Ines Costa",
        "Grace Baker",
    ]
    initials = ["JK", "DO", "MS", "AH", "LP", "OH", "IC", "GB"]
    board = msgspec.structs.replace(
        _board(["en"], alternate_seconds=3),
        delays=[HallwayDelay(i, 20, name=f"Dr. {n}") for i, n in zip(initials, names, strict=True)],
        visits=[
            HallwayVisit(f"V{k}{i[0]}", i, Stage.scheduled, ago(-30), ago(-30), False) for k, i in enumerate(initials)
        ],
    )
    page = _open_on_feed(screens, f"{module_server.url}/waiting.html", board)
    page.locator("li.line:not([hidden])").first.wait_for(timeout=10_000)
    seen: set[str] = set()
    for _ in range(40):
        visible = page.evaluate(
            """() => {
                const edge = document.getElementById('main').getBoundingClientRect().bottom + 1;
                return [...document.querySelectorAll('li.line:not([hidden])')]
                    .map(n => [n.dataset.provider, n.getBoundingClientRect().bottom <= edge]);
            }"""
        )
        assert all(whole for _, whole in visible), visible  # none cut off at the screen's edge
        seen |= {who for who, _ in visible}
        if seen == set(initials):
            break
        page.wait_for_timeout(500)
    assert seen == set(initials)


def test_the_wall_on_a_device_asking_for_spanish(module_server: ServerProcess, screens: Screens) -> None:
    wall = _open_on_feed(screens, f"{module_server.url}/board.html?lang=es", _board(["en"]))
    wall.locator("#alerts-list li.alert:not([hidden])").first.wait_for(timeout=10_000)
    assert wall.locator("#waiting-title").inner_text().lower() == "sala de espera"
    assert (
        wall.locator("#alerts-list li.alert:not([hidden]) .alert-kind").first.inner_text().lower()
        == "espera demasiado larga"
    )
    assert wall.locator("[data-room='e2'] .stage").inner_text() == "Bloqueada"


def _book(server: ServerProcess, headers: dict[str, str]) -> dict:
    answer = httpx.post(
        f"{server.url}/api/clinics/{CLINIC}/visits",
        headers=headers,
        timeout=10,
        json={
            "patient_name": "Ann Lee",
            "provider": "kim",
            "visit_type": "follow",
            "start": (NOW + dt.timedelta(minutes=30)).isoformat(),
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["visit"]


def test_the_tablet_speaks_the_clinics_language(tmp_path: Path, screens: Screens) -> None:
    clinic_file = tmp_path / "riverside.toml"
    text = demo_clinic_path().read_text()
    clinic_file.write_text(text.replace('languages = ["en", "es"]', 'languages = ["es", "en"]', 1))
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log", "--clinic", str(clinic_file))
    server.start()
    try:
        desk_id = PEOPLE[Role.front_desk][0]
        visit = _book(server, server.signed_in(Role.front_desk))
        tablet = screens.open(f"{server.url}/")
        assert tablet.locator("#signin-submit").inner_text() == "Sign in"  # no clinic known yet: English
        sign_in_page(tablet, desk_id, PIN)
        tablet.locator("#title-front_desk", has_text="Recepción").wait_for(timeout=10_000)
        assert tablet.evaluate("document.documentElement.lang") == "es"
        card = tablet.locator(f"[data-visit='{visit['id']}']")
        assert card.locator("[data-action='next'][data-step='arrived']").inner_text() == "Llegó"
        assert tablet.locator("#walkin-title").inner_text() == "Agregar un paciente sin cita"
        first_title = tablet.locator("[data-lists='front_desk'] .list-title").first
        assert first_title.inner_text() == "Llegadas: atrasados y próxima hora"
    finally:
        server.stop()


def test_the_tablet_on_a_device_asking_for_spanish(server: ServerProcess, screens: Screens) -> None:
    desk_id = PEOPLE[Role.front_desk][0]
    visit = _book(server, server.signed_in(Role.front_desk))
    tablet = screens.open(f"{server.url}/?lang=es")
    tablet.locator("#signin-submit", has_text="Iniciar sesión").wait_for(timeout=10_000)
    assert tablet.locator("label[for='signin-secret']").inner_text() == "PIN o contraseña"
    sign_in_page(tablet, desk_id, PIN)
    # The demo clinic's default is English; this tablet asked for Spanish and keeps it.
    card = tablet.locator(f"[data-visit='{visit['id']}']")
    card.wait_for(timeout=10_000)
    assert card.locator("[data-action='next'][data-step='arrived']").inner_text() == "Llegó"
    assert tablet.locator("#title-front_desk").inner_text() == "Recepción"
    tablet.goto(f"{server.url}/")  # kept on the device
    tablet.locator("#title-front_desk", has_text="Recepción").wait_for(timeout=10_000)


def test_a_spanish_tablet_says_what_happens_in_spanish_too(server: ServerProcess, screens: Screens) -> None:
    """Not only the fixed labels: who is signed in, the desk's toolbar, empty lists, a tap's toast and its Undo,
    the confirmation before ending a visit and the visit's detail come from the language file."""
    desk_id = PEOPLE[Role.front_desk][0]
    visit = _book(server, server.signed_in(Role.front_desk))
    tablet = screens.open(f"{server.url}/?lang=es")
    tablet.locator("#signin-submit", has_text="Iniciar sesión").wait_for(timeout=10_000)
    sign_in_page(tablet, desk_id, PIN)
    card = tablet.locator(f"[data-visit='{visit['id']}']")
    card.wait_for(timeout=10_000)
    assert tablet.locator("#whoami").inner_text().startswith("Sesión de ")
    assert tablet.locator("#desk-when option[value='now']").inner_text() == "Atrasados y próxima hora"
    # The hours too, in Spanish and the clinic's time ("From 9 a.m." stayed in English).
    hours = tablet.locator("#desk-when option[value^='h']").all_inner_texts()
    assert hours and all(h.startswith("Desde las ") and "From" not in h for h in hours), hours
    assert tablet.locator("label[for='desk-search']").inner_text() == "Buscar un paciente: nombre o código de visita"
    assert tablet.locator("[data-list='desk-checkout'] .empty").inner_text() == "Nadie está listo para la salida."
    assert tablet.locator("#live-text").inner_text() == "En vivo"

    card.locator("[data-step='no_show']").click()  # asks first, in Spanish; going back sends nothing
    confirm = tablet.locator("dialog[data-confirm][open]")
    confirm.wait_for(timeout=10_000)
    assert "Esto termina la visita." in confirm.inner_text()
    assert confirm.locator("[data-confirm-yes]").inner_text() == "Sí, no se presentó"
    confirm.locator("[data-confirm-no]").click()
    confirm.wait_for(state="detached", timeout=10_000)

    card.locator("[data-action='next'][data-step='arrived']").click()
    toast = tablet.locator("#toast-region .toast")
    toast.locator(".toast-text", has_text="Ann Lee: registró la llegada.").wait_for(timeout=10_000)
    assert toast.locator("[data-action='undo']").inner_text() == "Deshacer"

    tablet.locator(f"[data-detail-visit='{visit['id']}']").first.click()
    detail = tablet.locator("#visit-detail[open]")
    detail.locator(".history li").first.wait_for(timeout=10_000)
    assert detail.locator("#visit-detail-history").inner_text() == "Historial"
    assert detail.locator("[data-detail='undo']").inner_text() == "Deshacer: registró la llegada"
    assert detail.locator("[data-detail='close']").inner_text() == "Cerrar"


def test_a_spanish_tablet_says_in_spanish_that_the_room_it_picked_was_taken_meanwhile(
    server: ServerProcess, screens: Screens
) -> None:
    """Two assistants pick East 1 at once: the one refused read the server's English ("East 1 is occupied, not
    ready.") on a Spanish tablet (a front desk review)."""
    desk, ma = server.signed_in(Role.front_desk), server.signed_in(Role.medical_assistant)
    mine, other = book_visit(server, desk, "Ana Ruiz"), book_visit(server, desk, "Bo Chen")
    tablet = screens.open(f"{server.url}/?lang=es")
    sign_in_page(tablet, PEOPLE[Role.medical_assistant][0], PIN)
    card = tablet.locator(f"[data-visit='{mine['id']}']")
    card.locator("[data-action='next'][data-step='roomed']").click()
    pick = card.locator("[data-pick-room='e1']")
    pick.wait_for(timeout=10_000)

    def the_other_assistant_first(route) -> None:
        taken = httpx.post(
            f"{server.url}/api/clinics/{CLINIC}/visits/{other['id']}/events",
            headers=ma,
            timeout=10,
            json={"type": "roomed", "room": "e1"},
        )
        assert taken.status_code == 201, taken.text
        route.continue_()

    tablet.route(f"**/visits/{mine['id']}/events", the_other_assistant_first)
    pick.click()
    note = card.locator(".pin-note, .note", has_text="no está disponible")
    note.wait_for(timeout=10_000)
    assert "East 1 no está disponible (ocupada). Elija otro consultorio listo." in note.inner_text(), note.inner_text()


def test_a_spanish_tablet_says_a_refusal_in_spanish_naming_the_field(server: ServerProcess, screens: Screens) -> None:
    """A refusal the page had no words for showed the server's English sentence on a Spanish tablet (a front desk
    review): a wrong PIN at sign-in, a walk-in the server refused. Now in Spanish, naming the field; nothing
    stored."""
    desk = server.signed_in(Role.front_desk)  # the desk's staff id exists
    tablet = screens.open(f"{server.url}/?lang=es")
    tablet.locator("#signin-submit", has_text="Iniciar sesión").wait_for(timeout=10_000)
    tablet.fill("#signin-staff", "nadie-aqui")
    tablet.fill("#signin-secret", "0000")
    tablet.fill("#signin-device", "tablet-1")
    tablet.click("#signin-submit")
    wrong = tablet.locator("#sign-in-message", has_text="PIN incorrecto")
    wrong.wait_for(timeout=10_000)
    assert "Wrong" not in wrong.inner_text(), wrong.inner_text()

    def busy(route) -> None:  # the answer to a sign-in while another with the id is checked (a second's wait)
        body = {"error": "unauthenticated", "message": "Another sign-in with this staff id ... is being checked"}
        route.fulfill(status=401, headers={"Retry-After": "1"}, json=body)

    tablet.route("**/api/sign-in", busy)
    tablet.fill("#signin-secret", "0000")  # the form clears it after a refusal
    tablet.click("#signin-submit")
    tablet.locator("#sign-in-message", has_text="comprobando").wait_for(timeout=10_000)
    tablet.unroute("**/api/sign-in", busy)

    sign_in_page(tablet, PEOPLE[Role.front_desk][0], PIN)
    tablet.locator("#title-front_desk", has_text="Recepción").wait_for(timeout=10_000)
    before = httpx.get(f"{server.url}/api/clinics/{CLINIC}/board", headers=desk, timeout=10).json()["seq"]

    def provider_gone_meanwhile(route) -> None:  # as if the clinic file lost the provider since the page loaded
        body = msgspec.json.decode(route.request.post_data or "{}")
        route.continue_(post_data=msgspec.json.encode({**body, "provider": "nobody"}))

    tablet.route(f"**/api/clinics/{CLINIC}/visits", provider_gone_meanwhile)
    tablet.wait_for_selector("#live[data-mode='live']", timeout=10_000)
    tablet.fill("#walkin-name", "Rosa Díaz")
    tablet.select_option("#walkin-provider", "hart")
    tablet.click("#walkin-submit")
    message = tablet.locator("#walkin-message", has_text="No aceptado")
    message.wait_for(timeout=10_000)
    assert message.inner_text() == "No aceptado: revise el médico. No se guardó nada.", message.inner_text()
    assert httpx.get(f"{server.url}/api/clinics/{CLINIC}/board", headers=desk, timeout=10).json()["seq"] == before


def test_a_spanish_tablet_says_what_to_do_for_a_presence_or_a_pairing_refused(
    server: ServerProcess, screens: Screens
) -> None:
    """Not the visit's words for what is not a visit (a review of the refusals): "running late" for a provider who
    has seen patients says to tap "stepped away"; a mistyped pairing code says to check the code."""
    manager = server.signed_in(Role.manager)
    visit = book_visit(server, manager, "Ann Lee", "kim")
    for body in ({"type": "roomed", "room": "e1"}, {"type": "prep_done"}, {"type": "provider_in"}):
        taken = httpx.post(
            f"{server.url}/api/clinics/{CLINIC}/visits/{visit['id']}/events", headers=manager, json=body, timeout=10
        )
        assert taken.status_code == 201, taken.text
    server.signed_in(Role.medical_assistant)
    tablet = screens.open(f"{server.url}/?lang=es")
    sign_in_page(tablet, PEOPLE[Role.medical_assistant][0], PIN)
    tablet.wait_for_selector("#live[data-mode='live']", timeout=10_000)
    tablet.select_option("#presence-provider", "kim")
    tablet.locator("button[data-presence='running_late']").click()
    toast = tablet.locator("#toast-region .toast", has_text="ya vio pacientes")
    toast.wait_for(timeout=10_000)
    assert "visita" not in toast.inner_text() and "Salió un momento" in toast.inner_text(), toast.inner_text()

    tablet = screens.open(f"{server.url}/?lang=es")  # a manager's tablet pairs walls
    sign_in_page(tablet, PEOPLE[Role.manager][0], PIN, device="tablet-2")
    tablet.locator("#pair-zone option[value='east']").wait_for(state="attached", timeout=10_000)
    tablet.fill("#pair-code", "ZZZ999")
    tablet.click("#pair-button")
    message = tablet.locator("#pair-message", has_text="código")
    message.wait_for(timeout=10_000)
    assert "revise el código" in message.inner_text(), message.inner_text()


def test_a_provider_signed_in_under_another_id_gets_their_own_patients_and_presence(
    server: ServerProcess, screens: Screens
) -> None:
    """The account `jkim` is linked to the clinic's provider `kim` by the server: the tablet follows the link,
    not the sign-in id."""
    manager = server.signed_in(Role.manager)
    added = httpx.post(
        f"{server.url}/api/staff",
        headers=manager,
        timeout=10,
        json={"id": "jkim", "name": "Jenna Kim", "role": "provider", "secret": PIN, "provider": "kim"},
    )
    assert added.status_code == 201, added.text
    desk = server.signed_in(Role.front_desk)
    walk_ins = {p: book_visit(server, desk, name, p)["id"] for name, p in (("Ann Lee", "kim"), ("Bo Chen", "okafor"))}
    tablet = screens.open(f"{server.url}/")
    sign_in_page(tablet, "jkim", PIN)
    tablet.locator("#title-provider", has_text="My patients").wait_for(timeout=10_000)
    assert tablet.locator("#provider-filter-field").is_hidden()
    # Their own patient, not another provider's, with nothing to choose.
    coming = tablet.locator("[data-list='pr-coming']")
    coming.locator(f"[data-visit='{walk_ins['kim']}']").wait_for(timeout=10_000)
    assert [c.get_attribute("data-visit") for c in coming.locator("li[data-visit]").all()] == [walk_ins["kim"]]
    tablet.locator("#presence-title", has_text="Where are you?").wait_for(timeout=10_000)
    tablet.get_by_role("button", name="Running late to clinic").click()
    tablet.locator(".toast", has_text="You are running late to clinic.").wait_for(timeout=10_000)
    board = httpx.get(f"{server.url}/api/clinics/{CLINIC}/board", headers=manager, timeout=10).json()
    assert {p["provider"]: p["status"] for p in board["presence"]}["kim"] == "running_late"


def test_a_wall_whose_clock_is_off_counts_its_pairing_code_down_by_the_servers(
    server: ServerProcess, screens: Screens
) -> None:
    """A TV's clock 20 minutes fast: counted against the code's expires_at, the 10-minute code read "0:00" from the
    start though it worked; the wall counts down the seconds the server gives (expires_in)."""
    fast = "{ const realNow = Date.now.bind(Date); Date.now = () => realNow() + 20 * 60 * 1000; }"
    wall = screens.open(f"{server.url}/board.html", init_script=fast)
    wall.wait_for_function("() => /[A-Z0-9]{3}/.test(document.querySelector('#pairing-code').textContent)")
    wall.wait_for_function(
        "() => /\\b(9:[0-5]\\d|10:00)\\b/.test(document.querySelector('#pairing-status').textContent)"
    )


def test_a_manager_pairs_a_wall_from_the_tablet_for_one_zone(server: ServerProcess, screens: Screens) -> None:
    server.signed_in(Role.manager)  # the manager's account
    wall = screens.open(f"{server.url}/board.html")
    wall.wait_for_function("() => /[A-Z0-9]{3}/.test(document.querySelector('#pairing-code').textContent)")
    code = re.sub(r"\s", "", wall.locator("#pairing-code").inner_text())
    tablet = screens.open(f"{server.url}/")
    sign_in_page(tablet, PEOPLE[Role.manager][0], PIN)
    tablet.locator("#pair-zone option[value='east']").wait_for(state="attached", timeout=10_000)
    tablet.fill("#pair-code", code)
    tablet.select_option("#pair-zone", "east")
    tablet.fill("#pair-label", "East hallway")
    tablet.click("#pair-button")
    message = tablet.locator("#pair-message.success")
    message.wait_for(timeout=10_000)
    assert "“East hallway”" in message.inner_text() and "East zone" in message.inner_text()
    wall.wait_for_selector("#conn[data-mode='live']", timeout=15_000)
