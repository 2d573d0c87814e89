"""The HTTP API's routes, derived from the use-case table, and its OpenAPI document."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from chatserver.gateway.api import HttpShape, endpoint
from chatserver.gateway.avatars import avatar_routes
from chatserver.gateway.event_ics import ICS_PATH, event_ics
from chatserver.gateway.invite_qr import QR_PATH, invite_qr
from chatserver.gateway.openapi import OPENAPI_PATH, openapi_document
from chatserver.gateway.uploads import upload_routes
from chatserver.gateway.usecases import USE_CASES
from chatserver.protocol.wire import encode


def http_shapes() -> list[HttpShape]:
    """Every use case served over HTTP, with where its request's fields come from."""
    return [HttpShape(case) for case in USE_CASES if case.http is not None]


def api_routes() -> list[BaseRoute]:
    shapes = http_shapes()
    document = encode(openapi_document(shapes))

    async def openapi(request: Request) -> Response:
        return Response(document, media_type="application/json")

    routes: list[BaseRoute] = [
        Route(shape.route_path, endpoint(shape), methods=[shape.method]) for shape in shapes
    ]
    routes.append(Route(OPENAPI_PATH, openapi, methods=["GET"]))
    routes.append(Route(QR_PATH, invite_qr, methods=["GET"]))
    routes.extend(avatar_routes())
    routes.append(Route(ICS_PATH, event_ics, methods=["GET"]))
    routes.extend(upload_routes())
    return routes
