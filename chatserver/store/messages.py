"""Messages: insert, edit, tombstone, history pages and the 'changed since' replay set."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Select, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.models import Message, Nonce, User
from chatserver.store.accounts import USER_COLUMNS, user_from_row
from chatserver.store.reactions import reactions_for
from chatserver.store.tables import messages, users

MESSAGE_COLUMNS = (
    messages.c.id,
    messages.c.room_id,
    messages.c.seq,
    messages.c.body,
    messages.c.created_at_ms,
    messages.c.edited_at_ms,
    messages.c.deleted,
    messages.c.reply_to,
    messages.c.mentions,
    messages.c.nonce,
    messages.c.updated_seq,
    *USER_COLUMNS,
)


def _select() -> Select[tuple[object, ...]]:
    return select(*MESSAGE_COLUMNS).join(users, users.c.id == messages.c.author_id)


# Built once: the send path runs them for every message (see store/rooms.py).
_INSERT = insert(messages).returning(messages.c.id)
_BY_NONCE = _select().where(
    messages.c.room_id == bindparam("room_id"),
    messages.c.author_id == bindparam("author_id"),
    messages.c.nonce == bindparam("nonce"),
)
_LIVE_IN_ROOM = select(messages.c.id).where(
    messages.c.id == bindparam("message_id"),
    messages.c.room_id == bindparam("room_id"),
    messages.c.deleted.is_(False),
)


def _from_row(row: Sequence[Any]) -> Message:
    mentions = str(row[8])
    nonce = row[9]
    return Message(
        id=row[0],
        room_id=row[1],
        seq=row[2],
        body=row[3],
        created_at_ms=row[4],
        edited_at_ms=row[5],
        deleted=bool(row[6]),
        reply_to=row[7],
        mentions=tuple(int(part) for part in mentions.split(",") if part),
        nonce=json.loads(nonce) if isinstance(nonce, str) else None,
        updated_seq=row[10],
        author=user_from_row(row[11:17]),
    )


def encode_nonce(nonce: Nonce) -> str | None:
    return None if nonce is None else json.dumps(nonce)


async def insert_message(
    conn: AsyncConnection,
    *,
    room_id: int,
    seq: int,
    author: User,
    body: str,
    reply_to: int | None,
    mentions: Sequence[int],
    nonce: Nonce,
    now: int,
) -> Message:
    result = await conn.execute(
        _INSERT,
        {
            "room_id": room_id,
            "seq": seq,
            "author_id": author.id,
            "body": body,
            "created_at_ms": now,
            "reply_to": reply_to,
            "mentions": ",".join(str(m) for m in mentions),
            "nonce": encode_nonce(nonce),
            "updated_seq": seq,
            "deleted": False,
        },
    )
    return Message(
        id=int(result.scalar_one()),
        room_id=room_id,
        seq=seq,
        author=author,
        body=body,
        created_at_ms=now,
        edited_at_ms=None,
        deleted=False,
        reply_to=reply_to,
        mentions=tuple(mentions),
        nonce=nonce,
        updated_seq=seq,
    )


async def get_message(
    conn: AsyncConnection, message_id: int, viewer_id: int | None = None
) -> Message | None:
    row = (await conn.execute(_select().where(messages.c.id == message_id))).first()
    if row is None:
        return None
    message = _from_row(row)
    if viewer_id is None:
        return message
    return (await _with_reactions(conn, [message], viewer_id))[0]


async def find_by_nonce(
    conn: AsyncConnection, room_id: int, author_id: int, nonce: Nonce
) -> Message | None:
    params = {"room_id": room_id, "author_id": author_id, "nonce": encode_nonce(nonce)}
    row = (await conn.execute(_BY_NONCE, params)).first()
    return _from_row(row) if row else None


async def edit_message(
    conn: AsyncConnection, message_id: int, body: str, mentions: Sequence[int], seq: int, now: int
) -> None:
    await conn.execute(
        update(messages)
        .where(messages.c.id == message_id)
        .values(
            body=body,
            mentions=",".join(str(m) for m in mentions),
            edited_at_ms=now,
            updated_seq=seq,
        )
    )


async def tombstone(conn: AsyncConnection, message_id: int, seq: int) -> None:
    await conn.execute(
        update(messages)
        .where(messages.c.id == message_id)
        .values(body="", mentions="", deleted=True, updated_seq=seq)
    )


async def touch(conn: AsyncConnection, message_id: int, seq: int) -> None:
    """Record that an event (a reaction) changed the message at `seq`, for replays."""
    await conn.execute(update(messages).where(messages.c.id == message_id).values(updated_seq=seq))


async def history(
    conn: AsyncConnection,
    room_id: int,
    viewer_id: int,
    *,
    before: int | None,
    after: int | None,
    limit: int,
) -> list[Message]:
    """A page of messages ascending by seq (see PROTOCOL: before/after are exclusive)."""
    stmt = _select().where(messages.c.room_id == room_id)
    if after is not None:
        stmt = stmt.where(messages.c.seq > after).order_by(messages.c.seq).limit(limit)
        if before is not None:
            stmt = stmt.where(messages.c.seq < before)
        page = [_from_row(row) for row in await conn.execute(stmt)]
    else:
        if before is not None:
            stmt = stmt.where(messages.c.seq < before)
        stmt = stmt.order_by(messages.c.seq.desc()).limit(limit)
        page = [_from_row(row) for row in await conn.execute(stmt)]
        page.reverse()
    return await _with_reactions(conn, page, viewer_id)


async def changed_since(
    conn: AsyncConnection, room_id: int, since: int, viewer_id: int, limit: int
) -> list[Message]:
    """Messages created or changed after `since`, for a replay (at most `limit`)."""
    stmt = (
        _select()
        .where(
            messages.c.room_id == room_id,
            or_(messages.c.seq > since, messages.c.updated_seq > since),
        )
        .limit(limit)
    )
    page = [_from_row(row) for row in await conn.execute(stmt)]
    return await _with_reactions(conn, page, viewer_id)


async def existing_in_room(conn: AsyncConnection, room_id: int, message_id: int) -> bool:
    """True when the message is in the room and not deleted (a valid reply target)."""
    params = {"message_id": message_id, "room_id": room_id}
    return (await conn.execute(_LIVE_IN_ROOM, params)).first() is not None


async def _with_reactions(
    conn: AsyncConnection, page: list[Message], viewer_id: int
) -> list[Message]:
    live = [m.id for m in page if not m.deleted]
    if not live:
        return page
    by_message = await reactions_for(conn, live, viewer_id)
    return [replace(m, reactions=by_message[m.id]) if m.id in by_message else m for m in page]
