"""`ready` and the notifications that race it, over real sockets.

The gateway subscribes the user's channel before it reads the `ready` state, so a
notification committed during the handshake reaches the socket while `ready` is being
built. A client starts from `ready`'s `notifications_unread` and adds each later
`notification` event: that count must be the server's, whether the notification landed
before the state was read (already counted: its event must not come too) or after
(not counted: its event must come, after `ready`).

The server runs in this process (uvicorn, the production protocols, SQLite, the memory
broker) so that a notification can be committed at exactly those two moments: its
session service is the real one, which commits the notification just before (or just
after) reading the state, and waits until the hub has handed the event to the user's
sockets — which a second socket of the same user sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect

from chatserver.app import create_app
from chatserver.cli import server_config
from chatserver.domain.models import User
from chatserver.gateway.direct import DirectWriteProtocol
from chatserver.sdk import ChatClient
from chatserver.services.session import SessionService, Snapshot
from chatserver.settings import Settings
from chatserver.store.engine import Database
from chatserver.store.migrate import upgrade

Inject = Callable[[], Awaitable[None]]


class _RacedSession(SessionService):
    """The real session service, which commits a notification for the user connecting
    right before or right after it reads their `ready` state (once)."""

    def __init__(self, db: Database, when: str) -> None:
        super().__init__(db)
        self.when = when
        self.inject: Inject | None = None

    async def snapshot(self, user: User) -> Snapshot:
        inject, self.inject = self.inject, None
        if inject is not None and self.when == "before":
            await inject()
        snapshot = await super().snapshot(user)
        if inject is not None and self.when == "after":
            await inject()
        return snapshot


@contextlib.asynccontextmanager
async def serving(workdir: Path, when: str) -> AsyncIterator[tuple[Starlette, str, _RacedSession]]:
    url = f"sqlite+aiosqlite:///{workdir / 'chat.db'}"
    await upgrade(url)
    settings = Settings.from_env({}, database_url=url, rate_limit_scale=1000.0)
    app = create_app(settings)
    raced = _RacedSession(app.state.db, when)
    app.state.services = dataclasses.replace(app.state.services, session=raced)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(server_config(settings, app, DirectWriteProtocol))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(30):
            while not server.started:  # noqa: ASYNC110 (uvicorn.Server has no started event)
                await asyncio.sleep(0.01)
        yield app, f"http://127.0.0.1:{sock.getsockname()[1]}", raced
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _frames_until(ws: ClientConnection, op: str) -> list[dict[str, Any]]:
    """Every frame up to and including the first whose `op` is `op`."""
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while not frames or frames[-1].get("op") != op:
            frames.append(json.loads(await ws.recv()))
    return frames


@pytest.mark.parametrize("when", ["before", "after"])
async def test_the_count_from_ready_plus_later_notifications_is_the_servers(
    tmp_path: Path, when: str
) -> None:
    async with (
        serving(tmp_path, when) as (app, base, raced),
        ChatClient(base) as bob,
        ChatClient(base) as alice,
        ChatClient(base, reconnect=False) as observer,  # alice's other socket
    ):
        await bob.register("bob", "correct horse battery")
        await alice.register("alice", "correct horse battery")
        room = await bob.create_room("racing", "Racing", "topic")
        await alice.join(int(room["id"]))
        bob_user, _ = await app.state.services.accounts.authenticate(bob.token)
        observer.token = alice.token
        await observer.connect()

        async def mention(text: str) -> None:
            await app.state.services.messages.send(bob_user, int(room["id"]), text)
            await observer.next_event("notification", timeout=10)

        raced.inject = lambda: mention("@alice during your handshake")
        async with connect(base.replace("http", "ws") + "/ws", compression=None) as ws:
            await ws.send(json.dumps({"op": "hello", "v": 1, "token": alice.token}))
            first = await _frames_until(ws, "ready")
            assert [f.get("op") for f in first] == ["ready"], "events came before ready"
            count = first[0]["notifications_unread"]
            await mention("@alice once you are in")
            await ws.send(json.dumps({"op": "ping", "ref": 1}))
            for frame in await _frames_until(ws, "pong"):
                if frame.get("type") == "notification":
                    count += 1
        unread = await alice.notifications(unread=True)
        assert len(unread) == 2
        assert count == len(unread), f"ready + events counted {count}; the server has 2"
