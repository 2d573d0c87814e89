"""Rooms: creation, the directory, joining and leaving, and who may see what."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain import rules, text
from chatserver.domain.errors import NotFound, NotMember
from chatserver.domain.models import (
    Membership,
    Room,
    RoomKind,
    User,
    Visibility,
    now_ms,
)
from chatserver.protocol import wire
from chatserver.protocol.envelope import MembershipChanged
from chatserver.protocol.events import MemberJoined, MemberLeft, RoomAdded, RoomRemoved
from chatserver.protocol.requests import NewRoom
from chatserver.services.room_events import Outbox, RoomEvents
from chatserver.store import accounts as account_store
from chatserver.store import rooms as store
from chatserver.store import social as social_store
from chatserver.store.engine import Database


async def visible_room(
    conn: AsyncConnection, user: User, room_id: int
) -> tuple[Room, Membership | None]:
    """The room and the caller's membership; a private room they are not in does not exist."""
    found = await store.room_with_membership(conn, room_id, user.id)
    if found is None:
        raise NotFound("no such room")
    room, membership = found
    if membership is None and room.is_private:
        raise NotFound("no such room")
    return room, membership


async def member_room(conn: AsyncConnection, user: User, room_id: int) -> tuple[Room, Membership]:
    """The room, for an action that needs membership (send, react, typing, live events)."""
    room, membership = await visible_room(conn, user, room_id)
    if membership is None:
        raise NotMember("join the room first")
    return room, membership


OnlineAmong = Callable[[Iterable[int]], Awaitable[set[int]]]


class RoomService:
    def __init__(self, db: Database, events: RoomEvents, online_among: OnlineAmong) -> None:
        self._db = db
        self._events = events
        self._online_among = online_among

    async def create(self, user: User, request: NewRoom) -> Room:
        room_kind = request.kind
        rules.check_can_create_room(user, room_kind)
        slug = text.validate_slug(request.slug)
        name = text.validate_room_name(request.name)
        topic = text.validate_topic(request.topic)
        chosen: Visibility = rules.room_visibility(room_kind, request.visibility)
        async with self._events.write() as outbox:
            room_id = await store.create_room(
                outbox.conn,
                slug=slug,
                name=name,
                kind=room_kind,
                visibility=chosen,
                topic=topic,
                created_by=user.id,
                now=now_ms(),
            )
            return await self.admit(outbox, room_id, user)

    async def get(self, user: User, room_id: int) -> tuple[Room, Membership | None]:
        async with self._db.read() as conn:
            return await visible_room(conn, user, room_id)

    async def directory(
        self, user: User, kind: RoomKind | None, query: str | None, limit: int = 200
    ) -> list[tuple[Room, bool]]:
        async with self._db.read() as conn:
            return await store.list_rooms(conn, user.id, kind, query or None, limit)

    async def require_member(self, user: User, room_id: int) -> Room:
        async with self._db.read() as conn:
            room, _ = await member_room(conn, user, room_id)
        return room

    async def join(self, user: User, room_id: int) -> Room:
        async with self._events.write() as outbox:
            room, membership = await visible_room(outbox.conn, user, room_id)
            if membership is not None:
                return room
            return await self.admit(outbox, room.id, user)

    async def leave(self, user: User, room_id: int) -> None:
        async with self._events.write() as outbox:
            conn = outbox.conn
            room, membership = await visible_room(conn, user, room_id)
            if membership is None:
                return
            await store.remove_member(conn, room.id, user.id)
            seq = await outbox.next_seq(room.id)
            await outbox.log(MemberLeft(room=room.id, seq=seq, user=wire.user_out(user)))
            after = await store.get_room(conn, room.id)
            outbox.control(
                MembershipChanged(user_id=user.id, room_id=room.id, joined=False, seq=seq)
            )
            # PROTOCOL: room.removed carries a Room, as room.added does.
            outbox.to_user(user.id, RoomRemoved(room=wire.room_out(after or room)))

    async def add_member(self, actor: User, room_id: int, user_id: int) -> Room:
        async with self._events.write() as outbox:
            conn = outbox.conn
            room = await self._room_to_add_to(conn, actor, room_id)
            rules.check_can_add_member(actor, room)
            target = await account_store.get_user(conn, user_id)
            if target is None:
                raise NotFound("no such user")
            if await store.get_membership(conn, room.id, target.id) is not None:
                return room
            return await self.admit(outbox, room.id, target)

    @staticmethod
    async def _room_to_add_to(conn: AsyncConnection, actor: User, room_id: int) -> Room:
        """The room, as the actor may see it to add someone.

        A private room stays invisible to every non-member, mentors included. Admins
        have the one door: they may add people (themselves included) to any room but a
        DM, which has no door at all; for anyone else a private room they are not in
        answers exactly like an id that was never used.
        """
        if actor.role != "admin":
            room, _ = await visible_room(conn, actor, room_id)
            return room
        found = await store.room_with_membership(conn, room_id, actor.id)
        if found is None or (found[0].kind == "dm" and found[1] is None):
            raise NotFound("no such room")
        return found[0]

    async def members(
        self, user: User, room_id: int, query: str | None, limit: int
    ) -> list[tuple[User, bool]]:
        async with self._db.read() as conn:
            room, _ = await visible_room(conn, user, room_id)
            ids = await store.member_ids(conn, room.id)
            users = await account_store.get_users(conn, ids)
        prefix = (query or "").lower().lstrip("@")
        found = [
            u
            for u in users.values()
            if not prefix
            or u.username.startswith(prefix)
            or u.display_name.lower().startswith(prefix)
        ]
        online = await self._online_among(u.id for u in found)
        found.sort(key=lambda u: (u.id not in online, u.username))
        return [(u, u.id in online) for u in found[:limit]]

    async def admit(self, outbox: Outbox, room_id: int, user: User) -> Room:
        """Add a member and tell their connections (`room.added`), in the caller's transaction."""
        room = await self.add_in(outbox, room_id, user)
        await self.tell_added(outbox, room, user)
        return room

    async def add_in(self, outbox: Outbox, room_id: int, user: User) -> Room:
        """Add a member and take the member.joined seq, in the caller's transaction.

        After the commit every node attaches the user's open connections to the room
        from that seq on.
        """
        conn = outbox.conn
        await store.add_member(conn, room_id, user.id, now_ms())
        seq = await outbox.next_seq(room_id)
        await outbox.log(MemberJoined(room=room_id, seq=seq, user=wire.user_out(user)))
        # A newcomer starts at the present: the room's past is history, not unread.
        await store.move_read_marker(conn, room_id, user.id, seq)
        outbox.control(MembershipChanged(user_id=user.id, room_id=room_id, joined=True, seq=seq))
        room = await store.get_room(conn, room_id)
        assert room is not None
        return room

    async def tell_added(self, outbox: Outbox, room: Room, user: User) -> None:
        """Queue `room.added` for the user; a DM's carries its peers."""
        peers: list[wire.UserOut] | msgspec.UnsetType = msgspec.UNSET
        if room.kind == "dm":
            found = await social_store.dm_peers(outbox.conn, [room.id], user.id)
            peers = wire.users_out(found.get(room.id, []))
        outbox.to_user(user.id, RoomAdded(room=wire.room_out(room, joined=True, peers=peers)))
