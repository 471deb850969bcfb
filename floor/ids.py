"""The production id source: ids drawn from the operating system's randomness (see floor.core.ids)."""

from __future__ import annotations

import secrets

from floor.core.ids import ALPHABET, Ids


def _draw(n: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


def secure() -> Ids:
    """Random ids no two servers (nor a server and its past, whatever its log lost) draw alike."""
    return Ids(_draw)
