"""Questions for mentors: asking, answering, reopening, votes, claims and each room's
queue; every change is a sequenced `message.updated` carrying the full state (see
services/message_updates.py)."""

from __future__ import annotations

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
from chatserver.services.message_updates import update_message
from chatserver.services.notifications import NotificationService, Pending
from chatserver.services.room_events import RoomEvents
from chatserver.services.rooms import visible_room
from chatserver.store import messages as message_store
from chatserver.store import questions as store
from chatserver.store.engine import Database
from chatserver.store.questions import QuestionSort


def _question(message: Message) -> Question:
    if message.question is None:
        raise NotFound("this message is not a question")
    return message.question


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

        updated = await update_message(self._events, user, message_id, change)
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

        return await update_message(self._events, user, message_id, change)

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

        return await update_message(self._events, user, message_id, change)

    async def queue(
        self, user: User, room_id: int, state: QuestionState, sort: QuestionSort, limit: int
    ) -> list[Message]:
        """A room's questions in queue order, for anyone who may read the room."""
        async with self._db.read() as conn:
            room, _ = await visible_room(conn, user, room_id)
            ids = await store.queue(conn, room.id, state, sort, limit)
            found = await message_store.get_messages(conn, ids, user.id)
        return [found[i] for i in ids if i in found]
