"""Run the locust scenarios (loadtests/locustfile.py) headless against a fresh Floor, and print locust's summary.

Starts `floor serve` on a free loopback port with a temporary data directory (or `--redis URL`), adds a
manager with `floor staff add` and, through the API as that manager, the front desk, medical assistant and
provider accounts the tablets share; then runs locust headless for a bounded time with `--tablets` tablet
users and `--displays` wall displays, stops the server, and exits with locust's exit code: 0 when every
request passed, 1 when any failed (see the locustfile for what counts as failed).

    .venv/bin/python loadtests/run_locust.py --tablets 20 --displays 30 --seconds 60

Users are spawned no faster than the server lets one address sign in and pair (5 a second, bursts of 60),
so that the run never meets a 429. Each sign-in checks a PIN at full scrypt cost on the server (about half
a second, two at a time), so the first seconds of a run are the shift signing in.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rig import FloorServer, add_staff

HERE = Path(__file__).resolve().parent
LOCUSTFILE = HERE / "locustfile.py"
#: The server's limits on sign-ins and pairings from one address (floor/web/auth.py, Guarding).
PUBLIC_RATE, PUBLIC_BURST = 5.0, 60
MAX_TABLETS, MAX_DISPLAYS, MAX_SECONDS = 50, 300, 600


def split(tablets: int) -> dict[str, int]:
    """Tablets by role: one manager once there are five, then about 3 desk : 4 assistants : 3 providers."""
    manager = 1 if tablets >= 5 else 0
    rest = tablets - manager
    desk = max(1, round(rest * 0.3))
    provider = max(1, round(rest * 0.3))
    return {"desk": desk, "ma": rest - desk - provider, "provider": provider, "manager": manager}


def spawn_rate(tablets: int, displays: int, asked: float | None) -> float:
    """Users a second such that sign-ins and pairings stay within the address's bucket as users start.

    Calls on the public routes: one sign-in per tablet, two per display (a code, then the claim), and two
    manager sign-ins (this script's and the approver's). Spawning U users at r a second takes U/r seconds,
    in which the bucket allows BURST + RATE * U/r calls."""
    users = tablets + displays
    calls = tablets + 2 * displays + 2
    most = 10.0 if calls <= PUBLIC_BURST else 0.8 * PUBLIC_RATE * users / (calls - PUBLIC_BURST)
    if asked is not None and asked > most:
        raise SystemExit(
            f"--spawn-rate {asked:g} could meet the server's limit on sign-ins and pairings "
            f"({PUBLIC_RATE:g} a second, bursts of {PUBLIC_BURST}); at most {most:.2f} for this run."
        )
    return asked or min(10.0, round(most, 2))


def add_accounts(base: str, manager: str, pin: str, accounts: dict[str, str]) -> None:
    """The other accounts, added by the manager on a tablet as the README says (and at once: the server
    hashes each PIN in a thread)."""
    answer = httpx.post(
        f"{base}/api/sign-in", json={"staff": manager, "secret": pin, "device": "load setup"}, timeout=30
    )
    answer.raise_for_status()
    headers = {"Authorization": f"Bearer {answer.json()['token']}"}
    roles = {"desk": "front_desk", "ma": "medical_assistant", "provider": "provider"}

    def add(kind: str) -> None:
        body = {
            "id": accounts[kind],
            "name": f"Load {roles[kind].replace('_', ' ')}",
            "role": roles[kind],
            "secret": pin,
        }
        r = httpx.post(f"{base}/api/staff", json=body, headers=headers, timeout=30)
        if r.status_code != 201:
            raise SystemExit(f"adding {accounts[kind]} answered {r.status_code}: {r.text}")

    with ThreadPoolExecutor(len(roles)) as pool:
        list(pool.map(add, roles))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tablets", type=int, default=20, help=f"tablet users, 3 to {MAX_TABLETS} (default 20)")
    parser.add_argument(
        "--displays", type=int, default=30, help=f"wall displays on live sockets, 0 to {MAX_DISPLAYS} (default 30)"
    )
    parser.add_argument("--seconds", type=int, default=60, help=f"run time, 5 to {MAX_SECONDS} (default 60)")
    parser.add_argument(
        "--spawn-rate",
        type=float,
        default=None,
        help="users started a second (default: as fast as the sign-in limit allows, at most 10)",
    )
    parser.add_argument(
        "--clinic",
        default="riverside",
        help="the clinic the users work in (default riverside, the demo clinic the server runs)",
    )
    parser.add_argument(
        "--redis",
        metavar="URL",
        default=None,
        help="serve from this Redis (its log and accounts stay there: give it a database of "
        "its own, e.g. redis://127.0.0.1:6379/15)",
    )
    args = parser.parse_args()
    if not 3 <= args.tablets <= MAX_TABLETS:
        parser.error(f"--tablets is 3 to {MAX_TABLETS} (one of each role at least)")
    if not 0 <= args.displays <= MAX_DISPLAYS:
        parser.error(f"--displays is 0 to {MAX_DISPLAYS}")
    if not 5 <= args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds is 5 to {MAX_SECONDS}")
    rate = spawn_rate(args.tablets, args.displays, args.spawn_rate)

    # Fresh ids and PIN each run: with --redis the accounts of earlier runs are still there.
    run = secrets.token_hex(3)
    pin = secrets.token_urlsafe(12)
    accounts = {kind: f"load-{kind}-{run}" for kind in ("desk", "ma", "provider", "manager")}
    users = {**split(args.tablets), "display": args.displays}
    with tempfile.TemporaryDirectory(prefix="floor-locust-") as tmp:
        data = str(Path(tmp) / "data")
        add_staff(data, accounts["manager"], pin, "manager", args.redis)
        server = FloorServer(data, [], args.redis, log=Path(tmp) / "server.log")  # the demo clinic
        base = server.base
        server.start()
        try:
            add_accounts(base, accounts["manager"], pin, accounts)
            env = {
                **os.environ,
                "FLOOR_LOCUST_PIN": pin,
                "FLOOR_LOCUST_CLINIC": args.clinic,
                "FLOOR_LOCUST_USERS": ",".join(f"{k}={n}" for k, n in users.items()),
                **{f"FLOOR_LOCUST_{kind.upper()}": staff for kind, staff in accounts.items()},
            }
            print(
                f"locust: {args.tablets} tablets ({', '.join(f'{n} {k}' for k, n in users.items() if k != 'display')}"
                f"), {args.displays} displays, {args.seconds} s, spawning {rate:g}/s, against {base}"
                f"{' on ' + args.redis if args.redis else ''}",
                flush=True,
            )
            # locust prints its summary on stderr: here it goes to stdout, with the rest.
            command = [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(LOCUSTFILE),
                "--headless",
                "--host",
                base,
                "-u",
                str(args.tablets + args.displays),
                "-r",
                f"{rate:g}",
                "-t",
                f"{args.seconds}s",
                "--only-summary",
                "--exit-code-on-error",
                "1",
                "--loglevel",
                "WARNING",
            ]
            try:
                code = subprocess.run(
                    command, env=env, stderr=subprocess.STDOUT, check=False, timeout=args.seconds + 120
                ).returncode
            except subprocess.TimeoutExpired:
                print("locust did not end within two minutes of its run time: stopped", file=sys.stderr)
                code = 1
        finally:
            ended = server.stop()
        if ended not in (0, -15):
            print(f"floor serve ended with {ended}{server.tail()}", file=sys.stderr)
            return max(1, code)
        return code


if __name__ == "__main__":
    sys.exit(main())
