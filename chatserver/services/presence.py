"""Presence and typing: ephemeral signals, throttled so they never outweigh messages."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from chatserver.domain.models import User
from chatserver.protocol import wire
from chatserver.services.publisher import Publisher
from chatserver.store import accounts as account_store
from chatserver.store import rooms as room_store
from chatserver.store import social as social_store
from chatserver.store.engine import Database

log = logging.getLogger(__name__)

TYPING_INTERVAL = 2.0
"""A user's typing in one room is announced at most once per this many seconds."""


class PresenceService:
    """Announces `online` when a user's first connection opens and `offline` a grace
    period after their last one closes (a quick reconnect announces nothing).

    Events go to every room the user is in (unsequenced, so only members who are
    connected receive them) and to their friends' user channels.
    """

    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        grace: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._publisher = publisher
        self._grace = grace
        self._clock = clock
        self._online: set[int] = set()
        self._going_offline: dict[int, asyncio.TimerHandle] = {}
        self._typing_sent: dict[tuple[int, int], float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def connected(self, user_id: int) -> None:
        timer = self._going_offline.pop(user_id, None)
        if timer is not None:
            timer.cancel()
            return
        if user_id not in self._online:
            self._online.add(user_id)
            self._spawn(self._announce(user_id, "online"))

    def disconnected(self, user_id: int) -> None:
        loop = asyncio.get_running_loop()
        self._going_offline[user_id] = loop.call_later(self._grace, self._went_offline, user_id)

    def is_online(self, user_id: int) -> bool:
        return user_id in self._online

    async def typing(self, user: User, room_id: int) -> None:
        """Announce typing, unless this user already did in this room a moment ago."""
        now = self._clock()
        key = (user.id, room_id)
        if now - self._typing_sent.get(key, -TYPING_INTERVAL) < TYPING_INTERVAL:
            return
        self._typing_sent[key] = now
        if len(self._typing_sent) > 100_000:
            self._typing_sent = {
                k: t for k, t in self._typing_sent.items() if now - t < TYPING_INTERVAL
            }
        frame = wire.event("typing", room=room_id, user=wire.user_out(user))
        await self._publisher.room(room_id, 0, frame)

    def _went_offline(self, user_id: int) -> None:
        self._going_offline.pop(user_id, None)
        self._online.discard(user_id)
        self._spawn(self._announce(user_id, "offline"))

    async def _announce(self, user_id: int, status: str) -> None:
        try:
            async with self._db.read() as conn:
                user = await account_store.get_user(conn, user_id)
                room_ids = await room_store.user_room_ids(conn, user_id)
                friends = await social_store.friend_ids(conn, user_id)
        except Exception as exc:
            log.warning("presence of user %s not announced: %s", user_id, exc)
            return
        if user is None:
            return
        frame = wire.event("presence", user=wire.user_out(user), status=status)
        for room_id in room_ids:
            await self._publisher.room(room_id, 0, frame)
        for friend_id in friends:
            await self._publisher.user(friend_id, frame)

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for timer in self._going_offline.values():
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
