"""The `floor` command: each subcommand in a module of its own (`serve`, `demo`, `staff`, `replay`, `export`,
`import`, `check`), each given the settings read once from its flags and the environment (floor/settings.py)
and building what it runs on through the composition root (floor/bootstrap.py).

Only the chosen subcommand's module is imported (`floor staff add` does not load uvicorn, nor the Redis client
unless it uses Redis): the table below names every subcommand with its one-line help, which is all
`floor --help` needs, and `main` reads the command line twice, first to learn which subcommand it names, then
with that subcommand's flags declared by its module."""

from __future__ import annotations

import argparse
import importlib
import os
from collections.abc import Iterable

from floor import settings as floor_settings
from floor.cli.common import as_the_data_directorys_owner
from floor.clock import Clock, SystemClock
from floor.config import ConfigError
from floor.log.base import LogCorrupt, LogUnavailable
from floor.logging_setup import configure

#: What the commands that ask "which day is it?" read (export's default day and whether it has closed, import's
#: today, the demo's opening): the wall clock, replaced by tests so that none depends on the date it runs on.
CLOCK: Clock = SystemClock()

#: The subcommands, in the order `floor --help` lists them: name, module in floor/cli/ (its `add(parser)`
#: declares the flags and the `run` the command runs), one-line help.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("serve", "serve", "run the server"),
    ("demo", "demo", "serve the demo clinic and play a generated day on a fast clock"),
    ("staff", "staff", "add staff (the first manager), list them, unlock them, reset a PIN, set their clinics"),
    ("replay", "replay", "what alerts Floor would have raised on a recorded day"),
    ("export", "export", "a clinic day as FHIR (Encounters or a MeasureReport) or CSV, on stdout"),
    ("import", "import_schedule", "import a day's schedule from a CSV file or a FHIR R4 Bundle"),
    ("check", "check", "check the embedded log's files and the staff directory offline"),
)


def command_line(declared: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """`floor`'s command line: the log level, then one subcommand and its flags. The flags of the subcommands in
    `declared` (every one when None) are declared, their modules imported; the others are names only."""
    declared = {name for name, _, _ in COMMANDS} if declared is None else set(declared)
    floor = argparse.ArgumentParser(prog="floor", description="Real-time clinic floor status server.")
    floor_settings.log_level_flag(floor)
    commands = floor.add_subparsers(dest="command", required=True)
    for name, module, help in COMMANDS:
        if name in declared:
            command = commands.add_parser(name, help=help)
            importlib.import_module(f"floor.cli.{module}").add(command)
            floor_settings.log_level_flag(command, after_the_subcommand=True)
        else:
            # Takes anything: the first reading only learns the subcommand's name (its -h is its module's).
            commands.add_parser(name, help=help, add_help=False)
    return floor


def main(argv: list[str] | None = None) -> None:
    # The first reading: which subcommand (or the top-level help, or the error of a missing or unknown one).
    chosen, _ = command_line(()).parse_known_args(argv)
    parser = command_line((chosen.command,))
    args = parser.parse_args(argv)
    problem = getattr(args, "problem", None)
    if problem is not None and (why := problem(args)):
        parser.error(why)
    try:
        settings = floor_settings.read(args)
    except floor_settings.SettingError as e:
        parser.error(str(e))
    configure(settings.log_level)
    if getattr(args, "writes_data_dir", lambda args: False)(args) and not settings.redis_url:
        as_the_data_directorys_owner(settings.data_dir)
    # What Floor writes holds patient names (the log, kept schedules) and PIN hashes: its own user's to read.
    os.umask(0o077)
    try:
        args.run(args, settings, CLOCK)
    except ConfigError as e:
        parser.exit(2, f"floor: {e}\n")
    except (LogCorrupt, LogUnavailable) as e:
        # A damaged file (the staff directory's included) or a Redis out of reach: one line, as `floor serve`
        # says at start, for every command (an ops review found `floor staff` and `floor export` tracebacks).
        parser.exit(1, f"floor: {str(e).rstrip('.')}.\n")


if __name__ == "__main__":
    main()
