"""What several commands share: a line for the operator, and a clinic named by its file or its id."""

from __future__ import annotations

import os
import pwd
import sys
from pathlib import Path

from floor.config import Clinic, load_clinics
from floor.logging_setup import LOST_LINES
from floor.settings import Settings


def say(text: str) -> None:
    """A line for the operator on stderr (stdout is the command's output: an export, a list). One that cannot be
    written (stderr's disk full) is left out: a server started so stopped with a traceback nobody could read."""
    try:
        print(text, file=sys.stderr, flush=True)
    except OSError:
        LOST_LINES.add()


def always(args: object) -> bool:
    """A command's `writes_data_dir`: it writes into the embedded log's data directory whatever its flags."""
    return True


def as_the_data_directorys_owner(data_dir: str) -> None:
    """Stops a command that would write into the embedded log's data directory as root when the directory belongs
    to another user (the one the server runs as), before it writes anything. What a command writes is its user's
    alone (umask 077): `sudo floor staff unlock` rewrote directory.json as root's, and every sign-in was refused
    until someone found it; a day file, floor.lock or directory.lock made so stopped the server or its clinic (an
    ops review). Any other user writes as itself, as the directory's group or mode lets it (a container's volume)."""
    if os.geteuid() != 0:
        return
    try:
        owner = os.stat(data_dir).st_uid
    except OSError:
        return  # not made yet (it will be root's, as the command runs), or the command says why itself
    if owner == 0:
        return
    try:
        name = pwd.getpwuid(owner).pw_name
    except KeyError:
        name = str(owner)
    raise SystemExit(
        f"floor: {Path(data_dir).resolve()} belongs to {name}, and this command runs as root: what it wrote would "
        f"be root's alone, which a server running as {name} cannot read. Nothing was written. Run it as {name}, "
        f"with the server's settings: sudo -u {name} env FLOOR_DATA_DIR=... FLOOR_CLINICS=... floor ..."
    )


def clinic_named(name: str, settings: Settings) -> Clinic:
    """A clinic by its file, or by its id among the settings' clinic files ($FLOOR_CLINICS, else the demo
    clinic)."""
    if Path(name).exists():
        found = load_clinics([name])
        if len(found) == 1:
            return found[0]
        raise SystemExit(f"floor: {name} holds {len(found)} clinics; name one file")
    for clinic in load_clinics(list(settings.clinic_files)):
        if clinic.id == name:
            return clinic
    raise SystemExit(f"floor: no clinic {name!r} (give its TOML file, or set FLOOR_CLINICS)")
