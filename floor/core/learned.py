"""What Floor learned from a clinic's past days (floor/core/learning.py learns it), in a form cheap to ask.

The projection asks `expected(provider, visit_type, stage)` for every waiting visit on every review: a dict
lookup, falling back to the clinic's configured minutes where nothing was learned (a new clinic, a new
provider or visit type). `EMPTY` is what a floor carries until the runtime has learned.
"""

from __future__ import annotations

import bisect
import datetime as dt

from msgspec import Struct

from floor.config import VisitType
from floor.core.journey import Stage


class StageTimes(Struct, frozen=True):
    """What one stage of one provider's visits of one type took in past days."""

    #: The visit type's minutes in the clinic file.
    configured: int
    #: What the projection expects: the past visits' median shrunk toward `configured` (see learning.py).
    expected: float
    #: The past visits' median minutes (None: no visit counted).
    median: float | None
    #: How many past visits were counted.
    visits: int


class StepsOut(Struct, frozen=True):
    """How one provider's visits of one type went where they stepped out of them (walked in to another patient
    meanwhile, long before the visit's teach-back: floor/core/projection.py `TWO_AT_ONCE`): of `visits` seen to
    their end, `stepped` were; the median minutes from walking in to stepping out, and of the provider's own
    minutes on the visit (the time with the other patients left out)."""

    visits: int
    stepped: int
    before: float | None
    own: float | None


class UntappedIn(Struct, frozen=True):
    """How often a provider's walking in to a patient was tapped only as the visit ended (provider-in and the end
    tapped together, floor/core/projection.py `untapped_in`): of `visits` seen to their end, `untapped`."""

    visits: int
    untapped: int


#: How many order statistics a kept list of minutes holds (`Habits.late`, `CheckoutTaps.waited`).
ORDER_STATISTICS = 101


def thinned(values: list[float]) -> list[float]:
    """`values` sorted, thinned to at most ORDER_STATISTICS order statistics, each to a tenth of a minute."""
    values = sorted(values)
    if len(values) > ORDER_STATISTICS:
        values = [values[round(i * (len(values) - 1) / (ORDER_STATISTICS - 1))] for i in range(ORDER_STATISTICS)]
    return [round(x, 1) for x in values]


class CheckoutTaps(Struct, frozen=True):
    """How a clinic's front desk tapped its checkouts (floor/core/checkouts.py): of `checkouts`, `batched` came
    within seconds of another patient's (in one go); `waited`: for the batched ones that followed a teach-back
    tap, its minutes before the checkout, `thinned`."""

    checkouts: int = 0
    batched: int = 0
    waited: list[float] = []


class Habits(Struct, frozen=True):
    """How one provider's booked patients came in past days (walk-ins and visits entered in error aside)."""

    #: Booked patients who came or were marked no-show.
    booked: int
    no_shows: int
    #: The share of booked patients who do not come, shrunk toward the projection's prior.
    no_show_share: float
    #: Booked patients who came, and the median minutes they came after their planned rooming (<0: early).
    arrivals: int
    late_median: float | None
    #: The minutes after planned rooming at which patients came, `thinned`.
    late: list[float]
    #: The median minutes from a booked patient's arrival to the provider walking in, over how many visits.
    to_provider: float | None
    to_provider_visits: int

    def still(self, x: float) -> float:
        """The share of past arrivals who came more than `x` minutes after their planned rooming."""
        if not self.late:
            return 0.0
        return (len(self.late) - bisect.bisect_right(self.late, x)) / len(self.late)


class Learned(Struct, frozen=True):
    """Stage minutes per provider, visit type and stage (keys "provider/visit_type/stage"), each provider's
    habits, and how late the clinic's taps come, from the past clinic days in `days`."""

    days: list[dt.date] = []
    stages: dict[str, StageTimes] = {}
    habits: dict[str, Habits] = {}
    #: Provider changes counted (a provider's visit whose time with them ended at a teach-back tap, and the
    #: provider's next visit), and of them those taken as a late tap: the next patient's provider-in tapped a
    #: few minutes (at most floor/core/learning.py `TAP_LAG_CAP`) before that teach-back, by a provider who
    #: does not see two patients at once as often (`two_at_once_changes`).
    provider_changes: int = 0
    late_tap_changes: int = 0
    #: Minutes a tap here may come after its step: the median overlap of those changes, once there are enough
    #: of them (floor/core/learning.py, `LATE_TAP_EVIDENCE`); 0 where the taps show none.
    tap_lag: float = 0.0
    #: Provider changes where the next patient's provider-in came more than a late tap's minutes before the
    #: last visit's teach-back: the provider stepped out of a visit and saw another meanwhile, two at once.
    two_at_once_changes: int = 0
    #: How many visits' worth of belief a provider's usual pace (the learned minutes) has against the day's own
    #: visits: the weight that best foretold each past visit's minutes with the provider from the visits before
    #: it that day (floor/core/learning.py `_pace_weight`), over `pace_visits` visits foretold; 0: too few to
    #: say (floor/core/projection.py PACE_PRIOR).
    pace_weight: float = 0.0
    pace_visits: int = 0
    #: Per provider and visit type (keys `steps_key`), how often the provider stepped out of such a
    #: visit to see another patient, and when (`StepsOut`).
    steps_out: dict[str, StepsOut] = {}
    #: Per provider, how often their walking in went untapped until the visit's end (`UntappedIn`).
    untapped_in: dict[str, UntappedIn] = {}
    #: How the front desk tapped its checkouts: one at a time or in batches (`CheckoutTaps`).
    checkouts: CheckoutTaps = CheckoutTaps()

    def times(self, provider: str, visit_type: str, stage: Stage) -> StageTimes | None:
        return self.stages.get(stage_key(provider, visit_type, stage))

    def stepping_out(self, provider: str, visit_type: str) -> StepsOut | None:
        """How often and when the provider stepped out of visits of this type on past days (None: never)."""
        return self.steps_out.get(steps_key(provider, visit_type)) if self.steps_out else None

    def expected(self, provider: str, vtype: VisitType, stage: Stage) -> float:
        """Minutes a visit of this type with this provider is expected to spend in `stage`: learned, or the
        clinic's configured minutes where nothing was. The configured minutes are the prior the past visits are
        shrunk toward: where they changed since it was learned (a manager set the visit type's minutes from the
        browser), the same past visits are shrunk toward the new ones at once, not at the next day's learning."""
        configured = getattr(vtype.stage_minutes, stage)
        learned = self.stages.get(stage_key(provider, vtype.code, stage))
        if learned is None:
            return float(configured)
        if learned.configured == configured or learned.median is None:
            return learned.expected
        return round(shrunk(configured, learned.median, learned.visits), 2)


#: How many visits' worth of belief in the configured minutes (floor/core/learning.py).
PRIOR_VISITS = 10.0


def shrunk(configured: float, median: float, visits: int) -> float:
    """The past visits' median minutes shrunk toward the configured minutes, with PRIOR_VISITS visits' worth of belief
    in them: a handful of visits moves it a little, a month of them to what the clinic really takes."""
    return (PRIOR_VISITS * configured + visits * median) / (PRIOR_VISITS + visits)


def stage_key(provider: str, visit_type: str, stage: Stage) -> str:
    """The key of `Learned.stages`. A stage is a `str` (its value), so it is joined as one: `stage.value` is an
    enum property, and the projection asks this a few hundred times per review (loadtests/review_cost.py)."""
    return provider + "/" + visit_type + "/" + stage


def steps_key(provider: str, visit_type: str) -> str:
    """The key of `Learned.steps_out`."""
    return provider + "/" + visit_type


#: Nothing learned: every expectation is the clinic's configured minutes.
EMPTY = Learned()
