"""Deleting a message: its tombstone, and its text gone from every place the server keeps it.

The body leaves the message row, its notifications and attached files go, and the frames
of the event log that carried it (its `message.created` and any `message.updated`) are
rewritten to the tombstone: the rows stay, so a node filling a gap still finds a frame
for every seq, but none of them holds the text any more. A moderator's delete also resolves the
message's open reports, whose snapshots hold the text, and is written to the audit log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.errors import NotFound
from chatserver.domain.models import AuditAction, DeletedBy, Message, User, now_ms
from chatserver.protocol.events import MessageCreated, MessageUpdated
from chatserver.protocol.wire import broadcast_out, encode
from chatserver.services.room_events import Outbox
from chatserver.store import audit
from chatserver.store import events as event_store
from chatserver.store import messages as message_store
from chatserver.store import notifications as notification_store
from chatserver.store import reactions as reaction_store
from chatserver.store import reports as report_store
from chatserver.store import uploads as upload_store


async def erase(outbox: Outbox, actor: User, message: Message, by: DeletedBy) -> Message:
    """Tombstone `message` in the outbox's transaction and announce it; returns the tombstone.

    NotFound when it is already deleted (a concurrent delete won: the rollback gives
    the seq back).
    """
    conn = outbox.conn
    seq = await outbox.next_seq(message.room_id)
    # Read again under the room's lock: an edit committed meanwhile moved updated_seq.
    current = await message_store.get_message(conn, message.id)
    if current is None or not await message_store.tombstone(conn, message.id, seq, by):
        raise NotFound("no such message")
    await reaction_store.clear(conn, message.id)
    await notification_store.delete_for_message(conn, message.id)
    # Its files are never served again from now on; the upload sweep deletes them.
    await upload_store.release_for_message(conn, message.id, now_ms())
    tombstone = await message_store.get_message(conn, message.id)
    assert tombstone is not None
    await _scrub_log(outbox, current, tombstone)
    if by == "moderator":
        await _moderated(outbox, actor, tombstone)
    await outbox.log(
        MessageUpdated(room=message.room_id, seq=seq, message=broadcast_out(tombstone))
    )
    return tombstone


async def _scrub_log(outbox: Outbox, before: Message, tombstone: Message) -> None:
    """Rewrite the logged frames that carried the message to carry its tombstone."""
    room_id = before.room_id
    carried = await event_store.frames_with_message(
        outbox.conn, room_id, before.id, before.seq, before.updated_seq
    )
    wire_tombstone = broadcast_out(tombstone)
    for seq, kind in carried:
        frame = MessageCreated if kind == "message.created" else MessageUpdated
        payload = encode(frame(room=room_id, seq=seq, message=wire_tombstone))
        await event_store.replace(outbox.conn, room_id, seq, payload)


async def _moderated(outbox: Outbox, actor: User, tombstone: Message) -> None:
    """Resolve the message's open reports (forgetting their snapshots) and audit it all."""
    conn, now = outbox.conn, now_ms()
    closed = await report_store.resolve_for_message(conn, tombstone.id, actor.id, now)
    await audit_on_message(conn, "message.delete", actor, tombstone, now)
    for report_id in closed:
        details = {"report": report_id, "action": "delete"}
        await audit_on_message(conn, "report.resolve", actor, tombstone, now, details)


async def audit_on_message(
    conn: AsyncConnection,
    action: AuditAction,
    actor: User,
    message: Message,
    now: int,
    details: dict[str, Any] | None = None,
) -> None:
    """An audit entry about a message: its room, author and id, never its text."""
    await audit.record(
        conn,
        action,
        actor_id=actor.id,
        now=now,
        room_id=message.room_id,
        target_user_id=message.author.id,
        target_message_id=message.id,
        details=details,
    )
