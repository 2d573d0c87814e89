"""Session: the state a client starts from (the `ready` frame's rooms and counters)."""

from __future__ import annotations

from dataclasses import dataclass

from chatserver.domain import rules
from chatserver.domain.models import Level, Membership, Room, User
from chatserver.store import accounts as account_store
from chatserver.store import notifications as notification_store
from chatserver.store import rooms as room_store
from chatserver.store import social as social_store
from chatserver.store.engine import Database


@dataclass(frozen=True, slots=True)
class RoomState:
    room: Room
    membership: Membership
    unread: int
    mentions_unread: int
    notify_level: Level
    peers: list[User] | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    user: User
    rooms: list[RoomState]
    notifications_unread: int


class SessionService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def snapshot(self, user: User) -> Snapshot:
        """Seven grouped queries whatever the number of rooms."""
        async with self._db.read() as conn:
            fresh = await account_store.get_user(conn, user.id) or user
            memberships = await room_store.user_rooms(conn, user.id)
            unread = await room_store.unread_counts(conn, user.id)
            mentions = await notification_store.unread_mentions_by_room(conn, user.id)
            default = await account_store.get_notify_default(conn, user.id)
            peers = await social_store.dm_peers(
                conn, [room.id for room, _ in memberships if room.kind == "dm"], user.id
            )
            pending = await notification_store.unread_count(conn, user.id)
        states = [
            RoomState(
                room=room,
                membership=membership,
                unread=unread.get(room.id, 0),
                mentions_unread=mentions.get(room.id, 0),
                notify_level=rules.effective_level(
                    default, membership.notify_level, room.kind == "dm"
                ),
                peers=peers.get(room.id),
            )
            for room, membership in memberships
        ]
        return Snapshot(fresh, states, pending)

    async def marks(self, user: User) -> dict[int, tuple[int, int]]:
        """(last_read_seq, unread) for each of the user's rooms, in two grouped queries."""
        async with self._db.read() as conn:
            memberships = await room_store.user_rooms(conn, user.id)
            unread = await room_store.unread_counts(conn, user.id)
        return {
            room.id: (membership.last_read_seq, unread.get(room.id, 0))
            for room, membership in memberships
        }

    async def dm_peers(self, rooms: list[Room], viewer: User) -> dict[int, list[User]]:
        async with self._db.read() as conn:
            return await social_store.dm_peers(
                conn, [r.id for r in rooms if r.kind == "dm"], viewer.id
            )

    async def last_seqs(self, room_ids: list[int]) -> dict[int, int]:
        """Each room's last committed seq, in one query."""
        async with self._db.read() as conn:
            return await room_store.last_seqs(conn, room_ids)
