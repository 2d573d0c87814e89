"""Search latency over 1,000,000 messages in 200 rooms, on SQLite and on PostgreSQL.

Builds the schema with the migrations, then bulk-loads rows directly (users, 200 rooms
of which 50 private, memberships, messages drawn from a French and English vocabulary
with a Zipf-like spread, and their search terms made by the same normalisation as the
send path), then times `SearchService.search` — what `GET /api/search` runs below the
HTTP layer: the parse, the authorised query, the rooms and the highlights — for a mix of
queries (a common word, a mid-frequency word, a rare word, two words, an exclusion, a
room filter, an author filter, `has:link`, a second page), as a member of 12 rooms.

    .venv/bin/python benchmarks/search.py --db sqlite [--messages 1000000] [--path FILE]
    .venv/bin/python benchmarks/search.py --db postgres [--url postgresql+asyncpg://...]

A database already loaded with the same size is reused (`--reload` loads it again).
Prints p50/p95/max per kind of query and over all, in milliseconds of wall-clock time,
with the CPU time of this process's thread (the whole query on SQLite, which runs on the
event loop's thread; without the database server's share on PostgreSQL), and the load
average: on a shared machine the wall-clock time includes waiting for a core.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from chatserver.domain import search_query as sq
from chatserver.domain.models import User
from chatserver.services.search import SearchService
from chatserver.store import accounts as account_store
from chatserver.store.engine import Database
from chatserver.store.migrate import upgrade

ROOMS = 200
PRIVATE = 50
USERS = 2000
SEED = 20261206

COMMON = [
    "le",
    "la",
    "les",
    "de",
    "des",
    "un",
    "une",
    "et",
    "est",
    "pour",
    "que",
    "qui",
    "dans",
    "sur",
    "avec",
    "pas",
    "plus",
    "the",
    "a",
    "to",
    "and",
    "of",
    "in",
    "is",
    "it",
    "you",
    "that",
    "for",
    "on",
    "with",
    "this",
    "be",
    "are",
    "have",
    "not",
    "at",
]
TOPICAL = [
    "réponse",
    "réponses",
    "question",
    "questions",
    "contrat",
    "contrats",
    "image",
    "images",
    "photo",
    "photos",
    "meetup",
    "meetups",
    "atelier",
    "ateliers",
    "projet",
    "projets",
    "mentor",
    "mentors",
    "étudiant",
    "étudiants",
    "bruxelles",
    "paris",
    "lyon",
    "juillet",
    "août",
    "rentrée",
    "cours",
    "devoir",
    "devoirs",
    "examen",
    "examens",
    "answer",
    "answers",
    "contract",
    "contracts",
    "meeting",
    "meetings",
    "workshop",
    "workshops",
    "project",
    "projects",
    "student",
    "students",
    "homework",
    "exam",
    "exams",
    "deadline",
    "deadlines",
    "design",
    "designs",
    "opinion",
    "opinions",
    "publicité",
    "annonce",
    "annonces",
    "mother",
    "mothers",
    "day",
    "week",
    "weekend",
    "python",
    "javascript",
    "code",
    "bug",
    "bugs",
    "release",
    "releases",
    "server",
    "servers",
    "database",
    "search",
]


def vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """Words and weights: common words, topical ones, and a long tail of rare ones."""
    tail = [f"mot{i}x" for i in range(20_000)]
    words = COMMON + TOPICAL + tail
    weights = [1.0 / (rank + 8) for rank in range(len(words))]
    rng.shuffle(tail)
    return words, weights


def message_rows(count: int, rng: random.Random) -> Iterator[tuple[int, int, int, str, int]]:
    """(room_id, seq, author_id, body, created_at_ms), in id order, over ~30 days."""
    words, weights = vocabulary(rng)
    cumulative = list(_accumulate(weights))
    seqs = [0] * (ROOMS + 1)
    start = 1_796_000_000_000
    step = 30 * 86_400_000 // count
    for i in range(count):
        room = rng.randint(1, ROOMS)
        seqs[room] += 1
        author = (room * 37 + rng.randint(0, 9) * 199) % USERS + 1
        length = rng.randint(4, 24)
        picked = rng.choices(words, cum_weights=cumulative, k=length)
        if i % 50 == 0:
            picked.append("https://example.org/page")
        body = " ".join(picked).capitalize()
        yield room, seqs[room], author, body, start + i * step


def _accumulate(weights: list[float]) -> Iterator[float]:
    total = 0.0
    for w in weights:
        total += w
        yield total


def members_of(room: int) -> list[int]:
    """Each room's members: 100 users, spread so that every user is in about 10 rooms."""
    return sorted(
        {(room * 37 + k * 199) % USERS + 1 for k in range(10)}
        | {(room * 13 + k * 97) % USERS + 1 for k in range(90)}
    )


# -- loading ----------------------------------------------------------------------------


def load_sqlite(path: Path, count: int) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")
    rng = random.Random(SEED)
    with db:
        db.executemany(
            "INSERT INTO users (id, username, display_name, password_hash, role, created_at_ms)"
            " VALUES (?, ?, ?, 'x', 'student', 0)",
            [(u, f"user{u}", f"User {u}") for u in range(1, USERS + 1)],
        )
        db.executemany(
            "INSERT INTO rooms (id, slug, name, kind, visibility, created_at_ms)"
            " VALUES (?, ?, ?, 'topic', ?, 0)",
            [
                (r, f"room-{r}", f"Room {r}", "private" if r <= PRIVATE else "public")
                for r in range(1, ROOMS + 1)
            ],
        )
        db.executemany(
            "INSERT INTO room_members (room_id, user_id, joined_at_ms) VALUES (?, ?, 0)",
            [(r, u) for r in range(1, ROOMS + 1) for u in members_of(r)],
        )
    batch: list[tuple[int, int, int, int, str, int]] = []
    started = time.monotonic()
    for i, (room, seq, author, body, at) in enumerate(message_rows(count, rng), start=1):
        batch.append((i, room, seq, author, body, at))
        if len(batch) == 20_000 or i == count:
            with db:
                db.executemany(
                    "INSERT INTO messages (id, room_id, seq, author_id, body, created_at_ms,"
                    " deleted, mentions, updated_seq) VALUES (?, ?, ?, ?, ?, ?, 0, '', ?)",
                    [(*row, row[2]) for row in batch],
                )
                db.executemany(
                    "INSERT INTO message_search (rowid, terms) VALUES (?, ?)",
                    [(row[0], " ".join(sq.indexed_terms(row[4], row[1], row[3]))) for row in batch],
                )
            batch = []
            print(f"  {i:,} messages ({time.monotonic() - started:.0f} s)", end="\r", flush=True)
    with db:
        db.execute(
            "UPDATE rooms SET last_seq = (SELECT coalesce(max(seq), 0) FROM messages"
            " WHERE messages.room_id = rooms.id)"
        )
        db.execute("INSERT INTO message_search (message_search) VALUES ('optimize')")
    db.execute("ANALYZE")
    db.close()
    print()


async def load_postgres(url: str, count: int) -> None:
    db = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    rng = random.Random(SEED)
    try:
        await db.copy_records_to_table(
            "users",
            records=[(u, f"user{u}", f"User {u}", "x", "student", 0) for u in range(1, USERS + 1)],
            columns=["id", "username", "display_name", "password_hash", "role", "created_at_ms"],
        )
        await db.copy_records_to_table(
            "rooms",
            records=[
                (r, f"room-{r}", f"Room {r}", "topic", "private" if r <= PRIVATE else "public", 0)
                for r in range(1, ROOMS + 1)
            ],
            columns=["id", "slug", "name", "kind", "visibility", "created_at_ms"],
        )
        await db.copy_records_to_table(
            "room_members",
            records=[(r, u, 0) for r in range(1, ROOMS + 1) for u in members_of(r)],
            columns=["room_id", "user_id", "joined_at_ms"],
        )
        await db.execute("DROP INDEX ix_message_search_terms")
        await db.execute("CREATE TEMP TABLE staged_terms (message_id bigint, terms text)")
        batch: list[tuple[int, int, int, int, str, int]] = []
        started = time.monotonic()
        for i, (room, seq, author, body, at) in enumerate(message_rows(count, rng), start=1):
            batch.append((i, room, seq, author, body, at))
            if len(batch) == 50_000 or i == count:
                await db.copy_records_to_table(
                    "messages",
                    records=[(*row, False, "", row[2]) for row in batch],
                    columns=[
                        "id",
                        "room_id",
                        "seq",
                        "author_id",
                        "body",
                        "created_at_ms",
                        "deleted",
                        "mentions",
                        "updated_seq",
                    ],
                )
                await db.copy_records_to_table(
                    "staged_terms",
                    records=[
                        (row[0], sq.tsvector(sq.indexed_terms(row[4], row[1], row[3])))
                        for row in batch
                    ],
                )
                batch = []
                print(
                    f"  {i:,} messages ({time.monotonic() - started:.0f} s)", end="\r", flush=True
                )
        print()
        await db.execute(
            "INSERT INTO message_search (message_id, terms)"
            " SELECT message_id, CAST(terms AS tsvector) FROM staged_terms"
        )
        await db.execute("CREATE INDEX ix_message_search_terms ON message_search USING gin (terms)")
        await db.execute(
            "UPDATE rooms SET last_seq = s.top FROM (SELECT room_id, max(seq) AS top"
            " FROM messages GROUP BY room_id) s WHERE s.room_id = rooms.id"
        )
        for table in ("users", "rooms", "room_members", "messages"):
            await db.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
                if table != "room_members"
                else "SELECT 1"
            )
        await db.execute("VACUUM ANALYZE")
    finally:
        await db.close()


async def loaded_count(url: str) -> int:
    db = Database(url, pool_size=1)
    try:
        async with db.read() as conn:
            result = await conn.exec_driver_sql("SELECT count(*) FROM messages")
            return int(result.scalar_one())
    except Exception:
        return -1
    finally:
        await db.close()


async def prepare_postgres(url: str, count: int, reload: bool) -> None:
    base, name = url.rsplit("/", 1)
    admin = await asyncpg.connect(base.replace("postgresql+asyncpg", "postgresql") + "/postgres")
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and not reload and await loaded_count(url) == count:
            print(f"reusing {url} ({count:,} messages)")
            return
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await upgrade(url)
    started = time.monotonic()
    await load_postgres(url, count)
    print(f"loaded in {time.monotonic() - started:.0f} s")


async def prepare_sqlite(path: Path, count: int, reload: bool) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    if path.exists() and not reload and await loaded_count(url) == count:  # noqa: ASYNC240
        print(f"reusing {path} ({count:,} messages)")
        return url
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240
    await upgrade(url)
    started = time.monotonic()
    load_sqlite(path, count)
    print(f"loaded in {time.monotonic() - started:.0f} s")
    return url


# -- measuring --------------------------------------------------------------------------


def queries(rng: random.Random) -> list[tuple[str, dict[str, object]]]:
    """(kind, search arguments), shuffled; `q` is always set."""
    searcher_rooms = [r for r in range(1, ROOMS + 1) if SEARCHER in members_of(r)]
    mid = TOPICAL
    rare = [f"mot{rng.randint(2000, 19_999)}x" for _ in range(40)]
    out: list[tuple[str, dict[str, object]]] = []
    for _ in range(PER_KIND):
        out += [
            ("common word", {"q": rng.choice(COMMON[:20])}),
            ("topical word", {"q": rng.choice(mid)}),
            ("rare word", {"q": rng.choice(rare)}),
            ("two words", {"q": f"{rng.choice(mid)} {rng.choice(mid)}"}),
            ("word -word", {"q": f"{rng.choice(mid)} -{rng.choice(COMMON[:10])}"}),
            ("in:room", {"q": rng.choice(mid), "room": rng.choice(searcher_rooms)}),
            ("in:public room", {"q": rng.choice(mid), "room": rng.randint(PRIVATE + 1, ROOMS)}),
            ("from:user", {"q": rng.choice(mid), "author": f"user{rng.randint(1, USERS)}"}),
            ("has:link", {"q": rng.choice(mid), "has": "link"}),
            ("accented", {"q": rng.choice(["RÉPONSE", "reponses", "Étudiant", "ateliér"])}),
        ]
    rng.shuffle(out)
    return out


SEARCHER = 1
PER_KIND = 40


async def measure(url: str) -> None:
    db = Database(url, pool_size=2)
    service = SearchService(db)
    async with db.read() as conn:
        user = await account_store.get_user(conn, SEARCHER)
    assert isinstance(user, User)
    rng = random.Random(7)
    timings: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    for _kind, args in queries(rng)[:20]:  # warm the caches
        await service.search(user, **args)  # type: ignore[arg-type]
    for kind, args in queries(rng):
        started, started_cpu = time.perf_counter(), time.thread_time()
        page = await service.search(user, **args)  # type: ignore[arg-type]
        timings.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        cpu.setdefault(kind, []).append((time.thread_time() - started_cpu) * 1000)
        if page.next_cursor is not None and kind == "topical word":
            started, started_cpu = time.perf_counter(), time.thread_time()
            await service.search(user, str(args["q"]), cursor=page.next_cursor)
            timings.setdefault("next page", []).append((time.perf_counter() - started) * 1000)
            cpu.setdefault("next page", []).append((time.thread_time() - started_cpu) * 1000)
    await db.close()
    timings["all"] = [x for values in timings.values() for x in values]
    cpu["all"] = [x for values in cpu.values() for x in values]
    head = f"{'query':<16} {'n':>4} {'p50':>7} {'p95':>7} {'max':>7}"
    print(f"{head} {'cpu p50':>8} {'cpu p95':>8}  (ms)")
    for kind in sorted(timings, key=lambda k: (k == "all", k)):
        values, used = timings[kind], cpu[kind]
        print(
            f"{kind:<16} {len(values):>4} {_p(values, 50):>7.1f} {_p(values, 95):>7.1f} "
            f"{max(values):>7.1f} {_p(used, 50):>8.1f} {_p(used, 95):>8.1f}"
        )
    loads = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average: {loads} on {os.cpu_count()} cores")


def _p(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=Path("/tmp/chat-search-bench.db"))
    parser.add_argument(
        "--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/chat_search_bench"
    )
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()
    if args.db == "sqlite":
        url = await prepare_sqlite(args.path, args.messages, args.reload)
    else:
        url = args.url
        await prepare_postgres(url, args.messages, args.reload)
    await measure(url)


if __name__ == "__main__":
    asyncio.run(main())
