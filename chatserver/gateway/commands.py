"""WebSocket requests: one op in, one reply frame out (events follow separately)."""

from __future__ import annotations

from typing import Any

from chatserver.gateway.connection import Connection
from chatserver.gateway.hub import Hub
from chatserver.gateway.usecases import USE_CASES, Caller, UseCase, ok_frame
from chatserver.protocol import frames, wire
from chatserver.services.container import Services
from chatserver.services.ratelimit import enforce


class Dispatcher:
    """Runs one decoded op for one connection through its use case and builds the reply."""

    def __init__(self, services: Services, hub: Hub) -> None:
        self._s = services
        self._hub = hub
        self._cases: dict[type, UseCase[Any]] = {c.request: c for c in USE_CASES if c.ws}
        assert set(self._cases) == set(frames.COMMANDS), "every op needs a use case"

    async def run(self, conn: Connection, command: frames.AnyCommand) -> bytes | None:
        """The reply frame, or None when the op already queued its own frames."""
        case = self._cases[type(command)]
        if not case.free:
            limits = self._s.limits
            # Per connection, so this node's own memory suffices: no round trip to Redis.
            await enforce(self._s.local_limiter, limits.requests, f"c{conn.serial}")
            if case.costs_message:
                limit = limits.messages_for(conn.user.role)
                await enforce(self._s.limiter, limit, f"u{conn.user.id}")
        result = await case.run(Caller(self._s, conn.user, conn.token_id, conn, self._hub), command)
        if case.ws_reply == "ok":
            return ok_frame(command.ref, result)
        if case.ws_reply == "pong":
            return b'{"op":"pong","ref":' + wire.encode(command.ref) + b"}"
        return None
