"""CPU of one presence window's fan-out on a node, without sockets or a database.

The storm's layout: 2,000 connections, 200 rooms of 100 members (10 rooms each), all on
one hub. Each window announces K random users online to the connected members of their
rooms, through the real `Hub` and `Connection`; the sockets are stand-ins that count
writes (the kernel's part, one write per socket per loop turn, is the same for both
designs). A tree whose envelope has no `PresenceWindow` gets the earlier design's
traffic: one room message per user and room. Trees alternate, one process per run.

    .venv/bin/python benchmarks/presence_fanout.py /tmp/presence-before . [--users 20 100]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from typing import Any

USERS, ROOMS, MEMBERS, WINDOWS = 2000, 200, 100, 20


class _Socket:
    """What a directly written connection needs of its socket's writer."""

    __slots__ = ("writes",)

    def __init__(self) -> None:
        self.writes = 0

    def write(self, frame: bytes) -> bool:
        self.writes += 1
        return True

    def congested(self) -> bool:
        return False

    def buffered(self) -> int:
        return 0


class _Broker:
    def set_handlers(self, on_message: Any, on_reset: Any) -> None:
        pass

    async def subscribe(self, channel: str) -> None:
        pass


async def _nothing(*args: Any) -> dict[int, int]:
    return {}


async def _run(announced: int) -> dict[str, float]:
    from chatserver.domain.models import User
    from chatserver.gateway.connection import Connection
    from chatserver.gateway.hub import Hub

    envelope = importlib.import_module("chatserver.protocol.envelope")
    windowed = hasattr(envelope, "PresenceWindow")
    rng = random.Random(1)
    rooms = {r: rng.sample(range(1, USERS + 1), MEMBERS) for r in range(1, ROOMS + 1)}
    rooms_of: dict[int, list[int]] = {}
    for room, members in rooms.items():
        for user in members:
            rooms_of.setdefault(user, []).append(room)
    hub = Hub(_Broker(), _nothing, _nothing)  # type: ignore[arg-type]
    sockets = [_Socket() for _ in range(USERS)]
    conns = {}
    for user, socket in enumerate(sockets, 1):
        conn = Connection(User(user, f"u{user}", "U", "student"), 1, None, None, 1 << 30, socket)  # type: ignore[arg-type]
        conns[user] = conn
        await hub.add_connection(conn)
    for room, members in rooms.items():
        for user in members:
            await hub.attach(conns[user], room, 0)
    await asyncio.sleep(0.05)  # the feeds' first look at the store
    spent = 0.0
    for n in range(WINDOWS):
        users = rng.sample(range(1, USERS + 1), announced)
        frames = [
            json.dumps(
                {
                    "op": "event",
                    "type": "presence",
                    "user": {"id": u, "username": f"user{u}", "display_name": f"User {u}"},
                    "status": "online",
                    "at": f"2026-12-06T18:00:00.{n:03d}Z",
                },
                separators=(",", ":"),
            ).encode()
            for u in users
        ]
        started = time.process_time()
        if windowed:  # what PresenceService publishes and the hub receives
            window = envelope.PresenceWindow(frames=[], subjects=[], rooms={}, friends={})
            for index, user in enumerate(users):
                window.frames.append(frames[index])
                window.subjects.append(user)
                for room in rooms_of[user]:
                    window.rooms.setdefault(room, []).append(index)
            hub.on_message("presence", envelope.encode_presence(window))
        else:
            for index, user in enumerate(users):
                for room in rooms_of[user]:
                    hub.on_message(f"room:{room}", envelope.pack(0, frames[index]))
        spent += time.process_time() - started
    return {
        "ms_per_window": spent / WINDOWS * 1000,
        "frames_per_window": hub.deliveries / WINDOWS,
        "writes_per_window": sum(s.writes for s in sockets) / WINDOWS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="+", help="source trees to compare")
    parser.add_argument("--users", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(asyncio.run(_run(args.one))))
        return
    for users in args.users:
        results: dict[str, list[dict[str, float]]] = {tree: [] for tree in args.trees}
        for _ in range(args.runs):
            for tree in args.trees:
                env = {**os.environ, "PYTHONPATH": os.path.abspath(tree)}
                out = subprocess.run(
                    [sys.executable, __file__, tree, "--one", str(users)],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=tree,
                )
                results[tree].append(json.loads(out.stdout))
        for tree, runs in results.items():
            ms = sorted(r["ms_per_window"] for r in runs)
            print(
                f"K={users} {tree}: {statistics.median(ms):.2f} ms per window "
                f"(min {ms[0]:.2f}), {runs[0]['frames_per_window']:.0f} frames, "
                f"{runs[0]['writes_per_window']:.0f} pushes"
            )


if __name__ == "__main__":
    main()
