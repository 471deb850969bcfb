"""Settings are read once from the flags and the environment (floor/settings.py), and the composition root
(floor/bootstrap.py) chooses every backend from them: Redis when a URL is set, else the data directory."""

from __future__ import annotations

import datetime as dt

import pytest

from floor import bootstrap
from floor.cli import command_line
from floor.config import demo_clinic_path
from floor.directory.embedded import EmbeddedDirectory
from floor.directory.redis import RedisDirectory
from floor.log.embedded import EmbeddedLog
from floor.log.redis import RedisLog, ReplicaAck
from floor.schedule.upcoming import FileUpcoming, RedisUpcoming
from floor.settings import Settings, read

ENVIRONMENT = (
    "FLOOR_DATA_DIR",
    "FLOOR_REDIS_URL",
    "REDIS_URL",
    "FLOOR_CLINICS",
    "FLOOR_ALLOWED_ORIGINS",
    "FLOOR_ALLOWED_HOSTS",
    "FLOOR_WS",
    "FLOOR_WS_DEFLATE",
    "FLOOR_SOCKETS_WAITING_PER_ADDRESS",
    "FLOOR_LOOP",
    "FLOOR_REDIS_REPLICAS",
    "FLOOR_REDIS_REPLICA_TIMEOUT",
    "FLOOR_TRUSTED_PROXIES",
    "FORWARDED_ALLOW_IPS",
    "FLOOR_RETENTION_DAYS",
    "FLOOR_HOST",
    "PORT",
    "FLOOR_LOG_LEVEL",
)


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def settings_of(*argv: str) -> Settings:
    return read(command_line().parse_args(argv))


def test_without_flags_or_environment_a_server_runs_the_demo_clinic_on_its_data_directory() -> None:
    settings = settings_of("serve")
    assert settings == Settings(clinic_files=(str(demo_clinic_path()),))
    assert settings.redis_url is None and settings.data_dir == "floor-data"


def test_flags_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOOR_DATA_DIR", "/env/data")
    monkeypatch.setenv("FLOOR_REDIS_URL", "redis://env:6379/0")
    monkeypatch.setenv("FLOOR_CLINICS", "/env/clinics")
    settings = settings_of(
        "serve",
        "--data-dir",
        "/flag/data",
        "--redis",
        "redis://flag:6379/0",
        "--clinic",
        "a.toml",
        "--clinic",
        "b.toml",
        "--redis-replicas",
        "1",
        "--redis-replica-timeout",
        "500",
        "--trusted-proxies",
        "10.0.0.0/24",
        "--retention-days",
        "30",
        "--host",
        "0.0.0.0",
        "--port",
        "9000",
    )
    assert settings.data_dir == "/flag/data"
    assert settings.redis_url == "redis://flag:6379/0"
    assert settings.clinic_files == ("a.toml", "b.toml")
    assert settings.replica_ack == ReplicaAck(1, 500)
    assert settings.trusted_proxies == ("10.0.0.0/24",)
    assert (settings.retention_days, settings.host, settings.port) == (30, "0.0.0.0", 9000)


def test_the_environment_fills_in_what_the_flags_leave_open(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOOR_DATA_DIR", "/env/data")
    monkeypatch.setenv("REDIS_URL", "redis://plain:6379/0")
    monkeypatch.setenv("FLOOR_CLINICS", "/env/one.toml:/env/two.toml")
    monkeypatch.setenv("FLOOR_ALLOWED_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("FLOOR_WS", "websockets")
    monkeypatch.setenv("FLOOR_WS_DEFLATE", "1")
    monkeypatch.setenv("FLOOR_LOOP", "asyncio")
    monkeypatch.setenv("FLOOR_REDIS_REPLICAS", "2")
    settings = settings_of("staff", "list")
    assert settings.data_dir == "/env/data"
    assert settings.redis_url == "redis://plain:6379/0"  # $REDIS_URL when $FLOOR_REDIS_URL is not set
    assert settings.clinic_files == ("/env/one.toml", "/env/two.toml")
    assert settings.allowed_origins == {"https://a.example", "https://b.example"}
    assert (settings.ws, settings.ws_deflate, settings.loop) == ("websockets", True, "asyncio")
    assert settings.replica_ack == ReplicaAck()  # `floor staff` stores no taps: it has no replica flags
    monkeypatch.setenv("FLOOR_REDIS_URL", "redis://floor:6379/0")
    assert settings_of("serve").redis_url == "redis://floor:6379/0"
    assert settings_of("serve").replica_ack == ReplicaAck(2, 1000)


def test_sockets_waiting_to_sign_in_per_address_are_set_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from floor.settings import SettingError

    assert settings_of("serve").sockets_waiting_per_address == 200
    monkeypatch.setenv("FLOOR_SOCKETS_WAITING_PER_ADDRESS", "500")
    assert settings_of("serve").sockets_waiting_per_address == 500
    monkeypatch.setenv("FLOOR_SOCKETS_WAITING_PER_ADDRESS", "lots")
    with pytest.raises(SettingError, match="FLOOR_SOCKETS_WAITING_PER_ADDRESS"):
        settings_of("serve")
    # Digits to str.isdigit that int() refuses ('²') or reads (fullwidth 500): the setting's own words, not a
    # ValueError's traceback at start, and only ASCII digits taken (a hostile review).
    for odd in ("²", "2²", "\uff15\uff10\uff10"):
        monkeypatch.setenv("FLOOR_SOCKETS_WAITING_PER_ADDRESS", odd)
        with pytest.raises(SettingError, match="FLOOR_SOCKETS_WAITING_PER_ADDRESS"):
            settings_of("serve")


def test_the_host_names_a_server_answers_to_are_set_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding (a hostile review): $FLOOR_ALLOWED_HOSTS lists the names requests may be sent to."""
    from floor.settings import SettingError

    assert settings_of("serve").allowed_hosts == frozenset()  # unset: every Host answered, as before
    monkeypatch.setenv("FLOOR_ALLOWED_HOSTS", "")
    assert settings_of("serve").allowed_hosts == frozenset()
    monkeypatch.setenv("FLOOR_ALLOWED_HOSTS", " Floor.Clinic.Example. , *.walls.clinic.example,,floor-2_b.example")
    assert settings_of("serve").allowed_hosts == {"floor.clinic.example", "*.walls.clinic.example", "floor-2_b.example"}
    # A scheme, a port or a path (Host is compared by its name alone), a wildcard not in front or alone, a name
    # not in its xn-- form, a space, or nothing named: the setting's own words at start, not a list that never
    # matches and refuses every wall 421.
    for bad in (
        "https://floor.clinic.example",
        "floor.clinic.example:8443",
        "floor.clinic.example/wall",
        "*",
        "a.*.clinic.example",
        "*clinic.example",
        "flöor.example",
        "floor clinic.example",
        "-floor.example",
        "floor..example",
        ",",
        "floor.example, localhost:8000",
    ):
        monkeypatch.setenv("FLOOR_ALLOWED_HOSTS", bad)
        with pytest.raises(SettingError, match="FLOOR_ALLOWED_HOSTS"):
            settings_of("serve")


def test_a_rehearsal_clock_is_chosen_only_when_its_start_is_given() -> None:
    assert bootstrap.clock(settings_of("serve")) is None
    start = dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC)
    clock = bootstrap.clock(
        settings_of("serve", "--clock-start", start.isoformat(), "--clock-speed", "60", "--clock-origin", "1000")
    )
    assert clock is not None and clock.now() >= start


def test_the_root_chooses_the_data_directory_without_redis_and_redis_with_it(tmp_path) -> None:
    embedded = Settings(data_dir=str(tmp_path))
    assert isinstance(bootstrap.event_log(embedded, clinics=1), EmbeddedLog)
    assert isinstance(bootstrap.directory(embedded), EmbeddedDirectory)
    assert bootstrap.directory(embedded).path == tmp_path / "directory.json"
    assert isinstance(bootstrap.upcoming(embedded), FileUpcoming)
    shared = Settings(data_dir=str(tmp_path), redis_url="redis://127.0.0.1:6379/0", replica_ack=ReplicaAck(1, 800))
    log = bootstrap.event_log(shared, clinics=3)
    assert isinstance(log, RedisLog) and log.clinics == 3 and log.replica_ack == ReplicaAck(1, 800)
    assert isinstance(bootstrap.directory(shared), RedisDirectory)
    assert isinstance(bootstrap.upcoming(shared), RedisUpcoming)


def test_a_server_is_built_with_the_settings_retention(tmp_path) -> None:
    from floor.config import demo_clinic

    floors = bootstrap.build_floors([demo_clinic()], Settings(data_dir=str(tmp_path), retention_days=30))
    assert floors.retention_days == 30 and isinstance(floors.log, EmbeddedLog)


def test_a_setting_set_empty_in_the_environment_is_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # `Environment=FLOOR_DATA_DIR=` in a unit file, or `FLOOR_DATA_DIR=${DATA:-}` in a script: the server wrote
    # its log, its lock and the staff directory into its working directory (/ under systemd).
    for name in ("FLOOR_DATA_DIR", "FLOOR_WS", "FLOOR_LOOP"):
        monkeypatch.setenv(name, "")
    settings = settings_of("serve")
    assert (settings.data_dir, settings.ws, settings.loop) == ("floor-data", "frames", "uvloop")


def test_an_allowed_origin_is_read_as_a_browser_sends_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # A browser sends `https://floor.example.org`: no slash after it, its name in lower case, no default port.
    monkeypatch.setenv(
        "FLOOR_ALLOWED_ORIGINS",
        "https://Floor.Example.org/, https://floor.example.org:443, http://wall.example.org:8080",
    )
    assert settings_of("serve").allowed_origins == {"https://floor.example.org", "http://wall.example.org:8080"}
