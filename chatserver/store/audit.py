"""The audit log: one row per moderator action, written in the action's own transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.models import AuditAction
from chatserver.store.tables import AnyRow, audit_log


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    action: AuditAction
    actor_id: int | None
    room_id: int | None
    target_user_id: int | None
    target_message_id: int | None
    reason: str | None
    details: dict[str, Any] | None
    created_at_ms: int


async def record(
    conn: AsyncConnection,
    action: AuditAction,
    *,
    actor_id: int | None,
    now: int,
    room_id: int | None = None,
    target_user_id: int | None = None,
    target_message_id: int | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an entry. Callers pass no message text: an entry never keeps deleted text.
    `actor_id` is None for what the operator does with the command line."""
    await conn.execute(
        insert(audit_log).values(
            action=action,
            actor_id=actor_id,
            room_id=room_id,
            target_user_id=target_user_id,
            target_message_id=target_message_id,
            reason=reason,
            details=json.dumps(details, separators=(",", ":")) if details else None,
            created_at_ms=now,
        )
    )


async def record_many(
    conn: AsyncConnection,
    action: AuditAction,
    *,
    actor_id: int | None,
    now: int,
    room_id: int,
    target_user_ids: Sequence[int],
) -> None:
    """One entry per target user, in one statement (a bulk add of 500 people)."""
    if not target_user_ids:
        return
    await conn.execute(
        insert(audit_log),
        [
            {
                "action": action,
                "actor_id": actor_id,
                "room_id": room_id,
                "target_user_id": user_id,
                "target_message_id": None,
                "reason": None,
                "details": None,
                "created_at_ms": now,
            }
            for user_id in target_user_ids
        ],
    )


async def page(
    conn: AsyncConnection, *, room_id: int | None, before: int | None, limit: int
) -> list[AuditEntry]:
    """Newest first; `room_id` None reads every room's entries (admins)."""
    stmt = select(audit_log)
    if room_id is not None:
        stmt = stmt.where(audit_log.c.room_id == room_id)
    if before is not None:
        stmt = stmt.where(audit_log.c.id < before)
    stmt = stmt.order_by(audit_log.c.id.desc()).limit(limit)
    return [_from_row(row) for row in await conn.execute(stmt)]


def _from_row(row: AnyRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        action=row.action,
        actor_id=row.actor_id,
        room_id=row.room_id,
        target_user_id=row.target_user_id,
        target_message_id=row.target_message_id,
        reason=row.reason,
        details=json.loads(row.details) if row.details else None,
        created_at_ms=row.created_at_ms,
    )
