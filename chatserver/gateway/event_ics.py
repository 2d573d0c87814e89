"""`GET /api/messages/{message}/event.ics`: a meetup as an iCalendar file, for "add to my
calendar".

A calendar file, not JSON, so it is served beside the use-case table rather than from it,
with the same rules as the API: the caller's Bearer token, their request budget, and
`not_found` for a message they cannot read or that is no meetup.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from chatserver.domain.errors import BadRequest, ChatError
from chatserver.gateway import faults
from chatserver.gateway.api import bearer_token, error_response
from chatserver.protocol import requests as rq
from chatserver.services.container import Services
from chatserver.services.ratelimit import enforce

ICS_PATH = "/api/messages/{message}/event.ics"


async def event_ics(request: Request) -> Response:
    services: Services = request.app.state.services
    raw = request.path_params["message"]
    try:
        user, _ = await services.accounts.authenticate(bearer_token(request))
        await enforce(services.limiter, services.limits.requests, f"u{user.id}")
        if not rq.ASCII_INT.fullmatch(raw) or not 0 < int(raw) <= rq.INT64_MAX:
            raise BadRequest("message must be a positive integer in ASCII digits")
        host = request.url.hostname or "chatserver"
        body = await services.meetups.ics(user, int(raw), host)
    except ChatError as error:
        return error_response(error)
    except Exception as exc:
        return error_response(faults.error_for(exc, f"GET {ICS_PATH}"))
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="meetup-{int(raw)}.ics"',
            "Cache-Control": "no-store",
        },
    )


def ics_operation() -> dict[str, Any]:
    """The route's entry in the OpenAPI document."""
    return {
        "get": {
            "operationId": "event_ics",
            "summary": "A meetup as an iCalendar file (times in UTC, its place)",
            "tags": ["meetups"],
            "parameters": [
                {
                    "name": "message",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            ],
            "responses": {
                "200": {
                    "description": "the meetup as a VCALENDAR with one VEVENT",
                    "content": {"text/calendar": {"schema": {"type": "string"}}},
                },
                **{
                    status: {"$ref": f"#/components/responses/Error{status}"}
                    for status in ("400", "401", "404", "429", "500", "503")
                },
            },
        }
    }
