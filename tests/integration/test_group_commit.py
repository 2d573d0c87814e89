"""Group commit on SQLite: concurrent writes share a transaction, and one failing write
costs only its own caller, never another's result."""

from __future__ import annotations

import asyncio

from chatserver.store.engine import Database
from tests.integration.conftest import (
    add_user,
    assert_only_the_failures_failed,
    batch_with_two_failures,
    usernames,
)


async def test_concurrent_writes_share_transactions_and_all_commit(db: Database) -> None:
    assert db.group_commit is not None
    names = [f"u{i}" for i in range(200)]
    results = await asyncio.gather(*(db.write_shared(add_user(n)) for n in names))
    assert results == names
    assert await usernames(db) == set(names)
    assert db.group_commit.batches >= 1, "writes that arrived together shared a commit"


async def test_a_failing_write_reaches_only_its_caller(db: Database) -> None:
    works = batch_with_two_failures()
    results = await asyncio.gather(*(db.write_shared(w) for w in works), return_exceptions=True)
    await assert_only_the_failures_failed(db, results)


async def test_a_caller_that_goes_away_does_not_disturb_the_others(db: Database) -> None:
    first = asyncio.ensure_future(db.write_shared(add_user("leaver")))
    others = [asyncio.ensure_future(db.write_shared(add_user(f"stay{i}"))) for i in range(5)]
    first.cancel()
    assert await asyncio.gather(*others) == [f"stay{i}" for i in range(5)]
    # The leaver's write may or may not have been committed; the others all were.
    assert {f"stay{i}" for i in range(5)} <= await usernames(db)
