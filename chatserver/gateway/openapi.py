"""The OpenAPI 3.1 document of the HTTP API, generated from the use-case table and its types.

Nothing here is written by hand per endpoint: paths, parameters, bodies and replies
come from each use case's request and reply Structs, so the document cannot drift
from what the server accepts and sends. The WebSocket ops are listed too, under the
`x-websocket` extension, with their frame schemas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from chatserver.gateway.avatars import avatar_operations
from chatserver.gateway.event_ics import ICS_PATH, ics_operation
from chatserver.gateway.invite_qr import QR_PATH, qr_operation
from chatserver.gateway.uploads import upload_operations
from chatserver.gateway.usecases import USE_CASES, UseCase
from chatserver.protocol import requests as rq
from chatserver.protocol.responses import ErrorReply

if TYPE_CHECKING:
    from chatserver.gateway.api import HttpShape

OPENAPI_PATH = "/api/openapi.json"
REF = "#/components/schemas/{name}"
PROTOCOL_VERSION = "1"

ERRORS = {
    "400": "bad_request (malformed JSON, wrong types, missing or invalid fields), invalid_emoji",
    "401": "unauthorized: no, bad, expired or revoked token; wrong username or password",
    "403": "forbidden, not_member or blocked",
    "404": "not_found: no such user, room or message (private rooms included)",
    "409": "conflict (name taken) or limit_reached",
    "410": "expired: an invite that expired, was revoked or is used up",
    "413": "too_large: the body or one of its fields is over its limit",
    "429": "rate_limited; `retry_after` says how many seconds to wait",
    "500": "internal: an unexpected error, logged by the server",
    "503": "unavailable: the database cannot be reached; retry later",
}


def _ref(kind: type[msgspec.Struct]) -> dict[str, str]:
    return {"$ref": REF.format(name=kind.__name__)}


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema: absent means null, so null is not offered as a value."""
    schema = {k: v for k, v in schema.items() if not (k == "default" and v is None)}
    options = schema.get("anyOf")
    if options is not None:
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == 1:
            del schema["anyOf"]
            schema = {**kept[0], **schema}
        else:
            schema["anyOf"] = kept
    return schema


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _operation(shape: HttpShape, schemas: dict[str, Any]) -> dict[str, Any]:
    case = shape.case
    assert case.http is not None
    request = schemas[shape.request.__name__]
    props, required = request["properties"], set(request.get("required", ()))
    parameters = [
        {"name": f.name, "in": "path", "required": True, "schema": _plain(props[f.name])}
        for f in shape.path_fields
    ] + [
        {
            "name": f.encode_name,
            "in": "query",
            "required": f.encode_name in required,
            "schema": _plain(props[f.encode_name]),
        }
        for f in shape.query_fields
    ]
    responses: dict[str, Any] = {}
    if case.reply is None:
        responses["204"] = {"description": "done; no content"}
    else:
        success = {"description": "success", "content": _json(_ref(case.reply))}
        responses[str(case.http.status)] = success
    for status in ERRORS:
        responses[status] = {"$ref": f"#/components/responses/Error{status}"}
    operation: dict[str, Any] = {
        "operationId": case.name,
        "summary": case.summary,
        "tags": [case.http.path.split("/")[2]],
        "responses": responses,
    }
    if parameters:
        operation["parameters"] = parameters
    if shape.body_type is not None:
        operation["requestBody"] = {
            "required": not shape.body_optional,
            "content": _json(_ref(shape.body_type)),
        }
    if case.anonymous:
        operation["security"] = []
    return operation


def _websocket(cases: list[UseCase[Any]]) -> dict[str, Any]:
    ops = {}
    for case in cases:
        op = rq.op_name(case.request)
        reply: dict[str, Any] = {"op": "ok", "then": "replay"}
        if case.ws_reply != "none":
            reply = {"op": case.ws_reply}
        if case.reply is not None:
            reply["fields"] = _ref(case.reply)
        ops[op] = {"summary": case.summary, "frame": _ref(case.request), "reply": reply}
    return {"path": "/ws", "ops": ops}


def openapi_document(shapes: list[HttpShape]) -> dict[str, Any]:
    """The whole document, built once when the app starts."""
    ws_cases = [case for case in USE_CASES if case.ws]
    types: set[type[msgspec.Struct]] = {ErrorReply}
    for shape in shapes:
        types.add(shape.request)
        if shape.body_type is not None:
            types.add(shape.body_type)
        if shape.case.reply is not None:
            types.add(shape.case.reply)
    for case in ws_cases:
        types.add(case.request)
        if case.reply is not None:
            types.add(case.reply)
    _, schemas = msgspec.json.schema_components(
        sorted(types, key=lambda t: t.__name__), ref_template=REF
    )
    paths: dict[str, dict[str, Any]] = {}
    for shape in shapes:
        assert shape.case.http is not None
        paths.setdefault(shape.case.http.path, {})[shape.method.lower()] = _operation(
            shape, schemas
        )
    paths[QR_PATH] = qr_operation()
    paths[ICS_PATH] = ics_operation()
    for path, operations in avatar_operations().items():
        paths.setdefault(path, {}).update(operations)
    for path, operations in upload_operations().items():
        paths.setdefault(path, {}).update(operations)
    paths[OPENAPI_PATH] = {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "tags": ["api"],
            "security": [],
            "responses": {"200": {"description": "success", "content": _json({"type": "object"})}},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "chatserver",
            "version": PROTOCOL_VERSION,
            "description": "The chat protocol's HTTP API (PROTOCOL.md). Every error is "
            '`{"error": {"code", "message"}}`; the WebSocket ops are in `x-websocket`.',
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                f"Error{status}": {"description": text, "content": _json(_ref(ErrorReply))}
                for status, text in ERRORS.items()
            },
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
        "x-websocket": _websocket(ws_cases),
    }
