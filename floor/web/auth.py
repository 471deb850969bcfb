"""Guards: who is calling (the bearer token), whether they may call this route, and how often.

Which step a role may tap is the floor's rule (floor.core.access, checked in Floor.decide); these guards
only let signed-in staff in, keep each to the clinics they work in, keep wall displays to their feed, keep
manager routes to managers, and throttle writes per sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException, TooManyRequestsException
from litestar.handlers.base import BaseRouteHandler

from floor.core.access import in_clinic, other_clinic_text
from floor.sessions import Caller
from floor.throttle import Throttle

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class Guarding:
    """Limits and origins for one app. Writes: per sign-in; public routes (sign-in, pairing): per address."""

    write_rate: float = 5.0
    write_burst: int = 30
    public_rate: float = 5.0
    public_burst: int = 60
    #: Origins (scheme://host[:port]) allowed to open sockets besides the server's own.
    allowed_origins: frozenset[str] = frozenset()
    writes: Throttle = field(init=False)
    public: Throttle = field(init=False)

    def __post_init__(self) -> None:
        self.writes = Throttle(self.write_rate, self.write_burst)
        self.public = Throttle(self.public_rate, self.public_burst)

    def origin_allowed(self, origin: str | None, host: str | None) -> bool:
        """Browsers send Origin on a socket handshake; a page from another site may not open our feeds.
        Clients that are not browsers send none and are judged by their token alone."""
        if origin is None:
            return True
        if origin in self.allowed_origins:
            return True
        return host is not None and urlsplit(origin).netloc == host


def bearer(connection: ASGIConnection) -> str | None:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _guarding(connection: ASGIConnection) -> Guarding:
    return connection.app.state.guarding


def _too_many(guarding: Guarding, throttle: Throttle, key: str, what: str) -> None:
    wait = throttle.take(key)
    if wait:
        raise TooManyRequestsException(f"Too many {what}; wait {throttle.retry_after(wait)} s and try again.",
                                       headers={"Retry-After": throttle.retry_after(wait)})


async def signed_in(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Any signed-in staff member; writes are throttled per sign-in."""
    token = bearer(connection)
    if token is None:
        raise NotAuthorizedException("Sign in first: this needs an `Authorization: Bearer <token>` header "
                                     "(POST /api/sign-in gives one).", headers={"WWW-Authenticate": "Bearer"})
    caller = await connection.app.state.floors.sessions.caller(token)
    if caller is None:
        raise NotAuthorizedException("Your sign-in has ended (it expired, you signed out, or it was revoked); "
                                     "sign in again.", headers={"WWW-Authenticate": "Bearer"})
    if caller.kind != "staff" and not connection.route_handler.opt.get("displays"):
        raise PermissionDeniedException("A wall display only receives its live feed; this needs a staff "
                                        "sign-in.")
    connection.state.caller = caller
    if connection.scope.get("method") in WRITES:
        guarding = _guarding(connection)
        _too_many(guarding, guarding.writes, caller.session, "taps from this sign-in")


async def of_the_clinic(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Routes under /api/clinics/{clinic}: only staff of that clinic (floor.core.access.in_clinic)."""
    caller: Caller = connection.state.caller
    clinic = connection.path_params.get("clinic")
    if clinic is not None and caller.kind == "staff" and not in_clinic(caller.clinics, clinic):
        raise PermissionDeniedException(other_clinic_text(clinic[:40]))


async def managers_only(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    caller: Caller = connection.state.caller
    if not caller.is_manager:
        what = handler.opt.get("does", "do this")
        raise PermissionDeniedException(f"Only managers can {what}.")


def client_address(connection: ASGIConnection) -> str:
    """The client's address: the peer's, or what a trusted proxy says it is (uvicorn's proxy headers, on only
    for the proxies `--trusted-proxies` names: floor/cli/serve.py); never a header from anyone else."""
    return connection.client.host if connection.client else "unknown"


async def throttled_by_address(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Routes anyone may call (sign-in, display pairing) are throttled per client address."""
    guarding = _guarding(connection)
    _too_many(guarding, guarding.public, client_address(connection), "requests from this address")


def caller(request: Request) -> Caller:
    """The dependency handlers take: who called, as the `signed_in` guard found."""
    return request.state.caller
