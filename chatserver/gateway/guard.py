"""uvicorn's protocols with the node's socket rules: admission, request deadlines, and
a bounded kernel send buffer.

uvicorn keeps a connection that has sent nothing, or half a request, for as long as the
client likes (its keep-alive timeout starts only after a response), so a few thousand
silent sockets used to exhaust the process's file descriptors. Here every accepted
socket is first counted by `Admission` (refused ones get a short 503 or 429 and are
closed at once), then has `header_timeout` seconds to deliver a complete request, head
and body, and again after each response; the WebSocket upgrade is such a request, and
after it the `hello` timeout takes over (see `websocket.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any, ClassVar

from uvicorn.config import WS_PROTOCOLS
from uvicorn.importer import import_from_string
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from chatserver.gateway.admission import Admission, Refusal
from chatserver.logs import Repeats
from chatserver.protocol.wire import encode

log = logging.getLogger(__name__)
_refusals = Repeats(log)

MAX_HEAD_BYTES = 32 * 1024
"""Largest request line and headers together: what nginx accepts by default, while
httptools alone would buffer a header that never ends for as long as it kept coming."""


def kernel_send_buffer(bound: int) -> int:
    """The SO_SNDBUF to ask for so that the kernel's share of a slow client's backlog is
    half of `bound` (Linux doubles the value asked for, for its bookkeeping)."""
    return max(4096, bound // 4)


def server_send_limit(bound: int) -> int:
    """What the server itself may hold for one client: `bound` less the kernel's share."""
    return max(1, bound - 2 * kernel_send_buffer(bound))


def _response(status: str, code: str, message: str, retry_after: int | None = None) -> bytes:
    """A complete HTTP error response with the protocol's JSON body, then close."""
    error: dict[str, object] = {"code": code, "message": message}
    extra = ""
    if retry_after is not None:
        error["retry_after"] = retry_after
        extra = f"retry-after: {retry_after}\r\n"
    body = encode({"error": error})
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}"
        f"connection: close\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _refusal_response(refusal: Refusal) -> bytes:
    """What a refused socket gets, sent before its request is read."""
    if refusal.per_address:
        return _response("429 Too Many Requests", "rate_limited", refusal.reason, 5)
    return _response("503 Service Unavailable", "unavailable", refusal.reason, 5)


_HEAD_TOO_LARGE = _response(
    "431 Request Header Fields Too Large",
    "too_large",
    f"the request line and headers are over {MAX_HEAD_BYTES} bytes",
)


UPLOAD_PATH = "/api/uploads"
UPLOAD_MIN_RATE = 32 * 1024
"""Bytes per second an upload's body is given time for (a poor phone connection), on top
of the usual timeout: a file's body is not a header, and 10 MiB cannot come in 10 s."""
UPLOAD_MAX_SECONDS = 900.0
UPLOAD_ASSUMED_BYTES = 10 * 1024 * 1024
"""An upload without Content-Length (chunked) gets the time of this many bytes."""


def _upload_time(header_timeout: float, headers: Any) -> float:
    length = UPLOAD_ASSUMED_BYTES
    for name, value in headers:
        if name == b"content-length" and value.isdigit():
            length = int(value)
    return min(UPLOAD_MAX_SECONDS, header_timeout + length / UPLOAD_MIN_RATE)


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, admitting each socket and timing each request."""

    admission: ClassVar[Admission]
    header_timeout: ClassVar[float]
    send_buffer: ClassVar[int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._refused = False
        self._in_head = True
        self._head_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else None
        refusal = self.admission.admit(transport, address)
        if refusal is not None:
            self._refused = True
            _refusals.log(
                refusal,
                logging.WARNING,
                "refused a connection from %s: %s",
                address,
                refusal.reason,
            )
            transport.write(_refusal_response(refusal))
            transport.close()
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
                self.transport.write(_HEAD_TOO_LARGE)
                self.transport.close()

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()
        scope = getattr(self, "scope", None)
        if scope is not None and scope.get("path") == UPLOAD_PATH and scope["method"] == "POST":
            self._arm(_upload_time(self.header_timeout, scope.get("headers", ())))

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.admission.release(self.transport)
        super().connection_lost(exc)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()  # the request is all here; the application takes its time

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._in_head, self._head_bytes = True, 0
            self._arm()  # the next request, if any, must arrive in time as well

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # the WebSocket protocol owns the socket now, and its hello timeout
        super().handle_websocket_upgrade()

    def _arm(self, seconds: float | None = None) -> None:
        self._disarm()
        timeout = self.header_timeout if seconds is None else seconds
        self._deadline = self.loop.call_later(timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


class _ReleasedOnClose(asyncio.Protocol):
    """Mixed into the WebSocket protocol: after an upgrade, the socket is released from
    `Admission` when the WebSocket closes, not when the HTTP protocol is dropped."""

    admission: ClassVar[Admission]
    transport: Any

    def connection_lost(self, exc: Exception | None) -> None:
        self.admission.release(self.transport)
        super().connection_lost(exc)


def guarded_protocols(
    admission: Admission, header_timeout: float, send_buffer_bytes: int, ws: Any
) -> tuple[type[asyncio.Protocol], type[asyncio.Protocol]]:
    """The HTTP and WebSocket protocol classes for uvicorn's `http` and `ws` options.

    `ws` is a protocol class or one of uvicorn's names for one ("websockets-sansio").
    """
    ws_class = import_from_string(WS_PROTOCOLS.get(ws, ws)) if isinstance(ws, str) else ws
    http = type(
        "GuardedHttp",
        (GuardedHttpProtocol,),
        {
            "admission": admission,
            "header_timeout": header_timeout,
            "send_buffer": kernel_send_buffer(send_buffer_bytes),
        },
    )
    websocket = type(
        f"Guarded{ws_class.__name__}", (_ReleasedOnClose, ws_class), {"admission": admission}
    )
    return http, websocket
