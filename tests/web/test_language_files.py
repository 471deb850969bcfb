"""The screens' language files (static/i18n/<language>.json): every language has exactly English's keys, with
the same `{placeholders}`, and every key the pages ask for (`t("key")`, `tn("key", n)`, `data-i18n*="key"`)
is in English, so a text never shows as its key and a new language is one file to fill in."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
LANGUAGES = sorted((STATIC / "i18n").glob("*.json"))
ENGLISH: dict[str, str] = json.loads((STATIC / "i18n/en.json").read_text(encoding="utf-8"))

#: A key given literally to t() or tn() in a script ("t(" not part of a longer name such as "split(").
CALL = re.compile(r"(?<![\w.$])(t|tn)\(\s*\"([^\"]+)\"")
#: A key given in the HTML.
ATTRIBUTE = re.compile(r"data-i18n(?:-label|-placeholder|-title)?=\"([^\"]+)\"")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
#: A comment line (a usage example in a module's header is not a use).
COMMENT = re.compile(r"^\s*(//|/?\*).*$", re.MULTILINE)


def used_keys() -> dict[str, str]:
    """Every key the pages use literally -> the file that uses it first."""
    keys: dict[str, str] = {}
    for path in sorted(STATIC.rglob("*.js")):
        for fn, key in CALL.findall(COMMENT.sub("", path.read_text(encoding="utf-8"))):
            for k in [f"{key}.one", f"{key}.other"] if fn == "tn" else [key]:
                keys.setdefault(k, str(path.relative_to(ROOT)))
    for path in sorted(STATIC.rglob("*.html")):
        for key in ATTRIBUTE.findall(path.read_text(encoding="utf-8")):
            keys.setdefault(key, str(path.relative_to(ROOT)))
    return keys


def test_the_pages_use_many_keys_so_the_search_finds_them() -> None:
    keys = used_keys()
    # The scan itself works: the tablet's toasts, the desk's toolbar and the shared sign-in are among them.
    assert {"signin.signing_in", "error.offline"} <= set(keys)
    assert len(keys) > 150


def test_every_key_the_pages_use_is_in_english() -> None:
    missing = {key: where for key, where in used_keys().items() if key not in ENGLISH}
    assert not missing, f"keys used by the pages but missing from static/i18n/en.json: {missing}"


@pytest.mark.parametrize("path", LANGUAGES, ids=lambda p: p.name)
def test_each_language_has_englishs_keys_and_no_others(path: Path) -> None:
    texts = json.loads(path.read_text(encoding="utf-8"))
    assert sorted(set(ENGLISH) - set(texts)) == [], f"{path.name} lacks these keys"
    assert sorted(set(texts) - set(ENGLISH)) == [], f"{path.name} has keys English does not"
    assert all(isinstance(v, str) and v for v in texts.values()), f"{path.name} has an empty or non-text value"


@pytest.mark.parametrize("path", LANGUAGES, ids=lambda p: p.name)
def test_each_translation_fills_the_same_placeholders(path: Path) -> None:
    texts = json.loads(path.read_text(encoding="utf-8"))
    differ = {
        key: text
        for key, text in texts.items()
        if key in ENGLISH and set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(ENGLISH[key]))
    }
    assert not differ, f"{path.name}: placeholders differ from English in {differ}"
