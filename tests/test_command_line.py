"""The `floor` command loads only the chosen subcommand's module (floor/cli/__init__.py), yet its help names
every subcommand, and each subcommand still reads its own flags."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from floor.cli import COMMANDS, command_line, main
from floor.log.replicas import MAX_REPLICA_TIMEOUT_MS
from floor.redis_client import COMMAND_TIMEOUT

ROOT = Path(__file__).resolve().parent.parent

#: Run in a fresh interpreter: the modules a command left loaded (the test process has loaded them all).
LOADED = """
import sys
from floor.cli import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    assert not e.code, e.code
print("loaded:" + ",".join(sorted(name for name in ("redis", "uvicorn", "litestar", "floor.floors", "floor.cli.serve")
                      if name in sys.modules)))
"""


def loaded_by(*argv: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", LOADED, *argv], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return [name for name in done.stdout.strip().splitlines()[-1].removeprefix("loaded:").split(",") if name]


def test_staff_without_redis_and_the_help_load_no_server_and_no_redis_client(tmp_path: Path) -> None:
    assert loaded_by("staff", "list", "--data-dir", str(tmp_path)) == []
    assert loaded_by("--help") == []


def test_the_help_names_every_subcommand_with_its_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())
    for name, _, line in COMMANDS:
        assert f"{name} {line}" in shown


@pytest.mark.parametrize("name", [name for name, _, _ in COMMANDS])
def test_each_subcommand_reads_its_own_flags_when_chosen(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([name, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: floor {name} [-h]")


def test_a_subcommand_and_its_flags_read_alike_declared_alone_or_with_every_other(tmp_path: Path) -> None:
    argv = ["--log-level", "warning", "staff", "add", "--id", "ana", "--role", "manager", "--data-dir", str(tmp_path)]
    assert command_line(["staff"]).parse_args(argv) == command_line().parse_args(argv)


def test_the_longest_replica_wait_ends_well_before_a_redis_command_times_out() -> None:
    """floor/log/replicas.py keeps the bound without importing the Redis client: the two must agree."""
    assert int(COMMAND_TIMEOUT * 1000) - 500 == MAX_REPLICA_TIMEOUT_MS
