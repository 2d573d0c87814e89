"""The HTTP side's plumbing: auth, body limits, rate limits and error mapping, once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from chatserver.domain.errors import BadRequest, ChatError, Internal, TooLarge, Unauthorized
from chatserver.domain.models import User
from chatserver.protocol.wire import encode
from chatserver.services.container import Services
from chatserver.services.ratelimit import enforce

log = logging.getLogger(__name__)

_loose = msgspec.json.Decoder()


@dataclass(slots=True)
class Call:
    """One authenticated HTTP call, as a handler sees it."""

    request: Request
    services: Services
    user: User
    token_id: int
    body: Any

    def path_int(self, name: str) -> int:
        return int(self.request.path_params[name])

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def query_int(self, name: str) -> int | None:
        raw = self.request.query_params.get(name)
        if raw is None or raw == "":
            return None
        try:
            return int(raw)
        except ValueError:
            raise BadRequest(f"{name} must be an integer") from None

    def field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, dict) else None


Handler = Callable[[Call], Awaitable[Any]]


def json_response(payload: Any, status: int = 200) -> Response:
    if payload is None:
        return Response(status_code=204 if status == 200 else status)
    return Response(encode(payload), status_code=status, media_type="application/json")


def error_response(error: ChatError) -> Response:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    headers = {}
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        body["retry_after"] = retry_after
        headers["Retry-After"] = str(max(1, round(retry_after)))
    return Response(
        encode({"error": body}),
        status_code=error.status,
        media_type="application/json",
        headers=headers,
    )


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body (None when empty), refusing more than `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the request body is over {limit} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the request body is over {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return None
    try:
        return _loose.decode(raw)
    except msgspec.DecodeError:
        raise BadRequest("the request body is not valid JSON") from None


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>")
    return token.strip()


def client_ip(request: Request, trust_proxy: bool) -> str:
    if trust_proxy:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            # The last address is the one our own proxy saw; earlier ones are the
            # client's word and could be anything.
            return forwarded.split(",")[-1].strip()
    return request.client.host if request.client else "unknown"


def endpoint(
    handler: Handler, *, status: int = 200, body: bool = False, message_cost: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: authenticate, rate-limit, parse the body, map errors to the protocol."""

    async def run(request: Request) -> Response:
        services: Services = request.app.state.services
        max_body: int = request.app.state.settings.max_http_body_bytes
        try:
            user, token_id = await services.accounts.authenticate(bearer_token(request))
            await enforce(services.limiter, services.limits.requests, f"u{user.id}")
            if message_cost:
                await enforce(services.limiter, services.limits.messages, f"u{user.id}")
            payload = await read_json(request, max_body) if body else None
            if body and not isinstance(payload, dict):
                raise BadRequest("the request body must be a JSON object")
            result = await handler(Call(request, services, user, token_id, payload))
        except ChatError as error:
            return error_response(error)
        except Exception:
            log.exception("unexpected error in %s %s", request.method, request.url.path)
            return error_response(Internal("internal error; it has been logged"))
        return json_response(result, status)

    return run
