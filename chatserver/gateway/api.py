"""The HTTP side's plumbing: reading typed requests, auth, rate limits and error mapping, once."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from chatserver.domain.errors import BadRequest, ChatError, TooLarge, Unauthorized
from chatserver.gateway import faults
from chatserver.gateway.usecases import Caller, UseCase
from chatserver.protocol import requests as rq
from chatserver.protocol.responses import ErrorReply, error_detail
from chatserver.protocol.wire import encode
from chatserver.services.container import Services
from chatserver.services.ratelimit import enforce

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""Methods whose non-path fields come in a JSON body (a DELETE's, such as `DELETE /api/me
{password}`, only when it has such fields), never in the query string."""
_PATH_PARAM = re.compile(r"{(\w+)}")
_JSON_TYPE = re.compile(r"application/(?:[\w.+-]+\+)?json", re.ASCII | re.IGNORECASE)


_parts: dict[tuple[type[msgspec.Struct], str], type[msgspec.Struct]] = {}


def _default(f: msgspec.structs.FieldInfo) -> Any:
    """A field's default as defstruct takes it: a value, or a factory (a list, say)."""
    if f.default_factory is not msgspec.NODEFAULT:
        return msgspec.field(default_factory=f.default_factory)
    return f.default


def _part(request: type[msgspec.Struct], part: str, names: frozenset[str]) -> type[msgspec.Struct]:
    """A Struct of some of `request`'s fields (its path, or its body), made once per request
    type and part, so that use cases sharing a request type share these too."""
    key = (request, part)
    if key not in _parts:
        spec = [
            (f.name, f.type) if f.required else (f.name, f.type, _default(f))
            for f in msgspec.structs.fields(request)
            if f.name in names
        ]
        _parts[key] = msgspec.defstruct(f"{request.__name__}{part}", spec, kw_only=True)
    return _parts[key]


class HttpShape:
    """Where each field of a use case's request comes from in an HTTP call.

    Path parameters are the fields named in the path template. The other fields come
    from a JSON body for POST, PUT, PATCH and DELETE (when there are any), else from the
    query string. The body and path get Struct types of their own, derived from the request
    type, so a body is decoded in one typed pass, and the OpenAPI document shows them.
    Path and query values are text, read by the same rules: a path id that is not a
    positive int64 in ASCII digits (`abc`, `-1`, `١٢`, 2^63) is a `bad_request`.
    """

    def __init__(self, case: UseCase[Any]) -> None:
        assert case.http is not None
        self.case = case
        self.method = case.http.method
        self.route_path = case.http.path
        self.request = case.request
        names = set(_PATH_PARAM.findall(case.http.path))
        fields = [f for f in msgspec.structs.fields(case.request) if f.name != "ref"]
        assert names <= {f.name for f in fields}, f"{case.http.path}: unknown path field"
        self.path_fields = [f for f in fields if f.name in names]
        self.path_type = _part(case.request, "Path", frozenset(names))
        rest = [f for f in fields if f.name not in names]
        self.body_type = (
            _part(case.request, "Body", frozenset(f.name for f in rest))
            if rest and self.method in BODY_METHODS
            else None
        )
        self.query_fields = [] if self.body_type is not None else rest
        # As sent: a field renamed for Python (`from_`) is read by its wire name (`from`).
        self._query_names = frozenset(f.encode_name for f in self.query_fields)
        self._query_ints = rq.int_fields(case.request) & self._query_names
        self._path_names = frozenset(names)
        self._path_ints = rq.int_fields(self.path_type)
        self._body_decoder = (
            msgspec.json.Decoder(self.body_type) if self.body_type is not None else None
        )
        # `PUT .../bans/{user} {reason?}` or `DELETE .../members/{user} {reason?}` may come
        # without a body at all: every field of theirs is optional.
        self.body_optional = self.method in ("PUT", "DELETE") and not any(f.required for f in rest)

    async def read(self, request: Request, max_body: int) -> Any:
        """The use case's request, or `bad_request` / `too_large` saying what is wrong."""
        path = _text(request.path_params, self._path_names, self._path_ints)
        values = msgspec.structs.asdict(_convert(path, self.path_type))
        if self._body_decoder is not None:
            raw = await read_body(request, max_body)
            if not raw.strip():
                if self.body_optional:
                    return self.request(**values)
                raise BadRequest("the request body must be a JSON object")
            if not _JSON_TYPE.fullmatch(
                request.headers.get("content-type", "").partition(";")[0].strip()
            ):
                raise BadRequest("send the body as application/json")
            if not rq.nesting_ok(raw):
                raise rq.too_deep()
            try:
                body = self._body_decoder.decode(raw)
            except msgspec.ValidationError as error:
                raise rq.refusal(error, lengths_too_large=True) from None
            except msgspec.DecodeError:
                raise BadRequest("the request body is not valid JSON") from None
            values.update(msgspec.structs.asdict(body))
            return self.request(**values)
        return self._from_query(request, values)

    def _from_query(self, request: Request, path: dict[str, Any]) -> Any:
        data = _text(request.query_params, self._query_names, self._query_ints)
        data.update(path)
        return _convert(data, self.request)


def _text(values: Mapping[str, str], names: frozenset[str], ints: frozenset[str]) -> dict[str, Any]:
    """The known fields among text values (path or query), empty ones counting as absent.
    Numbers are only read from ASCII digits in the int64 range's width: `١٢`, `1e3` or
    `12.0` are refused rather than converted."""
    data: dict[str, Any] = {}
    for name, value in values.items():
        if value == "" or name not in names:
            continue
        if name in ints and not rq.ASCII_INT.fullmatch(value):
            raise BadRequest(f"{name} must be an integer in ASCII digits")
        data[name] = value
    return data


def _convert(data: dict[str, Any], kind: type[msgspec.Struct]) -> Any:
    try:
        return msgspec.convert(data, kind, strict=False)
    except msgspec.ValidationError as error:
        raise rq.refusal(error, lengths_too_large=False) from None


def json_response(payload: msgspec.Struct | None, status: int = 200) -> Response:
    if payload is None:
        return Response(status_code=204 if status == 200 else status)
    return Response(encode(payload), status_code=status, media_type="application/json")


def error_response(error: ChatError) -> Response:
    headers = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(error.retry_after)))
    return Response(
        encode(ErrorReply(error_detail(error))),
        status_code=error.status,
        media_type="application/json",
        headers=headers,
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, refusing more than `limit` bytes."""
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
    return b"".join(chunks)


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>")
    return token.strip()


def client_ip(request: Request) -> str:
    """The client's address. With CHAT_TRUST_PROXY_HEADERS, uvicorn has already replaced
    the peer by the rightmost X-Forwarded-For address that is not one of
    CHAT_TRUSTED_PROXIES, and only for requests that came from one of them."""
    return request.client.host if request.client else "unknown"


def endpoint(shape: HttpShape) -> Callable[[Request], Awaitable[Response]]:
    """Serve a use case: authenticate (or limit by IP), rate-limit, read, run, answer."""
    case = shape.case
    status = case.http.status if case.http is not None else 200

    async def run(request: Request) -> Response:
        services: Services = request.app.state.services
        settings = request.app.state.settings
        try:
            if case.anonymous:
                ip = client_ip(request)
                limit = services.limits.per_ip(case.ip_limit)
                await enforce(services.limiter, limit, ip)
                caller = Caller(services, None, address=ip)
            else:
                user, token_id = await services.accounts.authenticate(bearer_token(request))
                await enforce(services.limiter, services.limits.requests, f"u{user.id}")
                if case.costs_message:
                    limit = services.limits.messages_for(user.role)
                    await enforce(services.limiter, limit, f"u{user.id}")
                caller = Caller(services, user, token_id)
            command = await shape.read(request, settings.max_http_body_bytes)
            # A write that has to wait is not run if the client disconnects meanwhile.
            with services.request_client(request.receive):
                result = await case.run(caller, command)
        except ChatError as error:
            return error_response(error)
        except Exception as exc:
            return error_response(faults.error_for(exc, f"{request.method} {request.url.path}"))
        return json_response(result, status)

    return run
