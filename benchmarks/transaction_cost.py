"""What a transaction of its own costs a message on SQLite, against sharing one.

Appends 2,000 event-log rows three ways, three rounds: each in its own transaction (what
a send does today), all in one transaction with a savepoint each (group commit that can
undo one send), and all in one transaction (group commit that must redo the whole batch
one by one when any send fails). Prints server-side CPU per row.

Run: `.venv/bin/python benchmarks/transaction_cost.py`.
"""

import tempfile
import time

import uvloop
from sqlalchemy import text

from chatserver.store import events
from chatserver.store.engine import Database
from chatserver.store.migrate import upgrade

N = 2000


async def main() -> None:
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/transactions.db"
    await upgrade(url)
    db = Database(url)
    async with db.write() as c:
        await c.execute(
            text(
                "INSERT INTO rooms (slug, name, kind, visibility, member_count, created_at_ms,"
                " last_seq) VALUES ('r', 'r', 'topic', 'public', 0, 0, 0)"
            )
        )
    seq = 0
    for _round in range(3):
        t = time.process_time()
        for _ in range(N):
            seq += 1
            async with db.write() as c:
                await events.append(c, 1, seq, b"x" * 300, 0)
        own = (time.process_time() - t) / N * 1e6
        t = time.process_time()
        async with db.write() as c:
            for _ in range(N):
                seq += 1
                async with c.begin_nested():
                    await events.append(c, 1, seq, b"x" * 300, 0)
        shared = (time.process_time() - t) / N * 1e6
        t = time.process_time()
        async with db.write() as c:
            for _ in range(N):
                seq += 1
                await events.append(c, 1, seq, b"x" * 300, 0)
        bare = (time.process_time() - t) / N * 1e6
        print(
            f"CPU per row: own transaction {own:.0f} µs, shared + savepoint {shared:.0f} µs,"
            f" shared without savepoint {bare:.0f} µs"
        )
        await db.checkpoint()
    await db.close()


if __name__ == "__main__":
    uvloop.run(main())
