"""The WebSocket gateway: handshake, unread counts, bad frames, limits, Origin, typing,
presence, flooding and shutdown, as a client on the wire sees them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from chatserver.sdk import ApiError, ChatClient, SocketClosed
from tests.e2e.conftest import ClientFactory
from tests.support.server import ServerProcess
from tests.support.sockets import closed_with

Slug = Callable[[str], str]
USER_FIELDS = {"id", "username", "display_name", "role", "region"}
ROOM_FIELDS = {"id", "slug", "name", "kind", "visibility", "topic", "member_count", "last_seq"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """This module's server announces `offline` quickly and waits 1 s for hello."""
    env = {"CHAT_PRESENCE_GRACE": "0.5", "CHAT_HELLO_TIMEOUT": "1"}
    with ServerProcess(tmp_path_factory.mktemp("gateway"), env=env) as process:
        yield process


async def recv(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return frame


async def reply(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    """The next frame that is not an event (events may arrive at any time)."""
    while True:
        frame = await recv(ws, timeout)
        if frame.get("op") != "event":
            return frame


@pytest.fixture
async def session(
    server: ServerProcess, make_client: ClientFactory
) -> AsyncIterator[ClientConnection]:
    """A raw, handshaken WebSocket of a fresh user."""
    user = await make_client("raw")
    async with connect(server.ws_url, max_size=2**21) as ws:
        await ws.send(json.dumps({"op": "hello", "v": 1, "token": user.token}))
        assert (await recv(ws))["op"] == "ready"
        yield ws


# -- handshake ------------------------------------------------------------------------


async def test_ready_describes_the_user_their_rooms_and_unread_counts(
    make_client: ClientFactory, slug: Slug
) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    room = await alice.create_room(slug("ready"), "Ready", "topic")
    await bob.join(room["id"])
    mine = await bob.post_message(room["id"], "my own message is never unread")
    for i in range(3):
        await alice.post_message(room["id"], f"message {i}")
    last = await alice.post_message(room["id"], f"hey @{bob.user['username']}")  # type: ignore[index]

    ready = await bob.connect()
    assert ready["op"] == "ready"
    assert set(ready["user"]) >= USER_FIELDS
    assert ready["user"]["id"] == bob.user["id"]  # type: ignore[index]
    assert ready["notifications_unread"] == 1  # the mention
    [entry] = [r for r in ready["rooms"] if r["id"] == room["id"]]
    assert set(entry) >= ROOM_FIELDS | {"unread", "last_read_seq", "notify_level"}
    assert entry["last_seq"] == last["seq"]
    assert entry["unread"] == 4
    assert entry["last_read_seq"] == mine["seq"]  # writing in a room reads what came before
    assert entry["notify_level"] == "mentions"
    assert entry["member_count"] == 2

    await bob.post_message(room["id"], "a reply")
    alices = await alice.connect()
    [own] = [r for r in alices["rooms"] if r["id"] == room["id"]]
    assert own["unread"] == 1  # bob's reply; her own messages never count
    assert alices["notifications_unread"] == 0


async def test_read_markers_move_forward_only_and_drive_unread(
    make_client: ClientFactory, slug: Slug
) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    room = await alice.create_room(slug("unread"), "Unread", "topic")
    await bob.join(room["id"])
    sent = [await alice.post_message(room["id"], f"m{i}") for i in range(5)]

    async def unread_of(client: ChatClient) -> tuple[int, int]:
        probe = ChatClient(client.base_url, client.token)
        try:
            ready = await probe.connect()
        finally:
            await probe.close()
        [entry] = [r for r in ready["rooms"] if r["id"] == room["id"]]
        return entry["unread"], entry["last_read_seq"]

    assert (await unread_of(bob))[0] == 5
    await bob.connect()
    assert (await bob.read(room["id"], sent[2]["seq"]))["op"] == "ok"
    assert await unread_of(bob) == (2, sent[2]["seq"])
    await bob.read(room["id"], sent[0]["seq"])  # backwards: ignored
    assert await unread_of(bob) == (2, sent[2]["seq"])
    await bob.read(room["id"], sent[4]["seq"])
    assert await unread_of(bob) == (0, sent[4]["seq"])

    newer = await alice.post_message(room["id"], "one more")
    assert await unread_of(bob) == (1, sent[4]["seq"])
    await bob.read(room["id"], newer["seq"] + 1000)  # beyond the end: everything is read
    unread, marker = await unread_of(bob)
    assert unread == 0
    assert newer["seq"] <= marker < newer["seq"] + 1000
    later = await alice.post_message(room["id"], "after the far read")
    assert (await unread_of(bob))[0] == 1
    assert later["seq"] > marker

    for bad in ({"room": room["id"], "seq": "x"}, {"room": room["id"], "seq": -1}):
        with pytest.raises(ApiError) as refused:
            await bob.request("read", **bad)
        assert refused.value.code == "bad_request"


async def test_a_first_frame_other_than_hello_is_closed_with_4000(server: ServerProcess) -> None:
    for first in ('{"op": "ping", "ref": 1}', "not json", "[]", '{"op": "send", "room": 1}'):
        async with connect(server.ws_url) as ws:
            await ws.send(first)
            assert await closed_with(ws) == 4000


async def test_a_bad_token_is_closed_with_4001(server: ServerProcess) -> None:
    for token in ("nope", "", "x" * 300):
        async with connect(server.ws_url) as ws:
            await ws.send(json.dumps({"op": "hello", "v": 1, "token": token}))
            assert await closed_with(ws) == 4001
    with pytest.raises(SocketClosed) as closed:
        await ChatClient(server.base_url, "bad-token", reconnect=False).connect()
    assert closed.value.close_code == 4001


async def test_no_hello_in_time_is_closed_with_4001(server: ServerProcess) -> None:
    async with connect(server.ws_url) as ws:
        started = time.monotonic()
        assert await closed_with(ws, timeout=5) == 4001
        assert 0.8 < time.monotonic() - started < 4


# -- bad frames after hello -----------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "ref"),
    [
        ("this is not json", None),
        ("{", None),
        ("[1, 2, 3]", None),
        ('"just a string"', None),
        ('{"ref": 3}', 3),
        ('{"op": null, "ref": "a"}', "a"),
        ('{"op": 5, "ref": 4}', 4),
        ('{"op": "send", "ref": 5, "room": "abc", "body": "x"}', 5),
        ('{"op": "send", "ref": 6, "room": 1}', 6),
        ('{"op": "read", "ref": "r", "room": 1, "seq": "latest"}', "r"),
        ('{"op": "history", "ref": 7, "room": 1, "limit": "ten"}', 7),
        ('{"op": "sync", "ref": 8, "room": 1, "since": [1]}', 8),
        (b'{"op": "ping", "ref": 9}', None),
        (b"\x00\xff\x10", None),
    ],
)
async def test_a_bad_frame_gets_bad_request_and_the_connection_keeps_working(
    session: ClientConnection, frame: str | bytes, ref: object
) -> None:
    await session.send(frame)
    error = await reply(session)
    assert error["op"] == "error"
    assert error["code"] == "bad_request"
    assert isinstance(error["message"], str) and error["message"]
    assert error.get("ref") == ref
    await session.send(json.dumps({"op": "ping", "ref": "still-there"}))
    assert await reply(session) == {"op": "pong", "ref": "still-there"}


async def test_an_unknown_op_gets_unknown_op_with_its_ref(session: ClientConnection) -> None:
    for ref in (17, "abc", 2.5, True, None):
        await session.send(json.dumps({"op": "teleport", "ref": ref, "to": "mars"}))
        error = await reply(session)
        assert (error["op"], error["code"], error["ref"]) == ("error", "unknown_op", ref)
    await session.send(json.dumps({"op": "ping", "ref": 1}))
    assert await reply(session) == {"op": "pong", "ref": 1}


async def test_replies_echo_any_json_scalar_ref(session: ClientConnection) -> None:
    for ref in (0, -1, "x-1", 1.25, False):
        await session.send(json.dumps({"op": "ping", "ref": ref}))
        assert await reply(session) == {"op": "pong", "ref": ref}
    await session.send(json.dumps({"op": "ping"}))
    pong = await reply(session)
    assert pong["op"] == "pong" and pong.get("ref") is None


async def test_a_second_hello_is_refused_without_closing(session: ClientConnection) -> None:
    await session.send(json.dumps({"op": "hello", "v": 1, "token": "x", "ref": 1}))
    error = await reply(session)
    assert (error["op"], error["ref"]) == ("error", 1)
    await session.send(json.dumps({"op": "ping", "ref": 2}))
    assert await reply(session) == {"op": "pong", "ref": 2}


async def test_a_frame_over_64_kib_closes_with_1009(session: ClientConnection) -> None:
    under = json.dumps({"op": "ping", "ref": "big", "pad": "x" * 60_000})
    await session.send(under)
    assert await reply(session) == {"op": "pong", "ref": "big"}
    await session.send(json.dumps({"op": "ping", "ref": 1, "pad": "x" * 70_000}))
    assert await closed_with(session) == 1009


async def test_an_oversized_frame_through_the_client_library(make_client: ClientFactory) -> None:
    alice = await make_client("alice", reconnect=False)
    await alice.connect()
    await alice.send_raw("x" * (65536 + 1))
    with pytest.raises(SocketClosed) as closed:
        await alice.next_event("never")
    assert closed.value.close_code == 1009


# -- Origin ---------------------------------------------------------------------------


async def test_browsers_from_a_foreign_origin_are_refused(
    server: ServerProcess, make_client: ClientFactory
) -> None:
    user = await make_client("origin")
    for foreign in ("https://evil.example", "http://127.0.0.1:1", "null"):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(server.ws_url, origin=Origin(foreign)):
                pass
        assert refused.value.response.status_code == 403

    own = ChatClient(server.base_url, user.token, origin=server.base_url, reconnect=False)
    sdk_without = ChatClient(server.base_url, user.token, reconnect=False)
    foreign_sdk = ChatClient(server.base_url, user.token, origin="https://evil.example")
    try:
        assert (await own.connect())["op"] == "ready"
        assert (await sdk_without.connect())["op"] == "ready"
        with pytest.raises(ApiError) as refused_sdk:
            await foreign_sdk.connect()
        assert refused_sdk.value.status == 403
    finally:
        for client in (own, sdk_without, foreign_sdk):
            await client.close()


# -- typing and presence --------------------------------------------------------------


async def test_typing_reaches_the_other_members(make_client: ClientFactory, slug: Slug) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    outsider = await make_client("outsider")
    room = await alice.create_room(slug("typing"), "Typing", "topic")
    private = await alice.create_room(slug("hidden"), "Hidden", "topic", "private")
    await bob.join(room["id"])
    await alice.connect()
    await bob.connect()
    await outsider.connect()

    assert (await alice.typing(room["id"]))["op"] == "ok"
    event = await bob.next_event("typing", room=room["id"], timeout=3)
    assert event["user"]["id"] == alice.user["id"]  # type: ignore[index]
    assert set(event["user"]) >= {"id", "username", "display_name"}

    with pytest.raises(ApiError) as refused:
        await outsider.typing(room["id"])
    assert refused.value.code == "not_member"
    with pytest.raises(ApiError) as refused:
        await outsider.typing(private["id"])
    assert refused.value.code == "not_found"


async def test_presence_online_and_offline_reach_room_mates(
    make_client: ClientFactory, slug: Slug
) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    room = await alice.create_room(slug("presence"), "Presence", "topic")
    await bob.join(room["id"])
    await bob.connect()

    await alice.connect()
    online = await bob.next_event("presence", timeout=5)
    assert online["user"]["id"] == alice.user["id"]  # type: ignore[index]
    assert online["status"] == "online"

    started = time.monotonic()
    await alice.close()
    offline = await bob.next_event("presence", timeout=5)
    assert (offline["user"]["id"], offline["status"]) == (alice.user["id"], "offline")  # type: ignore[index]
    assert time.monotonic() - started < 3  # CHAT_PRESENCE_GRACE is 0.5 s here


async def test_a_quick_reconnect_does_not_flap_presence(
    make_client: ClientFactory, slug: Slug
) -> None:
    alice = await make_client("alice")
    bob = await make_client("bob")
    room = await alice.create_room(slug("flap"), "Flap", "topic")
    await bob.join(room["id"])
    await bob.connect()
    await alice.connect()
    await bob.next_event("presence", timeout=5)

    second = ChatClient(alice.base_url, alice.token)
    try:
        await second.connect()  # a second tab, then the first one closes
        await alice.close()
        with pytest.raises(TimeoutError):
            await bob.next_event("presence", timeout=1.0)
    finally:
        await second.close()
    offline = await bob.next_event("presence", timeout=5)
    assert offline["status"] == "offline"


# -- rate limits and flooding ---------------------------------------------------------


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        "CHAT_RATE_LIMIT_SCALE": "1",
        "CHAT_MESSAGE_BURST": "3",
        "CHAT_MESSAGE_RATE": "2",
        "CHAT_FLOOD_STRIKES": "5",
    }
    with ServerProcess(tmp_path_factory.mktemp("strict"), env=env) as process:
        yield process


async def _strict_user(server: ServerProcess, name: str) -> tuple[ChatClient, int]:
    client = ChatClient(server.base_url, reconnect=False)
    await client.register(f"{name}{time.monotonic_ns() % 10**9}", "correct horse battery")
    room = await client.create_room(f"r{time.monotonic_ns() % 10**12}", "Flood", "topic")
    return client, room["id"]


async def test_a_sender_over_the_limit_is_told_when_to_retry(strict_server: ServerProcess) -> None:
    client, room = await _strict_user(strict_server, "patient")
    try:
        await client.connect()
        for i in range(3):
            await client.send(room, f"burst {i}")
        with pytest.raises(ApiError) as limited:
            await client.send(room, "one too many")
        assert limited.value.code == "rate_limited"
        retry_after = limited.value.retry_after
        assert isinstance(retry_after, float) and 0 < retry_after <= 1
        await asyncio.sleep(retry_after)
        assert (await client.send(room, "after waiting"))["body"] == "after waiting"
        assert (await client.ping())["op"] == "pong"
    finally:
        await client.close()


async def test_a_client_that_keeps_flooding_is_closed_with_4008(
    strict_server: ServerProcess,
) -> None:
    client, room = await _strict_user(strict_server, "flooder")
    try:
        async with connect(strict_server.ws_url) as ws:
            await ws.send(json.dumps({"op": "hello", "v": 1, "token": client.token}))
            assert (await recv(ws))["op"] == "ready"
            for ref in range(40):
                frame = {"op": "send", "ref": ref, "room": room, "body": f"spam {ref}"}
                try:
                    await ws.send(json.dumps(frame))
                except ConnectionClosed:
                    break
            replies = []
            with pytest.raises(ConnectionClosed):
                while True:
                    frame = await recv(ws)
                    if frame["op"] != "event":
                        replies.append(frame)
            assert ws.close_code == 4008
        assert [r["op"] for r in replies[:3]] == ["ok", "ok", "ok"]
        limited = [r for r in replies if r["op"] == "error"]
        assert limited, replies
        for error in limited:
            assert error["code"] == "rate_limited"
            assert isinstance(error["retry_after"], (int, float)) and error["retry_after"] > 0
        assert len(limited) == 5  # closed once CHAT_FLOOD_STRIKES ran out, not later
        # Only that connection is closed: the account itself is not banned.
        assert (await client.me())["id"] == client.user["id"]  # type: ignore[index]
    finally:
        await client.close()


# -- shutdown -------------------------------------------------------------------------


async def test_shutdown_closes_clients_with_1001(tmp_path: Path) -> None:
    process = ServerProcess(tmp_path)
    process.start()
    client = ChatClient(process.base_url, reconnect=False)
    try:
        await client.register("leaving", "correct horse battery")
        await client.connect()
        async with connect(process.ws_url) as ws:
            await ws.send(json.dumps({"op": "hello", "v": 1, "token": client.token}))
            assert (await recv(ws))["op"] == "ready"
            stopping = asyncio.create_task(asyncio.to_thread(process.stop))
            assert await closed_with(ws, timeout=10) == 1001
            with pytest.raises(SocketClosed) as closed:
                await client.next_event("never", timeout=10)
            assert closed.value.close_code == 1001
            await stopping
    finally:
        await client.close()
        process.stop()
