"""Guards: who is calling (the bearer token), whether they may call this route, and how often.

Who may do what is the core's table (floor.core.access), and this is its one guard: every route declares what
it does, `opt={"act": ...}`, an `Act` of that table or a `Rule` below, and `allowed` lets in signed-in staff of
the route's clinic whose role `may` do it (403 with the table's `refusal_text` otherwise), keeps wall displays
to the routes that say `displays`, and throttles writes per sign-in. A route that declares nothing is refused
(500: a route left unguarded by mistake must not answer), and tests/web/test_route_access.py checks every
route against the table. Which step, room mark or presence a tap takes is in its body: the core checks it
(Floor.decide), and such routes declare `Rule.taps`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    ImproperlyConfiguredException,
    NotAuthorizedException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Scope, Send

from floor.close_codes import CLOSE_FORBIDDEN
from floor.core.access import Act, in_clinic, may, other_clinic_text, refusal_text
from floor.sessions import Caller
from floor.settings import SOCKETS_WAITING_PER_ADDRESS as WAITING_PER_ADDRESS
from floor.throttle import Throttle, WaitingSockets
from floor.wire import ErrorBody

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Rule(StrEnum):
    """What a route asks of its caller when it is not one `Act` of floor.core.access."""

    #: No sign-in: signing in, pairing a display (throttled per address), health checks.
    anyone = "anyone"
    #: Any sign-in: who am I, sign out.
    signed_in = "signed_in"
    #: Staff of the clinic; the action the tap takes (in its body) is checked by the core, from the same table.
    taps = "taps"


#: What a route declares it does (`opt={"act": ...}`).
Does = Act | Rule


@dataclass
class Guarding:
    """Limits and origins for one app. Writes: per sign-in; public routes (sign-in, pairing): per address."""

    write_rate: float = 5.0
    write_burst: int = 30
    public_rate: float = 5.0
    public_burst: int = 60
    #: Origins (scheme://host[:port]) whose pages may open sockets and send writes, besides the server's own.
    allowed_origins: frozenset[str] = frozenset()
    #: Host names (and `*.suffix` wildcards) requests may be sent to, besides IP literals and localhost; empty:
    #: every Host is answered ($FLOOR_ALLOWED_HOSTS, floor/settings.py).
    allowed_hosts: frozenset[str] = frozenset()
    #: Live sockets that may wait to sign in at once from one client address, and from one IPv6 /64.
    waiting_per_address: int = WAITING_PER_ADDRESS
    waiting_per_network: int = 10 * WAITING_PER_ADDRESS
    writes: Throttle = field(init=False)
    public: Throttle = field(init=False)
    waiting: WaitingSockets = field(init=False)
    #: Sent with every answer (floor.web.app's `request_context`): who may show Floor's pages in a frame.
    frame_headers: tuple[tuple[bytes, bytes], ...] = field(init=False)
    #: The `*.suffix` wildcards of allowed_hosts, each as `.suffix`.
    host_suffixes: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.writes = Throttle(self.write_rate, self.write_burst)
        self.public = Throttle(self.public_rate, self.public_burst)
        self.waiting = WaitingSockets(self.waiting_per_address, self.waiting_per_network)
        self.frame_headers = framing(self.allowed_origins)
        self.host_suffixes = tuple(sorted(h[1:] for h in self.allowed_hosts if h.startswith("*.")))

    def origin_allowed(self, origin: str | None, host: str | None) -> bool:
        """Browsers send Origin on a socket handshake and a write; a page from another site may not open our feeds
        nor write (`from_our_pages`). Clients that are not browsers send none and are judged by their token alone."""
        if origin is None:
            return True
        if origin in self.allowed_origins:
            return True
        return host is not None and urlsplit(origin).netloc == host

    def host_allowed(self, host: str | None) -> bool:
        """Whether a request sent to `host` (its Host header, port and all) is answered. The Origin check alone
        let DNS rebinding through: a page of evil.example whose name was then pointed at the clinic's server sent
        `Host: evil.example` and `Origin: http://evil.example`, the same site to `origin_allowed`, and its wrong
        PINs locked the clinic's address out (a hostile review). With $FLOOR_ALLOWED_HOSTS set, only the names
        listed are answered, and IP literals and `localhost`, which no other site's page can be served from. A
        request with no Host at all comes from no browser (an HTTP/1.0 health check) and is answered."""
        if not self.allowed_hosts or host is None:
            return True
        name = host_name(host)
        if name == "localhost" or name in self.allowed_hosts:
            return True
        try:
            ipaddress.ip_address(name)
            return True
        except ValueError:
            pass
        return name.endswith(self.host_suffixes) if self.host_suffixes else False


def host_name(host: str) -> str:
    """The name of a Host header's value: without its port, an IPv6 literal without its brackets, in lower case
    and without a trailing dot (`Floor.Example.:8000` is `floor.example`)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rpartition(":")[0].removesuffix(".") if ":" in host else host.removesuffix(".")


#: A request refused for its Host (`misdirected`): the body every error has.
HOST_NOT_ALLOWED = msgspec.json.encode(
    ErrorBody(
        "host_not_allowed",
        "This server does not answer to the name this request was sent to: open Floor by a name listed in "
        "FLOOR_ALLOWED_HOSTS, or by its IP address.",
        field="Host",
    )
)


async def misdirected(scope: Scope, send: Send, headers: list[tuple[bytes, bytes]]) -> None:
    """Refuse a request, or a live socket's handshake before it is accepted, 421 Misdirected Request with
    HOST_NOT_ALLOWED (`Guarding.host_allowed`). A server that cannot answer a handshake with a status (no
    `websocket.http.response` extension) is sent a close before the accept, which it answers 403."""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(HOST_NOT_ALLOWED)).encode()),
        (b"cache-control", b"no-store"),
        *headers,
    ]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 421, "headers": headers})
        await send({"type": "http.response.body", "body": HOST_NOT_ALLOWED})
    elif "websocket.http.response" in (scope.get("extensions") or {}):
        await send({"type": "websocket.http.response.start", "status": 421, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": HOST_NOT_ALLOWED})
    else:
        await send({"type": "websocket.close", "code": CLOSE_FORBIDDEN, "reason": "host not allowed"})


def framing(allowed_origins: frozenset[str]) -> tuple[tuple[bytes, bytes], ...]:
    """The headers that let only Floor's own pages, and the origins its pages may be opened from, show them in a
    frame. A page of another site framed the manager's page (or a tablet's), made it invisible, and led whoever
    was signed in there to click its buttons through its own (clickjacking: a hostile review). X-Frame-Options, for
    browsers older than CSP's frame-ancestors, names no other origin: it is sent only when none is listed."""
    ancestors = " ".join(["'self'", *sorted(allowed_origins)])
    headers = [(b"content-security-policy", f"frame-ancestors {ancestors}".encode("latin-1"))]
    if not allowed_origins:
        headers.append((b"x-frame-options", b"SAMEORIGIN"))
    return tuple(headers)


def bearer(connection: ASGIConnection) -> str | None:
    return bearer_token(connection.headers.get("authorization", ""))


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header's value, or None."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _guarding(connection: ASGIConnection) -> Guarding:
    return connection.app.state.guarding


def _too_many(guarding: Guarding, throttle: Throttle, key: str, what: str) -> None:
    wait = throttle.take(key)
    if wait:
        raise TooManyRequestsException(
            f"Too many {what}; wait {throttle.retry_after(wait)} s and try again.",
            headers={"Retry-After": throttle.retry_after(wait)},
        )


def refusal(who: Caller, does: Does) -> str | None:
    """Why this caller may not do what a route does, or None: floor.core.access's answer, for the guard of
    every route and for the live socket."""
    if isinstance(does, Act) and who.kind == "staff":
        assert who.role is not None
        if not may(who.role, does):
            return refusal_text(who.role, does)
    return None


def require(who: Caller, act: Act) -> None:
    """For a route whose request says which act it is (a past day's board): refused 403 as the guard would."""
    why = refusal(who, act)
    if why is not None:
        raise PermissionDeniedException(why)


async def _signed_in(connection: ASGIConnection, handler: BaseRouteHandler) -> Caller:
    """Any signed-in staff member (a display where the route says `displays`); writes are throttled per sign-in."""
    token = bearer(connection)
    if token is None:
        raise NotAuthorizedException(
            "Sign in first: this needs an `Authorization: Bearer <token>` header (POST /api/sign-in gives one).",
            headers={"WWW-Authenticate": "Bearer"},
        )
    caller = await connection.app.state.floors.sessions.caller(token)
    if caller is None:
        raise NotAuthorizedException(
            "Your sign-in has ended (it expired, you signed out, or it was revoked); sign in again.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if caller.kind != "staff" and not handler.opt.get("displays"):
        raise PermissionDeniedException("A wall display only receives its live feed; this needs a staff sign-in.")
    connection.state.caller = caller
    if connection.scope.get("method") in WRITES:
        guarding = _guarding(connection)
        _too_many(guarding, guarding.writes, caller.session, "taps from this sign-in")
    return caller


async def allowed(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The guard of every route that needs a sign-in: what the route declares it does, as floor.core.access says.
    Routes under /api/clinics/{clinic} are for staff of that clinic only (floor.core.access.in_clinic)."""
    does = handler.opt.get("act")
    if does is None and connection.scope.get("method") == "OPTIONS" and set(handler.http_methods) == {"OPTIONS"}:
        # Litestar's own answer to OPTIONS on a route: 204 and the route's methods in `Allow`, nothing of a
        # clinic's. It declares no act, and refusing it as a route that forgot to was a 500 and an error in the
        # log for anyone who asked.
        return
    if not isinstance(does, Act | Rule) or does is Rule.anyone:
        raise ImproperlyConfiguredException(f"{handler} declares no act (opt={{'act': ...}}) for its guard")
    caller = await _signed_in(connection, handler)
    clinic = connection.path_params.get("clinic")
    if clinic is not None and caller.kind == "staff" and not in_clinic(caller.clinics, clinic):
        raise PermissionDeniedException(other_clinic_text(clinic[:40]))
    why = refusal(caller, does)
    if why is not None:
        raise PermissionDeniedException(why)


async def from_our_pages(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """The app's first guard: a write sent by a page of another site is refused (403), before it is read or counted.
    Browsers send `Origin` with every POST, PUT and DELETE, and a page of any site may post here without asking
    first (a form, or fetch in no-cors mode with a text/plain body): its wrong PINs counted against the clinic's
    own address, making every tablet there wait, and its pairings took the address's (a hostile review). The rule
    is the live socket's (`Guarding.origin_allowed`); clients that are not browsers send no Origin."""
    if connection.scope.get("method") not in WRITES:
        return
    if not _guarding(connection).origin_allowed(connection.headers.get("origin"), connection.headers.get("host")):
        raise PermissionDeniedException(
            "A page of another site may not send this: only Floor's own pages (or an origin listed in "
            "FLOOR_ALLOWED_ORIGINS) may."
        )


def client_address(connection: ASGIConnection) -> str:
    """The client's address: the peer's, or what a trusted proxy says it is (uvicorn's proxy headers, on only
    for the proxies `--trusted-proxies` names: floor/cli/serve.py); never a header from anyone else."""
    return connection.client.host if connection.client else "unknown"


async def throttled_by_address(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Routes anyone may call (sign-in, display pairing) are throttled per client address."""
    guarding = _guarding(connection)
    _too_many(guarding, guarding.public, client_address(connection), "requests from this address")


def caller(request: Request) -> Caller:
    """The dependency handlers take: who called, as the `allowed` guard found."""
    return request.state.caller
