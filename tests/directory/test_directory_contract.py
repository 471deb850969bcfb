"""The directory contract, run against every backend: embedded (a JSON file, or memory) and Redis.

Staff (unique ids, replace, remove, atomic failure counts), sessions (expiry, ending one or all of a
person's, the revision that tells servers to look again), displays, and pairing (live codes, claims,
one approval, one collection). The embedded backend must also survive a reopen, or keep to memory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path

import msgspec
import pytest

from floor.clock import SystemClock
from floor.core.access import ALL_CLINICS, Role, clinics_of
from floor.credentials import Lockout
from floor.directory.base import (
    BUSY,
    PENDING,
    CallerRemoved,
    Directory,
    Display,
    LastManager,
    Pairing,
    PairingLimits,
    Session,
    StaffMember,
    Strikes,
    TooManyPairings,
    account_key,
    token_hash,
)
from floor.directory.embedded import EmbeddedDirectory
from floor.directory.redis import RedisDirectory
from floor.sessions import Sessions
from tests.support.directories import Opener
from tests.support.staff import CHEAP, PIN

pytestmark = pytest.mark.anyio


HOUR = dt.timedelta(hours=1)
TICK = dt.timedelta(microseconds=1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def directory(open_directory: Opener) -> Directory:
    return await open_directory()


def now() -> dt.datetime:
    # Real time, not a fixed date: Redis expires sessions and pairings on its own clock.
    return dt.datetime.now(dt.UTC)


def member(staff_id: str, name: str = "", role: Role = Role.front_desk) -> StaffMember:
    return StaffMember(
        id=staff_id,
        name=name or staff_id.title(),
        role=role,
        secret=f"scrypt$16384$8$1$salt${staff_id}",
        added_at=now(),
        added_by="manager-1",
    )


def session(
    person: str,
    *,
    token: str | None = None,
    at: dt.datetime | None = None,
    lasts: dt.timedelta = HOUR,
    kind: str = "staff",
) -> Session:
    at = at or now()
    return Session(
        token_hash=token_hash(token or uuid.uuid4().hex),
        kind=kind,  # type: ignore[arg-type]
        person=person,
        device="tablet-1",
        issued_at=at,
        expires_at=at + lasts,
        role=Role.provider if kind == "staff" else None,
        clinic="riverside",
        zone="north" if kind == "display" else None,
    )


#: A lockout that never waits, for tests that only count.
COUNTING = Lockout(free=1_000_000)


async def fail(directory: Directory, staff_id: str) -> int:
    """A wrong sign-in attempt for the id, as `Sessions.sign_in` counts it; the count after it."""
    assert await attempt(directory, [(account_key(staff_id), COUNTING)], now(), right=False) is None
    return await failures(directory, staff_id)


async def attempt(
    directory: Directory, keys: list[tuple[str, Lockout]], at: dt.datetime, right: bool = False
) -> dt.datetime | None:
    """An attempt from start to end: refused (when to try again), else counted in flight, then wrong or right."""
    if (retry := await directory.reserve_attempt(keys, at)) is not None:
        return retry
    if right:
        for key, _ in keys:
            await directory.release_attempt(key, at)
    else:
        await directory.fail_attempt(keys, at)
    return None


async def failures(directory: Directory, staff_id: str) -> int:
    held = await directory.strikes(account_key(staff_id), now())
    return held.count if held is not None else 0


def display(display_id: str, paired_at: dt.datetime, **changes: object) -> Display:
    fields: dict[str, object] = {
        "id": display_id,
        "clinic": "riverside",
        "label": f"Wall {display_id}",
        "paired_at": paired_at,
        "paired_by": "manager-1",
        **changes,
    }
    return Display(**fields)  # type: ignore[arg-type]


def pairing(
    code: str = "482913",
    *,
    lasts: dt.timedelta = HOUR,
    claim: str | None = None,
    address: str | None = None,
    at: dt.datetime | None = None,
    network: str | None = None,
) -> Pairing:
    return Pairing(
        code=code,
        claim_hash=token_hash(claim or uuid.uuid4().hex),
        expires_at=(at or now()) + lasts,
        address=address,
        network=network,
    )


# -- staff ----------------------------------------------------------------------------------------------


async def test_a_members_clinics_are_kept_and_read_back_after_a_reopen(open_directory: Opener) -> None:
    first = await open_directory()
    ana = msgspec.structs.replace(member("ana"), clinics=("riverside",))
    bo = msgspec.structs.replace(member("bo", role=Role.manager), clinics=("riverside", "lakeside"))
    cy = msgspec.structs.replace(member("cy", role=Role.manager), clinics=(ALL_CLINICS,))
    for m in (ana, bo, cy):
        assert await first.add_staff(m) is True
    second = await open_directory()
    assert await second.all_staff() == [ana, bo, cy]
    moved = msgspec.structs.replace(ana, clinics=("lakeside",))
    assert await second.replace_staff(moved) is True
    assert (await first.staff("ana")).clinics == ("lakeside",)


async def test_a_member_stored_before_clinics_were_recorded_keeps_every_clinic(open_directory: Opener) -> None:
    """Records written by an older Floor have no `clinics`: they read back as None, which is every clinic
    (floor.core.access.clinics_of), so an upgrade locks nobody out mid-shift."""
    directory = await open_directory()
    old = msgspec.json.encode(member("old"))
    old = old.replace(b',"clinics":null', b"")
    assert b"clinics" not in old
    if isinstance(directory, RedisDirectory):
        await directory._r.hset(directory._key("staff"), "old", old)
    else:
        assert isinstance(directory, EmbeddedDirectory) and directory.path is not None
        directory.path.write_bytes(b'{"staff":{"old":' + old + b"}}")
    reopened = await open_directory()
    found = await reopened.staff("old")
    assert found is not None and found.clinics is None
    assert clinics_of(found.clinics) == (ALL_CLINICS,)


async def test_a_sign_in_carries_the_members_clinics_and_a_change_of_clinics_ends_it(directory: Directory) -> None:
    sessions = Sessions(directory, SystemClock(), cost=CHEAP)
    await sessions.add_staff("ana", "Ana Flores", Role.front_desk, PIN, "test", ("riverside",))
    signed = await sessions.sign_in("ana", PIN, "tablet-1")
    caller = await sessions.caller(signed.token)
    assert caller is not None and caller.clinics == ("riverside",)
    await sessions.set_clinics("ana", ("lakeside",), "test")
    assert await sessions.caller(signed.token) is None  # signed out: no screen keeps the clinic it lost
    again = await sessions.caller((await sessions.sign_in("ana", PIN, "tablet-1")).token)
    assert again is not None and again.clinics == ("lakeside",)


async def test_added_staff_read_back_and_a_taken_id_is_refused(directory: Directory) -> None:
    ana = member("ana", role=Role.manager)
    assert await directory.add_staff(ana) is True
    assert await directory.staff("ana") == ana
    assert await directory.staff("nobody") is None

    impostor = member("ana", name="Someone Else", role=Role.provider)
    assert await directory.add_staff(impostor) is False
    assert await directory.staff("ana") == ana
    assert await directory.all_staff() == [ana]


async def test_replace_staff_changes_a_known_member_and_refuses_an_unknown_one(directory: Directory) -> None:
    ana = member("ana")
    await directory.add_staff(ana)
    promoted = member("ana", role=Role.manager)
    assert await directory.replace_staff(promoted) is True
    assert await directory.staff("ana") == promoted

    ghost = member("ghost")
    assert await directory.replace_staff(ghost) is False
    assert await directory.staff("ghost") is None
    assert await directory.all_staff() == [promoted]


async def test_a_providers_account_keeps_the_provider_id_it_is(open_directory: Opener) -> None:
    directory = await open_directory()
    lee = msgspec.structs.replace(member("dr-lee", role=Role.provider), provider="kim")
    assert await directory.add_staff(lee) is True
    again = await open_directory()  # another server, or a restart
    assert (await again.staff("dr-lee")).provider == "kim"
    assert [m.provider for m in await again.all_staff()] == ["kim"]


async def test_a_staff_record_stored_before_provider_ids_still_loads(directory: Directory) -> None:
    old = {
        "id": "kim",
        "name": "Jenna Kim",
        "role": "provider",
        "secret": "scrypt$16384$8$1$salt$kim",
        "added_at": "2026-11-02T14:00:00Z",
        "added_by": "floor staff add",
    }
    if isinstance(directory, EmbeddedDirectory):
        assert directory.path is not None
        directory.path.write_bytes(msgspec.json.encode({"staff": {"kim": old}, "revision": 0}))
    else:
        assert isinstance(directory, RedisDirectory)
        await directory._r.hset(directory._key("staff"), "kim", msgspec.json.encode(old))
    kim = await directory.staff("kim")
    assert kim is not None and (kim.role, kim.provider) == (Role.provider, None)
    assert [m.id for m in await directory.all_staff()] == ["kim"]


async def test_all_staff_is_sorted_by_id(directory: Directory) -> None:
    assert await directory.all_staff() == []
    members = [member(i) for i in ("mo", "ana", "zed", "bo")]
    for m in members:
        await directory.add_staff(m)
    assert await directory.all_staff() == sorted(members, key=lambda m: m.id)


async def test_remove_staff_removes_the_member_and_their_failures(directory: Directory) -> None:
    ana, bo = member("ana"), member("bo")
    await directory.add_staff(ana)
    await directory.add_staff(bo)
    await fail(directory, "ana")
    assert await directory.remove_staff("ana") is True
    assert await directory.staff("ana") is None
    assert await failures(directory, "ana") == 0
    assert await directory.all_staff() == [bo]
    assert await directory.remove_staff("ana") is False
    assert await directory.remove_staff("nobody") is False
    # The id is free again.
    assert await directory.add_staff(ana) is True


async def test_a_clinics_last_manager_is_not_removed(directory: Directory) -> None:
    """Nor is a manager whose clinics no other manager covers: the clinic would have nobody to run it."""
    river = msgspec.structs.replace(member("rita", role=Role.manager), clinics=("riverside",))
    lake = msgspec.structs.replace(member("lou", role=Role.manager), clinics=("lakeside", "riverside"))
    for m in (river, lake, member("ana")):
        await directory.add_staff(m)
    with pytest.raises(CallerRemoved):
        await directory.remove_staff("ana", by="nobody")
    with pytest.raises(LastManager) as last:
        await directory.remove_staff("lou", by="rita")  # rita has riverside, but nobody else has lakeside
    assert last.value.clinic == "lakeside"
    assert await directory.remove_staff("rita", by="lou") is True  # lou still runs riverside
    every = member("dana", role=Role.manager)  # stored before clinics were recorded: every clinic
    await directory.add_staff(every)
    assert await directory.remove_staff("lou", by="dana") is True
    with pytest.raises(LastManager) as last:
        await directory.remove_staff("dana")  # nobody else is a manager of every clinic
    assert last.value.clinic == ALL_CLINICS
    await directory.add_staff(msgspec.structs.replace(every, id="eve", clinics=(ALL_CLINICS,)))
    assert await directory.remove_staff("dana", by="eve") is True
    assert await directory.remove_staff("ana", by="eve") is True  # anyone not a manager: no rule
    assert [m.id for m in await directory.all_staff()] == ["eve"]


async def test_failures_count_up_per_account_and_clear(directory: Directory) -> None:
    assert await failures(directory, "ana") == 0
    assert [await fail(directory, "ana") for _ in range(3)] == [1, 2, 3]
    assert await fail(directory, "bo") == 1
    assert await failures(directory, "ana") == 3
    assert await failures(directory, "bo") == 1

    await directory.clear_strikes(account_key("ana"))
    assert await failures(directory, "ana") == 0
    assert await failures(directory, "bo") == 1
    await directory.clear_strikes(account_key("ana"))  # clearing nothing is fine
    await directory.clear_strikes(account_key("nobody"))
    assert await fail(directory, "ana") == 1


async def test_concurrent_failures_are_all_counted(open_directory: Opener) -> None:
    a = await open_directory()
    # Two servers on Redis; one process owns the embedded file, so its callers share one object.
    b = a if isinstance(a, EmbeddedDirectory) else await open_directory()
    key = [(account_key("ana"), COUNTING)]
    at = now()
    assert await asyncio.gather(*((a if i % 2 else b).reserve_attempt(key, at) for i in range(20))) == [None] * 20
    assert (await a.strikes(account_key("ana"), at)).pending == 20  # type: ignore[union-attr]
    await asyncio.gather(*((a if i % 2 else b).fail_attempt(key, at) for i in range(20)))
    held = await b.strikes(account_key("ana"), at)
    assert held is not None and (held.count, held.pending) == (20, 0)


#: Three free tries, then 1, 2, 4, 4, ... minutes; forgotten an hour after the last try.
RULE = Lockout(free=3, first_wait=dt.timedelta(minutes=1), longest_wait=dt.timedelta(minutes=4), forget_after=HOUR)
MINUTE = dt.timedelta(minutes=1)


def exact_now() -> dt.datetime:
    return now().replace(microsecond=0)  # Redis keeps milliseconds


async def test_the_try_that_reaches_the_free_ones_starts_a_wait_that_doubles_up_to_the_longest(
    directory: Directory,
) -> None:
    t0, ana = exact_now(), [(account_key("ana"), RULE)]
    assert [await attempt(directory, ana, t0) for _ in range(3)] == [None, None, None]
    assert await directory.strikes(account_key("ana"), t0) == Strikes(3, t0 + HOUR, t0 + MINUTE)
    # While it waits, tries are refused with the end of the wait and not counted (a burst cannot lengthen it).
    for at in (t0, t0 + MINUTE - TICK * 1000):
        assert await attempt(directory, ana, at) == t0 + MINUTE
    assert (await directory.strikes(account_key("ana"), t0)).count == 3  # type: ignore[union-attr]
    # Each try after a wait starts a longer one, never longer than the longest.
    at = t0 + MINUTE
    for wait in (2, 4, 4):
        assert await attempt(directory, ana, at) is None
        held = await directory.strikes(account_key("ana"), at)
        assert held is not None and held.until == at + wait * MINUTE and held.waits(at)
        assert not held.waits(at + wait * MINUTE)
        at += wait * MINUTE
    assert (await directory.strikes(account_key("ana"), at)).count == 6  # type: ignore[union-attr]
    # An hour after the last try the key is forgotten and starts again.
    later = at + HOUR
    assert await directory.strikes(account_key("ana"), later) is None
    assert await attempt(directory, ana, later) is None
    assert await directory.strikes(account_key("ana"), later) == Strikes(1, later + HOUR, None)


async def test_an_attempt_counts_against_every_key_or_none_of_them(directory: Directory) -> None:
    t0 = exact_now()
    address = ("address:10.0.0.7", RULE)
    for staff_id in ("ana", "bo", "cy"):
        assert await attempt(directory, [(account_key(staff_id), RULE), address], t0) is None
    # The address waits now: a try for a fresh id from it is refused, and counted against neither.
    assert await directory.reserve_attempt([(account_key("di"), RULE), address], t0) == t0 + MINUTE
    assert await directory.strikes(account_key("di"), t0) is None
    assert (await directory.strikes("address:10.0.0.7", t0)).count == 3  # type: ignore[union-attr]
    # Another address is its own.
    assert await directory.reserve_attempt([(account_key("di"), RULE), ("address:10.0.0.8", RULE)], t0) is None


async def test_concurrent_attempts_get_no_more_than_the_free_tries(open_directory: Opener) -> None:
    a = await open_directory()
    b = a if isinstance(a, EmbeddedDirectory) else await open_directory()
    t0, ana = exact_now(), [(account_key("ana"), RULE), ("address:10.0.0.7", COUNTING)]
    answers = await asyncio.gather(*((a if i % 2 else b).reserve_attempt(ana, t0) for i in range(40)))
    # The free tries are in flight; the others are told to try again in a moment, and counted nowhere.
    assert answers.count(None) == RULE.free
    assert set(answers) == {None, t0 + BUSY}
    held = await a.strikes(account_key("ana"), t0)
    assert held is not None and (held.count, held.pending) == (0, RULE.free)
    # All three wrong: the account waits.
    for _ in range(RULE.free):
        await b.fail_attempt(ana, t0)
    assert await a.strikes(account_key("ana"), t0) == Strikes(RULE.free, t0 + HOUR, t0 + MINUTE)
    assert (await b.strikes("address:10.0.0.7", t0)).count == RULE.free  # type: ignore[union-attr]


async def test_after_the_free_tries_one_attempt_is_checked_at_a_time(directory: Directory) -> None:
    t0, ana = exact_now(), [(account_key("ana"), RULE)]
    for _ in range(RULE.free):
        await attempt(directory, ana, t0)
    at = t0 + MINUTE
    assert await directory.reserve_attempt(ana, at) is None
    assert await directory.reserve_attempt(ana, at) == at + BUSY
    await directory.fail_attempt(ana, at)
    assert await directory.reserve_attempt(ana, at) == at + 2 * MINUTE


async def test_an_attempt_still_in_flight_after_a_minute_is_presumed_lost(directory: Directory) -> None:
    t0, ana = exact_now(), [(account_key("ana"), RULE)]
    for _ in range(RULE.free):
        assert await directory.reserve_attempt(ana, t0) is None  # their server stops before they end
    assert await directory.reserve_attempt(ana, t0 + PENDING - TICK * 1000) == t0 + PENDING - TICK * 1000 + BUSY
    assert await directory.reserve_attempt(ana, t0 + PENDING) is None


async def test_a_right_attempt_leaves_the_failures_as_they_were(directory: Directory) -> None:
    t0, key = exact_now(), "address:10.0.0.7"
    for _ in range(2):
        assert await attempt(directory, [(key, RULE)], t0) is None
    assert await attempt(directory, [(key, RULE)], t0, right=True) is None
    held = await directory.strikes(key, t0)
    assert held is not None and (held.count, held.pending) == (2, 0)
    # One right attempt with nothing held leaves nothing.
    assert await attempt(directory, [("address:10.0.0.8", RULE)], t0, right=True) is None
    assert await directory.strikes("address:10.0.0.8", t0) is None
    await directory.release_attempt("address:10.0.0.9", t0)  # nothing in flight is fine
    assert await directory.strikes("address:10.0.0.9", t0) is None


# -- sessions -------------------------------------------------------------------------------------------


async def test_a_session_reads_back_until_it_expires(directory: Directory) -> None:
    tablet, wall = session("ana"), session("wall-1", kind="display")
    await directory.add_session(tablet)
    await directory.add_session(wall)
    at = tablet.issued_at
    assert await directory.session(tablet.token_hash, at) == tablet
    assert await directory.session(wall.token_hash, at) == wall
    assert await directory.session(tablet.token_hash, tablet.expires_at - TICK) == tablet
    assert await directory.session(tablet.token_hash, tablet.expires_at) is None
    assert await directory.session(tablet.token_hash, tablet.expires_at + HOUR) is None
    assert await directory.session(token_hash("never issued"), at) is None


async def test_a_session_expires_in_real_time(directory: Directory) -> None:
    brief = session("ana", lasts=dt.timedelta(milliseconds=150))
    await directory.add_session(brief)
    assert await directory.session(brief.token_hash, now()) == brief
    await asyncio.sleep(0.2)
    assert await directory.session(brief.token_hash, now()) is None


async def test_ended_sessions_names_the_ended_and_the_expired_of_many_at_once(directory: Directory) -> None:
    live, ended, brief = session("ana"), session("bo"), session("wall-1", kind="display", lasts=dt.timedelta(minutes=1))
    for s in (live, ended, brief):
        await directory.add_session(s)
    await directory.end_session(ended.token_hash)
    at = live.issued_at
    asked = [live.token_hash, ended.token_hash, brief.token_hash, token_hash("never issued")]
    assert await directory.ended_sessions(asked, at) == {ended.token_hash, token_hash("never issued")}
    assert await directory.ended_sessions(asked, brief.expires_at) == set(asked) - {live.token_hash}
    assert await directory.ended_sessions([live.token_hash], at) == set()
    assert await directory.ended_sessions([], at) == set()
    many = [session(f"wall-{n}", kind="display") for n in range(1500)]
    for s in many:
        await directory.add_session(s)
    assert await directory.ended_sessions([s.token_hash for s in many] + [ended.token_hash], now()) == {
        ended.token_hash
    }


async def test_end_session_ends_it_once_and_grows_the_revision(directory: Directory) -> None:
    first, other = session("ana"), session("ana")
    await directory.add_session(first)
    await directory.add_session(other)
    before = await directory.revision()

    assert await directory.end_session(first.token_hash) is True
    after = await directory.revision()
    assert after > before
    assert await directory.session(first.token_hash, now()) is None
    assert await directory.session(other.token_hash, now()) == other

    assert await directory.end_session(first.token_hash) is False
    assert await directory.end_session(token_hash("never issued")) is False
    assert await directory.revision() == after


async def test_end_sessions_of_ends_every_session_of_one_person_only(directory: Directory) -> None:
    ana = [session("ana"), session("ana"), session("ana")]
    bo, wall = session("bo"), session("wall-1", kind="display")
    for s in [*ana, bo, wall]:
        await directory.add_session(s)
    before = await directory.revision()

    assert await directory.end_sessions_of("ana") == 3
    after = await directory.revision()
    assert after > before
    for s in ana:
        assert await directory.session(s.token_hash, now()) is None
        assert await directory.end_session(s.token_hash) is False
    assert await directory.session(bo.token_hash, now()) == bo
    assert await directory.session(wall.token_hash, now()) == wall

    assert await directory.end_sessions_of("ana") == 0
    assert await directory.end_sessions_of("nobody") == 0
    assert await directory.revision() == after

    assert await directory.end_sessions_of("wall-1") == 1
    assert await directory.revision() > after
    assert await directory.session(bo.token_hash, now()) == bo


async def test_a_session_ended_singly_is_not_counted_again_by_end_sessions_of(directory: Directory) -> None:
    one, two = session("ana"), session("ana")
    await directory.add_session(one)
    await directory.add_session(two)
    assert await directory.end_session(one.token_hash) is True
    assert await directory.end_sessions_of("ana") == 1
    # A new sign-in after a sign-out everywhere is a session like any other.
    three = session("ana")
    await directory.add_session(three)
    assert await directory.session(three.token_hash, now()) == three
    assert await directory.end_sessions_of("ana") == 1


async def test_the_revision_is_shared_by_every_server(open_directory: Opener) -> None:
    a = await open_directory()
    b = a if isinstance(a, EmbeddedDirectory) else await open_directory()
    s = session("ana")
    await a.add_session(s)
    assert await b.session(s.token_hash, now()) == s
    before = await b.revision()
    assert await b.end_session(s.token_hash) is True
    assert await a.revision() > before
    assert await a.session(s.token_hash, now()) is None


# -- displays -------------------------------------------------------------------------------------------


async def test_displays_put_get_and_list_in_pairing_order(directory: Directory) -> None:
    t = now()
    late, early, middle = display("d-late", t + HOUR), display("d-early", t - HOUR, zone="north"), display("d-mid", t)
    for d in (late, early, middle):
        await directory.put_display(d)
    assert await directory.display("d-early") == early
    assert await directory.display("nowhere") is None
    assert await directory.all_displays() == [early, middle, late]

    revoked = display("d-mid", t, revoked_at=t + HOUR, revoked_by="manager-2")
    await directory.put_display(revoked)
    assert await directory.display("d-mid") == revoked
    assert await directory.all_displays() == [early, revoked, late]


async def test_a_paired_display_is_renamed_and_moved_never_over_its_revocation(directory: Directory) -> None:
    """A wall renamed or moved to another zone without pairing it again (the manager revoked and paired, the wall
    dark meanwhile); the revision grows so every server looks at its sockets; a revoked one stays revoked."""
    t = now()
    await directory.put_display(display("d-1", t, zone="north"))
    before = await directory.revision()
    moved = await directory.change_display("d-1", "South hall", "south", t + HOUR, "manager-2")
    assert moved == display("d-1", t, zone="south", label="South hall", changed_at=t + HOUR, changed_by="manager-2")
    assert await directory.display("d-1") == moved and await directory.revision() > before
    assert await directory.change_display("d-1", "Whole clinic wall", None, t, "manager-1") == display(
        "d-1", t, label="Whole clinic wall", changed_at=t, changed_by="manager-1"
    )
    assert await directory.change_display("nowhere", "X", None, t, "manager-1") is None
    revoked = display("d-2", t, revoked_at=t + HOUR, revoked_by="manager-2")
    await directory.put_display(revoked)
    assert await directory.change_display("d-2", "Back again", "north", t, "manager-1") == revoked
    assert await directory.display("d-2") == revoked


async def test_no_displays_at_first(directory: Directory) -> None:
    assert await directory.all_displays() == []


# -- pairing --------------------------------------------------------------------------------------------


async def test_a_pairing_reads_back_by_code_and_by_claim_while_live(directory: Directory) -> None:
    p = pairing("111111", claim="the display's secret")
    assert await directory.add_pairing(p, now()) is True
    assert await directory.pairing("111111", now()) == p
    assert await directory.pairing_by_claim(token_hash("the display's secret"), now()) == p
    assert await directory.pairing("222222", now()) is None
    assert await directory.pairing_by_claim(token_hash("another secret"), now()) is None
    # Filtered by the `now` it is given, even while the backend still holds it.
    assert await directory.pairing("111111", p.expires_at - TICK) == p
    assert await directory.pairing("111111", p.expires_at) is None
    assert await directory.pairing_by_claim(p.claim_hash, p.expires_at + TICK) is None


async def test_a_live_code_is_refused_and_the_refusal_changes_nothing(directory: Directory) -> None:
    first = pairing("333333")
    assert await directory.add_pairing(first, now()) is True
    second = pairing("333333")
    assert await directory.add_pairing(second, now()) is False
    assert await directory.pairing("333333", now()) == first
    assert await directory.pairing_by_claim(first.claim_hash, now()) == first
    assert await directory.pairing_by_claim(second.claim_hash, now()) is None
    # Another code is fine.
    assert await directory.add_pairing(pairing("444444"), now()) is True


async def test_a_refused_pairing_leaves_its_claim_free_for_another_code(directory: Directory) -> None:
    # A display whose code collided asks again with a new code but the secret it already holds.
    await directory.add_pairing(pairing("373737"), now())
    assert await directory.add_pairing(pairing("373737", claim="the display's secret"), now()) is False
    retry = pairing("383838", claim="the display's secret")
    assert await directory.add_pairing(retry, now()) is True
    assert await directory.pairing_by_claim(retry.claim_hash, now()) == retry


async def test_a_code_is_free_again_once_its_pairing_expired(directory: Directory) -> None:
    brief = pairing("555555", lasts=dt.timedelta(milliseconds=150))
    assert await directory.add_pairing(brief, now()) is True
    assert await directory.add_pairing(pairing("555555"), now()) is False
    await asyncio.sleep(0.2)
    assert now() > brief.expires_at
    assert await directory.pairing("555555", now()) is None
    assert await directory.pairing_by_claim(brief.claim_hash, now()) is None

    again = pairing("555555")
    assert await directory.add_pairing(again, now()) is True
    assert await directory.pairing("555555", now()) == again
    assert await directory.pairing_by_claim(again.claim_hash, now()) == again
    assert await directory.pairing_by_claim(brief.claim_hash, now()) is None


async def test_pending_pairings_are_capped_per_address_and_in_all(directory: Directory) -> None:
    limits = PairingLimits(per_address=2, in_all=5)
    here, there = "10.0.0.7", "10.0.0.8"
    assert await directory.add_pairing(pairing("100001", address=here), now(), limits) is True
    assert await directory.add_pairing(pairing("100002", address=here), now(), limits) is True
    with pytest.raises(TooManyPairings) as refused:
        await directory.add_pairing(pairing("100003", address=here), now(), limits)
    assert refused.value.from_address is True
    assert await directory.pairing("100003", now()) is None
    assert await directory.add_pairing(pairing("100004", address=there), now(), limits) is True
    # Asked for inside the process (no address): only the cap in all applies.
    assert await directory.add_pairing(pairing("100005"), now(), limits) is True
    assert await directory.add_pairing(pairing("100006"), now(), limits) is True
    with pytest.raises(TooManyPairings) as full:
        await directory.add_pairing(pairing("100007", address="10.0.0.9"), now(), limits)
    assert full.value.from_address is False

    # A collected pairing no longer counts.
    assert await directory.end_pairing(await directory.pairing("100001", now()))  # type: ignore[arg-type]
    assert await directory.add_pairing(pairing("100008", address=here), now(), limits) is True


async def test_pending_pairings_are_capped_per_ipv6_network(directory: Directory) -> None:
    limits = PairingLimits(per_address=2, in_all=10, per_network=3)
    net = "2001:db8::/64"
    for n in range(1, 4):
        assert await directory.add_pairing(pairing(f"70000{n}", address=f"2001:db8::{n}", network=net), now(), limits)
    with pytest.raises(TooManyPairings) as refused:
        await directory.add_pairing(pairing("700004", address="2001:db8::4", network=net), now(), limits)
    assert refused.value.from_address is True
    assert await directory.pairing("700004", now()) is None
    other = "2001:db8:0:1::/64"
    assert await directory.add_pairing(pairing("700005", address="2001:db8:0:1::1", network=other), now(), limits)
    # A collected pairing no longer counts against its network.
    assert await directory.end_pairing(await directory.pairing("700001", now()))  # type: ignore[arg-type]
    assert await directory.add_pairing(pairing("700006", address="2001:db8::6", network=net), now(), limits)


async def test_expired_pairings_do_not_count_against_the_caps(directory: Directory) -> None:
    limits = PairingLimits(per_address=2, in_all=3)
    for code in ("200001", "200002"):
        assert await directory.add_pairing(pairing(code, address="10.0.0.7"), now(), limits) is True
    assert await directory.add_pairing(pairing("200003"), now(), limits) is True
    later = now() + HOUR + TICK
    for code in ("200004", "200005"):
        assert await directory.add_pairing(pairing(code, address="10.0.0.7", at=later), later, limits) is True
    assert await directory.pairing("200001", later) is None


async def test_expired_pairings_leave_the_embedded_file(tmp_path: Path) -> None:
    path = tmp_path / "directory.json"
    directory = EmbeddedDirectory(path)
    await directory.open()
    for i in range(50):
        await directory.add_pairing(pairing(f"3{i:05}"), now())
    later = now() + HOUR + TICK
    await directory.add_pairing(pairing("399999", at=later), later)
    assert b"300001" not in path.read_bytes() and b"399999" in path.read_bytes()


async def test_a_pairing_is_approved_only_once(directory: Directory) -> None:
    p = pairing("666666")
    await directory.add_pairing(p, now())
    assert await directory.approve_pairing("666666", "wall-1", now()) is True
    approved = await directory.pairing("666666", now())
    assert approved is not None
    assert approved.display == "wall-1"
    assert (approved.code, approved.claim_hash, approved.expires_at) == (p.code, p.claim_hash, p.expires_at)
    assert await directory.pairing_by_claim(p.claim_hash, now()) == approved

    assert await directory.approve_pairing("666666", "wall-2", now()) is False
    assert (await directory.pairing("666666", now())) == approved
    assert await directory.approve_pairing("777777", "wall-3", now()) is False


async def test_concurrent_approvals_approve_once(open_directory: Opener) -> None:
    a = await open_directory()
    b = a if isinstance(a, EmbeddedDirectory) else await open_directory()
    await a.add_pairing(pairing("676767"), now())
    results = await asyncio.gather(
        *((a if i % 2 else b).approve_pairing("676767", f"wall-{i}", now()) for i in range(10))
    )
    assert results.count(True) == 1
    winner = results.index(True)
    approved = await b.pairing("676767", now())
    assert approved is not None and approved.display == f"wall-{winner}"


async def test_a_pairing_is_approved_only_while_live(directory: Directory) -> None:
    p = pairing("888888")
    await directory.add_pairing(p, now())
    # Past its expiry by the clock the caller gives, though the backend may still hold it.
    assert await directory.approve_pairing("888888", "wall-1", p.expires_at) is False
    assert await directory.approve_pairing("888888", "wall-1", p.expires_at + HOUR) is False
    assert await directory.pairing("888888", p.expires_at) is None

    brief = pairing("999999", lasts=dt.timedelta(milliseconds=150))
    await directory.add_pairing(brief, now())
    await asyncio.sleep(0.2)
    assert await directory.approve_pairing("999999", "wall-2", now()) is False
    assert await directory.pairing("999999", now()) is None


async def test_end_pairing_removes_it_once(directory: Directory) -> None:
    p = pairing("121212")
    await directory.add_pairing(p, now())
    await directory.approve_pairing("121212", "wall-1", now())
    approved = await directory.pairing("121212", now())
    assert approved is not None
    assert await directory.end_pairing(approved) is True
    assert await directory.pairing("121212", now()) is None
    assert await directory.pairing_by_claim(p.claim_hash, now()) is None
    assert await directory.end_pairing(approved) is False
    assert await directory.end_pairing(pairing("343434")) is False
    # The code is free again.
    assert await directory.add_pairing(pairing("121212"), now()) is True


async def test_of_two_concurrent_collections_exactly_one_ends_the_pairing(open_directory: Opener) -> None:
    a = await open_directory()
    b = a if isinstance(a, EmbeddedDirectory) else await open_directory()
    p = pairing("565656")
    await a.add_pairing(p, now())
    await a.approve_pairing("565656", "wall-1", now())
    approved = await b.pairing("565656", now())
    assert approved is not None
    results = await asyncio.gather(a.end_pairing(approved), b.end_pairing(approved))
    assert sorted(results) == [False, True]
    assert await a.pairing("565656", now()) is None


# -- the embedded backend -------------------------------------------------------------------------------


def test_only_redis_is_shared(tmp_path: Path) -> None:
    assert EmbeddedDirectory(tmp_path / "directory.json").shared is False
    assert RedisDirectory("redis://127.0.0.1:6379/0", prefix="unused").shared is True


async def test_the_embedded_directory_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "floor" / "directory.json"
    first = EmbeddedDirectory(path)
    await first.open()
    ana, bo = member("ana", role=Role.manager), member("bo")
    await first.add_staff(ana)
    await first.add_staff(bo)
    await first.replace_staff(promoted := member("bo", role=Role.provider))
    await fail(first, "ana")
    await fail(first, "ana")
    kept, ended = session("ana"), session("bo")
    await first.add_session(kept)
    await first.add_session(ended)
    await first.end_session(ended.token_hash)
    wall = display("wall-1", now(), zone="north")
    await first.put_display(wall)
    p = pairing("454545")
    await first.add_pairing(p, now())
    await first.approve_pairing("454545", "wall-1", now())
    revision = await first.revision()
    await first.close()
    assert path.exists()
    assert not path.with_suffix(".tmp").exists()

    second = EmbeddedDirectory(path)
    await second.open()
    assert await second.all_staff() == [ana, promoted]
    assert await failures(second, "ana") == 2
    assert await second.session(kept.token_hash, now()) == kept
    assert await second.session(ended.token_hash, now()) is None
    assert await second.revision() == revision > 0
    assert await second.all_displays() == [wall]
    reopened = await second.pairing("454545", now())
    assert reopened is not None and reopened.display == "wall-1"
    assert await second.pairing_by_claim(p.claim_hash, now()) == reopened
    assert await second.add_staff(member("ana")) is False
    assert await second.approve_pairing("454545", "wall-2", now()) is False
    await second.close()


async def test_a_reopened_embedded_directory_sees_later_removals(tmp_path: Path) -> None:
    path = tmp_path / "directory.json"
    first = EmbeddedDirectory(path)
    await first.open()
    await first.add_staff(member("ana"))
    await fail(first, "ana")
    s = session("ana")
    await first.add_session(s)
    await first.add_pairing(p := pairing("787878"), now())
    await first.close()

    second = EmbeddedDirectory(path)
    await second.open()
    await second.clear_strikes(account_key("ana"))
    assert await second.end_sessions_of("ana") == 1
    assert await second.end_pairing(p) is True
    assert await second.remove_staff("ana") is True
    await second.close()

    third = EmbeddedDirectory(path)
    await third.open()
    assert await third.all_staff() == []
    assert await failures(third, "ana") == 0
    assert await third.session(s.token_hash, now()) is None
    assert await third.pairing("787878", now()) is None
    assert await third.revision() == 1


async def test_a_new_embedded_directory_opens_empty(tmp_path: Path) -> None:
    directory = EmbeddedDirectory(tmp_path / "not-yet" / "directory.json")
    await directory.open()
    assert await directory.all_staff() == []
    assert await directory.all_displays() == []
    assert await directory.revision() == 0
    assert not (tmp_path / "not-yet").exists()
    await directory.close()


async def test_an_embedded_directory_without_a_path_keeps_to_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    memory = EmbeddedDirectory(None)
    assert memory.path is None
    await memory.open()
    await memory.add_staff(ana := member("ana"))
    await fail(memory, "ana")
    await memory.add_session(s := session("ana"))
    await memory.put_display(wall := display("wall-1", now()))
    await memory.add_pairing(p := pairing("909090"), now())
    assert await memory.staff("ana") == ana
    assert await failures(memory, "ana") == 1
    assert await memory.session(s.token_hash, now()) == s
    assert await memory.all_displays() == [wall]
    assert await memory.pairing("909090", now()) == p
    assert await memory.end_session(s.token_hash) is True
    assert await memory.revision() == 1
    await memory.close()
    assert list(tmp_path.iterdir()) == []

    fresh = EmbeddedDirectory()
    await fresh.open()
    assert await fresh.all_staff() == []
    assert await failures(fresh, "ana") == 0
    assert await fresh.pairing("909090", now()) is None
    assert await fresh.revision() == 0


async def test_a_server_and_a_staff_command_on_one_file_keep_each_others_changes(tmp_path: Path) -> None:
    """`floor staff add` writes the file while the server holds it open: neither loses the other's change."""
    path = tmp_path / "directory.json"
    server, command = EmbeddedDirectory(path), EmbeddedDirectory(path)
    await server.open()
    await command.open()
    for i in range(20):
        # Interleaved, as a running server's sign-ins and a command's additions would be.
        assert await server.add_staff(member(f"server-{i}"))
        await fail(server, f"server-{i}")
        assert await command.add_staff(member(f"command-{i}"))
    expected = {f"server-{i}" for i in range(20)} | {f"command-{i}" for i in range(20)}
    assert {m.id for m in await server.all_staff()} == expected
    assert {m.id for m in await command.all_staff()} == expected
    reopened = EmbeddedDirectory(path)
    await reopened.open()
    assert {m.id for m in await reopened.all_staff()} == expected
    assert await failures(reopened, "server-7") == 1
