"""Many members coming back at once (a restart, the school's Wi-Fi returning): presence
is gathered per short window on the server and each connection gets a window's
announcements together, yet a member who is connected still hears each one come online
exactly once, however many rooms they share, and never hears about itself."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest

from chatserver.sdk import ChatClient
from tests.e2e.conftest import ClientFactory, Slug
from tests.support.clients import befriend, uid
from tests.support.server import ServerProcess


async def _presence_until_marker(
    client: ChatClient, room: int, marker: int, seen: Counter[int] | None = None
) -> Counter[int]:
    """Who `client` heard come online (counted per announcement), up to the `message.created`
    of message `marker` in `room`: anything announced before that message was published
    has then arrived."""
    online = seen if seen is not None else Counter()
    async with asyncio.timeout(30):
        while True:
            event = await client.next_event(timeout=30)
            if event.get("type") == "presence" and event["status"] == "online":
                online[int(event["user"]["id"])] += 1
            if event.get("type") == "message.created" and event["message"]["id"] == marker:
                return online


async def _until_online(client: ChatClient, expected: set[int]) -> Counter[int]:
    online: Counter[int] = Counter()
    async with asyncio.timeout(30):
        while not expected <= set(online):
            event = await client.next_event(timeout=30)
            if event.get("type") == "presence" and event["status"] == "online":
                online[int(event["user"]["id"])] += 1
    return online


async def test_a_member_met_in_three_rooms_and_as_a_friend_is_announced_once(
    make_client: ClientFactory, slug: Slug
) -> None:
    me = await make_client("me")
    other = await make_client("other")
    rooms = [await me.create_room(slug(f"shared{i}"), "Shared", "topic") for i in range(3)]
    for room in rooms:
        await other.join(room["id"])
    await befriend(me, other)
    await me.connect()

    await other.connect()
    online = await _until_online(me, {uid(other)})
    marker = await other.send(rooms[0]["id"], "here")
    online = await _presence_until_marker(me, rooms[0]["id"], marker["id"], online)
    assert online[uid(other)] == 1
    heard_by_other = await _presence_until_marker(other, rooms[0]["id"], marker["id"])
    assert uid(other) not in heard_by_other
    assert set(heard_by_other.values()) <= {1}  # me, if my own window came after it joined


async def test_fifty_returning_members_are_each_announced_once_to_every_member(
    make_client: ClientFactory, slug: Slug
) -> None:
    watchers = [await make_client(f"watcher{i}") for i in range(3)]
    room = await watchers[0].create_room(slug("burst"), "Burst", "topic")
    returning = [await make_client(f"r{i}") for i in range(50)]
    for member in (*watchers[1:], *returning):
        await member.join(room["id"])
    for watcher in watchers:
        await watcher.connect()

    await _return_together(watchers, returning, watchers[0], room["id"])


@pytest.mark.redis
@pytest.mark.postgres
async def test_members_on_two_nodes_hear_each_return_once(two_nodes: list[ServerProcess]) -> None:
    """The window crosses nodes through Redis: watchers on either node hear each of the
    returning members, who connect to both nodes, once."""
    clients = [ChatClient(two_nodes[i % 2].base_url) for i in range(12)]
    try:
        for client in clients:
            await client.register(f"n{uuid.uuid4().hex[:10]}", "correct horse battery")
        watchers, returning = clients[:2], clients[2:]
        rooms = [
            await watchers[0].create_room(f"n-{uuid.uuid4().hex[:10]}", "Nodes", "topic")
            for _ in range(2)
        ]
        for room in rooms:
            for member in (watchers[1], *returning):
                await member.join(room["id"])
        for watcher in watchers:
            await watcher.connect()

        await _return_together(watchers, returning, watchers[1], rooms[1]["id"])
    finally:
        for client in clients:
            await client.close()


async def _return_together(
    watchers: list[ChatClient], returning: list[ChatClient], sender: ChatClient, room: int
) -> None:
    """The returning members connect at once; each watcher hears each of them online once
    (never itself), and each returning member hears the ones after it once, never itself:
    a marker message sent by `sender` in `room` ends what each has heard."""
    await asyncio.gather(*(member.connect() for member in returning))
    expected = {uid(member) for member in returning}
    heard = [await _until_online(watcher, expected) for watcher in watchers]
    marker = await sender.send(room, "all here")
    for watcher, online in zip(watchers, heard, strict=True):
        online = await _presence_until_marker(watcher, room, marker["id"], online)
        assert {user: online[user] for user in expected} == dict.fromkeys(expected, 1)
        assert uid(watcher) not in online
    for member in returning:
        online = await _presence_until_marker(member, room, marker["id"])
        assert uid(member) not in online
        assert set(online.values()) <= {1}
