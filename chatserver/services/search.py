"""Message search: the caller's query over the rooms they may read, newest first.

Who may read what is history's rule (`services/rooms.py visible_room`): the caller's
own rooms and every room that is not private. The store applies it in the query
itself, from the membership rows as they are when the query runs, so a removal or a
new private room takes effect at once; a room named by `room=` is checked first with
`visible_room`, so a private room stays a 404 to outsiders here as everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatserver.domain import search_query as sq
from chatserver.domain import text
from chatserver.domain.errors import BadRequest
from chatserver.domain.models import Message, Room, User
from chatserver.services.rooms import visible_room
from chatserver.store import accounts as account_store
from chatserver.store import search as store
from chatserver.store.engine import Database

DEFAULT_LIMIT = 20
MAX_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Hit:
    message: Message
    room: Room
    highlights: list[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Results:
    hits: list[Hit]
    next_cursor: str | None


class SearchService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def search(
        self,
        user: User,
        q: str,
        *,
        room: int | None = None,
        author: str | None = None,
        has: sq.Has | None = None,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Results:
        query = sq.parse(q)
        size = DEFAULT_LIMIT if limit is None else limit
        if not 1 <= size <= MAX_LIMIT:
            raise BadRequest(f"limit is 1-{MAX_LIMIT}")
        before_ms = None if before is None else sq.parse_time(before, "before")
        after_ms = None if after is None else sq.parse_time(after, "after")
        below = None if cursor is None else sq.parse_cursor(cursor)
        username = None if author is None else text.normalize_username(author)
        async with self._db.read() as conn:
            if room is not None:
                await visible_room(conn, user, room)
            author_id = None
            if username is not None:
                found = (await account_store.users_by_names(conn, [username])).get(username)
                if found is None:
                    return Results([], None)
                author_id = found.id
            filters = store.Filters(room, author_id, has, before_ms, after_ms, below)
            page = await store.search(conn, user.id, query, filters, size + 1)
            more = len(page) > size
            page = page[:size]
            rooms = await store.rooms_by_ids(conn, {m.room_id for m in page})
        hits = [
            Hit(m, rooms[m.room_id], sq.highlights(m.body, query))
            for m in page
            if m.room_id in rooms
        ]
        next_cursor = sq.cursor_for(page[-1].id) if more and page else None
        return Results(hits, next_cursor)
