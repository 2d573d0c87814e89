"""The in-process tier: the real services, store (SQLite) and hub in the test's own loop.

Faster than a server process and closer to the code: a test drives the services the
way the gateway does and watches what local connections receive. The broker is a
real `MemoryBroker`, optionally behind `LossyBroker`, which drops chosen publications
the way a real broker may lose them (a Redis restart, a subscription race).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatserver.app import build_services
from chatserver.broker.base import MessageHandler, ResetHandler
from chatserver.broker.memory import MemoryBroker
from chatserver.domain.models import User
from chatserver.gateway.connection import Connection
from chatserver.gateway.hub import Hub
from chatserver.protocol.envelope import unpack
from chatserver.services.container import Services
from chatserver.services.publisher import Publisher
from chatserver.services.room_events import RoomEvents
from chatserver.settings import Settings
from chatserver.store.engine import Database
from chatserver.store.migrate import upgrade

DropRule = Callable[[str, dict[str, Any]], bool]
"""(channel, decoded frame) -> True to lose this publication."""


class LossyBroker:
    """A real in-memory broker that loses the publications a rule picks, once each."""

    def __init__(self) -> None:
        self.inner = MemoryBroker()
        self.rule: DropRule | None = None
        self.dropped: list[dict[str, Any]] = []

    def set_handlers(self, on_message: MessageHandler, on_reset: ResetHandler) -> None:
        self.inner.set_handlers(on_message, on_reset)

    async def start(self) -> None:
        await self.inner.start()

    async def publish(self, channel: str, data: bytes) -> None:
        if self.rule is not None and channel.startswith("room:"):
            _, frame = unpack(data)
            event = json.loads(frame)
            if self.rule(channel, event):
                self.dropped.append(event)
                return
        await self.inner.publish(channel, data)

    async def subscribe(self, channel: str) -> None:
        await self.inner.subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        await self.inner.unsubscribe(channel)

    async def ping(self) -> bool:
        return await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()


class Watcher:
    """A local connection that records every frame the hub pushes to it."""

    def __init__(self, user: User) -> None:
        self.frames: list[dict[str, Any]] = []
        self.closed_with: int | None = None
        self._changed = asyncio.Event()
        self.conn = Connection(user, 0, self._send, self._close, 1 << 20)
        self.conn.start()

    async def _send(self, text: str) -> None:
        self.frames.append(json.loads(text))
        self._changed.set()

    async def _close(self, code: int, reason: str) -> None:
        self.closed_with = code
        self._changed.set()

    def seqs(self, room_id: int) -> list[int]:
        return [f["seq"] for f in self.frames if _room_of(f) == room_id and "seq" in f]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self._changed.clear()
                await self._changed.wait()


class Node:
    """One server node's services and hub over a migrated SQLite file."""

    def __init__(self, db: Database, broker: LossyBroker, services: Services, hub: Hub) -> None:
        self.db = db
        self.broker = broker
        self.services = services
        self.hub = hub
        self.events = RoomEvents(db, Publisher(broker))
        """The door every writer uses, for tests that write room events themselves."""

    @classmethod
    async def start(cls, workdir: Path) -> Node:
        url = f"sqlite+aiosqlite:///{workdir / 'node.db'}"
        await upgrade(url)
        db = Database(url)
        broker = LossyBroker()
        settings = Settings.from_env({}, database_url=url)
        services, hub = build_services(settings, db, broker)
        await broker.start()
        await hub.start()
        return cls(db, broker, services, hub)

    async def user(self, name: str) -> User:
        user, _ = await self.services.accounts.register(name, "correct horse battery")
        return user

    async def watch(self, user: User, room_id: int) -> Watcher:
        """A connection of `user` attached to the room from its present seq."""
        watcher = Watcher(user)
        await self.hub.add_connection(watcher.conn)
        room, _ = await self.services.rooms.get(user, room_id)
        await self.hub.attach(watcher.conn, room_id, room.last_seq)
        return watcher

    async def close(self) -> None:
        await self.hub.close()
        await self.services.presence.close()
        await self.broker.close()
        await self.db.close()


def _room_of(frame: dict[str, Any]) -> object:
    """The room an event is about: its `room` id, or the id of the Room it carries
    (`room.updated`, `room.added`)."""
    room = frame.get("room")
    return room.get("id") if isinstance(room, dict) else room
