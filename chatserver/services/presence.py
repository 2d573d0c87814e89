"""Presence and typing: ephemeral signals, throttled so they never outweigh messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import Any

from chatserver.coordination.base import PresenceRegistry, Throttle
from chatserver.domain.models import Room, User, iso_ms, now_ms
from chatserver.protocol import wire
from chatserver.protocol.envelope import PresenceWindow
from chatserver.protocol.events import PresenceEvent, PresenceStatus, TypingEvent
from chatserver.services.publisher import Publisher
from chatserver.store import accounts as account_store
from chatserver.store import audiences as audience_store
from chatserver.store.engine import Database

log = logging.getLogger(__name__)

TYPING_INTERVAL = 2.0
"""A user's typing in one room is announced at most once per this many seconds."""

PRESENCE_WINDOW = 0.05
"""Presence changes are gathered this long, then announced together: after a restart
two thousand users return within a second, and one read for a window's users (instead
of three queries each) and one broker message for all their frames (each connection
then gets the ones meant for it in one push) cost a fraction of announcing each alone.
A user who went and came back within the window announces nothing: nobody saw a change."""

SURGE_USERS = 20
"""A window that announced this many users or more means a surge (a restart, the start of
a workshop): the next window is `SURGE_FACTOR` times longer."""
SURGE_FACTOR = 5
"""Each window costs every listening socket one push and one `send`, whatever it holds;
during a reconnect storm 50-ms windows hold 15–20 users each, about eight frames per
socket, and those per-socket costs were a third of the server's CPU. Windows five times
longer while the surge lasts (250 ms: still well under what a person notices of someone
coming online) cut them fivefold and took the storm from 2.95 to 2.1–2.6 ms of server
CPU per client (docs/benchmarks.md); a quiet room keeps 50 ms."""


class PresenceService:
    """Announces `online` when a user's first connection (on any node) opens and
    `offline` a grace period after their last one closes, so a quick reconnect —
    even to another node — announces nothing.

    Events go to the connected members of every room the user is in and to their
    friends, gathered per `PRESENCE_WINDOW` and announced in the order the changes
    happened, one `PresenceWindow` on the broker per window.
    """

    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        registry: PresenceRegistry,
        throttle: Throttle,
        grace: float,
        room_limit: int = 200,
        window: float = PRESENCE_WINDOW,
    ) -> None:
        self._db = db
        self._publisher = publisher
        self._registry = registry
        self._throttle = throttle
        self._grace = grace
        self._room_limit = room_limit
        self._window = window
        self._due: dict[int, PresenceStatus] = {}
        self._announcing = False
        self._surging = False
        """The last window announced SURGE_USERS or more: the next one is longer."""
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
            self._change(user_id, "online")

    def _left(self, user_id: int) -> None:
        self._going_offline.pop(user_id, None)
        self._spawn(self._went(user_id))

    async def _went(self, user_id: int) -> None:
        if await self._registry.remove(user_id):
            self._change(user_id, "offline")

    def _change(self, user_id: int, status: PresenceStatus) -> None:
        """Note a change for the next announcement. The opposite change still waiting
        cancels out: the others last heard the status this one goes back to."""
        if self._due.get(user_id, status) != status:
            del self._due[user_id]
        else:
            self._due[user_id] = status
        if not self._announcing:
            self._announcing = True
            self._spawn(self._announce_windows())

    async def _announce_windows(self) -> None:
        """One window after another until nothing is due, one at a time (a window's
        `offline` must not overtake the previous window's `online`)."""
        try:
            while self._due:
                await asyncio.sleep(self._window * SURGE_FACTOR if self._surging else self._window)
                due, self._due = self._due, {}
                await self._announce(due)
                self._surging = len(due) >= SURGE_USERS
        finally:
            self._announcing = False

    async def _announce(self, due: dict[int, PresenceStatus]) -> None:
        if not due:
            return
        try:
            async with self._db.read() as conn:
                users = await account_store.get_users(conn, due)
                heard_by = await audience_store.audiences(conn, due, self._room_limit)
        except Exception as exc:
            log.warning("presence of %d users not announced: %s", len(due), exc)
            return
        at = iso_ms(now_ms())
        # One message for the whole window: each node works out, per connection, which
        # of its frames it gets (`Hub`), so the fan-out costs a push per connection, not
        # one per frame, room and recipient. Large rooms are left out (`audiences`): two
        # thousand people connecting must not cost two thousand squared frames.
        window = PresenceWindow(frames=[], subjects=[], rooms={}, friends={})
        for user_id, status in due.items():
            user = users.get(user_id)
            if user is None:
                continue
            index = len(window.frames)
            window.frames.append(
                wire.encode(PresenceEvent(user=wire.user_out(user), status=status, at=at))
            )
            window.subjects.append(user_id)
            audience = heard_by[user_id]
            for room_id in audience.rooms:
                window.rooms.setdefault(room_id, []).append(index)
            for friend_id in audience.friends:
                window.friends.setdefault(friend_id, []).append(index)
        if window.frames:
            await self._publisher.presence(window)

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
