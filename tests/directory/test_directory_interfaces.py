"""The directory is the three small stores it is (staff, sign-ins, displays), each method's contract written
down, as the log's is; both backends are all three."""

from __future__ import annotations

import inspect

import pytest

from floor.directory.base import Directory, DisplayStore, SignInStore, StaffStore
from floor.directory.embedded import EmbeddedDirectory
from floor.directory.redis import RedisDirectory
from floor.log.base import EventLog

STORES = (StaffStore, SignInStore, DisplayStore)


def test_the_directory_is_exactly_its_three_stores() -> None:
    assert Directory.__abstractmethods__ == frozenset().union(*(s.__abstractmethods__ for s in STORES))
    for one, other in ((a, b) for a in STORES for b in STORES if a is not b):
        assert not one.__abstractmethods__ & other.__abstractmethods__, (one, other)


@pytest.mark.parametrize("store", [*STORES, Directory, EventLog], ids=lambda s: s.__name__)
def test_every_method_of_a_store_says_its_contract(store: type) -> None:
    assert store.__doc__
    undocumented = [name for name in store.__abstractmethods__ if not inspect.getdoc(getattr(store, name))]
    assert not undocumented


@pytest.mark.parametrize("backend", [EmbeddedDirectory, RedisDirectory], ids=lambda b: b.__name__)
def test_each_backend_keeps_all_three(backend: type) -> None:
    assert all(issubclass(backend, store) for store in STORES)
    assert not backend.__abstractmethods__
