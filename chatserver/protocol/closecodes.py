"""WebSocket close codes of the protocol: one name each, used by every part of the server."""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    """Why the server closed a socket (PROTOCOL.md, "Limits and closing")."""

    GOING_AWAY = 1001
    """The server is shutting down; reconnect with `since`."""
    TOO_BIG = 1009
    """A frame over the size limit."""
    INTERNAL = 1011
    """The server could not keep the connection consistent; reconnect with `since`."""
    TRY_AGAIN_LATER = 1013
    """A dependency (database, broker) is down: the hello may be retried shortly."""
    PROTOCOL_VIOLATION = 4000
    """The first frame was not `hello`, or could not be read at all."""
    UNAUTHORIZED = 4001
    """No valid hello in time, a bad or revoked token, an expired guest."""
    POLICY = 4008
    """Flooding, too many connections, or a client too slow to read its events."""
