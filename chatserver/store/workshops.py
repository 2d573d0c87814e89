"""Workshops: when each one runs, the settings to give back, and the summary kept at its end."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.store.tables import AnyRow, workshops


@dataclass(frozen=True, slots=True)
class Workshop:
    id: int
    room_id: int
    started_by: int | None
    started_at_ms: int
    ends_at_ms: int
    ended_at_ms: int | None
    prev_slow_mode: int
    prev_guests_allowed: bool
    summary: dict[str, Any] | None
    summary_message_id: int | None


def _from_row(row: AnyRow) -> Workshop:
    return Workshop(
        id=row.id,
        room_id=row.room_id,
        started_by=row.started_by,
        started_at_ms=row.started_at_ms,
        ends_at_ms=row.ends_at_ms,
        ended_at_ms=row.ended_at_ms,
        prev_slow_mode=row.prev_slow_mode,
        prev_guests_allowed=bool(row.prev_guests_allowed),
        summary=json.loads(row.summary) if row.summary else None,
        summary_message_id=row.summary_message_id,
    )


async def start(
    conn: AsyncConnection,
    *,
    room_id: int,
    started_by: int,
    now: int,
    ends_at_ms: int,
    prev_slow_mode: int,
    prev_guests_allowed: bool,
) -> None:
    await conn.execute(
        insert(workshops).values(
            room_id=room_id,
            started_by=started_by,
            started_at_ms=now,
            ends_at_ms=ends_at_ms,
            prev_slow_mode=prev_slow_mode,
            prev_guests_allowed=prev_guests_allowed,
        )
    )


async def running(conn: AsyncConnection, room_id: int) -> Workshop | None:
    """The room's workshop that has not ended yet, if any."""
    row = (
        await conn.execute(
            select(workshops).where(
                workshops.c.room_id == room_id, workshops.c.ended_at_ms.is_(None)
            )
        )
    ).first()
    return _from_row(row) if row else None


async def latest_ended(conn: AsyncConnection, room_id: int) -> Workshop | None:
    row = (
        await conn.execute(
            select(workshops)
            .where(workshops.c.room_id == room_id, workshops.c.ended_at_ms.is_not(None))
            .order_by(workshops.c.id.desc())
            .limit(1)
        )
    ).first()
    return _from_row(row) if row else None


async def due(conn: AsyncConnection, now: int, limit: int) -> list[int]:
    """Ids of workshops past their end that nobody has ended yet."""
    rows = await conn.execute(
        select(workshops.c.id)
        .where(workshops.c.ended_at_ms.is_(None), workshops.c.ends_at_ms <= now)
        .order_by(workshops.c.ends_at_ms)
        .limit(limit)
    )
    return [row[0] for row in rows]


async def claim_end(conn: AsyncConnection, workshop_id: int, now: int) -> Workshop | None:
    """End the workshop, if nobody did: the conditional UPDATE lets exactly one caller
    (of every node) through, who then gives the settings back and posts the summary."""
    result = await conn.execute(
        update(workshops)
        .where(workshops.c.id == workshop_id, workshops.c.ended_at_ms.is_(None))
        .values(ended_at_ms=now)
    )
    if not result.rowcount:
        return None
    row = (await conn.execute(select(workshops).where(workshops.c.id == workshop_id))).one()
    return _from_row(row)


async def keep_summary(
    conn: AsyncConnection, workshop_id: int, summary: dict[str, Any], message_id: int | None
) -> None:
    await conn.execute(
        update(workshops)
        .where(workshops.c.id == workshop_id)
        .values(summary=json.dumps(summary), summary_message_id=message_id)
    )
