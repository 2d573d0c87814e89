"""What a transaction of its own costs a message on SQLite, against sharing one.

Appends 2,000 event-log rows three ways, three rounds: each in its own transaction (what
a send does today), all in one transaction with a savepoint each (group commit that can
undo one send), and all in one transaction (group commit that must redo the whole batch
one by one when any send fails). Prints server-side CPU per row.

Run: `.venv/bin/python benchmarks/transaction_cost.py`.
"""

import time
from collections.abc import Coroutine
from typing import Any

import uvloop
from harness import event_log_database

N = 2000


async def _cpu_per_row(rows: Coroutine[Any, Any, None]) -> float:
    started = time.process_time()
    await rows
    return (time.process_time() - started) / N * 1e6


async def main() -> None:
    db, append = await event_log_database()

    async def own_transactions() -> None:
        for _ in range(N):
            async with db.write() as conn:
                await append(conn)

    async def shared(savepoints: bool) -> None:
        async with db.write() as conn:
            for _ in range(N):
                if savepoints:
                    async with conn.begin_nested():
                        await append(conn)
                else:
                    await append(conn)

    for _round in range(3):
        own = await _cpu_per_row(own_transactions())
        with_savepoints = await _cpu_per_row(shared(savepoints=True))
        bare = await _cpu_per_row(shared(savepoints=False))
        print(
            f"CPU per row: own transaction {own:.0f} µs, shared + savepoint"
            f" {with_savepoints:.0f} µs, shared without savepoint {bare:.0f} µs"
        )
        await db.checkpoint()
    await db.close()


if __name__ == "__main__":
    uvloop.run(main())
