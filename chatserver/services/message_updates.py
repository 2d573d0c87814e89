"""Changes to the state a message carries (its question, meetup or poll), all written
the same way: in one transaction, read the message as its caller may see it, apply the
change and, only when it changed something, take the room's next seq and log a
`message.updated` with the whole message (its viewer fields as broadcast). An idempotent
repeat therefore takes no seq and announces nothing, and every client applies the same
full state whatever the kind of change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.models import Membership, Message, Room, User
from chatserver.protocol.events import MessageUpdated
from chatserver.protocol.wire import broadcast_out
from chatserver.services.messages import message_in_view
from chatserver.services.room_events import Outbox, RoomEvents
from chatserver.store import messages as message_store

Change = Callable[[AsyncConnection, Message, Room, Membership | None], Awaitable[bool]]
"""One change to a message's state, given the message as its caller sees it, its room and
the caller's seat there, in the write's transaction; it raises to refuse, and returns
False when nothing changed."""


async def update_message(
    events: RoomEvents, user: User, message_id: int, change: Change, *, shared: bool = False
) -> Message:
    """Apply `change` and, when it changed something, sequence it as `message.updated`;
    returns the message as `user` sees it afterwards.

    The room's seq is taken after the change, so an idempotent repeat takes none.
    `shared` lets concurrent calls share one SQLite transaction and its disk sync (group
    commit, as sends do): a crowd answering at once then costs a sync per batch, not one
    each. `change` must then be safe to run twice (only the run that commits counts) and
    touch nothing but the connection.
    """

    async def work(outbox: Outbox) -> Message:
        conn = outbox.conn
        message, room, seat = await message_in_view(conn, user, message_id)
        if not await change(conn, message, room, seat):
            return await _as_seen(conn, message, user)
        seq = await outbox.next_seq(message.room_id)
        await message_store.touch(conn, message.id, seq)
        current = await _as_seen(conn, message, user)
        await outbox.log(
            MessageUpdated(room=message.room_id, seq=seq, message=broadcast_out(current))
        )
        return current

    if shared:
        return await events.write_shared(work)
    async with events.write() as outbox:
        return await work(outbox)


async def _as_seen(conn: AsyncConnection, message: Message, viewer: User) -> Message:
    """The message read again in the write's transaction, after any change (and, for
    meetups and polls, after the lock that orders their writers)."""
    current = await message_store.get_message(conn, message.id, viewer.id)
    assert current is not None
    return current
