"""The live socket's close codes have one table (floor/close_codes.py): the server sends only its codes, the
OpenAPI text documents each of them, the pages read them from the module generated from it, and the README
names them all."""

from __future__ import annotations

import re
from pathlib import Path

from litestar.testing import TestClient

from floor import close_codes
from floor.bootstrap import embedded_floors
from floor.close_codes import CLOSES
from floor.config import demo_clinic
from floor.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
#: A close code as it would be written in source: the protocol's 1000-1015, or the application's 4000-4999.
CODE = re.compile(r"(?<![\w.])(10(?:0\d|1[0-5])|4\d{3})(?![\w.])")


def test_the_codes_and_names_are_unique() -> None:
    assert len({c.code for c in CLOSES}) == len({c.name for c in CLOSES}) == len(CLOSES)


def test_the_pages_module_is_generated_from_the_table() -> None:
    assert (ROOT / "static/lib/close-codes.js").read_text() == close_codes.javascript(), (
        "static/lib/close-codes.js is out of date: python -m floor.close_codes > static/lib/close-codes.js"
    )


def test_the_pages_take_every_close_code_from_the_generated_module() -> None:
    codes = {str(c.code) for c in CLOSES}
    names = {c.name for c in CLOSES}
    for page in (ROOT / "static").rglob("*.js"):
        if page.name == "close-codes.js":
            continue
        text = re.sub(r"//.*|/\*.*?\*/", "", page.read_text(), flags=re.S)  # code, not comments
        assert not codes & set(CODE.findall(text)), f"{page.name} writes a server close code as a number"
        used = set(re.findall(r"\bCLOSE\.([A-Z_]+)", text))
        assert used <= names, f"{page.name} reads close codes the server never sends: {used - names}"
    feed = (ROOT / "static/lib/feed.js").read_text()
    assert 'import { CLOSE } from "./close-codes.js";' in feed


def test_the_server_sends_only_codes_of_the_table() -> None:
    """Outside the table no close code is written as a number, defined as a constant, or passed to a close."""
    codes = {str(c.code) for c in CLOSES}
    closing = re.compile(r"\b(?:close|end|cut|send_close|end_sessions)\([^)]*?\b(\d{4})\b")
    for source in (ROOT / "floor").rglob("*.py"):
        if source.name == "close_codes.py":
            continue
        text = "\n".join(line.split("#")[0] for line in source.read_text().splitlines())  # code, not comments
        found = (codes & set(CODE.findall(text))) | set(closing.findall(text))
        found |= set(re.findall(r"^\s*(CLOSE_\w+)\s*=\s*\d{4}\b", text, re.M))
        assert not found, f"{source.relative_to(ROOT)} has close codes of its own: {found}"


def test_the_openapi_text_documents_every_code(tmp_path: Path) -> None:
    with TestClient(create_app(embedded_floors([demo_clinic()], tmp_path))) as client:
        description = client.get("/schema/openapi.json").json()["info"]["description"]
    assert close_codes.openapi_text() in description
    for close in CLOSES:
        assert f"{close.code} {close.means}" in description


def test_the_readme_names_every_code() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("Close codes:") :]
    section = section[: section.index("\n\n")]
    assert {int(c) for c in re.findall(r"`(\d{4})`", section)} == {c.code for c in CLOSES}
