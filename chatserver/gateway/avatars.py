"""Avatars: `PUT /api/me/avatar` takes a picture as the raw body, and
`GET /api/users/{user}/avatar/{key}` serves one.

Pictures, not JSON, so they are served beside the use-case table rather than from it (as
the invite QR code is), with the same authentication and request budget. A picture is
shown only to those who may see its owner's profile, with `nosniff`; its key changes
with every new picture, so a browser may keep it for good.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from chatserver.domain.errors import BadRequest, ChatError
from chatserver.gateway import faults
from chatserver.gateway.api import bearer_token, error_response, json_response, read_body
from chatserver.protocol import responses as rs
from chatserver.protocol import wire
from chatserver.protocol.requests import ASCII_INT
from chatserver.services.container import Services
from chatserver.services.ratelimit import enforce

UPLOAD_PATH = "/api/me/avatar"
AVATAR_PATH = "/api/users/{user}/avatar/{key}"
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


async def upload_avatar(request: Request) -> Response:
    services: Services = request.app.state.services
    limit: int = request.app.state.settings.avatar_max_bytes
    try:
        user, _ = await services.accounts.authenticate(bearer_token(request))
        await enforce(services.limiter, services.limits.requests, f"u{user.id}")
        # A new picture costs image work and a `user.updated` to everyone who sees the
        # user: it spends the message budget, as a message does.
        await enforce(services.limiter, services.limits.messages_for(user.role), f"u{user.id}")
        declared = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if declared not in _IMAGE_TYPES:
            raise BadRequest(f"send the picture as one of {', '.join(_IMAGE_TYPES)}")
        data = await read_body(request, limit)
        if not data:
            raise BadRequest("the request body is empty: send the picture itself")
        profile = await services.profiles.set_avatar(user, data)
    except ChatError as error:
        return error_response(error)
    except Exception as exc:
        return error_response(faults.error_for(exc, f"PUT {UPLOAD_PATH}"))
    return json_response(rs.SelfReply(wire.self_out(profile.user)))


async def serve_avatar(request: Request) -> Response:
    services: Services = request.app.state.services
    raw_user, key = request.path_params["user"], request.path_params["key"]
    try:
        viewer, _ = await services.accounts.authenticate(bearer_token(request))
        await enforce(services.limiter, services.limits.requests, f"u{viewer.id}")
        if not ASCII_INT.fullmatch(raw_user) or not 1 <= int(raw_user) < 2**63:
            raise BadRequest("user must be a positive integer in ASCII digits")
        data = await services.profiles.avatar(viewer, int(raw_user), key)
    except ChatError as error:
        return error_response(error)
    except Exception as exc:
        return error_response(faults.error_for(exc, f"GET {request.url.path}"))
    return Response(
        data,
        media_type="image/webp",
        # `X-Content-Type-Options: nosniff` is on every response (app.py's headers).
        headers={
            # Per viewer (it was authorized for them), and never changing under its key.
            "Cache-Control": "private, max-age=31536000, immutable",
            "Content-Disposition": 'inline; filename="avatar.webp"',
        },
    )


def avatar_routes() -> list[BaseRoute]:
    return [
        Route(UPLOAD_PATH, upload_avatar, methods=["PUT"]),
        Route(AVATAR_PATH, serve_avatar, methods=["GET"]),
    ]


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: {"$ref": f"#/components/responses/Error{status}"} for status in statuses}


def avatar_operations() -> dict[str, dict[str, Any]]:
    """The routes' entries in the OpenAPI document, by path."""
    picture = {"type": "string", "format": "binary"}
    return {
        UPLOAD_PATH: {
            "put": {
                "operationId": "set_avatar",
                "summary": "Set the caller's avatar: the picture as the body (PNG, JPEG, GIF "
                "or WebP), cropped square and resized by the server",
                "tags": ["me"],
                "requestBody": {
                    "required": True,
                    "content": {t: {"schema": picture} for t in _IMAGE_TYPES},
                },
                "responses": {
                    "200": {
                        "description": "the caller's own User, `avatar` its new URL",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/SelfReply"}
                            }
                        },
                    },
                    **_errors("400", "401", "403", "413", "429", "500", "503"),
                },
            }
        },
        AVATAR_PATH: {
            "get": {
                "operationId": "avatar",
                "summary": "A user's avatar (WebP), to those who may see their profile",
                "tags": ["users"],
                "parameters": [
                    {
                        "name": "user",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    },
                    {
                        "name": "key",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{22}$"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "the picture",
                        "content": {"image/webp": {"schema": picture}},
                    },
                    **_errors("400", "401", "404", "429", "500", "503"),
                },
            }
        },
    }
