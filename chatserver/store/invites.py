"""Invites: stored and found by their code's hash, their uses counted by one conditional UPDATE."""

from __future__ import annotations

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.invites import Invite, InviteRole
from chatserver.store.tables import AnyRow, invites, rooms

LIST_LIMIT = 500
"""Invites a room's list shows, newest first: enough for any poster campaign."""


def _from_row(row: AnyRow) -> Invite:
    return Invite(
        id=row.id,
        code=row.code,
        room_id=row.room_id,
        role=row.role,
        max_uses=row.max_uses,
        uses=row.uses,
        expires_at_ms=row.expires_at_ms,
        revoked=bool(row.revoked),
        created_by=row.created_by,
        created_at_ms=row.created_at_ms,
    )


async def create(
    conn: AsyncConnection,
    *,
    code: str,
    code_hash: str,
    room_id: int,
    role: InviteRole,
    max_uses: int | None,
    expires_at_ms: int,
    created_by: int | None,
    now: int,
) -> Invite:
    result = await conn.execute(
        insert(invites)
        .values(
            code=code,
            code_hash=code_hash,
            room_id=room_id,
            role=role,
            max_uses=max_uses,
            uses=0,
            expires_at_ms=expires_at_ms,
            revoked=False,
            created_by=created_by,
            created_at_ms=now,
        )
        .returning(invites)
    )
    return _from_row(result.one())


async def find(conn: AsyncConnection, code_hash: str) -> Invite | None:
    row = (await conn.execute(select(invites).where(invites.c.code_hash == code_hash))).first()
    return _from_row(row) if row else None


async def of_room(conn: AsyncConnection, room_id: int) -> list[Invite]:
    rows = await conn.execute(
        select(invites)
        .where(invites.c.room_id == room_id)
        .order_by(invites.c.id.desc())
        .limit(LIST_LIMIT)
    )
    return [_from_row(row) for row in rows]


async def revoke(conn: AsyncConnection, invite_id: int) -> bool:
    """Revoke; False when it already was (nothing changes then)."""
    result = await conn.execute(
        update(invites)
        .where(invites.c.id == invite_id, invites.c.revoked.is_(False))
        .values(revoked=True)
    )
    return result.rowcount > 0


async def take_use(conn: AsyncConnection, invite_id: int, now: int) -> bool:
    """Count one use if the invite still admits someone; False when it does not.

    The condition is checked by the UPDATE itself, which holds the invite's row lock
    until the caller's transaction ends: of concurrent accepts racing for the last use,
    PostgreSQL re-checks the others' condition once the first commits, and SQLite runs
    writers one at a time, so a use is never counted twice nor past `max_uses`.
    """
    result = await conn.execute(
        update(invites)
        .where(
            invites.c.id == invite_id,
            invites.c.revoked.is_(False),
            invites.c.expires_at_ms > now,
            or_(invites.c.max_uses.is_(None), invites.c.uses < invites.c.max_uses),
        )
        .values(uses=invites.c.uses + 1)
    )
    return result.rowcount > 0


async def lock_room(conn: AsyncConnection, room_id: int) -> None:
    """Hold the room's row until the transaction ends, so that whether the user is
    already a member is decided once per room at a time (PostgreSQL; SQLite writes one
    transaction at a time anyway)."""
    await conn.execute(select(rooms.c.id).where(rooms.c.id == room_id).with_for_update())
