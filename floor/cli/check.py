"""`floor check`: the embedded log's files and the staff directory, offline; what is wrong and what `--repair`
does (or did). Exits 1 while a problem is left unrepaired."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from floor.cli.common import say
from floor.clock import Clock
from floor.settings import Settings, data_dir_flag


def add(ch: argparse.ArgumentParser) -> None:
    """Declares the subcommand's flags on its parser (its name and help: floor/cli/__init__.py)."""
    ch.description = (
        "Reads every clinic's day files (each record's checksum, seqs in order "
        "and gap-free, damaged tails, damage in the middle) and the staff "
        "directory, and says what it found and what --repair would do; each day "
        "of a clinic whose file it is given (--clinic, as `floor serve` takes "
        "them) is folded as a server would, and an event no floor can fold is "
        "a problem. Exits 1 while a problem is left unrepaired."
    )
    data_dir_flag(ch)
    ch.add_argument(
        "--clinic",
        action="append",
        metavar="PATH",
        dest="clinic_files",
        help="a clinic TOML file or a directory of them, whose days are folded too; repeatable "
        "(default: $FLOOR_CLINICS, else the demo clinic)",
    )
    ch.add_argument(
        "--repair",
        action="store_true",
        help="move damaged tails (and damaged bytes that hold no record) beside their file, and an "
        "unreadable staff directory aside; needs no server running on the data directory",
    )
    ch.set_defaults(run=run, writes_data_dir=_repairing)


def _repairing(args: argparse.Namespace) -> bool:
    """Whether this check writes into the data directory (floor/cli/__init__.py asks, for its owner)."""
    return bool(args.repair)


def run(args: argparse.Namespace, settings: Settings, clock: Clock) -> None:
    from floor.bootstrap import embedded_directory
    from floor.config import load_clinics
    from floor.directory.embedded import check_directory
    from floor.log.embedded import check_logs
    from floor.log.owner import LOCK_NAME, held_by_another, hold

    data_dir = Path(settings.data_dir)
    if not data_dir.is_dir():
        raise SystemExit(f"floor: no data directory at {data_dir.resolve()}")
    if args.repair:
        try:
            owner = hold(data_dir)
        except OSError as e:
            raise SystemExit(
                f"floor: cannot lock {data_dir.resolve() / LOCK_NAME} to repair: {e.strerror or e}. "
                "Nothing was changed."
            ) from None
        if owner is None:
            raise SystemExit(
                f"floor: a Floor server (or import) is writing to {data_dir.resolve()} (it holds "
                f"{LOCK_NAME}); stop it before `floor check --repair`. Nothing was changed."
            )
    else:
        # Only reading: nothing is written to the directory (a read-only snapshot, a backup being checked).
        owner = None
        if held_by_another(data_dir):
            say("floor: a server is writing to this data directory: a record being written may show as damaged")
    try:
        findings, files, records = check_logs(data_dir, repair=args.repair)
        findings += check_directory(embedded_directory(data_dir).path, repair=args.repair)
        findings += _unfoldable(data_dir, load_clinics(list(settings.clinic_files)))
    except OSError as e:
        # A file that cannot be read, or a repair that cannot write (a full disk): one line; what a repair did not
        # finish is left as it was.
        where = f"floor: {getattr(e, 'filename', None) or data_dir}: {e.strerror or e}."
        if args.repair:
            raise SystemExit(
                f"{where} Free space on the disk (or make it writable) and run `floor check --repair` again."
            ) from None
        raise SystemExit(f"{where} It cannot be read: check the disk and the file's permissions.") from None
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


def _unfoldable(data_dir: Path, clinics: list) -> list:
    """Each day of each given clinic folded as a server would: the first event of a day no floor can fold (a
    server refuses to start on it, or stops taking that clinic's taps) is a problem `--repair` cannot mend."""
    from floor.days import first_unfoldable
    from floor.log.embedded import Finding, scan

    findings = []
    given = {c.id for c in clinics}
    for unknown in sorted(d.name for d in data_dir.iterdir() if d.is_dir() and d.name not in given):
        if any((data_dir / unknown).glob("????-??-??.log")):
            # Not folded: said, so that a clean report is not taken to mean the server will start on it.
            say(f"floor: {unknown}'s days were not folded: no clinic file for it was given (--clinic)")
    for clinic in clinics:
        for path in sorted((data_dir / clinic.id).glob("????-??-??.log")):
            try:
                records, _ = scan(path.read_bytes(), str(path))
            except Exception:
                continue  # damage: check_logs has said so
            events = [r.event for r in records]
            found = first_unfoldable(clinic, dt.date.fromisoformat(path.stem), events)
            if found is not None:
                event, error = found
                findings.append(
                    Finding(
                        str(path),
                        f"the event at seq {event.seq} ({event.type}, by {event.actor} on {event.device}) cannot be "
                        f"folded ({type(error).__name__}: {str(error)[:120]})",
                        None,
                    )
                )
    return findings
