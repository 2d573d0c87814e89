"""The bounds on writes waiting for the database (`store/write_queue.py`): past them a
write is refused with `unavailable` before it begins, so nothing refused is committed and
everything accepted is; a write whose HTTP client left while it waited is not run.

Sends (group commit) on SQLite and PostgreSQL; writes of their own on SQLite, where they
wait for the one writer. The writer is held by a write that waits for the test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.store.engine import Database
from chatserver.store.migrate import upgrade
from chatserver.store.tables import users
from chatserver.store.write_queue import Client, ClientGone, Overloaded
from tests.integration.conftest import user_row
from tests.support.services import postgres_database

Open = Callable[..., Awaitable[Database]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/store.db"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
async def open_db(database_url: str) -> AsyncIterator[Open]:
    """Opens the database with the bounds given; one group-commit transaction at a time
    on either engine (a pool of 2 on PostgreSQL), so that one held send holds them all."""
    opened: list[Database] = []

    async def open_with(max_waiting: int = 1000, max_wait: float = 30.0) -> Database:
        await upgrade(database_url)
        db = Database(database_url, pool_size=2, max_waiting=max_waiting, max_wait=max_wait)
        opened.append(db)
        return db

    yield open_with
    for db in opened:
        await db.close()


def _add(name: str) -> Callable[[AsyncConnection], Awaitable[str]]:
    async def work(conn: AsyncConnection) -> str:
        await conn.execute(insert(users), [user_row(name)])
        return name

    return work


async def _names(db: Database) -> set[str]:
    async with db.read() as conn:
        return set((await conn.execute(select(users.c.username))).scalars())


class Held:
    """A send that has begun and holds the writer until `release`."""

    def __init__(self, db: Database) -> None:
        self.begun = asyncio.Event()
        self.release = asyncio.Event()

        async def work(conn: AsyncConnection) -> str:
            self.begun.set()
            await self.release.wait()
            return await _add("holder")(conn)

        self.task = asyncio.ensure_future(db.write_shared(work, 1))

    async def __aenter__(self) -> Held:
        await asyncio.wait_for(self.begun.wait(), 5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()
        assert await self.task == "holder", "the send that held the writer is committed"


def _disconnecting() -> tuple[Client, asyncio.Event]:
    """An HTTP client whose disconnect the test decides."""
    left = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await left.wait()
        return {"type": "http.disconnect"}

    return Client(receive), left


async def _as(client: Client, call: Callable[[], Awaitable[str]]) -> str:
    with client:
        return await call()


async def test_sends_past_the_bound_are_refused_at_once_and_never_committed(
    open_db: Open,
) -> None:
    db = await open_db(max_waiting=3)
    async with Held(db):
        sends = [asyncio.ensure_future(db.write_shared(_add(f"s{i}"), 1)) for i in range(10)]
        refused = await asyncio.wait_for(
            asyncio.gather(*sends[3:], return_exceptions=True), timeout=2
        )
        assert all(isinstance(r, Overloaded) and r.retry_after for r in refused), refused
        assert {r.code for r in refused if isinstance(r, Overloaded)} == {"unavailable"}
        assert not any(s.done() for s in sends[:3]), "the first three wait their turn"
    assert await asyncio.gather(*sends[:3]) == ["s0", "s1", "s2"]
    assert await _names(db) == {"holder", "s0", "s1", "s2"}
    assert db.write_queue.waiting == 0
    # Drained: as many as the bound allows are served again at once.
    assert await asyncio.gather(*(db.write_shared(_add(f"t{i}"), 1) for i in range(3))) == [
        f"t{i}" for i in range(3)
    ]


async def test_a_send_that_waited_too_long_is_refused_when_its_time_is_up(
    open_db: Open,
) -> None:
    db = await open_db(max_wait=0.3)
    async with Held(db):
        started = time.monotonic()
        sends = [db.write_shared(_add(f"late{i}"), 1) for i in range(3)]
        results = await asyncio.wait_for(asyncio.gather(*sends, return_exceptions=True), 3)
        waited = time.monotonic() - started
        assert all(isinstance(r, Overloaded) for r in results), results
        assert 0.25 <= waited < 1.5, f"refused after {waited:.2f} s, not at the 0.3-s bound"
    assert await _names(db) == {"holder"}, "nothing refused is committed"


async def test_a_send_whose_http_client_left_while_it_waited_is_not_run(open_db: Open) -> None:
    db = await open_db()
    leaver, left = _disconnecting()
    stayer, _ = _disconnecting()
    async with Held(db):
        gone = asyncio.ensure_future(_as(leaver, lambda: db.write_shared(_add("left"), 1)))
        kept = asyncio.ensure_future(_as(stayer, lambda: db.write_shared(_add("stayed"), 1)))
        await asyncio.sleep(0.05)
        left.set()
        await asyncio.sleep(0.05)
    with pytest.raises(ClientGone):
        await gone
    assert await kept == "stayed"
    assert await _names(db) == {"holder", "stayed"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_writes_of_their_own_are_bounded_in_number_and_time(open_db: Open) -> None:
    db = await open_db(max_waiting=3, max_wait=0.3)

    async def own(name: str) -> str:
        async with db.write() as conn:
            return await _add(name)(conn)

    async with Held(db):
        writes = [asyncio.ensure_future(own(f"w{i}")) for i in range(5)]
        await asyncio.sleep(0.05)
        assert [type(w.exception()) for w in writes[3:]] == [Overloaded, Overloaded]
        assert not any(w.done() for w in writes[:3]), "three wait for the lock"
        results = await asyncio.wait_for(asyncio.gather(*writes[:3], return_exceptions=True), 3)
        assert all(isinstance(r, Overloaded) for r in results), "refused after 0.3 s"
    assert await _names(db) == {"holder"}
    assert await own("after") == "after", "the lock is free again"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_write_of_a_client_that_left_is_not_run_at_its_turn(open_db: Open) -> None:
    db = await open_db()

    async def own(name: str) -> str:
        async with db.write() as conn:
            return await _add(name)(conn)

    leaver, left = _disconnecting()
    async with Held(db):
        gone = asyncio.ensure_future(_as(leaver, lambda: own("left")))
        await asyncio.sleep(0.05)
        left.set()
    with pytest.raises(ClientGone):
        await gone
    assert await own("next") == "next", "the turn was handed on"
    assert await _names(db) == {"holder", "next"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_batch_already_formed_is_committed_however_long_it_waits(open_db: Open) -> None:
    """Once taken into a batch a send is no longer refused: its caller is acknowledged
    only after the commit, and whatever waits is counted (here: refused beyond 1)."""
    db = await open_db(max_waiting=1, max_wait=0.2)
    release = asyncio.Event()

    async def hold_lock() -> None:
        async with db.write() as conn:
            await release.wait()
            await _add("holder")(conn)

    holder = asyncio.ensure_future(hold_lock())
    await asyncio.sleep(0.05)
    batched = asyncio.ensure_future(db.write_shared(_add("batched"), 1))
    await asyncio.sleep(0.05)  # the group commit took it and waits for the lock
    with pytest.raises(Overloaded):
        async with db.write():
            pass
    await asyncio.sleep(0.4)  # well past max_wait
    release.set()
    await holder
    assert await batched == "batched"
    assert await _names(db) == {"holder", "batched"}
