"""What the bounds on waiting writes (`store/write_queue.py`) cost a write on SQLite.

Appends event-log rows the ways the server writes, and prints the server-side CPU per
row (median of five rounds): writes of their own one after the other (the lock is free:
the uncontended path), 2,000 sends at once through the group commit (each queued, a
batch per transaction), and 500 writes of their own at once (each waits for the lock:
the contended path, with its timer). Run it on two trees to compare, e.g. against a
`git archive` of the code before the bounds:

    .venv/bin/python benchmarks/write_queue_cost.py
    PYTHONPATH=/tmp/before .venv/bin/python benchmarks/write_queue_cost.py
"""

import asyncio
import itertools
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable

import uvloop
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.store import events
from chatserver.store.engine import Database
from chatserver.store.migrate import upgrade

SEQUENTIAL, SHARED, CONTENDED, ROUNDS = 2000, 2000, 500, 5


async def main() -> None:
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/writes.db"
    await upgrade(url)
    db = Database(url, synchronous="normal")  # the CPU, not the disk's sync
    async with db.write() as c:
        await c.execute(
            text(
                "INSERT INTO rooms (slug, name, kind, visibility, member_count, created_at_ms,"
                " last_seq) VALUES ('r', 'r', 'topic', 'public', 0, 0, 0)"
            )
        )
    seqs = itertools.count(1)

    async def append(conn: AsyncConnection) -> None:
        await events.append(conn, 1, next(seqs), b"x" * 300, 0)

    async def own() -> None:
        async with db.write() as conn:
            await append(conn)

    async def sequential() -> None:
        for _ in range(SEQUENTIAL):
            await own()

    async def shared() -> None:
        await asyncio.gather(*(db.write_shared(append, 1) for _ in range(SHARED)))

    async def contended() -> None:
        await asyncio.gather(*(own() for _ in range(CONTENDED)))

    ways: dict[str, tuple[Callable[[], Awaitable[None]], int]] = {
        "own transactions, one after the other": (sequential, SEQUENTIAL),
        "group commit, 2,000 at once": (shared, SHARED),
        "own transactions, 500 at once": (contended, CONTENDED),
    }
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    for _round in range(ROUNDS):
        for name, (run, rows) in ways.items():
            started = time.process_time()
            await run()
            cpu[name].append((time.process_time() - started) / rows * 1e6)
        await db.checkpoint()
    for name, values in cpu.items():
        print(f"{name}: {statistics.median(values):.1f} µs CPU per row (min {min(values):.1f})")
    await db.close()


if __name__ == "__main__":
    uvloop.run(main())
