"""Group commit on PostgreSQL: concurrent sends share transactions, one failing send
costs only its own caller (though on PostgreSQL an error aborts the whole transaction),
and two nodes' batches over the same rooms never deadlock on the rooms' row locks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.store import rooms as room_store
from chatserver.store.engine import Database
from chatserver.store.migrate import upgrade
from tests.integration.conftest import (
    Work,
    add_user,
    assert_only_the_failures_failed,
    batch_with_two_failures,
    usernames,
)
from tests.support.services import postgres_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await upgrade(database_url)
    database = Database(database_url, pool_size=4)
    yield database
    await database.close()


async def test_concurrent_writes_share_transactions_and_all_commit(db: Database) -> None:
    names = [f"u{i}" for i in range(200)]
    results = await asyncio.gather(
        *(db.write_shared(add_user(n), i % 7) for i, n in enumerate(names))
    )
    assert results == names
    assert await usernames(db) == set(names)
    assert db.group_commit.batches >= 1, "writes that arrived together shared a commit"
    assert db.group_commit.retried == 0


async def test_a_failing_write_reaches_only_its_caller(db: Database) -> None:
    works = batch_with_two_failures()  # on PostgreSQL the duplicate aborts the transaction
    results = await asyncio.gather(*(db.write_shared(w, 1) for w in works), return_exceptions=True)
    await assert_only_the_failures_failed(db, results)
    assert db.group_commit.retried >= 1, "the shared transaction failed and was split"


async def test_two_nodes_batches_over_the_same_rooms_do_not_deadlock(
    db: Database, database_url: str
) -> None:
    async with db.write() as conn:
        rooms = [
            await room_store.create_room(
                conn,
                slug=f"r{i}",
                name=f"r{i}",
                kind="topic",
                visibility="public",
                topic=None,
                created_by=None,
                now=0,
            )
            for i in range(2)
        ]
    other = Database(database_url, pool_size=4)  # a second node on the same database
    taken: dict[int, list[int]] = {room: [] for room in rooms}

    def take(room: int) -> Work:
        async def work(conn: AsyncConnection) -> str:
            seq = await room_store.next_seq(conn, room)
            await asyncio.sleep(0.02)  # hold the room's row lock while the other node runs
            taken[room].append(seq)
            return f"{room}:{seq}"

        return work

    try:
        for _ in range(5):
            # The nodes' sends arrive in opposite orders of room.
            first = [db.write_shared(take(rooms[i % 2]), rooms[i % 2]) for i in range(6)]
            second = [
                other.write_shared(take(rooms[1 - i % 2]), rooms[1 - i % 2]) for i in range(6)
            ]
            async with asyncio.timeout(30):
                await asyncio.gather(*first, *second)
        assert db.group_commit.batches >= 5 and other.group_commit.batches >= 5
        assert (db.group_commit.retried, other.group_commit.retried) == (0, 0), "a deadlock"
        async with db.read() as conn:
            last = await room_store.last_seqs(conn, rooms)
        for room in rooms:
            assert last[room] == 30
            assert sorted(taken[room]) == list(range(1, 31)), "every seq once, no gap"
    finally:
        await other.close()
