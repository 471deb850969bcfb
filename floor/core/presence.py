"""Provider presence: whether a provider is on the floor, as staff say it with one tap.

"running_late" (not at the clinic yet), "stepped_away" (called away mid-session), each with the minutes they
expect to be (optional), and "back". The floor keeps each provider's taps so that the last can be undone;
the projection (floor.core.projection) holds a provider who is marked away as not free until they are
expected back.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from msgspec import Struct


class Presence(StrEnum):
    running_late = "running_late"
    stepped_away = "stepped_away"
    back = "back"


#: The marks that say the provider is not on the floor.
AWAY = (Presence.running_late, Presence.stepped_away)
#: The longest absence a tap may announce (minutes).
MAX_AWAY_MINUTES = 240


class PresenceMark(Struct):
    """One presence tap that undo can still reverse, and the provider's presence while it is the last."""

    seq: int
    status: Presence
    since: dt.datetime
    #: When they said they would be back (since + the minutes given); None: they gave no minutes.
    back_at: dt.datetime | None = None
    #: Who tapped it: they (or a manager) may undo it.
    by: str = ""

    @property
    def away(self) -> bool:
        return self.status in AWAY


class ProviderPresenceView(Struct):
    """A provider's presence as screens show it: the standing mark, or "back"/present with no mark."""

    provider: str
    status: Presence
    since: dt.datetime | None = None
    back_at: dt.datetime | None = None
    by: str | None = None
    #: The per-provider version (the count of presence events): an undo names the one it saw.
    version: int = 0
