"""Presence and typing: ephemeral signals, throttled so they never outweigh messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import Any

from chatserver.coordination.base import PresenceRegistry, Throttle
from chatserver.domain.models import Room, User, iso_ms, now_ms
from chatserver.protocol import wire
from chatserver.protocol.events import PresenceEvent, PresenceStatus, TypingEvent
from chatserver.services.publisher import Publisher
from chatserver.store import accounts as account_store
from chatserver.store import rooms as room_store
from chatserver.store import social as social_store
from chatserver.store.engine import Database

log = logging.getLogger(__name__)

TYPING_INTERVAL = 2.0
"""A user's typing in one room is announced at most once per this many seconds."""


class PresenceService:
    """Announces `online` when a user's first connection (on any node) opens and
    `offline` a grace period after their last one closes, so a quick reconnect —
    even to another node — announces nothing.

    Events go to every room the user is in (unsequenced, so only members who are
    connected receive them) and to their friends' user channels.
    """

    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        registry: PresenceRegistry,
        throttle: Throttle,
        grace: float,
        room_limit: int = 200,
    ) -> None:
        self._db = db
        self._publisher = publisher
        self._registry = registry
        self._throttle = throttle
        self._grace = grace
        self._room_limit = room_limit
        self._going_offline: dict[int, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def connected(self, user_id: int) -> None:
        """The hub saw this node's first connection of the user."""
        timer = self._going_offline.pop(user_id, None)
        if timer is not None:
            timer.cancel()  # back within the grace period: still counted, nothing to say
            return
        self._spawn(self._came(user_id))

    def disconnected(self, user_id: int) -> None:
        """The hub saw this node's last connection of the user close."""
        loop = asyncio.get_running_loop()
        self._going_offline[user_id] = loop.call_later(self._grace, self._left, user_id)

    async def online_among(self, user_ids: Iterable[int]) -> set[int]:
        return await self._registry.online_among(user_ids)

    async def typing(self, user: User, room: Room) -> None:
        """Announce typing, unless this user already did in this room a moment ago.

        `room` was read by the caller, which checked that the user may write there. In a
        large room the room itself is throttled too: one typing event per
        `TYPING_INTERVAL` whoever types, so that a hundred people typing during a
        workshop cost the room no more than one would.
        """
        if not await self._throttle.allow(f"{user.id}:{room.id}", TYPING_INTERVAL):
            return
        if room.member_count > self._room_limit and not await self._throttle.allow(
            f"room:{room.id}", TYPING_INTERVAL
        ):
            return
        frame = wire.encode(TypingEvent(room=room.id, user=wire.user_out(user)))
        await self._publisher.room(room.id, 0, frame)

    async def _came(self, user_id: int) -> None:
        if await self._registry.add(user_id):
            await self._announce(user_id, "online")

    def _left(self, user_id: int) -> None:
        self._going_offline.pop(user_id, None)
        self._spawn(self._went(user_id))

    async def _went(self, user_id: int) -> None:
        if await self._registry.remove(user_id):
            await self._announce(user_id, "offline")

    async def _announce(self, user_id: int, status: PresenceStatus) -> None:
        try:
            async with self._db.read() as conn:
                user = await account_store.get_user(conn, user_id)
                rooms = await room_store.user_rooms(conn, user_id)
                friends = await social_store.friend_ids(conn, user_id)
        except Exception as exc:
            log.warning("presence of user %s not announced: %s", user_id, exc)
            return
        if user is None:
            return
        # `at` also makes each announcement's bytes unique, which the hub relies on to
        # deliver it once per connection however many rooms carry it.
        frame = wire.encode(
            PresenceEvent(user=wire.user_out(user), status=status, at=iso_ms(now_ms()))
        )
        for room, _ in rooms:
            # Large rooms learn presence on demand (the member list's `online`): two
            # thousand people connecting must not cost two thousand squared frames.
            if room.member_count <= self._room_limit:
                await self._publisher.room(room.id, 0, frame)
        for friend_id in friends:
            await self._publisher.user(friend_id, frame)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        await self._registry.start()

    async def close(self) -> None:
        for timer in self._going_offline.values():
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await self._registry.close()
