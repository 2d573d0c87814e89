"""Three nodes behind one Redis and one PostgreSQL behave like one server to every client."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatserver.sdk import ChatClient
from tests.support.server import ServerProcess
from tests.support.services import RedisProcess, postgres_database, redis_process, unavailable

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


class Cluster:
    def __init__(self, workdir: Path, redis: RedisProcess, database_url: str, size: int = 3):
        env = {"CHAT_REDIS_URL": redis.url, "CHAT_PRESENCE_GRACE": "0.5"}
        self.redis = redis
        self.nodes = [
            ServerProcess(workdir, env=env, database_url=database_url) for _ in range(size)
        ]

    def start(self) -> None:
        # Started together: the migration lock must make them take turns.
        for node in self.nodes:
            node.spawn()
        for node in self.nodes:
            node.wait_ready()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def urls(self, first: int) -> tuple[str, list[str]]:
        others = [n.base_url for i, n in enumerate(self.nodes) if i != first]
        return self.nodes[first].base_url, others


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with redis_process(tmp_path) as redis, postgres_database() as database_url:
        nodes = Cluster(tmp_path, redis, database_url)
        try:
            nodes.start()  # inside: a node that fails to start must not leave the others
            yield nodes
        finally:
            nodes.stop()


async def _member(cluster: Cluster, node: int, room_id: int | None, name: str) -> ChatClient:
    base, others = cluster.urls(node)
    client = ChatClient(base, fallback_urls=others)
    await client.register(f"{name}{uuid.uuid4().hex[:8]}", "correct horse battery")
    if room_id is not None:
        await client.join(room_id)
    return client


async def _room(cluster: Cluster) -> tuple[ChatClient, int]:
    owner = await _member(cluster, 0, None, "owner")
    room = await owner.create_room(f"c-{uuid.uuid4().hex[:10]}", "Cluster", "topic")
    return owner, int(room["id"])


async def _collect(
    client: ChatClient, room: int, count: int, timeout: float = 20, *, reconnects: int = 0
) -> list[dict[str, Any]]:
    """The room's message.created events until `count` distinct messages were seen
    (and at least `reconnects` reconnections happened)."""
    seen: list[dict[str, Any]] = []
    reconnected = 0
    async with asyncio.timeout(timeout):
        while len({e["message"]["id"] for e in seen}) < count or reconnected < reconnects:
            event = await client.next_event(timeout=timeout)
            if event.get("type") == "client.reconnected":
                reconnected += 1
            elif event.get("type") == "message.created" and event.get("room") == room:
                seen.append(event)
    return seen


def _assert_once_in_order(events: list[dict[str, Any]], expected_ids: set[int]) -> None:
    ids = [e["message"]["id"] for e in events]
    seqs = [e["seq"] for e in events]
    assert len(ids) == len(set(ids)), "a message was delivered twice"
    assert set(ids) == expected_ids
    assert seqs == sorted(seqs), "messages arrived out of seq order"


async def test_every_node_is_ready(cluster: Cluster) -> None:
    async with httpx.AsyncClient() as http:
        for node in cluster.nodes:
            response = await http.get(f"{node.base_url}/readyz")
            assert response.json() == {"database": True, "broker": True}


async def test_concurrent_writers_on_two_nodes_reach_every_client_once_in_seq_order(
    cluster: Cluster,
) -> None:
    owner, room = await _room(cluster)
    readers = [await _member(cluster, i % 3, room, "reader") for i in range(6)]
    writers = [await _member(cluster, i, room, "writer") for i in (0, 1)]
    for client in (*readers, *writers):
        await client.connect()

    async def write(client: ChatClient, tag: str) -> list[int]:
        return [int((await client.send(room, f"{tag} {i}"))["id"]) for i in range(40)]

    sent = await asyncio.gather(write(writers[0], "a"), write(writers[1], "b"))
    expected = set(sent[0]) | set(sent[1])
    for reader in readers:
        events = await _collect(reader, room, len(expected))
        _assert_once_in_order(events, expected)
        assert [e["seq"] for e in events] == list(
            range(events[0]["seq"], events[0]["seq"] + len(events))
        ), "a live stream never skips a seq"
    for client in (owner, *readers, *writers):
        await client.close()


async def test_clients_of_a_killed_node_reconnect_elsewhere_and_lose_nothing(
    cluster: Cluster,
) -> None:
    owner, room = await _room(cluster)
    victims = [await _member(cluster, 2, room, "victim") for _ in range(3)]
    writer = await _member(cluster, 0, room, "writer")
    for client in (*victims, writer):
        await client.connect()
    sent = [int((await writer.send(room, f"before {i}"))["id"]) for i in range(10)]
    cluster.nodes[2].kill()
    sent += [int((await writer.send(room, f"during {i}"))["id"]) for i in range(10)]
    sent += [int((await writer.send(room, f"after {i}"))["id"]) for i in range(10)]
    for victim in victims:
        events = await _collect(victim, room, len(sent), reconnects=1)
        _assert_once_in_order(events, set(sent))
    for client in (owner, *victims, writer):
        await client.close()


async def test_messages_sent_while_redis_restarts_reach_everyone(cluster: Cluster) -> None:
    owner, room = await _room(cluster)
    readers = [await _member(cluster, i, room, "reader") for i in (1, 2)]
    writer = await _member(cluster, 0, room, "writer")
    for client in (*readers, writer):
        await client.connect()
    sent = [int((await writer.send(room, f"before {i}"))["id"]) for i in range(5)]
    cluster.redis.kill()
    # Redis is down: messages are still accepted, stored and acknowledged.
    sent += [int((await writer.post_message(room, f"down {i}"))["id"]) for i in range(5)]
    await asyncio.sleep(1)
    cluster.redis.start()
    await asyncio.sleep(0.5)
    sent += [int((await writer.post_message(room, f"after {i}"))["id"]) for i in range(5)]
    for reader in readers:
        _assert_once_in_order(await _collect(reader, room, len(sent), timeout=30), set(sent))
    for client in (owner, *readers, writer):
        await client.close()


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True)


def _postgres_restart_command() -> list[str]:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions or shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        unavailable("restarting PostgreSQL needs pg_ctlcluster and root")
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main"]


async def test_a_postgres_restart_gives_clear_errors_then_the_node_recovers(
    cluster: Cluster,
) -> None:
    command = _postgres_restart_command()
    owner, room = await _room(cluster)
    await asyncio.to_thread(_run, [*command, "stop", "-m", "fast"])
    try:
        async with httpx.AsyncClient(base_url=cluster.nodes[0].base_url) as http:
            ready = await http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["database"] is False
            with pytest.raises(Exception) as caught:
                await owner.post_message(room, "while the database is down")
            assert getattr(caught.value, "status", None) == 503
            assert getattr(caught.value, "code", None) == "unavailable"
    finally:
        await asyncio.to_thread(_run, [*command, "start"])
    async with asyncio.timeout(30):
        while True:
            try:
                message = await owner.post_message(room, "after the restart")
                break
            except Exception:
                await asyncio.sleep(0.5)
    assert message["body"] == "after the restart"
    await owner.close()
