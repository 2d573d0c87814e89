"""Broker fixtures (a factory of started nodes per backend, a private redis-server), a
migrated SQLite database for the store tests, and the services over a fresh database on
SQLite and PostgreSQL for the tests that drive them in process."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.app import build_services
from chatserver.broker.base import Broker
from chatserver.broker.memory import MemoryBroker
from chatserver.broker.redis import RedisBroker
from chatserver.domain.errors import BadRequest
from chatserver.domain.models import Role, User, now_ms
from chatserver.services.container import Services
from chatserver.settings import Settings
from chatserver.store import accounts as account_store
from chatserver.store.engine import Database
from chatserver.store.migrate import upgrade
from chatserver.store.tables import users
from tests.support.services import postgres_database

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


Work = Callable[[AsyncConnection], Awaitable[str]]


def add_user(name: str, fail_after_insert: bool = False) -> Work:
    """A shared write that inserts one user and returns its name, or fails with
    `bad_request` after the insert (so a batch must undo what it wrote)."""

    async def work(conn: AsyncConnection) -> str:
        await conn.execute(insert(users), [user_row(name)])
        if fail_after_insert:
            raise BadRequest(f"{name} changed its mind after writing")
        return name

    return work


async def usernames(db: Database) -> set[str]:
    """Every username the database holds, to see which writes were committed."""
    async with db.read() as conn:
        return set((await conn.execute(select(users.c.username))).scalars())


def batch_with_two_failures() -> list[Work]:
    """Writes of `ok0` to `ok9`, with at index 5 one that fails after its insert and at 8
    a second `ok3`: a duplicate username, an integrity error mid-batch."""
    works = [add_user(f"ok{i}") for i in range(10)]
    works.insert(5, add_user("bad", fail_after_insert=True))
    works.insert(8, add_user("ok3"))
    return works


async def assert_only_the_failures_failed(db: Database, results: Sequence[object]) -> None:
    """The two failures of `batch_with_two_failures` reached only their own callers and
    left nothing behind, though they wrote before failing; every other write returned
    its name and was committed."""
    assert isinstance(results[5], BadRequest)
    assert isinstance(results[8], Exception) and not isinstance(results[8], BadRequest)
    assert [r for i, r in enumerate(results) if i not in (5, 8)] == [f"ok{i}" for i in range(10)]
    assert await usernames(db) == {f"ok{i}" for i in range(10)}
    async with db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(users))).scalar_one() == 10


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: SQLite in `tmp_path`, then a private PostgreSQL one."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/chat.db"
        return
    with postgres_database() as url:
        yield url


class World:
    """The services over a fresh database, and quick accounts straight in the store."""

    def __init__(self, db: Database, services: Services) -> None:
        self.db = db
        self.s = services
        self._names = 0

    async def user(self, prefix: str, role: Role = "student") -> User:
        """An account named `prefix` and a number (no password hashing, no token)."""
        self._names += 1
        async with self.db.write() as conn:
            return await account_store.create_user(
                conn,
                username=f"{prefix}{self._names}",
                display_name=prefix.title(),
                password_hash="x",
                role=role,
                now=now_ms(),
            )


@asynccontextmanager
async def services_over(database_url: str) -> AsyncIterator[tuple[Database, Services]]:
    """The database migrated and the services built over it as the server builds them
    (a memory broker: one node); the database closed when the block ends."""
    await upgrade(database_url)
    db = Database(database_url)
    services, _hub = build_services(Settings(database_url=database_url), db, MemoryBroker())
    try:
        yield db, services
    finally:
        await db.close()


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with services_over(database_url) as (db, services):
        yield World(db, services)
