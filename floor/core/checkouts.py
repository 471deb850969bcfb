"""A front desk that taps checkouts in batches, and what that means for "waiting for checkout".

Many desks do not tap a checkout as the patient leaves: they check out every patient who has gone in one go,
every quarter of an hour or so. There a patient whose teach-back was tapped ten minutes ago has most likely left
already, and the "waiting for checkout" alert at the clinic's limit is noise on every screen (loadtests/
dwell_quality.py, the third model's desks that batch every 15 to 25 minutes: 7 to 17 false alerts per
provider-day in five clinics, precision 0.28 to 0.51). The taps show such a desk plainly: a large share of its
checkouts are tapped within BATCH_SECONDS of another patient's, where a desk that taps as patients leave has one
in seven or fewer so close (every world of Floor's simulator and every scenario of the fourth model: 0 to 0.14;
the desks that batch: about 0.5 to 0.92, the one with the fewest patients lowest). A checkout is judged by when
it was tapped, not when the desk says it happened ("minutes ago"): a desk that says when each patient left still
taps them in one go.

What a batch tells: everyone who had left by then was checked out in it. So at such a desk, a patient past the
checkout limit, not yet alerted, is held back from the alert until a batch (two checkouts or more together, and
over: one alone may be a patient checked out as they left, or by someone else) has come at least half the limit
after their teach-back without them (they had time to leave, and were not checked out with the others: they may
well be waiting, or be forgotten), or until longer after their teach-back than the desk's batched checkouts
take (`CheckoutTaps.waited`, its 99th percentile; at most HOLD_MOST). An alert once raised is never held back:
it stays until the patient moves on.

Counted on past days (floor/core/learning.py, `Learned.checkouts`) and the day's own checkouts together, as
`walks_in_untapped` counts a provider's untapped walking in, so a new clinic's desk is known by its first hour of
batches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cached_property
from itertools import pairwise

from floor.core.floor import Visit
from floor.core.journey import Stage
from floor.core.learned import CheckoutTaps, thinned

#: Two checkouts tapped this close together were tapped in one go.
BATCH_SECONDS = 20.0
#: A desk is taken to batch its checkouts where at least this share of at least BATCH_EVIDENCE of them (past
#: days' and today's together) were tapped within BATCH_SECONDS of another.
BATCH_SHARE = 0.4
BATCH_EVIDENCE = 20
#: Of the limit, how long after a patient's teach-back a batch without them says they had time to leave.
LEFT_BY_SHARE = 0.5
#: Which share of the desk's batched checkouts were tapped within `CheckoutTaps.waited` of their teach-back.
WAITED_SHARE = 0.99
#: The longest a patient is held back, in minutes after their teach-back, whatever the desk's past checkouts say
#: (patients forgotten and checked out together at the day's end make the longest of them hours), and where they
#: say nothing (no batched checkout followed a teach-back tap). The third model's desks batch every 15 to 25
#: minutes: their patients' checkouts come at most about 30 minutes after the teach-back.
HOLD_MOST = 40.0


def checkout_taps(visits: Iterable[Visit]) -> CheckoutTaps:
    """The day's checkouts (`visits`: a day's), how many were tapped in batches, and for those that followed a
    teach-back, its minutes before the checkout's tap."""
    checkouts, batched, waits = counted(visits)
    return CheckoutTaps(checkouts, batched, thinned(waits))


def counted(visits: Iterable[Visit]) -> tuple[int, int, list[float]]:
    """`checkout_taps`' figures, the minutes not thinned (floor/core/learning.py adds up several days')."""
    out = _checkouts(visits)
    in_batch = _in_batch([at for at, _ in out])
    return len(out), sum(in_batch), _waits(out, in_batch)


def _waits(out: list[tuple[dt.datetime, dt.datetime | None]], in_batch: list[bool]) -> list[float]:
    """The minutes from each batched checkout's teach-back (where it had one) to its tap."""
    return [
        (at - taught).total_seconds() / 60
        for (at, taught), batched in zip(out, in_batch, strict=True)
        if batched and taught is not None and taught <= at
    ]


def _checkouts(visits: Iterable[Visit]) -> list[tuple[dt.datetime, dt.datetime | None]]:
    """Each checked-out visit's checkout as tapped (not as told: a desk that says when each patient left still
    taps them in one go) and its teach-back (None: none), in the order tapped."""
    out = []
    for v in visits:
        if v.stage is Stage.checked_out and v.steps:
            step = v.steps[-1]
            out.append((step.tapped or step.at, v.times.get(Stage.teach_back_done)))
    return sorted(out, key=lambda checkout: checkout[0])


def _in_batch(times: list[dt.datetime]) -> list[bool]:
    """For each of `times` (sorted), whether another is within BATCH_SECONDS of it."""
    close = [(b - a).total_seconds() <= BATCH_SECONDS for a, b in pairwise(times)]
    return [(i > 0 and close[i - 1]) or (i < len(close) and close[i]) for i in range(len(times))]


def judged(c: CheckoutTaps) -> bool:
    """Whether these checkouts are enough to say how the desk taps them."""
    return c.checkouts >= BATCH_EVIDENCE


def batches(c: CheckoutTaps) -> bool:
    """Whether the desk taps its checkouts in batches, as these checkouts say."""
    return judged(c) and c.batched >= BATCH_SHARE * c.checkouts


def waited(c: CheckoutTaps) -> float | None:
    """The minutes after a teach-back within which WAITED_SHARE of the batched checkouts were tapped (None: no
    batched checkout followed a teach-back)."""
    if not c.waited:
        return None
    return c.waited[min(len(c.waited) - 1, int(WAITED_SHARE * len(c.waited)))]


class Desk:
    """The front desk's checkouts as a review sees them: whether it batches (past days' and today's together),
    and when today's checkouts were tapped. Built at most once per review, only where a patient is past the limit
    and not yet alerted."""

    def __init__(self, learned: CheckoutTaps, today: Iterable[Visit]) -> None:
        self._out = _checkouts(today)
        #: When today's checkouts were tapped, and of them those in a batch (within BATCH_SECONDS of another).
        self.times = [at for at, _ in self._out]
        self._in_batch = _in_batch(self.times)
        self.batch_times = [at for at, batched in zip(self.times, self._in_batch, strict=True) if batched]
        self._learned = learned
        together = CheckoutTaps(learned.checkouts + len(self.times), learned.batched + len(self.batch_times))
        #: Whether past days' and today's checkouts are enough to judge the desk, and whether it batches.
        self.judged = judged(together)
        self.batches = batches(together)

    @cached_property
    def own(self) -> CheckoutTaps:
        """Today's checkouts, as `checkout_taps` counts them."""
        waits = _waits(self._out, self._in_batch)
        return CheckoutTaps(len(self.times), len(self.batch_times), thinned(waits))

    @cached_property
    def most(self) -> float | None:
        """How long after a teach-back most batched checkouts were tapped: as past days say where they hold as many
        batched checkouts as it takes to judge a desk, and some of them followed a teach-back; otherwise as today's
        say (None: neither says)."""
        learned = self._learned
        if learned.batched >= BATCH_EVIDENCE and learned.waited:
            return waited(learned)
        return waited(self.own) if self.own.waited else waited(learned)

    def longest(self, limit_minutes: float) -> float:
        """The most minutes after a teach-back a patient is held back from the alert: the limit at least, then
        as long as most of the desk's batched checkouts took (`most`), at most HOLD_MOST."""
        return max(limit_minutes, min(self.most if self.most is not None else HOLD_MOST, HOLD_MOST))

    def held(self, limit_minutes: float) -> float | None:
        """The most minutes after a teach-back a patient is held back (`longest`), where anyone is: the desk batches
        and its batched checkouts take longer than the limit (None: nobody is held, the alert comes at the limit)."""
        longest = self.longest(limit_minutes)
        return longest if self.batches and longest > limit_minutes else None

    def holds(self, taught: dt.datetime, limit_minutes: float, now: dt.datetime) -> bool:
        """Whether a patient whose teach-back was at `taught`, past the limit now and not yet alerted, is held back
        from the alert: the desk batches, no batch has come since they had time to leave, and it is not yet
        `longest` after their teach-back."""
        if not self.batches or now >= taught + dt.timedelta(minutes=self.longest(limit_minutes)):
            return False
        # A batch is over once the desk has tapped no checkout for BATCH_SECONDS: until then the patient may be
        # next in it (a batch is tapped one patient at a time).
        if self.times and self.times[-1] > now - dt.timedelta(seconds=BATCH_SECONDS):
            return True
        left_by = taught + dt.timedelta(minutes=LEFT_BY_SHARE * limit_minutes)
        # A checkout tapped alone says less: it may be one the desk made as the patient left, or someone else's.
        return not (self.batch_times and self.batch_times[-1] >= left_by)
