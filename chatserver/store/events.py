"""The room event log: every sequenced frame as it was broadcast, for filling gaps."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.store.tables import room_events

_APPEND = insert(room_events)  # built once: every sequenced event is appended


async def append(conn: AsyncConnection, room_id: int, seq: int, payload: bytes, now: int) -> None:
    params = {"room_id": room_id, "seq": seq, "payload": payload, "created_at_ms": now}
    await conn.execute(_APPEND, params)


async def between(
    conn: AsyncConnection, room_id: int, first: int, last: int
) -> list[tuple[int, bytes]]:
    """Frames with first <= seq <= last, in seq order."""
    rows = await conn.execute(
        select(room_events.c.seq, room_events.c.payload)
        .where(
            room_events.c.room_id == room_id,
            room_events.c.seq >= first,
            room_events.c.seq <= last,
        )
        .order_by(room_events.c.seq)
    )
    return [(row[0], bytes(row[1])) for row in rows]


async def prune_before(conn: AsyncConnection, cutoff_ms: int) -> int:
    """Forget frames older than the cutoff; replays use message state, not this log."""
    result = await conn.execute(delete(room_events).where(room_events.c.created_at_ms < cutoff_ms))
    return int(result.rowcount)
