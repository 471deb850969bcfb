"""The Redis log: one stream per clinic, so several Floor servers share one live floor.

Keys carry the clinic as a hash tag (`floor:{riverside}:log`), so on a Redis Cluster each clinic's keys
live in one slot and every script below runs on one node. The stream entry id of an event is its seq
(`<seq>-0`): a seq can never be reused, and reading from a seq is a range query.

Durability is Redis's: with `appendonly yes` and `appendfsync always`, Redis fsyncs its AOF before it
answers, so an acknowledged tap survives a crash of the Redis host; with `everysec` up to a second of
acknowledged taps can be lost if the host (not just the process) goes down. Replication is asynchronous, so
a failover to a replica can lose the taps its master acknowledged last; with `ReplicaAck` a tap is answered
only once that many replicas have it (Redis `WAIT`), else 503.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import msgspec
import structlog
from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from floor.core.events import Event
from floor.log.base import (
    Diverged,
    EventLog,
    KeyTaken,
    LogUnavailable,
    NotReplicated,
    Receipt,
    Record,
    SeqTaken,
    check_batch,
    mark,
)
from floor.log.replicas import MAX_REPLICA_TIMEOUT_MS, NO_REPLICA_ACK, ReplicaAck
from floor.redis_client import (
    CALL_DEADLINE,
    COMMAND_TIMEOUT,
    POOL_SIZE,
    ListedNodes,
    call,
    connect,
    evicts,
    full,
    hash_tagged,
    safe_url,
)
from floor.retry import attempts

log = structlog.get_logger("floor.log.redis")

T = TypeVar("T")

_encoder = msgspec.json.Encoder()
_records = msgspec.json.Decoder(Record)
_receipts = msgspec.json.Decoder(Receipt)

#: The most events an append refused for its seq brings back (a writer further behind reads the log).
MISSED = 100

#: Checks the seq and every idempotency key, then appends the batch, in one step no other server can interleave
#: with (and that Redis writes to its AOF and replicas as one transaction, so a batch is stored whole or not).
#: KEYS: stream, seq, days index, then one receipt key per record. ARGV: receipt TTL, the batch's day, the `mark`
#: of the event the writer holds before the batch ('' for none), then per record its seq, its JSON, its receipt's
#: JSON ('' for none) and its mark.
#: A writer a few events behind (another server appended first) is refused with those events, at most MISSED of
#: them: it folds them in and tries again without reading the log in between (two round trips fewer).
#: Each entry keeps its event's mark (`m`) and the one before it (`a`, when the writer knew it): a writer whose
#: event before the batch is not the one the log holds there (a failover lost it, and another server stored
#: another) is refused `diverged`, and a server reading the log can tell the same (`_check_held`).
_APPEND = """
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local n = #KEYS - 3
for i = 1, n do
  if ARGV[4 * i + 2] ~= '' then
    local first = redis.call('GET', KEYS[3 + i])
    if first then return {'key', first} end
  end
end
local seq = tonumber(ARGV[4])
if seq ~= last + 1 then
  if seq >= 1 and seq <= last and last - seq < MISSED then
    return {'seq', tostring(last), redis.call('XRANGE', KEYS[1], ARGV[4] .. '-0', '+')}
  end
  return {'seq', tostring(last)}
end
if ARGV[3] ~= '' and last >= 1 then
  local before = redis.call('XRANGE', KEYS[1], last .. '-0', last .. '-0')
  if #before == 1 then
    local fields = before[1][2]
    for j = 1, #fields - 1, 2 do
      if fields[j] == 'm' and fields[j + 1] ~= ARGV[3] then return {'diverged', tostring(last)} end
    end
  end
end
local held = ARGV[3]
for i = 1, n do
  if held ~= '' then
    redis.call('XADD', KEYS[1], ARGV[4 * i] .. '-0', 'r', ARGV[4 * i + 1], 'm', ARGV[4 * i + 3], 'a', held)
  else
    redis.call('XADD', KEYS[1], ARGV[4 * i] .. '-0', 'r', ARGV[4 * i + 1], 'm', ARGV[4 * i + 3])
  end
  if ARGV[4 * i + 2] ~= '' then redis.call('SET', KEYS[3 + i], ARGV[4 * i + 2], 'EX', ARGV[1]) end
  held = ARGV[4 * i + 3]
end
redis.call('SET', KEYS[2], ARGV[4 * n])
redis.call('HSETNX', KEYS[3], ARGV[2], ARGV[4])
return {'ok'}
""".replace("MISSED", str(MISSED))


#: Why a write the replicas did not confirm in time is answered 503 (the tablet retries with the same key).
NOT_REPLICATED = "stored on the primary but not yet confirmed by a replica; retry with the same Idempotency-Key"


#: Seconds /readyz remembers a clinic's write that Redis left unanswered (none answered since): longer than a
#: tablet's wait between two tries, so that a Redis holding writes is not ready in between.
UNANSWERED_WRITE_SECONDS = 10.0

#: The longest a follower blocks in XREAD (seconds); its connections wait that long plus COMMAND_TIMEOUT.
FOLLOW_WAIT_MAX = 5.0

_PAGE = 5000


class RedisLog(EventLog):
    shared = True

    def __init__(
        self, url: str, prefix: str = "floor", clinics: int = 0, replica_ack: ReplicaAck = NO_REPLICA_ACK
    ) -> None:
        self.url = url
        self.prefix = prefix
        if replica_ack.timeout_ms > MAX_REPLICA_TIMEOUT_MS:
            raise ValueError(
                f"a replica acknowledgement waits at most {MAX_REPLICA_TIMEOUT_MS} ms, not {replica_ack.timeout_ms}"
            )
        self.replica_ack = replica_ack
        #: Connections for commands; the followers' blocking reads have a pool of their own (`followers`).
        self.pool_size = POOL_SIZE
        self.clinics = clinics
        self.redis: Redis | RedisCluster | None = None
        #: Per clinic, until when (time.monotonic) its appends are answered at once: a replica did not confirm
        #: its last one in time.
        self._unconfirmed_until: dict[str, float] = {}
        #: Per clinic, until when (time.monotonic) its appends are answered at once: Redis did not answer its last
        #: one in time (a Redis holding writes while it answers reads: CLIENT PAUSE WRITE, a coordinated failover).
        self._stalled_until: dict[str, float] = {}
        #: Per clinic, when Redis last left one of its writes unanswered, until one is answered again (/readyz).
        self._unanswered_at: dict[str, float] = {}
        self.followers: Redis | RedisCluster | None = None
        self._append: Any = None

    def _keys(self, clinic: str) -> tuple[str, str, str]:
        tag = hash_tagged(self.prefix, clinic)
        return f"{tag}:log", f"{tag}:seq", f"{tag}:days"

    def _receipt_key(self, clinic: str, key: str) -> str:
        return f"{hash_tagged(self.prefix, clinic)}:receipt:{key}"

    async def open(self) -> None:
        self.redis = client = await connect(self.url, self.pool_size)
        # Followers block in XREAD for up to FOLLOW_WAIT_MAX seconds: on connections of their own that wait that
        # long, so every other command keeps its short COMMAND_TIMEOUT.
        try:
            self.followers = await connect(self.url, self.clinics + 2, FOLLOW_WAIT_MAX + COMMAND_TIMEOUT)
        except BaseException:
            await client.aclose()
            raise
        self._append = client.register_script(_APPEND)
        log.info("redis_log_opened", url=safe_url(self.url), cluster=isinstance(client, RedisCluster))
        await self._check_persistence(client)
        if isinstance(client, ListedNodes) and not self.replica_ack.replicas:
            # A primary and replicas without a cluster: an old primary that restarts as a master on its own files
            # is a second master this server may write to, its taps lost when it rejoins as a replica. Only
            # --redis-replicas 1 makes such a master refuse every tap (README, "A primary and replicas").
            log.warning(
                "redis_listed_nodes_without_replica_ack",
                listed=safe_url(self.url),
                advice="run with --redis-replicas 1: without it a tap acknowledged by an old primary that came "
                "back as a master can be lost",
            )

    async def _check_persistence(self, client: Redis | RedisCluster) -> None:
        """Whether each master keeps its data on disk (CONFIG GET appendonly and save): one with `appendonly no`
        and no `save` rule loses everything on a restart, the log and, silently, the staff directory and what is
        kept beside the log (a review of a clinic's week: only the log's loss was ever said, `log_lost_events`).
        Said at start as a warning and on /readyz (`caution`), ready all the same: a Redis kept in memory on
        purpose (a demo, a test) serves. A Redis whose CONFIG is refused (a managed one) is not judged."""
        if isinstance(client, RedisCluster):
            nodes: list[Any] = client.get_primaries()
            names = [n.name for n in nodes]
        else:
            kwargs = client.connection_pool.connection_kwargs
            nodes, names = [None], [f"{kwargs.get('host')}:{kwargs.get('port')}"]
        volatile = []
        for node, name in zip(nodes, names, strict=True):
            try:
                config = {
                    k: await call(client, lambda k=k, n=node: _config_get(client, k, n), "the Redis log")
                    for k in ("appendonly", "save")
                }
            except (LogUnavailable, redis_errors.RedisError) as e:
                log.info("redis_persistence_not_checked", node=name, error=str(e))
                continue
            if config["appendonly"].lower() in ("no", "") and not config["save"].strip():
                volatile.append(name)
        if not volatile:
            self.caution = None
            return
        self.caution = (
            f'Redis {", ".join(volatile)} keeps nothing on disk (appendonly no, save ""): a restart of it loses the '
            "clinics' logs, the staff directory (accounts, PINs, sign-ins, paired displays) and what is kept beside "
            "the log (clinic files, learning, schedules kept for days ahead); set appendonly yes (docs/deploy.md)"
        )
        log.warning(
            "redis_without_persistence",
            nodes=volatile,
            setting='appendonly no, save ""',
            loses="the clinics' logs, the staff directory (accounts, PINs, sign-ins, paired displays), and the "
            "clinic files, learning and schedules kept beside the log",
            advice="set appendonly yes (and appendfsync everysec or always) in redis.conf, or CONFIG SET appendonly "
            "yes and CONFIG REWRITE; see docs/deploy.md",
        )

    async def close(self) -> None:
        for client in (self.redis, self.followers):
            if client is not None:
                await client.aclose()
        self.redis = self.followers = None

    async def _call(self, what: Callable[[], Awaitable[T]]) -> T:
        return await call(self.redis, what, "the Redis log")

    async def trouble(self, timeout: float) -> str | None:
        """A PING to every master (one, without a cluster), all at once, then its INFO: the first that does not
        answer within `timeout` seconds, evicts keys when full (`evicts`), is full (`full`), or is no master, is
        named. A cluster's master that is down or paused holds its clinics' taps, and a node that is a replica (one
        taken at start while the master was down, or a master demoted by a failover) refuses every tap (READONLY):
        the server is not ready for them. A client over several listed nodes is told to look for the master then."""
        client = self.redis
        if client is None:
            return "the Redis log is not open"
        if isinstance(client, RedisCluster):
            nodes: list[Any] = client.get_primaries()
            pings = [lambda n=n: client.execute_command("PING", target_nodes=n) for n in nodes]
            names = [n.name for n in nodes]
        else:
            kwargs = client.connection_pool.connection_kwargs
            pings, names, nodes = [client.ping], [f"{kwargs.get('host')}:{kwargs.get('port')}"], [None]
            followers = self.followers
            if isinstance(client, ListedNodes) and isinstance(followers, ListedNodes) and followers.node != client.node:
                followers.look_again()  # the followers' reads are still on the node before a failover
        if not pings:
            return "the Redis Cluster client knows no master"

        wanted = self.replica_ack.replicas

        async def ping(what: Callable[[], Awaitable[Any]], name: str, node: Any) -> str | None:
            try:
                await call(client, what, "the Redis log", timeout)
                info = await call(client, lambda: _info(client, node), "the Redis log", timeout)
            except LogUnavailable as e:
                return f"Redis node {name} did not answer a PING within {timeout:g} s ({e})"
            if evicts_keys := evicts(info):
                # Set while the servers run (CONFIG SET): they keep serving, but the platform is told.
                return f"Redis node {name} {evicts_keys}"
            if out_of_memory := full(info):
                # Every tap an OOM refusal, and /readyz said ready: PING and INFO are no writes (a review).
                return f"Redis node {name} {out_of_memory}"
            if (role := info.get("role")) != "master":
                if isinstance(client, ListedNodes):
                    client.look_again()
                return f"Redis node {name} is a {role}, not the master: it refuses every tap (503)"
            if wanted:
                # With --redis-replicas N a tap is answered only once N replicas have it: a master with fewer
                # connected answers every tap 503, and /readyz said ready (an ops review). Counted only while
                # they acknowledge: a paused replica stays connected until repl-timeout (60 s), every tap a 503
                # meanwhile, and /readyz said ready (a hostile review).
                have, bound = acknowledging(info, self.replica_ack), lag_bound(self.replica_ack)
                if have < wanted:
                    if isinstance(client, ListedNodes):
                        client.look_again()  # an old primary back as a master has none: the promoted one may
                    return (
                        f"Redis node {name} has {have} replica(s) acknowledging within {bound} s "
                        f"({info.get('connected_slaves', 0)} connected); --redis-replicas asks {wanted}, "
                        "so every tap is answered 503"
                    )
            return None

        troubles = await asyncio.gather(*(ping(p, n, o) for p, n, o in zip(pings, names, nodes, strict=True)))
        if trouble := next((t for t in troubles if t), None):
            return trouble
        # A Redis holding writes (CLIENT PAUSE WRITE) answers PING and INFO: what tells is a clinic's write left
        # unanswered a moment ago, none answered since (every tap a 503, and /readyz said ready: a review).
        now = time.monotonic()
        held = sorted(c for c, at in self._unanswered_at.items() if now - at < UNANSWERED_WRITE_SECONDS)
        if held:
            return (
                f"Redis did not answer the last write of {len(held)} clinic(s) within {COMMAND_TIMEOUT:g} s "
                f"({', '.join(held[:5])}), none answered since: it is holding writes (every tap 503)"
            )
        return None

    async def append_all(self, clinic: str, records: Sequence[Record], held: str = "") -> None:
        check_batch(records)
        stream, seq_key, days = self._keys(clinic)
        # A record without a receipt still gets a key in the clinic's slot (never read), so KEYS pair with records.
        keys = [
            stream,
            seq_key,
            days,
            *(self._receipt_key(clinic, r.receipt.key if r.receipt else "") for r in records),
        ]
        args: list[str | int | bytes] = [int(self.receipt_ttl.total_seconds()), records[0].event.day.isoformat(), held]
        for r in records:
            args += [r.event.seq, _encoder.encode(r), _encoder.encode(r.receipt) if r.receipt else "", mark(r.event)]
        if (waits := self._stalled_until.get(clinic, 0.0) - time.monotonic()) > 0:
            # Taps queued behind one that Redis did not answer are answered at once, nothing sent, rather than each
            # waiting its COMMAND_TIMEOUT in turn under the clinic's lock (eight taps at once while Redis held
            # writes: the last answered after 12 s, where a tap gives up on Redis after 3 s: a review).
            raise LogUnavailable(
                f"Redis did not answer this clinic's last write within {COMMAND_TIMEOUT:g} s (the next try in "
                f"{waits:.1f} s)"
            )
        try:
            answer, replicated = await self._append_or_wait(clinic, stream, keys, args)
        except LogUnavailable as e:
            if isinstance(e.__cause__, (TimeoutError, redis_errors.TimeoutError)):
                self._unanswered_at[clinic] = now = time.monotonic()
                self._stalled_until[clinic] = now + COMMAND_TIMEOUT
            raise
        self._stalled_until.pop(clinic, None)
        self._unanswered_at.pop(clinic, None)
        match [a.decode() if isinstance(a, bytes) else a for a in answer]:
            case ["ok"]:
                self._check_replicated(clinic, replicated, appended=True)
                return
            case ["key", first]:
                # The first answer is acknowledged again: only once the replicas have it.
                await self.confirm(clinic)
                raise KeyTaken(_receipts.decode(first))
            case ["seq", last, *missed]:
                first = records[0].event.seq
                if missed:
                    _check_held(clinic, missed[0][:1], held)
                # Nothing stored, nothing to wait for: a writer that finds its own event among the stored (a retry
                # whose first reply was lost) confirms it before answering (`confirm`). Waiting here made every
                # lost race pay a WAIT, and a server losing races kept losing them (a hostile review).
                raise SeqTaken(clinic, first, int(last), _missed(missed[0], first, int(last)) if missed else None)
            case ["diverged", last]:
                raise Diverged(clinic, int(last))
        raise RuntimeError(f"unexpected answer from the append script: {answer!r}")

    async def _append_or_wait(
        self, clinic: str, stream: str, keys: list[str], args: list[str | int | bytes]
    ) -> tuple[Any, int]:
        """The append script's answer, and how many replicas have its writes (0 without ReplicaAck)."""
        if not self.replica_ack.replicas:
            return await self._call(lambda: self._append(keys=keys, args=args)), 0
        if (waits := self._unconfirmed_until.get(clinic, 0.0) - time.monotonic()) > 0:
            # A replica did not confirm this clinic's last append a moment ago: taps queued behind it are
            # answered at once, rather than each waiting the whole timeout in turn (eight taps at once had
            # their 503s 1 to 15 s late: a hostile review).
            raise LogUnavailable(
                f"a replica did not confirm this clinic's last tap within {self.replica_ack.timeout_ms} ms "
                f"(the next try in {waits:.1f} s)"
            )
        return await self._call(lambda: self._append_and_wait(stream, keys, args))

    # -- replica acknowledgement (ReplicaAck) ---------------------------------------------------

    async def _append_and_wait(self, stream: str, keys: list[str], args: list[str | int | bytes]) -> tuple[Any, int]:
        """The append script, then WAIT, on one connection to the node serving the clinic: WAIT counts the
        replicas holding the writes of its own connection, so it must follow the script on that connection.
        The script's answer and the number of replicas that have its writes."""
        evalsha = ("EVALSHA", self._append.sha, len(keys), *keys, *args)

        def wait_if_stored(replies: list[Any]) -> tuple[Any, ...] | None:
            # Only an append that stored something waits for the replicas: a refused one has nothing to wait for,
            # and its WAIT held the clinic's taps for the whole timeout while a replica lagged.
            answer = replies[-1]
            stored = isinstance(answer, list) and answer[:1] in ([b"ok"], ["ok"])
            return self._wait_command() if stored else None

        answer, replicated = await self._on_node_of(stream, evalsha, then=wait_if_stored)
        if isinstance(answer, redis_errors.NoScriptError):
            # A node that never ran the script (a promoted replica, a restart): load it there, once.
            _, answer, replicated = await self._on_node_of(
                stream, ("SCRIPT", "LOAD", _APPEND), evalsha, then=wait_if_stored
            )
        if isinstance(answer, Exception):
            raise answer
        return answer, replicated or 0

    async def confirm(self, clinic: str) -> None:
        """Before answering from what is stored already (a receipt, an event found on a retry): wait until the
        replicas have it. A small write on one connection, then WAIT on it: the replicas that have that write
        have everything the node stored before it."""
        if not self.replica_ack.replicas:
            return
        mark = f"{hash_tagged(self.prefix, clinic)}:replicated"
        _, replicated = await self._call(lambda: self._on_node_of(mark, ("SET", mark, "1"), self._wait_command()))
        self._check_replicated(clinic, replicated, appended=False)

    def _wait_command(self) -> tuple[str, int, int]:
        return "WAIT", self.replica_ack.replicas, self.replica_ack.timeout_ms

    def _check_replicated(self, clinic: str, replicated: int, *, appended: bool) -> None:
        if replicated >= self.replica_ack.replicas:
            self._unconfirmed_until.pop(clinic, None)
        else:
            self._unconfirmed_until[clinic] = time.monotonic() + self.replica_ack.timeout_ms / 1000
            log.warning(
                "tap_not_replicated",
                clinic=clinic,
                replicas=replicated,
                wanted=self.replica_ack.replicas,
                timeout_ms=self.replica_ack.timeout_ms,
            )
            raise NotReplicated(NOT_REPLICATED, appended=appended)

    async def _on_node_of(
        self, key: str, *commands: tuple[Any, ...], then: Callable[[list[Any]], tuple[Any, ...] | None] | None = None
    ) -> list[Any]:
        """The commands sent together on one connection to the node serving `key`; their replies in order,
        an error reply as its exception (MOVED: the layout is refreshed and the commands sent once more). With
        `then`: the command it makes of those replies, if any, sent next on the same connection, its reply last
        (None when it made none)."""
        client = self.redis
        if client is None:
            raise LogUnavailable("the Redis log is not open")
        for attempt in attempts("the Redis slot kept moving", 2):
            if isinstance(client, RedisCluster):
                await client.initialize()  # refreshes the layout after a failure; nothing when it is known
                node = client.get_node_from_key(key)
                connection = node.acquire_connection()
                try:
                    replies = await _send_all(connection, commands, then)
                finally:
                    node.release(connection)
            else:
                # One pool for both: a client following a failover (ListedNodes) may move to another meanwhile.
                pool = client.connection_pool
                connection = await pool.get_connection()
                try:
                    replies = await _send_all(connection, commands, then)
                finally:
                    await pool.release(connection)
            moved = next((r for r in replies if isinstance(r, redis_errors.MovedError)), None)
            if moved is None or attempt:
                return replies
            await client.aclose()  # a failover moved the slot: learn the new layout
        raise AssertionError("unreachable: attempts() gives up")

    async def holds(self, clinic: str, seq: int, held: str) -> bool:
        if not held or seq < 1:
            return True
        stream = self._keys(clinic)[0]
        entries = await self._call(lambda: self.redis.xrange(stream, f"{seq}-0", f"{seq}-0"))
        if not entries:
            return False
        stored = entries[0][1].get(b"m")
        return stored is None or stored.decode() == held

    async def last_seq(self, clinic: str) -> int:
        value = await self._call(lambda: self.redis.get(self._keys(clinic)[1]))
        return int(value or 0)

    async def _range(self, clinic: str, first: int, last: int | None, held: str = "") -> list[Event]:
        stream = self._keys(clinic)[0]
        events: list[Event] = []
        start = f"{first}-0"
        end = "+" if last is None else f"{last}-0"
        while True:
            page = await self._call(lambda s=start: self.redis.xrange(stream, s, end, count=_PAGE))
            if not events:
                _check_held(clinic, page[:1], held)
            events.extend(_records.decode(fields[b"r"]).event for _, fields in page)
            if len(page) < _PAGE:
                return events
            start = f"({page[-1][0].decode()}"

    async def read_day(self, clinic: str, day: dt.date) -> tuple[int, list[Event]]:
        raw = await self._call(lambda: self.redis.hgetall(self._keys(clinic)[2]))
        firsts = sorted((dt.date.fromisoformat(d.decode()), int(s)) for d, s in raw.items())
        later = [seq for d, seq in firsts if d > day]
        if day in dict(firsts):
            first = dict(firsts)[day]
            return first - 1, await self._range(clinic, first, later[0] - 1 if later else None)
        if later:
            return later[0] - 1, []
        return await self.last_seq(clinic), []

    async def days(self, clinic: str) -> list[dt.date]:
        raw = await self._call(lambda: self.redis.hkeys(self._keys(clinic)[2]))
        return sorted(dt.date.fromisoformat(d.decode()) for d in raw)

    async def read(self, clinic: str, since: int, held: str = "") -> list[Event] | None:
        if since >= await self.last_seq(clinic):
            return []
        events = await self._range(clinic, since + 1, None, held)
        return events if events and events[0].seq == since + 1 else None

    async def prune(self, clinic: str, before: dt.date) -> list[dt.date]:
        stream, _, days_key = self._keys(clinic)
        raw = await self._call(lambda: self.redis.hgetall(days_key))
        firsts = sorted((dt.date.fromisoformat(d.decode()), int(s)) for d, s in raw.items())
        # The newest day is kept whatever its date, so its first seq bounds the trim and seqs carry on.
        doomed = [d for d, _ in firsts[:-1] if d < before]
        if not firsts:
            return []
        keep_from = next(seq for d, seq in firsts if d not in doomed)
        # The days index first: a day no longer listed is never read. The trim follows, every time: one cut
        # short by a lost connection is finished by the next prune.
        if doomed:
            await self._call(lambda: self.redis.hdel(days_key, *(d.isoformat() for d in doomed)))
        await self._call(lambda: self.redis.xtrim(stream, minid=f"{keep_from}-0", approximate=False))
        if not doomed:
            return []
        log.info("days_pruned", clinic=clinic, first=str(doomed[0]), last=str(doomed[-1]), days=len(doomed))
        return doomed

    async def receipt(self, clinic: str, key: str) -> Receipt | None:
        raw = await self._call(lambda: self.redis.get(self._receipt_key(clinic, key)))
        if not raw:
            return None
        # A retry is answered from this receipt: acknowledged again, so only once the replicas have it too.
        await self.confirm(clinic)
        return _receipts.decode(raw)

    async def tail(self, clinic: str, after: int, wait: float, held: str = "") -> list[Event]:
        stream = self._keys(clinic)[0]
        wait = min(wait, FOLLOW_WAIT_MAX)
        # Blocking on the clinic's own stream (one key, one slot): idle servers sleep in Redis, not in a loop.
        reply = await call(
            self.followers,
            lambda: self.followers.xread({stream: f"{after}-0"}, count=_PAGE, block=max(1, int(wait * 1000))),
            "the Redis log",
            wait + CALL_DEADLINE,
        )
        entries = [entry for _, stream_entries in reply or [] for entry in stream_entries]
        _check_held(clinic, entries[:1], held)
        return [_records.decode(fields[b"r"]).event for _, fields in entries]


def _check_held(clinic: str, entries: list[Any], held: str) -> None:
    """Diverged, when the first of `entries` (stream entries: an id and its fields, as a dict or a flat list) was
    appended after another event than the one the reader holds before it (`held`, a `mark`; '' checks nothing, nor
    does an entry stored before marks were)."""
    if not held or not entries:
        return
    entry_id, fields = entries[0]
    if isinstance(fields, list):
        fields = dict(zip(fields[::2], fields[1::2], strict=True))
    before = fields.get(b"a", fields.get("a"))
    if before is not None and (before.decode() if isinstance(before, bytes) else before) != held:
        seq = int((entry_id.decode() if isinstance(entry_id, bytes) else entry_id).partition("-")[0])
        raise Diverged(clinic, seq - 1)


def _missed(entries: list[Any], first: int, last: int) -> list[Event] | None:
    """The events of the append script's refusal (stream entries from `first`), if they are every one from
    `first` to `last` in order; None otherwise (a day pruned meanwhile): the writer then reads the log."""
    events = [_records.decode(fields[1]).event for _, fields in entries]
    if [e.seq for e in events] != list(range(first, last + 1)):
        return None
    return events


async def _send_all(
    connection: Any,
    commands: Sequence[tuple[Any, ...]],
    then: Callable[[list[Any]], tuple[Any, ...] | None] | None = None,
) -> list[Any]:
    """Commands written at once on one connection and their replies read in order (an error reply as its
    exception); with `then`, the command it makes of those replies sent next, its reply last (None for none). A
    connection that fails midway is dropped, so no reply is left on it for the next user."""
    try:
        await connection.send_packed_command(connection.pack_commands(commands))
        replies: list[Any] = []
        for _ in commands:
            try:
                replies.append(await connection.read_response())
            except redis_errors.ResponseError as e:
                replies.append(e)
        if then is not None:
            follow = then(replies)
            if follow is None:
                replies.append(None)
            else:
                replies += await _send_all(connection, [follow])
        return replies
    except BaseException:
        await connection.disconnect()
        raise


#: Seconds between a replica's acknowledgements of its master's stream, sent by itself (INFO replication's `lag`,
#: whole seconds since the last, reads 0 or 1 while it is healthy).
REPLICA_ACKS_EVERY = 1


def lag_bound(ack: ReplicaAck) -> int:
    """The oldest a replica's last acknowledgement may be (whole seconds) for it to count as confirming taps: its
    own period, plus the time a tap waits for it (WAIT's timeout, rounded up). Older, it could not have confirmed
    a tap within that wait."""
    return REPLICA_ACKS_EVERY + math.ceil(ack.timeout_ms / 1000)


def acknowledging(info: dict[str, Any], ack: ReplicaAck) -> int:
    """The replicas of a master (its INFO replication: `slave0:ip=...,state=online,offset=...,lag=0`) that are
    online and whose last acknowledgement is within `lag_bound`."""
    bound = lag_bound(ack)
    replicas = [v for k, v in info.items() if k.startswith("slave") and k[5:].isdigit() and isinstance(v, dict)]
    return sum(1 for r in replicas if r.get("state") == "online" and int(r.get("lag", bound + 1)) <= bound)


async def _config_get(client: Redis | RedisCluster, key: str, node: Any) -> str:
    """One CONFIG GET value of one master (`node`: a cluster's; None: the one Redis), as text."""
    if node is None:
        reply = await client.config_get(key)  # type: ignore[union-attr]
    else:
        reply = await client.config_get(key, target_nodes=node)  # type: ignore[call-arg]
    value = {(k.decode() if isinstance(k, bytes) else k): v for k, v in (reply or {}).items()}.get(key, "")
    return value.decode() if isinstance(value, bytes) else str(value)


async def _info(client: Redis | RedisCluster, node: Any) -> dict[str, Any]:
    """INFO of one master (`node`: a cluster's; None: the one Redis): its default sections, replication and memory
    among them."""
    if node is None:
        return await client.info()  # type: ignore[union-attr]
    return await client.info(target_nodes=node)  # type: ignore[call-arg]
