"""A clinic learns from its own past days in the log, on both backends: a few past days where Dr. Kim's
follow-ups take twice the configured 12 minutes change how today's waiting visits are projected; a clinic
with no history expects the configured minutes. Learning reads a bounded number of past days, never writes
them, and runs beside a starting server, not in its way."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import msgspec
import pytest

from floor.clock import ManualClock
from floor.core.commands import BookVisit
from floor.core.journey import Stage
from floor.core.learned import PRIOR_VISITS
from floor.core.learning import LEARN_DAYS
from floor.fanout import Hub
from floor.log.base import EventLog, Record
from floor.log.embedded import EmbeddedLog
from floor.log.files import OsFiles
from floor.runtime import ClinicRuntime
from tests.support.clinics import quiet_clinic
from tests.support.history import PastDay, write_late_tap_days
from tests.support.logs import Opener
from tests.support.staff import test_floors

pytestmark = pytest.mark.anyio

CLINIC = quiet_clinic()
TODAY = dt.date(2026, 11, 23)
MORNING = CLINIC.local(TODAY, dt.time(8))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def write_past_days(log: EventLog, days: int, visits: int = 6, with_provider: float = 24) -> int:
    """`days` past clinic days (the last ones before today) of Dr. Kim's follow-ups; the last seq."""
    seq = 0
    for n in range(days, 0, -1):
        day = PastDay(CLINIC, TODAY - dt.timedelta(days=n), base_seq=seq)
        for _ in range(visits):
            day.seen("kim", "follow", with_provider=with_provider)
        await log.append_all(CLINIC.id, [Record(e) for e in day.events])
        seq = day.events[-1].seq
    return seq


async def todays_morning(runtime: ClinicRuntime) -> None:
    """Four follow-ups each for Dr. Kim and Dr. Okafor, every 15 minutes from 09:00, nobody here yet."""
    for provider in ("kim", "okafor"):
        for i in range(4):
            start = CLINIC.local(TODAY, dt.time(9)) + dt.timedelta(minutes=15 * i)
            answer = await runtime.handle(BookVisit(f"{provider} {i}", provider, "follow", start), "desk-ana", "t1")
            assert answer.event.type == "booked"


def with_provider(runtime: ClinicRuntime, provider: str) -> list[float]:
    """Minutes each of the provider's waiting visits is projected to keep them."""
    (delay,) = [d for d in runtime.delays() if d.provider == provider]
    return [round((v.provider_out - v.provider_in).total_seconds() / 60, 2) for v in delay.visits]


async def test_past_days_in_the_log_change_todays_projection(open_log: Opener) -> None:
    log = await open_log()
    seq = await write_past_days(log, days=3)
    runtime = ClinicRuntime(CLINIC, log, ManualClock(MORNING), Hub())
    await runtime.start()
    assert runtime.floor.seq == seq and runtime.events == []
    await todays_morning(runtime)
    assert with_provider(runtime, "kim") == [12.0] * 4  # not learned yet: the clinic file

    learned = await runtime.learn()
    assert learned.days == [TODAY - dt.timedelta(days=n) for n in (3, 2, 1)]
    times = learned.times("kim", "follow", Stage.provider_in)
    assert (times.median, times.visits) == (24, 18)
    expected = round((PRIOR_VISITS * 12 + 18 * 24) / (PRIOR_VISITS + 18), 2)
    assert with_provider(runtime, "kim") == [expected] * 4
    # Visits of nearly 20 minutes booked every 15: by the clinic's plan Dr. Kim runs later and later (the fourth
    # over 10 minutes); Dr. Okafor's 12-minute visits stay on time.
    for delay in runtime.delays():
        late = [v.lateness for v in delay.visits]
        if delay.provider == "kim":
            assert late == sorted(late) and late[0] == 0 and late[-1] > 10, late
        elif delay.provider == "okafor":
            assert late == [0.0] * 4, late
    assert with_provider(runtime, "okafor") == [12.0] * 4  # nothing learned of him
    assert runtime.floor.seq == seq + 8  # learning stored nothing

    # What the manager reads.
    answer = runtime.learned_answer()
    assert answer.learned and answer.days == 3 and answer.max_days == LEARN_DAYS
    kim_follow = next(
        t for p in answer.providers if p.provider == "kim" for t in p.visit_types if t.visit_type == "follow"
    )
    assert {s.stage: (s.configured, s.expected, s.visits) for s in kim_follow.stages}["provider_in"] == (
        12,
        expected,
        18,
    )

    # A restart learns the same from the same log.
    again = ClinicRuntime(CLINIC, await open_log(), ManualClock(MORNING), Hub())
    await again.start()
    assert await again.learn() == learned
    assert with_provider(again, "kim") == [expected] * 4


async def test_a_new_clinic_with_no_history_expects_the_configured_minutes(open_log: Opener) -> None:
    log = await open_log()
    runtime = ClinicRuntime(CLINIC, log, ManualClock(MORNING), Hub())
    await runtime.start()
    await todays_morning(runtime)
    learned = await runtime.learn()
    assert learned.days == [] and learned.stages == {} and learned.habits == {} and learned.tap_lag == 0.0
    assert with_provider(runtime, "kim") == [12.0] * 4
    assert runtime.learned_answer().days == 0


async def test_a_clinic_whose_taps_came_late_in_past_days_takes_them_to_lag(open_log: Opener) -> None:
    # Two past days with three changeovers each where the next patient's provider-in was tapped before the last
    # one's teach-back (by 1 to 5 minutes): a tap entered after its step, six times, 3 minutes at the median.
    log = await open_log()
    await write_late_tap_days(log, CLINIC, TODAY, [(1, 2, 3), (3, 4, 5)])
    runtime = ClinicRuntime(CLINIC, log, ManualClock(MORNING), Hub())
    await runtime.start()
    assert runtime.floor.learned.tap_lag == 0.0  # not learned yet
    learned = await runtime.learn()
    assert (learned.provider_changes, learned.late_tap_changes, learned.tap_lag) == (10, 6, 3.0)
    assert runtime.floor.learned.tap_lag == 3.0  # what today's cascades go by
    answer = runtime.learned_answer()
    assert (answer.provider_changes, answer.late_tap_changes, answer.tap_lag) == (10, 6, 3.0)


async def test_the_next_day_opens_with_the_days_before_it_learned(open_log: Opener) -> None:
    log = await open_log()
    await write_past_days(log, days=2)
    clock = ManualClock(MORNING)
    runtime = ClinicRuntime(CLINIC, log, clock, Hub())
    await runtime.start()
    first = await runtime.learn()
    # Today's own visits take 24 minutes too; tomorrow they are among the days learned from.
    seq = runtime.floor.seq
    today = PastDay(CLINIC, TODAY, base_seq=seq)
    for _ in range(6):
        today.seen("kim", "follow", with_provider=24)
    await log.append_all(CLINIC.id, [Record(e) for e in today.events])
    clock.set(MORNING + dt.timedelta(days=1))
    runtime.tick()
    assert runtime.floor.day == TODAY + dt.timedelta(days=1)
    assert runtime.floor.learned == first  # yesterday's learning until today's is done
    tomorrow = await runtime.learn()
    assert tomorrow.days[-1] == TODAY and tomorrow.times("kim", "follow", Stage.provider_in).visits == 18
    assert runtime.floor.learned == tomorrow


class CountingFiles(OsFiles):
    def __init__(self) -> None:
        self.read_paths: list[Path] = []

    def read(self, path: Path) -> bytes:
        self.read_paths.append(Path(path))
        return super().read(path)


async def test_learning_reads_only_the_last_days_and_never_writes_them(tmp_path: Path) -> None:
    writer = EmbeddedLog(tmp_path)
    await writer.open()
    await write_past_days(writer, days=LEARN_DAYS + 12, visits=1)
    await writer.close()
    before = {p.name: p.read_bytes() for p in (tmp_path / CLINIC.id).glob("*.log")}

    files = CountingFiles()
    runtime = ClinicRuntime(CLINIC, EmbeddedLog(tmp_path, files), ManualClock(MORNING), Hub())
    await runtime.start()
    files.read_paths.clear()
    learned = await runtime.learn()
    read = sorted({p.stem for p in files.read_paths})
    assert read == [str(TODAY - dt.timedelta(days=n)) for n in range(LEARN_DAYS, 0, -1)]
    assert len(learned.days) == LEARN_DAYS
    assert {p.name: p.read_bytes() for p in (tmp_path / CLINIC.id).glob("*.log")} == before


async def test_a_starting_server_learns_beside_its_start(tmp_path: Path) -> None:
    writer = EmbeddedLog(tmp_path)
    await writer.open()
    await write_past_days(writer, days=3)
    await writer.close()
    floors = test_floors(tmp_path, [CLINIC], clock=ManualClock(MORNING), tick_seconds=3600)
    await floors.start()
    try:
        runtime = floors.get(CLINIC.id)
        for _ in range(200):
            if runtime.learned_for == TODAY:
                break
            await asyncio.sleep(0.02)
        assert runtime.learned_for == TODAY and runtime.floor.learned.days[-1] == TODAY - dt.timedelta(days=1)
        await todays_morning(runtime)
        assert with_provider(runtime, "kim") == [19.71] * 4  # (10 x 12 + 18 x 24) / 28
    finally:
        await floors.stop()


async def test_each_past_day_is_learned_by_the_clinic_file_it_ran_on(open_log: Opener, tmp_path: Path) -> None:
    # Three past days booked under "arrival", the patients coming at their booked time; the clinic changed its file
    # to "provider" since (patients asked to come early, rooming and prep before the booked time). Learned by
    # today's file every patient came a rooming and a prep late; by the file each day ran on (kept beside the
    # log), on time.
    from floor.config import AppointmentTime
    from floor.schedule.upcoming import FileUpcoming

    assert CLINIC.session.appointment_time is AppointmentTime.arrival
    log = await open_log()
    await write_past_days(log, days=3)
    kept = FileUpcoming(tmp_path / "kept")
    await kept.open()
    for n in (3, 2, 1):
        await kept.keep_clinic(CLINIC, TODAY - dt.timedelta(days=n))
    now = msgspec.structs.replace(
        CLINIC, session=msgspec.structs.replace(CLINIC.session, appointment_time=AppointmentTime.provider)
    )
    runtime = ClinicRuntime(now, log, ManualClock(MORNING), Hub(), kept=kept)
    await runtime.start()
    learned = await runtime.learn()
    assert learned.habits["kim"].arrivals == 18
    assert learned.habits["kim"].late_median == 0.0
    # Without the kept files (a day run before Floor kept them): today's file, as before.
    plain = ClinicRuntime(now, await open_log(), ManualClock(MORNING), Hub())
    await plain.start()
    assert (await plain.learn()).habits["kim"].late_median > 5
    await kept.close()
