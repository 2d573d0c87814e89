"""What reading a full notification inbox costs the server's event loop, on SQLite.

SQLite runs on the loop's thread (`chatserver/store/inloop_sqlite.py`), so the wall time
of one `GET /api/notifications?limit=500` is time during which no other socket of the
node is served. This builds a fresh database, has one author send `--items` messages
that mention a reader (every other one with two reactions, one of them the reader's),
then times the reader's inbox read, the service call the HTTP handler makes, and counts
its SQL statements.

    .venv/bin/python benchmarks/inbox_cost.py [--items 500] [--calls 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

from chatserver.app import build_services
from chatserver.broker.memory import MemoryBroker
from chatserver.domain.models import Role, now_ms
from chatserver.protocol.requests import NewRoom
from chatserver.settings import Settings
from chatserver.store import accounts as account_store
from chatserver.store.engine import Database
from chatserver.store.migrate import upgrade


async def measure(items: int, calls: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite+aiosqlite:///{Path(scratch) / 'chat.db'}"
        await upgrade(url)
        db = Database(url)
        services, _ = build_services(Settings(database_url=url), db, MemoryBroker())
        try:
            roles: tuple[tuple[str, Role], ...] = (("author", "mentor"), ("reader", "student"))
            async with db.write() as conn:
                author, reader = [
                    await account_store.create_user(
                        conn,
                        username=name,
                        display_name=name,
                        password_hash="x",
                        role=role,
                        now=now_ms(),
                    )
                    for name, role in roles
                ]
            room = await services.rooms.create(
                author, NewRoom(slug="busy", name="Busy", kind="topic")
            )
            await services.rooms.join(reader, room.id)
            for i in range(items):
                message = await services.messages.send(author, room.id, f"@reader #{i}")
                if i % 2 == 0:
                    await services.reactions.react(reader, message.id, "👍")
                    await services.reactions.react(author, message.id, "🎉")

            statements = 0

            def count(*_: object) -> None:
                nonlocal statements
                statements += 1

            event.listen(db.engine.sync_engine, "before_cursor_execute", count)
            timings = []
            for _ in range(calls):
                start = time.perf_counter()
                found = await services.notifications.inbox(reader, False, items)
                timings.append((time.perf_counter() - start) * 1000)
            assert len(found) == items
        finally:
            await db.close()
    timings.sort()
    print(
        f"inbox of {items}: median {statistics.median(timings):.1f} ms, "
        f"p90 {timings[int(len(timings) * 0.9)]:.1f} ms, max {timings[-1]:.1f} ms, "
        f"{statements // calls} statements per call ({calls} calls)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(measure(args.items, args.calls))


if __name__ == "__main__":
    main()
