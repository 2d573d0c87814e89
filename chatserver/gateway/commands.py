"""WebSocket requests: one command in, one reply frame out (events follow separately)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from chatserver.domain.errors import ChatError, NotFound, NotMember
from chatserver.gateway.connection import Connection
from chatserver.gateway.hub import Hub
from chatserver.protocol import frames, wire
from chatserver.services.container import Services
from chatserver.services.ratelimit import enforce

Reply = dict[str, Any]


class Dispatcher:
    """Runs one decoded command for one connection and builds its `ok` reply."""

    def __init__(self, services: Services, hub: Hub) -> None:
        self._s = services
        self._hub = hub
        self._table: dict[type, Callable[[Connection, Any], Awaitable[Reply]]] = {
            frames.Send: self._send,
            frames.Edit: self._edit,
            frames.Delete: self._delete,
            frames.React: self._react,
            frames.Unreact: self._unreact,
            frames.Typing: self._typing,
            frames.Read: self._read,
            frames.History: self._history,
            frames.Sync: self._sync,
        }

    async def run(self, conn: Connection, command: frames.AnyCommand) -> bytes | None:
        """The reply frame, or None when the command already queued its own frames."""
        if isinstance(command, frames.Ping):
            return wire.encode({"op": "pong", "ref": command.ref})
        if isinstance(command, frames.Hello):
            raise ChatError("already said hello")
        limits = self._s.limits
        # Per connection, so this node's own memory suffices: no round trip to Redis.
        await enforce(self._s.local_limiter, limits.requests, f"c{conn.serial}")
        if isinstance(command, (frames.Send, frames.Edit, frames.React, frames.Unreact)):
            await enforce(self._s.limiter, limits.messages, f"u{conn.user.id}")
        result = await self._table[type(command)](conn, command)
        if isinstance(command, frames.Sync):
            return None
        return wire.encode({"op": "ok", "ref": command.ref, **result})

    async def _send(self, conn: Connection, c: frames.Send) -> Reply:
        message = await self._s.messages.send(conn.user, c.room, c.body, c.reply_to, c.nonce)
        return {"message": wire.message_out(message)}

    async def _edit(self, conn: Connection, c: frames.Edit) -> Reply:
        message = await self._s.messages.edit(conn.user, c.message, c.body)
        return {"message": wire.message_out(message)}

    async def _delete(self, conn: Connection, c: frames.Delete) -> Reply:
        await self._s.messages.delete(conn.user, c.message)
        return {}

    async def _react(self, conn: Connection, c: frames.React) -> Reply:
        reactions = await self._s.reactions.react(conn.user, c.message, c.emoji)
        return {"reactions": [wire.ReactionOut(r.emoji, r.count, r.me) for r in reactions]}

    async def _unreact(self, conn: Connection, c: frames.Unreact) -> Reply:
        reactions = await self._s.reactions.unreact(conn.user, c.message, c.emoji)
        return {"reactions": [wire.ReactionOut(r.emoji, r.count, r.me) for r in reactions]}

    async def _typing(self, conn: Connection, c: frames.Typing) -> Reply:
        if c.room not in conn.rooms:
            # Not attached means not a member (or no such room): check properly.
            await self._s.rooms.require_member(conn.user, c.room)
        await self._s.presence.typing(conn.user, c.room)
        return {}

    async def _read(self, conn: Connection, c: frames.Read) -> Reply:
        await self._s.messages.read(conn.user, c.room, c.seq)
        return {}

    async def _history(self, conn: Connection, c: frames.History) -> Reply:
        messages = await self._s.messages.history(conn.user, c.room, c.before, c.after, c.limit)
        return {"messages": [wire.message_out(m) for m in messages]}

    async def _sync(self, conn: Connection, c: frames.Sync) -> Reply:
        """Reply ok, replay, then resume live events after the replay's seq.

        The connection is detached from the room BEFORE the replay is read, so no
        live event committed after the replay's snapshot can reach it ahead of the
        replay (and then again after it): those follow `room.synced`, once each.
        """
        attached = c.room in conn.rooms
        resume = self._hub.position(conn, c.room)
        if attached:
            await self._hub.detach(conn, c.room)
        try:
            replay = await self._s.sync.replay(conn.user, c.room, c.since)
        except (NotFound, NotMember):
            raise  # not a member (any more): nothing to resume
        except Exception:
            # Still a member (a bad `since`, a database hiccup): put the connection
            # back where it was, or have it reconnect when that is not known.
            if resume is not None:
                await self._hub.attach(conn, c.room, resume)
            elif attached:
                conn.close(1011, "could not resume the room; reconnect with since")
            raise
        conn.send(wire.encode({"op": "ok", "ref": c.ref}))
        for frame in replay.frames:
            conn.send(frame)
        await self._hub.attach(conn, replay.room_id, replay.seq)
        return {}


def error_frame(error: ChatError, ref: frames.Ref) -> bytes:
    frame: dict[str, Any] = {
        "op": "error",
        "ref": ref,
        "code": error.code,
        "message": error.message,
    }
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        frame["retry_after"] = retry_after
    return wire.encode(frame)
