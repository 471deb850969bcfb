"""One place where refusals and bad requests become HTTP answers (close codes: floor/close_codes.py)."""

from __future__ import annotations

import contextlib
import re

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter

from floor.core.errors import Refusal, Why
from floor.log.base import LogCorrupt, LogUnavailable
from floor.retry import GaveUp
from floor.web.body import EMPTY_BODY
from floor.wire import ErrorBody

log = structlog.get_logger("floor.http")

STATUS = {
    Why.not_found: 404,
    Why.invalid: 422,
    Why.illegal_step: 409,
    Why.stale_version: 409,
    Why.room_unavailable: 409,
    Why.nothing_to_undo: 409,
    Why.unauthenticated: 401,
    Why.forbidden: 403,
    Why.taken: 409,
}

INTERNAL = "internal error: the server's log says why; reconnect with since="


def _json(body: ErrorBody, status: int, headers: dict[str, str] | None = None) -> Response[ErrorBody]:
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def refusal_response(request: Request, exc: Refusal) -> Response[ErrorBody]:
    floors = request.app.state.floors
    visit = None
    if exc.visit and exc.why is not Why.not_found:
        runtime = floors.runtimes.get(request.path_params.get("clinic", ""))
        visit = runtime.floor.visits.get(exc.visit) if runtime else None
    detail = {k: v for k, v in exc.detail.items() if k in ErrorBody.__struct_fields__}
    body = ErrorBody(exc.why.value, exc.message, field=exc.field, visit=visit, **detail)
    retry_after = exc.detail.get("retry_after")
    return _json(body, STATUS[exc.why], {"Retry-After": str(retry_after)} if retry_after else None)


_PATH = re.compile(
    r"at `\$\.([\w.\[\]]+)`|unknown field `(\w+)`|missing required field `(\w+)`|Missing required \w+ parameter '(\w+)'"
)


_NAMED_IN = re.compile(r"(?:unknown|missing required) field `(\w+)` - at `\$\.([\w.\[\]]+)`")


def _field(key: str | None, message: str) -> str | None:
    """The body field a msgspec message is about (`$.room` -> room; a field missing from, or unknown to, an object
    within the body by its whole path: `rooms[3].zone`), else Litestar's key for it."""
    if within := _NAMED_IN.search(message):
        return f"{within[2]}.{within[1]}"
    if match := _PATH.search(message):
        return next(g for g in match.groups() if g)
    return None if key in (None, "", "data") else key


def _sent_as(request: Request, field: str | None) -> str | None:
    """A header parameter by the name the client sends it under (`Idempotency-Key`), not the handler's Python name
    for it (`idempotency_key`), which no client knows: a key refused for its length named a field the tablet had
    never sent, beside the `Idempotency-Key` of every other refusal of it (a hostile review)."""
    if field is None:
        return None
    with contextlib.suppress(AttributeError, KeyError):
        definition = request.route_handler.parsed_fn_signature.parameters[field].kwarg_definition
        if isinstance(definition, HeaderParameter) and definition.name:
            return definition.name
    return field


def validation_response(request: Request, exc: ValidationException) -> Response[ErrorBody]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    first = extra[0] if extra and isinstance(extra[0], dict) else {}
    message = first.get("message") or exc.detail
    if first.get("key") == "data" and first.get("source") == "body" and message == "'data'":
        # Litestar's word for a request with no body at all, where the route takes one.
        message = EMPTY_BODY
    field = _sent_as(request, _field(first.get("key"), message))
    if field in ("date", "day"):
        # Litestar's words named RFC 3339, or only that the day was missing: how to write it (a hostile review).
        message = f"{message}: write the day as YYYY-MM-DD"
    if field and field not in message:
        message = f"{field}: {message}"
    return _json(ErrorBody("invalid_request", f"The request is not valid: {message}", field=field), 400)


def http_response(request: Request, exc: HTTPException) -> Response[ErrorBody]:
    if exc.status_code == 500:
        return server_error_response(request, exc)
    error = {
        400: "invalid_request",
        401: "unauthenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
        429: "too_many_requests",
    }.get(exc.status_code, "error")
    return _json(ErrorBody(error, exc.detail), exc.status_code, exc.headers)


def _unavailable(reason: object, outcome: str, retry_after: str) -> Response[ErrorBody]:
    """A 503 the tablet sends again: why, and what is known of what was stored."""
    message = f"Not available right now: {str(reason).rstrip('.')}. {outcome} Try again shortly."
    return _json(ErrorBody("unavailable", message), 503, {"Retry-After": retry_after})


def unavailable_response(request: Request, exc: LogUnavailable) -> Response[ErrorBody]:
    # Honest about what is known: a request whose answer was lost may have been stored, and only a retry with
    # the same Idempotency-Key tells (it then gets the first answer, and nothing is stored twice).
    outcome = (
        "A tap may have been stored before its answer was lost: send it again with the same "
        "Idempotency-Key (it is then answered as stored, never stored twice)."
        if exc.maybe_stored
        else "Nothing was stored."
    )
    return _unavailable(exc, outcome, "2")


def gave_up_response(request: Request, exc: GaveUp) -> Response[ErrorBody]:
    """Every try of a write lost a race to other servers' appends (floor.retry.attempts): each lost try stored
    nothing, so the tablet may send it again. It was a 500 that the tablet did not retry, and the tap was lost
    (a hostile review: two servers with --redis-replicas under bursts)."""
    log.warning("write_gave_up", method=request.method, path=request.url.path, error=str(exc))
    return _unavailable(exc, "Nothing was stored.", "1")


def corrupt_response(request: Request, exc: LogCorrupt) -> Response[ErrorBody]:
    """The clinic's log is damaged where this request needs it: an event this server cannot fold (floor.runtime.
    today's `unfoldable`: no tap is decided on a floor the log does not hold), or a damaged day file read for a
    past day. Said in a line, not a traceback: the log's fault, not Floor's; a person must repair it."""
    log.error("log_damaged", method=request.method, path=request.url.path, error=str(exc))
    stored = (
        "" if request.method in ("GET", "HEAD") else " Nothing was stored, unless the event it names is this tap's own."
    )
    message = f"Not available: {str(exc).rstrip('.')}. A person must repair the clinic's log (`floor check`).{stored}"
    # Its own error and no Retry-After: sending it again will not mend the log, and a tablet that retried every
    # 503 kept the tap going for hours, to store it with the wrong time once repaired (a hostile review).
    return _json(ErrorBody("log_damaged", message), 503)


def server_error_response(request: Request, exc: Exception) -> Response[ErrorBody]:
    """Anything else is Floor's fault: logged with its traceback (and the request id every line carries), and
    answered with the same body shape as every other error, without the details."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    log.error("server_error", method=request.method, path=request.url.path, status=status, exc_info=exc)
    return _json(
        ErrorBody(
            "internal", "Internal server error: the server's log says why (look for this request's X-Request-ID)."
        ),
        status,
    )


HANDLERS = {
    Exception: server_error_response,
    Refusal: refusal_response,
    ValidationException: validation_response,
    LogUnavailable: unavailable_response,
    LogCorrupt: corrupt_response,
    GaveUp: gave_up_response,
    HTTPException: http_response,
}


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI descriptions of the error answers a route can give."""
    text = {
        400: "Malformed body or parameter; `field` names it.",
        401: "No valid sign-in: the `Authorization: Bearer` token is missing, expired, signed out or revoked. "
        "From sign-in: a wrong staff id or PIN, or (with Retry-After) too many wrong tries for the id or the "
        "address; one answer whether the id exists or not.",
        403: "Signed in, but your role may not do this (the message says who may); or, for any write, sent by a page "
        "of another site (its Origin is neither this server's nor listed in FLOOR_ALLOWED_ORIGINS).",
        413: "The body is larger than this route takes (a schedule file: 4 MiB); the message says what to send.",
        429: "Too many requests from this sign-in or address; retry after Retry-After seconds.",
        404: "Unknown clinic, visit, room or provider.",
        409: "Taken staff id, illegal step (names the current stage and the allowed steps), stale expected_version "
        "(carries the visit as it is now), or the room is not free.",
        422: "The request names something that does not fit: unknown provider or visit type, a start "
        "time on another day, a room given where none belongs, an Idempotency-Key reused for "
        "another request.",
        503: "The log or the directory cannot be reached now. The message says whether the request may have been "
        "stored (the answer was lost): retry after Retry-After seconds, with the same Idempotency-Key.",
    }
    return {s: ResponseSpec(data_container=ErrorBody, description=text[s], generate_examples=False) for s in statuses}
