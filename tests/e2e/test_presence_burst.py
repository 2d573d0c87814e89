"""Many members coming back at once (a restart, the school's Wi-Fi returning): presence
is gathered per short window on the server, and a member who is connected still hears
each one come online exactly once, never about itself."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from tests.e2e.conftest import ClientFactory

Slug = Callable[[str], str]


async def test_a_burst_of_returns_announces_each_member_once(
    make_client: ClientFactory, slug: Slug
) -> None:
    watcher = await make_client("watcher")
    room = await watcher.create_room(slug("burst"), "Burst", "topic")
    returning = [await make_client(f"r{i}") for i in range(12)]
    for member in returning:
        await member.join(room["id"])
    await watcher.connect()

    await asyncio.gather(*(member.connect() for member in returning))
    expected = {int(member.user["id"]) for member in returning}  # type: ignore[index]
    online: Counter[int] = Counter()
    async with asyncio.timeout(30):
        while set(online) != expected:
            event = await watcher.next_event(timeout=30)
            if event.get("type") == "presence" and event["status"] == "online":
                online[int(event["user"]["id"])] += 1
    # Anything announced with them was published before this message: it has arrived.
    marker = await watcher.send(room["id"], "all here")
    async with asyncio.timeout(30):
        while True:
            event = await watcher.next_event(timeout=30)
            if event.get("type") == "presence":
                online[int(event["user"]["id"])] += 1
            if event.get("type") == "message.created" and event["message"]["id"] == marker["id"]:
                break
    assert online == Counter(dict.fromkeys(expected, 1))
    assert int(watcher.user["id"]) not in online  # type: ignore[index]
    await asyncio.gather(*(member.close() for member in returning))
