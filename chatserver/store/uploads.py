"""Uploads: the rows that say which stored files exist, whose they are, and which message
carries them.

A row is `pending` while its files are written, `ready` once they all are, and `gone`
when its files must go (never attached in time, its message deleted, a write that
failed); the sweep deletes a gone row's files, then the row. So a file in the store
always has a row that leads to it, and nothing is served before it is whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.models import Message, Upload
from chatserver.store.tables import AnyRow, uploads, users

UPLOAD_COLUMNS = (
    uploads.c.id,
    uploads.c.owner_id,
    uploads.c.name,
    uploads.c.content_type,
    uploads.c.size,
    uploads.c.width,
    uploads.c.height,
    uploads.c.file_key,
    uploads.c.thumbnail_key,
    uploads.c.created_at_ms,
    uploads.c.message_id,
)


def _from_row(row: AnyRow) -> Upload:
    return Upload(
        id=row.id,
        owner_id=row.owner_id,
        name=row.name,
        content_type=row.content_type,
        size=row.size,
        width=row.width,
        height=row.height,
        file_key=row.file_key,
        thumbnail_key=row.thumbnail_key,
        created_at_ms=row.created_at_ms,
        message_id=row.message_id,
    )


async def lock_owner(conn: AsyncConnection, owner_id: int) -> None:
    """Hold the owner's row until the transaction ends (PostgreSQL; SQLite's writes are
    serial already), so two uploads at once cannot both pass the quota."""
    if conn.dialect.name == "postgresql":
        await conn.execute(select(users.c.id).where(users.c.id == owner_id).with_for_update())


async def used_bytes(conn: AsyncConnection, owner_id: int) -> int:
    """Bytes the owner's files take (being written, or kept): what the quota counts."""
    total = await conn.scalar(
        select(func.coalesce(func.sum(uploads.c.size), 0)).where(
            uploads.c.owner_id == owner_id, uploads.c.state.in_(("pending", "ready"))
        )
    )
    return int(total or 0)


async def insert_pending(conn: AsyncConnection, upload: Upload) -> Upload:
    """A new row in state `pending`; its files are written after this commits."""
    result = await conn.execute(
        insert(uploads)
        .values(
            owner_id=upload.owner_id,
            name=upload.name,
            content_type=upload.content_type,
            size=upload.size,
            width=upload.width,
            height=upload.height,
            file_key=upload.file_key,
            thumbnail_key=upload.thumbnail_key,
            state="pending",
            created_at_ms=upload.created_at_ms,
        )
        .returning(uploads.c.id)
    )
    return replace(upload, id=int(result.scalar_one()))


async def mark_ready(conn: AsyncConnection, upload_id: int) -> bool:
    """Pending → ready, once its files are stored; False when a sweep gave it up meanwhile."""
    result = await conn.execute(
        update(uploads)
        .where(uploads.c.id == upload_id, uploads.c.state == "pending")
        .values(state="ready")
    )
    return bool(result.rowcount)


async def give_up(conn: AsyncConnection, upload_id: int, now: int) -> None:
    """A row whose files could not all be written: gone, for the sweep to finish."""
    await conn.execute(
        update(uploads).where(uploads.c.id == upload_id).values(state="gone", claimed_at_ms=now)
    )


async def get_ready(conn: AsyncConnection, upload_id: int) -> Upload | None:
    """A ready upload (attached or not); None for an unknown, pending or gone one."""
    row = (
        await conn.execute(
            select(*UPLOAD_COLUMNS).where(uploads.c.id == upload_id, uploads.c.state == "ready")
        )
    ).first()
    return _from_row(row) if row else None


async def get_many(
    conn: AsyncConnection, upload_ids: Sequence[int]
) -> dict[int, tuple[Upload, str]]:
    """Uploads by id with their state, whatever it is."""
    rows = await conn.execute(
        select(*UPLOAD_COLUMNS, uploads.c.state).where(uploads.c.id.in_(set(upload_ids)))
    )
    return {row.id: (_from_row(row), str(row.state)) for row in rows}


async def attach(
    conn: AsyncConnection, owner_id: int, upload_id: int, message_id: int, position: int
) -> bool:
    """Attach the owner's ready, unattached upload to a message; False when it is not
    (any more) one: a concurrent send or the sweep took it first."""
    result = await conn.execute(
        update(uploads)
        .where(
            uploads.c.id == upload_id,
            uploads.c.owner_id == owner_id,
            uploads.c.state == "ready",
            uploads.c.message_id.is_(None),
        )
        .values(message_id=message_id, position=position)
    )
    return bool(result.rowcount)


async def for_messages(
    conn: AsyncConnection, message_ids: Sequence[int]
) -> dict[int, tuple[Upload, ...]]:
    """Each message's ready attachments in the order they were given: one query."""
    if not message_ids:
        return {}
    rows = await conn.execute(
        select(*UPLOAD_COLUMNS)
        .where(uploads.c.message_id.in_(set(message_ids)), uploads.c.state == "ready")
        .order_by(uploads.c.message_id, uploads.c.position)
    )
    found: dict[int, list[Upload]] = {}
    for row in rows:
        found.setdefault(row.message_id, []).append(_from_row(row))
    return {message_id: tuple(files) for message_id, files in found.items()}


async def with_attachments(conn: AsyncConnection, page: list[Message]) -> list[Message]:
    """The page's live messages with their attachments: one query, none for an empty page."""
    live = [m.id for m in page if not m.deleted]
    if not live:
        return page
    found = await for_messages(conn, live)
    if not found:
        return page
    return [replace(m, attachments=found[m.id]) if m.id in found else m for m in page]


async def release_for_message(conn: AsyncConnection, message_id: int, now: int) -> int:
    """A deleted message's files: gone at once (never served again), deleted by the sweep."""
    result = await conn.execute(
        update(uploads)
        .where(uploads.c.message_id == message_id, uploads.c.state != "gone")
        .values(state="gone", claimed_at_ms=None)
    )
    return int(result.rowcount or 0)


def _sweepable(
    now: int, unattached_before: int, pending_before: int, lease_before: int
) -> ColumnElement[bool]:
    return or_(
        and_(
            uploads.c.state == "ready",
            uploads.c.message_id.is_(None),
            uploads.c.created_at_ms < unattached_before,
        ),
        and_(uploads.c.state == "pending", uploads.c.created_at_ms < pending_before),
        and_(
            uploads.c.state == "gone",
            or_(uploads.c.claimed_at_ms.is_(None), uploads.c.claimed_at_ms < lease_before),
        ),
    )


async def sweepable(
    conn: AsyncConnection,
    now: int,
    *,
    unattached_before: int,
    pending_before: int,
    lease_before: int,
    limit: int,
) -> list[int]:
    """Ids of rows whose files should go now: unattached past their time, pending far too
    long (a node died writing them), or gone and not claimed by a sweep still running."""
    condition = _sweepable(now, unattached_before, pending_before, lease_before)
    rows = await conn.execute(
        select(uploads.c.id).where(condition).order_by(uploads.c.id).limit(limit)
    )
    return [row[0] for row in rows]


async def claim(
    conn: AsyncConnection,
    upload_id: int,
    now: int,
    *,
    unattached_before: int,
    pending_before: int,
    lease_before: int,
) -> Upload | None:
    """Claim one sweepable row for this node (a conditional UPDATE: one node wins, and
    an upload attached meanwhile is no longer sweepable); its files are then deleted."""
    condition = _sweepable(now, unattached_before, pending_before, lease_before)
    result = await conn.execute(
        update(uploads)
        .where(uploads.c.id == upload_id, condition)
        .values(state="gone", claimed_at_ms=now)
        .returning(*UPLOAD_COLUMNS)
    )
    row = result.first()
    return _from_row(row) if row else None


async def remove(conn: AsyncConnection, upload_id: int) -> None:
    """The row of a gone upload whose files are deleted."""
    await conn.execute(delete(uploads).where(uploads.c.id == upload_id, uploads.c.state == "gone"))


async def unattached_of(conn: AsyncConnection, owner_id: int, upload_id: int) -> Upload | None:
    row = (
        await conn.execute(
            select(*UPLOAD_COLUMNS).where(
                uploads.c.id == upload_id,
                uploads.c.owner_id == owner_id,
                uploads.c.state == "ready",
                uploads.c.message_id.is_(None),
            )
        )
    ).first()
    return _from_row(row) if row else None


async def discard(conn: AsyncConnection, upload_id: int, now: int) -> bool:
    """The owner drops an unattached upload: gone now, its files deleted next."""
    result = await conn.execute(
        update(uploads)
        .where(
            uploads.c.id == upload_id, uploads.c.state == "ready", uploads.c.message_id.is_(None)
        )
        .values(state="gone", claimed_at_ms=now)
    )
    return bool(result.rowcount)
