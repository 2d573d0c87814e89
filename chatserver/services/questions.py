"""Questions for mentors: asking, answering, reopening, votes, claims and each room's
queue; every change is a sequenced `message.updated` carrying the full state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain import rules
from chatserver.domain.errors import BadRequest, Conflict, Forbidden, NotFound, NotMember
from chatserver.domain.models import (
    Membership,
    Message,
    Question,
    QuestionState,
    Room,
    User,
    now_ms,
)
from chatserver.protocol.events import MessageUpdated
from chatserver.protocol.wire import broadcast_out
from chatserver.services.messages import message_in_view
from chatserver.services.notifications import NotificationService, Pending
from chatserver.services.room_events import Outbox, RoomEvents
from chatserver.services.rooms import visible_room
from chatserver.store import messages as message_store
from chatserver.store import questions as store
from chatserver.store.engine import Database
from chatserver.store.questions import QuestionSort


def _question(message: Message) -> Question:
    if message.question is None:
        raise NotFound("this message is not a question")
    return message.question


Change = Callable[[AsyncConnection, Message, Room, Membership | None], Awaitable[bool]]
"""One change to a question, in the write's transaction; False when nothing changed."""


class QuestionService:
    def __init__(
        self, db: Database, events: RoomEvents, notifications: NotificationService
    ) -> None:
        self._db = db
        self._events = events
        self._notifications = notifications

    async def set_state(
        self, user: User, message_id: int, state: QuestionState, answer: int | None
    ) -> Message:
        """`open` asks (or reopens), `answered` answers, optionally naming the answer: by
        the message's author or the room's moderators."""
        pending: Pending = []

        async def change(
            conn: AsyncConnection, message: Message, room: Room, seat: Membership | None
        ) -> bool:
            nonlocal pending
            moderator = rules.moderates(user, room, seat)
            if message.author.id != user.id and not moderator:
                raise Forbidden("only the author and the room's moderators do this")
            if seat is None and not moderator:
                raise NotMember("join the room first")
            rules.check_can_write(user, room, seat, now_ms())
            if state == "open":
                if message.question is None:
                    return await store.ask(conn, message.id, room.id, now_ms())
                if message.question.state == "open":
                    return False
                await store.set_state(conn, message.id, "open", None, None)
                return True
            current = _question(message)
            if answer is not None:
                if answer == message.id:
                    raise BadRequest("a question does not answer itself")
                if not await message_store.existing_in_room(conn, room.id, answer):
                    raise NotFound("the answer is not a message of this room")
            if current.state == "answered" and current.answer == answer:
                return False
            await store.set_state(conn, message.id, "answered", user.id, answer)
            if current.state == "open":
                pending = await self._notifications.record_answered(
                    conn, room, message, user, now_ms()
                )
            return True

        updated = await self._write(user, message_id, change)
        if pending:
            await self._notifications.push(updated, pending, now_ms())
        return updated

    async def vote(self, user: User, message_id: int, *, up: bool) -> Message:
        """Upvote a question or take the vote back (members but its author); idempotent."""

        async def change(
            conn: AsyncConnection, message: Message, room: Room, seat: Membership | None
        ) -> bool:
            if seat is None:
                raise NotMember("join the room first")
            _question(message)
            if message.author.id == user.id:
                raise Forbidden("you cannot vote for your own question")
            rules.check_can_write(user, room, seat, now_ms())
            if up:
                return await store.vote(conn, message.id, user.id, now_ms())
            return await store.unvote(conn, message.id, user.id)

        return await self._write(user, message_id, change)

    async def claim(self, user: User, message_id: int, *, on: bool) -> Message:
        """Claim an open question ("I am on it"; moderators), or drop the claim."""

        async def change(
            conn: AsyncConnection, message: Message, room: Room, seat: Membership | None
        ) -> bool:
            rules.check_moderates(user, room, seat)
            current = _question(message)
            if on and current.state == "answered":
                raise Conflict("the question is already answered")
            claimed_by = user.id if on else None
            if current.claimed_by == claimed_by:
                return False
            await store.set_claim(conn, message.id, claimed_by)
            return True

        return await self._write(user, message_id, change)

    async def queue(
        self, user: User, room_id: int, state: QuestionState, sort: QuestionSort, limit: int
    ) -> list[Message]:
        """A room's questions in queue order, for anyone who may read the room."""
        async with self._db.read() as conn:
            room, _ = await visible_room(conn, user, room_id)
            ids = await store.queue(conn, room.id, state, sort, limit)
            found = await message_store.get_messages(conn, ids, user.id)
        return [found[i] for i in ids if i in found]

    async def _write(self, user: User, message_id: int, change: Change) -> Message:
        """Apply `change`; when it changed something, sequence it as `message.updated`.

        The room's seq is taken after the change, so an idempotent repeat takes none.
        """
        async with self._events.write() as outbox:
            conn = outbox.conn
            message, room, seat = await message_in_view(conn, user, message_id)
            if not await change(conn, message, room, seat):
                return message
            return await self._announce(outbox, message, user)

    async def _announce(self, outbox: Outbox, message: Message, viewer: User) -> Message:
        conn = outbox.conn
        seq = await outbox.next_seq(message.room_id)
        await message_store.touch(conn, message.id, seq)
        current = await message_store.get_message(conn, message.id, viewer.id)
        assert current is not None
        await outbox.log(
            MessageUpdated(room=message.room_id, seq=seq, message=broadcast_out(current))
        )
        return current
