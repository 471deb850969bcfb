"""Schedules kept for days ahead, on both backends (a file per day beside the embedded log; a Redis hash per
clinic): kept, replaced, listed, removed, per clinic, and still there after a reopen."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import msgspec
import pytest

from floor.config import AppointmentTime, demo_clinic
from floor.core.learned import Learned, StageTimes
from floor.schedule.upcoming import FileUpcoming, RedisUpcoming, Upcoming, UpcomingSchedule
from tests.support.redis_server import forget_prefix

pytestmark = pytest.mark.anyio

Opener = Callable[[], Awaitable[Upcoming]]
AT = dt.datetime(2026, 11, 23, 23, 0, tzinfo=dt.UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["file", "redis"])
async def open_upcoming(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    opened: list[Upcoming] = []
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""

    async def opener() -> Upcoming:
        kept = FileUpcoming(tmp_path) if request.param == "file" else RedisUpcoming(url, prefix=prefix)
        await kept.open()
        opened.append(kept)
        return kept

    yield opener
    for kept in opened:
        await kept.close()
    if request.param == "redis":
        await forget_prefix(url, prefix)


def schedule(day: int, body: bytes = b"external_id,time\n", clinic: str = "riverside") -> UpcomingSchedule:
    return UpcomingSchedule(clinic, dt.date(2026, 11, day), "csv", body, 1, AT, "mgr-dana", "tablet-1")


async def test_kept_replaced_listed_and_removed_per_clinic(open_upcoming: Opener) -> None:
    kept = await open_upcoming()
    assert await kept.days("riverside") == []
    assert await kept.get("riverside", dt.date(2026, 11, 24)) is None
    await kept.put(schedule(25))
    await kept.put(schedule(24, b"first\xff"))
    await kept.put(schedule(24, b"second \x00 file"))  # bytes kept exactly, whatever they are
    await kept.put(schedule(24, clinic="hillside"))
    assert await kept.days("riverside") == [dt.date(2026, 11, 24), dt.date(2026, 11, 25)]
    assert await kept.get("riverside", dt.date(2026, 11, 24)) == schedule(24, b"second \x00 file")

    again = await open_upcoming()
    assert await again.get("riverside", dt.date(2026, 11, 25)) == schedule(25)
    assert await again.remove("riverside", dt.date(2026, 11, 24))
    assert not await again.remove("riverside", dt.date(2026, 11, 24))
    assert await again.days("riverside") == [dt.date(2026, 11, 25)]
    assert await again.days("hillside") == [dt.date(2026, 11, 24)]


async def test_a_schedule_is_removed_only_as_it_was_seen(open_upcoming: Opener) -> None:
    """A withdrawal goes with the file the manager saw: one replaced since (another manager's newer file) stays
    (a late Withdraw took the newer file away: a review of the console)."""
    kept = await open_upcoming()
    await kept.put(schedule(24, b"first"))
    seen = await kept.get("riverside", dt.date(2026, 11, 24))
    await kept.put(schedule(24, b"second"))
    assert not await kept.remove("riverside", dt.date(2026, 11, 24), only=seen)
    assert await kept.get("riverside", dt.date(2026, 11, 24)) == schedule(24, b"second")
    now = await (await open_upcoming()).get("riverside", dt.date(2026, 11, 24))
    assert await kept.remove("riverside", dt.date(2026, 11, 24), only=now)
    assert await kept.days("riverside") == []
    assert not await kept.remove("riverside", dt.date(2026, 11, 24), only=now)


async def test_the_clinic_file_each_day_ran_on_is_kept_replaced_per_day_and_forgotten_with_old_days(
    open_upcoming: Opener,
) -> None:
    """A past day is measured by the clinic file it ran on, not today's (a review: a switch of appointment_time
    rewrote last week's on-time starts)."""
    base = demo_clinic()
    provider_time = msgspec.structs.replace(
        base, session=msgspec.structs.replace(base.session, appointment_time=AppointmentTime.provider)
    )
    kept = await open_upcoming()
    assert await kept.clinic_on("riverside", dt.date(2026, 11, 23)) is None  # a day run before any was kept
    await kept.keep_clinic(base, dt.date(2026, 11, 23))
    await kept.keep_clinic(base, dt.date(2026, 11, 24))
    await kept.keep_clinic(provider_time, dt.date(2026, 11, 24))  # restarted that day on a new file: the last
    again = await open_upcoming()
    assert await again.clinic_on("riverside", dt.date(2026, 11, 23)) == base
    assert await again.clinic_on("riverside", dt.date(2026, 11, 24)) == provider_time
    assert await again.clinic_on("hillside", dt.date(2026, 11, 23)) is None
    await again.forget_clinics_before("riverside", dt.date(2026, 11, 24))
    assert await again.clinic_on("riverside", dt.date(2026, 11, 23)) is None
    assert await again.clinic_on("riverside", dt.date(2026, 11, 24)) == provider_time
    assert await again.days("riverside") == []  # the schedules kept ahead are another thing


async def test_what_each_day_learned_is_kept_replaced_per_day_and_forgotten_with_old_days(
    open_upcoming: Opener,
) -> None:
    """A past day's lateness chart is projected with what the day was learned to expect (a review of a week)."""
    monday = Learned(days=[dt.date(2026, 11, 20)], stages={"kim/follow/provider_in": StageTimes(12, 18.5, 24.0, 60)})
    again_monday = Learned(days=[dt.date(2026, 11, 20)], tap_lag=2.0)
    tuesday = Learned(days=[dt.date(2026, 11, 20), dt.date(2026, 11, 23)], pace_weight=8.0, pace_visits=120)
    kept = await open_upcoming()
    assert await kept.learned_on("riverside", dt.date(2026, 11, 23)) is None
    await kept.keep_learned("riverside", dt.date(2026, 11, 23), monday)
    await kept.keep_learned("riverside", dt.date(2026, 11, 23), again_monday)  # learned again that day: the last
    await kept.keep_learned("riverside", dt.date(2026, 11, 24), tuesday)
    again = await open_upcoming()
    assert await again.learned_on("riverside", dt.date(2026, 11, 23)) == again_monday
    assert await again.learned_on("riverside", dt.date(2026, 11, 24)) == tuesday
    assert await again.learned_on("hillside", dt.date(2026, 11, 23)) is None
    await again.forget_clinics_before("riverside", dt.date(2026, 11, 24))
    assert await again.learned_on("riverside", dt.date(2026, 11, 23)) is None
    assert await again.learned_on("riverside", dt.date(2026, 11, 24)) == tuesday


async def test_the_set_up_kept_per_clinic_is_kept_only_over_one_set_before_it_and_survives_a_reopen(
    open_upcoming: Opener,
) -> None:
    from floor.config import Room
    from floor.schedule.upcoming import KeptSetUp

    rooms = list(demo_clinic().rooms)
    kept = await open_upcoming()
    assert await kept.setup_of("riverside") is None
    newer = KeptSetUp(12, dt.date(2026, 11, 23), [*rooms, Room("n1", "North 1", "north")], rooms)
    assert await kept.keep_setup("riverside", newer)
    # A server slower to follow the log keeps an older set-up after it: the newer one stands.
    assert not await kept.keep_setup("riverside", KeptSetUp(7, dt.date(2026, 11, 23), rooms[:3], rooms))
    from_file = KeptSetUp(30, dt.date(2026, 11, 24), None, rooms)
    assert await kept.keep_setup("hillside", from_file)
    reopened = await open_upcoming()
    assert await reopened.setup_of("riverside") == newer
    assert await reopened.setup_of("hillside") == from_file


async def test_a_schedule_is_kept_only_over_the_one_its_manager_saw(open_upcoming: Opener) -> None:
    """Keeping a checked file goes with what was kept when it was checked: a file kept since by another manager,
    or one withdrawn since, is not replaced unseen (Keep replaced a file another manager kept in between: a review
    of the console)."""
    kept = await open_upcoming()
    day = dt.date(2026, 11, 24)
    first = schedule(24, b"first")
    assert await kept.put(first, replaces=None)  # nothing was kept: kept
    assert not await kept.put(schedule(24, b"blind"), replaces=None)  # one is kept now
    later = msgspec.structs.replace(schedule(24, b"second"), staged_at=AT + dt.timedelta(minutes=5))
    assert await kept.put(later, replaces=AT)  # over the first, as seen
    stale = msgspec.structs.replace(schedule(24, b"third"), staged_at=AT + dt.timedelta(minutes=9))
    assert not await kept.put(stale, replaces=AT)  # the first is gone: the second stays
    assert await kept.get("riverside", day) == later
    assert await kept.remove("riverside", day)
    assert not await kept.put(stale, replaces=later.staged_at)  # withdrawn since: nothing is kept
    assert await kept.get("riverside", day) is None
    assert await kept.put(stale)  # without a condition, kept whatever is there
    assert await kept.put(first)
    assert await kept.get("riverside", day) == first


async def test_of_files_kept_at_once_over_the_same_one_only_one_is_kept(open_upcoming: Opener) -> None:
    """Managers keeping their checked files for one day at the same moment, each over the file they saw: one is
    kept, the others are told, never one kept and then replaced by another that had not seen it."""
    kept = await open_upcoming()
    await kept.put(schedule(24, b"seen"))
    files = [
        msgspec.structs.replace(schedule(24, f"file {n}".encode()), staged_at=AT + dt.timedelta(seconds=n + 1))
        for n in range(6)
    ]
    done = await asyncio.gather(*(kept.put(f, replaces=AT) for f in files))
    assert sum(done) == 1, done
    assert await kept.get("riverside", dt.date(2026, 11, 24)) == files[done.index(True)]
