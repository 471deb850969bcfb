"""The pages group a visit's stages as the core does: static/lib/stages.js spells floor/core/journey.py's sets
once for every page (the tablet, the manager page, the wall and the alert lines each spelled their own)."""

import re
from pathlib import Path

from floor.core.journey import ENDS, IN_ROOM, PATH, Stage

ROOT = Path(__file__).resolve().parents[2]
STAGES_JS = (ROOT / "static/lib/stages.js").read_text()


def _names(constant: str) -> list[str]:
    match = re.search(rf"export const {constant} = (?:new Set\()?\[([^\]]*)\]", STAGES_JS)
    assert match, f"static/lib/stages.js has no {constant}"
    return re.findall(r'"([a-z_]+)"', match.group(1))


def test_the_pages_sets_of_stages_are_the_cores():
    assert _names("ORDER") == [s.value for s in PATH if s not in ENDS]
    assert set(_names("ENDED")) == {s.value for s in ENDS}
    assert set(_names("IN_ROOM")) == {s.value for s in IN_ROOM}
    assert re.search(r'SEEN_OR_GONE = new Set\(\["provider_in", "teach_back_done", \.\.\.ENDED\]\)', STAGES_JS)
    assert {s.value for s in Stage} == set(_names("ORDER")) | set(_names("ENDED"))


def test_no_page_spells_its_own_set_of_ended_stages():
    pages = [p for p in (ROOT / "static").rglob("*.js") if "vendor" not in p.parts and p.name != "stages.js"]
    spelled = [str(p.relative_to(ROOT)) for p in pages if re.search(r'new Set\(\["checked_out"', p.read_text())]
    assert spelled == []
