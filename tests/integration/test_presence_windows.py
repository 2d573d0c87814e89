"""Presence changes are gathered per window and announced together: each change the
others could have noticed is announced once, in order, and a change undone within the
window is not announced at all (with the real in-memory broker and registry)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

from chatserver.app import build_services
from chatserver.broker.base import PRESENCE_CHANNEL
from chatserver.broker.memory import MemoryBroker
from chatserver.coordination.memory import MemoryPresenceRegistry, MemoryThrottle
from chatserver.domain.models import User, now_ms
from chatserver.protocol.envelope import decode_presence
from chatserver.protocol.requests import NewRoom
from chatserver.services.presence import SURGE_FACTOR, SURGE_USERS, PresenceService
from chatserver.services.publisher import Publisher
from chatserver.settings import Settings
from chatserver.store import accounts as account_store
from chatserver.store.engine import Database

WINDOW = 2.0
"""Long enough that the steps of a test fit in one window on a loaded machine."""


async def _user(db: Database, name: str) -> User:
    async with db.write() as conn:
        return await account_store.create_user(
            conn, username=name, display_name=name, password_hash="x", role="mentor", now=now_ms()
        )


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(3000):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not reached within 30 s")


async def test_a_change_undone_within_the_window_is_not_announced(db: Database) -> None:
    services, _hub = build_services(Settings(database_url=db.url), db, MemoryBroker())
    a, b, c = [await _user(db, name) for name in ("ann", "bob", "cat")]
    room = await services.rooms.create(a, NewRoom(slug="window", name="Window", kind="topic"))
    for user in (b, c):
        await services.rooms.join(user, room.id)

    broker = MemoryBroker()
    heard: list[tuple[int, str]] = []

    def on_message(channel: str, data: bytes) -> None:
        window = decode_presence(data)
        for index, frame in enumerate(window.frames):
            event = json.loads(frame)
            assert window.subjects[index] == event["user"]["id"]
            assert index in window.rooms[room.id]  # the three share the room
            heard.append((event["user"]["id"], event["status"]))

    broker.set_handlers(on_message, lambda: None)
    await broker.subscribe(PRESENCE_CHANNEL)
    await broker.start()
    registry = MemoryPresenceRegistry()
    presence = PresenceService(
        db, Publisher(broker), registry, MemoryThrottle(), grace=0.0, window=WINDOW
    )

    async def online(*users: User) -> set[int]:
        return await registry.online_among(u.id for u in users)

    try:
        # Window 1: ann comes and goes again; bob comes.
        presence.connected(a.id)
        presence.connected(b.id)
        await _until(lambda: _equals(online(a, b), {a.id, b.id}))
        presence.disconnected(a.id)
        await _until(lambda: _equals(online(a), set()))
        await _until(lambda: _true(len(heard) >= 1))
        assert heard == [(b.id, "online")]

        # Window 2: bob goes and comes back (nobody saw a change); cat comes.
        presence.disconnected(b.id)
        await _until(lambda: _equals(online(b), set()))
        presence.connected(b.id)
        presence.connected(c.id)
        await _until(lambda: _true(len(heard) >= 2))
        assert heard == [(b.id, "online"), (c.id, "online")]

        # Window 3: cat goes, and that is announced, once.
        presence.disconnected(c.id)
        await _until(lambda: _true(len(heard) >= 3))
        assert heard == [(b.id, "online"), (c.id, "online"), (c.id, "offline")]
    finally:
        await presence.close()
        await broker.close()


async def _equals(value: Awaitable[set[int]], expected: set[int]) -> bool:
    return await value == expected


async def _true(value: bool) -> bool:
    return value


async def test_a_surge_lengthens_the_next_window_until_it_passes(db: Database) -> None:
    """A restart's thousands of arrivals: after a window of SURGE_USERS or more, the next
    one lasts SURGE_FACTOR windows (fewer pushes and sends per socket); once a window
    holds fewer, they are short again."""
    window = 0.4
    services, _hub = build_services(Settings(database_url=db.url), db, MemoryBroker())
    crowd = [await _user(db, f"surge{n}") for n in range(SURGE_USERS + 1)]
    room = await services.rooms.create(crowd[0], NewRoom(slug="surge", name="Surge", kind="topic"))
    for user in crowd[1:]:
        await services.rooms.join(user, room.id)

    broker = MemoryBroker()
    heard_at: list[tuple[float, int]] = []  # (when, users in the window)
    broker.set_handlers(
        lambda _channel, data: heard_at.append(
            (time.monotonic(), len(decode_presence(data).frames))
        ),
        lambda: None,
    )
    await broker.subscribe(PRESENCE_CHANNEL)
    await broker.start()
    presence = PresenceService(
        db,
        Publisher(broker),
        MemoryPresenceRegistry(),
        MemoryThrottle(),
        grace=0.0,
        window=window,
    )
    try:
        for user in crowd[:-1]:  # a surge: SURGE_USERS in one window
            presence.connected(user.id)
        await _until(lambda: _true(len(heard_at) >= 1))
        assert heard_at[0][1] == SURGE_USERS
        due = time.monotonic()
        presence.connected(crowd[-1].id)  # one more, right after the surge's window
        await _until(lambda: _true(len(heard_at) >= 2))
        assert heard_at[1][1] == 1
        assert heard_at[1][0] - due >= window * SURGE_FACTOR * 0.9  # the long window

        due = time.monotonic()
        presence.disconnected(crowd[-1].id)  # the surge is over: a short window again
        await _until(lambda: _true(len(heard_at) >= 3))
        assert heard_at[2][0] - due < window * SURGE_FACTOR * 0.9
    finally:
        await presence.close()
        await broker.close()
