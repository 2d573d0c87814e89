"""Storage benchmarks on SQLite and PostgreSQL, straight against the service layer.

1. Notifications: time to decide who a new message alerts, in a room of 5,000 members
   where 200 are the author's friends and most keep the default level (issue: it must
   not cost O(members)).
2. Reactions: reading a page of 50 messages that carry 500 reactions each.

Run: `.venv/bin/python benchmarks/storage.py [--postgres postgresql+asyncpg://...]`.
Accounts are inserted directly (no password hashing) so setup takes seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import insert

from chatserver.domain.models import now_ms
from chatserver.services.notifications import decide
from chatserver.store import messages as message_store
from chatserver.store import rooms as room_store
from chatserver.store.accounts import get_user
from chatserver.store.engine import Database
from chatserver.store.migrate import upgrade
from chatserver.store.tables import (
    friendships,
    messages,
    reaction_counts,
    reactions,
    room_members,
    rooms,
    users,
)

MEMBERS = 5_000
FRIENDS = 200
OVERRIDES = 50  # members with their own level for the room
DEFAULT_ALL = 25  # members whose default level is `all`
PAGE = 50
REACTIONS_PER_MESSAGE = 500
EMOJI = ["👍", "❤️", "🎉", "😂", "🔥", "👏", "😮", "🙏", "✅", "💯"]


async def _populate(db: Database, members: int = MEMBERS) -> tuple[int, int]:
    now = now_ms()
    async with db.write() as conn:
        await conn.execute(
            insert(users),
            [
                {
                    "username": f"u{i}",
                    "display_name": f"User {i}",
                    "password_hash": "x",
                    "role": "student",
                    "notify_default": "all" if 0 < i <= DEFAULT_ALL else "mentions",
                    "created_at_ms": now,
                }
                for i in range(members)
            ],
        )
        room_id = (
            await conn.execute(
                insert(rooms)
                .values(
                    slug="openday",
                    name="Open day",
                    kind="topic",
                    visibility="public",
                    member_count=members,
                    created_at_ms=now,
                )
                .returning(rooms.c.id)
            )
        ).scalar_one()
        await conn.execute(
            insert(room_members),
            [
                {
                    "room_id": room_id,
                    "user_id": i + 1,
                    "joined_at_ms": now,
                    "last_read_seq": 0,
                    "notify_level": "friends" if members - OVERRIDES < i + 1 else None,
                }
                for i in range(members)
            ],
        )
        author = 1
        step = (members - 2) // FRIENDS
        friend_ids = range(2, 2 + FRIENDS * step, step)
        await conn.execute(
            insert(friendships),
            [
                {"user_id": a, "friend_id": b, "created_at_ms": now}
                for f in friend_ids
                for a, b in ((author, f), (f, author))
            ],
        )
    return int(room_id), author


async def notification_decision(db: Database, room_id: int, author_id: int) -> list[float]:
    async with db.read() as conn:
        room = await room_store.get_room(conn, room_id)
        author = await get_user(conn, author_id)
    assert room is not None and author is not None
    timings = []
    for i in range(200):
        async with db.read() as conn:
            started = time.perf_counter()
            decided = await decide(conn, room, author, mentions=(3 + i,))
            timings.append((time.perf_counter() - started) * 1000)
    assert decided, "some members are alerted"
    return timings


async def _populate_reactions(db: Database, room_id: int) -> None:
    now = now_ms()
    async with db.write() as conn:
        ids = []
        for seq in range(1, PAGE + 1):
            ids.append(
                (
                    await conn.execute(
                        insert(messages)
                        .values(
                            room_id=room_id,
                            seq=seq,
                            author_id=1,
                            body=f"message {seq}",
                            created_at_ms=now,
                            updated_seq=seq,
                            deleted=False,
                            mentions="",
                        )
                        .returning(messages.c.id)
                    )
                ).scalar_one()
            )
        await conn.execute(
            insert(reactions),
            [
                {
                    "message_id": mid,
                    "user_id": u + 1,
                    "emoji": EMOJI[u % len(EMOJI)],
                    "created_at_ms": now,
                }
                for mid in ids
                for u in range(REACTIONS_PER_MESSAGE)
            ],
        )
        await conn.execute(
            insert(reaction_counts),
            [
                {
                    "message_id": mid,
                    "emoji": e,
                    "count": REACTIONS_PER_MESSAGE // len(EMOJI),
                    "first_seq": k,
                }
                for mid in ids
                for k, e in enumerate(EMOJI)
            ],
        )
        await room_store.next_seq(conn, room_id)


async def history_with_reactions(db: Database, room_id: int) -> list[float]:
    timings = []
    for _ in range(100):
        async with db.read() as conn:
            started = time.perf_counter()
            page = await message_store.history(
                conn, room_id, 7, before=None, after=None, limit=PAGE
            )
            timings.append((time.perf_counter() - started) * 1000)
    assert len(page) == PAGE and all(len(m.reactions) == len(EMOJI) for m in page)
    return timings


async def _analyze(db: Database) -> None:
    """Planner statistics, as a database that has been running for a while has them."""
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("ANALYZE")


def _summary(name: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p50 = statistics.median(ordered)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return f"| {name} | {p50:.2f} ms | {p99:.2f} ms | {len(ordered)} |"


async def run(url: str, label: str) -> list[str]:
    """Decide notifications in rooms of 1,000 / 5,000 / 20,000 members (flat is the
    point), then read a page of heavily reacted messages."""
    rows = []
    for members in (1_000, MEMBERS, 20_000):
        scratch = await _scratch(url, members)
        db = Database(scratch, pool_size=2)
        try:
            room_id, author = await _populate(db, members)
            await _analyze(db)
            rows.append(
                _summary(
                    f"{label}: decide notifications, {members:,} members, {FRIENDS} friends",
                    await notification_decision(db, room_id, author),
                )
            )
            if members == MEMBERS:
                await _populate_reactions(db, room_id)
                rows.append(
                    _summary(
                        f"{label}: history of {PAGE} messages x {REACTIONS_PER_MESSAGE} reactions",
                        await history_with_reactions(db, room_id),
                    )
                )
        finally:
            await db.close()
    return rows


_created: list[tuple[str, str]] = []


async def _scratch(url: str, members: int) -> str:
    """A fresh, migrated database next to `url` (a file, or a new PostgreSQL database)."""
    if url.startswith("sqlite"):
        scratch = url.replace(".db", f"-{members}.db")
    else:
        import asyncpg

        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        name = f"chat_bench_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(dsn)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        _created.append((dsn, name))
        scratch = f"{url.rsplit('/', 1)[0]}/{name}"
    await upgrade(scratch)
    return scratch


async def _drop_scratch() -> None:
    import asyncpg

    for dsn, name in _created:
        conn = await asyncpg.connect(dsn)
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="an existing database to create a scratch database from ('' to skip)",
    )
    args = parser.parse_args()
    rows = ["| measure | p50 | p99 | runs |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        rows += await run(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", "SQLite")
    if args.postgres:
        try:
            rows += await run(args.postgres, "PostgreSQL")
        finally:
            await _drop_scratch()
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
