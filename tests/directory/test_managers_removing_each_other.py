"""Two managers removing each other at the same moment, through two servers, on both directories: one removal is
done, the other refused because its caller is gone (both were done, and the clinic was left with no manager who
could sign in: a review of the console); and a clinic's last manager is not removed."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from floor.clock import SystemClock
from floor.core.access import Role
from floor.core.errors import Refusal, Why
from floor.directory.base import StaffMember
from floor.sessions import Sessions
from tests.support.directories import Opener
from tests.support.staff import CHEAP

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def manager(staff_id: str, clinics: tuple[str, ...] = ("riverside",)) -> StaffMember:
    return StaffMember(
        staff_id,
        staff_id.title(),
        Role.manager,
        f"scrypt$16384$8$1$salt${staff_id}",
        dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC),
        "cli",
        clinics,
    )


async def test_two_managers_removing_each_other_at_once_leave_one_of_them(open_directory: Opener) -> None:
    here, elsewhere = await open_directory(), await open_directory()
    for staff_id in ("dana", "rita"):
        await here.add_staff(manager(staff_id))
    answers = await asyncio.gather(
        Sessions(here, SystemClock(), cost=CHEAP).remove_staff("rita", "dana", by_account=True),
        Sessions(elsewhere, SystemClock(), cost=CHEAP).remove_staff("dana", "rita", by_account=True),
        return_exceptions=True,
    )
    refused = [a for a in answers if isinstance(a, Refusal)]
    assert len(refused) == 1 and answers.count(None) == 1, answers
    assert refused[0].why is Why.unauthenticated and "removed meanwhile" in refused[0].message
    assert len(await here.all_staff()) == 1


async def test_the_last_manager_of_a_clinic_is_not_removed(open_directory: Opener) -> None:
    directory = await open_directory()
    await directory.add_staff(manager("dana", ("riverside", "lakeside")))
    await directory.add_staff(manager("rita"))
    sessions = Sessions(directory, SystemClock(), cost=CHEAP)
    with pytest.raises(Refusal) as refused:
        await sessions.remove_staff("dana", "rita")
    assert refused.value.why is Why.illegal_step and "last manager of lakeside" in refused.value.message
    await sessions.remove_staff("rita", "dana")  # dana still runs riverside
    assert [m.id for m in await directory.all_staff()] == ["dana"]


async def test_a_manager_removed_while_adding_an_account_or_setting_a_pin_changes_nothing(
    open_directory: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rita, about to be removed, adds an account of her own (or sets another manager's PIN): the PIN's hashing
    takes a while, and Dana removes her meanwhile. Both were stored after her removal, and she signed in with
    them; now nothing is stored and she is told her account is gone."""
    import threading

    from floor import sessions as sessions_module

    directory = await open_directory()
    for staff_id in ("dana", "rita"):
        await directory.add_staff(manager(staff_id))
    hashing, go_on = threading.Event(), threading.Event()
    hash_secret = sessions_module.hash_secret

    def slow_hash(secret: str, cost) -> str:
        hashing.set()
        assert go_on.wait(10)
        return hash_secret(secret, cost)

    monkeypatch.setattr(sessions_module, "hash_secret", slow_hash)
    rita = Sessions(directory, SystemClock(), cost=CHEAP)
    dana = Sessions(await open_directory(), SystemClock(), cost=CHEAP)
    changes = [
        lambda: rita.add_staff("ritas-spare", "Spare", Role.manager, "8642", "rita", ("riverside",), by_account=True),
        lambda: rita.set_secret("dana", "8642", "rita", by_account=True),
    ]
    for change in changes:
        task = asyncio.create_task(change())
        while not hashing.is_set():
            await asyncio.sleep(0.005)
        await dana.remove_staff("rita", "dana", by_account=True)
        go_on.set()
        with pytest.raises(Refusal) as refused:
            await task
        assert refused.value.why is Why.unauthenticated and "removed meanwhile" in refused.value.message
        assert [m.id for m in await directory.all_staff()] == ["dana"]
        assert (await directory.staff("dana")).secret == manager("dana").secret
        await directory.add_staff(manager("rita"))
        hashing.clear()
        go_on.clear()
