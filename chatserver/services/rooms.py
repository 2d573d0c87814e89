"""Rooms: creation, settings, the directory, joining, leaving, adding and removing members,
and who may see what."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain import rules, text
from chatserver.domain.errors import BadRequest, Forbidden, NotFound, NotMember, RateLimited
from chatserver.domain.models import (
    Membership,
    Room,
    RoomKind,
    RoomRole,
    User,
    Visibility,
    now_ms,
)
from chatserver.protocol import wire
from chatserver.protocol.envelope import MembershipChanged
from chatserver.protocol.events import (
    MemberJoined,
    MemberLeft,
    RoomAdded,
    RoomRemoved,
    RoomUpdated,
)
from chatserver.protocol.requests import NewRoom, RoomChanges
from chatserver.services.room_events import Outbox, RoomEvents
from chatserver.store import accounts as account_store
from chatserver.store import audit
from chatserver.store import rooms as store
from chatserver.store import social as social_store
from chatserver.store.engine import Database

MAX_BULK_ADD = 500
"""Usernames one `POST /api/rooms/{id}/members` may name (PROTOCOL-COMMUNITY)."""


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


async def moderated_room(
    conn: AsyncConnection, user: User, room_id: int
) -> tuple[Room, Membership | None]:
    """The room, for an action only its moderators may take (403 for anyone else who
    can see it, 404 for a private room the caller is not in)."""
    room, membership = await visible_room(conn, user, room_id)
    rules.check_moderates(user, room, membership)
    return room, membership


async def claim_post(
    conn: AsyncConnection, user: User, room: Room, membership: Membership, now: int
) -> None:
    """Slow mode, for a post about to be written in the caller's transaction: a
    non-moderator waits `slow_mode` seconds after their previous message in the room
    (`rate_limited` with `retry_after`, never scaled by CHAT_RATE_LIMIT_SCALE). Rooms
    without slow mode cost nothing here."""
    if not room.slow_mode or rules.moderates(user, room, membership):
        return
    wait = rules.slow_mode_wait(user, room, membership, now)
    if not wait and await store.claim_post(conn, room.id, user.id, now, room.slow_mode * 1000):
        return
    if not wait:  # another post of theirs committed since the seat was read
        seat = await store.get_membership(conn, room.id, user.id)
        wait = rules.slow_mode_wait(user, room, seat or membership, now) or room.slow_mode
    raise RateLimited(f"slow mode: one message every {room.slow_mode} s here", wait)


OnlineAmong = Callable[[Iterable[int]], Awaitable[set[int]]]


@dataclass(frozen=True, slots=True)
class Added:
    """What an add did: who joined, who already was a member, names nobody has."""

    room: Room
    added: list[int]
    already: list[int]
    not_found: list[str]


@dataclass(frozen=True, slots=True)
class Member:
    user: User
    online: bool
    seat: Membership


class RoomService:
    def __init__(self, db: Database, events: RoomEvents, online_among: OnlineAmong) -> None:
        self._db = db
        self._events = events
        self._online_among = online_among

    async def create(self, user: User, request: NewRoom) -> Room:
        """A new room; its creator is its first member and its owner."""
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
            return await self.admit(outbox, room_id, user, role="owner")

    async def get(self, user: User, room_id: int) -> tuple[Room, Membership | None]:
        async with self._db.read() as conn:
            room, membership = await visible_room(conn, user, room_id)
            return (await store.with_pins(conn, [room]))[0], membership

    async def directory(
        self,
        user: User,
        kind: RoomKind | None,
        query: str | None,
        limit: int = 200,
        *,
        every: bool = False,
    ) -> list[tuple[Room, bool]]:
        """Public rooms (archived ones hidden) and the caller's rooms; with `every`, the
        admins' door: every room but DMs, private and archived ones included."""
        if every and user.role != "admin":
            raise Forbidden("only admins list every room")
        async with self._db.read() as conn:
            return await store.list_rooms(conn, user.id, kind, query or None, limit, every=every)

    async def require_member(self, user: User, room_id: int) -> Room:
        async with self._db.read() as conn:
            room, _ = await member_room(conn, user, room_id)
        return room

    async def typing_room(self, user: User, room_id: int) -> Room:
        """The room the caller says they type in, if they may write there (one query)."""
        async with self._db.read() as conn:
            room, membership = await member_room(conn, user, room_id)
        rules.check_can_write(user, room, membership, now_ms(), post=True)
        return room

    async def join(self, user: User, room_id: int) -> Room:
        async with self._events.write() as outbox:
            room, membership = await visible_room(outbox.conn, user, room_id)
            if membership is not None:
                return (await store.with_pins(outbox.conn, [room]))[0]
            if await store.is_banned(outbox.conn, room.id, user.id):
                raise Forbidden("you are banned from this room")
            return await self.admit(outbox, room.id, user)

    async def leave(self, user: User, room_id: int) -> None:
        async with self._events.write() as outbox:
            room, membership = await visible_room(outbox.conn, user, room_id)
            if membership is None:
                return
            await self.remove_in(outbox, room, user)

    async def update_settings(self, actor: User, request: RoomChanges) -> Room:
        """Change a room's name, topic, posting, slow mode, guests or archiving (its
        moderators); members see `room.updated`, and the audit log keeps what changed."""
        async with self._events.write() as outbox:
            conn = outbox.conn
            room, _ = await moderated_room(conn, actor, request.room)
            changes = _settings_changes(room, request)
            if not changes:
                return (await store.with_pins(conn, [room]))[0]
            await store.update_room(conn, room.id, changes)
            seq = await outbox.next_seq(room.id)
            updated = await store.get_room(conn, room.id)
            assert updated is not None
            await outbox.log(RoomUpdated(room=wire.room_out(updated), seq=seq))
            await audit.record(
                conn,
                "room.update",
                actor_id=actor.id,
                now=now_ms(),
                room_id=room.id,
                details=changes,
            )
        return updated

    async def add_members(
        self,
        actor: User | None,
        room_id: int,
        *,
        user_id: int | None = None,
        usernames: Sequence[str] | None = None,
    ) -> Added:
        """Add one user by id, or up to 500 by username, to a room but a DM (its
        moderators; an admin anywhere; `actor` None is the operator). Idempotent: those
        already in stay as they are. A banned user refuses the whole add.

        Each newcomer gets their own sequenced `member.joined` and audit entry; the
        lookups and the seats are batched, so 500 names cost a handful of statements
        besides those.
        """
        if (user_id is None) == (usernames is None):
            raise BadRequest("send {user_id} or {usernames: [...]}")
        async with self._events.write() as outbox:
            conn = outbox.conn
            room, seat = await self._room_to_add_to(conn, actor, room_id)
            rules.check_can_add_member(actor, room, seat)
            if user_id is not None:
                target = await account_store.live_user(conn, user_id)
                if target is None:
                    raise NotFound("no such user")
                targets, not_found = [target], list[str]()
            else:
                targets, not_found = await _users_named(conn, usernames or ())
            present = await store.members_among(conn, room.id, (u.id for u in targets))
            newcomers = [u for u in targets if u.id not in present]
            for newcomer in newcomers:
                rules.check_guest_may_enter(newcomer, room)
            banned = await store.banned_among(conn, room.id, (u.id for u in newcomers))
            if banned:
                names = ", ".join(sorted(u.username for u in newcomers if u.id in banned))
                raise Forbidden(f"banned from this room: {names}")
            now = now_ms()
            read_upto: dict[int, int] = {}
            for newcomer in newcomers:
                seq = await outbox.next_seq(room.id)
                await outbox.log(MemberJoined(room=room.id, seq=seq, user=wire.user_out(newcomer)))
                outbox.control(
                    MembershipChanged(user_id=newcomer.id, room_id=room.id, joined=True, seq=seq)
                )
                read_upto[newcomer.id] = seq
            await store.add_members(conn, room.id, read_upto, now)
            await audit.record_many(
                conn,
                "member.add",
                actor_id=actor.id if actor else None,
                now=now,
                room_id=room.id,
                target_user_ids=list(read_upto),
            )
            after = await store.get_room(conn, room.id)
            assert after is not None
            for newcomer in newcomers:
                await self.tell_added(outbox, after, newcomer)
        return Added(
            after,
            [u.id for u in newcomers],
            [u.id for u in targets if u.id in present],
            not_found,
        )

    async def remove_member(
        self, actor: User, room_id: int, user_id: int, reason: str | None
    ) -> None:
        """A moderator removes a member (`member.left` with `by` and `reason`, audited);
        a member naming themself leaves, as with `leave`."""
        if user_id == actor.id:
            await self.leave(actor, room_id)
            return
        async with self._events.write() as outbox:
            conn = outbox.conn
            room, _ = await moderated_room(conn, actor, room_id)
            target, seat = await member_of(conn, room.id, user_id)
            rules.check_can_act_on(actor, target, seat, "remove")
            await self.remove_in(outbox, room, target, by=actor, reason=reason)
            await audit.record(
                conn,
                "member.remove",
                actor_id=actor.id,
                now=now_ms(),
                room_id=room.id,
                target_user_id=target.id,
                reason=reason,
            )

    @staticmethod
    async def _room_to_add_to(
        conn: AsyncConnection, actor: User | None, room_id: int
    ) -> tuple[Room, Membership | None]:
        """The room, as the actor may see it to add someone.

        A private room stays invisible to every non-member, mentors included. Admins
        (and the operator) have the one door: they may add people, themselves included,
        to any room but a DM, which has no door at all; for anyone else a private room
        they are not in answers exactly like an id that was never used.
        """
        if actor is not None and actor.role != "admin":
            return await visible_room(conn, actor, room_id)
        found = await store.room_with_membership(conn, room_id, actor.id if actor else 0)
        if found is None or (found[0].kind == "dm" and found[1] is None):
            raise NotFound("no such room")
        return found

    async def members(
        self, user: User, room_id: int, query: str | None, limit: int
    ) -> list[Member]:
        """The room's members, connected ones first, each with their room role and mute."""
        async with self._db.read() as conn:
            room, _ = await visible_room(conn, user, room_id)
            seats = await store.seats(conn, room.id)
            users = await account_store.get_users(conn, seats)
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
        return [Member(u, u.id in online, seats[u.id]) for u in found[:limit]]

    async def admit(
        self, outbox: Outbox, room_id: int, user: User, role: RoomRole = "member"
    ) -> Room:
        """Add a member and tell their connections (`room.added`), in the caller's transaction."""
        room = await self.add_in(outbox, room_id, user, role)
        await self.tell_added(outbox, room, user)
        return room

    async def add_in(
        self, outbox: Outbox, room_id: int, user: User, role: RoomRole = "member"
    ) -> Room:
        """Add a member and take the member.joined seq, in the caller's transaction.

        After the commit every node attaches the user's open connections to the room
        from that seq on.
        """
        conn = outbox.conn
        if user.role == "guest":  # every door into a room comes through here
            entered = await store.get_room(conn, room_id)
            if entered is not None:
                rules.check_guest_may_enter(user, entered)
        await store.add_member(conn, room_id, user.id, now_ms(), role)
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

    async def remove_in(
        self,
        outbox: Outbox,
        room: Room,
        user: User,
        *,
        by: User | None = None,
        reason: str | None = None,
    ) -> None:
        """Take the user out of the room, in the caller's transaction: the room sees
        `member.left` (with `by` and `reason` when a moderator did it) and the user's
        connections get `room.removed` and nothing more of the room.

        The detach command is queued before the event, so every node has detached the
        user's connections before the event (and anything after it) can reach them.
        """
        conn = outbox.conn
        if not await store.remove_member(conn, room.id, user.id):
            return
        seq = await outbox.next_seq(room.id)
        outbox.control(MembershipChanged(user_id=user.id, room_id=room.id, joined=False, seq=seq))
        await outbox.log(
            MemberLeft(
                room=room.id,
                seq=seq,
                user=wire.user_out(user),
                by=wire.user_out(by) if by is not None else None,
                reason=reason,
            )
        )
        after = await store.get_room(conn, room.id)
        # PROTOCOL: room.removed carries a Room, as room.added does.
        outbox.to_user(user.id, RoomRemoved(room=wire.room_out(after or room)))


async def member_of(conn: AsyncConnection, room_id: int, user_id: int) -> tuple[User, Membership]:
    """A member of the room and their seat; 404 for anyone else."""
    seat = await store.get_membership(conn, room_id, user_id)
    target = await account_store.get_user(conn, user_id) if seat is not None else None
    if seat is None or target is None:
        raise NotFound("no such member in this room")
    return target, seat


async def _users_named(conn: AsyncConnection, raw: Sequence[str]) -> tuple[list[User], list[str]]:
    """The users named (in the order given, each once) and the names nobody has.

    Names are read as people paste them: an `@`, surrounding spaces and case do not
    matter; a name that cannot be a username is simply not found.
    """
    wanted: dict[str, str] = {}
    for name in raw:
        folded = name.strip().lstrip("@").lower()
        wanted.setdefault(folded, name)
    found = await account_store.users_by_names(conn, [n for n in wanted if n])
    users = [found[n] for n in wanted if n in found]
    return users, [given for folded, given in wanted.items() if folded not in found]


def _settings_changes(room: Room, request: RoomChanges) -> dict[str, object]:
    """The settings that differ from the room's, checked; column name to new value."""
    wanted: dict[str, object] = {}
    if request.name is not msgspec.UNSET:
        wanted["name"] = text.validate_room_name(request.name)
    if request.topic is not msgspec.UNSET:
        wanted["topic"] = text.validate_topic(request.topic)
    if request.posting is not msgspec.UNSET:
        wanted["posting"] = request.posting
    if request.slow_mode is not msgspec.UNSET:
        wanted["slow_mode"] = request.slow_mode
    if request.archived is not msgspec.UNSET:
        wanted["archived"] = request.archived
    if request.guests_allowed is not msgspec.UNSET:
        if request.guests_allowed:
            rules.check_guests_allowed(room)
        wanted["guests_allowed"] = request.guests_allowed
    return {key: value for key, value in wanted.items() if getattr(room, key) != value}
