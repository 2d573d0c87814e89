"""Members resuming a room from the same seq share one read of its replay: each still
gets exactly what it would have got alone, over real sockets.

The shared copy holds the room's content, so what matters is what it must never do:
hand a change's predecessor to a member who comes back after the change, hand anything
to someone who is not a member, keep a deleted message's text, or give one member's own
state (their reactions' `me`) to another.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import connect

from chatserver.sdk import ChatClient
from tests.e2e.conftest import ClientFactory
from tests.support.server import ServerProcess

Slug = Callable[[str], str]
Frame = dict[str, Any]


async def catch_up(
    server: ServerProcess, token: str, room: int, since: int
) -> tuple[list[Frame], str]:
    """Hello with `since` for `room`; the room's frames up to its `room.synced`, and every
    byte received until then (anything at all about the room, in any frame)."""
    raw: list[str] = []
    frames: list[Frame] = []
    async with connect(server.ws_url, open_timeout=30) as ws:
        await ws.send(
            json.dumps({"op": "hello", "v": 1, "token": token, "since": {str(room): since}})
        )
        async with asyncio.timeout(30):
            async for text in ws:
                assert isinstance(text, str)
                raw.append(text)
                frame = json.loads(text)
                if frame.get("op") == "event" and frame.get("room") == room:
                    frames.append(frame)
                    if frame["type"] == "room.synced":
                        break
    return frames, "\n".join(raw)


def messages(frames: list[Frame]) -> dict[int, Frame]:
    return {f["message"]["id"]: f["message"] for f in frames if "message" in f}


async def _room_with_members(
    make_client: ClientFactory, slug: Slug, count: int
) -> tuple[ChatClient, list[ChatClient], int, int]:
    """An owner, `count` members, the room, and the seq they all last saw."""
    owner = await make_client("owner")
    room = await owner.create_room(slug("shared"), "Shared", "topic")
    members = [await make_client(f"m{i}") for i in range(count)]
    for member in members:
        await member.join(room["id"])
    seen = (await owner.room(room["id"]))["last_seq"]
    return owner, members, room["id"], seen


async def test_an_edit_or_delete_between_two_catch_ups_reaches_the_second(
    server: ServerProcess, make_client: ClientFactory, slug: Slug
) -> None:
    owner, (first, second, third), rid, seen = await _room_with_members(make_client, slug, 3)
    kept = await owner.post_message(rid, "kept as written")
    changed = await owner.post_message(rid, "before the edit")
    doomed = await owner.post_message(rid, "a secret soon deleted")

    early, _ = await catch_up(server, str(first.token), rid, seen)
    assert [m["body"] for m in messages(early).values()] == [
        "kept as written",
        "before the edit",
        "a secret soon deleted",
    ]

    await owner.edit_message(changed["id"], "after the edit")
    await owner.delete_message(doomed["id"])
    late, late_bytes = await catch_up(server, str(second.token), rid, seen)
    got = messages(late)
    assert got[kept["id"]]["body"] == "kept as written"
    assert got[changed["id"]]["body"] == "after the edit"
    assert (got[doomed["id"]]["deleted"], got[doomed["id"]]["body"]) == (True, "")
    assert "a secret soon deleted" not in late_bytes
    assert "before the edit" not in late_bytes
    last = (await owner.room(rid))["last_seq"]
    assert late[-1] == {"op": "event", "type": "room.synced", "room": rid, "seq": last}

    # A third member from the same seq gets the same frames (the shared copy, if any).
    again, again_bytes = await catch_up(server, str(third.token), rid, seen)
    assert again == late
    assert "a secret soon deleted" not in again_bytes


async def test_a_non_member_gets_no_replay(
    server: ServerProcess, make_client: ClientFactory, slug: Slug
) -> None:
    owner, (member,), rid, seen = await _room_with_members(make_client, slug, 1)
    await owner.post_message(rid, "for members only")
    frames, _ = await catch_up(server, str(member.token), rid, seen)  # the copy is now made
    assert "for members only" in [m["body"] for m in messages(frames).values()]

    outsider = await make_client("outsider")
    async with connect(server.ws_url, open_timeout=30) as ws:
        hello = {"op": "hello", "v": 1, "token": outsider.token, "since": {str(rid): seen}}
        await ws.send(json.dumps(hello))
        await ws.send(json.dumps({"op": "sync", "ref": "s", "room": rid, "since": seen}))
        received: list[str] = []
        async with asyncio.timeout(30):
            async for text in ws:
                assert isinstance(text, str)
                received.append(text)
                frame = json.loads(text)
                if frame.get("ref") == "s":
                    break
    assert frame["op"] == "error", frame
    assert "for members only" not in "\n".join(received)
    assert not [t for t in received if '"room.synced"' in t]


async def test_each_member_gets_their_own_reactions_whoever_read_the_replay_first(
    server: ServerProcess, make_client: ClientFactory, slug: Slug
) -> None:
    for reactor_first in (True, False):
        owner, (reactor, other), rid, seen = await _room_with_members(make_client, slug, 2)
        message = await owner.post_message(rid, "react to me")
        await reactor.react_http(message["id"], "👍")
        order = [reactor, other] if reactor_first else [other, reactor]
        views: dict[int, list[Frame]] = {}
        for member in order:
            frames, _ = await catch_up(server, str(member.token), rid, seen)
            views[id(member)] = messages(frames)[message["id"]]["reactions"]
        assert views[id(reactor)] == [{"emoji": "👍", "count": 1, "me": True}], reactor_first
        assert views[id(other)] == [{"emoji": "👍", "count": 1, "me": False}], reactor_first
