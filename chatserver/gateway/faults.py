"""What a client is told about an exception no handler expected, and how it is logged.

Two kinds, in one place for HTTP and the WebSocket: a dependency that cannot be
reached (the database restarting, Redis gone, a pool with no free connection) is
`unavailable`, a 503 with `retry_after`, because the same request will work once it is
back; anything else is a bug, `internal`. Both are logged once per kind and then
counted (`logs.Repeats`), so an outage or a client repeating a crashing request writes
a few lines a minute, not one traceback per request.
"""

from __future__ import annotations

import logging
import traceback

import asyncpg.exceptions as pg
import redis.exceptions as redis_errors
from sqlalchemy import exc as sa
from starlette.requests import ClientDisconnect

from chatserver.domain.errors import BadRequest, ChatError, Internal, Unavailable
from chatserver.logs import Repeats, one_line

log = logging.getLogger(__name__)
_repeats = Repeats(log)

_OUTAGES: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, timed out (TimeoutError is an OSError)
    sa.OperationalError,
    sa.InterfaceError,
    sa.TimeoutError,  # no pooled connection became free
    pg.PostgresConnectionError,  # SQLSTATE class 08
    pg.OperatorInterventionError,  # class 57: shutting down, starting up
    pg.InsufficientResourcesError,  # class 53: too many connections, disk full
    pg.InterfaceError,  # "connection is closed"
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
)
_CHAIN_DEPTH = 8


def is_outage(error: BaseException) -> bool:
    """True when the exception, or one it was raised from, says a dependency is away.

    SQLAlchemy wraps the driver's exception (`orig`), which wraps asyncpg's (`__cause__`);
    a connection SQLAlchemy has invalidated is an outage whatever the wrapped error was.
    """
    seen: BaseException | None = error
    for _ in range(_CHAIN_DEPTH):
        if seen is None:
            return False
        if isinstance(seen, _OUTAGES):
            return True
        if isinstance(seen, sa.DBAPIError):
            if seen.connection_invalidated:
                return True
            orig = seen.orig
            if isinstance(orig, BaseException) and is_outage(orig):
                return True
        seen = seen.__cause__ or seen.__context__
    return False


def classify(error: BaseException) -> ChatError:
    """The protocol error for any exception: itself, `unavailable` or `internal`."""
    if isinstance(error, ChatError):
        return error
    if isinstance(error, ClientDisconnect):
        return BadRequest("the request was not received in full")
    if is_outage(error):
        return Unavailable("a service the server needs is unavailable; retry shortly")
    return Internal("internal error; it has been logged")


def error_for(error: BaseException, where: str) -> ChatError:
    """`classify`, and log what deserves it: a bug with its traceback, an outage as one
    line, each once per minute per kind with a count of the repeats."""
    chat_error = classify(error)
    if isinstance(chat_error, Internal) and chat_error is not error:
        _repeats.log(
            ("bug", type(error), _raised_at(error)),
            logging.ERROR,
            "unexpected error in %s",
            where,
            exc_info=error,
        )
    elif isinstance(chat_error, Unavailable):
        root = _root(error)
        _repeats.log(
            ("outage", type(root)),
            logging.WARNING,
            "unavailable in %s: %s",
            where,
            one_line(root),
        )
    return chat_error


def _raised_at(error: BaseException) -> tuple[str, int]:
    """Where the exception was raised: the same bug from any request is one kind."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return ("", 0)
    last = frames[-1]
    return (last.filename, last.lineno or 0)


def _root(error: BaseException) -> BaseException:
    """The innermost cause: the driver's own words about what went away."""
    for _ in range(_CHAIN_DEPTH):
        cause = error.__cause__ or error.__context__
        if cause is None:
            break
        error = cause
    return error
