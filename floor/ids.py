"""The production id source: ids drawn from the operating system's randomness (see floor.core.ids)."""

from __future__ import annotations

import secrets

from floor.core.ids import ALPHABET, Ids


def _draw(n: int) -> str:
    # Five random bits a character, from one read of the OS's randomness (a schedule import draws thousands).
    bits = int.from_bytes(secrets.token_bytes((5 * n + 7) // 8))
    return "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in range(n))


def secure() -> Ids:
    """Random ids no two servers (nor a server and its past, whatever its log lost) draw alike."""
    return Ids(_draw)
