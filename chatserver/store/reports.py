"""Reports of messages: filed with a snapshot, listed for staff, resolved (snapshot cleared)."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.models import Report, ReportAction, ReportState, Room
from chatserver.store.rooms import ROOM_COLUMNS, room_from_row, with_pins
from chatserver.store.tables import AnyRow, reports, rooms, users


def _from_row(row: AnyRow) -> Report:
    return Report(
        id=row.id,
        message_id=row.message_id,
        room_id=row.room_id,
        reporter_id=row.reporter_id,
        reason=row.reason,
        state=row.state,
        snapshot=row.snapshot,
        action=row.action,
        resolved_by=row.resolved_by,
        resolved_at_ms=row.resolved_at_ms,
        created_at_ms=row.created_at_ms,
    )


async def file(
    conn: AsyncConnection,
    *,
    message_id: int,
    room_id: int,
    reporter_id: int,
    reason: str,
    snapshot: str,
    now: int,
) -> int:
    result = await conn.execute(
        insert(reports)
        .values(
            message_id=message_id,
            room_id=room_id,
            reporter_id=reporter_id,
            reason=reason,
            state="open",
            snapshot=snapshot,
            created_at_ms=now,
        )
        .returning(reports.c.id)
    )
    return int(result.scalar_one())


async def open_by(conn: AsyncConnection, message_id: int, reporter_id: int) -> int | None:
    """The reporter's open report of the message, if they already filed one."""
    found: int | None = (
        await conn.execute(
            select(reports.c.id).where(
                reports.c.message_id == message_id,
                reports.c.reporter_id == reporter_id,
                reports.c.state == "open",
            )
        )
    ).scalar_one_or_none()
    return found


async def get(conn: AsyncConnection, report_id: int) -> Report | None:
    row = (await conn.execute(select(reports).where(reports.c.id == report_id))).first()
    return _from_row(row) if row else None


async def page(
    conn: AsyncConnection, state: ReportState, before: int | None, limit: int
) -> list[Report]:
    """Reports in `state`, newest first, below the id `before` when given."""
    stmt = select(reports).where(reports.c.state == state)
    if before is not None:
        stmt = stmt.where(reports.c.id < before)
    stmt = stmt.order_by(reports.c.id.desc()).limit(limit)
    return [_from_row(row) for row in await conn.execute(stmt)]


async def rooms_of(conn: AsyncConnection, found: list[Report]) -> dict[int, Room]:
    """The rooms of a page of reports, pins included, in two queries however many."""
    ids = list({report.room_id for report in found})
    if not ids:
        return {}
    rows = await conn.execute(select(*ROOM_COLUMNS).where(rooms.c.id.in_(ids)))
    return {room.id: room for room in await with_pins(conn, [room_from_row(r) for r in rows])}


async def resolve(
    conn: AsyncConnection, report_id: int, action: ReportAction, by: int, now: int
) -> bool:
    """Close an open report and forget its snapshot; False if it was not open."""
    result = await conn.execute(
        update(reports)
        .where(reports.c.id == report_id, reports.c.state == "open")
        .values(state="resolved", action=action, resolved_by=by, resolved_at_ms=now, snapshot=None)
    )
    return bool(result.rowcount)


async def resolve_for_message(
    conn: AsyncConnection, message_id: int, by: int, now: int
) -> list[int]:
    """Close every open report of a message a moderator deleted (their snapshots hold its
    text); returns their ids."""
    rows = await conn.execute(
        select(reports.c.id).where(reports.c.message_id == message_id, reports.c.state == "open")
    )
    ids = [row[0] for row in rows]
    if ids:
        await conn.execute(
            update(reports)
            .where(reports.c.id.in_(ids))
            .values(
                state="resolved", action="delete", resolved_by=by, resolved_at_ms=now, snapshot=None
            )
        )
    return ids


async def any_open_for_message(conn: AsyncConnection, message_id: int) -> bool:
    row = (
        await conn.execute(
            select(reports.c.id)
            .where(reports.c.message_id == message_id, reports.c.state == "open")
            .limit(1)
        )
    ).first()
    return row is not None


async def staff_ids(conn: AsyncConnection) -> list[int]:
    """Mentors and admins whose accounts are in use: who a report alerts."""
    rows = await conn.execute(
        select(users.c.id).where(
            users.c.role.in_(("mentor", "admin")),
            users.c.deactivated_at_ms.is_(None),
            users.c.deleted_at_ms.is_(None),
        )
    )
    return [row[0] for row in rows]
