"""Log output: plain text, or one JSON object per line that names the request or socket.

A line logged while an HTTP request is handled carries that request's id (also sent
back in `X-Request-Id`), and one logged by a WebSocket's task carries the connection's
serial and its user's id, so that an operator can gather every line of one request or
socket. The ids live in context variables: asyncio copies them into the tasks a request
or socket starts, and nothing has to pass them down.
"""

from __future__ import annotations

import json
import logging
import os
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

import websockets

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
SOCKET: ContextVar[tuple[int, int] | None] = ContextVar("socket", default=None)
"""(connection serial, user id) of the WebSocket whose task is running."""


def bind_request(request_id: str) -> Token[str | None]:
    """Name the HTTP request being handled in every line logged until `reset`."""
    return REQUEST_ID.set(request_id)


def bind_socket(serial: int, user_id: int) -> None:
    """Name the WebSocket in every line its task (and the tasks it starts) logs."""
    SOCKET.set((serial, user_id))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, context ids, and
    `fields` given by the caller through `extra={"fields": {...}}`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        socket = SOCKET.get()
        if socket is not None:
            entry["connection"], entry["user_id"] = socket
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class NoWireTraces(logging.Filter):
    """Drops the WebSocket library's debug traces: they print every frame and handshake
    header a client sends, and so its token (in `hello`) and any Authorization header,
    shortened to both ends but not hidden. Nothing else the server logs carries what a
    client sent verbatim."""

    _library = os.path.dirname(websockets.__file__) + os.sep

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO or not record.pathname.startswith(self._library)


def configure_logging(level: str, fmt: str) -> None:
    """Send every logger (uvicorn's too, which must be started without its own logging
    configuration) to standard error in the chosen format."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(NoWireTraces())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
