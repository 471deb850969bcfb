"""Full garbage collections wait for quiet hours; what survives is frozen out of the collector's walk."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
from pathlib import Path

from floor.collector import BUSY_COLLECT_SECONDS, QUIET_COLLECT_SECONDS, Collector, in_session
from floor.config import demo_clinic
from tests.support.staff import test_floors

CLINIC = demo_clinic()  # sessions 08:00-17:00, America/Chicago


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 23, hour, minute, tzinfo=CLINIC.tz)


def test_a_clinic_is_in_session_from_an_hour_before_opening_to_an_hour_after_closing() -> None:
    assert not in_session(CLINIC, at(6, 59))
    assert in_session(CLINIC, at(7, 0))
    assert in_session(CLINIC, at(17, 59))
    assert not in_session(CLINIC, at(18, 0))


def test_during_sessions_full_collections_are_rare_and_at_night_hourly() -> None:
    try:
        collector = Collector(started=0.0)
        assert collector.step(60.0, [CLINIC], at(10)) is False  # in session: only young collections
        assert gc.get_freeze_count() > 0
        assert collector.step(QUIET_COLLECT_SECONDS + 1, [CLINIC], at(11)) is False  # still in session
        assert collector.step(QUIET_COLLECT_SECONDS + 2, [CLINIC], at(22)) is True  # night: now
        assert collector.step(QUIET_COLLECT_SECONDS + 60, [CLINIC], at(22, 1)) is False  # not again at once
        assert collector.step(QUIET_COLLECT_SECONDS + 2 + BUSY_COLLECT_SECONDS, [CLINIC], at(12)) is True
    finally:
        gc.unfreeze()


def test_a_running_server_freezes_what_survives_and_unfreezes_when_it_stops(tmp_path: Path) -> None:
    async def run() -> tuple[int, int]:
        floors = test_floors(tmp_path)
        floors.freeze_seconds = 0.05
        await floors.start()
        try:
            await asyncio.sleep(0.3)
            frozen = gc.get_freeze_count()
        finally:
            await floors.stop()
        return frozen, gc.get_freeze_count()

    gc.unfreeze()
    frozen, after = asyncio.run(run())
    assert frozen > 0 and after == 0


def test_collections_pause_while_a_block_runs_and_overlapping_blocks_resume_them_once() -> None:
    import gc
    import threading

    from floor.collector import collections_paused

    assert gc.isenabled()
    inside, release = threading.Event(), threading.Event()

    def worker() -> None:
        with collections_paused():
            inside.set()
            release.wait(5)

    other = threading.Thread(target=worker)
    with collections_paused():
        assert not gc.isenabled()
        other.start()
        assert inside.wait(5)
    assert not gc.isenabled(), "the first block to end resumed collections while another still ran"
    release.set()
    other.join(5)
    assert gc.isenabled()

    gc.disable()  # a process that had them off keeps them off
    try:
        with collections_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
