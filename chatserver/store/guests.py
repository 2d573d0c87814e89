"""Guest accounts: their creation, their upgrade to students, and finding ended ones."""

from __future__ import annotations

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.errors import Conflict
from chatserver.domain.models import User
from chatserver.store.accounts import UNUSABLE_HASH
from chatserver.store.tables import tokens, users
from chatserver.store.unique import insert_unique


async def create(
    conn: AsyncConnection, *, username: str, display_name: str, now: int, expires_at_ms: int
) -> User:
    """A guest row: no password (a hash nothing verifies), an end."""
    result = await insert_unique(
        conn,
        insert(users)
        .values(
            username=username,
            display_name=display_name,
            password_hash=UNUSABLE_HASH,
            role="guest",
            created_at_ms=now,
            expires_at_ms=expires_at_ms,
        )
        .returning(users.c.id),
    )
    if result is None:
        raise Conflict("that guest name was just taken; try again")
    return User(
        id=result.scalar_one(),
        username=username,
        display_name=display_name,
        role="guest",
        expires_at_ms=expires_at_ms,
    )


async def upgrade(
    conn: AsyncConnection, user_id: int, *, username: str, password_hash: str
) -> bool:
    """Turn a live guest into a student under `username`; False when the row is no
    (longer a) guest. A taken username is a Conflict, in a savepoint."""
    statement = (
        update(users)
        .where(
            users.c.id == user_id,
            users.c.role == "guest",
            users.c.deleted_at_ms.is_(None),
        )
        .values(
            username=username,
            password_hash=password_hash,
            role="student",
            expires_at_ms=None,
        )
    )
    result = await insert_unique(conn, statement)
    if result is None:
        raise Conflict(f"the username {username!r} is taken")
    return bool(result.rowcount == 1)


async def extend_tokens(conn: AsyncConnection, user_id: int, expires_at_ms: int) -> None:
    """An upgraded guest's sessions last as long as any student's."""
    await conn.execute(
        update(tokens).where(tokens.c.user_id == user_id).values(expires_at_ms=expires_at_ms)
    )


async def drop_ended_tokens(conn: AsyncConnection, now: int) -> int:
    """Delete the tokens of every guest whose account has ended; how many went."""
    ended = select(users.c.id).where(users.c.role == "guest", users.c.expires_at_ms <= now)
    result = await conn.execute(delete(tokens).where(tokens.c.user_id.in_(ended)))
    return int(result.rowcount or 0)


async def ended_before(conn: AsyncConnection, before: int, limit: int) -> list[int]:
    """Guests whose account ended before `before` and whose data is still there."""
    rows = await conn.execute(
        select(users.c.id)
        .where(
            and_(
                users.c.expires_at_ms <= before,
                users.c.role == "guest",
                users.c.deleted_at_ms.is_(None),
            )
        )
        .order_by(users.c.expires_at_ms)
        .limit(limit)
    )
    return [int(row.id) for row in rows]


async def claim_erasure(conn: AsyncConnection, user_id: int, now: int) -> bool:
    """Mark an ended guest as deleted, unless another node already did: the one whose
    conditional UPDATE changes the row erases it, so each guest is erased once."""
    result = await conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.deleted_at_ms.is_(None), users.c.role == "guest")
        .values(deleted_at_ms=now)
    )
    return bool(result.rowcount == 1)
