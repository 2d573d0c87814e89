"""Session: the state a client starts from (the `ready` frame's rooms and counters)."""

from __future__ import annotations

from dataclasses import dataclass

from chatserver.domain import rules
from chatserver.domain.errors import Unauthorized
from chatserver.domain.models import Level, Membership, Room, User
from chatserver.store import ready as ready_store
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
    notification_mark: int
    """The highest notification id when `notifications_unread` was counted: a
    `notification` event up to it is already in the count (`store/ready.py`)."""


class SessionService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def snapshot(self, user: User) -> Snapshot:
        """One statement, whatever the number of rooms, plus one for the pins of the
        rooms that have some and one for the peers of the DMs, if any."""
        async with self._db.read() as conn:
            state = await ready_store.ready_state(conn, user.id)
            if state is None:  # the account was deleted since its token was checked
                raise Unauthorized("the account no longer exists")
            dms = [r.room.id for r in state.rooms if r.room.kind == "dm"]
            peers = await social_store.dm_peers(conn, dms, user.id) if dms else {}
        default = state.notify_default
        states = [
            RoomState(
                room,
                seat,
                unread,
                mentions,
                rules.effective_level(default, seat.notify_level, room.kind == "dm"),
                peers.get(room.id),
            )
            for room, seat, unread, mentions in state.rooms
        ]
        return Snapshot(state.user, states, state.notifications_unread, state.notification_mark)

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
