"""Messages: insert, edit, tombstone, pins, history pages and the 'changed since' replay set."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.models import DeletedBy, Message, Nonce, Reaction, User
from chatserver.store import search_index
from chatserver.store.accounts import AUTHOR_COLUMNS, author_from_row
from chatserver.store.meetups import MEETUP_COLUMNS, meetup_from_row, with_my_rsvps
from chatserver.store.polls import POLL_COLUMNS, poll_from_row, with_options
from chatserver.store.questions import QUESTION_COLUMNS, my_votes, question_from_row
from chatserver.store.reactions import reactions_for
from chatserver.store.tables import AnyRow, meetups, messages, polls, questions, users
from chatserver.store.uploads import with_attachments

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
    messages.c.pinned_at_ms,
    messages.c.deleted_by,
    *AUTHOR_COLUMNS,
)


def _select() -> Select[tuple[object, ...]]:
    """Messages with their author and question state (an outer join on its key)."""
    return (
        select(*MESSAGE_COLUMNS, *QUESTION_COLUMNS, *POLL_COLUMNS, *MEETUP_COLUMNS)
        .join(users, users.c.id == messages.c.author_id)
        .outerjoin(questions, questions.c.message_id == messages.c.id)
        .outerjoin(polls, polls.c.message_id == messages.c.id)
        .outerjoin(meetups, meetups.c.message_id == messages.c.id)
    )


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


def _from_row(row: AnyRow) -> Message:
    mentions = str(row.mentions)
    nonce = row.nonce
    return Message(
        id=row.id,
        room_id=row.room_id,
        seq=row.seq,
        body=row.body,
        created_at_ms=row.created_at_ms,
        edited_at_ms=row.edited_at_ms,
        deleted=bool(row.deleted),
        reply_to=row.reply_to,
        mentions=tuple(int(part) for part in mentions.split(",") if part),
        nonce=json.loads(nonce) if isinstance(nonce, str) else None,
        updated_seq=row.updated_seq,
        author=author_from_row(row),
        pinned_at_ms=row.pinned_at_ms,
        deleted_by=row.deleted_by,
        question=question_from_row(row),
        poll=poll_from_row(row),
        meetup=meetup_from_row(row),
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
    message = Message(
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
    await search_index.add(conn, message.id, room_id, author.id, body)
    return message


async def get_message(
    conn: AsyncConnection, message_id: int, viewer_id: int | None = None
) -> Message | None:
    row = (await conn.execute(_select().where(messages.c.id == message_id))).first()
    if row is None:
        return None
    message = _from_row(row)
    if viewer_id is None:
        return (await with_attachments(conn, await with_polls(conn, [message], None)))[0]
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
    result = await conn.execute(
        update(messages)
        .where(messages.c.id == message_id)
        .values(
            body=body,
            mentions=",".join(str(m) for m in mentions),
            edited_at_ms=now,
            updated_seq=seq,
        )
        .returning(messages.c.room_id, messages.c.author_id)
    )
    for room_id, author_id in result.all():
        await search_index.replace(conn, message_id, room_id, author_id, body)


async def tombstone(conn: AsyncConnection, message_id: int, seq: int, by: DeletedBy) -> bool:
    """Blank a live message (a tombstone is never pinned); False if it was already deleted,
    so two racing deletes announce one tombstone."""
    result = await conn.execute(
        update(messages)
        .where(messages.c.id == message_id, messages.c.deleted.is_(False))
        .values(
            body="", mentions="", deleted=True, deleted_by=by, pinned_at_ms=None, updated_seq=seq
        )
    )
    if not result.rowcount:
        return False
    await search_index.remove(conn, message_id)
    return True


MAX_PINS = 50
"""Pinned messages a room may hold at once (PROTOCOL-COMMUNITY)."""


async def pin_state(conn: AsyncConnection, room_id: int) -> tuple[int, int | None]:
    """How many messages the room has pinned, and the latest pin's time."""
    row = (
        await conn.execute(
            select(func.count(), func.max(messages.c.pinned_at_ms)).where(
                messages.c.room_id == room_id, messages.c.pinned_at_ms.is_not(None)
            )
        )
    ).one()
    return int(row[0]), row[1]


async def set_pinned(
    conn: AsyncConnection, message_id: int, pinned_at_ms: int | None, seq: int
) -> bool:
    """Pin (at `pinned_at_ms`) or unpin (None) a live message, recording the change at
    `seq` for replays; False when it already was in that state (nothing changed)."""
    current = (
        messages.c.pinned_at_ms.is_(None)
        if pinned_at_ms is not None
        else messages.c.pinned_at_ms.is_not(None)
    )
    result = await conn.execute(
        update(messages)
        .where(messages.c.id == message_id, messages.c.deleted.is_(False), current)
        .values(pinned_at_ms=pinned_at_ms, updated_seq=seq)
    )
    return bool(result.rowcount)


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


async def get_messages(
    conn: AsyncConnection, message_ids: Sequence[int], viewer_id: int
) -> dict[int, Message]:
    """Messages by id with their reactions, in three queries however many (an inbox
    shows up to 500: one query each would hold the loop for a fifth of a second)."""
    if not message_ids:
        return {}
    rows = await conn.execute(_select().where(messages.c.id.in_(set(message_ids))))
    found = await _with_reactions(conn, [_from_row(row) for row in rows], viewer_id)
    return {message.id: message for message in found}


REACTIONS_BATCH = 1000
"""Messages whose reactions one query looks up: bounds a statement's parameters."""


async def changed_since_in_rooms(
    conn: AsyncConnection, since: Mapping[int, int], viewer_id: int
) -> list[Message]:
    """Each room's messages created or changed after `since[room]`, in one query however
    many rooms: the replays of a `hello` that resumes all of a user's rooms.

    A message's `updated_seq` is never below its `seq`, so `updated_seq > since` finds
    new and changed messages alike, on the (room_id, updated_seq) index. The caller
    bounds the rows by asking only for rooms a bounded number of events behind.
    """
    if not since:
        return []
    params: dict[str, int] = {}
    for i, (room_id, seq) in enumerate(since.items()):
        params[f"r{i}"], params[f"s{i}"] = room_id, seq
    page = [_from_row(row) for row in await conn.execute(_changed_since(len(since)), params)]
    out: list[Message] = []
    for start in range(0, len(page), REACTIONS_BATCH):
        out += await _with_reactions(conn, page[start : start + REACTIONS_BATCH], viewer_id)
    return out


@lru_cache(maxsize=256)
def _changed_since(rooms: int) -> Select[tuple[object, ...]]:
    """The replay's statement for `rooms` rooms: each room's range of the (room_id,
    updated_seq) index, OR-ed. Its values are bound parameters, so SQLAlchemy compiles it
    once per number of rooms, not once per `hello` (rooms' seqs written into a VALUES
    list made every replay a new statement, compiled anew: a tenth of a reconnect
    storm's CPU)."""
    ranges = [
        and_(
            messages.c.room_id == bindparam(f"r{i}"),
            messages.c.updated_seq > bindparam(f"s{i}"),
        )
        for i in range(rooms)
    ]
    return _select().where(or_(*ranges))


async def existing_in_room(conn: AsyncConnection, room_id: int, message_id: int) -> bool:
    """True when the message is in the room and not deleted (a valid reply target)."""
    params = {"message_id": message_id, "room_id": room_id}
    return (await conn.execute(_LIVE_IN_ROOM, params)).first() is not None


async def _with_reactions(
    conn: AsyncConnection, page: list[Message], viewer_id: int
) -> list[Message]:
    """The viewer's view of a page: reactions with `me`, and `my_vote` on questions
    (one query each for the whole page)."""
    live = [m.id for m in page if not m.deleted]
    if not live:
        return page
    by_message = await reactions_for(conn, live, viewer_id)
    asked = [m.id for m in page if m.question is not None and not m.deleted]
    voted = await my_votes(conn, asked, viewer_id)
    viewed = await with_polls(conn, [_viewed(m, by_message, voted) for m in page], viewer_id)
    return await with_attachments(conn, await with_my_rsvps(conn, viewed, viewer_id))


async def with_polls(
    conn: AsyncConnection, page: list[Message], viewer_id: int | None
) -> list[Message]:
    """Polls with their options and the viewer's `my_vote` (none for no viewer): two
    queries for the page, none when it holds no poll."""
    heads = {m.id: m.poll for m in page if m.poll is not None and not m.deleted}
    if not heads:
        return page
    full = await with_options(conn, heads, viewer_id)
    return [replace(m, poll=full[m.id]) if m.id in full else m for m in page]


def _viewed(
    message: Message, by_message: Mapping[int, tuple[Reaction, ...]], voted: set[int]
) -> Message:
    if message.id in by_message:
        message = replace(message, reactions=by_message[message.id])
    if message.id in voted and message.question is not None:
        message = replace(message, question=replace(message.question, my_vote=True))
    return message
