"""`GET /api/invites/{code}/qr.svg`: an invite's link as a QR code, for posters.

An image, not JSON, so it is served beside the use-case table rather than from it, with
the same rules as the invite's preview: no token (the code is the secret), limited per
client address, 404 for an unknown code and 410 once the invite lets nobody in.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from chatserver.domain.errors import BadRequest, ChatError
from chatserver.gateway import faults
from chatserver.gateway.api import client_ip, error_response
from chatserver.services.container import Services
from chatserver.services.ratelimit import enforce

QR_PATH = "/api/invites/{code}/qr.svg"
_MAX_CODE = 128


async def invite_qr(request: Request) -> Response:
    services: Services = request.app.state.services
    code = request.path_params["code"]
    try:
        await enforce(services.limiter, services.limits.auth_ip, client_ip(request))
        if not code or len(code) > _MAX_CODE:
            raise BadRequest(f"an invite's code is 1 to {_MAX_CODE} characters")
        svg = await services.invites.qr_svg(code, str(request.base_url))
    except ChatError as error:
        return error_response(error)
    except Exception as exc:
        return error_response(faults.error_for(exc, f"GET {QR_PATH}"))
    # The code is in the picture: no cache may keep it past the invite's life.
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


def qr_operation() -> dict[str, Any]:
    """The route's entry in the OpenAPI document."""
    return {
        "get": {
            "operationId": "invite_qr",
            "summary": "An invite's link as a QR code (SVG); no token needed",
            "tags": ["invites"],
            "security": [],
            "parameters": [
                {
                    "name": "code",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1, "maxLength": _MAX_CODE},
                }
            ],
            "responses": {
                "200": {
                    "description": "the QR code",
                    "content": {"image/svg+xml": {"schema": {"type": "string"}}},
                },
                **{
                    status: {"$ref": f"#/components/responses/Error{status}"}
                    for status in ("400", "404", "410", "429", "500", "503")
                },
            },
        }
    }
