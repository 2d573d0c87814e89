"""Group commit on SQLite: concurrent writes share a transaction, and one failing write
costs only its own caller, never another's result."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.errors import BadRequest
from chatserver.store.engine import Database
from chatserver.store.tables import users
from tests.integration.conftest import user_row


def _add(name: str, fail_after_insert: bool = False) -> Callable[[AsyncConnection], Awaitable[str]]:
    async def work(conn: AsyncConnection) -> str:
        await conn.execute(
            insert(users),
            [user_row(name)],
        )
        if fail_after_insert:
            raise BadRequest(f"{name} changed its mind after writing")
        return name

    return work


async def _names(db: Database) -> set[str]:
    async with db.read() as conn:
        return set((await conn.execute(select(users.c.username))).scalars())


async def test_concurrent_writes_share_transactions_and_all_commit(db: Database) -> None:
    assert db.group_commit is not None
    names = [f"u{i}" for i in range(200)]
    results = await asyncio.gather(*(db.write_shared(_add(n)) for n in names))
    assert results == names
    assert await _names(db) == set(names)
    assert db.group_commit.batches >= 1, "writes that arrived together shared a commit"


async def test_a_failing_write_reaches_only_its_caller(db: Database) -> None:
    works = [_add(f"ok{i}") for i in range(10)]
    works.insert(5, _add("bad", fail_after_insert=True))
    works.insert(8, _add("ok3"))  # a duplicate username: an integrity error mid-batch
    results = await asyncio.gather(*(db.write_shared(w) for w in works), return_exceptions=True)

    assert isinstance(results[5], BadRequest)
    assert isinstance(results[8], Exception) and not isinstance(results[8], BadRequest)
    assert [r for i, r in enumerate(results) if i not in (5, 8)] == [f"ok{i}" for i in range(10)]
    # The failed writes left nothing behind, though they wrote before failing.
    assert await _names(db) == {f"ok{i}" for i in range(10)}
    async with db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(users))).scalar_one() == 10


async def test_a_caller_that_goes_away_does_not_disturb_the_others(db: Database) -> None:
    first = asyncio.ensure_future(db.write_shared(_add("leaver")))
    others = [asyncio.ensure_future(db.write_shared(_add(f"stay{i}"))) for i in range(5)]
    first.cancel()
    assert await asyncio.gather(*others) == [f"stay{i}" for i in range(5)]
    # The leaver's write may or may not have been committed; the others all were.
    assert {f"stay{i}" for i in range(5)} <= await _names(db)
