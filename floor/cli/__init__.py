"""The `floor` command: each subcommand in a module of its own (`serve`, `demo`, `staff`, `replay`, `export`,
`import`, `check`), each given the settings read once from its flags and the environment (floor/settings.py)
and building what it runs on through the composition root (floor/bootstrap.py)."""

from __future__ import annotations

import argparse

from floor import settings as floor_settings
from floor.cli import check, demo, export, import_schedule, replay, serve, staff
from floor.clock import Clock, SystemClock
from floor.config import ConfigError
from floor.logging_setup import configure

#: What the commands that ask "which day is it?" read (export's default day and whether it has closed, import's
#: today, the demo's opening): the wall clock, replaced by tests so that none depends on the date it runs on.
CLOCK: Clock = SystemClock()

#: The subcommands, in the order `floor --help` lists them.
COMMANDS = (serve, demo, staff, replay, export, import_schedule, check)


def command_line() -> argparse.ArgumentParser:
    """`floor`'s command line: the log level, then one subcommand and its flags."""
    floor = argparse.ArgumentParser(prog="floor", description="Real-time clinic floor status server.")
    floor_settings.log_level_flag(floor)
    commands = floor.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add(commands)
    return floor


def main(argv: list[str] | None = None) -> None:
    parser = command_line()
    args = parser.parse_args(argv)
    problem = getattr(args, "problem", None)
    if problem is not None and (why := problem(args)):
        parser.error(why)
    settings = floor_settings.read(args)
    configure(settings.log_level)
    try:
        args.run(args, settings, CLOCK)
    except ConfigError as e:
        parser.exit(2, f"floor: {e}\n")


if __name__ == "__main__":
    main()
