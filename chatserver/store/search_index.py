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

On SQLite a new message's row is inserted at the end of its transaction, with every
other row of that transaction, in one statement (`rows_at_commit`, which
`Database.write` wraps around every write transaction). FTS5 keeps the terms it is
given in memory until the commit, except that every later statement of the
transaction that may need undoing on its own (a statement journal: foreign keys,
multi-row updates) makes it write them out first as a new segment of the index, to be
merged later. Inserted as each message was stored, the rows of a group commit's fifty
sends became some fifty segments, each written and then merged again: that, more than
the inserts themselves, was most of what indexing cost the send path
(docs/benchmarks.md, "Indexing on the send path"). Deletes (edits and tombstones, which
are rare) run at once, and a row waiting for the commit is dropped or replaced by them.
Rows are written at once, as on PostgreSQL, outside `rows_at_commit` and inside a
savepoint (which may be rolled back on its own).

The commit is not hooked with SQLAlchemy's `commit` event: an engine with a listener
takes a slower path for every statement (9 µs more for a simple select here).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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

_waiting: dict[AsyncConnection, dict[int, str]] = {}
"""The rows each open `rows_at_commit` transaction will insert at its end, by message."""


@asynccontextmanager
async def rows_at_commit(conn: AsyncConnection) -> AsyncIterator[None]:
    """Around a transaction's work: the index rows its messages leave waiting are
    inserted when the work ends without an exception, in one statement, before the
    commit; with an exception they are dropped, as the rollback drops the messages."""
    rows: dict[int, str] = {}
    _waiting[conn] = rows
    try:
        yield
        if rows:
            params = [{"id": message_id, "terms": terms} for message_id, terms in rows.items()]
            await conn.execute(_SQLITE_INSERT, params)
    finally:
        del _waiting[conn]


def _later(conn: AsyncConnection) -> dict[int, str] | None:
    """Where a row of `conn`'s transaction waits for its end; None: write it now."""
    rows = _waiting.get(conn)
    return None if rows is None or conn.in_nested_transaction() else rows


async def add(
    conn: AsyncConnection, message_id: int, room_id: int, author_id: int, body: str
) -> None:
    """Index a new message (the send path: on SQLite, at its transaction's end)."""
    terms = sq.indexed_terms(body, room_id, author_id)
    if conn.dialect.name != "sqlite":
        await conn.execute(_PG_INSERT, {"id": message_id, "terms": sq.tsvector(terms)})
    elif (rows := _later(conn)) is not None:
        rows[message_id] = " ".join(terms)
    else:
        await conn.execute(_SQLITE_INSERT, {"id": message_id, "terms": " ".join(terms)})


async def replace(
    conn: AsyncConnection, message_id: int, room_id: int, author_id: int, body: str
) -> None:
    """Index an edited message by its new text."""
    terms = sq.indexed_terms(body, room_id, author_id)
    if conn.dialect.name != "sqlite":
        await conn.execute(_PG_REPLACE, {"id": message_id, "terms": sq.tsvector(terms)})
        return
    await _delete(conn, message_id)
    if (rows := _later(conn)) is not None:
        rows[message_id] = " ".join(terms)
    else:
        await conn.execute(_SQLITE_INSERT, {"id": message_id, "terms": " ".join(terms)})


async def remove(conn: AsyncConnection, message_id: int) -> None:
    """Take a deleted message's text out of the index."""
    if conn.dialect.name != "sqlite":
        await conn.execute(_PG_DELETE, {"id": message_id})
        return
    await _delete(conn, message_id)


async def _delete(conn: AsyncConnection, message_id: int) -> None:
    """Delete the message's row, and the one waiting for the transaction's end. In a
    savepoint the waiting row is written first: a rollback of the savepoint brings it back
    with the message."""
    rows = _waiting.get(conn)
    if rows is not None and message_id in rows:
        terms = rows.pop(message_id)
        if conn.in_nested_transaction():
            await conn.execute(_SQLITE_INSERT, {"id": message_id, "terms": terms})
    await conn.execute(_SQLITE_DELETE, {"id": message_id})
