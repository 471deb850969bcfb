"""A stopping server tells its screens when to come back (the close reason's retry=MS), spread so that they
do not all dial at once: a listen queue that overflows drops connects the client's kernel retries only 1, 3,
7 s later. static/lib/feed.js reads it (tests/browser/test_live_screens.py rides out a restart with it), as
loadtests/fanout.py's sockets do."""

from __future__ import annotations

import re

from floor.web.frames import RECONNECT_FIRST_MS, RECONNECTS_PER_SECOND, RESTARTING, reconnect_after


def test_screens_are_spread_over_the_seconds_the_server_takes_them_in() -> None:
    waits = [reconnect_after(n, 20_000) for n in range(20_000)]
    # The first once the server is likely back: a larger server takes longer to stop and start.
    assert waits[0] > reconnect_after(0, 100) > RECONNECT_FIRST_MS
    assert waits == sorted(waits)
    # Never more than RECONNECTS_PER_SECOND told to come back within one second.
    per_second: dict[int, int] = {}
    for ms in waits:
        per_second[ms // 1000] = per_second.get(ms // 1000, 0) + 1
    assert max(per_second.values()) <= RECONNECTS_PER_SECOND
    assert waits[-1] - waits[0] >= 1000 * (20_000 // RECONNECTS_PER_SECOND) - 1000


def test_a_screen_closed_late_in_a_long_shutdown_keeps_its_turn() -> None:
    # Closing 20,000 screens takes the server a while: a screen closed 900 ms after the first waits 900 ms less,
    # so it comes back at its turn counted from when the closing began, not 900 ms after it.
    assert reconnect_after(19_999, 20_000, closing_ms=900) == reconnect_after(19_999, 20_000) - 900
    assert reconnect_after(5, 20_000, closing_ms=0) == reconnect_after(5, 20_000)
    # Never a negative wait: a screen whose turn has passed comes back at once.
    assert reconnect_after(0, 100, closing_ms=60_000) == 0


def test_the_reason_carries_the_wait_and_fits_a_close_frame() -> None:
    reason = RESTARTING.format(ms=reconnect_after(19_999, 20_000))
    assert re.search(r"retry=(\d+) ms", reason)[1] == str(reconnect_after(19_999, 20_000))
    assert len(reason.encode()) <= 123  # a close frame's reason
