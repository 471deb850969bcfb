"""For load balancers and Prometheus: /healthz (the process answers), /readyz (send it traffic), /metrics.

None of them needs a sign-in: a load balancer or Prometheus has no token. They say nothing about patients or
staff; /metrics does show clinic counts and traffic, so keep it off the public side of the proxy
(docs/deploy.md).
"""

from __future__ import annotations

import asyncio

from litestar import Request, Response, Router, get
from prometheus_client import CONTENT_TYPE_LATEST

from floor.floors import Floors
from floor.web.auth import Rule


def _floors(request: Request) -> Floors:
    return request.app.state.floors


@get("/healthz", summary="The process is alive", sync_to_thread=False)
def healthz() -> dict[str, str]:
    # Liveness only: a Redis outage must not get every instance restarted (that is what /readyz is for).
    return {"status": "ok"}


#: Seconds /readyz waits for the log to say whether it can take a tap.
READY_TIMEOUT = 1.0


@get("/readyz", summary="Ready for traffic: the log is open, reachable and caught up")
async def readyz(request: Request) -> Response[dict]:
    floors = _floors(request)
    backend = "redis" if floors.log.shared else "embedded"
    problems = []
    if not floors.started:
        problems.append("the server is starting or stopping")
    # A clinic is stale while its follower cannot read the shared log: it cannot store taps, and what its
    # screens show may be behind. It clears once the log answers and the clinic has caught up.
    trouble = await floors.log.trouble(READY_TIMEOUT) if floors.started else None
    if trouble:
        problems.append(trouble)
    elif floors.started and floors.log.shared:
        await _followers_try_now(floors, READY_TIMEOUT)
    stale = sorted(r.id for r in floors.runtimes.values() if r.stale)
    unfoldable = [c for c in stale if floors.runtimes[c].unfoldable]
    if len(unfoldable) < len(stale):
        problems.append(
            f"the {backend} log cannot be reached for {len(stale) - len(unfoldable)} of {len(floors.runtimes)} clinics"
        )
    # Which event, by whom, on which device, is for the server's own log (log_unfoldable, log_damaged), not for
    # anyone who can reach /readyz.
    damaged = (
        f"the {backend} log of {len(unfoldable)} of {len(floors.runtimes)} clinics holds an event this server cannot "
        "fold: a person must repair it (the server's own log names the event)"
        if unfoldable
        else None
    )
    if damaged and len(unfoldable) == len(floors.runtimes):
        # Every server of a shared log meets the same event: taking them all out of rotation for one clinic's
        # damage would take the others' down too, so only a server with no clinic it can serve is not ready.
        problems.append(damaged)
    body = {
        "status": "not ready" if problems else "ready",
        "log": backend,
        "clinics": len(floors.runtimes),
        "problems": problems,
        "stale_clinics": stale[:20],
    }
    if floors.log.caution:
        # A standing risk that does not stop taps (a Redis that keeps nothing on disk): said, ready all the same.
        body["warnings"] = [floors.log.caution]
    if damaged:
        body["damaged"] = damaged
        body["damaged_clinics"] = unfoldable[:20]
    return Response(body, status_code=503 if problems else 200, headers={"Cache-Control": "no-store"})


#: How often /readyz looks whether the followers it woke are in step again (seconds).
_IN_STEP_POLL = 0.02


async def _followers_try_now(floors: Floors, timeout: float) -> None:
    """The log answers, yet clinics following it are stale: their followers, waiting after failed reads (up to
    5 s between tries), read again now, and are given up to `timeout` seconds to be in step. A load balancer kept
    the server out that much longer after Redis came back. Nothing is asked of Redis while no clinic is stale."""
    behind = [r for r in floors.runtimes.values() if r.stale and not r.unfoldable]
    if not behind:
        return
    for runtime in behind:
        runtime.follower.wake()
    loop = asyncio.get_running_loop()
    until = loop.time() + timeout
    while any(r.stale for r in behind) and loop.time() < until:
        await asyncio.sleep(_IN_STEP_POLL)


@get("/metrics", summary="Prometheus metrics (text format)", sync_to_thread=False)
def metrics(request: Request) -> Response[bytes]:
    return Response(
        _floors(request).metrics.text(), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"}
    )


def health_router() -> Router:
    # Not in /schema: they are for the platform, not for the clinic's screens.
    return Router(
        "/",
        route_handlers=[healthz, readyz, metrics],
        include_in_schema=False,
        tags=["operations"],
        opt={"act": Rule.anyone},
    )
