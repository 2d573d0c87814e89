"""Large rooms: presence and typing are bounded so they never outweigh the messages."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatserver.sdk import ChatClient
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def small_limit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"CHAT_PRESENCE_ROOM_LIMIT": "3", "CHAT_PRESENCE_GRACE": "0.2"}
    with ServerProcess(Path(tmp_path_factory.mktemp("large")), env=env) as server:
        yield server


async def _people(server: ServerProcess, count: int) -> list[ChatClient]:
    people = []
    for i in range(count):
        client = ChatClient(server.base_url)
        await client.register(f"p{i}{uuid.uuid4().hex[:8]}", "correct horse battery")
        people.append(client)
    return people


async def _events_of(client: ChatClient, kind: str, seconds: float) -> list[dict[str, Any]]:
    """Events of one kind about other people, received within `seconds`."""
    await asyncio.sleep(seconds)
    me = client.user["id"] if client.user else None
    return [
        e
        for e in client.drain_events()
        if e.get("type") == kind and e.get("user", {}).get("id") != me
    ]


async def test_presence_reaches_small_rooms_and_friends_but_not_large_rooms(
    small_limit_server: ServerProcess,
) -> None:
    watcher, stranger, friend, newcomer = await _people(small_limit_server, 4)
    small = await watcher.create_room(f"s-{uuid.uuid4().hex[:8]}", "Small", "topic")
    large = await watcher.create_room(f"l-{uuid.uuid4().hex[:8]}", "Large", "topic")
    for client in (stranger, friend, newcomer):
        await client.join(large["id"])
    await friend.add_friend(str(watcher.user["username"]))  # type: ignore[index]
    await watcher.add_friend(str(friend.user["username"]))  # type: ignore[index]
    await watcher.connect()

    await newcomer.connect()  # shares only the large room with the watcher
    assert await _events_of(watcher, "presence", 1.0) == []

    await stranger.join(small["id"])
    await stranger.connect()  # shares the small room
    seen = await _events_of(watcher, "presence", 1.0)
    assert [e["user"]["id"] for e in seen] == [stranger.user["id"]]  # type: ignore[index]

    await friend.connect()  # a friend, in the large room only
    seen = await _events_of(watcher, "presence", 1.0)
    assert [e["user"]["id"] for e in seen] == [friend.user["id"]]  # type: ignore[index]
    for client in (watcher, stranger, friend, newcomer):
        await client.close()


async def test_in_a_large_room_typing_is_announced_once_per_interval_whoever_types(
    small_limit_server: ServerProcess,
) -> None:
    watcher, *typists = await _people(small_limit_server, 4)
    room = await watcher.create_room(f"t-{uuid.uuid4().hex[:8]}", "Workshop", "topic")
    for client in typists:
        await client.join(room["id"])
    for client in (watcher, *typists):
        await client.connect()
    for client in typists:
        await client.typing(room["id"])
    typing = await _events_of(watcher, "typing", 0.5)
    assert len(typing) == 1
    await asyncio.sleep(2.0)
    await typists[1].typing(room["id"])
    assert len(await _events_of(watcher, "typing", 0.5)) == 1
    for client in (watcher, *typists):
        await client.close()
