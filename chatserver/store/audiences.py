"""Who hears of a user's presence: their rooms small enough to be told, and their
friends, for many users at once.

After a restart two thousand users come back within a second; reading each one's
rooms and friends apart would be thousands of queries. The presence service gathers
the changes of a short window and reads them here in two queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.store.tables import friendships, room_members, rooms


@dataclass(slots=True)
class Audience:
    """The rooms (within the size limit) and the friends a user's presence goes to."""

    rooms: list[int] = field(default_factory=list)
    friends: list[int] = field(default_factory=list)


_SMALL_ROOMS = (
    select(room_members.c.user_id, room_members.c.room_id)
    .join(rooms, rooms.c.id == room_members.c.room_id)
    .where(
        room_members.c.user_id.in_(bindparam("user_ids", expanding=True)),
        rooms.c.member_count <= bindparam("room_limit"),
    )
)
_FRIENDS = select(friendships.c.user_id, friendships.c.friend_id).where(
    friendships.c.user_id.in_(bindparam("user_ids", expanding=True))
)


async def audiences(
    conn: AsyncConnection, user_ids: Iterable[int], room_limit: int
) -> dict[int, Audience]:
    """Each user's audience: rooms of at most `room_limit` members (large rooms learn
    presence on demand, from the member list), and friends."""
    ids = list(set(user_ids))
    out = {user_id: Audience() for user_id in ids}
    if not ids:
        return out
    params = {"user_ids": ids, "room_limit": room_limit}
    for user_id, room_id in await conn.execute(_SMALL_ROOMS, params):
        out[user_id].rooms.append(room_id)
    for user_id, friend_id in await conn.execute(_FRIENDS, {"user_ids": ids}):
        out[user_id].friends.append(friend_id)
    return out
