"""The Spanish front desk: the "Mostrar llegadas" choice shows the whole name of the view ("Atrasados y próxima
hora", not "Atrasados y próxima ho"). The toolbar sizes that select by its words, not by a share of the row, upright
and sideways, on a narrower tablet where "Agregar un paciente sin cita" is in the toolbar too, and on a phone
(where the labels are read out only, 1 px wide: not counted as cut off)."""

from __future__ import annotations

import pytest

from floor.core.access import Role
from tests.browser.conftest import Screens, book_visit, sign_in_page
from tests.server.conftest import ServerProcess
from tests.support.staff import PEOPLE, PIN

pytestmark = [pytest.mark.browser, pytest.mark.server]

FITS = """(id) => { const s = document.getElementById(id), cs = getComputedStyle(s);
  const c = document.createElement('canvas').getContext('2d');
  c.font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
  const text = s.options[s.selectedIndex].text;
  // the text's room: the box less its padding and the arrow (about 20 px)
  const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 20;
  return { text, need: Math.round(c.measureText(text).width), room: Math.round(room) }; }"""

CLIPPED = """() => [...document.querySelectorAll('#desk-tools button, #desk-tools label')]
  .filter((n) => n.offsetParent && n.clientWidth > 1
    && (n.scrollWidth > n.clientWidth + 1 || n.scrollHeight > n.clientHeight + 1))
  .map((n) => n.textContent.trim())"""


@pytest.mark.parametrize("size", [(768, 1024), (1280, 800), (600, 960), (390, 844), (360, 740)])
def test_the_arrivals_view_is_not_cut_off_on_a_spanish_tablet(
    server: ServerProcess, screens: Screens, size: tuple[int, int]
) -> None:
    book_visit(server, server.signed_in(Role.front_desk), "Ana Ruiz", start="2026-11-23T09:10:00")
    page = screens.open(f"{server.url}/?lang=es", width=size[0], height=size[1])
    sign_in_page(page, PEOPLE[Role.front_desk][0], PIN)
    page.wait_for_selector("#live.live-live", timeout=10_000)
    seen = page.evaluate(FITS, "desk-when")
    assert seen["text"] == "Atrasados y próxima hora"
    assert seen["need"] <= seen["room"], f"{seen['text']!r} needs {seen['need']} px, has {seen['room']}"
    assert page.evaluate(CLIPPED) == []
    walkin = page.locator("#desk-walkin").bounding_box()
    if size[0] < 560:  # a phone: "Add a walk-in" is in the toolbar, whole, and as tall as a finger needs
        assert walkin is not None and walkin["height"] >= 44
    search = page.locator("#desk-search").bounding_box()
    assert search is not None and search["width"] >= 200  # the search box keeps room to type in
