"""How a JSON request body is read: no deeper than any body Floor takes needs, and strictly as its type says.

Litestar decodes a body untyped, then converts it to the handler's type leniently (`"1"` would pass as 1). A
body is read here instead: its nesting is measured first (msgspec recurses once per level, so a body nested
a thousand deep would exhaust the stack before any type is checked), then it is decoded strictly into the
handler's `data` type, so a refusal names the field. Litestar's own conversion afterwards sees only what
passed.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.serialization import decode_json
from litestar.types import Empty

#: Deeper than any request body Floor takes (a visit tap is 1 deep; an error body 3), far from the stack's limit.
MAX_DEPTH = 32

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text nests arrays and objects more than `limit` deep (brackets inside strings do not
    count). Cheap: most bodies have fewer brackets than the limit and are not scanned at all."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for bracket in _STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        depth += 1 if bracket in b"[{" else -1
        if depth > limit:
            return True
    return False


#: What a request with no body (or only white space) is told, where the route takes one.
EMPTY_BODY = "the body is empty: send a JSON object"


def refuse(message: str, field: str | None = None) -> ValidationException:
    return ValidationException(detail=message, extra=[{"message": message, "key": field}])


class FloorRequest(Request):
    """Litestar's request, reading a JSON body within limits and strictly (see the module)."""

    async def json(self) -> Any:
        if self._json is Empty and self._connection_state.json is Empty:
            body = await self.body() or b"null"
            if not body.strip():
                raise refuse(EMPTY_BODY)
            if too_deep(body):
                raise refuse(f"the JSON body nests deeper than {MAX_DEPTH} levels")
            data = self.route_handler.parsed_fn_signature.parameters.get("data")
            if data is not None and isinstance(data.annotation, type) and issubclass(data.annotation, msgspec.Struct):
                try:
                    msgspec.json.decode(body, type=data.annotation, strict=True)
                except msgspec.ValidationError as e:
                    raise refuse(str(e)) from e
                except msgspec.DecodeError as e:
                    raise refuse(f"the body is not JSON: {e}") from e
            self._json = self._connection_state.json = decode_json(
                body, type_decoders=self.route_handler.resolve_type_decoders()
            )
        return await super().json()
