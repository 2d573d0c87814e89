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
other row of that transaction, in one statement run when the transaction commits (a
`commit` listener on the engine). FTS5 keeps the terms it is given in memory until the
commit, except that every later statement of the transaction that may need undoing
on its own (a statement journal: foreign keys, multi-row updates) makes it write them
out first as a new segment of the index, to be merged later. Inserted as each message
was stored, the rows of a group commit's fifty sends became some fifty segments, each
written and then merged again: that, more than the inserts themselves, was most of
what indexing cost the send path (docs/benchmarks.md, "Indexing on the send path").
Deletes (edits and tombstones, which are rare) run at once; a row waiting for the
commit is dropped or replaced by them. Rows waiting in a savepoint that is rolled back
are dropped with it: a savepoint's start writes out the rows waiting before it.

PostgreSQL writes each row at once: a GIN index has its own pending list for that.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary, WeakSet

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import Transaction
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain import search_query as sq

ENGINE_MANAGED_PREFIX = "message_search"
"""Tables (and FTS5's shadow tables) made by migration 0006 outside `tables.py`."""


_SQLITE_INSERT = "INSERT INTO message_search (rowid, terms) VALUES (?, ?)"
_SQLITE_DELETE = text("DELETE FROM message_search WHERE rowid = :id")
_PG_INSERT = text(
    "INSERT INTO message_search (message_id, terms) VALUES (:id, CAST(:terms AS tsvector))"
)
_PG_REPLACE = text(
    "INSERT INTO message_search (message_id, terms) VALUES (:id, CAST(:terms AS tsvector)) "
    "ON CONFLICT (message_id) DO UPDATE SET terms = excluded.terms"
)
_PG_DELETE = text("DELETE FROM message_search WHERE message_id = :id")

_waiting: WeakKeyDictionary[Transaction, dict[int, str]] = WeakKeyDictionary()
"""SQLite: the rows each open transaction will insert when it commits, by message id.
Keyed by the transaction itself, so a transaction rolled back takes its rows along."""

_listened: WeakSet[Engine] = WeakSet()
"""SQLite engines whose commits and savepoints write out the waiting rows."""


def _sqlite(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "sqlite"


def _rows_at_commit(conn: AsyncConnection) -> dict[int, str]:
    """The rows waiting for the commit of `conn`'s transaction (SQLite)."""
    sync = conn.sync_connection
    transaction = None if sync is None else sync.get_transaction()
    assert sync is not None and transaction is not None, "the message's statement began it"
    if sync.engine not in _listened:
        event.listen(sync.engine, "commit", _write_waiting)
        event.listen(sync.engine, "savepoint", _write_waiting_before_savepoint)
        event.listen(sync.engine, "rollback_savepoint", _drop_waiting)
        _listened.add(sync.engine)
    return _waiting.setdefault(transaction, {})


def _write_waiting(conn: Connection) -> None:
    """Insert the rows waiting in the transaction `conn` is committing, in one statement."""
    transaction = conn.get_transaction()
    rows = None if transaction is None else _waiting.pop(transaction, None)
    if rows:
        conn.exec_driver_sql(_SQLITE_INSERT, list(rows.items()))


def _write_waiting_before_savepoint(conn: Connection, _name: str | None) -> None:
    _write_waiting(conn)


def _drop_waiting(conn: Connection, _name: str, _context: Any) -> None:
    """A savepoint rolled back: every row still waiting was added inside it (its start
    wrote out the earlier ones), so none of them is to be written."""
    transaction = conn.get_transaction()
    if transaction is not None:
        _waiting.pop(transaction, None)


async def add(
    conn: AsyncConnection, message_id: int, room_id: int, author_id: int, body: str
) -> None:
    """Index a new message (the send path: on SQLite, at its transaction's commit)."""
    terms = sq.indexed_terms(body, room_id, author_id)
    if _sqlite(conn):
        _rows_at_commit(conn)[message_id] = " ".join(terms)
    else:
        await conn.execute(_PG_INSERT, {"id": message_id, "terms": sq.tsvector(terms)})


async def replace(
    conn: AsyncConnection, message_id: int, room_id: int, author_id: int, body: str
) -> None:
    """Index an edited message by its new text."""
    terms = sq.indexed_terms(body, room_id, author_id)
    if _sqlite(conn):
        await conn.execute(_SQLITE_DELETE, {"id": message_id})
        _rows_at_commit(conn)[message_id] = " ".join(terms)
    else:
        await conn.execute(_PG_REPLACE, {"id": message_id, "terms": sq.tsvector(terms)})


async def remove(conn: AsyncConnection, message_id: int) -> None:
    """Take a deleted message's text out of the index."""
    if _sqlite(conn):
        await conn.execute(_SQLITE_DELETE, {"id": message_id})
        _rows_at_commit(conn).pop(message_id, None)
    else:
        await conn.execute(_PG_DELETE, {"id": message_id})
