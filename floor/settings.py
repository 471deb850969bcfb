"""Every setting the commands read, from their flags and the environment, read once into `Settings`.

The flags that fall back on an environment variable are declared here (the `*_flag(s)` functions the
commands' modules in floor/cli/ call), and `read` resolves the settings that only the environment gives
(allowed origins and hosts, the socket stack, the event loop) and the fallbacks (the Redis URL, the clinic files): no
other module reads the environment. The README's "Running it" table lists them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import msgspec

from floor.config import demo_clinic_path
from floor.log.replicas import MAX_REPLICA_TIMEOUT_MS, NO_REPLICA_ACK, ReplicaAck

#: Where the embedded log keeps its files when neither --data-dir nor $FLOOR_DATA_DIR says.
DATA_DIR = "floor-data"
#: Clinic days kept in the log unless the server is told otherwise (`--retention-days`): past a year and
#: a month, so last year's same month can still be compared (floor/days.py `oldest_kept`).
RETENTION_DAYS = 400


#: Live sockets that may wait to sign in at once from one client address, by default: far above what a clinic's
#: walls behind one address hold while they come back together (each waits a moment for its page's token).
SOCKETS_WAITING_PER_ADDRESS = 200


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """What a command runs with. A command that has no flag for a setting gets its environment value or its
    default (`floor check` has no --redis: it never uses one)."""

    log_level: str = "info"
    #: The embedded log's directory (also the staff directory's and the upcoming schedules', beside it).
    data_dir: str = DATA_DIR
    #: The shared log in Redis (one URL, or several nodes comma-separated); None: the embedded log.
    redis_url: str | None = None
    #: With Redis: how many replicas must have a tap before it is answered.
    replica_ack: ReplicaAck = NO_REPLICA_ACK
    #: The clinic files (or directories of them) the server runs, and among which `--clinic ID` is looked up.
    clinic_files: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 8000
    #: Reverse proxies whose X-Forwarded-For names the client (addresses, networks, or "*").
    trusted_proxies: tuple[str, ...] = ()
    retention_days: int = RETENTION_DAYS
    #: Pages served from another origin (a proxy's public name) that may open the live feed.
    allowed_origins: frozenset[str] = frozenset()
    #: The host names (and `*.suffix` wildcards) a request's Host may name, besides IP literals and localhost;
    #: empty: every Host is answered (floor.web.auth `Guarding.host_allowed`).
    allowed_hosts: frozenset[str] = frozenset()
    #: Live sockets that may wait to sign in at once from one client address (ten times that from an IPv6 /64).
    sockets_waiting_per_address: int = SOCKETS_WAITING_PER_ADDRESS
    #: The socket stack, for comparing (loadtests/README.md): "frames" (ours), or one of uvicorn's own
    #: ("websockets-sansio", "websockets"), under which every update goes through ASGI.
    ws: str = "frames"
    #: Per-message compression on the live feed (off: see floor/cli/serve.py).
    ws_deflate: bool = False
    #: "uvloop" (the default) or "asyncio", for comparing (loadtests/README.md).
    loop: str = "uvloop"
    #: A rehearsal's clock (hidden flags of `floor serve`): the clinic time it starts at, its speed and the
    #: wall-clock instant it started (several servers given the same three agree on the time).
    clock_start: dt.datetime | None = None
    clock_speed: float = 1.0
    clock_origin: float | None = None


def read(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> Settings:
    """The settings of a parsed command line, with what its flags leave open taken from the environment."""
    default = Settings()
    flag = vars(args)
    clinic_files = flag.get("clinic_files") or _env_list(environ, "FLOOR_CLINICS") or [str(demo_clinic_path())]
    replicas = flag.get("redis_replicas")
    return Settings(
        log_level=flag.get("log_level") or default.log_level,
        # Set but empty is not set, as for every variable (an empty $FLOOR_DATA_DIR served from the working
        # directory: its log, lock and staff directory in / under systemd; an ops review).
        data_dir=flag.get("data_dir") or environ.get("FLOOR_DATA_DIR") or DATA_DIR,
        # --redis, else $FLOOR_REDIS_URL, else $REDIS_URL: one URL, or several comma-separated (any node that
        # answers at start will do; floor/redis_client.py `connect`).
        redis_url=flag.get("redis") or environ.get("FLOOR_REDIS_URL") or environ.get("REDIS_URL") or None,
        replica_ack=(
            ReplicaAck(replicas, flag["redis_replica_timeout"]) if replicas is not None else default.replica_ack
        ),
        clinic_files=tuple(map(str, clinic_files)),
        host=flag.get("host") or default.host,
        port=flag["port"] if flag.get("port") is not None else default.port,
        trusted_proxies=tuple(flag.get("trusted_proxies") or ()),
        retention_days=flag["retention_days"] if flag.get("retention_days") is not None else default.retention_days,
        allowed_origins=_origins(environ.get("FLOOR_ALLOWED_ORIGINS", "")),
        allowed_hosts=_hosts(environ.get("FLOOR_ALLOWED_HOSTS", "")),
        sockets_waiting_per_address=_count(
            "FLOOR_SOCKETS_WAITING_PER_ADDRESS", environ.get("FLOOR_SOCKETS_WAITING_PER_ADDRESS") or None
        ),
        ws=_one_of("FLOOR_WS", environ.get("FLOOR_WS") or default.ws, WS_STACKS),
        # Off: a per-socket zlib pass and ~40 KB of compressor state per screen, for messages of a few hundred
        # bytes; FLOOR_WS_DEFLATE=1 turns it on where bandwidth costs more than the server's CPU and memory.
        ws_deflate=environ.get("FLOOR_WS_DEFLATE") == "1",
        loop=_one_of("FLOOR_LOOP", environ.get("FLOOR_LOOP") or default.loop, LOOPS),
        clock_start=flag.get("clock_start"),
        clock_speed=flag["clock_speed"] if flag.get("clock_speed") is not None else default.clock_speed,
        clock_origin=flag.get("clock_origin"),
    )


class SettingError(ValueError):
    """A setting only the environment gives that cannot be used, naming the variable (the command stops with it,
    as it does with a bad flag)."""


#: $FLOOR_WS: our socket stack, or uvicorn's own; $FLOOR_LOOP: the event loop.
WS_STACKS = ("frames", "websockets-sansio", "websockets")
LOOPS = ("uvloop", "asyncio")


def _count(name: str, value: str | None) -> int:
    if value is None:
        return SOCKETS_WAITING_PER_ADDRESS
    if not (value.strip().isascii() and value.strip().isdigit()) or not 1 <= int(value) <= 100_000:
        raise SettingError(f"${name} is a whole number from 1 to 100000, not {value[:20]!r}")
    return int(value)


def _one_of(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise SettingError(f"${name} is one of {', '.join(choices)}, not {value!r}")
    return value


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origins(text: str) -> frozenset[str]:
    """$FLOOR_ALLOWED_ORIGINS, each as a browser sends its page's `Origin` (a socket's is compared with them as
    they are): `https://floor.example.org`, its name in lower case, without a slash after it or a default port.
    A name alone, or an address with a path, never matched: every wall behind the proxy was refused (403)."""
    origins = set()
    for given in (o.strip() for o in text.split(",")):
        if not given:
            continue
        try:
            url = urlsplit(given)
            port = url.port
        except ValueError:
            url, port = None, None
        if (
            url is None
            or url.scheme not in _DEFAULT_PORTS
            or not url.hostname
            or url.path not in ("", "/")
            or (url.query or url.fragment or url.username)
        ):
            raise SettingError(
                "$FLOOR_ALLOWED_ORIGINS takes origins such as https://floor.example.org or "
                "https://floor.example.org:8443 (the address a browser shows, without a path), comma-separated, "
                f"not {given!r}"
            )
        host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
        origins.add(f"{url.scheme}://{host}" + (f":{port}" if port not in (None, _DEFAULT_PORTS[url.scheme]) else ""))
    return frozenset(origins)


#: One label of a host name as a browser sends it in Host (an international name in its xn-- form).
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


def _hosts(text: str) -> frozenset[str]:
    """$FLOOR_ALLOWED_HOSTS: the names the server answers to (`floor.clinic.example.org`), or `*.` and a suffix
    (`*.clinic.example.org`: any name ending in `.clinic.example.org`, not that name itself), comma-separated, in
    lower case, without a trailing dot. Without a scheme, a port or a path: Host is compared by its name alone. A
    value naming nothing (`,`) or anything else stops the start naming it: a list that could never match would
    refuse every wall with 421."""
    if not text.strip():
        return frozenset()
    hosts = set()
    for given in (h.strip() for h in text.split(",")):
        if not given:
            continue
        name = given.lower().removesuffix(".")
        labels = name.removeprefix("*.").split(".")
        if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
            raise SettingError(
                "$FLOOR_ALLOWED_HOSTS takes host names such as floor.clinic.example.org, or *.clinic.example.org "
                "for every name under it (without https://, a port or a path; an international name in its "
                f"xn-- form), comma-separated, not {given[:100]!r}"
            )
        hosts.add(name)
    if not hosts:
        raise SettingError(f"$FLOOR_ALLOWED_HOSTS names no host: {text[:100]!r} (unset it to answer every Host)")
    return frozenset(hosts)


def _env_list(environ: Mapping[str, str], name: str) -> list[str]:
    value = environ.get(name, "")
    return [p for p in value.split(os.pathsep) if p]


# -- flags that fall back on the environment ----------------------------------------------------------------


LOG_LEVELS = ("debug", "info", "warning", "error")


# An environment variable set but empty means "not set", as it does for $FLOOR_REDIS_URL and $FLOOR_CLINICS:
# hence `or` below (an empty $FLOOR_LOG_LEVEL stopped every command once the level was checked; a review).


def log_level_flag(parser: argparse.ArgumentParser, after_the_subcommand: bool = False) -> None:
    """--log-level, before the subcommand (`floor --log-level debug serve`) or after it (`floor serve --log-level
    debug`, which stopped a service with "unrecognized arguments"; an ops review): given after, it wins."""
    # A `type`, not `choices`: argparse checks choices on what is typed only, and $FLOOR_LOG_LEVEL=verbose was a
    # KeyError's traceback; a string default goes through the type (an ops review).
    parser.add_argument(
        "--log-level",
        type=_level,
        default=argparse.SUPPRESS if after_the_subcommand else os.environ.get("FLOOR_LOG_LEVEL") or "info",
        help=", ".join(LOG_LEVELS) + " (default $FLOOR_LOG_LEVEL, else info)",
    )


def _level(text: str) -> str:
    if text.lower() not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"--log-level (or $FLOOR_LOG_LEVEL) is one of {', '.join(LOG_LEVELS)}, not {text!r}"
        )
    return text.lower()


def data_dir_flag(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    # Every command's help says where it looks when the flag is not given (its help said nothing: an ops review).
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=None,
        help=help or "the server's data directory (default $FLOOR_DATA_DIR, else ./floor-data)",
    )


def redis_flag(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    parser.add_argument(
        "--redis",
        metavar="URL",
        default=None,
        help=help
        or "the servers' Redis, as `floor serve` is given it (default $FLOOR_REDIS_URL, else $REDIS_URL, "
        "else the data directory)",
    )


def port_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        type=_whole("--port", "PORT", least=1, most=65535),
        default=os.environ.get("PORT") or "8000",
        help="the TCP port to serve on (default 8000, or $PORT)",
    )


def host_flag(parser: argparse.ArgumentParser, from_environment: bool) -> None:
    """--host; `floor serve`'s falls back on $FLOOR_HOST, the demo's does not."""
    parser.add_argument(
        "--host",
        default=os.environ.get("FLOOR_HOST", "127.0.0.1") if from_environment else "127.0.0.1",
        help="the address to serve on: 0.0.0.0 for every IPv4 address, :: for every address (default 127.0.0.1"
        + (", or $FLOOR_HOST)" if from_environment else ")"),
    )


def retention_days_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--retention-days",
        # At least 1: 0 reads as "keep forever" to many, and deleted every past day at start (an ops review).
        type=_whole("--retention-days", "FLOOR_RETENTION_DAYS", least=1),
        default=os.environ.get("FLOOR_RETENTION_DAYS") or str(RETENTION_DAYS),
        help=f"clinic days kept in the log, today included; older ones are deleted (default "
        f"{RETENTION_DAYS}, or $FLOOR_RETENTION_DAYS; at least 1)",
    )


def replica_ack_flags(parser: argparse.ArgumentParser) -> None:
    """--redis-replicas and --redis-replica-timeout (the commands that store taps in Redis take both)."""
    default = ReplicaAck()
    parser.add_argument(
        "--redis-replicas",
        metavar="N",
        type=_whole("--redis-replicas", "FLOOR_REDIS_REPLICAS"),
        default=os.environ.get("FLOOR_REDIS_REPLICAS") or str(default.replicas),
        help="with Redis: answer a tap only once N replicas of its node have it (Redis WAIT), "
        "else 503; default $FLOOR_REDIS_REPLICAS, else 0 (answer once the primary has it)",
    )
    parser.add_argument(
        "--redis-replica-timeout",
        metavar="MS",
        type=_whole("--redis-replica-timeout", "FLOOR_REDIS_REPLICA_TIMEOUT", least=1, most=MAX_REPLICA_TIMEOUT_MS),
        default=os.environ.get("FLOOR_REDIS_REPLICA_TIMEOUT") or str(default.timeout_ms),
        help="milliseconds a tap waits for those replicas before its 503 (at most "
        f"{MAX_REPLICA_TIMEOUT_MS}: the WAIT must end before Redis's command timeout); default "
        f"$FLOOR_REDIS_REPLICA_TIMEOUT, else {default.timeout_ms}",
    )


def trusted_proxies_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trusted-proxies",
        metavar="ADDRESSES",
        type=_trusted_proxies,
        default=os.environ.get("FLOOR_TRUSTED_PROXIES") or os.environ.get("FORWARDED_ALLOW_IPS", ""),
        help="the reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For "
        "gives the client's address; default $FLOOR_TRUSTED_PROXIES (else $FORWARDED_ALLOW_IPS), "
        "else none: every client is known by the address it connects from",
    )


def _whole(flag: str, env: str, least: int = 0, most: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if value < least or (most is not None and value > most):
            within = f"between {least} and {most}" if most is not None else f"of at least {least}"
            raise argparse.ArgumentTypeError(f"{flag} (or ${env}) must be a whole number {within}, not {text!r}")
        return value

    return parse


def _trusted_proxies(text: str) -> list[str]:
    """--trusted-proxies: addresses or networks (10.0.0.5, 10.0.0.0/24, ::1), comma-separated, or `*`."""
    proxies = [p.strip() for p in text.split(",") if p.strip()]
    for proxy in proxies:
        if proxy == "*":
            continue
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"--trusted-proxies (or $FLOOR_TRUSTED_PROXIES) takes addresses or networks such as 10.0.0.5 or "
                f"10.0.0.0/24, comma-separated, not {proxy!r}"
            ) from None
    return proxies
