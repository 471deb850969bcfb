"""The directory contract, run against every backend: embedded (a JSON file, or memory) and Redis.

Staff (unique ids, replace, remove, atomic failure counts), sessions (expiry, ending one or all of a
person's, the revision that tells servers to look again), displays, and pairing (live codes, claims,
one approval, one collection). The embedded backend must also survive a reopen, or keep to memory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import msgspec
import pytest

from floor.core.access import Role
from floor.directory.base import Directory, Display, Pairing, Session, StaffMember, token_hash
from floor.directory.embedded import EmbeddedDirectory
from floor.directory.redis import RedisDirectory
from tests.support.redis_server import forget_prefix

pytestmark = pytest.mark.anyio

Opener = Callable[[], Awaitable[Directory]]

HOUR = dt.timedelta(hours=1)
TICK = dt.timedelta(microseconds=1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["embedded", "redis"])
async def open_directory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens a directory over the same storage each time it is called (a second server, or a restart)."""
    opened: list[Directory] = []
    prefix = f"test-{uuid.uuid4().hex}"
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""

    async def opener() -> Directory:
        directory: Directory = (EmbeddedDirectory(tmp_path / "directory.json") if request.param == "embedded"
                                else RedisDirectory(url, prefix=prefix))
        await directory.open()
        opened.append(directory)
        return directory

    yield opener
    for directory in opened:
        await directory.close()
    if request.param == "redis":
        await forget_prefix(url, prefix)


@pytest.fixture
async def directory(open_directory: Opener) -> Directory:
    return await open_directory()


def now() -> dt.datetime:
    # Real time, not a fixed date: Redis expires sessions and pairings on its own clock.
    return dt.datetime.now(dt.UTC)


def member(staff_id: str, name: str = "", role: Role = Role.front_desk) -> StaffMember:
    return StaffMember(id=staff_id, name=name or staff_id.title(), role=role,
                       secret=f"scrypt$16384$8$1$salt${staff_id}", added_at=now(), added_by="manager-1")


def session(person: str, *, token: str | None = None, at: dt.datetime | None = None,
            lasts: dt.timedelta = HOUR, kind: str = "staff") -> Session:
    at = at or now()
    return Session(token_hash=token_hash(token or uuid.uuid4().hex), kind=kind,  # type: ignore[arg-type]
                   person=person, device="tablet-1", issued_at=at, expires_at=at + lasts,
                   role=Role.provider if kind == "staff" else None, clinic="riverside",
                   zone="north" if kind == "display" else None)


def display(display_id: str, paired_at: dt.datetime, **changes: object) -> Display:
    fields: dict[str, object] = {"id": display_id, "clinic": "riverside", "label": f"Wall {display_id}",
                                 "paired_at": paired_at, "paired_by": "manager-1", **changes}
    return Display(**fields)  # type: ignore[arg-type]


def pairing(code: str = "482913", *, lasts: dt.timedelta = HOUR, claim: str | None = None) -> Pairing:
    return Pairing(code=code, claim_hash=token_hash(claim or uuid.uuid4().hex), expires_at=now() + lasts)


# -- staff ----------------------------------------------------------------------------------------------


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
    old = {"id": "kim", "name": "Jenna Kim", "role": "provider", "secret": "scrypt$16384$8$1$salt$kim",
           "added_at": "2026-11-02T14:00:00Z", "added_by": "floor staff add"}
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
    await directory.count_failure("ana")
    assert await directory.remove_staff("ana") is True
    assert await directory.staff("ana") is None
    assert await directory.failures("ana") == 0
    assert await directory.all_staff() == [bo]
    assert await directory.remove_staff("ana") is False
    assert await directory.remove_staff("nobody") is False
    # The id is free again.
    assert await directory.add_staff(ana) is True


async def test_failures_count_up_per_account_and_clear(directory: Directory) -> None:
    assert await directory.failures("ana") == 0
    assert [await directory.count_failure("ana") for _ in range(3)] == [1, 2, 3]
    assert await directory.count_failure("bo") == 1
    assert await directory.failures("ana") == 3
    assert await directory.failures("bo") == 1

    await directory.clear_failures("ana")
    assert await directory.failures("ana") == 0
    assert await directory.failures("bo") == 1
    await directory.clear_failures("ana")  # clearing nothing is fine
    await directory.clear_failures("nobody")
    assert await directory.count_failure("ana") == 1


async def test_concurrent_failures_are_all_counted(open_directory: Opener) -> None:
    a = await open_directory()
    # Two servers on Redis; one process owns the embedded file, so its callers share one object.
    b = a if isinstance(a, EmbeddedDirectory) else await open_directory()
    counts = await asyncio.gather(*((a if i % 2 else b).count_failure("ana") for i in range(20)))
    assert sorted(counts) == list(range(1, 21))
    assert await a.failures("ana") == 20
    assert await b.failures("ana") == 20


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
    results = await asyncio.gather(*((a if i % 2 else b).approve_pairing("676767", f"wall-{i}", now())
                                     for i in range(10)))
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
    await first.count_failure("ana")
    await first.count_failure("ana")
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
    assert await second.failures("ana") == 2
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
    await first.count_failure("ana")
    s = session("ana")
    await first.add_session(s)
    await first.add_pairing(p := pairing("787878"), now())
    await first.close()

    second = EmbeddedDirectory(path)
    await second.open()
    await second.clear_failures("ana")
    assert await second.end_sessions_of("ana") == 1
    assert await second.end_pairing(p) is True
    assert await second.remove_staff("ana") is True
    await second.close()

    third = EmbeddedDirectory(path)
    await third.open()
    assert await third.all_staff() == []
    assert await third.failures("ana") == 0
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
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    memory = EmbeddedDirectory(None)
    assert memory.path is None
    await memory.open()
    await memory.add_staff(ana := member("ana"))
    await memory.count_failure("ana")
    await memory.add_session(s := session("ana"))
    await memory.put_display(wall := display("wall-1", now()))
    await memory.add_pairing(p := pairing("909090"), now())
    assert await memory.staff("ana") == ana
    assert await memory.failures("ana") == 1
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
    assert await fresh.failures("ana") == 0
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
        await server.count_failure(f"server-{i}")
        assert await command.add_staff(member(f"command-{i}"))
    expected = {f"server-{i}" for i in range(20)} | {f"command-{i}" for i in range(20)}
    assert {m.id for m in await server.all_staff()} == expected
    assert {m.id for m in await command.all_staff()} == expected
    reopened = EmbeddedDirectory(path)
    await reopened.open()
    assert {m.id for m in await reopened.all_staff()} == expected
    assert await reopened.failures("server-7") == 1
