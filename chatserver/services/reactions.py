"""Reactions: add and remove one emoji per user per message, counted and announced."""

from __future__ import annotations

from chatserver.domain import rules
from chatserver.domain.emojis import normalize_reaction
from chatserver.domain.errors import LimitReached
from chatserver.domain.models import Reaction, User, now_ms
from chatserver.protocol.events import ReactionAdded, ReactionRemoved
from chatserver.services.messages import live_message
from chatserver.services.room_events import RoomEvents
from chatserver.services.rooms import member_room
from chatserver.store import messages as message_store
from chatserver.store import reactions as store
from chatserver.store.engine import Database

MAX_DISTINCT = 20
RECENT = 24


class ReactionService:
    def __init__(self, db: Database, events: RoomEvents) -> None:
        self._db = db
        self._events = events

    async def react(self, user: User, message_id: int, emoji: str) -> tuple[Reaction, ...]:
        """Add the caller's reaction; adding it again changes nothing and announces nothing."""
        return await self._change(user, message_id, normalize_reaction(emoji), add=True)

    async def unreact(self, user: User, message_id: int, emoji: str) -> tuple[Reaction, ...]:
        return await self._change(user, message_id, normalize_reaction(emoji), add=False)

    async def recent(self, user: User) -> list[str]:
        async with self._db.read() as conn:
            return await store.recent_for_user(conn, user.id, RECENT)

    async def _change(
        self, user: User, message_id: int, emoji: str, *, add: bool
    ) -> tuple[Reaction, ...]:
        async with self._events.write() as outbox:
            conn = outbox.conn
            message = await live_message(conn, user, message_id)
            room, membership = await member_room(conn, user, message.room_id)
            # Reactions stay open in announcement rooms, not in archived ones nor to the muted.
            rules.check_can_write(user, room, membership, now_ms())
            if add:
                if not await store.has_emoji(conn, message.id, emoji) and (
                    await store.distinct_count(conn, message.id) >= MAX_DISTINCT
                ):
                    raise LimitReached(f"a message has at most {MAX_DISTINCT} different emoji")
                changed = await store.add(conn, message.id, user.id, emoji, now_ms())
            else:
                changed = await store.remove(conn, message.id, user.id, emoji)
            if changed:
                seq = await outbox.next_seq(room.id)
                count = await store.bump(conn, message.id, emoji, 1 if add else -1, seq)
                await message_store.touch(conn, message.id, seq)
                kind = ReactionAdded if add else ReactionRemoved
                await outbox.log(
                    kind(
                        room=room.id,
                        seq=seq,
                        message=message.id,
                        emoji=emoji,
                        user=user.id,
                        count=count,
                    )
                )
            reactions = (await store.reactions_for(conn, [message.id], user.id)).get(message.id, ())
        return reactions
