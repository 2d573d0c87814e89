"""The hello's hot reads, run straight through the driver (`store/driver.py`), give what
the SQLAlchemy reads of the same data give, on SQLite and PostgreSQL: the ready state of
a user in no room, with pins, DMs, unread and mention counts, a mute and room flags;
the token lookup; the rooms' last seqs; and a dropped connection is `unavailable`, not
an internal error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text

from chatserver.domain.errors import Unauthorized, Unavailable
from chatserver.domain.models import Role, Room, User, now_ms
from chatserver.protocol.requests import NewRoom, RoomChanges
from chatserver.services.accounts import hash_token
from chatserver.services.container import Services
from chatserver.store import accounts as account_store
from chatserver.store import ready as ready_store
from chatserver.store import rooms as room_store
from chatserver.store.engine import Database
from chatserver.store.migrate import upgrade
from tests.integration.conftest import services_over
from tests.support.services import postgres_database


class World:
    def __init__(self, db: Database, services: Services) -> None:
        self.db = db
        self.s = services

    async def user(self, name: str, role: Role = "student") -> User:
        async with self.db.write() as conn:
            return await account_store.create_user(
                conn,
                username=name,
                display_name=name.title(),
                password_hash="x",
                role=role,
                now=now_ms(),
            )

    async def room(self, owner: User, slug: str) -> Room:
        request = NewRoom(slug=slug, name=slug.title(), kind="topic", visibility="public")
        return await self.s.rooms.create(owner, request)

    async def token(self, user: User, expires: int) -> str:
        token = f"token-{user.id}-{expires}"
        async with self.db.write() as conn:
            await account_store.add_token(conn, user.id, hash_token(token), now_ms(), expires)
        return token


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with services_over(database_url) as (db, services):
        yield World(db, services)


async def test_ready_state_matches_the_separate_reads(world: World) -> None:
    staff, me = await world.user("staff", "mentor"), await world.user("mia")
    talk, news = await world.room(staff, "talk"), await world.room(staff, "news")
    for room in (talk, news):
        await world.s.rooms.join(me, room.id)
    sent = [
        await world.s.messages.send(staff, talk.id, f"hi @{me.username} #{i}") for i in range(3)
    ]
    await world.s.messages.send(me, news.id, "my own message is not unread")
    await world.s.messages.send(staff, news.id, "news for everyone")
    await world.s.pins.pin(staff, talk.id, sent[2].id)
    await asyncio.sleep(0.005)  # pins are listed oldest pin first
    await world.s.pins.pin(staff, talk.id, sent[0].id)
    await world.s.moderation.mute(staff, talk.id, me.id, 600, None)
    await world.s.rooms.update_settings(
        staff, RoomChanges(room=news.id, guests_allowed=True, archived=True)
    )
    dm = await world.s.social.open_dm(me, [staff.username])

    snapshot = await world.s.session.snapshot(me)

    assert snapshot.user == me
    assert [s.room.id for s in snapshot.rooms] == sorted([talk.id, news.id, dm.id])
    by_id = {s.room.id: s for s in snapshot.rooms}
    assert by_id[talk.id].room.pinned == (sent[2].id, sent[0].id)
    assert (by_id[talk.id].unread, by_id[talk.id].mentions_unread) == (3, 3)
    assert (by_id[news.id].unread, by_id[news.id].mentions_unread) == (1, 0)
    assert by_id[talk.id].membership.muted_until_ms is not None
    flags = by_id[news.id].room
    assert (flags.archived, flags.guests_allowed) == (True, True)
    assert type(flags.archived) is bool and type(by_id[talk.id].room.archived) is bool
    assert snapshot.notifications_unread == 3
    assert snapshot.notification_mark >= 3
    assert [peer.id for peer in by_id[dm.id].peers or []] == [staff.id]
    assert by_id[talk.id].peers is None

    async with world.db.read() as conn:  # the same, read through SQLAlchemy's execute
        seats = await room_store.user_rooms(conn, me.id)
        unread = await room_store.unread_counts(conn, me.id)
    assert [(s.room, s.membership) for s in snapshot.rooms] == seats
    assert {s.room.id: s.unread for s in snapshot.rooms if s.unread} == unread


async def test_a_user_in_no_room_and_no_user(world: World) -> None:
    loner = await world.user("loner")
    async with world.db.read() as conn:
        state = await ready_store.ready_state(conn, loner.id)
        missing = await ready_store.ready_state(conn, loner.id + 1000)
    assert state is not None and missing is None
    assert (state.user, state.rooms, state.notifications_unread) == (loner, [], 0)
    assert state.notify_default == "mentions"


async def test_token_lookup(world: World) -> None:
    me, gone = await world.user("mia"), await world.user("gone")
    live = await world.token(me, now_ms() + 60_000)
    stale = await world.token(me, now_ms() - 1)
    revoked_with_account = await world.token(gone, now_ms() + 60_000)
    async with world.db.write() as conn:
        await account_store.set_deactivated(conn, gone.id, now_ms())

    user, token_id = await world.s.accounts.authenticate(live)
    assert user == me and token_id > 0
    for refused in (stale, revoked_with_account, "never issued"):
        with pytest.raises(Unauthorized):
            await world.s.accounts.authenticate(refused)


async def test_last_seqs_of_any_number_of_rooms(world: World) -> None:
    staff = await world.user("staff", "mentor")
    rooms = [await world.room(staff, f"r{i}") for i in range(5)]
    for i, room in enumerate(rooms):
        for n in range(i):
            await world.s.messages.send(staff, room.id, f"#{n}")
    expected = {r.id: (await world.s.rooms.get(staff, r.id))[0].last_seq for r in rooms}
    assert len(set(expected.values())) == 5
    for count in (1, 2, 3, 5):  # padded to 1, 2, 4, 8 ids
        ids = [r.id for r in rooms[:count]]
        assert await world.s.session.last_seqs(ids) == {i: expected[i] for i in ids}
    assert await world.s.session.last_seqs([rooms[0].id, 10_000]) == {
        rooms[0].id: expected[rooms[0].id]
    }


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.mark.postgres
async def test_a_dropped_connection_is_unavailable_then_replaced(postgres_url: str) -> None:
    await upgrade(postgres_url)
    db = Database(postgres_url, pool_size=1)
    try:
        with pytest.raises(Unavailable):
            async with db.read() as conn:
                # Nothing through SQLAlchemy on this connection: its close has nothing
                # to roll back, so only the read itself meets the dropped connection.
                driver = (await conn.get_raw_connection()).driver_connection
                assert driver is not None
                pid = driver.get_server_pid()
                async with db.engine.connect() as other:
                    await other.execute(text(f"SELECT pg_terminate_backend({int(pid)})"))
                    gone = text(f"SELECT count(*) FROM pg_stat_activity WHERE pid = {int(pid)}")
                    while (await other.execute(gone)).scalar_one():  # noqa: ASYNC110 (a poll)
                        await asyncio.sleep(0.01)
                await asyncio.sleep(0.05)  # the client side sees the socket close
                await room_store.last_seqs(conn, [1])
        async with db.read() as conn:  # the pool's connection was replaced
            assert await room_store.last_seqs(conn, [1]) == {}
    finally:
        await db.close()
