"""Inserts that a unique constraint may refuse, without aborting the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Executable
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_unique(conn: AsyncConnection, statement: Executable) -> CursorResult[Any] | None:
    """Run `statement`; None when a unique (or other integrity) constraint refused it.

    The insert runs in a savepoint, so a refusal rolls back only itself: PostgreSQL
    would otherwise abort the whole transaction, and the caller usually goes on (an
    idempotent add, or a `Conflict` for the client).
    """
    try:
        async with conn.begin_nested():
            return await conn.execute(statement)
    except IntegrityError:
        return None
