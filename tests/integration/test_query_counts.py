"""Every read that returns many items runs a fixed number of queries, however many items.

SQLite runs on the event loop's thread (`store/inloop_sqlite.py`), so a read that ran a
query per item would stall every other user of the node while it walked, say, a
500-item notification inbox. Each test measures one operation on a small world, grows
the world to hundreds of items, measures again, and requires the same number of
statements (and the items to be there). Driven through the services, in process, on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import pytest

from chatserver.domain.models import Level, Role, Room, RoomKind, User, Visibility, now_ms
from chatserver.protocol.requests import NewRoom
from chatserver.services.container import Services
from chatserver.services.replay_cache import ReplayCache
from chatserver.services.sync import SyncService
from chatserver.store import accounts as account_store
from chatserver.store.engine import Database
from tests.integration.conftest import services_over
from tests.support.queries import statements_run

T = TypeVar("T")

MOST_QUERIES = 8
"""No list or read here needs more statements than this, whatever its size (a `hello`
is two: the ready state, then the replays)."""


class World:
    """The services over a fresh database, and quick ways to fill it."""

    def __init__(self, db: Database, services: Services) -> None:
        self.db = db
        self.s = services
        self._names = 0

    async def user(self, prefix: str = "u", role: Role = "student") -> User:
        """An account straight in the store: no password hashing, no token."""
        self._names += 1
        async with self.db.write() as conn:
            return await account_store.create_user(
                conn,
                username=f"{prefix}{self._names}",
                display_name=f"{prefix.title()} {self._names}",
                password_hash="x",
                role=role,
                now=now_ms(),
            )

    async def users(self, count: int, prefix: str = "u") -> list[User]:
        return [await self.user(prefix) for _ in range(count)]

    async def room(
        self, owner: User, kind: RoomKind = "topic", visibility: Visibility = "public"
    ) -> Room:
        self._names += 1
        request = NewRoom(
            slug=f"room-{self._names}", name=f"Room {self._names}", kind=kind, visibility=visibility
        )
        return await self.s.rooms.create(owner, request)

    async def queries(self, call: Callable[[], Awaitable[T]]) -> tuple[int, T]:
        """How many statements `call` runs, and what it returns."""
        with statements_run(self.db.engine) as seen:
            result = await call()
        return len(seen), result


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with services_over(database_url) as (db, services):
        yield World(db, services)


def assert_flat(what: str, small: int, large: int, most: int = MOST_QUERIES) -> None:
    """Same statement count at both sizes, and a small one."""
    assert large == small, f"{what}: {small} statements for a few items, {large} for many"
    assert large <= most, f"{what}: {large} statements"


async def chat(
    world: World, room: Room, author: User, count: int, *, mention: User, reactors: list[User]
) -> None:
    """`count` messages by `author` mentioning `mention`, every other one with reactions."""
    for i in range(count):
        message = await world.s.messages.send(author, room.id, f"hi @{mention.username} #{i}")
        if i % 2 == 0:
            for reactor in reactors:
                await world.s.reactions.react(reactor, message.id, "👍")
            await world.s.reactions.react(author, message.id, "🎉")


async def test_notification_inbox(world: World) -> None:
    """Reading one's 500-item inbox: messages, authors and reactions in a few queries."""
    author, reader = await world.user("author", "mentor"), await world.user("reader")
    room = await world.room(author)
    await world.s.rooms.join(reader, room.id)

    async def inbox(unread: bool) -> list[Any]:
        return await world.s.notifications.inbox(reader, unread, 500)

    counts: dict[bool, list[int]] = {False: [], True: []}
    for total in (3, 500):
        so_far = len(await inbox(False))
        await chat(world, room, author, total - so_far, mention=reader, reactors=[reader])
        for unread in (False, True):
            count, items = await world.queries(partial(inbox, unread))
            assert len(items) == total
            counts[unread].append(count)
    newest = items[0].message
    assert newest.author.id == author.id and reader.id in newest.mentions
    assert any(r.me for n in items for r in n.message.reactions), "the reader's own reactions"
    for unread, (small, large) in counts.items():
        assert_flat(f"inbox (unread={unread})", small, large)


async def test_history_page(world: World) -> None:
    author, reader = await world.user("author", "mentor"), await world.user("reader")
    room = await world.room(author)
    await world.s.rooms.join(reader, room.id)
    counts = []
    for total in (3, 200):
        await chat(
            world, room, author, total - (3 if total > 3 else 0), mention=reader, reactors=[reader]
        )
        count, page = await world.queries(
            lambda: world.s.messages.history(reader, room.id, None, None, 200)
        )
        assert len(page) == total
        counts.append(count)
    assert any(r.me for m in page for r in m.reactions)
    assert_flat("history page", *counts)


async def test_room_directory_with_dms(world: World) -> None:
    """GET /api/rooms: the directory, each DM's peers and the caller's read markers."""
    me, staff = await world.user("me"), await world.user("staff", "mentor")

    async def directory() -> tuple[list[tuple[Room, bool]], Any, Any]:
        found = await world.s.rooms.directory(me, None, None, 200)
        rooms = [room for room, _ in found]
        peers = await world.s.session.dm_peers(rooms, me)
        marks = await world.s.session.marks(me)
        return found, peers, marks

    counts = []
    for rooms, dms in ((2, 1), (50, 10)):
        for _ in range(rooms - (2 if rooms > 2 else 0)):
            room = await world.room(staff)
            await world.s.rooms.join(me, room.id)
            await world.s.messages.send(staff, room.id, "unread for me")
            await world.room(staff, "cohort", "private")  # not listed for me
        for other in await world.users(dms - (1 if dms > 1 else 0), "peer"):
            await world.s.social.open_dm(me, [other.username])
        count, (found, peers, marks) = await world.queries(directory)
        assert len(found) == rooms + dms
        assert all(joined for _, joined in found)
        assert sum(1 for p in peers.values() if p) == dms
        assert sum(unread for _, unread in marks.values()) == rooms
        counts.append(count)
    assert_flat("room directory", *counts)


async def test_room_members(world: World) -> None:
    owner = await world.user("owner", "mentor")
    room = await world.room(owner)
    counts = []
    for total in (3, 200):
        for user in await world.users(total - (3 if total > 3 else 1), "member"):
            await world.s.rooms.join(user, room.id)
        count, members = await world.queries(
            lambda: world.s.rooms.members(owner, room.id, None, 1000)
        )
        assert len(members) == total
        counts.append(count)
    assert_flat("room members", *counts)


async def test_friends_and_blocks_lists(world: World) -> None:
    me = await world.user("me")
    counts: dict[str, list[int]] = {"friends": [], "blocks": []}
    for total in (1, 60):
        grown = total - (1 if total > 1 else 0)
        for friend in await world.users(grown, "friend"):
            await world.s.social.request_friend(me, friend.username)
            await world.s.social.request_friend(friend, me.username)
        for asker in await world.users(grown, "asker"):
            await world.s.social.request_friend(asker, me.username)
        for asked in await world.users(grown, "asked"):
            await world.s.social.request_friend(me, asked.username)
        for pest in await world.users(grown, "pest"):
            await world.s.social.block(me, pest.username)
        count, lists = await world.queries(lambda: world.s.social.lists(me))
        assert [len(part) for part in lists] == [total, total, total]
        counts["friends"].append(count)
        count, blocked = await world.queries(lambda: world.s.social.blocked(me))
        assert len(blocked) == total
        counts["blocks"].append(count)
    for what, (small, large) in counts.items():
        assert_flat(what, small, large)


async def test_user_search(world: World) -> None:
    counts = []
    for total in (3, 50):
        await world.users(total - (3 if total > 3 else 0), "ann")
        me = await world.user("zed")
        count, found = await world.queries(partial(world.s.accounts.search, "ann", 50))
        assert len(found) == total and me not in found
        counts.append(count)
    assert_flat("user search", *counts)


async def test_hello_ready_state_and_replays(world: World) -> None:
    """`hello` with `since` for every room: the ready state, then one replay per room.

    Measured as after a restart, with no replay shared yet; then on a node that has
    shared some: a hello mixing shared and unshared rooms runs one more read of its own
    (here every room holds the user's reactions), still whatever the number of rooms."""
    me, staff = await world.user("me"), await world.user("staff", "mentor")
    since: dict[int, int] = {}
    node = world.s.sync

    async def hello() -> tuple[Any, Any]:
        snapshot = await world.s.session.snapshot(me)
        replays = await node.replay_rooms(me, since)
        return snapshot, replays

    counts = []
    for total in (2, 20):
        node = SyncService(world.db)  # a node that has shared nothing yet
        for _ in range(total - len(since)):
            room = await world.room(staff)
            await world.s.rooms.join(me, room.id)
            joined = await world.s.rooms.get(me, room.id)
            since[room.id] = joined[0].last_seq
            await chat(world, room, staff, 3, mention=me, reactors=[me])
        count, (snapshot, replays) = await world.queries(hello)
        assert len(snapshot.rooms) == total and snapshot.notifications_unread == 3 * total
        assert sorted(replays) == sorted(since)
        for replay in replays.values():
            # 3 messages (their reactions folded in), then room.synced
            assert len(replay.frames) == 4 and b"room.synced" in replay.frames[-1]
        counts.append(count)
    assert_flat("hello", counts[0], counts[1], most=2 * MOST_QUERIES)

    # A clock that stands still: the shared copies outlive a slow machine's setup.
    node = SyncService(world.db, ReplayCache(clock=lambda: 0.0))
    await node.replay_rooms(me, since)
    mixed = []
    for total in (40, 60):
        for _ in range(total - len(since)):
            room = await world.room(staff)
            await world.s.rooms.join(me, room.id)
            since[room.id] = (await world.s.rooms.get(me, room.id))[0].last_seq
            await chat(world, room, staff, 3, mention=me, reactors=[me])
        # The rooms of the previous size are shared by now, the new ones not.
        count, (snapshot, replays) = await world.queries(hello)
        assert sorted(replays) == sorted(since)
        assert all(len(replay.frames) == 4 for replay in replays.values())
        mixed.append(count)
    assert_flat("hello, half shared", mixed[0], mixed[1], most=2 * MOST_QUERIES)


async def test_reads_through_the_driver_are_counted_too(world: World) -> None:
    """The hello's hot reads bypass SQLAlchemy's execution (`store/driver.py`) but still
    announce themselves to its cursor events: a count that missed them would pass for a
    hello that ran a query per room."""
    me, staff = await world.user("me"), await world.user("staff", "mentor")
    room = await world.room(staff)
    await world.s.rooms.join(me, room.id)
    with statements_run(world.db.engine) as seen:
        snapshot = await world.s.session.snapshot(me)
    assert [r.room.id for r in snapshot.rooms] == [room.id]
    assert len(seen) == 1 and "room_members" in seen[0]  # the ready state, in one statement


async def test_sync_replay_of_one_room(world: World) -> None:
    me, staff = await world.user("me"), await world.user("staff", "mentor")
    room = await world.room(staff)
    await world.s.rooms.join(me, room.id)
    since = (await world.s.rooms.get(me, room.id))[0].last_seq
    counts = []
    for total in (3, 200):
        await chat(world, room, staff, total - (3 if total > 3 else 0), mention=me, reactors=[me])
        count, replay = await world.queries(lambda: world.s.sync.replay(me, room.id, since))
        assert len(replay.frames) == total + 1
        counts.append(count)
    assert_flat("sync replay", *counts)


async def test_notification_settings(world: World) -> None:
    """Reading, and setting a level for each of 50 rooms in one request."""
    me, staff = await world.user("me"), await world.user("staff", "mentor")
    rooms: list[Room] = []
    counts: dict[str, list[int]] = {"read": [], "update": []}
    for total in (3, 50):  # each size uses the three kinds of change
        for _ in range(total - len(rooms)):
            rooms.append(await world.room(staff))
            await world.s.rooms.join(me, rooms[-1].id)
        levels: dict[int, Level | None] = {
            room.id: ("all", "none", None)[i % 3] for i, room in enumerate(rooms)
        }
        count, (_, overrides) = await world.queries(
            partial(world.s.notifications.update_settings, me, "friends", levels)
        )
        assert overrides == {k: v for k, v in levels.items() if v is not None}
        counts["update"].append(count)
        count, (default, _) = await world.queries(lambda: world.s.notifications.settings(me))
        assert default == "friends"
        counts["read"].append(count)
    for what, (small, large) in counts.items():
        assert_flat(f"notification settings {what}", small, large)
