"""`floor check`: the embedded log's files and the staff directory, offline; what is wrong and what `--repair`
does (or did). Exits 1 while a problem is left unrepaired."""

from __future__ import annotations

import argparse
from pathlib import Path

from floor.cli.common import say
from floor.clock import Clock
from floor.settings import Settings, data_dir_flag


def add(ch: argparse.ArgumentParser) -> None:
    """Declares the subcommand's flags on its parser (its name and help: floor/cli/__init__.py)."""
    ch.description = (
        "Reads every clinic's day files (each record's checksum, seqs in order "
        "and gap-free, damaged tails, damage in the middle) and the staff "
        "directory, and says what it found and what --repair would do. Exits "
        "1 while a problem is left unrepaired."
    )
    data_dir_flag(ch)
    ch.add_argument(
        "--repair",
        action="store_true",
        help="move damaged tails (and damaged bytes that hold no record) beside their file, and an "
        "unreadable staff directory aside; needs no server running on the data directory",
    )
    ch.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings, clock: Clock) -> None:
    from floor.bootstrap import embedded_directory
    from floor.directory.embedded import check_directory
    from floor.log.embedded import check_logs
    from floor.log.owner import LOCK_NAME, hold

    data_dir = Path(settings.data_dir)
    if not data_dir.is_dir():
        raise SystemExit(f"floor: no data directory at {data_dir.resolve()}")
    owner = hold(data_dir)
    if owner is None:
        if args.repair:
            raise SystemExit(
                f"floor: a Floor server (or import) is writing to {data_dir.resolve()} (it holds "
                f"{LOCK_NAME}); stop it before `floor check --repair`. Nothing was changed."
            )
        say("floor: a server is writing to this data directory: a record being written may show as damaged")
    try:
        findings, files, records = check_logs(data_dir, repair=args.repair)
        findings += check_directory(embedded_directory(data_dir).path, repair=args.repair)
    finally:
        if owner is not None:
            owner.close()
    for f in findings:
        if f.repaired:
            print(f"{f.file}: {f.problem}\n    repaired: {f.repair}")
        elif f.repair:
            print(f"{f.file}: {f.problem}\n    --repair would {f.repair}")
        else:
            print(f"{f.file}: {f.problem}\n    not repairable here: restore the file from a backup")
    left = [f for f in findings if not f.repaired]
    print(
        f"{files} log files, {records} records, the staff directory: "
        f"{len(findings)} problem(s){f', {len(findings) - len(left)} repaired' if args.repair else ''}"
    )
    if left:
        raise SystemExit(1)
