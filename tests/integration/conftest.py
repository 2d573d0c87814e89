"""Broker fixtures (a factory of started nodes per backend, a private redis-server) and
a migrated SQLite database for the store tests."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import redis

from chatserver.broker.base import Broker
from chatserver.broker.memory import MemoryBroker
from chatserver.broker.redis import RedisBroker
from chatserver.store.engine import Database
from chatserver.store.migrate import upgrade

REDIS_URL = os.environ.get("CHAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
_redis_problem: dict[str, str | None] = {}


def unavailable(reason: str) -> None:
    """Skip when a service is missing, except in CI, where that is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def require_redis(url: str = REDIS_URL) -> None:
    """Skip (or fail in CI) unless the shared test Redis answers; checked once per URL."""
    if url not in _redis_problem:
        try:
            with redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1) as r:
                r.ping()
            _redis_problem[url] = None
        except (redis.RedisError, OSError) as exc:
            _redis_problem[url] = f"Redis at {url} is unreachable (CHAT_TEST_REDIS_URL): {exc}"
    problem = _redis_problem[url]
    if problem is not None:
        unavailable(problem)


class Node:
    """One broker as a server process would hold it, recording what it is handed."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.messages: list[tuple[str, bytes]] = []
        self.resets = 0
        self._changed = asyncio.Event()
        broker.set_handlers(self._on_message, self._on_reset)

    def _on_message(self, channel: str, data: bytes) -> None:
        self.messages.append((channel, data))
        self._changed.set()

    def _on_reset(self) -> None:
        self.resets += 1
        self._changed.set()

    def on(self, channel: str) -> list[bytes]:
        return [data for ch, data in self.messages if ch == channel]

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def wait_for(self, channel: str, count: int = 1, timeout: float = 5.0) -> list[bytes]:
        await self.wait_until(lambda: len(self.on(channel)) >= count, timeout)
        return self.on(channel)


class Nodes:
    """Starts nodes of one backend; `shared` says whether nodes see each other."""

    def __init__(self, backend: str, url: str = REDIS_URL) -> None:
        self.backend = backend
        self.url = url
        self.shared = backend != "memory"
        self._started: list[Node] = []

    def build(self, **options: float) -> Node:
        broker: Broker
        if self.backend == "memory":
            broker = MemoryBroker()
        else:
            broker = RedisBroker(self.url, sharded=self.backend == "redis-sharded", **options)
        return Node(broker)

    async def start(self, **options: float) -> Node:
        node = self.build(**options)
        await node.broker.start()
        self._started.append(node)
        return node

    async def close(self) -> None:
        for node in self._started:
            await node.broker.close()


BACKENDS = [
    pytest.param("memory"),
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("redis-sharded", marks=pytest.mark.redis),
]


@pytest.fixture(params=BACKENDS)
async def nodes(request: pytest.FixtureRequest) -> AsyncIterator[Nodes]:
    """Every contract test runs once per backend."""
    backend: str = request.param
    if backend != "memory":
        require_redis()
    started = Nodes(backend)
    yield started
    await started.close()


@pytest.fixture
def channel() -> Callable[[str], str]:
    """Channel names unique to one test, so tests sharing a Redis never see each other."""
    prefix = f"t{uuid.uuid4().hex[:12]}"
    return lambda name: f"{prefix}:{name}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    """A private redis-server on a free port, for tests that kill and restart it."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        self._process = subprocess.Popen(
            [
                *(self.binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
                *("--dir", str(self.workdir)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def start(self) -> None:
        """Start (or restart, on the same port) and return once it answers PING."""
        self.spawn()
        async with asyncio.timeout(5):
            while True:
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    await asyncio.sleep(0.02)
                    continue
                writer.write(b"PING\r\n")
                answer = await reader.readline()
                writer.close()
                await writer.wait_closed()
                if answer.startswith(b"+PONG"):
                    return

    def pause(self) -> None:
        """SIGSTOP: connections stay open, but nothing answers."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: no shutdown, every connection just drops."""
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()
            self._process = None


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not on PATH (needed to kill and restart Redis)")
    assert binary is not None
    server = RedisServer(binary, tmp_path)
    try:
        await server.start()  # inside: a server that never answers is still stopped
        yield server
    finally:
        server.kill()


@pytest.fixture(params=["redis", "redis-sharded"])
async def private_nodes(
    request: pytest.FixtureRequest, redis_server: RedisServer
) -> AsyncIterator[Nodes]:
    """Nodes on the private server, both classic and sharded pub/sub."""
    started = Nodes(request.param, redis_server.url)
    yield started
    await started.close()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite database in `tmp_path / "store.db"`, as the server opens it."""
    url = f"sqlite+aiosqlite:///{tmp_path}/store.db"
    await upgrade(url)
    database = Database(url)
    yield database
    await database.close()


def user_row(name: str, **overrides: object) -> dict[str, object]:
    """A `users` row with nothing but a name (no password hashing: store tests only)."""
    return {
        "username": name,
        "display_name": name,
        "password_hash": "x",
        "role": "student",
        "notify_default": "mentions",
        "created_at_ms": 0,
        **overrides,
    }
