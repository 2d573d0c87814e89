"""What reading a room's question queue costs, with 5,000 questions in the room, on SQLite.

Builds a fresh database, has 50 students ask `--questions` questions in one room and 20
others cast `--votes` votes at random, then times the call `GET
/api/rooms/{id}/questions` makes (100 questions, by votes then age, and by age), and
prints p50/p95/max in milliseconds and the SQL statements per call.

    .venv/bin/python benchmarks/question_queue.py [--questions 5000] [--votes 3000] [--calls 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

from chatserver.app import build_services
from chatserver.broker.memory import MemoryBroker
from chatserver.domain.models import User, now_ms
from chatserver.protocol.requests import NewRoom
from chatserver.settings import Settings
from chatserver.store import accounts as account_store
from chatserver.store.engine import Database
from chatserver.store.migrate import upgrade


async def measure(questions: int, votes: int, calls: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite+aiosqlite:///{Path(scratch) / 'chat.db'}"
        await upgrade(url)
        db = Database(url)
        services, _ = build_services(Settings(database_url=url), db, MemoryBroker())
        try:
            users: list[User] = []
            async with db.write() as conn:
                for i in range(71):
                    users.append(
                        await account_store.create_user(
                            conn,
                            username=f"user{i}",
                            display_name=f"User {i}",
                            password_hash="x",
                            role="mentor" if i == 0 else "student",
                            now=now_ms(),
                        )
                    )
            mentor, askers, voters = users[0], users[1:51], users[51:]
            room = await services.rooms.create(mentor, NewRoom(slug="qa", name="QA", kind="topic"))
            for user in users[1:]:
                await services.rooms.join(user, room.id)
            asked = []
            for i in range(questions):
                message = await services.messages.send(
                    askers[i % len(askers)], room.id, f"question {i}", question=True
                )
                asked.append(message.id)
            rng = random.Random(7)
            for _ in range(votes):
                await services.questions.vote(rng.choice(voters), rng.choice(asked), up=True)

            statements = 0

            def count(*_: object) -> None:
                nonlocal statements
                statements += 1

            event.listen(db.engine.sync_engine, "before_cursor_execute", count)
            for sort in ("votes", "oldest"):
                statements = 0
                timings = []
                for _ in range(calls):
                    start = time.perf_counter()
                    found = await services.questions.queue(voters[0], room.id, "open", sort, 100)
                    timings.append((time.perf_counter() - start) * 1000)
                assert len(found) == 100
                timings.sort()
                print(
                    f"sort={sort}: {questions} questions, 100 per page: "
                    f"p50 {timings[len(timings) // 2]:.2f} ms, "
                    f"p95 {timings[int(len(timings) * 0.95)]:.2f} ms, max {timings[-1]:.2f} ms, "
                    f"{statements / calls:.0f} SQL statements per call"
                )
        finally:
            await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=5000)
    parser.add_argument("--votes", type=int, default=3000)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(measure(args.questions, args.votes, args.calls))


if __name__ == "__main__":
    main()
