"""Stale state + replayed and live events == fresh state, for a mixed run of actions.

A client fetches its state, goes away while others write, edit, delete, react and join,
comes back with `since`, and applies what it is sent with `apply` (below, pure). The
result must equal what the HTTP API says now, message for message, down to `me`.
"""

from __future__ import annotations

import copy
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from chatserver.sdk import ChatClient
from tests.e2e.conftest import ClientFactory

Frame = dict[str, Any]
State = dict[str, Any]
EMOJI = ["👍", "🎉", "❤️", "👍🏽", "🇧🇪", "1️⃣", "👨‍👩‍👧"]


# ---- the client side under test: a pure reducer ----------------------------------------------


def apply(state: State, event: Frame) -> State:
    """The state after `event`. `state` is `{me, replaying, rooms: {id: {last_seq, messages}}}`.

    Replayed Messages carry `me` for this viewer; live ones say `me: false` for all, so
    a live update keeps the viewer's own flags, which only `reaction.*` with
    `user == me` change.
    """
    new = copy.deepcopy(state)
    kind = event.get("type")
    room = new["rooms"].get(event.get("room"))
    if room is None:
        return new
    seq = event.get("seq")
    if isinstance(seq, int):
        room["last_seq"] = max(room["last_seq"], seq)
    messages: dict[int, Frame] = room["messages"]
    if kind == "room.synced":
        assert not event.get("reset"), "a reset would mean reloading history"
        new["replaying"].discard(event["room"])
    elif kind == "message.created":
        messages[event["message"]["id"]] = event["message"]
    elif kind == "message.updated":
        message = event["message"]
        if event["room"] not in new["replaying"]:
            mine = {r["emoji"] for r in messages[message["id"]]["reactions"] if r["me"]}
            message["reactions"] = [{**r, "me": r["emoji"] in mine} for r in message["reactions"]]
        messages[message["id"]] = message
    elif kind in ("reaction.added", "reaction.removed"):
        reactions: list[Frame] = messages[event["message"]]["reactions"]
        own = event["user"] == new["me"]
        found = next((r for r in reactions if r["emoji"] == event["emoji"]), None)
        if found is None:
            found = {"emoji": event["emoji"], "count": 0, "me": False}
            reactions.append(found)
        found["count"] = event["count"]
        if own:
            found["me"] = kind == "reaction.added"
        if found["count"] == 0:
            reactions.remove(found)
    return new


# ---- the world the others act in -----------------------------------------------------------


@dataclass
class World:
    """Who is in the room, which messages are alive, and who reacted with what."""

    room: int
    dm: int
    viewer: ChatClient
    members: list[ChatClient]
    newcomers: list[ChatClient]
    socket: ChatClient | None = None  # the viewer's WebSocket, while it is back online
    alive: dict[int, ChatClient] = field(default_factory=dict)
    reacted: set[tuple[int, int, str]] = field(default_factory=set)  # (message, user idx, emoji)


def uid(client: ChatClient) -> int:
    assert client.user is not None
    return int(client.user["id"])


def uname(client: ChatClient) -> str:
    assert client.user is not None
    return str(client.user["username"])


def over_ws(world: World, client: ChatClient, rng: random.Random) -> ChatClient | None:
    """The socket to act through, or None for HTTP (the viewer's only while it is online)."""
    if client is world.viewer:
        return world.socket
    return client if client.connected and rng.random() < 0.5 else None


async def act(world: World, rng: random.Random, *, live: bool, joins: bool = True) -> None:
    """One effective action (each takes exactly one room seq): never a no-op."""
    everyone = [*world.members, world.viewer]
    authors = [*world.members, world.viewer] if live else world.members
    choice = rng.choice(
        ["send", "edit", "delete", "react", "react", "unreact", "join", "viewer", "viewer", "dm"]
    )
    if choice == "join" and joins and world.newcomers:
        newcomer = world.newcomers.pop()
        await newcomer.join(world.room)
        world.members.append(newcomer)
        return
    if choice == "dm":
        await world.members[0].post_message(world.dm, f"dm {rng.random():.3f}")
        return
    if choice in ("edit", "delete") and world.alive:
        message_id = rng.choice(sorted(world.alive))
        author = world.alive[message_id]
        socket = over_ws(world, author, rng)
        if author is world.viewer and socket is None:
            pass  # the viewer is away: someone sends instead
        elif choice == "edit":
            body = f"edited {rng.random():.3f}"
            if socket is None:
                await author.edit_message(message_id, body)
            else:
                await socket.edit(message_id, body)
            return
        else:
            if socket is None:
                await author.delete_message(message_id)
            else:
                await socket.delete(message_id)
            del world.alive[message_id]
            world.reacted = {r for r in world.reacted if r[0] != message_id}
            return
    if choice in ("react", "viewer", "unreact") and world.alive:
        reactors = [world.viewer] if choice == "viewer" else everyone
        reactor = rng.choice(reactors)
        socket = over_ws(world, reactor, rng)
        index = everyone.index(reactor)
        mine = [r for r in world.reacted if r[1] == index]
        if mine and (choice == "unreact" or (choice == "viewer" and rng.random() < 0.5)):
            message_id, _, emoji = rng.choice(sorted(mine))
            world.reacted.discard((message_id, index, emoji))
            if socket is None:
                await reactor.unreact_http(message_id, emoji)
            else:
                await socket.unreact(message_id, emoji)
            return
        message_id = rng.choice(sorted(world.alive))
        free = [e for e in EMOJI if (message_id, index, e) not in world.reacted]
        if free:
            emoji = rng.choice(free)
            world.reacted.add((message_id, index, emoji))
            if socket is None:
                await reactor.react_http(message_id, emoji)
            else:
                await socket.react(message_id, emoji)
            return
    author = rng.choice(authors)
    body = f"@{uname(world.viewer)} regarde" if rng.random() < 0.2 else "bonjour"
    body = f"{body} :tada: {rng.random():.3f}"
    socket = over_ws(world, author, rng)
    if socket is None:
        message = await author.post_message(world.room, body)
    else:
        message = await socket.send(world.room, body)
    world.alive[message["id"]] = author


async def fresh_state(viewer: ChatClient, rooms: list[int]) -> State:
    """What the HTTP API says now: every message of each room, with `me` for the viewer."""
    out: State = {"me": uid(viewer), "replaying": set(), "rooms": {}}
    for room_id in rooms:
        room = await viewer.room(room_id)
        messages = await viewer.history(room_id, limit=200)
        out["rooms"][room_id] = {
            "last_seq": room["last_seq"],
            "messages": {m["id"]: m for m in messages},
        }
    return out


def ordered(state: State) -> dict[int, Any]:
    """Comparable form: per room, the last seq and the messages in seq order."""
    return {
        room_id: (room["last_seq"], sorted(room["messages"].values(), key=lambda m: m["seq"]))
        for room_id, room in state["rooms"].items()
    }


@pytest.fixture
async def world(make_client: ClientFactory, slug: Callable[[str], str]) -> AsyncIterator[World]:
    """A topic room (alice connected, bob, carol, the viewer), a DM, two people yet to join."""
    viewer = await make_client("viewer")
    members = [await make_client("alice", connect=True)]
    members += [await make_client(n) for n in ("bob", "carol")]
    newcomers = [await make_client(n) for n in ("dave", "erin")]
    room = await members[0].create_room(slug("state"), "State", "topic")
    for client in (viewer, *members[1:]):
        await client.join(room["id"])
    dm = await members[0].open_dm(uname(viewer))
    yield World(room["id"], dm["id"], viewer, members, newcomers)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_replayed_and_live_events_rebuild_the_current_state(world: World, seed: int) -> None:
    """Stale state + `since` replay + live events equals the state fetched afresh."""
    rng = random.Random(seed)
    rooms = [world.room, world.dm]
    for _ in range(15):  # some history, with reactions, edits and deletions, to go stale
        await act(world, rng, live=False, joins=False)

    first = ChatClient(world.viewer.base_url, token=world.viewer.token, reconnect=False)
    ready = await first.connect(since={})
    await first.close()
    assert {r["id"] for r in ready["rooms"]} >= set(rooms)
    stale = await fresh_state(world.viewer, rooms)
    assert {stale["rooms"][r]["last_seq"] for r in rooms} == {
        r["last_seq"] for r in ready["rooms"] if r["id"] in rooms
    }

    for _ in range(40):  # the viewer is away; only HTTP for its own reactions
        await act(world, rng, live=False)

    socket = ChatClient(world.viewer.base_url, token=world.viewer.token, reconnect=False)
    try:
        since = {r: stale["rooms"][r]["last_seq"] for r in rooms}
        await socket.connect(since=since)
        world.socket = socket
        state = {**stale, "replaying": set(rooms)}
        while state["replaying"]:
            state = apply(state, await socket.next_event(timeout=10))
        assert ordered(state) == ordered(await fresh_state(world.viewer, rooms))

        # Back online: the live stream, the viewer's own WS reactions included.
        for _ in range(25):
            await act(world, rng, live=True)
        expected = await fresh_state(world.viewer, rooms)
        while any(state["rooms"][r]["last_seq"] < expected["rooms"][r]["last_seq"] for r in rooms):
            state = apply(state, await socket.next_event(timeout=10))
        assert ordered(state) == ordered(expected)
        assert socket.gaps == [], "a live stream never skips a seq"
    finally:
        await socket.close()
