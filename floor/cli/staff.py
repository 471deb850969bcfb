"""`floor staff`: add staff (the first manager), list them, unlock or reset a PIN, set their clinics."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from floor import bootstrap
from floor.cli.common import always, say
from floor.clock import Clock
from floor.settings import Settings, data_dir_flag, redis_flag


def add(st: argparse.ArgumentParser) -> None:
    """Declares the subcommand's flags on its parser (its name and help: floor/cli/__init__.py)."""
    st.description = (
        "Staff accounts live beside the floor: in the data directory, or in "
        "Redis with --redis. There is no default account or password."
    )
    st.add_argument(
        "action",
        choices=["add", "list", "unlock", "secret", "clinics"],
        help="add: a new account; list: every account; unlock: end an account's wait after wrong PINs; "
        "secret: set a new PIN or password (ends its sign-ins); clinics: the clinics an account works in "
        "(ends its sign-ins)",
    )
    st.add_argument("--id", help="the staff id they sign in with (add, unlock, secret, clinics)")
    st.add_argument(
        "--clinic",
        action="append",
        metavar="CLINIC",
        help="add, clinics: a clinic they work in (repeat for several); '*' for every clinic the server "
        "runs (the default for add)",
    )
    st.add_argument("--name", help="their name as colleagues know it (add)")
    st.add_argument(
        "--role",
        choices=[r for r in ("front_desk", "medical_assistant", "provider", "manager")],
        help="add: front_desk, medical_assistant, provider or manager",
    )
    st.add_argument(
        "--provider",
        help="add, role provider: the clinic provider id they are (providers[].id in "
        "the clinic file), so their tablet shows their patients",
    )
    st.add_argument(
        "--secret-stdin",
        action="store_true",
        help="read the PIN or password from one line of stdin instead of asking twice",
    )
    data_dir_flag(st)
    redis_flag(st)
    st.set_defaults(run=run, problem=problem, writes_data_dir=always)


def problem(args: argparse.Namespace) -> str | None:
    """What the command line lacks, for the parser to say."""
    if args.action != "list" and not args.id:
        return f"staff {args.action} needs --id"
    if args.action == "add" and not args.role:
        return "staff add needs --role"
    return None


def run(args: argparse.Namespace, settings: Settings, clock: Clock) -> None:
    from floor.clock import SystemClock
    from floor.core.access import ALL_CLINICS, Role, clinics_of
    from floor.core.errors import Refusal
    from floor.sessions import Sessions

    clinics = tuple(dict.fromkeys(args.clinic or [ALL_CLINICS]))
    if args.action in ("add", "clinics"):
        _check_known(settings, clinics if args.clinic else (), args.provider if args.action == "add" else None)

    async def run() -> None:
        directory = bootstrap.directory(settings)
        await directory.open()
        sessions = Sessions(directory, SystemClock())
        try:
            if args.action == "add":
                member = await sessions.add_staff(
                    args.id,
                    args.name or args.id,
                    Role(args.role),
                    _read_secret(args),
                    "floor staff add",
                    clinics,
                    provider=args.provider,
                )
                linked = f", linked to provider {member.provider}" if member.provider else ""
                say(
                    f"Added {member.id} ({member.name}), {member.role.value.replace('_', ' ')}{linked}, "
                    f"{_clinic_words(member.clinics)}."
                )
            elif args.action == "clinics":
                if not args.clinic:
                    raise SystemExit("floor: staff clinics needs --clinic (one or more, or '*' for every clinic)")
                member = await sessions.set_clinics(args.id, clinics, "floor staff clinics")
                say(f"{member.id} now works {_clinic_words(member.clinics)}; their sign-ins ended.")
            elif args.action == "list":
                for m in await directory.all_staff():
                    held = await sessions.strikes(m.id)
                    waits = held.until if held is not None and held.waits(sessions.clock.now()) else None
                    locked = f" (locked until {waits:%H:%M} UTC)" if waits else ""
                    linked = f" (provider {m.provider})" if m.provider else ""
                    print(f"{m.id:20} {m.role.value:18} {','.join(clinics_of(m.clinics)):20} {m.name}{linked}{locked}")
            elif args.action == "unlock":
                await sessions.unlock(args.id, "floor staff unlock")
                say(f"Unlocked {args.id}.")
            elif args.action == "secret":
                await sessions.set_secret(args.id, _read_secret(args), "floor staff secret")
                say(f"New PIN or password set for {args.id}; the account is unlocked and its sign-ins ended.")
        except Refusal as refusal:
            raise SystemExit(f"floor: {refusal.message}") from None
        finally:
            await directory.close()

    asyncio.run(run())


def _check_known(settings: Settings, clinics: tuple[str, ...], provider: str | None) -> None:
    """A clinic or provider id mistyped is refused, as the API refuses it: the account would be let into no
    clinic, or linked to nobody's patients (`--clinic nowhere` and `--provider nobody` were taken)."""
    from floor.config import load_clinics
    from floor.core.access import ALL_CLINICS

    known = load_clinics(list(settings.clinic_files))
    ids = [c.id for c in known]
    # `floor staff` takes no clinic files of its own (its --clinic names the clinics an account works in): it
    # reads $FLOOR_CLINICS, as the servers do when they are given no --clinic. Said, so that an operator whose
    # servers run --clinic FILES knows what to set (an ops review: a provider of theirs was refused, unexplained).
    read = (
        f"$FLOOR_CLINICS: {', '.join(settings.clinic_files)}"
        if os.environ.get("FLOOR_CLINICS")
        else f"the demo clinic's, as $FLOOR_CLINICS is not set: {', '.join(settings.clinic_files)}"
    )
    where = f"the clinic files this command read ({read}; set $FLOOR_CLINICS to the files your servers run)"
    for clinic in clinics:
        if clinic != ALL_CLINICS and clinic not in ids:
            raise SystemExit(f"floor: no clinic {clinic!r} in {where}: {', '.join(ids)}; nothing was changed")
    if provider is not None and not any(c.provider(provider) for c in known):
        raise SystemExit(f"floor: no clinic in {where} has a provider {provider!r}; nothing was changed")


def _read_secret(args: argparse.Namespace) -> str:
    if args.secret_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("PIN or password: ")
    if getpass.getpass("Again: ") != first:
        raise SystemExit("floor: the two entries differ; nothing was changed")
    return first


def _clinic_words(clinics: tuple[str, ...] | None) -> str:
    from floor.core.access import ALL_CLINICS, clinics_of

    clinics = clinics_of(clinics)
    return "in every clinic" if ALL_CLINICS in clinics else f"in {', '.join(clinics)}"
