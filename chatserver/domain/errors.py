"""The one exception hierarchy: every refusal the server can give, with its protocol code.

The gateway maps these to HTTP statuses and WebSocket error frames in one place;
nothing below the gateway knows about either.
"""

from __future__ import annotations


class ChatError(Exception):
    """A refusal a client can act on. `code` is stable and listed in PROTOCOL.md."""

    code: str = "bad_request"
    status: int = 400
    retry_after: float | None = None
    """Seconds after which the same request may pass (`rate_limited`, `unavailable`)."""
    until: str | None = None
    """When a mute ends (`muted`), as a protocol time."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ChatError):
    code = "bad_request"
    status = 400


class Unauthorized(ChatError):
    code = "unauthorized"
    status = 401


class Forbidden(ChatError):
    code = "forbidden"
    status = 403


class NotMember(ChatError):
    code = "not_member"
    status = 403


class Blocked(ChatError):
    code = "blocked"
    status = 403


class NotFound(ChatError):
    code = "not_found"
    status = 404


class Conflict(ChatError):
    code = "conflict"
    status = 409


class Expired(ChatError):
    """An invite that expired, was revoked or is used up."""

    code = "expired"
    status = 410


class TooLarge(ChatError):
    code = "too_large"
    status = 413


class InvalidEmoji(ChatError):
    code = "invalid_emoji"
    status = 400


class LimitReached(ChatError):
    code = "limit_reached"
    status = 409


class RateLimited(ChatError):
    """Too fast. `retry_after` is in seconds, as the protocol requires."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Muted(ChatError):
    """The caller is timed out in this room; `until` (a protocol time) says till when.

    403 like `forbidden`, with its own code so that a client can show the time left."""

    code = "muted"
    status = 403

    def __init__(self, message: str, until: str) -> None:
        super().__init__(message)
        self.until = until


class UnknownOp(ChatError):
    """WebSocket only: an op the server does not know."""

    code = "unknown_op"
    status = 400


class Internal(ChatError):
    """A bug on our side; the details are in the server log, never in the reply."""

    code = "internal"
    status = 500


class Unavailable(ChatError):
    """A dependency (database, broker) is down; the request may be retried, after
    `retry_after` seconds as the protocol suggests for every refusal that passes."""

    code = "unavailable"
    status = 503
    retry_after: float = 2.0
