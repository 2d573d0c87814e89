"""Counting the SQL statements a piece of code sends to a real database engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@contextmanager
def statements_run(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements sent through `engine` while the block runs, in order.

    Hooked on the cursor (SQLAlchemy's `before_cursor_execute`), so it sees exactly what
    reaches the driver, on SQLite and PostgreSQL alike; the transaction's own BEGIN and
    COMMIT are driver calls, not statements, and are not counted.
    """
    seen: list[str] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
