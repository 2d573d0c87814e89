"""Notification inbox rows, per-room levels, and the small member sets the filter reads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Subquery,
    and_,
    bindparam,
    delete,
    insert,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.models import Level, Reason
from chatserver.store.tables import messages, notifications, room_members, rooms, users

# Built once: every message send runs them (see store/rooms.py).
# Written as EXISTS so the planner walks the few users with a non-default default and
# probes each one's seat, rather than walking the room's thousands of seats.
_WITH_DEFAULT = select(users.c.id).where(
    users.c.notify_default.in_(bindparam("levels", expanding=True)),
    select(room_members.c.user_id)
    .where(
        room_members.c.room_id == bindparam("room_id"),
        room_members.c.user_id == users.c.id,
        room_members.c.notify_level.is_(None),
    )
    .exists(),
)
_DEFAULTS_OF = select(users.c.id, users.c.notify_default).where(
    users.c.id.in_(bindparam("ids", expanding=True))
)
_INSERT = insert(notifications).returning(notifications.c.id, sort_by_parameter_order=True)


async def members_with_default(
    conn: AsyncConnection, room_id: int, levels: Sequence[Level]
) -> set[int]:
    """Members without a room override whose default level is one of `levels`.

    Driven from the (small, indexed) set of users with a non-default default,
    not from the room's member list.
    """
    rows = await conn.execute(_WITH_DEFAULT, {"room_id": room_id, "levels": list(levels)})
    return {row[0] for row in rows}


async def defaults_of(conn: AsyncConnection, user_ids: Sequence[int]) -> dict[int, Level]:
    if not user_ids:
        return {}
    rows = await conn.execute(_DEFAULTS_OF, {"ids": list(user_ids)})
    return {row[0]: row[1] for row in rows}


async def insert_many(
    conn: AsyncConnection,
    rows: Sequence[tuple[int, Reason]],
    message_id: int,
    room_id: int,
    now: int,
) -> list[tuple[int, int, Reason]]:
    """Insert one row per (user, reason), in one statement (an `@room` in a large room
    alerts thousands); returns (notification id, user id, reason) in the given order."""
    if not rows:
        return []
    params = [
        {
            "user_id": user_id,
            "message_id": message_id,
            "room_id": room_id,
            "reason": reason,
            "created_at_ms": now,
            "read": False,
        }
        for user_id, reason in rows
    ]
    result = await conn.execute(_INSERT, params)
    ids = [int(row[0]) for row in result]
    return [(new_id, user_id, reason) for new_id, (user_id, reason) in zip(ids, rows, strict=True)]


def room_visible(user_id: int | BindParameter[Any]) -> ColumnElement[bool]:
    """The notification's room still exists for the user: public, or they are a member.

    A private room one has left does not exist for one (PROTOCOL), nor do its alerts.
    A `report` alert is about no room's stream: staff see it whatever the room, and
    only while they are staff.
    """
    is_report = notifications.c.reason == "report"
    is_staff = (
        select(users.c.id)
        .where(users.c.id == user_id, users.c.role.in_(("mentor", "admin")))
        .exists()
    )
    in_room = or_(
        notifications.c.room_id.in_(
            select(room_members.c.room_id).where(room_members.c.user_id == user_id)
        ),
        notifications.c.room_id.in_(select(rooms.c.id).where(rooms.c.visibility == "public")),
    )
    return or_(and_(is_report, is_staff), and_(~is_report, in_room))


async def list_for_user(
    conn: AsyncConnection, user_id: int, unread_only: bool, limit: int
) -> list[tuple[int, int, Reason, int, bool]]:
    """(id, message id, reason, created_at_ms, read), newest first.

    The index is (user_id, read, id): it yields the newest unread, or the newest read,
    in order, but not both interleaved. Without `unread_only` the newest `limit` of
    each are therefore taken and merged, rather than sorting every notification the
    user ever had (a temporary B-tree of 100,000 rows takes ~50 ms, on the loop).
    """
    page = [_newest(user_id, read=False, limit=limit)]
    if not unread_only:
        page.append(_newest(user_id, read=True, limit=limit))
    merged = union_all(*(select(part) for part in page)).subquery()
    rows = await conn.execute(select(merged).order_by(merged.c.id.desc()).limit(limit))
    return [(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]


def _newest(user_id: int, *, read: bool, limit: int) -> Subquery:
    """The user's newest `limit` visible notifications that are read (or unread)."""
    return (
        select(
            notifications.c.id,
            notifications.c.message_id,
            notifications.c.reason,
            notifications.c.created_at_ms,
            notifications.c.read,
        )
        .where(
            notifications.c.user_id == user_id,
            notifications.c.read.is_(read),
            room_visible(user_id),
        )
        .order_by(notifications.c.id.desc())
        .limit(limit)
        .subquery()
    )


async def joined_among(conn: AsyncConnection, user_id: int, room_ids: Iterable[int]) -> set[int]:
    """Those of `room_ids` the user is a member of, in one query."""
    ids = list(set(room_ids))
    if not ids:
        return set()
    rows = await conn.execute(
        select(room_members.c.room_id).where(
            room_members.c.user_id == user_id, room_members.c.room_id.in_(ids)
        )
    )
    return {row[0] for row in rows}


async def set_levels(
    conn: AsyncConnection, user_id: int, levels: Mapping[int, Level | None]
) -> None:
    """Set the user's level in each room (None: back to their default), one statement per
    distinct level rather than one per room: a settings page may change hundreds."""
    by_level: dict[Level | None, list[int]] = defaultdict(list)
    for room_id, level in levels.items():
        by_level[level].append(room_id)
    for level, room_ids in by_level.items():
        await conn.execute(
            update(room_members)
            .where(room_members.c.user_id == user_id, room_members.c.room_id.in_(room_ids))
            .values(notify_level=level)
        )


async def mark_read(conn: AsyncConnection, user_id: int, ids: Sequence[int] | None) -> None:
    stmt = update(notifications).where(
        notifications.c.user_id == user_id, notifications.c.read.is_(False)
    )
    if ids is not None:
        stmt = stmt.where(notifications.c.id.in_(list(ids)))
    await conn.execute(stmt.values(read=True))


async def mark_room_read(conn: AsyncConnection, user_id: int, room_id: int, seq: int) -> None:
    """Reading a room up to `seq` also reads the notifications it raised up to there."""
    read_messages = select(messages.c.id).where(
        messages.c.room_id == room_id, messages.c.seq <= seq
    )
    await conn.execute(
        update(notifications)
        .where(
            notifications.c.user_id == user_id,
            notifications.c.room_id == room_id,
            notifications.c.read.is_(False),
            notifications.c.message_id.in_(read_messages),
        )
        .values(read=True)
    )


async def delete_reports_for_message(conn: AsyncConnection, message_id: int) -> None:
    """Remove the `report` alerts about a message whose reports are all resolved."""
    await conn.execute(
        delete(notifications).where(
            notifications.c.message_id == message_id, notifications.c.reason == "report"
        )
    )


async def delete_for_message(conn: AsyncConnection, message_id: int) -> list[int]:
    """Remove a deleted message's notifications; returns the users who had one."""
    rows = await conn.execute(
        select(notifications.c.user_id).where(notifications.c.message_id == message_id)
    )
    owners = [row[0] for row in rows]
    await conn.execute(delete(notifications).where(notifications.c.message_id == message_id))
    return owners
