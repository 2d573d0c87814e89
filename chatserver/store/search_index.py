"""The search index: one row of terms per live message, written with the message.

The terms come from `domain.search_query` (normalised and stemmed in Python, once, then
hashed: see `index_token`), so both databases index exactly the same tokens:

- SQLite: `message_search`, an FTS5 table (`tokenize='ascii'`, which keeps each of our
  terms as one token, and `detail='none'`: no positions, as no query needs them) whose
  rowid is the message id.
- PostgreSQL: `message_search(message_id, terms tsvector)` with a GIN index; the terms
  are cast to `tsvector` as they are, never re-parsed by a text search configuration.

Rows are written by `store/messages.py` in the transaction that inserts, edits or
tombstones the message, so the index is never behind the messages and a deleted
message's text leaves it in the deleting transaction. Neither table is in `tables.py`
(SQLAlchemy cannot describe an FTS5 table); migration 0006 creates them.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain import search_query as sq

ENGINE_MANAGED_PREFIX = "message_search"
"""Tables (and FTS5's shadow tables) made by migration 0006 outside `tables.py`."""


_SQLITE_INSERT = text("INSERT INTO message_search (rowid, terms) VALUES (:id, :terms)")
_SQLITE_DELETE = text("DELETE FROM message_search WHERE rowid = :id")
_PG_INSERT = text(
    "INSERT INTO message_search (message_id, terms) VALUES (:id, CAST(:terms AS tsvector))"
)
_PG_REPLACE = text(
    "INSERT INTO message_search (message_id, terms) VALUES (:id, CAST(:terms AS tsvector)) "
    "ON CONFLICT (message_id) DO UPDATE SET terms = excluded.terms"
)
_PG_DELETE = text("DELETE FROM message_search WHERE message_id = :id")


def _sqlite(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "sqlite"


def _params(message_id: int, terms: list[str], sqlite: bool) -> dict[str, object]:
    return {"id": message_id, "terms": " ".join(terms) if sqlite else sq.tsvector(terms)}


async def add(
    conn: AsyncConnection, message_id: int, room_id: int, author_id: int, body: str
) -> None:
    """Index a new message (the send path: one statement)."""
    sqlite = _sqlite(conn)
    terms = sq.indexed_terms(body, room_id, author_id)
    await conn.execute(_SQLITE_INSERT if sqlite else _PG_INSERT, _params(message_id, terms, sqlite))


async def replace(
    conn: AsyncConnection, message_id: int, room_id: int, author_id: int, body: str
) -> None:
    """Index an edited message by its new text."""
    sqlite = _sqlite(conn)
    terms = sq.indexed_terms(body, room_id, author_id)
    if sqlite:
        await conn.execute(_SQLITE_DELETE, {"id": message_id})
        await conn.execute(_SQLITE_INSERT, _params(message_id, terms, True))
    else:
        await conn.execute(_PG_REPLACE, _params(message_id, terms, False))


async def remove(conn: AsyncConnection, message_id: int) -> None:
    """Take a deleted message's text out of the index."""
    await conn.execute(_SQLITE_DELETE if _sqlite(conn) else _PG_DELETE, {"id": message_id})
