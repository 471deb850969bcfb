"""The live socket's close codes: one table that the server sends, the OpenAPI text documents and the pages
read. `static/lib/close-codes.js` is generated from it (`python -m floor.close_codes > static/lib/close-codes.js`)
and tests/web/test_close_codes.py checks that the three agree.

4000-4999 are the application's own (4xxx after HTTP's status of the same meaning); 1008, 1009, 1011 and 1012
are the protocol's own ("policy violation", "message too big", "internal error", "service restart").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Close:
    code: int
    #: The name the pages use (CLOSE.<name> in static/lib/close-codes.js).
    name: str
    #: What it means, for the OpenAPI text.
    means: str
    #: Whether a screen comes back with `since=` (else it stops, or retries slowly, as feed.js says).
    resume: bool = False


CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_UNKNOWN_CLINIC = 4404
CLOSE_BAD_PARAMETER = 4400
CLOSE_SIGNED_OUT = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_RESTARTING = 1012
CLOSE_TOO_SLOW = 4408
CLOSE_TOO_MANY_WAITING = 4429

CLOSES: tuple[Close, ...] = (
    Close(CLOSE_UNAUTHENTICATED, "UNAUTHENTICATED", "not signed in (or the token is not valid)"),
    Close(
        CLOSE_FORBIDDEN,
        "FORBIDDEN",
        "not allowed (origin, a display of another clinic, or staff who do not work in this clinic)",
    ),
    Close(CLOSE_UNKNOWN_CLINIC, "UNKNOWN_CLINIC", "unknown clinic"),
    Close(CLOSE_BAD_PARAMETER, "BAD_PARAMETER", "bad parameter (the reason says which)"),
    Close(CLOSE_SIGNED_OUT, "SIGNED_OUT", "the sign-in ended (signed out, expired, revoked display, removed staff)"),
    Close(CLOSE_TOO_BIG, "TOO_BIG", "a message over 4 KiB"),
    Close(CLOSE_INTERNAL, "INTERNAL", "an error on the server (its log says which)", resume=True),
    Close(CLOSE_RESTARTING, "RESTART", "the server is restarting", resume=True),
    Close(CLOSE_TOO_SLOW, "TOO_SLOW", "the screen fell too far behind (it stopped reading)", resume=True),
    Close(
        CLOSE_TOO_MANY_WAITING,
        "TOO_MANY_WAITING",
        "too many sockets from this address (or its IPv6 /64) are open and not yet signed in",
        resume=True,
    ),
)


def openapi_text() -> str:
    """The close codes as the OpenAPI description says them."""
    parts = [f"{c.code} {c.means}" for c in CLOSES]
    again = [str(c.code) for c in CLOSES if c.resume]
    return (
        f"Close codes: {', '.join(parts)}; each with a reason that says which. After "
        f"{', '.join(again[:-1])} and {again[-1]} come back with `since=`."
    )


def javascript() -> str:
    """static/lib/close-codes.js: the table as the pages import it."""
    lines = [
        "// Generated from floor/close_codes.py (python -m floor.close_codes > static/lib/close-codes.js): do not",
        "// edit; tests/web/test_close_codes.py checks that it matches. The live socket's close codes.",
        "",
        "export const CLOSE = Object.freeze({",
        *(f"  {c.name}: {c.code}, // {c.means}" for c in CLOSES),
        "});",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(javascript(), end="")
