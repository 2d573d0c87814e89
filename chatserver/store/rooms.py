"""Rooms, memberships, read markers and each room's sequence counter."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.errors import Conflict
from chatserver.domain.models import Level, Membership, Room, RoomKind, Visibility
from chatserver.store.tables import AnyRow, messages, room_members, rooms
from chatserver.store.unique import insert_unique

ROOM_COLUMNS = (
    rooms.c.id,
    rooms.c.slug,
    rooms.c.name,
    rooms.c.kind,
    rooms.c.visibility,
    rooms.c.topic,
    rooms.c.member_count,
    rooms.c.last_seq,
    rooms.c.created_by,
)


def room_from_row(row: AnyRow) -> Room:
    """A Room from a row that selected ROOM_COLUMNS (among others), by column name."""
    return Room(
        id=row.id,
        slug=row.slug,
        name=row.name,
        kind=row.kind,
        visibility=row.visibility,
        topic=row.topic,
        member_count=row.member_count,
        last_seq=row.last_seq,
        created_by=row.created_by,
    )


async def create_room(
    conn: AsyncConnection,
    *,
    slug: str,
    name: str,
    kind: RoomKind,
    visibility: Visibility,
    topic: str | None,
    created_by: int | None,
    now: int,
) -> int:
    result = await insert_unique(
        conn,
        insert(rooms)
        .values(
            slug=slug,
            name=name,
            kind=kind,
            visibility=visibility,
            topic=topic,
            created_by=created_by,
            created_at_ms=now,
        )
        .returning(rooms.c.id),
    )
    if result is None:
        raise Conflict(f"the room slug {slug!r} is taken")
    return int(result.scalar_one())


async def get_room(conn: AsyncConnection, room_id: int) -> Room | None:
    row = (await conn.execute(select(*ROOM_COLUMNS).where(rooms.c.id == room_id))).first()
    return room_from_row(row) if row else None


# The statements every message send runs are built once: constructing a statement
# and its cache key costs more than executing it (about 60 of 100 µs on SQLite).
_ROOM_WITH_SEAT = (
    select(*ROOM_COLUMNS, room_members.c.last_read_seq, room_members.c.notify_level)
    .outerjoin(
        room_members,
        and_(
            room_members.c.room_id == rooms.c.id,
            room_members.c.user_id == bindparam("user_id"),
        ),
    )
    .where(rooms.c.id == bindparam("room_id"))
)
_NEXT_SEQ = (
    update(rooms)
    .where(rooms.c.id == bindparam("room_id"))
    .values(last_seq=rooms.c.last_seq + 1)
    .returning(rooms.c.last_seq)
)
_MOVE_READ_MARKER = (
    update(room_members)
    .where(
        room_members.c.room_id == bindparam("b_room_id"),
        room_members.c.user_id == bindparam("b_user_id"),
        room_members.c.last_read_seq < bindparam("b_seq"),
    )
    .values(last_read_seq=bindparam("b_seq"))
)
_MEMBER_IDS = select(room_members.c.user_id).where(room_members.c.room_id == bindparam("room_id"))
_MEMBERS_AMONG = select(room_members.c.user_id).where(
    room_members.c.room_id == bindparam("room_id"),
    room_members.c.user_id.in_(bindparam("ids", expanding=True)),
)
_OVERRIDES = select(room_members.c.user_id, room_members.c.notify_level).where(
    room_members.c.room_id == bindparam("room_id"), room_members.c.notify_level.is_not(None)
)


async def room_with_membership(
    conn: AsyncConnection, room_id: int, user_id: int
) -> tuple[Room, Membership | None] | None:
    """The room and the user's seat in it, in one query (every send and reaction asks)."""
    row = (await conn.execute(_ROOM_WITH_SEAT, {"room_id": room_id, "user_id": user_id})).first()
    if row is None:
        return None
    room = room_from_row(row)
    if row.last_read_seq is None:
        return room, None
    return room, Membership(room_id, user_id, row.last_read_seq, row.notify_level)


async def get_room_by_slug(conn: AsyncConnection, slug: str) -> Room | None:
    row = (await conn.execute(select(*ROOM_COLUMNS).where(rooms.c.slug == slug))).first()
    return room_from_row(row) if row else None


async def list_rooms(
    conn: AsyncConnection, user_id: int, kind: str | None, query: str | None, limit: int
) -> list[tuple[Room, bool]]:
    """Public rooms and the caller's rooms, each with whether the caller has joined."""
    joined = (
        select(room_members.c.room_id).where(room_members.c.user_id == user_id).scalar_subquery()
    )
    stmt = select(*ROOM_COLUMNS, rooms.c.id.in_(joined).label("joined")).where(
        or_(rooms.c.visibility == "public", rooms.c.id.in_(joined))
    )
    if kind:
        stmt = stmt.where(rooms.c.kind == kind)
    if query:
        pattern = (
            "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        stmt = stmt.where(
            or_(
                func.lower(rooms.c.name).like(pattern, escape="\\"),
                rooms.c.slug.like(pattern, escape="\\"),
                func.lower(func.coalesce(rooms.c.topic, "")).like(pattern, escape="\\"),
            )
        )
    stmt = stmt.order_by(rooms.c.member_count.desc(), rooms.c.id).limit(limit)
    return [(room_from_row(row), bool(row.joined)) for row in await conn.execute(stmt)]


async def get_membership(conn: AsyncConnection, room_id: int, user_id: int) -> Membership | None:
    row = (
        await conn.execute(
            select(room_members.c.last_read_seq, room_members.c.notify_level).where(
                room_members.c.room_id == room_id, room_members.c.user_id == user_id
            )
        )
    ).first()
    if row is None:
        return None
    return Membership(room_id, user_id, row[0], row[1])


async def add_member(conn: AsyncConnection, room_id: int, user_id: int, now: int) -> bool:
    """Add a member; False when they already were one (nothing changes then)."""
    seat = insert(room_members).values(
        room_id=room_id, user_id=user_id, joined_at_ms=now, last_read_seq=0
    )
    if await insert_unique(conn, seat) is None:
        return False
    await conn.execute(
        update(rooms).where(rooms.c.id == room_id).values(member_count=rooms.c.member_count + 1)
    )
    return True


async def remove_member(conn: AsyncConnection, room_id: int, user_id: int) -> bool:
    result = await conn.execute(
        delete(room_members).where(
            room_members.c.room_id == room_id, room_members.c.user_id == user_id
        )
    )
    if result.rowcount == 0:
        return False
    await conn.execute(
        update(rooms).where(rooms.c.id == room_id).values(member_count=rooms.c.member_count - 1)
    )
    return True


async def next_seq(conn: AsyncConnection, room_id: int) -> int:
    """Take the room's next sequence number inside the caller's transaction.

    The UPDATE holds the row lock until commit, so concurrent writers of one room
    get consecutive numbers and a rolled-back write leaves no gap.
    """
    result = await conn.execute(_NEXT_SEQ, {"room_id": room_id})
    return int(result.scalar_one())


async def last_seqs(conn: AsyncConnection, room_ids: Iterable[int]) -> dict[int, int]:
    ids = list(room_ids)
    if not ids:
        return {}
    rows = await conn.execute(select(rooms.c.id, rooms.c.last_seq).where(rooms.c.id.in_(ids)))
    return {row[0]: row[1] for row in rows}


async def user_rooms(conn: AsyncConnection, user_id: int) -> list[tuple[Room, Membership]]:
    rows = await conn.execute(
        select(*ROOM_COLUMNS, room_members.c.last_read_seq, room_members.c.notify_level)
        .join(room_members, room_members.c.room_id == rooms.c.id)
        .where(room_members.c.user_id == user_id)
        .order_by(rooms.c.id)
    )
    out = []
    for row in rows:
        room = room_from_row(row)
        out.append((room, Membership(room.id, user_id, row.last_read_seq, row.notify_level)))
    return out


async def unread_counts(conn: AsyncConnection, user_id: int) -> dict[int, int]:
    """Messages by others above the read marker, per room, in one grouped query."""
    rows = await conn.execute(
        select(messages.c.room_id, func.count())
        .select_from(
            messages.join(
                room_members,
                and_(
                    room_members.c.room_id == messages.c.room_id,
                    room_members.c.user_id == user_id,
                ),
            )
        )
        .where(
            messages.c.seq > room_members.c.last_read_seq,
            messages.c.author_id != user_id,
            messages.c.deleted.is_(False),
        )
        .group_by(messages.c.room_id)
    )
    return {row[0]: int(row[1]) for row in rows}


async def move_read_marker(conn: AsyncConnection, room_id: int, user_id: int, seq: int) -> None:
    """Move the marker forward only: a late or replayed `read` never un-reads messages."""
    # Update statements may not name their parameters after the table's columns.
    params = {"b_room_id": room_id, "b_user_id": user_id, "b_seq": seq}
    await conn.execute(_MOVE_READ_MARKER, params)


async def set_notify_level(
    conn: AsyncConnection, room_id: int, user_id: int, level: Level | None
) -> bool:
    result = await conn.execute(
        update(room_members)
        .where(room_members.c.room_id == room_id, room_members.c.user_id == user_id)
        .values(notify_level=level)
    )
    return result.rowcount > 0


async def member_ids(conn: AsyncConnection, room_id: int) -> list[int]:
    rows = await conn.execute(_MEMBER_IDS, {"room_id": room_id})
    return [row[0] for row in rows]


async def members_among(conn: AsyncConnection, room_id: int, user_ids: Iterable[int]) -> set[int]:
    ids = list(set(user_ids))
    if not ids:
        return set()
    rows = await conn.execute(_MEMBERS_AMONG, {"room_id": room_id, "ids": ids})
    return {row[0] for row in rows}


async def overrides(conn: AsyncConnection, room_id: int) -> dict[int, Level]:
    """Members of the room with a per-room notification override (the small set)."""
    rows = await conn.execute(_OVERRIDES, {"room_id": room_id})
    return {row[0]: row[1] for row in rows}


async def user_overrides(conn: AsyncConnection, user_id: int) -> dict[int, Level]:
    rows = await conn.execute(
        select(room_members.c.room_id, room_members.c.notify_level).where(
            room_members.c.user_id == user_id, room_members.c.notify_level.is_not(None)
        )
    )
    return {row[0]: row[1] for row in rows}
