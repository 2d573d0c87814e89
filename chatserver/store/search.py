"""The search query: matching messages in rooms the caller may read, newest first.

The index (`store/search_index.py`) holds the same terms on both databases, and a
query becomes the same boolean expression of quoted terms on both (an FTS5 MATCH, a
`tsquery`), so SQLite and PostgreSQL give the same results. Both walk the matches by
message id downwards and stop at `limit`; the room and author filters are terms of the
index (facets), so they narrow the match itself rather than the rows read after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, column, exists, or_, select, table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain import search_query as sq
from chatserver.domain.models import Message, Room
from chatserver.store import messages as message_store
from chatserver.store import rooms as room_store
from chatserver.store.tables import messages, questions, room_members, rooms, uploads

_FTS = table("message_search", column("rowid"))
_PG = table("message_search", column("message_id"), column("terms"))
_MATCH = text("message_search MATCH :match")
_TSQUERY = text("message_search.terms @@ CAST(:tsq AS tsquery)")


@dataclass(frozen=True, slots=True)
class Filters:
    """What narrows a search besides its words, already checked and resolved."""

    room_id: int | None = None
    author_id: int | None = None
    has: sq.Has | None = None
    before_ms: int | None = None
    after_ms: int | None = None
    below_id: int | None = None
    """The cursor: only messages with a smaller id (the next page, newest first)."""


async def search(
    conn: AsyncConnection, viewer_id: int, query: sq.Query, filters: Filters, limit: int
) -> list[Message]:
    """Up to `limit` live messages matching, newest first, in rooms the viewer may read
    (their rooms and every room that is not private), with the viewer's reactions.

    The match joins only what it needs to decide (the index, the message, its room and
    the viewer's seat); the page's messages are then read by id as history reads them.
    One statement joining everything would cost PostgreSQL's planner more than the
    search itself (tens of milliseconds for eight tables)."""
    facets: list[str] = []
    if filters.room_id is not None:
        facets.append(sq.room_term(filters.room_id))
    if filters.author_id is not None:
        facets.append(sq.author_term(filters.author_id))
    if filters.has == "link":
        facets.append(sq.LINK_TERM)
    # The index holds tokens, not terms (`search_query.index_token`).
    query = sq.indexed(query)
    facets = [sq.index_token(facet) for facet in facets]
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        key = _FTS.c.rowid
        stmt = select(key).select_from(_FTS).join(messages, key == messages.c.id)
        stmt = stmt.where(_MATCH.bindparams(match=sq.fts5_match(query, tuple(facets))))
    else:
        key = _PG.c.message_id
        stmt = select(key).select_from(_PG).join(messages, key == messages.c.id)
        stmt = stmt.where(_TSQUERY.bindparams(tsq=sq.tsquery(query, tuple(facets))))
    seat = and_(room_members.c.room_id == messages.c.room_id, room_members.c.user_id == viewer_id)
    stmt = (
        stmt.join(rooms, rooms.c.id == messages.c.room_id)
        .outerjoin(room_members, seat)
        .where(
            or_(room_members.c.user_id.is_not(None), rooms.c.visibility != "private"),
            messages.c.deleted.is_(False),
        )
    )
    if filters.room_id is not None:
        stmt = stmt.where(messages.c.room_id == filters.room_id)
    if filters.author_id is not None:
        stmt = stmt.where(messages.c.author_id == filters.author_id)
    if filters.has == "question":
        stmt = stmt.where(exists().where(questions.c.message_id == messages.c.id))
    elif filters.has == "pin":
        stmt = stmt.where(messages.c.pinned_at_ms.is_not(None))
    elif filters.has == "attachment":
        stmt = stmt.where(_has_attachment())
    if filters.before_ms is not None:
        stmt = stmt.where(messages.c.created_at_ms < filters.before_ms)
    if filters.after_ms is not None:
        stmt = stmt.where(messages.c.created_at_ms > filters.after_ms)
    if filters.below_id is not None:
        stmt = stmt.where(key < filters.below_id)
    stmt = stmt.order_by(key.desc()).limit(limit)
    ids = [int(row[0]) for row in await conn.execute(stmt)]
    found = await message_store.get_messages(conn, ids, viewer_id)
    return [found[i] for i in ids if i in found]


def _has_attachment() -> ColumnElement[bool]:
    """A file attached to the message (the uploads' message index answers it)."""
    return exists().where(uploads.c.message_id == messages.c.id)


async def rooms_by_ids(conn: AsyncConnection, room_ids: set[int]) -> dict[int, Room]:
    """The results' rooms, with their pins, in two queries however many."""
    if not room_ids:
        return {}
    rows = await conn.execute(
        select(*room_store.ROOM_COLUMNS).where(rooms.c.id.in_(sorted(room_ids)))
    )
    found = await room_store.with_pins(conn, [room_store.room_from_row(row) for row in rows])
    return {room.id: room for room in found}
