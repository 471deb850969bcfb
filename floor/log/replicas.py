"""How many Redis replicas must have a write before it is answered (`ReplicaAck`), in a module free of redis-py:
the settings every command reads (floor/settings.py) declare it, and a command that never uses Redis must not
pay for importing the client. The Redis log (floor/log/redis.py) does the waiting."""

from __future__ import annotations

import msgspec


class ReplicaAck(msgspec.Struct, frozen=True):
    """Acknowledge a write only once `replicas` replicas of the clinic's Redis node have it (Redis `WAIT`),
    waiting at most `timeout_ms`; fewer in time is a 503 (the write is on the primary, so a retry with the
    same Idempotency-Key answers from it once the replicas catch up). 0 (the default): answer once the
    primary has it, as Redis's asynchronous replication does."""

    replicas: int = 0
    timeout_ms: int = 1000


#: The default: a write is answered once the primary has it.
NO_REPLICA_ACK = ReplicaAck()

#: The longest a replica acknowledgement may wait (ms): WAIT is one command, so it must end, answered, well
#: before floor/redis_client.py's COMMAND_TIMEOUT (2 s) cuts the connection (which would turn a slow replica
#: into a lost connection): 500 ms under it (tests/log/test_redis_replica_ack.py holds the two together).
MAX_REPLICA_TIMEOUT_MS = 1500
