"""The directory in Redis, shared by every server on it.

All keys carry one hash tag (`floor:{directory}:...`) so on a Redis Cluster they live in one slot and the
scripts below may touch several of them. Sessions and pairings expire in Redis itself.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import msgspec
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

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
)
from floor.log.base import LogUnavailable
from floor.redis_client import call, connect, hash_tagged

#: KEYS[1] the staff hash; ARGV the id, the account, and the id of the account changing it ('' for none): -1 when
#: that one is gone (nothing changed).
_REPLACE = """
if ARGV[3] ~= '' and redis.call('HEXISTS', KEYS[1], ARGV[3]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""

#: As _REPLACE, for a new account (HSETNX).
_ADD = """
if ARGV[3] ~= '' and redis.call('HEXISTS', KEYS[1], ARGV[3]) == 0 then return -1 end
return redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
"""

#: Remove an account in one step with the checks (floor.directory.base.StaffStore.remove_staff): KEYS[1] the staff
#: hash; ARGV the id, and the id removing it ('' for none). "removed", "none", "caller" (the remover is gone), or
#: "last:<clinic>" (the last manager of that clinic, "*" for every clinic). Clinics as `clinics_of` reads them.
_REMOVE_STAFF = """
local function clinics(m)
  local c = m['clinics']
  if c == nil or c == cjson.null then return {['*'] = true} end
  local set = {}
  for _, x in ipairs(c) do set[x] = true end
  return set
end
if ARGV[2] ~= '' and redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0 then return 'caller' end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 'none' end
local gone = cjson.decode(raw)
if gone['role'] == 'manager' then
  local covered = {}
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    if all[i] ~= ARGV[1] then
      local m = cjson.decode(all[i + 1])
      if m['role'] == 'manager' then
        for c, _ in pairs(clinics(m)) do covered[c] = true end
      end
    end
  end
  if not covered['*'] then
    local theirs = {}
    for c, _ in pairs(clinics(gone)) do table.insert(theirs, c) end
    table.sort(theirs)
    for _, c in ipairs(theirs) do
      if not covered[c] then return 'last:' .. c end
    end
  end
end
redis.call('HDEL', KEYS[1], ARGV[1])
return 'removed'
"""

_APPROVE = """
local raw = redis.call('GET', KEYS[1])
if raw ~= ARGV[2] then return 0 end
local pairing = cjson.decode(raw)
if pairing['display'] ~= nil and pairing['display'] ~= cjson.null then return 0 end
pairing['display'] = ARGV[1]
redis.call('SET', KEYS[1], cjson.encode(pairing), 'KEEPTTL')
return 1
"""

#: The claim is written only with its pairing: a refused code must not take the display's claim. Pending codes
#: are kept in a sorted set for all (KEYS[3]), one per address (KEYS[4]) and one per IPv6 /64 (KEYS[5]), scored by
#: when they expire by the caller's clock (ARGV[4] now, ARGV[5] expiry, ms), to cap them (ARGV[6] per address,
#: ARGV[7] in all, ARGV[8] per network): -1 the address's or its network's cap, -2 the cap in all.
_ADD_PAIRING = """
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', ARGV[4])
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[7]) then return -2 end
if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[6]) then return -1 end
if redis.call('ZCARD', KEYS[5]) >= tonumber(ARGV[8]) then return -1 end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[3]) then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3])
for _, key in ipairs({KEYS[3], KEYS[4], KEYS[5]}) do
  redis.call('ZADD', key, ARGV[5], ARGV[2])
  if redis.call('PTTL', key) < tonumber(ARGV[3]) then redis.call('PEXPIRE', key, ARGV[3]) end
end
return 1
"""

_END_SESSION = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2] .. cjson.decode(raw)['person'], ARGV[1])
redis.call('INCR', KEYS[3])
return 1
"""

_END_SESSIONS_OF = """
local keep = ARGV[1] or ''
local hashes = redis.call('SMEMBERS', KEYS[1])
local ended = 0
for _, h in ipairs(hashes) do
  if h ~= keep then
    ended = ended + redis.call('DEL', KEYS[2] .. h)
    redis.call('SREM', KEYS[1], h)
  end
end
if ended > 0 then redis.call('INCR', KEYS[3]) end
return ended
"""


#: The rules of floor/directory/base.py (`refused_until`, `reserved`, `failed`, `released`) in Lua, one step over
#: every key, by the caller's clock. A key is a hash: count, until, forget, pending, pending_until (ms; 0 none).
_STRIKES = """
local function held(key, now)
  local h = redis.call('HMGET', key, 'count', 'until', 'forget', 'pending', 'pending_until')
  local s = {count = tonumber(h[1]) or 0, wait_until = tonumber(h[2]) or 0, forget = tonumber(h[3]) or 0,
             pending = tonumber(h[4]) or 0, pending_until = tonumber(h[5]) or 0}
  if s.forget <= now then s = {count = 0, wait_until = 0, forget = now, pending = 0, pending_until = 0} end
  if s.pending_until <= now then s.pending, s.pending_until = 0, 0 end
  return s
end
local function keep(key, s, now)
  if s.count == 0 and s.pending == 0 then return redis.call('DEL', key) end
  redis.call('HSET', key, 'count', s.count, 'until', math.floor(s.wait_until), 'forget', math.floor(s.forget),
             'pending', s.pending, 'pending_until', math.floor(s.pending_until))
  redis.call('PEXPIRE', key, math.floor(s.forget - now) + 1)
end
"""

#: ARGV: now, pending ms, busy ms, then the free tries of each key. When to try again, or 0 (counted).
_RESERVE = (
    _STRIKES
    + """
local now, pending_ms, busy = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local longest, all = 0, {}
for i, key in ipairs(KEYS) do
  local s = held(key, now)
  local retry = 0
  if s.wait_until > now then retry = s.wait_until
  elseif s.pending > 0 and s.count + s.pending >= tonumber(ARGV[3 + i]) then retry = now + busy end
  if retry > longest then longest = retry end
  all[i] = s
end
if longest > 0 then return longest end
for i, key in ipairs(KEYS) do
  local s = all[i]
  s.pending, s.pending_until = s.pending + 1, now + pending_ms
  s.forget = math.max(s.forget, now + pending_ms)
  keep(key, s, now)
end
return 0
"""
)

#: ARGV: now, then four numbers per key: free tries, first and longest wait, forget after (ms).
_FAIL = (
    _STRIKES
    + """
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local at = 1 + (i - 1) * 4
  local free, first, most, forget = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3]),
                                    tonumber(ARGV[at + 4])
  local s = held(key, now)
  s.count = s.count + 1
  s.wait_until = 0
  if s.count >= free then s.wait_until = now + math.min(most, first * 2 ^ math.min(s.count - free, 16)) end
  s.forget = math.max(now + forget, s.wait_until, s.forget)
  s.pending = math.max(0, s.pending - 1)
  if s.pending == 0 then s.pending_until = 0 end
  keep(key, s, now)
end
return 1
"""
)

_RELEASE = (
    _STRIKES
    + """
local now = tonumber(ARGV[1])
local s = held(KEYS[1], now)
s.pending = math.max(0, s.pending - 1)
if s.pending == 0 then s.pending_until = 0 end
keep(KEYS[1], s, now)
return 1
"""
)


class _Expiry(msgspec.Struct):
    """The one field of a stored `Session` the socket check needs: decoding only it keeps a check of thousands
    of sign-ins cheap."""

    expires_at: dt.datetime


_EXPIRY = msgspec.json.Decoder(_Expiry)


def _ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def _span(span: dt.timedelta) -> int:
    return int(span.total_seconds() * 1000)


def _at(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def _term_ms(until: dt.datetime, since: dt.datetime) -> int:
    """Milliseconds from `since` to `until`, at least 1 (Redis refuses a PX of 0)."""
    return max(1, int((until - since).total_seconds() * 1000))


#: A display's record replaced only over the one read: KEYS[1] the displays hash, KEYS[2] the revision; ARGV the
#: display's id, its record as read, and the new one.
_CHANGE_DISPLAY = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('INCR', KEYS[2])
return 1
"""
#: Tries of a display's change against others changing it at once.
DISPLAY_CHANGE_TRIES = 5


class RedisDirectory(Directory):
    shared = True

    def __init__(self, url: str, prefix: str = "floor") -> None:
        self.url = url
        self.tag = hash_tagged(prefix, "directory")
        self.redis: Redis | RedisCluster | None = None
        self._scripts: dict[str, Any] = {}

    async def open(self) -> None:
        self.redis = await connect(self.url)
        self._scripts = {
            name: self.redis.register_script(text)
            for name, text in [
                ("replace", _REPLACE),
                ("add", _ADD),
                ("remove_staff", _REMOVE_STAFF),
                ("approve", _APPROVE),
                ("change_display", _CHANGE_DISPLAY),
                ("end", _END_SESSION),
                ("end_of", _END_SESSIONS_OF),
                ("add_pairing", _ADD_PAIRING),
                ("reserve", _RESERVE),
                ("fail", _FAIL),
                ("release", _RELEASE),
            ]
        }

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
            self.redis = None

    @property
    def _r(self) -> Any:
        if self.redis is None:
            raise LogUnavailable("the Redis directory is not open")
        return self.redis

    async def _do(self, command: Any) -> Any:
        """Every command through floor/redis_client.py `call`: one deadline, one idea of "Redis unavailable" (503)."""
        return await call(self.redis, lambda: command, "the Redis directory")

    def _key(self, *parts: str) -> str:
        return ":".join((self.tag, *parts))

    # -- staff ----------------------------------------------------------------------------------

    async def add_staff(self, member: StaffMember, by: str | None = None) -> bool:
        return self._changed(await self._staff_script("add", member, by))

    async def replace_staff(self, member: StaffMember, by: str | None = None) -> bool:
        return self._changed(await self._staff_script("replace", member, by))

    async def _staff_script(self, name: str, member: StaffMember, by: str | None) -> int:
        args = [member.id, msgspec.json.encode(member), by or ""]
        return int(await self._do(self._scripts[name](keys=[self._key("staff")], args=args)))

    @staticmethod
    def _changed(said: int) -> bool:
        if said < 0:
            raise CallerRemoved
        return bool(said)

    async def staff(self, staff_id: str) -> StaffMember | None:
        raw = await self._do(self._r.hget(self._key("staff"), staff_id))
        return msgspec.json.decode(raw, type=StaffMember) if raw else None

    async def all_staff(self) -> list[StaffMember]:
        raw = await self._do(self._r.hvals(self._key("staff")))
        return sorted((msgspec.json.decode(r, type=StaffMember) for r in raw), key=lambda m: m.id)

    async def remove_staff(self, staff_id: str, by: str | None = None) -> bool:
        said = await self._do(self._scripts["remove_staff"](keys=[self._key("staff")], args=[staff_id, by or ""]))
        said = said.decode() if isinstance(said, bytes) else str(said)
        if said == "caller":
            raise CallerRemoved
        if said.startswith("last:"):
            raise LastManager(said.removeprefix("last:"))
        if said == "removed":
            await self.clear_strikes(account_key(staff_id))
        return said == "removed"

    async def reserve_attempt(self, keys: list[tuple[str, Lockout]], now: dt.datetime) -> dt.datetime | None:
        args = [_ms(now), _span(PENDING), _span(BUSY), *(rule.free for _, rule in keys)]
        retry = int(
            await self._do(self._scripts["reserve"](keys=[self._key("strikes", key) for key, _ in keys], args=args))
        )
        return _at(retry) if retry else None

    async def fail_attempt(self, keys: list[tuple[str, Lockout]], now: dt.datetime) -> None:
        args: list[int] = [_ms(now)]
        for _, rule in keys:
            args += [rule.free, _span(rule.first_wait), _span(rule.longest_wait), _span(rule.forget_after)]
        await self._do(self._scripts["fail"](keys=[self._key("strikes", key) for key, _ in keys], args=args))

    async def release_attempt(self, key: str, now: dt.datetime) -> None:
        await self._do(self._scripts["release"](keys=[self._key("strikes", key)], args=[_ms(now)]))

    async def strikes(self, key: str, now: dt.datetime) -> Strikes | None:
        raw = await self._do(
            self._r.hmget(self._key("strikes", key), "count", "until", "forget", "pending", "pending_until")
        )
        if raw[0] is None or int(raw[2]) <= _ms(now):
            return None
        count, until, forget, pending, pending_until = (int(r or 0) for r in raw)
        return Strikes(
            count, _at(forget), _at(until) if until else None, pending, _at(pending_until) if pending_until else None
        )

    async def clear_strikes(self, key: str) -> None:
        await self._do(self._r.delete(self._key("strikes", key)))

    async def forget_typed_ids(self) -> int:
        prefix = self._key("strikes", "staff:")
        typed = []
        async for key in self._r.scan_iter(match=f"{prefix}*", count=1000):
            staff_id = (key.decode() if isinstance(key, bytes) else key).removeprefix(prefix)
            if not await self._do(self._r.hexists(self._key("staff"), staff_id)):
                typed.append(key)
        for key in typed:
            await self._do(self._r.delete(key))
        return len(typed)

    async def id_secret(self) -> bytes:
        key = self._key("id-secret")
        # Made once by whichever server asks first (SET NX), then read by all.
        await self._do(self._r.set(key, secrets.token_hex(32), nx=True))
        return bytes.fromhex((await self._do(self._r.get(key))).decode())

    # -- sessions -------------------------------------------------------------------------------

    async def add_session(self, session: Session) -> None:
        key, of = self._key("session", session.token_hash), self._key("sessions-of", session.person)
        pipe = self._r.pipeline(transaction=True)
        # Redis drops it after the session's term by its own clock (a lifetime, not an instant: a server whose
        # clock is off from Redis's neither loses sign-ins early nor keeps them late; `session` judges by ours).
        pipe.set(key, msgspec.json.encode(session), px=_term_ms(session.expires_at, session.issued_at))
        pipe.sadd(of, session.token_hash)
        await self._do(pipe.execute())

    async def session(self, token_hash: str, now: dt.datetime) -> Session | None:
        raw = await self._do(self._r.get(self._key("session", token_hash)))
        session = msgspec.json.decode(raw, type=Session) if raw else None
        return session if session is not None and session.expires_at > now else None

    async def ended_sessions(self, token_hashes: list[str], now: dt.datetime) -> set[str]:
        if not token_hashes:
            return set()
        # One MGET: every session key carries the directory's hash tag, so on a Cluster they share one slot.
        raw = await self._do(self._r.mget([self._key("session", h) for h in token_hashes]))
        return {h for h, r in zip(token_hashes, raw, strict=True) if not r or _EXPIRY.decode(r).expires_at <= now}

    async def end_session(self, token_hash: str) -> bool:
        return bool(
            await self._do(
                self._scripts["end"](
                    keys=[self._key("session", token_hash), self._key("sessions-of", ""), self._key("revision")],
                    args=[token_hash],
                )
            )
        )

    async def end_sessions_of(self, person: str, keep: str = "") -> int:
        return int(
            await self._do(
                self._scripts["end_of"](
                    keys=[self._key("sessions-of", person), self._key("session", ""), self._key("revision")],
                    args=[keep],
                )
            )
        )

    async def revision(self) -> int:
        return int(await self._do(self._r.get(self._key("revision"))) or 0)

    # -- displays and pairing -------------------------------------------------------------------

    async def put_display(self, display: Display) -> None:
        await self._do(self._r.hset(self._key("displays"), display.id, msgspec.json.encode(display)))

    async def change_display(
        self, display_id: str, label: str, zone: str | None, at: dt.datetime, by: str
    ) -> Display | None:
        key = self._key("displays")
        for _ in range(DISPLAY_CHANGE_TRIES):
            raw = await self._do(self._r.hget(key, display_id))
            if not raw:
                return None
            display = msgspec.json.decode(raw, type=Display)
            if display.revoked_at is not None:
                return display
            display = msgspec.structs.replace(display, label=label, zone=zone, changed_at=at, changed_by=by)
            # Stored only over the record read (a revocation in between stays), and the revision grows with it.
            args = [display_id, raw, msgspec.json.encode(display)]
            if await self._do(self._scripts["change_display"](keys=[key, self._key("revision")], args=args)):
                return display
        raise LogUnavailable("the display kept changing under this change: try again")

    async def display(self, display_id: str) -> Display | None:
        raw = await self._do(self._r.hget(self._key("displays"), display_id))
        return msgspec.json.decode(raw, type=Display) if raw else None

    async def all_displays(self) -> list[Display]:
        raw = await self._do(self._r.hvals(self._key("displays")))
        return sorted((msgspec.json.decode(r, type=Display) for r in raw), key=lambda d: d.paired_at)

    async def add_pairing(self, pairing: Pairing, now: dt.datetime, limits: PairingLimits | None = None) -> bool:
        unlimited = 2**31
        per_address = limits.per_address if limits is not None and pairing.address is not None else unlimited
        per_network = (
            limits.per_network
            if limits is not None and limits.per_network is not None and pairing.network is not None
            else unlimited
        )
        added = int(
            await self._do(
                self._scripts["add_pairing"](
                    keys=[
                        self._key("pairing", pairing.code),
                        self._key("claim", pairing.claim_hash),
                        self._key("pairings"),
                        self._key("pairings-from", pairing.address or ""),
                        self._key("pairings-from-network", pairing.network or ""),
                    ],
                    args=[
                        msgspec.json.encode(pairing),
                        pairing.code,
                        _term_ms(pairing.expires_at, now),
                        _ms(now),
                        _ms(pairing.expires_at),
                        per_address,
                        limits.in_all if limits is not None else unlimited,
                        per_network,
                    ],
                )
            )
        )
        if added < 0:
            raise TooManyPairings(from_address=added == -1)
        return added == 1

    async def pairing(self, code: str, now: dt.datetime) -> Pairing | None:
        raw = await self._do(self._r.get(self._key("pairing", code)))
        pairing = msgspec.json.decode(raw, type=Pairing) if raw else None
        return pairing if pairing is not None and pairing.expires_at > now else None

    async def pairing_by_claim(self, claim_hash: str, now: dt.datetime) -> Pairing | None:
        code = await self._do(self._r.get(self._key("claim", claim_hash)))
        pairing = await self.pairing(code.decode(), now) if code else None
        return pairing if pairing is not None and pairing.claim_hash == claim_hash else None

    async def approve_pairing(self, code: str, display_id: str, now: dt.datetime) -> bool:
        # Live by the caller's clock, as `pairing` judges it (Redis only drops it at expires_at by its own);
        # the script then approves it only if it is still the very pairing read here.
        key = self._key("pairing", code)
        raw = await self._do(self._r.get(key))
        if not raw or msgspec.json.decode(raw, type=Pairing).expires_at <= now:
            return False
        return bool(await self._do(self._scripts["approve"](keys=[key], args=[display_id, raw])))

    async def end_pairing(self, pairing: Pairing) -> bool:
        removed = await self._do(
            self._r.delete(self._key("pairing", pairing.code), self._key("claim", pairing.claim_hash))
        )
        pipe = self._r.pipeline(transaction=True)
        pipe.zrem(self._key("pairings"), pairing.code)
        pipe.zrem(self._key("pairings-from", pairing.address or ""), pairing.code)
        pipe.zrem(self._key("pairings-from-network", pairing.network or ""), pairing.code)
        await self._do(pipe.execute())
        return removed > 0  # DEL is atomic: of two servers collecting one token, only one removes it
