"""CHAT_SQLITE_SYNCHRONOUS reaches every SQLite connection the server opens: `full` unless
the operator chose otherwise, since `full` is what keeps acknowledged messages through a
power cut; and a commit that waits for the disk does not hold up everyone else."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import insert

from chatserver.settings import Settings
from chatserver.store.engine import Database, Synchronous
from chatserver.store.migrate import upgrade
from chatserver.store.tables import users
from tests.integration.conftest import user_row

LEVEL = {"full": 2, "normal": 1}  # what PRAGMA synchronous reads back


async def _level(db: Database, connections: int) -> set[int]:
    """The synchronous level of `connections` connections open at once."""
    seen = set()
    opened = [db.engine.connect() for _ in range(connections)]
    try:
        for conn in opened:
            await conn.start()
            seen.add((await conn.exec_driver_sql("PRAGMA synchronous")).scalar_one())
    finally:
        for conn in opened:
            await conn.close()
    return seen


@pytest.mark.parametrize("chosen", [None, "full", "normal"])
async def test_every_connection_gets_the_chosen_level(
    tmp_path: Path, chosen: Synchronous | None
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/chat.db"
    await upgrade(url)
    env = {} if chosen is None else {"CHAT_SQLITE_SYNCHRONOUS": chosen}
    settings = Settings.from_env({"CHAT_DATABASE_URL": url, **env})
    db = Database(url, synchronous=settings.sqlite_synchronous)
    try:
        assert await _level(db, 3) == {LEVEL[chosen or "full"]}
    finally:
        await db.close()


def test_an_unknown_level_is_refused_before_any_sql() -> None:
    with pytest.raises(ValueError, match="synchronous"):
        Database("sqlite+aiosqlite:///unused.db", synchronous="off")  # type: ignore[arg-type]


@pytest.mark.parametrize(("chosen", "off_loop"), [("full", True), ("normal", False)])
async def test_a_commit_that_waits_for_the_disk_leaves_the_loop_free(
    tmp_path: Path, chosen: Synchronous, off_loop: bool
) -> None:
    """With `full` the COMMIT (and its fsync) runs on a helper thread, so the event loop
    serves every other socket while the disk syncs; with `normal` it syncs nothing and
    stays on the loop, where it costs less than a thread hop."""
    url = f"sqlite+aiosqlite:///{tmp_path}/chat.db"
    await upgrade(url)
    db = Database(url, synchronous=chosen)
    committed_on: list[int] = []

    def trace(sql: str) -> None:
        if sql == "COMMIT":
            committed_on.append(threading.get_ident())

    try:
        async with db.write() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.set_trace_callback(trace)
            await conn.execute(insert(users), [user_row("writer")])
    finally:
        await db.close()
    assert len(committed_on) == 1
    assert (committed_on[0] != threading.get_ident()) is off_loop
