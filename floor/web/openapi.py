"""The OpenAPI document as the server answers (issue 18), where Litestar's generated one is not.

Litestar writes a `datetime.time` as a duration, a route answering bytes as a JSON string, and knows nothing
of a body a handler reads itself (the schedule import) or of a struct refusing unknown fields. Those are set
right here, once, on the document Litestar builds; everything else (answers, error bodies, status codes)
is declared on the routes themselves. tests/server/test_openapi_schemathesis.py checks the document against
a running server.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin

import floor.config
import floor.wire

#: A clinic's local time of day (`[session] opens`): no date, no offset.
LOCAL_TIME = {
    "type": "string",
    "format": "partial-time",
    "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$",
    "description": "A local time of day in the clinic, HH:MM:SS (no date, no offset).",
}
FHIR_JSON = "application/fhir+json"
#: What a route answering a FHIR resource sends: a JSON object (the resource), not a string.
FHIR_RESOURCE = {
    "type": "object",
    "description": "A FHIR R4 resource (R4B models), as JSON.",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string"}},
}
SCHEDULE_BODY = {
    "required": True,
    "description": "The schedule file: CSV with a header row (text/csv), or a FHIR R4 Bundle of Appointment "
    "resources (application/fhir+json).",
    "content": {"text/csv": {"schema": {"type": "string"}}, FHIR_JSON: {"schema": {"type": "object"}}},
}
MEASURES_CSV = {"text/csv; charset=utf-8": {"schema": {"type": "string", "description": "with `format=csv`"}}}


def _structs() -> dict[str, type[msgspec.Struct]]:
    return {
        name: cls
        for module in (floor.wire, floor.config)
        for name, cls in vars(module).items()
        if isinstance(cls, type) and issubclass(cls, msgspec.Struct)
    }


def _walk(node: Any) -> Any:
    """Every `datetime.time` (Litestar's only `duration`: Floor sends no timedelta) is a local time."""
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("format") == "duration":
            return dict(LOCAL_TIME)
        return {k: _walk(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v) for v in node]
    return node


def true_document(spec: dict[str, Any]) -> dict[str, Any]:
    """Set right what Litestar's generated document says wrongly (see the module); in place, idempotent."""
    schemas = spec.get("components", {}).get("schemas", {})
    for name, schema in list(schemas.items()):
        schemas[name] = _walk(schema)
    structs = _structs()
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            name = body.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
            cls = structs.get(name)
            if cls is not None and cls.__struct_config__.forbid_unknown_fields:
                schemas[name]["additionalProperties"] = False  # the server refuses them (400)
            for status, answer in operation.get("responses", {}).items():
                if status >= "400" and status != "default":
                    # Every error goes through floor.web.errors: where a route did not declare one, Litestar
                    # would document its own body, which the server never sends.
                    answer["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
                    answer.setdefault("description", "See the message.")
                fhir = answer.get("content", {}).get(FHIR_JSON)
                if fhir is not None:
                    fhir["schema"] = dict(FHIR_RESOURCE)
    schedule = spec.get("paths", {}).get("/api/clinics/{clinic}/schedule", {}).get("post")
    if schedule is not None:
        schedule["requestBody"] = SCHEDULE_BODY
    measures = spec.get("paths", {}).get("/api/clinics/{clinic}/export/measures", {}).get("get")
    if measures is not None:
        measures["responses"]["200"]["content"].update(MEASURES_CSV)
    return spec


class _TrueOpenAPIPlugin(OpenAPIPlugin):
    """Litestar's OpenAPI plugin, serving the document set right to every renderer (/schema, openapi.json)."""

    __slots__ = ()

    def provide_openapi_schema(self) -> dict[str, Any]:
        fresh = self._openapi_schema is None
        spec = super().provide_openapi_schema()
        return true_document(spec) if fresh else spec


def serve_true_document(app: Litestar) -> None:
    """Have /schema serve the document set right (built on the first request for it, as Litestar does). The
    plugin has slots and is made inside Litestar's constructor: its class is swapped for the subclass."""
    app.plugins.get(OpenAPIPlugin).__class__ = _TrueOpenAPIPlugin
