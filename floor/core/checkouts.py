"""A front desk that taps checkouts in batches, and what that means for "waiting for checkout".

Many desks do not tap a checkout as the patient leaves: they check out every patient who has gone in one go,
every quarter of an hour or so. There a patient whose teach-back was tapped ten minutes ago has most likely left
already, and the "waiting for checkout" alert at the clinic's limit is noise on every screen (loadtests/
dwell_quality.py, the third model's desks that batch every 15 to 25 minutes: 13 to 17 false alerts per
provider-day, precision 0.28 to 0.51). The taps show such a desk plainly: most checkouts come within
BATCH_SECONDS of another patient's, where a desk that taps as patients leave has one in ten or fewer so close
(every world of Floor's simulator and of the fourth model: 0.05 to 0.13; the desks that batch: 0.58 to 0.92).

What a batch tells: everyone who had left by then was checked out in it. So at such a desk, a patient past the
checkout limit is held back from the alert until a batch (two checkouts or more together: one alone may be a patient
checked out as they left, or by someone else) has come without them, at least half the limit after their
teach-back (they had time to leave, and were not checked out with the others: they may well be waiting,
or be forgotten), or, if the desk stops batching, until longer after their teach-back than most of the desk's
batched checkouts have come (`CheckoutTaps.waited`, its 99th percentile).

Counted on past days (floor/core/learning.py, `Learned.checkouts`) and the day's own checkouts together, as
`walks_in_untapped` counts a provider's untapped walking in, so a new clinic's desk is known by its first hour of
batches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from floor.core.floor import Visit
from floor.core.journey import Stage
from floor.core.learned import CheckoutTaps

#: Two checkouts this close together were tapped in one go.
BATCH_SECONDS = 20.0
#: A desk is taken to batch its checkouts where at least this share of at least BATCH_EVIDENCE of them (past
#: days' and today's together) came within BATCH_SECONDS of another.
BATCH_SHARE = 0.4
BATCH_EVIDENCE = 20
#: Of the limit, how long after a patient's teach-back a batch without them says they had time to leave.
LEFT_BY_SHARE = 0.5
#: Which share of the desk's batched checkouts came within `CheckoutTaps.waited` of their teach-back.
WAITED_SHARE = 0.99
#: How many order statistics of those minutes are kept.
WAITED_POINTS = 101


def checkout_taps(visits: Iterable[Visit]) -> CheckoutTaps:
    """The day's checkouts (`visits`: a day's), how many were tapped in batches, and for those that followed a
    teach-back tap, its minutes before the checkout."""
    checkouts, batched, waits = counted(visits)
    return CheckoutTaps(checkouts, batched, thinned(waits))


def counted(visits: Iterable[Visit]) -> tuple[int, int, list[float]]:
    """`checkout_taps`' figures, the minutes not thinned (floor/core/learning.py adds up several days')."""
    out = sorted(
        (
            (v.times[Stage.checked_out], v.times.get(Stage.teach_back_done))
            for v in visits
            if Stage.checked_out in v.times and not v.entered_in_error
        ),
        key=lambda out: out[0],
    )
    times = [at for at, _ in out]
    batched, waits = 0, []
    for i, (at, taught) in enumerate(out):
        if _close(times, i, i - 1) or _close(times, i, i + 1):
            batched += 1
            if taught is not None and taught <= at:
                waits.append((at - taught).total_seconds() / 60)
    return len(out), batched, waits


def _close(times: list[dt.datetime], i: int, j: int) -> bool:
    return 0 <= j < len(times) and abs((times[j] - times[i]).total_seconds()) <= BATCH_SECONDS


def thinned(values: list[float]) -> list[float]:
    """`values` sorted, thinned to at most WAITED_POINTS order statistics, each to a tenth of a minute."""
    values = sorted(values)
    if len(values) > WAITED_POINTS:
        values = [values[round(i * (len(values) - 1) / (WAITED_POINTS - 1))] for i in range(WAITED_POINTS)]
    return [round(x, 1) for x in values]


def batches(c: CheckoutTaps) -> bool:
    """Whether the desk taps its checkouts in batches, as these checkouts say."""
    return c.checkouts >= BATCH_EVIDENCE and c.batched >= BATCH_SHARE * c.checkouts


def waited(c: CheckoutTaps) -> float | None:
    """The minutes after a teach-back within which WAITED_SHARE of the batched checkouts came (None: none)."""
    if not c.waited:
        return None
    return c.waited[min(len(c.waited) - 1, int(WAITED_SHARE * len(c.waited)))]


class Desk:
    """The front desk's checkouts as a review sees them: whether it batches (past days' and today's together)
    and when today's checkouts were tapped. Built once per review, only where a patient is past the limit."""

    def __init__(self, learned: CheckoutTaps, today: Iterable[Visit]) -> None:
        visits = list(today)
        #: Today's checkouts.
        self.own = own = checkout_taps(visits)
        self.batches = batches(CheckoutTaps(learned.checkouts + own.checkouts, learned.batched + own.batched))
        #: How long after a teach-back most batched checkouts came: as past days say, once they hold enough of them;
        #: otherwise as today's do.
        self.most = waited(learned if learned.batched >= BATCH_EVIDENCE or not own.waited else own)
        #: When today's checkouts were tapped, and of them those in a batch (within BATCH_SECONDS of another).
        self.times = sorted(v.times[Stage.checked_out] for v in visits if Stage.checked_out in v.times)
        self.batch_times = [
            at for i, at in enumerate(self.times) if _close(self.times, i, i - 1) or _close(self.times, i, i + 1)
        ]

    def holds(self, taught: dt.datetime, limit_minutes: float, now: dt.datetime) -> bool:
        """Whether a patient whose teach-back was tapped at `taught`, past the limit now, is held back from the
        alert: the desk batches, no batch has come since they had time to leave, and not yet longer after their
        teach-back than most batched checkouts came."""
        if not self.batches:
            return False
        if self.most is not None and now >= taught + dt.timedelta(minutes=max(self.most, limit_minutes)):
            return False
        # A batch is over once the desk has tapped no checkout for BATCH_SECONDS: until then the patient may be
        # next in it (a batch is tapped one patient at a time).
        over = now - dt.timedelta(seconds=BATCH_SECONDS)
        if self.times and self.times[-1] > over:
            return True
        left_by = taught + dt.timedelta(minutes=LEFT_BY_SHARE * limit_minutes)
        # A checkout tapped alone says less: it may be one the desk made as the patient left, or someone else's.
        return not any(left_by <= at for at in self.batch_times)
