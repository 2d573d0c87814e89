"""Reactions: add and remove one emoji per user per message, counted and announced."""

from __future__ import annotations

from chatserver.domain.emojis import normalize_reaction
from chatserver.domain.errors import LimitReached
from chatserver.domain.models import Reaction, User, now_ms
from chatserver.protocol import wire
from chatserver.services.messages import live_message
from chatserver.services.publisher import Publisher
from chatserver.services.rooms import member_room
from chatserver.store import events as event_store
from chatserver.store import messages as message_store
from chatserver.store import reactions as store
from chatserver.store import rooms as room_store
from chatserver.store.engine import Database

MAX_DISTINCT = 20
RECENT = 24


class ReactionService:
    def __init__(self, db: Database, publisher: Publisher) -> None:
        self._db = db
        self._publisher = publisher

    async def react(self, user: User, message_id: object, emoji: object) -> tuple[Reaction, ...]:
        """Add the caller's reaction; adding it again changes nothing and announces nothing."""
        return await self._change(user, message_id, normalize_reaction(emoji), add=True)

    async def unreact(self, user: User, message_id: object, emoji: object) -> tuple[Reaction, ...]:
        return await self._change(user, message_id, normalize_reaction(emoji), add=False)

    async def recent(self, user: User) -> list[str]:
        async with self._db.read() as conn:
            return await store.recent_for_user(conn, user.id, RECENT)

    async def _change(
        self, user: User, message_id: object, emoji: str, *, add: bool
    ) -> tuple[Reaction, ...]:
        frame = b""
        async with self._db.write() as conn:
            message = await live_message(conn, user, message_id)
            room, _ = await member_room(conn, user, message.room_id)
            if add:
                if not await store.has_emoji(conn, message.id, emoji) and (
                    await store.distinct_count(conn, message.id) >= MAX_DISTINCT
                ):
                    raise LimitReached(f"a message has at most {MAX_DISTINCT} different emoji")
                changed = await store.add(conn, message.id, user.id, emoji, now_ms())
            else:
                changed = await store.remove(conn, message.id, user.id, emoji)
            if changed:
                seq = await room_store.next_seq(conn, room.id)
                count = await store.bump(conn, message.id, emoji, 1 if add else -1, seq)
                await message_store.touch(conn, message.id, seq)
                kind = "reaction.added" if add else "reaction.removed"
                frame = wire.reaction_event(kind, room.id, seq, message.id, emoji, user.id, count)
                await event_store.append(conn, room.id, seq, frame, now_ms())
            reactions = (await store.reactions_for(conn, [message.id], user.id)).get(message.id, ())
        if frame:
            await self._publisher.room(room.id, seq, frame)
        return reactions
