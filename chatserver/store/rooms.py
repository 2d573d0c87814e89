"""Rooms and their settings, memberships (read markers, room roles, mutes, slow mode),
bans, and each room's sequence counter."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.errors import Conflict
from chatserver.domain.models import Level, Membership, Room, RoomKind, RoomRole, Visibility
from chatserver.store.driver import Prepared
from chatserver.store.tables import AnyRow, messages, room_bans, room_members, rooms
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
    rooms.c.posting,
    rooms.c.slow_mode,
    rooms.c.guests_allowed,
    rooms.c.archived,
    rooms.c.workshop_ends_ms,
)
SEAT_COLUMNS = (
    room_members.c.last_read_seq,
    room_members.c.notify_level,
    room_members.c.room_role,
    room_members.c.muted_until_ms,
    room_members.c.last_post_ms,
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
        posting=row.posting,
        slow_mode=row.slow_mode,
        guests_allowed=bool(row.guests_allowed),
        archived=bool(row.archived),
        workshop_ends_ms=row.workshop_ends_ms,
    )


def seat_from_row(row: AnyRow, room_id: int, user_id: int) -> Membership:
    """A Membership from a row that selected SEAT_COLUMNS."""
    return Membership(
        room_id,
        user_id,
        row.last_read_seq,
        row.notify_level,
        row.room_role,
        row.muted_until_ms,
        row.last_post_ms,
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
    """The room with its pins, as clients see it."""
    row = (await conn.execute(select(*ROOM_COLUMNS).where(rooms.c.id == room_id))).first()
    return (await with_pins(conn, [room_from_row(row)]))[0] if row else None


_PINS = Prepared(
    select(messages.c.room_id, messages.c.id)
    .where(
        messages.c.room_id.in_(bindparam("rooms", expanding=True)),
        messages.c.pinned_at_ms.is_not(None),
    )
    .order_by(messages.c.pinned_at_ms, messages.c.id),
    lists=("rooms",),
)


async def pins_of(conn: AsyncConnection, room_ids: list[int]) -> dict[int, tuple[int, ...]]:
    """The pinned message ids of those of the rooms that have any, oldest pin first, in
    one query (the pins index answers it)."""
    if not room_ids:
        return {}
    pins: dict[int, list[int]] = {}
    for room_id, message_id in await _PINS.rows(conn, rooms=room_ids):
        pins.setdefault(room_id, []).append(message_id)
    return {room_id: tuple(ids) for room_id, ids in pins.items()}


async def with_pins(conn: AsyncConnection, found: Sequence[Room]) -> list[Room]:
    """The rooms with `pinned` filled (`pins_of`)."""
    pins = await pins_of(conn, [r.id for r in found])
    return [
        dataclasses.replace(room, pinned=pins[room.id]) if room.id in pins else room
        for room in found
    ]


# The statements every message send runs are built once: constructing a statement
# and its cache key costs more than executing it (about 60 of 100 µs on SQLite).
_ROOM_WITH_SEAT = (
    select(*ROOM_COLUMNS, *SEAT_COLUMNS)
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
    """The room and the user's seat in it (role, mute, last post), in one query: every
    send, reaction and typing asks, so it stays one query. `pinned` is left empty here
    (see `with_pins`)."""
    row = (await conn.execute(_ROOM_WITH_SEAT, {"room_id": room_id, "user_id": user_id})).first()
    if row is None:
        return None
    room = room_from_row(row)
    if row.last_read_seq is None:
        return room, None
    return room, seat_from_row(row, room_id, user_id)


async def get_room_by_slug(conn: AsyncConnection, slug: str) -> Room | None:
    row = (await conn.execute(select(*ROOM_COLUMNS).where(rooms.c.slug == slug))).first()
    return room_from_row(row) if row else None


async def list_rooms(
    conn: AsyncConnection,
    user_id: int,
    kind: str | None,
    query: str | None,
    limit: int,
    *,
    every: bool = False,
) -> list[tuple[Room, bool]]:
    """Public rooms that are not archived and the caller's rooms, each with whether the
    caller has joined; with `every` (the admins' door), every room but DMs."""
    joined = (
        select(room_members.c.room_id).where(room_members.c.user_id == user_id).scalar_subquery()
    )
    stmt = select(*ROOM_COLUMNS, rooms.c.id.in_(joined).label("joined")).where(
        rooms.c.kind != "dm"
        if every
        else or_(
            and_(rooms.c.visibility == "public", rooms.c.archived.is_(False)),
            rooms.c.id.in_(joined),
        )
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
    rows = [(room_from_row(row), bool(row.joined)) for row in await conn.execute(stmt)]
    filled = await with_pins(conn, [room for room, _ in rows])
    return [(room, joined) for room, (_, joined) in zip(filled, rows, strict=True)]


async def get_membership(conn: AsyncConnection, room_id: int, user_id: int) -> Membership | None:
    row = (
        await conn.execute(
            select(*SEAT_COLUMNS).where(
                room_members.c.room_id == room_id, room_members.c.user_id == user_id
            )
        )
    ).first()
    if row is None:
        return None
    return seat_from_row(row, room_id, user_id)


async def seats(conn: AsyncConnection, room_id: int) -> dict[int, Membership]:
    """Every member's seat in the room, by user id (the members list)."""
    rows = await conn.execute(
        select(room_members.c.user_id, *SEAT_COLUMNS).where(room_members.c.room_id == room_id)
    )
    return {row.user_id: seat_from_row(row, room_id, row.user_id) for row in rows}


async def add_member(
    conn: AsyncConnection, room_id: int, user_id: int, now: int, role: RoomRole = "member"
) -> bool:
    """Add a member; False when they already were one (nothing changes then)."""
    seat = insert(room_members).values(
        room_id=room_id, user_id=user_id, joined_at_ms=now, last_read_seq=0, room_role=role
    )
    if await insert_unique(conn, seat) is None:
        return False
    await conn.execute(
        update(rooms).where(rooms.c.id == room_id).values(member_count=rooms.c.member_count + 1)
    )
    return True


async def add_members(
    conn: AsyncConnection, room_id: int, read_upto: Mapping[int, int], now: int
) -> None:
    """Seat many users who are not members yet, in one statement, each with their read
    marker at the given seq (their `member.joined`'s: the room's past is not unread)."""
    if not read_upto:
        return
    await conn.execute(
        insert(room_members),
        [
            {"room_id": room_id, "user_id": user_id, "joined_at_ms": now, "last_read_seq": seq}
            for user_id, seq in read_upto.items()
        ],
    )
    await conn.execute(
        update(rooms)
        .where(rooms.c.id == room_id)
        .values(member_count=rooms.c.member_count + len(read_upto))
    )


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


# Every `hello` runs these (the ready state, and the hub's first look at new feeds).
_LAST_SEQS = Prepared(
    select(rooms.c.id, rooms.c.last_seq).where(rooms.c.id.in_(bindparam("ids", expanding=True))),
    lists=("ids",),
)
_USER_ROOMS = (
    select(*ROOM_COLUMNS, *SEAT_COLUMNS)
    .join(room_members, room_members.c.room_id == rooms.c.id)
    .where(room_members.c.user_id == bindparam("user_id"))
    .order_by(rooms.c.id)
)
_UNREAD_COUNTS = (
    select(messages.c.room_id, func.count())
    .select_from(
        messages.join(
            room_members,
            and_(
                room_members.c.room_id == messages.c.room_id,
                room_members.c.user_id == bindparam("user_id"),
            ),
        )
    )
    .where(
        messages.c.seq > room_members.c.last_read_seq,
        messages.c.author_id != bindparam("author_id"),
        messages.c.deleted.is_(False),
    )
    .group_by(messages.c.room_id)
)


async def last_seqs(conn: AsyncConnection, room_ids: Iterable[int]) -> dict[int, int]:
    ids = list(room_ids)
    if not ids:
        return {}
    return {room_id: last_seq for room_id, last_seq in await _LAST_SEQS.rows(conn, ids=ids)}


async def user_rooms(conn: AsyncConnection, user_id: int) -> list[tuple[Room, Membership]]:
    """The user's rooms (pins filled) with their seat in each, in two queries."""
    rows = list(await conn.execute(_USER_ROOMS, {"user_id": user_id}))
    found = await with_pins(conn, [room_from_row(row) for row in rows])
    return [
        (room, seat_from_row(row, room.id, user_id)) for room, row in zip(found, rows, strict=True)
    ]


async def unread_counts(conn: AsyncConnection, user_id: int) -> dict[int, int]:
    """Messages by others above the read marker, per room, in one grouped query."""
    rows = await conn.execute(_UNREAD_COUNTS, {"user_id": user_id, "author_id": user_id})
    return {row[0]: int(row[1]) for row in rows}


async def move_read_marker(conn: AsyncConnection, room_id: int, user_id: int, seq: int) -> None:
    """Move the marker forward only: a late or replayed `read` never un-reads messages."""
    # Update statements may not name their parameters after the table's columns.
    params = {"b_room_id": room_id, "b_user_id": user_id, "b_seq": seq}
    await conn.execute(_MOVE_READ_MARKER, params)


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


# -- settings, room roles, mutes and slow mode -------------------------------------------


async def update_room(conn: AsyncConnection, room_id: int, changes: Mapping[str, Any]) -> None:
    """Apply settings already checked by the service (name, topic, posting, ...)."""
    if changes:
        await conn.execute(update(rooms).where(rooms.c.id == room_id).values(**changes))


def _seat(room_id: int, user_id: int) -> Any:
    return and_(room_members.c.room_id == room_id, room_members.c.user_id == user_id)


async def set_room_role(conn: AsyncConnection, room_id: int, user_id: int, role: RoomRole) -> None:
    await conn.execute(update(room_members).where(_seat(room_id, user_id)).values(room_role=role))


async def set_muted_until(
    conn: AsyncConnection, room_id: int, user_id: int, until_ms: int | None
) -> None:
    await conn.execute(
        update(room_members).where(_seat(room_id, user_id)).values(muted_until_ms=until_ms)
    )


_CLAIM_POST = (
    update(room_members)
    .where(
        room_members.c.room_id == bindparam("b_room_id"),
        room_members.c.user_id == bindparam("b_user_id"),
        or_(
            room_members.c.last_post_ms.is_(None),
            room_members.c.last_post_ms <= bindparam("b_since"),
        ),
    )
    .values(last_post_ms=bindparam("b_now"))
)


async def claim_post(
    conn: AsyncConnection, room_id: int, user_id: int, now: int, interval_ms: int
) -> bool:
    """Record a post at `now` if the member's previous one is at least `interval_ms` old;
    False when it is not (slow mode). One conditional UPDATE, in the database: it holds
    across restarts and nodes, and of two concurrent posts the row lock lets one by."""
    params = {"b_room_id": room_id, "b_user_id": user_id, "b_now": now}
    result = await conn.execute(_CLAIM_POST, {**params, "b_since": now - interval_ms})
    return bool(result.rowcount)


# -- bans ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ban:
    user_id: int
    by_id: int | None
    reason: str | None
    created_at_ms: int


async def ban(
    conn: AsyncConnection, room_id: int, user_id: int, by_id: int, reason: str | None, now: int
) -> bool:
    """Keep the user out of the room; False when they already were banned."""
    added = await insert_unique(
        conn,
        insert(room_bans).values(
            room_id=room_id, user_id=user_id, by_id=by_id, reason=reason, created_at_ms=now
        ),
    )
    return added is not None


async def unban(conn: AsyncConnection, room_id: int, user_id: int) -> bool:
    result = await conn.execute(
        delete(room_bans).where(room_bans.c.room_id == room_id, room_bans.c.user_id == user_id)
    )
    return bool(result.rowcount)


async def is_banned(conn: AsyncConnection, room_id: int, user_id: int) -> bool:
    """Whether the user is banned from the room: joins, invites and adds refuse them."""
    return bool(await banned_among(conn, room_id, [user_id]))


async def banned_among(conn: AsyncConnection, room_id: int, user_ids: Iterable[int]) -> set[int]:
    ids = list(set(user_ids))
    if not ids:
        return set()
    rows = await conn.execute(
        select(room_bans.c.user_id).where(
            room_bans.c.room_id == room_id, room_bans.c.user_id.in_(ids)
        )
    )
    return {row[0] for row in rows}


async def bans_of(conn: AsyncConnection, room_id: int) -> list[Ban]:
    """The room's bans, newest first."""
    rows = await conn.execute(
        select(room_bans)
        .where(room_bans.c.room_id == room_id)
        .order_by(room_bans.c.created_at_ms.desc(), room_bans.c.user_id)
    )
    return [Ban(row.user_id, row.by_id, row.reason, row.created_at_ms) for row in rows]
