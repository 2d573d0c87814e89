"""Moderation: room roles, bans, mutes, and reading the audit log.

Every action and its audit entry are written in one transaction, and what takes a right
away reaches the target's open connections at once: a ban removes them from the room
(`room.removed`, then nothing more of it), a mute refuses their next write.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain import rules
from chatserver.domain.errors import Forbidden, NotFound
from chatserver.domain.models import Membership, RoomRole, User, iso_ms, now_ms
from chatserver.protocol.events import RoomMuted
from chatserver.services.room_events import RoomEvents
from chatserver.services.rooms import RoomService, member_of, moderated_room, visible_room
from chatserver.store import accounts as account_store
from chatserver.store import audit
from chatserver.store import rooms as store
from chatserver.store.audit import AuditEntry
from chatserver.store.engine import Database


@dataclass(frozen=True, slots=True)
class BanEntry:
    user: User
    by: User | None
    reason: str | None
    created_at_ms: int


@dataclass(frozen=True, slots=True)
class AuditView:
    """An audit entry with the users it names (None once such an account is gone)."""

    entry: AuditEntry
    actor: User | None
    target_user: User | None


class ModerationService:
    def __init__(self, db: Database, events: RoomEvents, rooms: RoomService) -> None:
        self._db = db
        self._events = events
        self._rooms = rooms

    async def set_room_role(
        self, actor: User, room_id: int, user_id: int, role: RoomRole
    ) -> tuple[User, Membership]:
        """Make a member a moderator or a member again (the room's owner, or an admin).
        The owner's own role does not change this way."""
        async with self._events.write() as outbox:
            conn = outbox.conn
            room, seat = await visible_room(conn, actor, room_id)
            rules.check_can_change_room_role(actor, seat)
            if room.kind == "dm":
                raise Forbidden("direct-message rooms have no room roles")
            target, target_seat = await member_of(conn, room.id, user_id)
            if target_seat.room_role == "owner":
                raise Forbidden("the owner's room role does not change")
            if role == "owner":
                raise Forbidden("a room has one owner, its creator")
            if target_seat.room_role != role:
                await store.set_room_role(conn, room.id, target.id, role)
                await audit.record(
                    conn,
                    "member.role",
                    actor_id=actor.id,
                    now=now_ms(),
                    room_id=room.id,
                    target_user_id=target.id,
                    details={"room_role": role, "previous": target_seat.room_role},
                )
            return target, await _seat(conn, room.id, target.id)

    async def ban(self, actor: User, room_id: int, user_id: int, reason: str | None) -> None:
        """Remove the user from the room if they are in it, and keep them out."""
        async with self._events.write() as outbox:
            conn = outbox.conn
            room, _ = await moderated_room(conn, actor, room_id)
            if user_id == actor.id:
                raise Forbidden("you cannot ban yourself")
            target = await account_store.get_user(conn, user_id)
            if target is None:
                raise NotFound("no such user")
            seat = await store.get_membership(conn, room.id, target.id)
            rules.check_can_act_on(actor, target, seat, "ban")
            now = now_ms()
            newly = await store.ban(conn, room.id, target.id, actor.id, reason, now)
            if seat is not None:
                await self._rooms.remove_in(outbox, room, target, by=actor, reason=reason)
            if newly or seat is not None:
                await audit.record(
                    conn,
                    "member.ban",
                    actor_id=actor.id,
                    now=now,
                    room_id=room.id,
                    target_user_id=target.id,
                    reason=reason,
                )

    async def unban(self, actor: User, room_id: int, user_id: int) -> None:
        """Let the user join (or be added, or invited) again; idempotent."""
        async with self._events.write() as outbox:
            conn = outbox.conn
            room, _ = await moderated_room(conn, actor, room_id)
            if await store.unban(conn, room.id, user_id):
                await audit.record(
                    conn,
                    "member.unban",
                    actor_id=actor.id,
                    now=now_ms(),
                    room_id=room.id,
                    target_user_id=user_id,
                )

    async def bans(self, actor: User, room_id: int) -> list[BanEntry]:
        """The room's bans, newest first (its moderators)."""
        async with self._db.read() as conn:
            room, _ = await moderated_room(conn, actor, room_id)
            found = await store.bans_of(conn, room.id)
            people = await account_store.get_users(
                conn, [b.user_id for b in found] + [b.by_id for b in found if b.by_id]
            )
        return [
            BanEntry(people[b.user_id], people.get(b.by_id or 0), b.reason, b.created_at_ms)
            for b in found
            if b.user_id in people
        ]

    async def mute(
        self, actor: User, room_id: int, user_id: int, duration_s: int, reason: str | None
    ) -> int:
        """Time a member out: until the returned time (ms) they read but do not write.
        Their open connections are told (`room.muted`) so a client can show it at once."""
        async with self._events.write() as outbox:
            conn = outbox.conn
            room, _ = await moderated_room(conn, actor, room_id)
            target, seat = await member_of(conn, room.id, user_id)
            if target.id == actor.id and seat.room_role == "owner":
                raise Forbidden("you cannot mute yourself in a room you own")
            rules.check_can_act_on(actor, target, seat, "mute")
            now = now_ms()
            until = now + duration_s * 1000
            await store.set_muted_until(conn, room.id, target.id, until)
            await audit.record(
                conn,
                "member.mute",
                actor_id=actor.id,
                now=now,
                room_id=room.id,
                target_user_id=target.id,
                reason=reason,
                details={"duration_s": duration_s, "until": iso_ms(until)},
            )
            outbox.to_user(target.id, RoomMuted(room=room.id, until=iso_ms(until)))
        return until

    async def unmute(self, actor: User, room_id: int, user_id: int) -> None:
        """Lift a member's mute; idempotent."""
        async with self._events.write() as outbox:
            conn = outbox.conn
            room, _ = await moderated_room(conn, actor, room_id)
            target, seat = await member_of(conn, room.id, user_id)
            now = now_ms()
            if seat.muted_until_ms is None or seat.muted_until_ms <= now:
                return
            rules.check_can_act_on(actor, target, seat, "unmute")
            await store.set_muted_until(conn, room.id, target.id, None)
            await audit.record(
                conn,
                "member.unmute",
                actor_id=actor.id,
                now=now,
                room_id=room.id,
                target_user_id=target.id,
            )
            outbox.to_user(target.id, RoomMuted(room=room.id, until=None))

    async def room_audit(
        self, actor: User, room_id: int, before: int | None, limit: int
    ) -> list[AuditView]:
        """A page of the room's audit log, newest first (its moderators)."""
        async with self._db.read() as conn:
            room, _ = await moderated_room(conn, actor, room_id)
            return await _page(conn, room.id, before, limit)

    async def server_audit(self, actor: User, before: int | None, limit: int) -> list[AuditView]:
        """A page of every room's audit log, newest first (admins)."""
        if actor.role != "admin":
            raise Forbidden("only admins read the whole audit log")
        async with self._db.read() as conn:
            return await _page(conn, None, before, limit)


async def _seat(conn: AsyncConnection, room_id: int, user_id: int) -> Membership:
    seat = await store.get_membership(conn, room_id, user_id)
    assert seat is not None
    return seat


async def _page(
    conn: AsyncConnection, room_id: int | None, before: int | None, limit: int
) -> list[AuditView]:
    entries = await audit.page(conn, room_id=room_id, before=before, limit=limit)
    ids = {e.actor_id for e in entries} | {e.target_user_id for e in entries}
    people = await account_store.get_users(conn, [i for i in ids if i is not None])
    return [
        AuditView(
            e,
            people.get(e.actor_id) if e.actor_id is not None else None,
            people.get(e.target_user_id) if e.target_user_id is not None else None,
        )
        for e in entries
    ]
