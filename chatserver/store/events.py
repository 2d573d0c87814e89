"""The room event log: every sequenced frame as it was broadcast, for filling gaps."""

from __future__ import annotations

import msgspec
from sqlalchemy import delete, insert, select, update
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


class _MessageRef(msgspec.Struct):
    id: int


class _Carried(msgspec.Struct):
    """What a logged frame says about a message: its `message` field, when it has one
    (a whole Message for `message.*`, an id for `reaction.*`)."""

    type: str
    message: _MessageRef | int | None = None


_carried = msgspec.json.Decoder(_Carried)
MESSAGE_FRAMES = frozenset({"message.created", "message.updated"})
"""Frames that carry a whole Message, and so its text."""


async def frames_with_message(
    conn: AsyncConnection, room_id: int, message_id: int, first: int, last: int
) -> list[tuple[int, str]]:
    """(seq, type) of the logged frames, first <= seq <= last, that carry the message's
    full state (its creation and its updates), in seq order.

    Every event that changes a message moves its `updated_seq` (replays rely on it), so
    a message's frames all lie between its `seq` and its `updated_seq`.
    """
    found = []
    for seq, payload in await between(conn, room_id, first, last):
        frame = _carried.decode(payload)
        ref = frame.message
        if frame.type in MESSAGE_FRAMES and isinstance(ref, _MessageRef) and ref.id == message_id:
            found.append((seq, frame.type))
    return found


async def replace(conn: AsyncConnection, room_id: int, seq: int, payload: bytes) -> None:
    """Rewrite one logged frame in place: its seq stays filled for gap fills."""
    await conn.execute(
        update(room_events)
        .where(room_events.c.room_id == room_id, room_events.c.seq == seq)
        .values(payload=payload)
    )


async def prune_before(conn: AsyncConnection, cutoff_ms: int) -> int:
    """Forget frames older than the cutoff; replays use message state, not this log."""
    result = await conn.execute(delete(room_events).where(room_events.c.created_at_ms < cutoff_ms))
    return int(result.rowcount)
