"""Reactions: one row per (message, user, emoji) plus a per-emoji count kept in step."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.models import Reaction
from chatserver.store.tables import reaction_counts, reactions
from chatserver.store.unique import insert_unique


async def reactions_for(
    conn: AsyncConnection, message_ids: Sequence[int], viewer_id: int
) -> dict[int, tuple[Reaction, ...]]:
    """Aggregates for a page of messages: two indexed reads, never a scan of all rows.

    Counts come from `reaction_counts`; `me` from the viewer's own rows only.
    """
    if not message_ids:
        return {}
    counts = await conn.execute(
        select(reaction_counts.c.message_id, reaction_counts.c.emoji, reaction_counts.c.count)
        .where(reaction_counts.c.message_id.in_(message_ids), reaction_counts.c.count > 0)
        .order_by(reaction_counts.c.message_id, reaction_counts.c.first_seq)
    )
    rows = counts.all()
    if not rows:
        return {}
    mine = await conn.execute(
        select(reactions.c.message_id, reactions.c.emoji).where(
            reactions.c.message_id.in_(message_ids), reactions.c.user_id == viewer_id
        )
    )
    own = {(row[0], row[1]) for row in mine}
    grouped: dict[int, list[Reaction]] = defaultdict(list)
    for message_id, emoji, count in rows:
        grouped[message_id].append(Reaction(emoji, count, (message_id, emoji) in own))
    return {message_id: tuple(items) for message_id, items in grouped.items()}


async def add(conn: AsyncConnection, message_id: int, user_id: int, emoji: str, now: int) -> bool:
    """Insert the user's reaction; False if it was already there (idempotent add)."""
    added = insert(reactions).values(
        message_id=message_id, user_id=user_id, emoji=emoji, created_at_ms=now
    )
    return await insert_unique(conn, added) is not None


async def remove(conn: AsyncConnection, message_id: int, user_id: int, emoji: str) -> bool:
    result = await conn.execute(
        delete(reactions).where(
            reactions.c.message_id == message_id,
            reactions.c.user_id == user_id,
            reactions.c.emoji == emoji,
        )
    )
    return result.rowcount > 0


async def distinct_count(conn: AsyncConnection, message_id: int) -> int:
    result = await conn.execute(
        select(func.count())
        .select_from(reaction_counts)
        .where(reaction_counts.c.message_id == message_id, reaction_counts.c.count > 0)
    )
    return int(result.scalar_one())


async def has_emoji(conn: AsyncConnection, message_id: int, emoji: str) -> bool:
    row = (
        await conn.execute(
            select(reaction_counts.c.count).where(
                reaction_counts.c.message_id == message_id, reaction_counts.c.emoji == emoji
            )
        )
    ).first()
    return row is not None and row[0] > 0


async def bump(conn: AsyncConnection, message_id: int, emoji: str, delta: int, seq: int) -> int:
    """Change one emoji's count and return the count after; a count of 0 leaves the list."""
    result = await conn.execute(
        update(reaction_counts)
        .where(reaction_counts.c.message_id == message_id, reaction_counts.c.emoji == emoji)
        .values(count=reaction_counts.c.count + delta)
        .returning(reaction_counts.c.count)
    )
    row = result.first()
    if row is None:
        await conn.execute(
            insert(reaction_counts).values(
                message_id=message_id, emoji=emoji, count=max(delta, 0), first_seq=seq
            )
        )
        return max(delta, 0)
    count = int(row[0])
    if count <= 0:
        await conn.execute(
            delete(reaction_counts).where(
                reaction_counts.c.message_id == message_id, reaction_counts.c.emoji == emoji
            )
        )
        return 0
    return count


async def clear(conn: AsyncConnection, message_id: int) -> None:
    """A deleted message keeps no reactions."""
    await conn.execute(delete(reactions).where(reactions.c.message_id == message_id))
    await conn.execute(delete(reaction_counts).where(reaction_counts.c.message_id == message_id))


async def recent_for_user(conn: AsyncConnection, user_id: int, limit: int) -> list[str]:
    """The user's most recently used reaction emoji, newest first, without repeats."""
    rows = await conn.execute(
        select(reactions.c.emoji, func.max(reactions.c.created_at_ms).label("last"))
        .where(reactions.c.user_id == user_id)
        .group_by(reactions.c.emoji)
        .order_by(func.max(reactions.c.created_at_ms).desc())
        .limit(limit)
    )
    return [row[0] for row in rows]
