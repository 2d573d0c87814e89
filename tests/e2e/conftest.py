"""Fixtures for end-to-end tests: one real server per module, fresh users per test."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from chatserver.sdk import ChatClient
from tests.support.server import ServerProcess


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


@pytest.fixture
def slug() -> Callable[[str], str]:
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
