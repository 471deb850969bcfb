from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.directories import open_directory  # noqa: F401 (a fixture offered to every test)
from tests.support.logs import open_log  # noqa: F401 (a fixture offered to every test)
from tests.support.redis_server import MACHINE_REDIS, RedisServer, answers


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis to test against: the machine's, or one started for the session. Never a skip."""
    if answers(MACHINE_REDIS):
        yield MACHINE_REDIS
        return
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server.url
    finally:
        server.stop()
