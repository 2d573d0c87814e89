"""What deleting an account erases besides its memberships, and what its export reads."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.store.tables import (
    blocks,
    friend_requests,
    friendships,
    messages,
    notifications,
    password_resets,
    tokens,
)


async def erase_personal_data(conn: AsyncConnection, user_id: int) -> None:
    """Tokens, reset links, friendships and requests, blocks both ways and notifications.

    Memberships (and their per-room levels) go through the room-event door, so that
    members see `member.left`; messages stay, under the anonymised author."""
    await conn.execute(delete(tokens).where(tokens.c.user_id == user_id))
    await conn.execute(delete(password_resets).where(password_resets.c.user_id == user_id))
    await conn.execute(
        delete(friendships).where(
            or_(friendships.c.user_id == user_id, friendships.c.friend_id == user_id)
        )
    )
    await conn.execute(
        delete(friend_requests).where(
            or_(friend_requests.c.from_id == user_id, friend_requests.c.to_id == user_id)
        )
    )
    await conn.execute(
        delete(blocks).where(or_(blocks.c.blocker_id == user_id, blocks.c.blocked_id == user_id))
    )
    await conn.execute(delete(notifications).where(notifications.c.user_id == user_id))


@dataclass(frozen=True, slots=True)
class WrittenMessage:
    """One message as its author's export shows it (a deleted one has no text left)."""

    id: int
    room_id: int
    seq: int
    body: str
    created_at_ms: int
    edited_at_ms: int | None
    deleted: bool
    reply_to: int | None


async def messages_by_author(
    conn: AsyncConnection, user_id: int, after_id: int, limit: int
) -> list[WrittenMessage]:
    """A page of the user's messages with ids above `after_id`, oldest first."""
    rows = await conn.execute(
        select(
            messages.c.id,
            messages.c.room_id,
            messages.c.seq,
            messages.c.body,
            messages.c.created_at_ms,
            messages.c.edited_at_ms,
            messages.c.deleted,
            messages.c.reply_to,
        )
        .where(messages.c.author_id == user_id, messages.c.id > after_id)
        .order_by(messages.c.id)
        .limit(limit)
    )
    return [
        WrittenMessage(
            id=row.id,
            room_id=row.room_id,
            seq=row.seq,
            body=row.body,
            created_at_ms=row.created_at_ms,
            edited_at_ms=row.edited_at_ms,
            deleted=bool(row.deleted),
            reply_to=row.reply_to,
        )
        for row in rows
    ]
