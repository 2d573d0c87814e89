"""Messages: send, edit, delete and history, each committed before it is announced."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain import meetups as meetup_rules
from chatserver.domain import rules, text
from chatserver.domain.errors import BadRequest, Blocked, NotFound
from chatserver.domain.meetups import MeetupSpec
from chatserver.domain.models import Membership, Message, Nonce, Question, Room, User, now_ms
from chatserver.domain.polls import PollDraft
from chatserver.domain.text import RoomCall
from chatserver.protocol.events import MessageCreated, MessageUpdated
from chatserver.protocol.wire import broadcast_out
from chatserver.services.attachments import attach as attach_uploads
from chatserver.services.attachments import check_ids as check_attachment_ids
from chatserver.services.erasure import erase
from chatserver.services.notifications import NotificationService, Pending
from chatserver.services.room_events import Outbox, RoomEvents
from chatserver.services.rooms import claim_post, member_room, visible_room
from chatserver.store import accounts as account_store
from chatserver.store import meetups as meetup_store
from chatserver.store import messages as store
from chatserver.store import notifications as notification_store
from chatserver.store import polls as poll_store
from chatserver.store import questions as question_store
from chatserver.store import rooms as room_store
from chatserver.store import social as social_store
from chatserver.store.engine import Database

DEFAULT_PAGE = 50
MAX_PAGE = 200


async def mentioned_members(conn: AsyncConnection, room_id: int, body: str) -> list[int]:
    candidates = text.mention_candidates(body)
    if not candidates:
        return []
    found = await account_store.users_by_names(conn, candidates)
    members = await room_store.members_among(conn, room_id, (u.id for u in found.values()))
    return text.resolve_mentions(
        body, {name: user.id for name, user in found.items() if user.id in members}
    )


async def live_message(conn: AsyncConnection, user: User, message_id: int) -> Message:
    """A message the caller can see and act on: visible room, not deleted."""
    message, _, _ = await message_in_view(conn, user, message_id)
    return message


async def message_in_view(
    conn: AsyncConnection, user: User, message_id: int
) -> tuple[Message, Room, Membership | None]:
    """A live message the caller can read, its room and the caller's seat there."""
    message = await store.get_message(conn, message_id, user.id)
    if message is None or message.deleted:
        raise NotFound("no such message")
    try:
        room, membership = await visible_room(conn, user, message.room_id)
    except NotFound:
        # Same answer as for an id never used: a private room's ids give nothing away.
        raise NotFound("no such message") from None
    return message, room, membership


@dataclass(frozen=True, slots=True)
class _Stored:
    """A new message, committed and waiting to be announced."""

    message: Message
    pending: Pending


class _AlreadySent(Exception):
    """A send whose nonce was stored by a concurrent retry."""

    def __init__(self, room_id: int) -> None:
        super().__init__(room_id)
        self.room_id = room_id


async def check_dm_open(conn: AsyncConnection, room: Room, user: User) -> None:
    """Nobody writes in a one-to-one DM across a block, whichever side made it.

    A group DM is a small room: a block between two of its members does not silence
    either of them there (it only stops notifications between them).
    """
    others = [m for m in await room_store.member_ids(conn, room.id) if m != user.id]
    if len(others) == 1 and await social_store.blocked_either_way_among(conn, user.id, others):
        raise Blocked("you cannot write to this user")


class MessageService:
    def __init__(
        self, db: Database, events: RoomEvents, notifications: NotificationService
    ) -> None:
        self._db = db
        self._events = events
        self._notifications = notifications

    async def send(
        self,
        user: User,
        room_id: int,
        body: str,
        reply_to: int | None = None,
        nonce: Nonce = None,
        question: bool = False,
        meetup: MeetupSpec | None = None,
        poll: PollDraft | None = None,
        attachments: Sequence[int] = (),
    ) -> Message:
        """Store a new message and announce it; a repeated nonce returns the first one.

        `question` asks it as a question, as is every message but a reply while the
        room's workshop runs (question mode)."""
        if meetup is not None and isinstance(body, str) and not body.strip():
            body = meetup.title  # a meetup needs no other text
        if poll is not None and isinstance(body, str) and not body.strip():
            body = poll.question  # nor does a poll
        check_attachment_ids(attachments)
        # A message of files only needs no text.
        files_only = bool(attachments) and isinstance(body, str) and not body.strip()
        prepared = "" if files_only else text.prepare_body(body)
        checked_nonce = nonce
        reply = reply_to
        call = text.room_call(prepared)
        online = await self._notifications.online_members(room_id) if call == "here" else set()
        try:
            return await self._send(
                user,
                room_id,
                prepared,
                reply,
                checked_nonce,
                call,
                online,
                question,
                meetup,
                poll,
                attachments=attachments,
            )
        except _AlreadySent as resent:
            # Two retries raced past the first lookup; the unique index let one through.
            async with self._db.read() as conn:
                earlier = await store.find_by_nonce(conn, resent.room_id, user.id, checked_nonce)
                assert earlier is not None
                return await self._current(conn, earlier, user)

    async def _send(
        self,
        user: User,
        room_id: int,
        prepared: str,
        reply: int | None,
        checked_nonce: Nonce,
        call: RoomCall | None,
        online: set[int],
        question: bool,
        meetup: MeetupSpec | None = None,
        poll: PollDraft | None = None,
        attachments: Sequence[int] = (),
    ) -> Message:
        async def store_it(outbox: Outbox) -> Message | _Stored:
            """The whole write; it may run twice (see Database.write_shared)."""
            conn = outbox.conn
            room, membership = await member_room(conn, user, room_id)
            if room.kind == "dm":
                await check_dm_open(conn, room, user)
            if checked_nonce is not None:
                earlier = await store.find_by_nonce(conn, room.id, user.id, checked_nonce)
                if earlier is not None:
                    return await self._current(conn, earlier, user)
            now = now_ms()
            # Archived, muted, announcement-only and slow mode: all from the seat just read.
            rules.check_can_write(user, room, membership, now, post=True)
            if meetup is not None:
                meetup_rules.check_room_kind(room.kind)
            await claim_post(conn, user, room, membership, now)
            if reply is not None and not await store.existing_in_room(conn, room.id, reply):
                raise NotFound("the message replied to does not exist in this room")
            mentions = await mentioned_members(conn, room.id, prepared)
            seq = await outbox.next_seq(room.id)
            try:
                message = await store.insert_message(
                    conn,
                    room_id=room.id,
                    seq=seq,
                    author=user,
                    body=prepared,
                    reply_to=reply,
                    mentions=mentions,
                    nonce=checked_nonce,
                    now=now,
                )
            except IntegrityError:
                if checked_nonce is None:
                    raise
                raise _AlreadySent(room.id) from None  # the rollback takes the seq back
            if question or (reply is None and room.question_mode(now)):
                await question_store.ask(conn, message.id, room.id, now)
                message = replace(message, question=Question("open", 0, None, None, None, now))
            if meetup is not None:
                created = await meetup_store.create(conn, message.id, room.id, meetup, now)
                message = replace(message, meetup=created)
            if poll is not None:
                made = await poll_store.create(
                    conn,
                    message.id,
                    poll.question,
                    poll.options,
                    poll.multiple,
                    poll.anonymous,
                    now,
                )
                message = replace(message, poll=made)
            if attachments:
                files = await attach_uploads(conn, user, attachments, message.id)
                message = replace(message, attachments=files)
            await outbox.log(MessageCreated(room=room.id, seq=seq, message=broadcast_out(message)))
            # The author has read what they wrote.
            await room_store.move_read_marker(conn, room.id, user.id, seq)
            moderator = call is not None and rules.moderates(user, room, membership)
            pending = await self._notifications.record(
                conn, room, message, call if moderator else None, online
            )
            return _Stored(message, pending)

        stored = await self._events.write_shared(store_it, room_id)
        if isinstance(stored, Message):  # a resend of a message already stored
            return stored
        await self._notifications.push(stored.message, stored.pending)
        return stored.message

    async def edit(self, user: User, message_id: int, body: str) -> Message:
        prepared = text.prepare_body(body)
        async with self._events.write() as outbox:
            conn = outbox.conn
            message, room, membership = await message_in_view(conn, user, message_id)
            rules.check_can_edit(user, message)
            rules.check_can_write(user, room, membership, now_ms())
            mentions = await mentioned_members(conn, message.room_id, prepared)
            seq = await outbox.next_seq(message.room_id)
            await store.edit_message(conn, message.id, prepared, mentions, seq, now_ms())
            updated = await self._current(conn, message, user)
            await outbox.log(
                MessageUpdated(room=message.room_id, seq=seq, message=broadcast_out(updated))
            )
        return updated

    async def delete(self, user: User, message_id: int) -> None:
        """Tombstone the message, by its author or as one of the room's moderators: its
        text, reactions and notifications go (see services/erasure.py)."""
        async with self._events.write() as outbox:
            message, room, membership = await message_in_view(outbox.conn, user, message_id)
            await erase(outbox, user, message, rules.deleted_by(user, message, room, membership))

    async def history(
        self,
        user: User,
        room_id: int,
        before: int | None,
        after: int | None,
        limit: int | None,
        around: int | None = None,
    ) -> list[Message]:
        """A page of a room's messages (exclusive seq cursors, 50 unless `limit` says);
        public rooms can be read without joining. `around` (a message id, without
        `before`/`after`) centres the page on that message of the room."""
        size = DEFAULT_PAGE if limit is None else limit
        if around is not None and (before is not None or after is not None):
            raise BadRequest("around cannot be combined with before or after")
        async with self._db.read() as conn:
            room, _ = await visible_room(conn, user, room_id)
            if around is not None:
                return await self._around(conn, room.id, user, around, size)
            return await store.history(
                conn, room.id, user.id, before=before, after=after, limit=size
            )

    async def _around(
        self, conn: AsyncConnection, room_id: int, user: User, message_id: int, size: int
    ) -> list[Message]:
        centre = await store.get_message(conn, message_id)
        if centre is None or centre.room_id != room_id:
            raise NotFound("no such message in this room")
        older = (size - 1) // 2
        upto = await store.history(
            conn, room_id, user.id, before=centre.seq + 1, after=None, limit=older + 1
        )
        later = await store.history(
            conn, room_id, user.id, before=None, after=centre.seq, limit=size - len(upto)
        )
        return upto + later

    async def read(self, user: User, room_id: int, seq: int) -> Room:
        async with self._db.write() as conn:
            room, _ = await member_room(conn, user, room_id)
            upto = min(seq, room.last_seq)
            await room_store.move_read_marker(conn, room.id, user.id, upto)
            await notification_store.mark_room_read(conn, user.id, room.id, upto)
        return room

    async def _current(self, conn: AsyncConnection, message: Message, viewer: User) -> Message:
        found = await store.get_message(conn, message.id, viewer.id)
        assert found is not None
        return found
