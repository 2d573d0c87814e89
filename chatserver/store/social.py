"""Friendships, friend requests, blocks and the DM room index."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, bindparam, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.models import User
from chatserver.store.accounts import USER_COLUMNS, user_from_row
from chatserver.store.tables import (
    blocks,
    dm_pairs,
    friend_requests,
    friendships,
    room_members,
    users,
)
from chatserver.store.unique import insert_unique


async def are_friends(conn: AsyncConnection, a: int, b: int) -> bool:
    row = (
        await conn.execute(
            select(friendships.c.user_id).where(
                friendships.c.user_id == a, friendships.c.friend_id == b
            )
        )
    ).first()
    return row is not None


# Built once: the notification decision runs them for every message (store/rooms.py).
_FRIENDS_AMONG = select(friendships.c.friend_id).where(
    friendships.c.user_id == bindparam("user_id"),
    friendships.c.friend_id.in_(bindparam("ids", expanding=True)),
)
_BLOCKED_AMONG = select(blocks.c.blocker_id, blocks.c.blocked_id).where(
    or_(
        and_(
            blocks.c.blocker_id == bindparam("user_id"),
            blocks.c.blocked_id.in_(bindparam("ids", expanding=True)),
        ),
        and_(
            blocks.c.blocked_id == bindparam("user_id"),
            blocks.c.blocker_id.in_(bindparam("ids", expanding=True)),
        ),
    )
)


async def friend_ids_among(conn: AsyncConnection, user_id: int, among: Iterable[int]) -> set[int]:
    ids = list(set(among))
    if not ids:
        return set()
    rows = await conn.execute(_FRIENDS_AMONG, {"user_id": user_id, "ids": ids})
    return {row[0] for row in rows}


async def friend_ids(conn: AsyncConnection, user_id: int) -> list[int]:
    rows = await conn.execute(
        select(friendships.c.friend_id).where(friendships.c.user_id == user_id)
    )
    return [row[0] for row in rows]


async def make_friends(conn: AsyncConnection, a: int, b: int, now: int) -> None:
    await conn.execute(
        delete(friend_requests).where(
            or_(
                and_(friend_requests.c.from_id == a, friend_requests.c.to_id == b),
                and_(friend_requests.c.from_id == b, friend_requests.c.to_id == a),
            )
        )
    )
    for x, y in ((a, b), (b, a)):
        await insert_unique(
            conn, insert(friendships).values(user_id=x, friend_id=y, created_at_ms=now)
        )


async def unfriend(conn: AsyncConnection, a: int, b: int) -> bool:
    """End a friendship and any request between the two, in both directions."""
    ended = await conn.execute(
        delete(friendships).where(
            or_(
                and_(friendships.c.user_id == a, friendships.c.friend_id == b),
                and_(friendships.c.user_id == b, friendships.c.friend_id == a),
            )
        )
    )
    cancelled = await conn.execute(
        delete(friend_requests).where(
            or_(
                and_(friend_requests.c.from_id == a, friend_requests.c.to_id == b),
                and_(friend_requests.c.from_id == b, friend_requests.c.to_id == a),
            )
        )
    )
    return ended.rowcount + cancelled.rowcount > 0


async def has_request(conn: AsyncConnection, from_id: int, to_id: int) -> bool:
    row = (
        await conn.execute(
            select(friend_requests.c.from_id).where(
                friend_requests.c.from_id == from_id, friend_requests.c.to_id == to_id
            )
        )
    ).first()
    return row is not None


async def add_request(conn: AsyncConnection, from_id: int, to_id: int, now: int) -> bool:
    request = insert(friend_requests).values(from_id=from_id, to_id=to_id, created_at_ms=now)
    return await insert_unique(conn, request) is not None


async def friends_and_requests(
    conn: AsyncConnection, user_id: int
) -> tuple[list[User], list[User], list[User]]:
    """(friends, incoming requests, outgoing requests), each sorted by username."""
    friends = await conn.execute(
        select(*USER_COLUMNS)
        .join(friendships, friendships.c.friend_id == users.c.id)
        .where(friendships.c.user_id == user_id)
        .order_by(users.c.username)
    )
    # Requests from people the user blocked stay with their sender, unseen (blocks are silent).
    blocked_by_user = select(blocks.c.blocked_id).where(blocks.c.blocker_id == user_id)
    incoming = await conn.execute(
        select(*USER_COLUMNS)
        .join(friend_requests, friend_requests.c.from_id == users.c.id)
        .where(
            friend_requests.c.to_id == user_id,
            friend_requests.c.from_id.not_in(blocked_by_user),
        )
        .order_by(users.c.username)
    )
    outgoing = await conn.execute(
        select(*USER_COLUMNS)
        .join(friend_requests, friend_requests.c.to_id == users.c.id)
        .where(friend_requests.c.from_id == user_id)
        .order_by(users.c.username)
    )
    return (
        [user_from_row(r) for r in friends],
        [user_from_row(r) for r in incoming],
        [user_from_row(r) for r in outgoing],
    )


async def block(conn: AsyncConnection, blocker: int, blocked: int, now: int) -> None:
    await insert_unique(
        conn, insert(blocks).values(blocker_id=blocker, blocked_id=blocked, created_at_ms=now)
    )


async def unblock(conn: AsyncConnection, blocker: int, blocked: int) -> None:
    await conn.execute(
        delete(blocks).where(blocks.c.blocker_id == blocker, blocks.c.blocked_id == blocked)
    )


async def blocked_users(conn: AsyncConnection, blocker: int) -> list[User]:
    rows = await conn.execute(
        select(*USER_COLUMNS)
        .join(blocks, blocks.c.blocked_id == users.c.id)
        .where(blocks.c.blocker_id == blocker)
        .order_by(users.c.username)
    )
    return [user_from_row(r) for r in rows]


async def is_blocked_either_way(conn: AsyncConnection, a: int, b: int) -> bool:
    return bool(await blocked_either_way_among(conn, a, [b]))


async def blocked_either_way_among(
    conn: AsyncConnection, user_id: int, among: Iterable[int]
) -> set[int]:
    """Those of `among` who blocked `user_id` or whom `user_id` blocked."""
    ids = list(set(among))
    if not ids:
        return set()
    rows = await conn.execute(_BLOCKED_AMONG, {"user_id": user_id, "ids": ids})
    return {row[1] if row[0] == user_id else row[0] for row in rows}


async def dm_room_id(conn: AsyncConnection, key: str) -> int | None:
    row = (await conn.execute(select(dm_pairs.c.room_id).where(dm_pairs.c.key == key))).first()
    return row[0] if row else None


async def add_dm(conn: AsyncConnection, key: str, room_id: int) -> None:
    await conn.execute(insert(dm_pairs).values(key=key, room_id=room_id))


async def is_blocked_by(conn: AsyncConnection, *, blocker: int, blocked: int) -> bool:
    row = (
        await conn.execute(
            select(blocks.c.blocker_id).where(
                blocks.c.blocker_id == blocker, blocks.c.blocked_id == blocked
            )
        )
    ).first()
    return row is not None


_DM_PEERS = (
    select(room_members.c.room_id, *USER_COLUMNS)
    .join(users, users.c.id == room_members.c.user_id)
    .where(
        room_members.c.room_id.in_(bindparam("ids", expanding=True)),
        room_members.c.user_id != bindparam("viewer_id"),
    )
    .order_by(users.c.username)
)
"""Built once: every `hello` of a user with DMs runs it."""


async def dm_peers(
    conn: AsyncConnection, room_ids: Iterable[int], viewer_id: int
) -> dict[int, list[User]]:
    """The other members of each DM room, so a client can name the room after them."""
    ids = list(room_ids)
    if not ids:
        return {}
    rows = await conn.execute(_DM_PEERS, {"ids": ids, "viewer_id": viewer_id})
    out: dict[int, list[User]] = {room_id: [] for room_id in ids}
    for row in rows:
        out[row.room_id].append(user_from_row(row))
    return out
