"""A reconnect storm after a server restart, with a long history in the database.

The open day's worst minute: the server restarts (a deploy, a crash) and every client
comes back at once, each having missed a few messages. This script builds it:

1. a database of `--messages` messages (default 1,000,000) in 200 rooms of 100 members
   among 2,000 users — the search benchmark's loader (`benchmarks/search.py`), reused —
   copied fresh for each run, with a session token per user written directly and every
   read marker at the end of its room (members who were following their rooms);
2. the server (`chatserver serve`, pinned to `--server-cpu`), and `--clients` WebSockets
   (default 2,000, one per user), each following its first room;
3. every client closes; each room that a client follows then gets `--missed` messages
   (default 20), two edits of earlier messages and three reactions, over HTTP;
4. the server is stopped (SIGTERM) and started again on the same database (with
   `--no-restart` it stays up: the same drop and return without a restart, the shape
   socket.io's connection state recovery covers, `benchmarks/node/storm_sio_client.mjs`);
5. every client reconnects within `--spread` seconds (default 1) with `since` for its room,
   and the time until the last one has its `room.synced` is the figure. Each client's
   replay is checked: exactly the messages it missed, each once. `--client node` drives
   this phase with `benchmarks/node/storm_client.mjs` instead of Python: every client also
   receives the presence frames of everyone coming back (about a million per storm), which
   takes the Python client close to its core's limit; storm.py still prepares everything
   and checks every replay.

    .venv/bin/python benchmarks/storm.py [--messages 1000000] [--clients 2000] \
        [--db sqlite|postgres] [--server-cpu 0] [--client-cpu 1] [--no-restart] \
        [--client python|node]

`--messages 10000` gives the same storm over a short history: the two figures side by
side say whether catching up depends on the size of the history.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import psutil
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
import search as history

ROOT = Path(__file__).resolve().parent.parent
NODE_CLIENT = ROOT / "benchmarks" / "node" / "storm_client.mjs"
RESUME_TIMEOUT_S = 120


@dataclass
class Client:
    user: int
    token: str
    room: int
    last_seq: int = 0
    ws: ClientConnection | None = None
    created: list[int] = field(default_factory=list)
    resumed_at: float = 0.0
    """Seconds from the opening of the reconnect window to this client's connect."""
    synced_at: float = 0.0
    """Seconds from the opening of the reconnect window to its `room.synced`; 0 if none."""


@dataclass
class Resumed:
    """What the reconnect phase left besides each client's own record, whichever program
    drove it."""

    failures: list[str]
    client_cpu_s: float
    close: Callable[[], Awaitable[None]]
    """Closes the clients' connections: called once the server's CPU has been read."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def user_rooms() -> dict[int, list[int]]:
    rooms: dict[int, list[int]] = {}
    for room in range(1, history.ROOMS + 1):
        for user in history.members_of(room):
            rooms.setdefault(user, []).append(room)
    return rooms


async def fresh_database(args: argparse.Namespace) -> str:
    """A copy of the loaded history for this run, and its URL."""
    if args.db == "sqlite":
        loaded = Path(f"/tmp/chat-storm-history-{args.messages}.db")
        await history.prepare_sqlite(loaded, args.messages, reload=False)
        copy = Path(f"/tmp/chat-storm-run-{os.getpid()}.db")
        source = sqlite3.connect(loaded)
        target = sqlite3.connect(copy)
        source.backup(target)  # consistent even with a WAL beside it
        source.close()
        target.close()
        return f"sqlite+aiosqlite:///{copy}"
    template = f"chat_storm_history_{args.messages}"
    base = "postgresql+asyncpg://postgres@127.0.0.1:5432"
    await history.prepare_postgres(f"{base}/{template}", args.messages, reload=False)
    name = f"chat_storm_run_{os.getpid()}"
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    return f"{base}/{name}"


async def drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240
        shutil.rmtree(f"{path}-files", ignore_errors=True)  # the server's file store
        return
    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def mark_read(url: str) -> None:
    """Everyone has read everything so far: they were following their rooms before the
    restart (the loaded history counts as read, as it would for active members)."""
    sql = (
        "UPDATE room_members SET last_read_seq = "
        "(SELECT last_seq FROM rooms WHERE rooms.id = room_members.room_id)"
    )
    if url.startswith("sqlite"):
        db = sqlite3.connect(url.split("///", 1)[1])
        with db:
            db.execute(sql)
        db.close()
    else:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()


async def write_tokens(url: str, users: list[int]) -> dict[int, str]:
    """A session for each user, written as the server writes one (SHA-256 of the token)."""
    tokens = {user: secrets.token_urlsafe(32) for user in users}
    rows = [
        (user, hashlib.sha256(token.encode()).hexdigest(), 0, 2**62)
        for user, token in tokens.items()
    ]
    sql = (
        "INSERT INTO tokens (user_id, token_hash, created_at_ms, expires_at_ms)"
        " VALUES ({}, {}, {}, {})"
    )
    if url.startswith("sqlite"):
        db = sqlite3.connect(url.split("///", 1)[1])
        with db:
            db.executemany(sql.format("?", "?", "?", "?"), rows)
        db.close()
    else:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await conn.executemany(sql.format("$1", "$2", "$3", "$4"), rows)
        finally:
            await conn.close()
    return tokens


class Server:
    def __init__(
        self, url: str, port: int, cpu: int | None, log: Path, checkout: Path = ROOT
    ) -> None:
        self.url, self.port, self.cpu, self.log = url, port, cpu, log
        self.checkout = checkout
        """The source tree served (`python -m` imports the package of its working
        directory): another checkout measures other code against the same storm."""
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "CHAT_DATABASE_URL": self.url,
            "CHAT_RATE_LIMIT_SCALE": "1000",
            "CHAT_MAX_CONNECTIONS_PER_IP": "100000",
            "CHAT_CONNECT_BURST_PER_IP": "100000",
            "CHAT_LOG_LEVEL": "warning",
        }
        command = [sys.executable, "-m", "chatserver", "serve", "--port", str(self.port)]
        if self.cpu is not None:
            command = ["taskset", "-c", str(self.cpu), *command]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.checkout
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            time.sleep(0.05)
        raise RuntimeError("server did not start")

    def cpu_seconds(self) -> float:
        assert self.process is not None
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def forget_if_empty(log: Path) -> None:
    """Remove the server's log when it said nothing (the usual case): no empty files left
    behind in /tmp, one per run."""
    if log.exists() and not log.stat().st_size:
        log.unlink()


def code_version(checkout: Path) -> str:
    """The commit a source tree is at, for the result (runs once, after the storm)."""
    done = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


def profile(server: Server, output: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling the storm's server into `output`: a flame graph when its name ends
    in `.svg`, folded stacks otherwise."""
    assert server.process is not None
    beside = Path(sys.executable).parent / "py-spy"
    spy_bin = str(beside) if beside.exists() else "py-spy"
    command = [spy_bin, "record", "--pid", str(server.process.pid), "--rate", "250"]
    kind = "flamegraph" if output.suffix == ".svg" else "raw"
    spy = subprocess.Popen(
        [*command, "--format", kind, "--output", str(output), "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    return spy


async def hello(client: Client, ws_url: str, since: dict[int, int] | None) -> dict[str, object]:
    ws = await connect(ws_url, max_size=2**24, compression=None, open_timeout=60)
    frame: dict[str, object] = {"op": "hello", "v": 1, "token": client.token}
    if since:
        frame["since"] = {str(room): seq for room, seq in since.items()}
    await ws.send(json.dumps(frame))
    ready = json.loads(await ws.recv())
    if ready.get("op") != "ready":
        await ws.close()
        raise RuntimeError(f"expected ready, got {ready!r:.300}")
    client.ws = ws
    return dict(ready)


async def read_replay(client: Client, window: float) -> None:
    """Collect the replayed messages of the client's room until its `room.synced`."""
    assert client.ws is not None
    async for raw in client.ws:
        # Presence announcements of everyone else coming back outnumber the replay many
        # times over: skip them without decoding, so the client side keeps up.
        if '"message.created"' not in raw and '"room.synced"' not in raw:
            continue
        frame = json.loads(raw)
        if frame.get("room") != client.room:
            continue
        kind = frame.get("type")
        if kind == "message.created":
            client.created.append(int(frame["message"]["id"]))
        elif kind == "room.synced":
            client.synced_at = time.monotonic() - window
            return


async def connect_all(clients: list[Client], ws_url: str, concurrency: int = 200) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(client: Client) -> None:
        async with gate:
            ready = await hello(client, ws_url, None)
            listed: list[dict[str, int]] = ready["rooms"]  # type: ignore[assignment]
            rooms = {int(r["id"]): int(r["last_seq"]) for r in listed}
            client.last_seq = rooms[client.room]

    await asyncio.gather(*(one(c) for c in clients))


async def missed_traffic(
    base: str, rooms: dict[int, list[Client]], missed: int
) -> dict[int, set[int]]:
    """`missed` messages, two edits and three reactions in each followed room, over HTTP;
    the ids of the new messages, per room."""
    posted: dict[int, set[int]] = {}
    gate = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:

        async def room_traffic(room: int, members: list[Client]) -> None:
            headers = {"Authorization": f"Bearer {members[0].token}"}
            ids: list[int] = []
            for i in range(missed):
                async with gate:
                    resp = await http.post(
                        f"/api/rooms/{room}/messages",
                        json={"body": f"missed {i} in room {room}"},
                        headers=headers,
                    )
                resp.raise_for_status()
                ids.append(int(resp.json()["message"]["id"]))
            for target in ids[:2]:
                async with gate:
                    resp = await http.patch(
                        f"/api/messages/{target}", json={"body": "edited"}, headers=headers
                    )
                resp.raise_for_status()
            for target in ids[-3:]:
                async with gate:
                    resp = await http.put(f"/api/messages/{target}/reactions/👍", headers=headers)
                resp.raise_for_status()
            posted[room] = set(ids)

        await asyncio.gather(*(room_traffic(room, members) for room, members in rooms.items()))
    return posted


async def resume_in_python(clients: list[Client], ws_url: str, spread: float) -> Resumed:
    """Step 5 driven from this process: one task per client."""
    client_cpu_before = time.process_time()
    window = time.monotonic()

    async def resume(client: Client) -> None:
        await asyncio.sleep(random.uniform(0, spread))
        client.resumed_at = time.monotonic() - window
        await hello(client, ws_url, {client.room: client.last_seq})
        await read_replay(client, window)

    results = await asyncio.wait_for(
        asyncio.gather(*(resume(c) for c in clients), return_exceptions=True), RESUME_TIMEOUT_S
    )
    client_cpu = time.process_time() - client_cpu_before

    async def close() -> None:
        await asyncio.gather(*(c.ws.close() for c in clients if c.ws is not None))

    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    return Resumed(failures, client_cpu, close)


async def resume_in_node(
    clients: list[Client], ws_url: str, spread: float, cpu: int | None
) -> Resumed:
    """Step 5 driven by `benchmarks/node/storm_client.mjs`, pinned to `cpu`: it gets each
    client's token, room and last seq, and gives back what each one received."""
    plan_path = Path(f"/tmp/chat-storm-{os.getpid()}-plan.json")
    results_path = Path(f"/tmp/chat-storm-{os.getpid()}-results.json")
    plan = {
        "url": ws_url,
        "spread_s": spread,
        "timeout_s": RESUME_TIMEOUT_S,
        "clients": [{"token": c.token, "room": c.room, "since": c.last_seq} for c in clients],
    }
    plan_path.write_text(json.dumps(plan))  # noqa: ASYNC240
    command = ["node", str(NODE_CLIENT), str(plan_path), str(results_path)]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    process = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdin is not None and process.stdout is not None

    async def close() -> None:
        assert process.stdin is not None
        process.stdin.close()  # the client closes its connections and exits
        await process.wait()
        plan_path.unlink(missing_ok=True)  # noqa: ASYNC240
        results_path.unlink(missing_ok=True)  # noqa: ASYNC240

    try:
        line = await asyncio.wait_for(process.stdout.readline(), RESUME_TIMEOUT_S + 60)
        if line.strip() != b"caught up":
            raise RuntimeError(f"the Node storm client exited with {await process.wait()}")
        results = json.loads(results_path.read_text())  # noqa: ASYNC240
    except BaseException:
        await close()
        raise
    failures: list[str] = []
    for client, got in zip(clients, results["clients"], strict=True):
        client.created = [int(i) for i in got["created"]]
        client.resumed_at = float(got["resumed_s"] or 0.0)
        client.synced_at = float(got["synced_s"] or 0.0)
        if got["error"] is not None:
            failures.append(str(got["error"]))
    return Resumed(failures, float(results["client_cpu_s"]), close)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def run(args: argparse.Namespace) -> dict[str, object]:
    url = await fresh_database(args)
    try:
        memberships = user_rooms()
        users = sorted(memberships)[: args.clients]
        tokens = await write_tokens(url, users)
        await mark_read(url)
        clients = [Client(u, tokens[u], memberships[u][0]) for u in users]
        driver = getattr(args, "client", "python")
        by_room: dict[int, list[Client]] = {}
        for client in clients:
            by_room.setdefault(client.room, []).append(client)
        port = free_port()
        log = Path(f"/tmp/chat-storm-{os.getpid()}.log")
        server = Server(url, port, args.server_cpu, log, getattr(args, "checkout", ROOT))
        server.start()
        ws_url = f"ws://127.0.0.1:{port}/ws"
        base = f"http://127.0.0.1:{port}"
        try:
            started = time.monotonic()
            await connect_all(clients, ws_url)
            print(f"{len(clients)} clients connected in {time.monotonic() - started:.1f} s")
            await asyncio.gather(*(c.ws.close() for c in clients if c.ws is not None))
            posted = await missed_traffic(base, by_room, args.missed)
            restart = not getattr(args, "no_restart", False)
            if restart:
                print(f"missed traffic written in {len(posted)} rooms; restarting the server")
                server.stop()
                server.start()
            else:
                print(f"missed traffic written in {len(posted)} rooms; the server stays up")
            spy = profile(server, args.profile) if args.profile else None
            cpu_before = server.cpu_seconds()
            if driver == "node":
                resumed = await resume_in_node(
                    clients, ws_url, args.spread, getattr(args, "client_cpu", None)
                )
            else:
                resumed = await resume_in_python(clients, ws_url, args.spread)
            failures = resumed.failures
            cpu = server.cpu_seconds() - cpu_before
            client_cpu = resumed.client_cpu_s
            if spy is not None:
                spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
                spy.wait(60)
            synced = [c for c in clients if c.synced_at]
            wrong = sum(1 for c in synced if sorted(c.created) != sorted(posted[c.room]))
            duplicated = sum(len(c.created) - len(set(c.created)) for c in synced)
            spans = [(c.synced_at - c.resumed_at) * 1000 for c in synced]
            last = max((c.synced_at for c in synced), default=0.0)
            await resumed.close()
        finally:
            server.stop()
            forget_if_empty(log)
        checkout = Path(getattr(args, "checkout", ROOT))
        commit = code_version(checkout)
        result: dict[str, object] = {
            "server_code": f"{checkout} ({commit or 'not a git checkout'})",
            "database": args.db,
            "restart": restart,
            "history_messages": args.messages,
            "clients": len(clients),
            "rooms_followed": len(by_room),
            "missed_per_client": args.missed,
            "spread_s": args.spread,
            "client": driver,
            "caught_up": len(synced),
            "failed": len(failures),
            "wrong_replays": wrong,
            "duplicated": duplicated,
            "seconds_to_all_caught_up": round(last, 3),
            # Within `spread_s` unless the client program could not keep to its window
            # (its own CPU the bound): then the storm was gentler than asked.
            "last_reconnect_started_s": round(max(c.resumed_at for c in clients), 3),
            "resume_to_synced_ms": {
                "p50": round(statistics.median(spans), 1) if spans else None,
                "p99": round(pct(spans, 0.99), 1) if spans else None,
                "max": round(max(spans), 1) if spans else None,
            },
            "server_cpu_s": round(cpu, 2),
            "server_cpu_ms_per_client": round(cpu / max(1, len(clients)) * 1000, 2),
            "client_cpu_s": round(client_cpu, 2),
            "load_average": round(os.getloadavg()[0], 1),
        }
        if failures:
            result["first_failure"] = failures[0][:300]
        return result
    finally:
        await drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--missed", type=int, default=20)
    parser.add_argument("--spread", type=float, default=1.0)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument(
        "--profile", type=Path, help="py-spy's samples of the storm: folded, or SVG if *.svg"
    )
    parser.add_argument(
        "--checkout", type=Path, default=ROOT, help="the server's source tree (default: this one)"
    )
    parser.add_argument(
        "--no-restart",
        action="store_true",
        help="the clients drop and come back while the server stays up",
    )
    parser.add_argument(
        "--client",
        choices=["python", "node"],
        default="python",
        help="the program that drives the reconnect phase (node: benchmarks/node/storm_client.mjs)",
    )
    args = parser.parse_args()
    if args.client_cpu is not None:
        os.sched_setaffinity(0, {args.client_cpu})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
