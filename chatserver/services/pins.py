"""Pins: a room's moderators pin and unpin its messages (at most 50 at once), announced
as `message.updated` and written to the audit log."""

from __future__ import annotations

from chatserver.domain import rules
from chatserver.domain.errors import LimitReached, NotFound
from chatserver.domain.models import AuditAction, User, now_ms
from chatserver.protocol.events import MessageUpdated
from chatserver.protocol.wire import broadcast_out
from chatserver.services.erasure import audit_on_message
from chatserver.services.messages import message_in_view
from chatserver.services.room_events import RoomEvents
from chatserver.store import messages as store
from chatserver.store.messages import MAX_PINS


class _Unchanged(Exception):
    """Already in the asked state: the transaction rolls back, giving its seq back."""


class PinService:
    def __init__(self, events: RoomEvents) -> None:
        self._events = events

    async def pin(self, user: User, room_id: int, message_id: int) -> None:
        """Pin a message of the room; pinning a pinned message changes nothing."""
        await self._change(user, room_id, message_id, pin=True)

    async def unpin(self, user: User, room_id: int, message_id: int) -> None:
        """Unpin a message; unpinning one that is not pinned changes nothing."""
        await self._change(user, room_id, message_id, pin=False)

    async def _change(self, user: User, room_id: int, message_id: int, *, pin: bool) -> None:
        try:
            async with self._events.write() as outbox:
                conn = outbox.conn
                message, room, membership = await message_in_view(conn, user, message_id)
                if room.id != room_id:
                    raise NotFound("no such message in this room")
                rules.check_moderates(user, room, membership)
                # Taken first: the room's lock makes the count below exact under races.
                seq = await outbox.next_seq(room.id)
                now = now_ms()
                pinned_at: int | None = None
                if pin:
                    count, latest = await store.pin_state(conn, room.id)
                    if count >= MAX_PINS and not message.pinned:
                        raise LimitReached(f"a room has at most {MAX_PINS} pinned messages")
                    # Strictly after the previous pin, so "oldest first" is never a tie.
                    pinned_at = now if latest is None else max(now, latest + 1)
                if not await store.set_pinned(conn, message.id, pinned_at, seq):
                    raise _Unchanged
                changed = await store.get_message(conn, message.id, user.id)
                assert changed is not None
                action: AuditAction = "message.pin" if pin else "message.unpin"
                await audit_on_message(conn, action, user, changed, now)
                await outbox.log(
                    MessageUpdated(room=room.id, seq=seq, message=broadcast_out(changed))
                )
        except _Unchanged:
            return
