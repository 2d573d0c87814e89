"""An overloaded node sheds writes with `unavailable` instead of queueing them without
bound, and never loses one it acknowledged.

A real server on SQLite and on PostgreSQL, with room for 5 waiting writes
(CHAT_WRITE_QUEUE_MAX). The test holds the database's writer from outside, as another
process would (SQLite: a write transaction on the file; PostgreSQL: the room's row lock),
so that the server's first send is stuck and the next ones queue: exactly 5 of a burst
wait, the rest are refused at once (HTTP 503 with Retry-After, or the op's `error`
frame with its ref). Once the writer is free, what waited is committed and answered; the
history holds each acknowledged message exactly once and no refused one.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.support.server import ServerProcess
from tests.support.services import postgres_database

QUEUE = 5
BURST = 30


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    env = {
        "CHAT_WRITE_QUEUE_MAX": str(QUEUE),
        "CHAT_RATE_LIMIT_SCALE": "1000",  # one account sends the whole burst
        "CHAT_DB_POOL_SIZE": "2",  # PostgreSQL: one group-commit transaction at a time
    }
    workdir = tmp_path_factory.mktemp("overload")
    if request.param == "sqlite":
        with ServerProcess(workdir, env=env) as process:
            yield process
    else:
        with (
            postgres_database() as url,
            ServerProcess(workdir, env=env, database_url=url) as process,
        ):
            yield process


@asynccontextmanager
async def writer_held(server: ServerProcess, room_id: int) -> AsyncIterator[None]:
    """The database's writer held by another connection until the block ends."""
    if server.database_url.startswith("sqlite"):
        path = server.database_url.removeprefix("sqlite+aiosqlite:///")
        locked, release = threading.Event(), threading.Event()

        def hold() -> None:
            other = sqlite3.connect(path)
            other.execute("BEGIN IMMEDIATE")
            locked.set()
            release.wait(8)  # below the server's 10-s retry of a locked statement
            other.rollback()
            other.close()

        holder = threading.Thread(target=hold)
        holder.start()
        await asyncio.to_thread(locked.wait, 5)
        try:
            yield
        finally:
            release.set()
            await asyncio.to_thread(holder.join)
    else:
        import asyncpg

        other = await asyncpg.connect(server.database_url.replace("+asyncpg", ""))
        transaction = other.transaction()
        await transaction.start()
        await other.execute("SELECT id FROM rooms WHERE id = $1 FOR UPDATE", room_id)
        try:
            yield
        finally:
            await transaction.rollback()
            await other.close()


async def _account(http: httpx.AsyncClient) -> tuple[str, int]:
    """A fresh account's token and a room of its own."""
    name = f"load{uuid.uuid4().hex[:10]}"
    made = await http.post(
        "/api/auth/register", json={"username": name, "password": "correct horse battery"}
    )
    token = made.json()["token"]
    http.headers["Authorization"] = f"Bearer {token}"
    room = await http.post(
        "/api/rooms", json={"slug": f"r-{uuid.uuid4().hex[:10]}", "name": "busy", "kind": "topic"}
    )
    return token, int(room.json()["room"]["id"])


async def _history(http: httpx.AsyncClient, room_id: int) -> list[str]:
    page = await http.get(f"/api/rooms/{room_id}/messages", params={"limit": 100})
    return [m["body"] for m in page.json()["messages"]]


async def _post(http: httpx.AsyncClient, room_id: int, body: str) -> httpx.Response:
    return await http.post(f"/api/rooms/{room_id}/messages", json={"body": body})


async def _socket(server: ServerProcess, token: str) -> ClientConnection:
    ws = await connect(server.ws_url, max_size=2**22)
    await ws.send(json.dumps({"op": "hello", "v": 1, "token": token}))
    assert json.loads(await ws.recv())["op"] == "ready"
    return ws


async def _reply(ws: ClientConnection, ref: str) -> dict[str, Any]:
    """The reply to `ref`, skipping the events that arrive meanwhile."""
    while True:
        frame: dict[str, Any] = json.loads(await ws.recv())
        if frame.get("ref") == ref:
            return frame


async def _settle(tasks: list[asyncio.Task[Any]], count: int) -> list[asyncio.Task[Any]]:
    """Waits until `count` of the tasks are done (the refused ones: at once)."""
    pending = set(tasks)
    async with asyncio.timeout(10):
        while len(tasks) - len(pending) < count:
            _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    await asyncio.sleep(0.3)  # and no more than that
    return [task for task in tasks if task.done()]


async def test_a_burst_past_the_queue_is_refused_and_nothing_acknowledged_is_lost(
    server: ServerProcess,
) -> None:
    limits = httpx.Limits(max_connections=BURST + 8)
    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=30) as http:
        token, room_id = await _account(http)
        sockets = [await _socket(server, token) for _ in range(BURST)]
        acknowledged: list[str] = []
        refused: list[str] = []

        # Over HTTP.
        async with writer_held(server, room_id):
            first = asyncio.create_task(_post(http, room_id, "first"))
            await asyncio.sleep(0.5)  # its transaction waits for the writer
            burst = [asyncio.create_task(_post(http, room_id, f"http {i}")) for i in range(BURST)]
            for task in await _settle(burst, BURST - QUEUE):
                answer = task.result()
                assert answer.status_code == 503, answer.text
                assert answer.json()["error"]["code"] == "unavailable"
                assert int(answer.headers["Retry-After"]) >= 1
                refused.append(json.loads(answer.request.content)["body"])
        answers = await asyncio.gather(first, *(task for task in burst if not task.done()))
        assert [a.status_code for a in answers] == [201] * (QUEUE + 1)
        acknowledged += [a.json()["message"]["body"] for a in answers]

        # Over the WebSocket: each socket sends one op; refusals answer its ref.
        async with writer_held(server, room_id):
            first = asyncio.create_task(_post(http, room_id, "first ws"))
            await asyncio.sleep(0.5)
            for i, ws in enumerate(sockets):
                body = {"op": "send", "ref": f"s{i}", "room": room_id, "body": f"ws {i}"}
                await ws.send(json.dumps(body))
            replies = [asyncio.create_task(_reply(ws, f"s{i}")) for i, ws in enumerate(sockets)]
            for task in await _settle(replies, BURST - QUEUE):
                frame = task.result()
                assert (frame["op"], frame["code"]) == ("error", "unavailable"), frame
                assert frame["retry_after"] > 0
                refused.append(f"ws {frame['ref'][1:]}")
        assert (await first).status_code == 201
        acknowledged.append("first ws")
        for frame in await asyncio.gather(*(task for task in replies if not task.done())):
            assert frame["op"] == "ok", frame
            acknowledged.append(frame["message"]["body"])

        assert len(acknowledged) == 2 * (QUEUE + 1) and len(refused) == 2 * (BURST - QUEUE)
        # Normal service resumes at once.
        assert (await _post(http, room_id, "after")).status_code == 201
        history = await _history(http, room_id)
        assert sorted(history) == sorted([*acknowledged, "after"]), "each once, none refused"
        for ws in sockets:
            await ws.close()


async def _post_and_leave(server: ServerProcess, token: str, room_id: int, body: str) -> None:
    """Sends a whole request, waits until the server has it, and disconnects."""
    _, writer = await asyncio.open_connection("127.0.0.1", server.port)
    payload = json.dumps({"body": body}).encode()
    head = (
        f"POST /api/rooms/{room_id}/messages HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    writer.write(head.encode() + payload)
    await writer.drain()
    await asyncio.sleep(1.0)
    writer.close()
    await writer.wait_closed()


async def test_a_send_whose_client_left_while_it_waited_is_not_committed(
    server: ServerProcess,
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        token, room_id = await _account(http)
        async with writer_held(server, room_id):
            first = asyncio.create_task(_post(http, room_id, "first"))
            await asyncio.sleep(0.5)
            stayed = asyncio.create_task(_post(http, room_id, "stayed"))
            await _post_and_leave(server, token, room_id, "left")
        assert (await first).status_code == 201
        assert (await stayed).status_code == 201
        assert sorted(await _history(http, room_id)) == ["first", "stayed"]
