"""Friends, blocks and direct-message rooms."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

from chatserver.domain import rules
from chatserver.domain.errors import BadRequest, Blocked, Conflict, Forbidden, NotFound
from chatserver.domain.models import Room, User, now_ms
from chatserver.domain.text import normalize_username
from chatserver.protocol.events import FriendAccepted, FriendRequest
from chatserver.protocol.wire import encode, user_out
from chatserver.services.publisher import Publisher
from chatserver.services.room_events import Outbox, RoomEvents
from chatserver.services.rooms import RoomService
from chatserver.store import accounts as account_store
from chatserver.store import rooms as room_store
from chatserver.store import social as store
from chatserver.store.engine import Database

MAX_GROUP_DM = 10


class SocialService:
    def __init__(
        self, db: Database, events: RoomEvents, publisher: Publisher, rooms: RoomService
    ) -> None:
        self._db = db
        self._events = events
        self._publisher = publisher
        self._rooms = rooms

    async def _target(self, user: User, username: str) -> User:
        name = normalize_username(username)
        async with self._db.read() as conn:
            target = await account_store.get_user_by_name(conn, name)
        if target is None:
            raise NotFound(f"no user named {name!r}")
        if target.id == user.id:
            raise BadRequest("that is you")
        return target

    async def request_friend(self, user: User, username: str) -> Literal["requested", "friends"]:
        """Ask to be friends; asking someone who already asked you makes you friends."""
        target = await self._target(user, username)
        rules.check_may_befriend(user, target)
        async with self._db.write() as conn:
            if await store.are_friends(conn, user.id, target.id):
                return "friends"
            if await store.is_blocked_by(conn, blocker=user.id, blocked=target.id):
                raise Blocked("you blocked this user; unblock them first")
            if await store.is_blocked_by(conn, blocker=target.id, blocked=user.id):
                # Blocking is invisible: the request is kept, so the caller sees it as sent,
                # but it is never delivered nor listed for the blocker.
                await store.add_request(conn, user.id, target.id, now_ms())
                return "requested"
            if await store.has_request(conn, target.id, user.id):
                await store.make_friends(conn, user.id, target.id, now_ms())
                accepted = True
            else:
                created = await store.add_request(conn, user.id, target.id, now_ms())
                accepted = False
        if accepted:
            await self._publisher.user(target.id, encode(FriendAccepted(user=user_out(user))))
            await self._publisher.user(user.id, encode(FriendAccepted(user=user_out(target))))
            return "friends"
        if created:
            await self._publisher.user(target.id, encode(FriendRequest(user=user_out(user))))
        return "requested"

    async def remove_friend(self, user: User, other_id: int) -> None:
        """Unfriend, cancel an outgoing request or decline an incoming one."""
        async with self._db.write() as conn:
            if await account_store.get_user(conn, other_id) is None:
                raise NotFound("no such user")
            await store.unfriend(conn, user.id, other_id)

    async def lists(self, user: User) -> tuple[list[User], list[User], list[User]]:
        async with self._db.read() as conn:
            return await store.friends_and_requests(conn, user.id)

    async def block(self, user: User, username: str) -> None:
        target = await self._target(user, username)
        async with self._db.write() as conn:
            await store.block(conn, user.id, target.id, now_ms())
            await store.unfriend(conn, user.id, target.id)

    async def unblock(self, user: User, other_id: int) -> None:
        async with self._db.write() as conn:
            await store.unblock(conn, user.id, other_id)
            # A request made while blocked was never delivered; it does not surface now.
            await store.unfriend(conn, user.id, other_id)

    async def blocked(self, user: User) -> list[User]:
        async with self._db.read() as conn:
            return await store.blocked_users(conn, user.id)

    async def open_dm(self, user: User, usernames: list[str]) -> Room:
        """The one DM room of this set of people, created (and announced) on first use."""
        if not usernames:
            raise BadRequest("name who to write to: {username} or {usernames: [...]}")
        if len(usernames) > MAX_GROUP_DM - 1:
            raise BadRequest(f"a group DM has at most {MAX_GROUP_DM} people")
        targets = {t.id: t for t in [await self._target(user, name) for name in usernames]}
        rules.check_dm_people([user, *targets.values()])
        key = ":".join(str(i) for i in sorted({user.id, *targets}))
        try:
            return await self._open(user, targets, key)
        except Conflict:
            # Both sides opened it at the same moment; the other transaction created it.
            return await self._open(user, targets, key)

    async def _open(self, user: User, targets: dict[int, User], key: str) -> Room:
        people = (user, *targets.values())
        async with self._events.write() as outbox:
            conn = outbox.conn
            if await store.blocked_either_way_among(conn, user.id, targets):
                raise Blocked("you cannot write to this user")
            existing = await store.dm_room_id(conn, key)
            if existing is not None:
                room = await room_store.get_room(conn, existing)
                assert room is not None
                # The one who opens it again is back in it; whoever else left stays out
                # until they open it themselves: leaving a conversation sticks.
                present = await room_store.members_among(conn, room.id, [user.id])
                return await self._seat(outbox, room, [] if present else [user])
            friends = await store.friend_ids_among(conn, user.id, targets)
            for target in targets.values():
                policy = await account_store.get_dm_policy(conn, target.id)
                if policy == "friends" and target.id not in friends:
                    raise Forbidden(f"{target.username} accepts direct messages from friends only")
            names = ", ".join(sorted(u.display_name for u in people))
            room_id = await room_store.create_room(
                conn,
                slug="dm-" + hashlib.sha256(key.encode()).hexdigest()[:20],
                name=names[:80],
                kind="dm",
                visibility="private",
                topic=None,
                created_by=user.id,
                now=now_ms(),
            )
            await store.add_dm(conn, key, room_id)
            room = await room_store.get_room(conn, room_id)
            assert room is not None
            return await self._seat(outbox, room, people)

    async def _seat(self, outbox: Outbox, room: Room, people: Sequence[User]) -> Room:
        """Add people to a DM, then tell each of them, so every `room.added` has all peers."""
        for person in people:
            room = await self._rooms.add_in(outbox, room.id, person)
        for person in people:
            await self._rooms.tell_added(outbox, room, person)
        return room
