"""Rooms: creation, the directory, joining and leaving, and who may see what."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain import rules, text
from chatserver.domain.errors import BadRequest, NotFound, NotMember
from chatserver.domain.models import (
    ROOM_KINDS,
    VISIBILITIES,
    Membership,
    Room,
    RoomKind,
    User,
    Visibility,
    now_ms,
)
from chatserver.protocol import wire
from chatserver.protocol.envelope import MembershipChanged
from chatserver.services.publisher import Publisher
from chatserver.store import accounts as account_store
from chatserver.store import events as event_store
from chatserver.store import rooms as store
from chatserver.store import social as social_store
from chatserver.store.engine import Database


def _room_id(room_id: object) -> int:
    if not isinstance(room_id, int) or isinstance(room_id, bool) or room_id <= 0:
        raise NotFound("no such room")
    return room_id


async def visible_room(
    conn: AsyncConnection, user: User, room_id: object
) -> tuple[Room, Membership | None]:
    """The room and the caller's membership; a private room they are not in does not exist."""
    found = await store.room_with_membership(conn, _room_id(room_id), user.id)
    if found is None:
        raise NotFound("no such room")
    room, membership = found
    if membership is None and room.is_private:
        raise NotFound("no such room")
    return room, membership


async def member_room(
    conn: AsyncConnection, user: User, room_id: object
) -> tuple[Room, Membership]:
    """The room, for an action that needs membership (send, react, typing, live events)."""
    room, membership = await visible_room(conn, user, room_id)
    if membership is None:
        raise NotMember("join the room first")
    return room, membership


OnlineAmong = Callable[[Iterable[int]], Awaitable[set[int]]]


@dataclass(frozen=True, slots=True)
class Joined:
    """A committed join, waiting to be announced."""

    room: Room
    user: User
    seq: int
    frame: bytes


class RoomService:
    def __init__(self, db: Database, publisher: Publisher, online_among: OnlineAmong) -> None:
        self._db = db
        self._publisher = publisher
        self._online_among = online_among

    async def create(self, user: User, body: dict[str, object]) -> Room:
        kind = body.get("kind")
        if kind not in ROOM_KINDS:
            raise BadRequest(f"kind must be one of {', '.join(ROOM_KINDS)}")
        visibility = body.get("visibility")
        if visibility is not None and visibility not in VISIBILITIES:
            raise BadRequest("visibility must be 'public' or 'private'")
        room_kind: RoomKind = kind
        rules.check_can_create_room(user, room_kind)
        slug = text.validate_slug(body.get("slug"))
        name = text.validate_room_name(body.get("name"))
        topic = text.validate_topic(body.get("topic"))
        chosen: Visibility = rules.room_visibility(room_kind, visibility)
        async with self._db.write() as conn:
            room_id = await store.create_room(
                conn,
                slug=slug,
                name=name,
                kind=room_kind,
                visibility=chosen,
                topic=topic,
                created_by=user.id,
                now=now_ms(),
            )
            joined = await self.add_in(conn, room_id, user)
        await self.announce(joined)
        return joined.room

    async def get(self, user: User, room_id: object) -> tuple[Room, Membership | None]:
        async with self._db.read() as conn:
            return await visible_room(conn, user, room_id)

    async def directory(
        self, user: User, kind: str | None, query: str | None, limit: int = 200
    ) -> list[tuple[Room, bool]]:
        if kind is not None and kind not in ROOM_KINDS:
            raise BadRequest(f"kind must be one of {', '.join(ROOM_KINDS)}")
        if query is not None and len(query) > 80:
            raise BadRequest("q is at most 80 characters")
        async with self._db.read() as conn:
            return await store.list_rooms(conn, user.id, kind, query or None, limit)

    async def require_member(self, user: User, room_id: object) -> Room:
        async with self._db.read() as conn:
            room, _ = await member_room(conn, user, room_id)
        return room

    async def join(self, user: User, room_id: object) -> Room:
        async with self._db.write() as conn:
            room, membership = await visible_room(conn, user, room_id)
            if membership is not None:
                return room
            if room.is_private:
                # Only reachable for members, who returned above; kept for clarity.
                raise NotFound("no such room")
            joined = await self.add_in(conn, room.id, user)
        await self.announce(joined)
        return joined.room

    async def leave(self, user: User, room_id: object) -> None:
        async with self._db.write() as conn:
            room, membership = await visible_room(conn, user, room_id)
            if membership is None:
                return
            await store.remove_member(conn, room.id, user.id)
            seq = await store.next_seq(conn, room.id)
            frame = wire.member_event("member.left", room.id, seq, user)
            await event_store.append(conn, room.id, seq, frame, now_ms())
            after = await store.get_room(conn, room.id)
        await self._publisher.room(room.id, seq, frame)
        await self._publisher.control(
            MembershipChanged(user_id=user.id, room_id=room.id, joined=False, seq=seq)
        )
        # PROTOCOL: room.removed carries a Room, as room.added does.
        removed = wire.room_out(after or room)
        await self._publisher.user(user.id, wire.event("room.removed", room=removed))

    async def add_member(self, actor: User, room_id: object, user_id: object) -> Room:
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            raise BadRequest("user_id must be an integer")
        async with self._db.write() as conn:
            if rules.is_staff(actor):
                # Mentors and admins manage private rooms without having to be in them.
                found = await store.get_room(conn, _room_id(room_id))
                if found is None:
                    raise NotFound("no such room")
                room = found
            else:
                room, _ = await visible_room(conn, actor, room_id)
            rules.check_can_add_member(actor, room)
            target = await account_store.get_user(conn, user_id)
            if target is None:
                raise NotFound("no such user")
            if await store.get_membership(conn, room.id, target.id) is not None:
                return room
            joined = await self.add_in(conn, room.id, target)
        await self.announce(joined)
        return joined.room

    async def members(
        self, user: User, room_id: object, query: str | None, limit: int
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

    async def add_in(self, conn: AsyncConnection, room_id: int, user: User) -> Joined:
        """Add a member and take the member.joined seq, in the caller's transaction."""
        await store.add_member(conn, room_id, user.id, now_ms())
        seq = await store.next_seq(conn, room_id)
        frame = wire.member_event("member.joined", room_id, seq, user)
        await event_store.append(conn, room_id, seq, frame, now_ms())
        # A newcomer starts at the present: the room's past is history, not unread.
        await store.move_read_marker(conn, room_id, user.id, seq)
        room = await store.get_room(conn, room_id)
        assert room is not None
        return Joined(room, user, seq, frame)

    async def announce(self, joined: Joined) -> None:
        room, user, seq, frame = joined.room, joined.user, joined.seq, joined.frame
        await self._publisher.room(room.id, seq, frame)
        await self._publisher.control(
            MembershipChanged(user_id=user.id, room_id=room.id, joined=True, seq=seq)
        )
        extra: dict[str, object] = {"joined": True}
        if room.kind == "dm":
            async with self._db.read() as conn:
                peers = await social_store.dm_peers(conn, [room.id], user.id)
            extra["peers"] = wire.users_out(peers.get(room.id, []))
        added = wire.room_out(room, **extra)
        await self._publisher.user(user.id, wire.event("room.added", room=added))
