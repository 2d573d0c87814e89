"""Uploads over HTTP: `POST /api/uploads` takes a file as the raw body; `GET
/api/uploads/{id}/file` and `.../thumbnail` serve it; `DELETE /api/uploads/{id}` drops an
unattached one.

Files, not JSON, so they are served beside the use-case table rather than from it (as
avatars and the invite QR code are), with the same authentication and request budget.
The body is streamed to the upload service, which stops reading at the first byte past
the limit. A file goes out with its own type, `nosniff`, a sandboxing CSP, `attachment`
for anything but images, and `private, no-cache` with an ETag: a browser may keep it,
but asks again each time, so a member removed from the room loses it at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from chatserver.domain.errors import BadRequest, ChatError, NotFound
from chatserver.files.base import FileMissing
from chatserver.gateway import faults
from chatserver.gateway.api import bearer_token, error_response, json_response
from chatserver.protocol import responses as rs
from chatserver.protocol import wire
from chatserver.protocol.requests import ASCII_INT
from chatserver.services.container import Services
from chatserver.services.ratelimit import enforce
from chatserver.services.uploads import Served

UPLOADS_PATH = "/api/uploads"
UPLOAD_PATH = "/api/uploads/{upload}"
FILE_PATH = "/api/uploads/{upload}/file"
THUMBNAIL_PATH = "/api/uploads/{upload}/thumbnail"
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
"""A file opened on its own (a PDF in a tab) runs no script and loads nothing."""


def _upload_id(request: Request) -> int:
    raw = request.path_params["upload"]
    if not ASCII_INT.fullmatch(raw) or not 1 <= int(raw) < 2**63:
        raise BadRequest("upload must be a positive integer in ASCII digits")
    return int(raw)


def _length(request: Request) -> int | None:
    declared = request.headers.get("content-length")
    if declared is None:
        return None
    if not ASCII_INT.fullmatch(declared.strip()):
        raise BadRequest("Content-Length must be digits")
    return int(declared)


async def create_upload(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        user, _ = await services.accounts.authenticate(bearer_token(request))
        await enforce(services.limiter, services.limits.requests, f"u{user.id}")
        upload = await services.uploads.receive(
            user,
            request.query_params.get("name"),
            request.headers.get("content-type"),
            _length(request),
            request.stream(),
        )
    except ChatError as error:
        return error_response(error)
    except ClientDisconnect:
        return error_response(BadRequest("the upload was interrupted"))
    except Exception as exc:
        return error_response(faults.error_for(exc, f"POST {UPLOADS_PATH}"))
    return json_response(rs.UploadReply(wire.upload_out(upload)), 201)


def _disposition(served: Served) -> str:
    """`inline` for images, `attachment` for the rest; the name in ASCII and in UTF-8."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in served.name
    )
    kind = "inline" if served.inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(served.name, safe='')}"


def _media_type(served: Served) -> str:
    if served.content_type == "text/plain":
        return "text/plain; charset=utf-8"
    return served.content_type


async def _serve(request: Request, thumbnail: bool) -> Response:
    services: Services = request.app.state.services
    try:
        viewer, _ = await services.accounts.authenticate(bearer_token(request))
        await enforce(services.limiter, services.limits.requests, f"u{viewer.id}")
        served = await services.uploads.serve(viewer, _upload_id(request), thumbnail)
        headers = {
            "Cache-Control": "private, no-cache",
            "ETag": f'"{served.etag}"',
            "Content-Disposition": _disposition(served),
            # X-Content-Type-Options: nosniff is on every response (app.SecurityHeaders).
            "Content-Security-Policy": FILE_CSP,
        }
        if request.headers.get("if-none-match") == headers["ETag"]:
            return Response(status_code=304, headers=headers)
        chunks = services.files.stream(served.key)
        try:
            first = await anext(chunks, b"")
        except FileMissing:
            raise NotFound("no such file") from None
    except ChatError as error:
        return error_response(error)
    except Exception as exc:
        return error_response(faults.error_for(exc, f"GET {request.url.path}"))

    async def body() -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]

    if served.size is not None:
        headers["Content-Length"] = str(served.size)
    return StreamingResponse(body(), media_type=_media_type(served), headers=headers)


async def serve_file(request: Request) -> Response:
    return await _serve(request, thumbnail=False)


async def serve_thumbnail(request: Request) -> Response:
    return await _serve(request, thumbnail=True)


async def delete_upload(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        user, _ = await services.accounts.authenticate(bearer_token(request))
        await enforce(services.limiter, services.limits.requests, f"u{user.id}")
        await services.uploads.discard(user, _upload_id(request))
    except ChatError as error:
        return error_response(error)
    except Exception as exc:
        return error_response(faults.error_for(exc, f"DELETE {request.url.path}"))
    return Response(status_code=204)


def upload_routes() -> list[BaseRoute]:
    return [
        Route(UPLOADS_PATH, create_upload, methods=["POST"]),
        Route(FILE_PATH, serve_file, methods=["GET"]),
        Route(THUMBNAIL_PATH, serve_thumbnail, methods=["GET"]),
        Route(UPLOAD_PATH, delete_upload, methods=["DELETE"]),
    ]


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: {"$ref": f"#/components/responses/Error{status}"} for status in statuses}


_ID = {
    "name": "upload",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
}
_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain")


def upload_operations() -> dict[str, dict[str, Any]]:
    """The routes' entries in the OpenAPI document, by path."""
    binary = {"type": "string", "format": "binary"}
    reply = {
        "type": "object",
        "properties": {"upload": {"$ref": "#/components/schemas/UploadOut"}},
        "required": ["upload"],
    }

    def download(operation_id: str, summary: str) -> dict[str, Any]:
        return {
            "get": {
                "operationId": operation_id,
                "summary": summary,
                "tags": ["uploads"],
                "parameters": [_ID],
                "responses": {
                    "200": {
                        "description": "the file's bytes, with its own Content-Type",
                        "content": {"*/*": {"schema": binary}},
                    },
                    "304": {"description": "not modified (If-None-Match)"},
                    **_errors("400", "401", "404", "429", "500", "503"),
                },
            }
        }

    return {
        UPLOADS_PATH: {
            "post": {
                "operationId": "upload",
                "summary": "Upload a file (the raw body; its type in Content-Type, its name in "
                "?name=), to attach to a message within 24 h",
                "tags": ["uploads"],
                "parameters": [
                    {
                        "name": "name",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {t: {"schema": binary} for t in _TYPES},
                },
                "responses": {
                    "201": {
                        "description": "the upload",
                        "content": {"application/json": {"schema": reply}},
                    },
                    **_errors("400", "401", "409", "413", "429", "500", "503"),
                },
            }
        },
        FILE_PATH: download("upload_file", "An uploaded file, to those who may read its message"),
        THUMBNAIL_PATH: download("upload_thumbnail", "An uploaded image's thumbnail (WebP)"),
        UPLOAD_PATH: {
            "delete": {
                "operationId": "delete_upload",
                "summary": "Drop one's own upload that no message uses",
                "tags": ["uploads"],
                "parameters": [_ID],
                "responses": {
                    "204": {"description": "deleted"},
                    **_errors("400", "401", "404", "429", "500", "503"),
                },
            }
        },
    }
