"""What indexing a message for search adds to the send path's CPU, on SQLite.

Sends messages through `MessageService.send` in-process (the whole send path below the
WebSocket: rules, group commit, event log, notifications, publication to an in-memory
broker), in bursts of 50 concurrent sends over 20 rooms, and counts the process's CPU
time per message, with the search index written (as the server does) and with its three
writes replaced by no-ops, the two taking turns burst by burst on the same database;
each round reports both.

    .venv/bin/python benchmarks/search_index_cost.py [--messages 4000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from chatserver.app import build_services
from chatserver.broker.memory import MemoryBroker
from chatserver.domain.models import User, now_ms
from chatserver.protocol.requests import NewRoom
from chatserver.settings import Settings
from chatserver.store import accounts as account_store
from chatserver.store import search_index
from chatserver.store.engine import Database
from chatserver.store.migrate import upgrade

WORDS = [
    "bonjour",
    "réponse",
    "question",
    "contrat",
    "image",
    "meetup",
    "atelier",
    "projet",
    "mentor",
    "étudiant",
    "bruxelles",
    "juillet",
    "deadline",
    "design",
    "answer",
    "meeting",
    "workshop",
    "the",
    "and",
    "de",
    "la",
    "les",
    "pour",
    "https://example.org/deck.pdf",
    "🙂",
    "ok",
    "merci",
    "super",
    "demain",
]

VARIANTS = ("not indexed", "indexed")
BURST = 50
"""Concurrent sends at a time: the group commit shares their transaction."""

Writer = Callable[..., Awaitable[None]]


async def _skip(*_args: Any) -> None:
    return None


async def measure(messages: int, rounds: int, variants: tuple[str, ...]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite+aiosqlite:///{Path(scratch) / 'chat.db'}"
        await upgrade(url)
        db = Database(url)
        services, _ = build_services(Settings(database_url=url), db, MemoryBroker())
        rng = random.Random(1)
        async with db.write() as conn:
            users = [
                await account_store.create_user(
                    conn,
                    username=f"user{i}",
                    display_name=f"User {i}",
                    password_hash="x",
                    role="student",
                    now=now_ms(),
                )
                for i in range(100)
            ]
        rooms = []
        for r in range(20):
            room = await services.rooms.create(
                users[r], NewRoom(slug=f"room-{r}", name=f"Room {r}", kind="topic")
            )
            for user in users[r * 5 : r * 5 + 5]:
                if user.id != users[r].id:
                    await services.rooms.join(user, room.id)
            rooms.append((room.id, users[r * 5 : r * 5 + 5]))
        real: dict[str, Writer] = {
            name: getattr(search_index, name) for name in ("add", "replace", "remove")
        }

        def use(variant: str) -> None:
            for name, writer in real.items():
                setattr(search_index, name, writer if variant == "indexed" else _skip)

        async def burst() -> float:
            """CPU seconds of one burst of BURST concurrent sends."""
            sends = []
            for _ in range(BURST):
                room_id, members = rng.choice(rooms)
                author: User = rng.choice(members)
                body = " ".join(rng.choices(WORDS, k=rng.randint(3, 18)))
                sends.append(services.messages.send(author, room_id, body))
            started = time.process_time()
            await asyncio.gather(*sends)
            return time.process_time() - started

        for _ in range(500 // BURST):  # warm up
            await burst()
        # The variants take turns burst by burst (in either order), so that both see the
        # same machine: on a shared one, another process's load comes and goes in seconds.
        results: dict[str, list[float]] = {variant: [] for variant in variants}
        turns = max(1, messages // BURST)
        for _ in range(rounds):
            spent = dict.fromkeys(variants, 0.0)
            for turn in range(turns):
                for variant in variants if turn % 2 else variants[::-1]:
                    use(variant)
                    spent[variant] += await burst()
            for variant in variants:
                results[variant].append(spent[variant] * 1000 / (turns * BURST))
        for name, writer in real.items():
            setattr(search_index, name, writer)
        await db.close()
    for variant, values in results.items():
        print(f"{variant:<12} ms CPU/message: " + "  ".join(f"{v:.3f}" for v in values))
    if len(results) == 2:
        base = statistics.median(results["not indexed"])
        with_index = statistics.median(results["indexed"])
        change = (with_index / base - 1) * 100
        print(f"median: {base:.3f} → {with_index:.3f} ms ({change:+.1f} %)")
    loads = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average: {loads} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--only",
        choices=VARIANTS,
        help="run one variant only (to profile it: py-spy record -- python this --only indexed)",
    )
    args = parser.parse_args()
    asyncio.run(measure(args.messages, args.rounds, (args.only,) if args.only else VARIANTS))


if __name__ == "__main__":
    main()
