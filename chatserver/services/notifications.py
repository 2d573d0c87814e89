"""Notifications: who a new message alerts (the filters), the inbox, and live pushes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain import rules
from chatserver.domain.errors import BadRequest
from chatserver.domain.models import Level, Message, Notification, Reason, Room, User
from chatserver.domain.text import RoomCall
from chatserver.protocol import wire
from chatserver.protocol.events import NotificationEvent
from chatserver.services.publisher import Publisher
from chatserver.store import accounts as account_store
from chatserver.store import messages as message_store
from chatserver.store import notifications as store
from chatserver.store import reports as report_store
from chatserver.store import rooms as room_store
from chatserver.store import social as social_store
from chatserver.store.engine import Database

Pending = list[tuple[int, int, Reason]]
"""(notification id, user id, reason) rows committed and waiting to be pushed."""


async def decide(
    conn: AsyncConnection,
    room: Room,
    author: User,
    mentions: Sequence[int],
    called: Collection[int] = (),
) -> list[tuple[int, Reason]]:
    """Who gets alerted by `author`'s new message in `room`, with the strongest reason.

    Cost does not grow with the room: a member can only be alerted if they have a
    room override, a default of `all`/`friends`, are mentioned, or the room is a
    DM (at most a handful of members). Everyone else keeps the default `mentions`
    and is not mentioned, so is never looked at. A moderator's `@room` or `@here`
    (`called`: the members it reaches) is the exception, and is meant to be one.
    """
    is_dm = room.kind == "dm"
    overrides = await room_store.overrides(conn, room.id)
    reached = set(called)
    candidates: set[int] = set(overrides) | set(mentions) | reached
    if is_dm:
        candidates |= set(await room_store.member_ids(conn, room.id))
    else:
        candidates |= await store.members_with_default(conn, room.id, ("all", "friends"))
    candidates.discard(author.id)
    if not candidates:
        return []
    friends = await social_store.friend_ids_among(conn, author.id, candidates)
    blocked = await social_store.blocked_either_way_among(conn, author.id, candidates)
    defaults = await store.defaults_of(conn, [u for u in candidates if u not in overrides])
    mentioned = set(mentions)
    out: list[tuple[int, Reason]] = []
    for user_id in sorted(candidates - blocked):
        level = rules.effective_level(
            defaults.get(user_id, "mentions"), overrides.get(user_id), is_dm
        )
        reason = rules.notification_reason(
            level,
            is_dm=is_dm,
            is_friend=user_id in friends,
            mentioned=user_id in mentioned,
            room_mentioned=user_id in reached,
        )
        if reason is not None:
            out.append((user_id, reason))
    return out


OnlineAmong = Callable[[Iterable[int]], Awaitable[set[int]]]


class NotificationService:
    def __init__(self, db: Database, publisher: Publisher, online_among: OnlineAmong) -> None:
        self._db = db
        self._publisher = publisher
        self._online_among = online_among

    async def online_members(self, room_id: int) -> set[int]:
        """The room's members connected now (whom an `@here` reaches), read before the
        sender's transaction so that no write waits on the presence registry."""
        async with self._db.read() as conn:
            members = await room_store.member_ids(conn, room_id)
        return await self._online_among(members)

    async def record(
        self,
        conn: AsyncConnection,
        room: Room,
        message: Message,
        call: RoomCall | None = None,
        online: Collection[int] = (),
    ) -> Pending:
        """Decide and store a new message's notifications in the sender's transaction.

        `call` is a moderator's `@room` (every member) or `@here` (the `online` ones
        among them); the caller passes it only for moderators."""
        called: Collection[int] = ()
        if call == "room":
            called = set(await room_store.member_ids(conn, room.id))
        elif call == "here":
            called = await room_store.members_among(conn, room.id, online)
        decided = await decide(conn, room, message.author, message.mentions, called)
        if not decided:
            return []
        return await store.insert_many(conn, decided, message.id, room.id, message.created_at_ms)

    async def record_report(
        self, conn: AsyncConnection, message: Message, reporter_id: int, now: int
    ) -> Pending:
        """Alert every mentor and admin but the reporter to a report of `message`, in the
        report's transaction. Such an alert is about no message of the room's stream:
        it reaches staff whatever the room, and goes when the message's reports do."""
        staff = await report_store.staff_ids(conn)
        rows: list[tuple[int, Reason]] = [(uid, "report") for uid in staff if uid != reporter_id]
        return await store.insert_many(conn, rows, message.id, message.room_id, now)

    async def record_answered(
        self, conn: AsyncConnection, room: Room, question: Message, answerer: User, now: int
    ) -> Pending:
        """Alert a question's author that it was answered, in the answer's transaction:
        not when they answered it themselves, nor when their level for the room is
        `none` (nor across a block), nor once they have left the room."""
        asker = question.author.id
        if asker == answerer.id:
            return []
        seat = await room_store.get_membership(conn, room.id, asker)
        if seat is None:
            return []
        default = (await store.defaults_of(conn, [asker])).get(asker, "mentions")
        if rules.effective_level(default, seat.notify_level, room.kind == "dm") == "none":
            return []
        if await social_store.blocked_either_way_among(conn, answerer.id, [asker]):
            return []
        return await store.insert_many(conn, [(asker, "answered")], question.id, room.id, now)

    async def push(self, message: Message, pending: Pending, at: int | None = None) -> None:
        """After commit: send each recipient their `notification` event, dated `at` (the
        message's creation unless said otherwise)."""
        created = message.created_at_ms if at is None else at
        for notification_id, user_id, reason in pending:
            notification = Notification(notification_id, reason, message, created, False)
            frame = wire.encode(NotificationEvent(notification=wire.notification_out(notification)))
            await self._publisher.user(user_id, frame)

    async def inbox(self, user: User, unread_only: bool, limit: int = 100) -> list[Notification]:
        """Newest first; four queries whatever `limit` (the messages and their reactions
        are fetched for the whole page at once)."""
        async with self._db.read() as conn:
            rows = await store.list_for_user(conn, user.id, unread_only, limit)
            found = await message_store.get_messages(conn, [row[1] for row in rows], user.id)
        return [
            Notification(notification_id, reason, found[message_id], created, read)
            for notification_id, message_id, reason, created, read in rows
            if message_id in found
        ]

    async def mark_read(self, user: User, ids: list[int] | None, all_: bool | None) -> None:
        if all_ is True:
            chosen: list[int] | None = None
        elif ids is not None:
            chosen = ids
        else:
            raise BadRequest("send {ids: [..]} or {all: true}")
        async with self._db.write() as conn:
            await store.mark_read(conn, user.id, chosen)

    async def settings(self, user: User) -> tuple[Level, dict[int, Level]]:
        async with self._db.read() as conn:
            default = await account_store.get_notify_default(conn, user.id)
            overrides = await room_store.user_overrides(conn, user.id)
        return default, overrides

    async def update_settings(
        self, user: User, default: Level | None, rooms: dict[int, Level | None] | None
    ) -> tuple[Level, dict[int, Level]]:
        changes = rooms or {}
        async with self._db.write() as conn:
            joined = await store.joined_among(conn, user.id, changes)
            for room_id in changes:
                if room_id not in joined:
                    raise BadRequest(f"you are not a member of room {room_id}")
            await store.set_levels(conn, user.id, changes)
            if default is not None:
                await account_store.set_notify_default(conn, user.id, default)
        return await self.settings(user)
