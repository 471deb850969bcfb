"""The Redis client every Redis-backed store uses (the log, the directory, the upcoming schedules): how to
connect (one URL, several nodes, or a Cluster), following the master among several listed nodes through a
failover (`ListedNodes`), the connection options and the one retry, the hash tags that keep a store's keys in
one Cluster slot, and the one place that decides a Redis error means "not now" (`call`: a 503 with
Retry-After, never a 500).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import structlog
from redis import exceptions as redis_errors
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from floor.config import ConfigError
from floor.log.base import LogUnavailable

log = structlog.get_logger("floor.redis")

T = TypeVar("T")

#: Errors that mean Redis cannot take the command now, whatever the command: the caller answers 503 with
#: Retry-After (LogUnavailable), never 500. Here the refusals Redis answers with (CLUSTERDOWN, MOVED, ...);
#: below, a lost connection or a timeout.
_REFUSED = (
    redis_errors.BusyLoadingError,  # LOADING: a restarted node replaying its AOF
    redis_errors.MaxConnectionsError,  # every pooled connection busy past POOL_WAIT
    redis_errors.ClusterDownError,  # CLUSTERDOWN (a master down past the node timeout), MASTERDOWN
    redis_errors.TryAgainError,  # TRYAGAIN: a slot migrating or failing over
    redis_errors.AskError,  # ASK and MOVED the client could not follow while the slots move
    redis_errors.ClusterError,  # redirections exhausted ("TTL exhausted") while a failover settles
    redis_errors.SlotNotCoveredError,  # the client's slot map has no node for the key (failover under way)
    redis_errors.ReadOnlyError,  # READONLY: a write reached a master demoted by a failover
    redis_errors.OutOfMemoryError,  # OOM: Redis refuses writes until memory is freed
)
_UNREACHABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)
#: Refusals redis-py raises as a plain ResponseError, known by the first word of the answer. UNBLOCKED: a master
#: demoted to a replica ends every blocking read on it (a follower's XREAD) with it.
_REFUSED_WORDS = ("MISCONF", "NOREPLICAS", "UNBLOCKED")
#: What the cluster client says when no node answers at all (RedisClusterException, while it rediscovers).
_CLUSTER_GONE = ("cannot be connected", "not covered")

#: Seconds one command may wait for its answer before the caller hears "unavailable". A tap normally takes a
#: millisecond; a node that stops answering (paused, a failing disk under appendfsync always, a partition)
#: must not hold a tap for 15 s while the tablet's user waits: a quick 503 and the tablet's retry with the
#: same Idempotency-Key do better.
COMMAND_TIMEOUT = 2.0
#: Seconds a whole call may take, reconnection, cluster redirections and slot-map refreshes included: the
#: longest a tap (or a sign-in check) waits on Redis before its 503.
CALL_DEADLINE = 3.0

# Fail fast while Redis is down (writes answer 503 and screens are told the feed is stale); one quick retry
# covers a pooled connection that died with a Redis restart. A timeout is not retried: a node that did not
# answer in COMMAND_TIMEOUT will not answer the retry sooner, and the tap's deadline is CALL_DEADLINE.
_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": COMMAND_TIMEOUT,
    "socket_timeout": COMMAND_TIMEOUT,
    "retry": Retry(ExponentialBackoff(cap=0.2, base=0.05), 1, supported_errors=(redis_errors.ConnectionError,)),
}

#: Connections a server may hold to Redis at once. Each clinic followed holds one in a blocking read, and a
#: reconnect storm asks for a sign-in check per screen at once: past the limit a request waits its turn
#: (up to POOL_WAIT seconds) rather than failing.
POOL_SIZE = 256
POOL_WAIT = 5.0

#: Seconds between two looks for the master among several listed nodes (no cluster) while the node in use
#: fails: a failover is followed within about this (plus a probe of each node), and a node that stays down
#: costs every listed node one INFO a second at most, not one per request.
LOOK_AGAIN_SECONDS = 1.0


def urls(url: str) -> list[str]:
    """The nodes of a start-up URL list (`redis://a:7000,redis://b:7001`): any one of them that answers will do."""
    return [u.strip() for u in url.split(",") if u.strip()]


async def connect(
    url: str,
    pool_size: int = POOL_SIZE,
    socket_timeout: float = COMMAND_TIMEOUT,
) -> Redis | RedisCluster:
    """A client for the URL, or for comma-separated URLs of several nodes. A cluster client when a node says
    it is part of a Redis Cluster (given every listed node to discover the cluster from); else the first
    listed node that is a master, or failing that the first that answers (reads work, writes answer 503).
    Redis is unavailable only when no listed node answers: one node down or failed over at start does not
    stop a server. With several nodes and no cluster the client is a `ListedNodes`: it moves to the node
    that is the master when the one in use fails or is found to be no master (a failover, or a start while
    the master was down)."""
    options = {**_OPTIONS, "socket_timeout": socket_timeout}
    listed = urls(url)
    failures: list[str] = []
    answering: list[tuple[str, Redis]] = []
    #: The listed nodes that say they are a master, each with how many replicas it has connected.
    masters: list[tuple[str, int]] = []

    async def ask(one: str) -> tuple[Redis, dict[str, Any]] | None:
        pool = _pool(one, pool_size, options)
        client = ListedNodes.from_pool(pool) if len(listed) > 1 else Redis.from_pool(pool)
        try:
            return client, await asyncio.wait_for(client.info(), CALL_DEADLINE)
        # A ResponseError here is the connection's own setup refused (a database index the server has not).
        except (*_UNREACHABLE, *_REFUSED, redis_errors.ResponseError, TimeoutError) as e:
            await client.aclose()
            # Each node's failure named by its node when several are listed (one is named by the sentence).
            why = (str(e) or type(e).__name__).rstrip(".")
            failures.append(why if len(listed) == 1 else f"{safe_url(one)}: {why}")
            log.warning("redis_node_unreachable", url=safe_url(one), error=str(e) or type(e).__name__)
            return None

    # Every node at once: one down costs its deadline once, not once more per node listed before the master.
    results = await asyncio.gather(*(ask(one) for one in listed), return_exceptions=True)
    asked = [r if not isinstance(r, BaseException) else None for r in results]
    if error := next((r for r in results if isinstance(r, BaseException)), None):
        for answer in filter(None, asked):
            await answer[0].aclose()
        raise error  # a URL that is no Redis URL (ConfigError)
    try:
        for one, answer in zip(listed, asked, strict=True):
            if answer is None:
                continue
            client, info = answer
            if info.get("cluster_enabled") == 1:
                await client.aclose()
                nodes = [ClusterNode(*_host_port(u)) for u in listed]
                cluster = RedisCluster.from_url(one, startup_nodes=nodes, max_connections=pool_size, **options)
                try:
                    await asyncio.wait_for(cluster.initialize(), CALL_DEADLINE * 2)
                except (*_UNREACHABLE, *_REFUSED, TimeoutError, redis_errors.RedisClusterException) as e:
                    await cluster.aclose()
                    raise LogUnavailable(f"cannot reach the Redis Cluster at {safe_url(url)}: {e}") from e
                for other, _ in filter(None, asked):
                    if other is not client:
                        await other.aclose()
                return cluster
            answering.append((one, client))
            if info.get("role") == "master":
                masters.append((one, int(info.get("connected_slaves", 0) or 0)))
        if not answering:
            raise LogUnavailable(f"cannot reach Redis at {safe_url(url)}: {'; '.join(failures)}")
        # Every listed node is asked, not only until a master answers: an old primary back on its own files is a
        # master too, listed first as a rule, and a server started then stayed on it (a newcomer's run of the
        # README's recipe: its taps written there, answered 503, not ready, until it was made a replica).
        node = _chosen(masters, None) if masters else answering[0][0]
        chosen = next(client for one, client in answering if one == node)
        for one, other in answering:
            if one != node:
                await other.aclose()
        if isinstance(chosen, ListedNodes):
            chosen.listed(listed, node, lambda u: _pool(u, pool_size, options))
            if not masters:  # writes are refused (READONLY) until a listed node is the master again
                log.warning("redis_no_master_found", url=safe_url(node), listed=safe_url(url))
            elif len(masters) > 1:
                _several_masters(masters, node)
        return chosen
    except BaseException:
        for answer in filter(None, asked):
            await answer[0].aclose()
        raise


def _pool(url: str, pool_size: int, options: dict[str, Any]) -> BlockingConnectionPool:
    try:
        return BlockingConnectionPool.from_url(url, max_connections=pool_size, timeout=POOL_WAIT, **options)
    except ValueError as e:  # not a Redis URL (http://..., a typo): one line, not a traceback
        raise ConfigError(f"--redis (or $FLOOR_REDIS_URL, $REDIS_URL): {safe_url(url)} is no Redis URL: {e}") from e


class ListedNodes(Redis):
    """A client for the master among several listed nodes without a cluster (`connect` makes it). It follows a
    failover (the master lost and a replica promoted, by Sentinel or by hand) and a start while the master was
    down: when a command on the node in use fails as a demoted or lost master's do (READONLY, a lost connection,
    no answer: `call` says so) or /readyz finds the node no master, `look_again` asks every listed node its
    role, at most once a LOOK_AGAIN_SECONDS, and the client's commands go to the master found from then on.
    It decides nothing itself: with no listed node a master, it stays where it is (taps are 503s meanwhile)."""

    nodes: list[str]
    #: The listed URL the client's connections go to.
    node: str
    _make_pool: Callable[[str], BlockingConnectionPool]
    _looking: asyncio.Task[None] | None = None
    _looked: float = -math.inf

    def listed(self, nodes: list[str], node: str, make_pool: Callable[[str], BlockingConnectionPool]) -> None:
        self.nodes, self.node, self._make_pool = nodes, node, make_pool

    def look_again(self) -> None:
        """Look for the master among the listed nodes, in the background: now, unless a look is under way or
        the last began under LOOK_AGAIN_SECONDS ago."""
        if (self._looking is not None and not self._looking.done()) or not hasattr(self, "nodes"):
            return
        now = time.monotonic()
        if now - self._looked < LOOK_AGAIN_SECONDS:
            return
        self._looked = now
        self._looking = asyncio.create_task(self._look(), name="floor-redis-look-for-master")

    async def _look(self) -> None:
        try:
            roles = await asyncio.gather(*(_role(u, self._make_pool) for u in self.nodes))
            masters = [(u, role[1]) for u, role in zip(self.nodes, roles, strict=True) if role and role[0] == "master"]
            if not masters:
                return
            found = _chosen(masters, self.node)
            if len(masters) > 1:
                # A master that came back after a failover without being made a replica (Sentinel makes it one).
                _several_masters(masters, found)
            if found == self.node:
                return
            before = self.connection_pool
            # Commands from now on take their connections from the master's pool; those under way end with the
            # old pool's connections (on a replica or a lost node they would only be refused).
            self.connection_pool, self.node = self._make_pool(found), found
            log.warning("redis_master_moved", url=safe_url(found), listed=safe_url(",".join(self.nodes)))
            await before.aclose()
        except Exception:  # a look that failed is tried again at the next failure
            log.exception("redis_look_for_master_failed")

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        if self._looking is not None:
            self._looking.cancel()
            with contextlib.suppress(BaseException):
                await self._looking
        await super().aclose(close_connection_pool)


def _chosen(masters: list[tuple[str, int]], in_use: str | None) -> str:
    """Among listed nodes that say they are a master (each with its connected replicas' count), the one to use:
    the one with the most replicas, the one in use or else the first listed on a tie. After a failover the
    promoted master has the other replicas (Sentinel points them at it); an old primary that restarts as a master
    on its own files has none, and what is written there is lost when it is made a replica. With one replica in
    all (two nodes), the two tie: Floor stays where it is, and only --redis-replicas 1 keeps taps safe."""
    most = max(replicas for _, replicas in masters)
    best = [url for url, replicas in masters if replicas == most]
    return in_use if in_use in best else best[0]


def _several_masters(masters: list[tuple[str, int]], chosen: str) -> None:
    log.warning(
        "redis_several_masters",
        masters=safe_url(",".join(url for url, _ in masters)),
        replicas=[replicas for _, replicas in masters],
        chosen=safe_url(chosen),
    )


async def _role(url: str, make_pool: Callable[[str], BlockingConnectionPool]) -> tuple[str, int] | None:
    """A listed node's role (`master`, `slave`) and how many replicas it has connected, or None when it does not
    answer in COMMAND_TIMEOUT."""
    client = Redis.from_pool(make_pool(url))
    try:
        info = await asyncio.wait_for(client.info("replication"), COMMAND_TIMEOUT)
        return str(info.get("role")), int(info.get("connected_slaves", 0) or 0)
    except (*_UNREACHABLE, *_REFUSED, redis_errors.ResponseError, TimeoutError):
        return None
    finally:
        await client.aclose()


def _host_port(url: str) -> tuple[str, int]:
    parsed = urlsplit(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 6379


def evicts(info: dict[str, Any]) -> str | None:
    """How a node (its INFO's memory section) throws keys away when it is full, or None when it never does. Floor's
    keys must never go: evicted, a clinic's log, its seq, the idempotency receipts, the staff and their sign-ins
    are gone (on a Redis with `allkeys-lru` full, a day's acknowledged taps vanished and the servers went on
    storing from seq 1; with `volatile-lru`, the default of most managed Redis services, a tablet's retry with its
    Idempotency-Key was stored as a second patient once the receipt was evicted: a review of Redis in production).
    A node with no memory limit (`maxmemory 0`) never evicts, whatever its policy."""
    limit = int(info.get("maxmemory", 0) or 0)
    policy = str(info.get("maxmemory_policy", "noeviction"))
    if not limit or policy == "noeviction":
        return None
    return (
        f"evicts keys when full (maxmemory-policy {policy}, maxmemory {limit} bytes): it would throw away "
        "acknowledged taps, idempotency receipts and sign-ins; set maxmemory-policy noeviction"
    )


def full(info: dict[str, Any]) -> str | None:
    """Whether a node (its INFO's memory section) is past its `maxmemory`, as Redis reckons it before a write (what
    its replicas' and AOF's buffers hold left out), so that it refuses every write (OOM) until memory is freed; a
    sentence, or None."""
    limit = int(info.get("maxmemory", 0) or 0)
    used = int(info.get("used_memory", 0) or 0) - int(info.get("mem_not_counted_for_evict", 0) or 0)
    if not limit or used <= limit:
        return None
    return (
        f"is full (used_memory {used} bytes, maxmemory {limit}): it refuses every tap (503) until memory is freed "
        "or maxmemory raised"
    )


async def evicting(client: Redis | RedisCluster) -> str | None:
    """The first master of the client (every one of a cluster's, else the one node) that `evicts`, named, with how;
    None when none does."""
    if isinstance(client, RedisCluster):
        nodes: list[Any] = client.get_primaries()
        infos = [(n.name, await client.info("memory", target_nodes=n)) for n in nodes]  # type: ignore[call-arg]
    else:
        kwargs = client.connection_pool.connection_kwargs
        infos = [(f"{kwargs.get('host')}:{kwargs.get('port')}", await client.info("memory"))]
    return next((f"Redis node {name} {why}" for name, info in infos if (why := evicts(info))), None)


def hash_tagged(prefix: str, tag: str) -> str:
    """`prefix:{tag}`, the start of every key of one clinic (or of the directory): Redis Cluster places keys by
    the part in braces, so they all live in one slot and a script may touch several of them."""
    return f"{prefix}:{{{tag}}}"


async def call(
    client: Redis | RedisCluster | None, what: Callable[[], Awaitable[T]], name: str, deadline: float = CALL_DEADLINE
) -> T:
    """A Redis command, answered within `deadline` seconds, with every error that means "Redis cannot take it
    now" as LogUnavailable (503 with Retry-After; the tablet tries again). The one place that decides it, for
    the log, the directory and the upcoming schedules."""
    if client is None:
        raise LogUnavailable(f"{name} is not open")
    try:
        async with asyncio.timeout(deadline):
            return await what()
    except Exception as e:
        why = unavailable(e)
        if why is None:
            raise
        if isinstance(e, TimeoutError) and not isinstance(e, redis_errors.RedisError):
            why = f"Redis did not answer within {deadline:g} s"
        if isinstance(client, ListedNodes) and _lost_master(e):
            client.look_again()
        # Whether the command ran is not known, even for a refusal: the clients retry on their own (a lost
        # connection, a cluster's timeout or CLUSTERDOWN), so a refusal may follow an attempt whose answer was
        # lost. The tablet's retry with the same Idempotency-Key finds out.
        raise LogUnavailable(why, maybe_stored=True) from e


def unavailable(e: BaseException) -> str | None:
    """Why the error means Redis cannot take a command now (a sentence), or None for any other error (a bug or
    a bad command, which stays a 500)."""
    if isinstance(e, redis_errors.BusyLoadingError):
        return "Redis is loading its data"
    if isinstance(e, redis_errors.MaxConnectionsError):
        return "every connection to Redis is busy"
    if isinstance(e, _REFUSED) or _refused(e):
        return f"Redis refused the command for now ({type(e).__name__}: {str(e)[:120]})"
    if isinstance(e, _UNREACHABLE):
        return f"Redis is unreachable ({type(e).__name__})"
    if isinstance(e, redis_errors.RedisClusterException) and any(w in str(e) for w in _CLUSTER_GONE):
        return f"the Redis Cluster cannot be reached ({str(e)[:120]})"
    return None


def _lost_master(e: BaseException) -> bool:
    """Whether the error is one the node in use gives when it is no longer the master, or is gone."""
    return isinstance(e, (redis_errors.ReadOnlyError, redis_errors.MasterDownError, *_UNREACHABLE)) or (
        isinstance(e, redis_errors.ResponseError) and str(e).startswith("UNBLOCKED")
    )


def _refused(e: BaseException) -> bool:
    return isinstance(e, redis_errors.ResponseError) and str(e).startswith(_REFUSED_WORDS)


def safe_url(url: str) -> str:
    """The URL (or each of a comma-separated list) without its password, for logs."""
    return ",".join(_safe_one(u) for u in urls(url)) if "," in url else _safe_one(url)


def _safe_one(url: str) -> str:
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
