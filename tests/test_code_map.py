"""The README's code map (the table under "## Code map") matches the tree: every path it names exists, and
every package and module of `floor/` is named in it.

A row names paths in its first cell (`floor/web/`, `floor/settings.py`); its second cell may name files in
those folders by their name alone (`journey.py` in the `floor/core/` row) or by their path from the
repository's root. Backticked words that are not paths (`Floors`, `/healthz`, `floor check`) are left alone.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CODE = re.compile(r"`([^`\s]+)`")
#: What looks like a path: has a slash, or ends with a file extension (`app.py`, `feed.js`, `index.css`).
PATHLIKE = re.compile(r"^[\w.-]+(/[\w.-]*)*$")


class Row:
    def __init__(self, line: str) -> None:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        self.line = line.strip()
        self.named = [p for p in CODE.findall(cells[0]) if _is_path(p)]
        self.mentioned = [p for cell in cells[1:] for p in CODE.findall(cell) if _is_path(p)]

    @property
    def folders(self) -> list[Path]:
        return [ROOT / p for p in self.named if (ROOT / p).is_dir()]


def _is_path(text: str) -> bool:
    return not text.startswith("/") and bool(PATHLIKE.match(text)) and ("/" in text or _has_extension(text))


def _has_extension(text: str) -> bool:
    return re.search(r"\.[a-z]{1,5}$", text) is not None


def code_map() -> list[Row]:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Code map\s*$(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, "README.md has no '## Code map' section"
    rows = [
        Row(line)
        for line in match.group(1).splitlines()
        if line.strip().startswith("|") and not re.fullmatch(r"\|[\s|:-]*\|?", line.strip())
    ]
    rows = [row for row in rows if row.named]
    assert len(rows) >= 10, f"README.md's code map table has only {len(rows)} rows naming a path: was it reformatted?"
    return rows


def _found(path: str, row: Row) -> bool:
    """A path from the root, or relative to a folder the row names (a bare file name anywhere under it)."""
    if (ROOT / path).exists():
        return True
    for folder in row.folders:
        if (folder / path).exists():
            return True
        if "/" not in path.rstrip("/") and any(folder.rglob(path.rstrip("/"))):
            return True
    return False


def test_every_path_the_code_map_names_exists():
    missing = [
        f"`{path}` (in the row: {row.line[:80]}...)"
        for row in code_map()
        for path in row.named
        if not (ROOT / path).exists()
    ]
    missing += [
        f"`{path}` (in the row: {row.line[:80]}...)"
        for row in code_map()
        for path in row.mentioned
        if not _found(path, row)
    ]
    assert not missing, "README.md's code map names paths that do not exist:\n  " + "\n  ".join(missing)


def _floor_units() -> list[Path]:
    """Every package (a folder with an __init__.py) and every module (but __init__.py) under floor/."""
    units = []
    for path in sorted((ROOT / "floor").rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        if path.name == "__init__.py":
            if path.parent != ROOT / "floor":
                units.append(path.parent)
        else:
            units.append(path)
    return units


def _named(unit: Path, rows: list[Row]) -> bool:
    relative = unit.relative_to(ROOT).as_posix()
    spellings = {relative, relative + "/"} if unit.is_dir() else {relative}
    for row in rows:
        if spellings & {p.rstrip("/") if unit.is_file() else p for p in [*row.named, *row.mentioned]}:
            return True
        if unit.is_file() and unit.parent in row.folders and unit.name in row.mentioned:
            return True
    return False


def test_every_package_and_module_of_floor_is_in_the_code_map():
    rows = code_map()
    missing = [
        unit.relative_to(ROOT).as_posix() + ("/" if unit.is_dir() else "")
        for unit in _floor_units()
        if not _named(unit, rows)
    ]
    assert not missing, (
        "README.md's code map does not name these (add each to the row of its folder, or a row "
        "of its own):\n  " + "\n  ".join(missing)
    )


@pytest.mark.parametrize("text", ["Floors", "/healthz", "floor check", "index", "main"])
def test_words_that_are_not_paths_are_not_taken_for_paths(text):
    assert not _is_path(text)


@pytest.mark.parametrize("text", ["floor/web/", "journey.py", "static/lib/close-codes.js", "lib/"])
def test_paths_are_taken_for_paths(text):
    assert _is_path(text)
