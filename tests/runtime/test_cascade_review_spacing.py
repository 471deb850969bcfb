"""The review after a tap looks at the patients' waits every time, and at the cascades (every provider projected,
most of a review's cost) only once CASCADE_REVIEW_EVERY of clinic time has passed since it last did; a tick
reviews both, and so does a review asked for directly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import floor.runtime.writer as writer
from floor.clock import ManualClock
from floor.core.alerts import CASCADE_REVIEW_EVERY
from floor.core.commands import BookVisit
from floor.fanout import Hub
from floor.log.embedded import EmbeddedLog
from floor.runtime import ClinicRuntime
from tests.support.clinics import quiet_clinic
from tests.support.waiting import until

pytestmark = pytest.mark.anyio

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 09:00 in Chicago


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def reviews(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each review the runtime made looked at the cascades (the real review runs all the same)."""
    seen: list[bool] = []
    real = writer.review

    def recorded(floor, now, *, cascades: bool = True):
        seen.append(cascades)
        return real(floor, now, cascades=cascades)

    monkeypatch.setattr(writer, "review", recorded)
    return seen


async def started(data_dir: Path, clock: ManualClock) -> ClinicRuntime:
    event_log = EmbeddedLog(data_dir)
    await event_log.open()
    runtime = ClinicRuntime(quiet_clinic(), event_log, clock, Hub())
    await runtime.start()
    await runtime.learn()  # as Floors has it learn beside its start: no alert is reviewed before
    return runtime


async def test_taps_review_the_cascades_at_most_once_every_few_seconds_and_a_tick_always(
    tmp_path: Path, reviews: list[bool]
) -> None:
    clock = ManualClock(START)
    runtime = await started(tmp_path, clock)
    reviews.clear()

    async def tap_then_review() -> bool:
        before = len(reviews)
        await runtime.handle(BookVisit("Ann Lee", "kim", "follow", walk_in=True), "desk", "kiosk-1")
        await until(lambda: len(reviews) > before, "the review a tap schedules")
        return reviews[-1]

    assert await tap_then_review() is True  # none reviewed yet
    clock.advance(seconds=3)
    assert await tap_then_review() is False  # the waits only: the cascades were reviewed 3 s ago
    clock.advance(seconds=CASCADE_REVIEW_EVERY.total_seconds() - 4)
    assert await tap_then_review() is False  # still a second short
    clock.advance(seconds=1)
    assert await tap_then_review() is True

    clock.advance(seconds=1)
    before = len(reviews)
    runtime.tick()  # a tick reviews everything, however recent the last cascade review
    await until(lambda: len(reviews) > before, "the tick's review")
    assert reviews[-1] is True

    clock.advance(seconds=1)
    assert await tap_then_review() is False
    await runtime.review_alerts()  # asked for directly: everything
    assert reviews[-1] is True

    # A clock set back (a new server's, a test's) does not leave the cascades unreviewed.
    clock.set(START - dt.timedelta(minutes=1))
    assert await tap_then_review() is True
    await runtime.log.close()


async def test_a_tick_during_a_review_of_the_waits_still_gets_its_cascades_reviewed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(START)
    runtime = await started(tmp_path, clock)
    seen: list[bool] = []
    real = writer.review

    def ticked_meanwhile(floor, now, *, cascades: bool = True):
        seen.append(cascades)
        if not cascades and seen.count(False) == 1:
            runtime.tick()  # the tick comes while this review (of the waits only) is under way
        return real(floor, now, cascades=cascades)

    monkeypatch.setattr(writer, "review", ticked_meanwhile)
    await runtime.review_alerts()  # the cascades reviewed just now
    clock.advance(seconds=1)
    await runtime.handle(BookVisit("Ann Lee", "kim", "follow", walk_in=True), "desk", "kiosk-1")
    await until(lambda: False in seen, "the tap's review of the waits")
    await until(lambda: seen[seen.index(False) + 1 :].count(True) >= 1, "the cascades the tick asked for")
    await runtime.log.close()


async def test_a_change_of_the_set_up_reviews_the_cascades_at_once(tmp_path: Path, reviews: list[bool]) -> None:
    """A manager who lowers the cascade's K or L (or changes a visit type's minutes) a few seconds after a tap had the
    cascades looked at by the new ones only once CASCADE_REVIEW_EVERY had passed since, or at the next tick: the
    review after a set-up change looks at them at once, as the thresholds' rule says ('from the next review')."""
    import msgspec

    from floor.core.access import Role
    from floor.core.commands import SetThresholds

    clock = ManualClock(START)
    runtime = await started(tmp_path, clock)
    await runtime.handle(BookVisit("Ann Lee", "kim", "follow", walk_in=True), "desk", "kiosk-1")
    await until(lambda: reviews and reviews[-1] is True, "the tap's review of the cascades")
    clock.advance(seconds=3)
    before = len(reviews)
    lower = msgspec.structs.replace(runtime.clinic.thresholds, cascade_visits=2)
    await runtime.handle(SetThresholds(lower, runtime.floor.setup_version), "mgr", "console", role=Role.manager)
    await until(lambda: len(reviews) > before, "the review the change schedules")
    assert reviews[-1] is True
