"""Profiles: the fields only a profile shows, and who is tied to whom to see it."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import and_, exists, select, union, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.profiles import Profile, Relation
from chatserver.store.accounts import USER_COLUMNS, user_from_row
from chatserver.store.tables import blocks, friend_requests, friendships, room_members, users

Friendship = Literal["none", "friends", "requested", "incoming"]


async def get_profile(conn: AsyncConnection, user_id: int) -> Profile | None:
    """A live account's profile (a deleted account has none)."""
    row = (
        await conn.execute(
            select(*USER_COLUMNS, users.c.bio, users.c.pronouns).where(
                users.c.id == user_id, users.c.deleted_at_ms.is_(None)
            )
        )
    ).first()
    if row is None:
        return None
    return Profile(user_from_row(row), row.bio, row.pronouns)


async def set_avatar(conn: AsyncConnection, user_id: int, key: str | None) -> str | None:
    """Point the account at a new avatar (None: none); the key it had before."""
    previous: str | None = (
        await conn.execute(select(users.c.avatar).where(users.c.id == user_id))
    ).scalar_one_or_none()
    await conn.execute(update(users).where(users.c.id == user_id).values(avatar=key))
    return previous


async def avatar_of(conn: AsyncConnection, user_id: int) -> str | None:
    found: str | None = (
        await conn.execute(
            select(users.c.avatar).where(users.c.id == user_id, users.c.deleted_at_ms.is_(None))
        )
    ).scalar_one_or_none()
    return found


async def relation(conn: AsyncConnection, viewer_id: int, subject_id: int) -> Relation:
    """What ties the viewer to the subject: one round trip, three EXISTS."""
    mine = room_members.alias("mine")
    theirs = room_members.alias("theirs")
    shares = exists().where(
        mine.c.user_id == viewer_id,
        theirs.c.room_id == mine.c.room_id,
        theirs.c.user_id == subject_id,
    )
    friends = exists().where(
        friendships.c.user_id == viewer_id, friendships.c.friend_id == subject_id
    )
    blocked = exists().where(blocks.c.blocker_id == subject_id, blocks.c.blocked_id == viewer_id)
    row = (
        await conn.execute(select(shares.label("s"), friends.label("f"), blocked.label("b")))
    ).one()
    return Relation(shares_room=bool(row.s), friends=bool(row.f), blocked_by_them=bool(row.b))


async def viewer_ties(
    conn: AsyncConnection, viewer_id: int, subject_id: int
) -> tuple[Friendship, bool]:
    """The viewer's friendship with the subject, and whether the viewer blocked them."""
    friends = exists().where(
        friendships.c.user_id == viewer_id, friendships.c.friend_id == subject_id
    )
    asked = exists().where(
        friend_requests.c.from_id == viewer_id, friend_requests.c.to_id == subject_id
    )
    asking = exists().where(
        friend_requests.c.from_id == subject_id, friend_requests.c.to_id == viewer_id
    )
    blocked = exists().where(blocks.c.blocker_id == viewer_id, blocks.c.blocked_id == subject_id)
    row = (
        await conn.execute(
            select(friends.label("f"), asked.label("o"), asking.label("i"), blocked.label("b"))
        )
    ).one()
    status: Friendship = (
        "friends" if row.f else "requested" if row.o else "incoming" if row.i else "none"
    )
    return status, bool(row.b)


async def audience(conn: AsyncConnection, user_id: int) -> set[int]:
    """Everyone who may see the user's profile, the user included: the members of their
    rooms and their friends, less those the user blocked."""
    mine = room_members.alias("mine")
    theirs = room_members.alias("theirs")
    mates = select(theirs.c.user_id.label("id")).join(
        mine, and_(mine.c.room_id == theirs.c.room_id, mine.c.user_id == user_id)
    )
    friends = select(friendships.c.friend_id.label("id")).where(friendships.c.user_id == user_id)
    rows = await conn.execute(union(mates, friends))
    ids = {row[0] for row in rows}
    blocked = await conn.execute(select(blocks.c.blocked_id).where(blocks.c.blocker_id == user_id))
    ids.difference_update(row[0] for row in blocked)
    ids.add(user_id)
    return ids
