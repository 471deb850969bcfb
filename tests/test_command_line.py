"""The `floor` command loads only the chosen subcommand's module (floor/cli/__init__.py), yet its help names
every subcommand, and each subcommand still reads its own flags."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import msgspec
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


def _staff(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "floor", "--log-level", "warning", "staff", *argv, "--data-dir", str(tmp_path)],
        cwd=ROOT,
        input="24682468\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_floor_staff_refuses_a_clinic_or_provider_id_no_clinic_file_has(tmp_path: Path) -> None:
    """As the API refuses them: `--clinic nowhere` let the account into no clinic, `--provider nobody` linked it
    to nobody's patients, and both were taken (a hostile review)."""
    add = ["add", "--id", "dr-new", "--role", "provider", "--secret-stdin"]
    wrong_clinic = _staff(tmp_path, *add, "--clinic", "nowhere", "--provider", "kim")
    assert wrong_clinic.returncode == 1 and "no clinic 'nowhere'" in wrong_clinic.stderr, wrong_clinic.stderr
    wrong_provider = _staff(tmp_path, *add, "--clinic", "riverside", "--provider", "nobody")
    assert wrong_provider.returncode == 1 and "provider 'nobody'" in wrong_provider.stderr, wrong_provider.stderr
    # It says which clinic files it read, and how to give it the servers' (its own --clinic names clinics).
    # (Not set here: it says so, rather than naming the demo's file as $FLOOR_CLINICS's, as it did.)
    assert "as $FLOOR_CLINICS is not set: " in wrong_provider.stderr, wrong_provider.stderr
    assert "set $FLOOR_CLINICS to the files your servers run" in wrong_provider.stderr
    assert _staff(tmp_path, "list").stdout.strip() == ""  # nothing was added
    added = _staff(tmp_path, *add, "--clinic", "riverside", "--provider", "kim")
    assert added.returncode == 0, added.stderr
    assert "linked to provider kim" in added.stderr
    moved = _staff(tmp_path, "clinics", "--id", "dr-new", "--clinic", "nowhere")
    assert moved.returncode == 1 and "no clinic 'nowhere'" in moved.stderr
    assert "riverside" in _staff(tmp_path, "list").stdout


def test_a_start_that_cannot_load_its_log_does_what_the_command_does_on_stopping_then_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`floor demo` removes its data directory (its PIN hashes among it) once its server stops: a start that could
    not load the log ended the process at once and left it behind (a hostile review)."""
    from floor.cli import serve
    from floor.log.base import LogCorrupt

    done: list[str] = []
    monkeypatch.setattr(serve, "_then", [lambda: done.append("removed the demo's data directory")])

    def exit_(code: int) -> None:
        raise SystemExit(code)

    monkeypatch.setattr(serve.os, "_exit", exit_)
    monkeypatch.setattr(serve.logging, "shutdown", lambda: None)
    with pytest.raises(SystemExit) as ended:
        serve._cannot_start(LogCorrupt("clinic riverside: its log's event at seq 2 cannot be folded"))
    assert ended.value.code == 1 and done == ["removed the demo's data directory"]
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("floor: cannot start: clinic riverside: its log's event at seq 2 cannot be folded.")
    assert "give --clinic only their files" in line


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"FLOOR_LOG_LEVEL": "verbose"}, "--log-level (or $FLOOR_LOG_LEVEL) is one of debug, info, warning, error"),
        # 0 reads as "keep forever" to many: it deleted every past day at start.
        (
            {"FLOOR_RETENTION_DAYS": "0"},
            "--retention-days (or $FLOOR_RETENTION_DAYS) must be a whole number of at least 1",
        ),
        ({"FLOOR_RETENTION_DAYS": "30d"}, "--retention-days (or $FLOOR_RETENTION_DAYS) must be a whole number"),
        ({"PORT": "abc"}, "--port (or $PORT) must be a whole number between 1 and 65535"),
        ({"PORT": "99999"}, "--port (or $PORT) must be a whole number between 1 and 65535"),
        # A name without its scheme never matched a page's Origin: every wall behind the proxy refused (403).
        (
            {"FLOOR_ALLOWED_ORIGINS": "https://floor.example.org, floor.example.org"},
            "$FLOOR_ALLOWED_ORIGINS takes origins such as https://floor.example.org",
        ),
        ({"FLOOR_ALLOWED_ORIGINS": "https://floor.example.org/wall"}, "not 'https://floor.example.org/wall'"),
        # A name with a port never matched (Host is compared by its name): every wall refused 421.
        ({"FLOOR_ALLOWED_HOSTS": "floor.example.org:8443"}, "$FLOOR_ALLOWED_HOSTS takes host names such as"),
        # A traceback from deep inside uvicorn, after the server said it was starting.
        ({"FLOOR_WS": "sansio"}, "$FLOOR_WS is one of frames, websockets-sansio, websockets, not 'sansio'"),
        ({"FLOOR_LOOP": "uv"}, "$FLOOR_LOOP is one of uvloop, asyncio, not 'uv'"),
    ],
)
def test_a_bad_setting_in_the_environment_is_one_line_naming_it_not_a_traceback(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "floor", "serve", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert says in done.stderr.strip().splitlines()[-1]
    assert not any(tmp_path.iterdir())  # nothing started, nothing pruned


def test_a_setting_set_empty_in_the_environment_is_as_if_not_set(tmp_path: Path) -> None:
    empty = dict.fromkeys(("FLOOR_LOG_LEVEL", "PORT", "FLOOR_RETENTION_DAYS", "FLOOR_REDIS_REPLICAS"), "")
    done = subprocess.run(
        [sys.executable, "-m", "floor", "staff", "list", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **empty},
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("redis", "code", "says"),
    [
        ("http://127.0.0.1:6379", 2, "is no Redis URL"),
        ("redis://127.0.0.1:6379/99", 1, "DB index is out of range"),
    ],
)
def test_floor_staff_with_a_bad_redis_or_a_damaged_directory_says_so_in_one_line(
    tmp_path: Path, redis: str, code: int, says: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "floor", "staff", "list", "--redis", redis],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == code and "Traceback" not in done.stderr, done.stderr
    assert says in done.stderr.strip().splitlines()[-1]
    (tmp_path / "directory.json").write_text('{"staff":')
    done = subprocess.run(
        [sys.executable, "-m", "floor", "staff", "list", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "the staff directory is unreadable" in done.stderr.strip().splitlines()[-1]


def test_what_floor_writes_is_its_own_users_to_read(tmp_path: Path) -> None:
    """The log holds patient names: it was readable by every local user (an ops review)."""
    from floor.core.access import Role
    from tests.server.conftest import ServerProcess

    server = ServerProcess(tmp_path / "data", tmp_path / "server.log")
    server.start()
    try:
        desk = server.signed_in(Role.front_desk)
        answer = httpx.post(
            f"{server.url}/api/clinics/riverside/visits",
            headers=desk,
            timeout=10,
            json={"patient_name": "Ann Lee", "provider": "kim", "visit_type": "follow", "walk_in": True},
        )
        assert answer.status_code == 201, answer.text
    finally:
        server.stop()
    written = [server.data_dir, *server.data_dir.rglob("*")]
    assert any(p.suffix == ".log" for p in written) and any(p.name == "directory.json" for p in written)
    assert [p for p in written if p.stat().st_mode & 0o077] == []


#: What each subcommand needs besides its name for its command line to be read.
NEEDS = {"staff": ["list"], "replay": ["day.log"], "export": ["--clinic", "x"], "import": ["--clinic", "x", "a.csv"]}


@pytest.mark.parametrize("name", [name for name, _, _ in COMMANDS])
def test_the_log_level_is_taken_after_the_subcommand_too(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # `ExecStart=floor serve --log-level debug` stopped the service: "unrecognized arguments: --log-level debug".
    monkeypatch.delenv("FLOOR_LOG_LEVEL", raising=False)
    parser = command_line([name])
    needs = NEEDS.get(name, [])
    assert parser.parse_args([name, *needs, "--log-level", "debug"]).log_level == "debug"
    assert parser.parse_args(["--log-level", "warning", name, *needs]).log_level == "warning"
    assert parser.parse_args([name, *needs]).log_level == "info"


@pytest.mark.parametrize("name", [name for name, _, _ in COMMANDS])
def test_each_commands_help_says_where_it_looks_without_its_flags(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # `floor staff --help` listed `--data-dir DATA_DIR` and `--redis URL` bare: an engineer at 3 a.m. could not
    # tell that it reads $FLOOR_DATA_DIR (or $FLOOR_REDIS_URL) as the server does.
    with pytest.raises(SystemExit):
        main([name, "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    if "--data-dir" in shown:
        assert "$FLOOR_DATA_DIR" in shown
    if "--redis URL" in shown:
        assert "$FLOOR_REDIS_URL" in shown


@pytest.mark.parametrize(
    "argv",
    # serve with a clinic file that is not there: were it not refused first, it would stop on that (exit 2).
    [
        ["staff", "list"],
        ["serve", "--clinic", "none.toml"],
        ["import", "--clinic", "riverside", "a.csv"],
        ["check", "--repair"],
    ],
    ids=["staff", "serve", "import", "check --repair"],
)
def test_root_does_not_write_into_a_data_directory_that_belongs_to_another_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    # `sudo floor staff unlock --id ben` on the service's data directory rewrote directory.json as root's alone
    # (umask 077): every sign-in was then refused 503 while /readyz said ready; a day file, floor.lock or
    # directory.lock made so stopped the server or the clinic. The directory belongs to the user the server runs
    # as; root is told to be that user, and nothing is written.
    data = tmp_path / "data"
    data.mkdir()
    (data / "directory.json").write_text('{"staff": {}}')
    before = sorted(p.name for p in data.iterdir())
    owner = data.stat().st_uid
    monkeypatch.setattr(os, "geteuid", lambda: 0)  # root, and the directory someone else's
    monkeypatch.setattr(os, "stat", _owned_by(owner + 1 if owner == 0 else owner, data))
    # Floor's logging is left as the tests set it: configured here, its loggers cached for the process, and a later
    # test capturing Floor's lines saw none of them.
    monkeypatch.setattr("floor.cli.configure", lambda level: None)
    with pytest.raises(SystemExit) as done:
        main([argv[0], *argv[1:], "--data-dir", str(data)])
    assert done.value.code not in (0, None)
    said = str(done.value.code) + capsys.readouterr().err
    assert f"{data} belongs to" in said and "sudo -u" in said, said
    assert sorted(p.name for p in data.iterdir()) == before


def _owned_by(uid: int, path: Path):
    """os.stat, but `path` belongs to `uid` (a test cannot give a directory away unless it runs as root)."""
    real = os.stat

    def stat(target, *args, **kwargs):
        found = real(target, *args, **kwargs)
        if Path(target) == path:
            fields = list(found)
            fields[4] = uid  # st_uid
            return os.stat_result(fields)
        return found

    return stat


def test_the_staff_help_names_every_action_it_takes(capsys: pytest.CaptureFixture[str]) -> None:
    # `floor --help` said staff would "add staff (the first manager), list them, unlock or reset a PIN", and
    # `floor staff --help` listed {add,list,unlock,secret,clinics} with no word on them: `clinics` (which
    # changes an account's clinics and ends its sign-ins, README's "Staff work in clinics") was not said.
    line = next(line for name, _, line in COMMANDS if name == "staff")
    assert "clinics" in line
    with pytest.raises(SystemExit):
        main(["staff", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for action in ("add:", "list:", "unlock:", "secret:", "clinics:"):
        assert action in shown


def test_floor_serve_warns_of_a_screen_language_the_clinic_lists_with_no_file() -> None:
    # README, Languages: "to add one, copy en.json, translate it and list its code in the clinic file". Listed
    # with no static/i18n/fr.json, a clinic's screens showed English (and the waiting room English in French's
    # turn), and `floor serve` said nothing.
    from structlog.testing import capture_logs

    from floor.cli.serve import languages_without_a_file
    from floor.config import demo_clinic

    clinic = demo_clinic()
    french = msgspec.structs.replace(
        clinic, display=msgspec.structs.replace(clinic.display, languages=["en", "fr", "es"])
    )
    with capture_logs() as logs:
        assert languages_without_a_file([clinic]) == []
        assert languages_without_a_file([french]) == ["riverside: display.languages[1]"]
    warned = [e for e in logs if e["event"] == "clinic_language_without_file"]
    assert [(e["log_level"], e["field"], e["language"]) for e in warned] == [("warning", "display.languages[1]", "fr")]
    assert warned[0]["expected"].endswith("i18n/fr.json")
