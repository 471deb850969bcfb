from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from floor.credentials import TEST_HASHING_VARIABLE
from tests.support.directories import open_directory  # noqa: F401 (a fixture offered to every test)
from tests.support.logs import open_log  # noqa: F401 (a fixture offered to every test)
from tests.support.redis_server import MACHINE_REDIS, RedisServer, answers

# PINs hashed at the tests' low cost (floor.credentials.TEST_COST) instead of half a second each: in every
# `floor serve`, `floor staff add` and `floor demo` the tests start (they inherit this environment) and every
# Sessions made here without a cost of its own. Hashing itself is tested at its real cost in
# tests/test_credentials.py, which names its costs; a hash carries its cost, so checks follow it.
os.environ[TEST_HASHING_VARIABLE] = "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files marked `long` first, each file's tests in their order, the rest as collected. The two xdist workers
    take whole files from the front of this list (`--dist loadfile --no-loadscope-reorder`), so the minute-long
    files start early and the many short ones even out the end, instead of one long file running alone last."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


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
