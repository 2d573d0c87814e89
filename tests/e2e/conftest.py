"""Fixtures for end-to-end tests: one real server per module, fresh users per test."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chatserver.sdk import ChatClient
from tests.support.server import ServerProcess
from tests.support.services import postgres_database, redis_process


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("server")) as process:
        yield process


_counter = itertools.count()

ClientFactory = Callable[..., Awaitable[ChatClient]]


@pytest.fixture
async def make_client(server: ServerProcess) -> AsyncIterator[ClientFactory]:
    """Registers a fresh user (unique name) and returns a logged-in client."""
    clients: list[ChatClient] = []

    async def make(name: str = "user", *, connect: bool = False, **kwargs: object) -> ChatClient:
        client = ChatClient(server.base_url, **kwargs)  # type: ignore[arg-type]
        clients.append(client)
        username = f"{name[:12]}{next(_counter)}{uuid.uuid4().hex[:6]}"
        await client.register(username, "correct horse battery")
        if connect:
            await client.connect()
        return client

    yield make
    for client in clients:
        await client.close()


def unique_slug(prefix: str = "room") -> str:
    return f"{prefix[:10]}-{uuid.uuid4().hex[:12]}"


Slug = Callable[[str], str]


@pytest.fixture
def slug() -> Slug:
    return unique_slug


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def promote(server: ServerProcess, username: str, role: str) -> None:
    """Change a role the way an operator does: with the CLI, on the server's database."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "chatserver", "user", "set-role", username, role],
        env=server.env,
        capture_output=True,
        cwd=server.workdir,
    )
    assert done.returncode == 0, f"set-role failed: {done.stderr.decode(errors='replace')}"


def register_with_role(server: ServerProcess, role: str) -> str:
    """A fresh account given `role` by the operator; returns its token."""
    import httpx

    name = f"{role[:8]}{next(_counter)}{uuid.uuid4().hex[:6]}"
    resp = httpx.post(
        f"{server.base_url}/api/auth/register",
        json={"username": name, "password": "correct horse battery"},
    )
    resp.raise_for_status()
    promote(server, name, role)
    token: str = resp.json()["token"]
    return token


def take_first_account(server: ServerProcess) -> None:
    """The first account on a server is its admin: take it so later ones are students."""
    import httpx

    httpx.post(
        f"{server.base_url}/api/auth/register",
        json={"username": f"founder{uuid.uuid4().hex[:8]}", "password": "correct horse battery"},
    )


@pytest.fixture(scope="module")
def first_account_taken(server: ServerProcess) -> None:
    """For modules whose `make_client` accounts must all be students: they ask for it with
    `pytestmark = pytest.mark.usefixtures("first_account_taken")`."""
    take_first_account(server)


Frame = dict[str, Any]


async def topic_room(owner: ChatClient, slug: Slug, *members: ChatClient) -> Frame:
    """A public topic room that `owner` creates (so owns and moderates), `members` joined."""
    room: Frame = await owner.create_room(slug("topic"), "Topic", "topic")
    for member in members:
        await member.join(room["id"])
    return room


Session = Callable[..., Awaitable[tuple[ChatClient, Frame]]]


@pytest.fixture
async def session(server: ServerProcess) -> AsyncIterator[Session]:
    """Opens an extra WebSocket for an existing user, e.g. to reconnect with `since`."""
    opened: list[ChatClient] = []

    async def open_(
        client: ChatClient, since: dict[int, int] | None = None
    ) -> tuple[ChatClient, Frame]:
        socket = ChatClient(server.base_url, token=client.token, reconnect=False)
        opened.append(socket)
        ready = await socket.connect(since=since or {})
        return socket, ready

    yield open_
    for socket in opened:
        await socket.close()


@pytest.fixture(scope="module")
def staff_tokens(server: ServerProcess) -> dict[str, str]:
    return {role: register_with_role(server, role) for role in ("mentor", "admin")}


@pytest.fixture
async def staff(
    server: ServerProcess, staff_tokens: dict[str, str]
) -> AsyncIterator[dict[str, ChatClient]]:
    """A logged-in mentor and admin (module-wide accounts, fresh clients per test)."""
    clients = {role: ChatClient(server.base_url, token) for role, token in staff_tokens.items()}
    for client in clients.values():
        await client.me()
    yield clients
    for client in clients.values():
        await client.close()


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Two nodes sharing one Redis and one PostgreSQL database (started together: the
    migration lock makes them take turns)."""
    with redis_process(tmp_path) as redis, postgres_database() as database_url:
        env = {"CHAT_REDIS_URL": redis.url}
        nodes = [ServerProcess(tmp_path, env=env, database_url=database_url) for _ in range(2)]
        try:
            for node in nodes:
                node.spawn()
            for node in nodes:
                node.wait_ready()
            yield nodes
        finally:
            for node in nodes:
                node.stop()
