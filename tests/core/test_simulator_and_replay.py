"""The simulated clinic day (seeded, complete, valid) and `floor replay` over a recorded day."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from floor.config import demo_clinic, demo_clinic_path
from floor.core.events import AlertCleared, AlertRaised, AlertUpdated
from floor.core.floor import Floor
from floor.core.journey import ENDS
from floor.core.learning import learn
from floor.days import fold_day
from floor.log.base import Record
from floor.log.embedded import frame
from floor.replay import read_events, replay
from floor.simulator import plan_day, simulate_day
from tests.support.floors import snapshot

pytestmark = pytest.mark.long

CLINIC = demo_clinic()
DAY = dt.date(2026, 11, 23)


def test_a_seed_gives_the_same_day_and_every_visit_ends() -> None:
    events, floor = simulate_day(CLINIC, DAY, seed=7)
    again, _ = simulate_day(CLINIC, DAY, seed=7)
    assert events == again
    assert simulate_day(CLINIC, DAY, seed=8)[0] != events
    assert len(floor.visits) == len(plan_day(CLINIC, DAY, seed=7))
    assert all(v.stage in ENDS for v in floor.visits.values())
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert snapshot(Floor.fold(CLINIC, DAY, 0, events)) == snapshot(floor)


def test_replay_gives_each_alert_one_raise_and_at_most_one_clear_in_time_order() -> None:
    events, _ = simulate_day(CLINIC, DAY, seed=1003)
    lines, floor = replay(CLINIC, events)
    assert [line.at for line in lines] == sorted(line.at for line in lines)
    raised = [line.change.alert for line in lines if isinstance(line.change, AlertRaised)]
    cleared = [line.change.alert for line in lines if isinstance(line.change, AlertCleared)]
    assert len(raised) == len(set(raised)) and set(cleared) <= set(raised)
    assert {"cascade", "dwell"} <= {line.change.kind for line in lines if isinstance(line.change, AlertRaised)}
    for line in lines:
        if isinstance(line.change, (AlertCleared, AlertUpdated)):
            assert line.change.alert in raised[: raised.index(line.change.alert) + 1]
    assert replay(CLINIC, events)[0] == lines  # the same day always says the same
    assert {a.id for a in floor.alerts.values()} == set(raised)


def _floor_replay(day_file: Path | str, *flags: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`floor replay` of a day file, as a user runs it (from `cwd`); what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "floor", "--log-level", "warning", "replay", *flags, str(day_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=cwd,
    )


def test_floor_replay_reads_a_recorded_log_file_and_prints_the_alerts(tmp_path) -> None:
    events, _ = simulate_day(CLINIC, DAY, seed=1003)
    day_file = tmp_path / CLINIC.id / "2026-11-23.log"  # as the embedded log keeps it: DATA/<clinic>/<day>.log
    day_file.parent.mkdir()
    day_file.write_bytes(b"".join(frame(Record(e)) for e in events))
    assert read_events(day_file) == events
    json_file = tmp_path / "day.json"
    json_file.write_bytes(msgspec.json.encode(events))
    assert read_events(json_file) == events

    out = _floor_replay(day_file)
    lines, _ = replay(CLINIC, events)
    printed = out.stdout.splitlines()
    assert len(printed) == len(lines)
    assert any(" alert_raised " in p and " cascade " in p for p in printed)
    assert f"{len(lines)} alert changes" in out.stderr
    assert "warning" not in out.stderr
    # Which clinic file a day is replayed under, and where it is run from, do not hang on the day's length: the
    # rest replays the day's first hour (the whole day replayed four times more was most of this test's minute).
    morning = b"".join(frame(Record(e)) for e in events if e.at < events[0].at + dt.timedelta(hours=1))
    assert 0 < len(morning) < len(day_file.read_bytes())
    day_file.write_bytes(morning)
    json_file.write_bytes(msgspec.json.encode(read_events(day_file)))
    # Another clinic's day, replayed under this clinic's file (the default), is told to give its own.
    other = tmp_path / "northside" / day_file.name
    other.parent.mkdir()
    other.write_bytes(day_file.read_bytes())
    out = _floor_replay(other)
    assert "in a folder named 'northside', and the clinic file is for 'riverside'" in out.stderr
    # Given a folder of clinic files, the day is replayed under its own clinic's.
    files = tmp_path / "clinics"
    files.mkdir()
    demo = demo_clinic_path().read_text()
    (files / "riverside.toml").write_text(demo)
    (files / "northside.toml").write_text(demo.replace('id = "riverside"', 'id = "northside"', 1))
    assert "warning" not in _floor_replay(other, "--clinic", str(files)).stderr
    # Run from inside the clinic's folder, a bare file name, or a JSON array of events: nothing to warn of.
    here = _floor_replay(day_file.name, cwd=day_file.parent)
    assert "warning" not in here.stderr and "warning" not in _floor_replay(json_file).stderr


def test_floor_replay_reads_the_clinic_files_the_servers_run_from_floor_clinics(tmp_path) -> None:
    # Every other command reads $FLOOR_CLINICS (set for the servers, in a unit file or a shell profile) when it
    # is not given --clinic; `floor replay` took the demo clinic instead, and measured northside's day by it.
    events, _ = simulate_day(CLINIC, DAY, seed=1003)
    day_file = tmp_path / "northside" / "2026-11-23.log"
    day_file.parent.mkdir()
    day_file.write_bytes(b"".join(frame(Record(e)) for e in events))
    files = tmp_path / "clinics"
    files.mkdir()
    (files / "northside.toml").write_text(
        demo_clinic_path().read_text().replace('id = "riverside"', 'id = "northside"', 1)
    )
    out = subprocess.run(
        [sys.executable, "-m", "floor", "--log-level", "warning", "replay", str(day_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "FLOOR_CLINICS": str(files)},
    )
    assert "warning" not in out.stderr, out.stderr
    assert len(out.stdout.splitlines()) == len(replay(CLINIC, events)[0])


def test_floor_replay_learns_from_the_days_before_it_in_the_folder_as_the_server_did(tmp_path) -> None:
    past_day = DAY - dt.timedelta(days=1)
    past, _ = simulate_day(CLINIC, past_day, seed=7)
    (tmp_path / f"{past_day}.log").write_bytes(b"".join(frame(Record(e)) for e in past))
    events, _ = simulate_day(CLINIC, DAY, seed=1003)
    (tmp_path / f"{DAY}.log").write_bytes(b"".join(frame(Record(e)) for e in events))
    later, _ = simulate_day(CLINIC, DAY + dt.timedelta(days=1), seed=8)  # after the day: not learned from
    (tmp_path / f"{DAY + dt.timedelta(days=1)}.log").write_bytes(b"".join(frame(Record(e)) for e in later))

    def printed(*flags: str) -> subprocess.CompletedProcess:
        return _floor_replay(tmp_path / f"{DAY}.log", *flags)

    learned = learn(CLINIC, [fold_day(CLINIC, past_day, past)])
    assert learned.stages  # the past day taught something
    with_history = printed()
    assert "learned from 1 past days" in with_history.stderr
    assert len(with_history.stdout.splitlines()) == len(replay(CLINIC, events, learned=learned)[0])
    without = printed("--no-history")
    assert "learned from" not in without.stderr
    assert len(without.stdout.splitlines()) == len(replay(CLINIC, events)[0])
