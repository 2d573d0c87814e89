"""The benchmark harness: servers on one core, load clients on the other, JSON on disk."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.store import events
from chatserver.store.engine import Database, Synchronous
from chatserver.store.migrate import upgrade

Result = dict[str, Any]
OnLine = Callable[[str], None]

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
NODE_DIR = ROOT / "benchmarks" / "node"
SERVER_CORE, CLIENT_CORE = "0", "1"
OURS_PORT = 8100
REFERENCES = {  # name: (command, port, load-tester target)
    "websockets": ([PY, "benchmarks/reference/ws_broadcast.py"], 8201, "ws"),
    "python-socketio": ([PY, "benchmarks/reference/socketio_rooms.py"], 8202, "socketio"),
    "node-socketio": (["node", "benchmarks/node/sio_server.mjs"], 8203, "socketio"),
    "starlette-naive": ([PY, "benchmarks/reference/starlette_naive.py"], 8204, "ws"),
}
ACCOUNTS = 2000  # every scenario draws from one pool of accounts: registered once


class Bench:
    """One benchmark run: its output folder, its server state, the processes it started."""

    def __init__(self, out: Path, state: Path, nice: int = 0) -> None:
        self.out, self.state = out, state
        # On a machine shared with other work, a negative niceness keeps that work from
        # taking the benchmark's cores (the server's CPU% would no longer say it was full).
        self.prefix = ["nice", "-n", str(nice)] if nice else []
        self.log = (out / "runner.log").open("a")

    def note(self, text: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {text}"
        print(line, flush=True)
        self.log.write(line + "\n")
        self.log.flush()

    @contextmanager
    def server(
        self, name: str, command: list[str], port: int, env: dict[str, str] | None = None
    ) -> Iterator[int]:
        """Start a server on the server core, wait until it accepts connections, yield its pid."""
        log = (self.out / f"server-{name}-{port}.log").open("ab")
        proc = subprocess.Popen(
            [*self.prefix, "taskset", "-c", SERVER_CORE, *command],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_port(port, proc)
            yield proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()

    @contextmanager
    def ours(self, port: int = OURS_PORT, extra_env: dict[str, str] | None = None) -> Iterator[int]:
        """Our server as an operator starts it, on its own SQLite database in the state dir."""
        env = {
            "CHAT_DATABASE_URL": f"sqlite+aiosqlite:///{self.state / 'chat.db'}",
            "CHAT_RATE_LIMIT_SCALE": "1000",
            "CHAT_LOG_LEVEL": "warning",
            **(extra_env or {}),
        }
        command = [PY, "-m", "chatserver", "serve", "--port", str(port)]
        with self.server("ours", command, port, env) as pid:
            yield pid

    def loadtest(self, label: str, args: list[str], timeout: float = 900) -> Result:
        """`chatserver loadtest` on the client core; returns its JSON (also kept on disk)."""
        path = self.out / f"{label}.json"
        command = [PY, "-m", "chatserver", "loadtest", *args, "--json", str(path)]
        return self._client(label, command, path, timeout, None)

    def node(
        self, label: str, args: list[str], timeout: float = 900, on_line: OnLine | None = None
    ) -> Result:
        """The Node load client, for loads beyond what the Python tester can receive."""
        path = self.out / f"{label}.json"
        command = ["node", str(NODE_DIR / "loadclient.mjs"), *args, "--json", str(path)]
        return self._client(label, command, path, timeout, on_line)

    def _client(
        self, label: str, command: list[str], path: Path, timeout: float, on_line: OnLine | None
    ) -> Result:
        """Run a load client to completion (killed at `timeout`), its output into a log;
        `on_line` sees each line as it comes, to act at a given phase (the profiler)."""
        self.note(f"{label}: {' '.join(command[2:])}")
        deadline = time.monotonic() + timeout
        with (self.out / f"{label}.log").open("w") as log:
            proc = subprocess.Popen(
                [*self.prefix, "taskset", "-c", CLIENT_CORE, *command],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                log.flush()
                if on_line is not None:
                    on_line(line)
                if time.monotonic() > deadline:
                    self.note(f"{label}: timed out after {timeout}s")
                    proc.kill()
                    break
            proc.wait()
        if not path.exists():
            if "--prepare-only" not in command:  # preparing writes a plan, not results
                self.note(f"{label}: no result (see {label}.log)")
            return {}
        result: Result = json.loads(path.read_text())
        result["loadavg_after"] = os.getloadavg()
        path.write_text(json.dumps(result, indent=2) + "\n")
        return result


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on :{port} exited with {proc.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"server on :{port} did not start in {timeout}s")


def pin_all_threads(pid: int) -> None:
    subprocess.run(
        ["taskset", "-a", "-p", "-c", SERVER_CORE, str(pid)], check=True, stdout=subprocess.DEVNULL
    )


POOL = ("bench", ACCOUNTS)
IDLE_POOL = ("idle", 500)
"""Account pools: (prefix, size). The idle pool is in no room (see scenarios.idle)."""


def chat_args(
    bench: Bench, pid: int, pool: tuple[str, int] = POOL, port: int = OURS_PORT
) -> list[str]:
    """Options every run against our server shares: the account pool and its token cache."""
    prefix, size = pool
    return [
        "--url",
        f"http://127.0.0.1:{port}",
        "--prefix",
        prefix,
        "--accounts",
        str(size),
        "--token-cache",
        str(bench.state / "tokens.json"),
        "--server-pid",
        str(pid),
    ]


def prepare_accounts(bench: Bench) -> None:
    """Register the pools once, with the server on both cores: argon2 is the whole cost
    (about 0.2 s of CPU per account), and later runs on the same --state reuse them."""
    env = {
        "CHAT_DATABASE_URL": f"sqlite+aiosqlite:///{bench.state / 'chat.db'}",
        "CHAT_RATE_LIMIT_SCALE": "1000",
        "CHAT_LOG_LEVEL": "warning",
    }
    command = [PY, "-m", "chatserver", "serve", "--port", str(OURS_PORT)]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_port(OURS_PORT, proc)
        for prefix, size in (POOL, IDLE_POOL):
            bench.note(f"preparing {size} accounts lt-{prefix}-* (cached in {bench.state})")
            subprocess.run(
                [
                    PY,
                    "-m",
                    "chatserver",
                    "loadtest",
                    "--prepare-only",
                    "--idle",
                    "--rooms",
                    "0",
                    "--clients",
                    str(size),
                    "--prefix",
                    prefix,
                    "--url",
                    f"http://127.0.0.1:{OURS_PORT}",
                    "--token-cache",
                    str(bench.state / "tokens.json"),
                ],
                cwd=ROOT,
                check=True,
                timeout=3600,
            )
    finally:
        proc.terminate()
        proc.wait(15)


def seed_sqlite_accounts(database: Path, prefix: str, count: int, tokens_path: Path) -> None:
    """Accounts <prefix>-<i> with one valid token each in a migrated SQLite file, and the
    load tester's token cache at `tokens_path` (registering would hash every password
    with argon2, minutes for thousands)."""
    now = int(time.time() * 1000)
    cache: dict[str, str] = {}
    conn = sqlite3.connect(database)
    with conn:
        for i in range(count):
            name = f"{prefix}-{i}"
            token = secrets.token_urlsafe(32)
            cache[name] = token
            user_id = conn.execute(
                "INSERT INTO users (username, display_name, password_hash, role, created_at_ms)"
                " VALUES (?, ?, 'unused', 'student', ?)",
                (name, name, now),
            ).lastrowid
            conn.execute(
                "INSERT INTO tokens (user_id, token_hash, created_at_ms, expires_at_ms)"
                " VALUES (?, ?, ?, ?)",
                (user_id, hashlib.sha256(token.encode()).hexdigest(), now, now + 86_400_000),
            )
    conn.close()
    tokens_path.write_text(json.dumps(cache))


async def event_log_database(
    synchronous: Synchronous = "full",
) -> tuple[Database, Callable[[AsyncConnection], Awaitable[None]]]:
    """A fresh SQLite database with one room, and a write of the smallest row a send
    makes (one 300-byte event appended to the room's log, the next seq each time): what
    the transaction benchmarks time, without a message's other statements."""
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/events.db"
    await upgrade(url)
    db = Database(url, synchronous=synchronous)
    async with db.write() as conn:
        await conn.execute(
            text(
                "INSERT INTO rooms (slug, name, kind, visibility, member_count, created_at_ms,"
                " last_seq) VALUES ('r', 'r', 'topic', 'public', 0, 0, 0)"
            )
        )
    seqs = itertools.count(1)

    async def append(conn: AsyncConnection) -> None:
        await events.append(conn, 1, next(seqs), b"x" * 300, 0)

    return db, append
