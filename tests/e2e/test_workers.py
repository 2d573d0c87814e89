"""`chatserver serve --workers N`: N processes on one port behave as one server.

Each worker is a node of its own behind Redis and PostgreSQL; these tests check what an
operator relies on: the kernel spreads connections over every worker, a message sent
through one worker reaches clients of the others once and in order, a worker that dies
is replaced and its clients lose nothing, and stopping the supervisor stops them all.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from chatserver.sdk import ChatClient
from tests.support.server import ServerProcess
from tests.support.services import postgres_database, redis_process

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[ServerProcess]:
    with redis_process(tmp_path) as redis, postgres_database() as database_url:
        server = ServerProcess(
            tmp_path,
            env={"CHAT_REDIS_URL": redis.url, "CHAT_PRESENCE_GRACE": "0.5"},
            database_url=database_url,
            args=("--workers", "2"),
        )
        try:
            server.start(timeout=60)
            _wait_for_workers(server, 2)
            yield server
        finally:
            server.stop()


def _listens(process: psutil.Process, port: int) -> bool:
    try:
        return any(
            c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
            for c in process.net_connections("tcp")
        )
    except psutil.Error:
        return False


def _listening_workers(server: ServerProcess) -> list[int]:
    assert server.process is not None
    children = psutil.Process(server.process.pid).children()
    return sorted(c.pid for c in children if _listens(c, server.port))


def _wait_for_workers(
    server: ServerProcess, count: int, exclude: frozenset[int] = frozenset()
) -> list[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pids = [pid for pid in _listening_workers(server) if pid not in exclude]
        if len(pids) == count:
            return pids
        time.sleep(0.1)
    raise AssertionError(f"{count} workers never listened:\n{server.log()}")


def _established_by_worker(server: ServerProcess, pids: list[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for pid in pids:
        connections = psutil.Process(pid).net_connections("tcp")
        counts[pid] = sum(
            1
            for c in connections
            if c.laddr and c.laddr.port == server.port and c.status == psutil.CONN_ESTABLISHED
        )
    return counts


async def _members(server: ServerProcess, count: int) -> tuple[list[ChatClient], int]:
    owner = ChatClient(server.base_url)
    await owner.register(f"owner{uuid.uuid4().hex[:8]}", "correct horse battery")
    room = int((await owner.create_room(f"w-{uuid.uuid4().hex[:10]}", "Workers", "topic"))["id"])
    clients = [owner]
    for _ in range(count - 1):
        client = ChatClient(server.base_url)
        await client.register(f"member{uuid.uuid4().hex[:8]}", "correct horse battery")
        await client.join(room)
        clients.append(client)
    for client in clients:
        await client.connect()
    return clients, room


async def _messages(client: ChatClient, room: int, count: int) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(30):
        while len({e["message"]["id"] for e in seen}) < count:
            event = await client.next_event(timeout=30)
            if event.get("type") == "message.created" and event.get("room") == room:
                seen.append(event)
    return seen


def _assert_once_in_order(events: list[dict[str, Any]], expected: set[int]) -> None:
    ids = [e["message"]["id"] for e in events]
    assert len(ids) == len(set(ids)), "a message was delivered twice"
    assert set(ids) == expected
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs), "messages arrived out of seq order"


def test_more_than_one_worker_is_refused_without_redis(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chatserver", "serve", "--workers", "2"],
        env={"PATH": "/usr/bin:/bin", "CHAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/c.db"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "needs CHAT_REDIS_URL" in result.stderr
    assert not (tmp_path / "c.db").exists(), "a refused start must not touch the database"


async def test_connections_spread_over_workers_and_messages_cross_them(
    workers: ServerProcess,
) -> None:
    pids = _wait_for_workers(workers, 2)
    clients, room = await _members(workers, 16)
    try:
        spread = _established_by_worker(workers, pids)
        assert all(count > 0 for count in spread.values()), f"a worker got no client: {spread}"
        sent = {int((await c.send(room, f"from {i}"))["id"]) for i, c in enumerate(clients)}
        for client in clients:
            _assert_once_in_order(await _messages(client, room, len(sent)), sent)
    finally:
        for client in clients:
            await client.close()


async def test_a_killed_worker_is_replaced_and_its_clients_lose_nothing(
    workers: ServerProcess,
) -> None:
    pids = _wait_for_workers(workers, 2)
    clients, room = await _members(workers, 10)
    try:
        victim = pids[0]
        psutil.Process(victim).send_signal(signal.SIGKILL)
        writer = clients[-1]
        sent: set[int] = set()
        deadline = time.monotonic() + 30
        while len(sent) < 10 and time.monotonic() < deadline:
            try:
                sent.add(int((await writer.send(room, f"during {len(sent)}"))["id"]))
            except Exception:  # the writer's own worker may be the one that died
                await asyncio.sleep(0.2)
        assert len(sent) == 10
        replaced = _wait_for_workers(workers, 2, exclude=frozenset({victim}))
        assert victim not in replaced
        for client in clients:
            events = await _messages(client, room, len(sent))
            _assert_once_in_order([e for e in events if e["message"]["id"] in sent], sent)
    finally:
        for client in clients:
            await client.close()


def test_stopping_the_supervisor_stops_every_worker(workers: ServerProcess) -> None:
    pids = _wait_for_workers(workers, 2)
    workers.stop()
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
