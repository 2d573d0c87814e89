"""SQLite on the event loop's thread: correct transactions, and another process's
write lock waited for off the loop, so one slow CLI command never freezes the server."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from chatserver.domain.errors import Unavailable
from chatserver.store import inloop_sqlite
from chatserver.store.engine import Database
from chatserver.store.tables import users
from tests.integration.conftest import user_row


async def _count(db: Database) -> int:
    async with db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(users))).scalar_one())


async def test_commits_and_rollbacks_behave_as_transactions(db: Database) -> None:
    async with db.write() as conn:
        await conn.execute(insert(users), [user_row("ada"), user_row("bob")])
    with pytest.raises(RuntimeError):
        async with db.write() as conn:
            await conn.execute(insert(users), [user_row("cy")])
            raise RuntimeError("the block failed: nothing of it is kept")
    assert await _count(db) == 2


def _hold_write_lock(path: str, seconds: float, locked: threading.Event) -> None:
    other = sqlite3.connect(path)  # another connection is another process to SQLite
    other.execute("BEGIN IMMEDIATE")
    other.execute(
        "INSERT INTO users (username, display_name, password_hash, role,"
        " notify_default, created_at_ms) VALUES ('holder', 'h', 'x', 'student',"
        " 'mentions', 0)"
    )
    locked.set()
    time.sleep(seconds)
    other.commit()
    other.close()


async def test_a_write_waits_for_another_process_without_blocking_the_loop(
    db: Database, tmp_path: Path
) -> None:
    locked = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(f"{tmp_path}/store.db", 1.0, locked))
    holder.start()
    await asyncio.to_thread(locked.wait, 5)

    gaps: list[float] = []

    async def ticker() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    started = time.monotonic()
    async with db.write() as conn:
        await conn.execute(insert(users), [user_row("waiter")])
    waited = time.monotonic() - started
    ticking.cancel()
    await asyncio.to_thread(holder.join)

    assert waited >= 0.5, "the write really waited for the other writer"
    assert await _count(db) == 2, "both the holder's and the waiting write are committed"
    # The loop kept running while the write waited: no stall near the busy timeout's
    # scale, let alone the second the lock was held.
    assert max(gaps) < 0.25, f"the loop stalled for {max(gaps):.3f} s"


async def test_a_lock_held_too_long_is_a_clear_503_not_a_hang(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inloop_sqlite, "BUSY_RETRY_SECONDS", 0.3)
    locked = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(f"{tmp_path}/store.db", 1.5, locked))
    holder.start()
    await asyncio.to_thread(locked.wait, 5)
    try:
        with pytest.raises(Unavailable):
            async with db.write() as conn:
                await conn.execute(insert(users), [user_row("impatient")])
    finally:
        await asyncio.to_thread(holder.join)
    assert await _count(db) == 1, "only the holder's row"


async def test_the_write_ahead_log_is_folded_in_by_checkpoint_not_by_commits(
    db: Database, tmp_path: Path
) -> None:
    """Commits on the loop never copy the log into the file (that would stall every
    socket); `checkpoint`, which the server runs every second off the loop, does."""
    main_file = tmp_path / "store.db"
    before = main_file.stat().st_size
    for batch in range(10):
        async with db.write() as conn:
            rows = [user_row(f"u{batch}-{i}", password_hash="h" * 4000) for i in range(100)]
            await conn.execute(insert(users), rows)
    assert (tmp_path / "store.db-wal").stat().st_size > 4_000_000, "the writes are in the log"
    assert main_file.stat().st_size == before, "no commit copied the log into the file"
    await db.checkpoint()
    assert main_file.stat().st_size > before + 4_000_000
    assert await _count(db) == 1000
