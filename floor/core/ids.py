"""Ids for visits and alerts, and the wall's short visit tokens.

An id is drawn at random, never made from the log's seq: a log can lose its last events (a Redis failover
keeps only what the replica had), and the seqs it lost are then given to other events. An id made from one
(`v53`) would then name another patient, and a tablet still holding it would tap someone else. A random
id stays with its visit whatever the log loses.

Where the randomness comes from is injected, as the time is: production draws from the operating system
(floor.ids.secure), tests and offline replays from a seeded generator, so they repeat exactly.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Container

#: Crockford's base 32 (no i, l, o or u to misread), lower case: ids stay short and URL-safe.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
#: Characters drawn for an id: 60 bits. A clinic booking 200 visits a day for fifty years has about one
#: chance in 170,000 of ever drawing the same id twice (and today's floor redraws an id it already has).
ID_CHARS = 12
#: Characters of a visit's wall token: 32,768 of them, redrawn while one is taken on the day's floor.
TOKEN_CHARS = 3
#: Draws before a token that is taken is kept anyway (only a day with nearly 32,768 visits gets there).
TOKEN_TRIES = 64

#: n characters of ALPHABET, drawn at random.
Draw = Callable[[int], str]


class Ids:
    """Where a floor's new ids come from. Copies of a floor (an import's plan, a preview) share the source,
    so an id drawn on a copy is never drawn again."""

    def __init__(self, draw: Draw) -> None:
        self._draw = draw

    @classmethod
    def seeded(cls, seed: int | str = 0) -> Ids:
        """The same ids for the same seed: tests, simulations and replays that must repeat."""
        rng = random.Random(seed)
        return cls(lambda n: "".join(rng.choice(ALPHABET) for _ in range(n)))

    def __deepcopy__(self, memo: dict) -> Ids:
        return self

    def visit(self, taken: Container[str] = ()) -> str:
        return self._fresh("v", taken)

    def alert(self, taken: Container[str] = ()) -> str:
        return self._fresh("a", taken)

    def token(self, taken: Container[str] = ()) -> str:
        token = ""
        for _ in range(TOKEN_TRIES):
            token = self._draw(TOKEN_CHARS).upper()
            if token not in taken:
                break
        return token

    def _fresh(self, prefix: str, taken: Container[str]) -> str:
        while (new := prefix + self._draw(ID_CHARS)) in taken:
            pass
        return new


class NoIds(Ids):
    """A floor built only to fold stored events (a past day, a projection) draws no id: deciding on it is a
    mistake, said at once rather than answered with an id that may repeat."""

    def __init__(self) -> None:
        super().__init__(self._refuse)

    @staticmethod
    def _refuse(n: int) -> str:
        raise RuntimeError(
            "this floor was built to fold stored events and has no id source: build it with ids= to decide new events"
        )


_TOKEN_ALPHABET = ALPHABET.upper()


def legacy_token(visit_id: str) -> str:
    """The token of a visit booked before tokens were stored with it (its id was `v{seq}`): derived from the
    id as it always was, so old days show the same tokens. Distinct for the first 32,768 events of a
    clinic's log and shuffled, so neighbouring bookings do not get neighbouring tokens."""
    digits = visit_id[1:]
    if visit_id.startswith("v") and digits.isdigit():
        n = int(digits)
    else:
        n = int.from_bytes(hashlib.sha256(visit_id.encode()).digest()[:4], "big")
    x = (n * 0x5BD1 + 0x3A7) % 32768  # an odd multiplier: one-to-one on 0..32767
    return "".join(_TOKEN_ALPHABET[(x >> shift) & 31] for shift in (10, 5, 0))
