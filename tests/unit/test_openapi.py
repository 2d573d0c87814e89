"""The OpenAPI document: valid OpenAPI 3.1, and a complete description of the routes served."""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import pytest
from openapi_spec_validator import validate
from starlette.routing import Route

from chatserver.gateway.openapi import OPENAPI_PATH, openapi_document
from chatserver.gateway.routes import api_routes, http_shapes
from chatserver.protocol import frames


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    # Through JSON, as a client receives it.
    loaded: dict[str, Any] = json.loads(msgspec.json.encode(openapi_document(http_shapes())))
    return loaded


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_route_served_is_described(document: dict[str, Any]) -> None:
    served = set()
    for route in api_routes():
        assert isinstance(route, Route)
        path = re.sub(r"{(\w+):int}", r"{\1}", route.path)
        served |= {(path, m.lower()) for m in route.methods or () if m != "HEAD"}
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    assert served == described
    assert (OPENAPI_PATH, "get") in described


def test_operations_name_their_inputs_replies_and_errors(document: dict[str, Any]) -> None:
    send = document["paths"]["/api/rooms/{room}/messages"]["post"]
    assert [(p["name"], p["in"], p["schema"]["type"]) for p in send["parameters"]] == [
        ("room", "path", "integer")
    ]
    assert send["parameters"][0]["schema"]["maximum"] == 2**63 - 1
    body = send["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schemas = document["components"]["schemas"]
    body_schema = schemas[body.rsplit("/", 1)[1]]
    assert set(body_schema["properties"]) == {
        "body",
        "reply_to",
        "nonce",
        "question",
        "poll",
        "event",
        "attachments",
    }
    assert body_schema["required"] == ["body"]
    assert "201" in send["responses"] and "400" in send["responses"]
    error = document["components"]["responses"]["Error400"]["content"]["application/json"]
    assert error["schema"] == {"$ref": "#/components/schemas/ErrorReply"}
    assert set(schemas["ErrorDetail"]["properties"]) == {"code", "message", "retry_after", "until"}

    history = document["paths"]["/api/rooms/{room}/messages"]["get"]
    query = {p["name"]: p for p in history["parameters"] if p["in"] == "query"}
    assert set(query) == {"before", "after", "around", "limit"}
    assert query["limit"]["schema"]["maximum"] == 200
    assert "null" not in json.dumps(query["before"]["schema"])


def test_only_register_and_login_go_without_a_token(document: dict[str, Any]) -> None:
    anonymous = {
        (path, method)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if operation.get("security") == []
    }
    assert {
        ("/api/auth/register", "post"),
        ("/api/auth/login", "post"),
        (OPENAPI_PATH, "get"),
    } <= anonymous
    assert document["security"] == [{"bearerAuth": []}]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_websocket_op_is_listed(document: dict[str, Any]) -> None:
    ops = document["x-websocket"]["ops"]
    assert set(ops) == set(frames.KNOWN_OPS)
    assert ops["send"]["reply"]["fields"] == {"$ref": "#/components/schemas/MessageReply"}
    assert ops["ping"]["reply"] == {"op": "pong"}
