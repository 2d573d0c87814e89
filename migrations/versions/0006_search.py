"""full-text search of messages: FTS5 on SQLite, a tsvector index on PostgreSQL

Neither table is described in `chatserver/store/tables.py` (SQLAlchemy cannot describe
an FTS5 table): see `chatserver/store/search_index.py`. Existing messages are indexed
here, with the same normalisation as the send path.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chatserver.domain import search_query as sq

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        op.execute(
            "CREATE VIRTUAL TABLE message_search USING fts5("
            "terms, tokenize = 'ascii', detail = 'none')"
        )
        insert = sa.text("INSERT INTO message_search (rowid, terms) VALUES (:id, :terms)")
    else:
        op.execute(
            "CREATE TABLE message_search ("
            "message_id BIGINT NOT NULL PRIMARY KEY "
            "REFERENCES messages (id) ON DELETE CASCADE, "
            "terms tsvector NOT NULL)"
        )
        op.execute("CREATE INDEX ix_message_search_terms ON message_search USING gin (terms)")
        # Ten times the default sample: the planner then knows rare words are rare, and
        # reads them from the GIN index instead of walking every message backwards.
        op.execute("ALTER TABLE message_search ALTER COLUMN terms SET STATISTICS 1000")
        insert = sa.text(
            "INSERT INTO message_search (message_id, terms) VALUES (:id, CAST(:terms AS tsvector))"
        )
    page = sa.text(
        "SELECT id, room_id, author_id, body FROM messages "
        "WHERE deleted = :deleted AND id > :after ORDER BY id LIMIT :n"
    )
    after = 0
    while True:
        rows = bind.execute(page, {"deleted": False, "after": after, "n": BATCH}).all()
        if not rows:
            break
        params = []
        for message_id, room_id, author_id, body in rows:
            terms = sq.indexed_terms(body, room_id, author_id)
            params.append(
                {"id": message_id, "terms": " ".join(terms) if sqlite else sq.tsvector(terms)}
            )
        bind.execute(insert, params)
        after = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP INDEX ix_message_search_terms")
    op.execute("DROP TABLE message_search")
