"""What the bounds on waiting writes (`store/write_queue.py`) cost a write.

First, on SQLite, the server-side CPU per row (median of seven rounds) of the ways the
server writes: writes of their own one after the other (the lock is free: the
uncontended path), 1,000 sends at once through the group commit (each queued, a batch
per transaction; 1,000 is the default bound), and 500 writes of their own at once (each
waits for the lock: the contended path, with its timer).

Then, without a database, where the bounds' bookkeeping is not lost in SQLite's noise,
interleaved in one process (minimum and median of 40 runs): entering the free write
lock through `QueuedLock` against the plain `asyncio.Lock` it wraps, and, with
`--against TREE`, the group commit's own CPU per send in that tree (e.g. a `git archive`
of the code before the bounds) against this one's, with a transaction that does nothing.

    .venv/bin/python benchmarks/write_queue_cost.py --against /tmp/before
"""

import argparse
import asyncio
import importlib.util
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import uvloop
from harness import event_log_database

from chatserver.store.group_commit import GroupCommit
from chatserver.store.write_queue import QueuedLock, WriteQueue

SEQUENTIAL, SHARED, CONTENDED, ROUNDS, RUNS = 2000, 1000, 500, 7, 40


async def on_sqlite() -> None:
    db, append = await event_log_database(synchronous="normal")  # the CPU, not the sync

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
        "group commit, 1,000 at once": (shared, SHARED),
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
        print(f"SQLite, {name}: {statistics.median(values):.1f} µs CPU per row")
    await db.close()


@asynccontextmanager
async def _no_transaction() -> AsyncIterator[Any]:
    yield None


async def _nothing(conn: Any) -> None:
    return None


async def _per_send(group_commit: Any) -> float:
    started = time.process_time()
    await asyncio.gather(*(group_commit.run(_nothing) for _ in range(SHARED)))
    return (time.process_time() - started) / SHARED * 1e6


async def _per_entry(lock: AbstractAsyncContextManager[Any]) -> float:
    started = time.process_time()
    for _ in range(20 * SHARED):
        async with lock:
            pass
    return (time.process_time() - started) / (20 * SHARED) * 1e6


def _group_commit_of(tree: str) -> Any:
    """The `GroupCommit` class of another source tree, loaded beside this one's."""
    spec = importlib.util.spec_from_file_location(
        "other_group_commit", f"{tree}/chatserver/store/group_commit.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.GroupCommit


async def without_database(against: str | None) -> None:
    runs: dict[str, Callable[[], Awaitable[float]]] = {}
    plain = asyncio.Lock()
    queued = QueuedLock(asyncio.Lock(), WriteQueue(), bounded=True)
    runs["free lock, plain asyncio.Lock"] = lambda: _per_entry(plain)
    runs["free lock, QueuedLock"] = lambda: _per_entry(queued)
    if against is not None:
        other = _group_commit_of(against)(_no_transaction)
        runs[f"group commit, {against}"] = lambda: _per_send(other)
    this = GroupCommit(_no_transaction)
    runs["group commit, this tree"] = lambda: _per_send(this)
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _run in range(RUNS):
        for name, run in runs.items():
            cpu[name].append(await run())
    for name, values in cpu.items():
        print(
            f"no database, {name}: min {min(values):.2f} µs, "
            f"median {statistics.median(values):.2f} µs CPU per write"
        )


async def main(against: str | None) -> None:
    await on_sqlite()
    await without_database(against)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", help="another source tree's group commit to compare")
    uvloop.run(main(parser.parse_args().against))
