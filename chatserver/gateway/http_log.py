"""Every HTTP request observed once: its id, an access line, its count by route and
status, its error code, and for message sends the time to acknowledgement.

The access line names the route template (`/api/rooms/{room}/messages`), never the
path or query as sent: paths can carry secrets (invite codes, reset links) and ids that
would make the line a record of who read what. uvicorn's own access log is therefore
off (`chatserver serve` starts it with `access_log=False`).
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
import time
from dataclasses import dataclass

import msgspec
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatserver.gateway.api import HttpShape
from chatserver.gateway.metrics import Metrics
from chatserver.gateway.usecases import USE_CASES
from chatserver.logformat import REQUEST_ID
from chatserver.protocol import requests as rq

log = logging.getLogger("chatserver.access")

REQUEST_ID_HEADER = b"x-request-id"
_CONVERTOR = re.compile(r":\w+}")
_GOOD_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
ERROR_BODY_LIMIT = 4096
"""Error replies are small; a larger body is not an error reply of ours."""


@dataclass(slots=True)
class _Outcome:
    """What the response said, as it went out."""

    status: int = 500
    error: str | None = None
    body_seen: bool = False


class _Code(msgspec.Struct):
    code: str


class _ErrorReply(msgspec.Struct):
    error: _Code


_error_decoder = msgspec.json.Decoder(_ErrorReply)


def send_route() -> tuple[str, str]:
    """(method, route template) of the HTTP message send."""
    case = next(case for case in USE_CASES if case.request is rq.Send)
    shape = HttpShape(case)
    return shape.method, _template(shape.route_path)


@functools.cache
def _template(path: str) -> str:
    """`/api/rooms/{room:int}` as `/api/rooms/{room}`."""
    return _CONVERTOR.sub("}", path)


def route_label(route: BaseRoute | None) -> str:
    """The template of the route that answered: a small fixed set of values."""
    if isinstance(route, Route):
        return _template(route.path)
    if isinstance(route, Mount):
        return "static" if route.path == "" else f"{route.path}/*"
    return "unmatched"


class ObservedRequests:
    """ASGI middleware for HTTP (WebSockets go past it, see `WebSocketFastPath`).

    A request id is made for each request, or taken from the request's `X-Request-Id`
    when the server trusts its proxy's headers (CHAT_TRUST_PROXY_HEADERS) and the value
    is a plain token of at most 128 characters; it is logged with every line written
    while the request is handled and sent back in `X-Request-Id`.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, trust_request_id: bool) -> None:
        self.app = app
        self._metrics = metrics
        self._trust = trust_request_id
        self._send_route = send_route()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = self._request_id(scope)
        token = REQUEST_ID.set(request_id)
        header = (REQUEST_ID_HEADER, request_id.encode())
        outcome = _Outcome()

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome.status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            elif message["type"] == "http.response.body" and not outcome.body_seen:
                outcome.body_seen = True  # the first chunk holds a whole error reply
                if outcome.status >= 400:
                    outcome.error = _error_code(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observed)
        except Exception:
            outcome.status, outcome.error = 500, "internal"
            raise
        finally:
            self._record(scope, outcome, started)
            REQUEST_ID.reset(token)

    def _request_id(self, scope: Scope) -> str:
        if self._trust:
            for name, value in scope["headers"]:
                if name == REQUEST_ID_HEADER and _GOOD_ID.fullmatch(value):
                    return str(value.decode("ascii"))
        return secrets.token_hex(8)

    def _record(self, scope: Scope, outcome: _Outcome, started: float) -> None:
        elapsed = time.perf_counter() - started
        status, error = outcome.status, outcome.error
        method = scope["method"] if scope["method"] in METHODS else "other"
        route = route_label(scope.get("route"))
        metrics = self._metrics
        metrics.http_requests.labels(method, route, str(status)).inc()
        if status >= 400:
            metrics.error("http", error or ("internal" if status >= 500 else "unknown"))
        elif status == 201 and (method, route) == self._send_route:
            metrics.send_seconds["http"].observe(elapsed)
        log.info(
            "%s %s %d %.1f ms",
            method,
            route,
            status,
            elapsed * 1000,
            extra={
                "fields": {
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                }
            },
        )


def _error_code(body: bytes) -> str | None:
    if len(body) > ERROR_BODY_LIMIT:
        return None
    try:
        return _error_decoder.decode(body).error.code
    except msgspec.DecodeError:  # a body that is not our error reply
        return None
