"""A connect burst against PostgreSQL: hundreds of sockets say hello at once to a node
with a small database pool, and every one of them gets its `ready`.

The pool's wait is short here (CHAT_DB_POOL_TIMEOUT), so a handshake that queued on the
pool instead of in the node's handshake gate would be closed with 1013 (try again later).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from chatserver.sdk import ChatClient
from tests.support.server import ServerProcess
from tests.support.services import postgres_database

pytestmark = pytest.mark.postgres

SOCKETS = 300
ROOMS = 5


@pytest.fixture
def small_pool_server(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {
        "CHAT_DB_POOL_SIZE": "2",
        "CHAT_DB_POOL_TIMEOUT": "0.5",
        "CHAT_RATE_LIMIT_SCALE": "1000",  # one account opens every socket
    }
    with (
        postgres_database() as database_url,
        ServerProcess(tmp_path, env=env, database_url=database_url) as server,
    ):
        yield server


async def _hello(url: str, token: str) -> dict[str, Any]:
    """One socket's handshake: the first frame the server answers `hello` with, or how
    the server closed it."""
    async with connect(url, open_timeout=60, max_size=2**22) as ws:
        await ws.send(json.dumps({"op": "hello", "v": 1, "token": token}))
        async with asyncio.timeout(120):
            try:
                frame: dict[str, Any] = json.loads(await ws.recv())
            except Exception:
                return {"op": "closed", "code": ws.close_code, "reason": ws.close_reason}
        return frame


async def test_every_hello_of_a_burst_is_answered_ready(small_pool_server: ServerProcess) -> None:
    client = ChatClient(small_pool_server.base_url)
    await client.register(f"burst{uuid.uuid4().hex[:8]}", "correct horse battery")
    for i in range(ROOMS):
        await client.create_room(f"burst-{i}-{uuid.uuid4().hex[:8]}", f"Burst {i}", "topic")
    assert client.token is not None
    try:
        frames = await asyncio.gather(
            *(_hello(small_pool_server.ws_url, client.token) for _ in range(SOCKETS))
        )
    finally:
        await client.close()
    refused = [f for f in frames if f.get("op") != "ready"]
    assert not refused, f"{len(refused)} of {SOCKETS} hellos refused, e.g. {refused[0]}"
    assert all(len(f["rooms"]) == ROOMS for f in frames)
