"""The SDK against a tiny scripted WebSocket server: ref routing, seq gaps, reconnect."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.server import ServerConnection, serve

from chatserver.sdk import ApiError, ChatClient, SocketClosed

Handler = Callable[[ServerConnection, dict[str, Any], int], Awaitable[None]]


def ready(last_seq: int = 5) -> str:
    room = {"id": 1, "slug": "general", "last_seq": last_seq, "unread": 0}
    return json.dumps(
        {
            "op": "ready",
            "user": {"id": 7, "username": "amy"},
            "rooms": [room],
            "notifications_unread": 0,
        }
    )


def event(type: str, seq: int, room: int = 1, **fields: Any) -> str:
    return json.dumps({"op": "event", "type": type, "room": room, "seq": seq, **fields})


async def recv(ws: ServerConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await ws.recv())
    return frame


@asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """Serve `handler(ws, hello, n)` after recording each hello; n counts connections."""
    hellos: list[dict[str, Any]] = []

    async def handle(ws: ServerConnection) -> None:
        hello = await recv(ws)
        hellos.append(hello)
        await handler(ws, hello, len(hellos))

    async with serve(handle, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}", hellos


async def idle(ws: ServerConnection) -> None:
    await ws.wait_closed()


@pytest.mark.asyncio
async def test_replies_are_routed_by_ref_and_unclaimed_errors_become_events() -> None:
    async def handler(ws: ServerConnection, hello: dict[str, Any], n: int) -> None:
        await ws.send(ready())
        first, second = await recv(ws), await recv(ws)
        for frame in (second, first):  # answer out of order
            await ws.send(json.dumps({"op": "ok", "ref": frame["ref"], "echo": frame["body"]}))
        ping = await recv(ws)
        await ws.send(json.dumps({"op": "pong", "ref": ping["ref"]}))
        bad = await recv(ws)
        await ws.send(
            json.dumps(
                {
                    "op": "error",
                    "ref": bad["ref"],
                    "code": "rate_limited",
                    "message": "slow down",
                    "retry_after": 1.5,
                }
            )
        )
        assert await ws.recv() == "not json"
        await ws.send(
            json.dumps({"op": "error", "ref": None, "code": "bad_request", "message": "not JSON"})
        )
        await idle(ws)

    async with server(handler) as (url, hellos), ChatClient(url, "tok") as client:
        got = await client.connect()
        assert got["user"]["username"] == "amy" and client.connected
        assert hellos[0] == {"op": "hello", "v": 1, "token": "tok"}
        a, b = await asyncio.gather(
            client.request("echo", body="a"), client.request("echo", body="b")
        )
        assert (a["echo"], b["echo"]) == ("a", "b")
        assert (await client.ping())["op"] == "pong"
        with pytest.raises(ApiError) as info:
            await client.request("send", body="x")
        assert info.value.code == "rate_limited" and info.value.retry_after == 1.5
        assert info.value.status is None
        await client.send_raw("not json")
        err = await client.next_event(timeout=2)
        assert err["op"] == "error" and err["code"] == "bad_request"


@pytest.mark.asyncio
async def test_live_gap_is_recorded_and_filled_by_sync() -> None:
    syncs: list[dict[str, Any]] = []

    async def handler(ws: ServerConnection, hello: dict[str, Any], n: int) -> None:
        await ws.send(ready(last_seq=5))
        await ws.send(event("message.created", 6, message={"id": 1}))
        await ws.send(event("message.created", 8, message={"id": 3}))  # 7 went missing
        sync = await recv(ws)
        syncs.append(sync)
        await ws.send(json.dumps({"op": "ok", "ref": sync["ref"]}))
        # A replay may skip folded seqs without that counting as a gap.
        await ws.send(event("message.updated", 7, message={"id": 2}))
        await ws.send(event("message.created", 10, message={"id": 4}))
        await ws.send(event("room.synced", 11))
        await ws.send(event("reaction.added", 12, message=4, emoji="x", user=7, count=1))
        await idle(ws)

    async with server(handler) as (url, _), ChatClient(url, "tok") as client:
        await client.connect()
        assert client.last_seq == {1: 5}
        await client.next_event("reaction.added", timeout=2)
        assert client.gaps == [(1, 7, 8)]
        assert syncs[0]["op"] == "sync" and syncs[0]["room"] == 1 and syncs[0]["since"] == 6
        assert client.last_seq == {1: 12}


@pytest.mark.asyncio
async def test_reconnects_with_since_and_fails_pending_requests() -> None:
    async def handler(ws: ServerConnection, hello: dict[str, Any], n: int) -> None:
        if n == 1:
            await ws.send(ready(last_seq=5))
            await ws.send(event("message.created", 6, message={"id": 1}))
            await ws.send(event("member.joined", 7, user={"id": 9}))
            await ws.send(event("typing", 0, user=9))
            await recv(ws)  # a request left unanswered
            await ws.close(1001, "going away")
            return
        await ws.send(ready(last_seq=9))
        await ws.send(event("message.created", 8, message={"id": 2}))
        await ws.send(event("room.synced", 9))
        await idle(ws)

    async with server(handler) as (url, hellos), ChatClient(url, "tok") as client:
        await client.connect()
        await client.next_event("member.joined", timeout=2)
        with pytest.raises(ConnectionError):
            await client.request("history", room=1)
        assert client.close_code == 1001
        back = await client.next_event("client.reconnected", timeout=5)
        assert back["ready"]["rooms"][0]["last_seq"] == 9 and client.connected
        assert hellos[1]["since"] == {"1": 7} and hellos[1]["token"] == "tok"
        await client.next_event("room.synced", timeout=2)
        assert client.last_seq == {1: 9} and client.gaps == []


@pytest.mark.asyncio
async def test_no_retry_after_4001() -> None:
    async def handler(ws: ServerConnection, hello: dict[str, Any], n: int) -> None:
        await ws.send(ready())
        await ws.close(4001, "token revoked")

    async with server(handler) as (url, hellos), ChatClient(url, "tok") as client:
        await client.connect()
        with pytest.raises(SocketClosed) as info:
            await client.next_event(timeout=2)
        assert info.value.close_code == 4001 and info.value.code == "unauthorized"
        await asyncio.sleep(0.4)
        assert len(hellos) == 1 and not client.connected and client.close_code == 4001


@pytest.mark.asyncio
async def test_bad_token_at_handshake_raises_with_close_code() -> None:
    async def handler(ws: ServerConnection, hello: dict[str, Any], n: int) -> None:
        await ws.close(4001, "bad token")

    async with server(handler) as (url, _), ChatClient(url, "nope") as client:
        with pytest.raises(ApiError) as info:
            await client.connect()
        assert isinstance(info.value, SocketClosed) and info.value.close_code == 4001
        assert client.close_code == 4001 and not client.connected


@pytest.mark.asyncio
async def test_close_stops_reconnecting() -> None:
    async def handler(ws: ServerConnection, hello: dict[str, Any], n: int) -> None:
        await ws.send(ready())
        await ws.close(1011, "boom")

    async with server(handler) as (url, hellos):
        client = ChatClient(url, "tok")
        await client.connect()
        await asyncio.sleep(0.02)
        await client.close()
        count = len(hellos)
        await asyncio.sleep(0.3)
        assert len(hellos) == count and not client.connected


@pytest.mark.asyncio
async def test_http_sends_token_encodes_emoji_and_raises_protocol_errors() -> None:
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/auth/login":
            return httpx.Response(200, json={"user": {"id": 1}, "token": "t1"})
        if "/reactions/" in request.url.path:
            return httpx.Response(200, json={"reactions": [{"emoji": "👍", "count": 1}]})
        if request.url.path == "/api/rooms/3/leave":
            return httpx.Response(204)
        return httpx.Response(
            429, json={"error": {"code": "rate_limited", "message": "wait", "retry_after": 2}}
        )

    transport = httpx.MockTransport(respond)
    async with httpx.AsyncClient(base_url="https://chat.example", transport=transport) as http:
        client = ChatClient("https://chat.example", http=http)
        assert client.ws_url == "wss://chat.example/ws"
        await client.login("Amy", "password1")
        assert client.token == "t1" and client.user == {"id": 1}
        assert (await client.react_http(5, "👍"))[0]["count"] == 1
        assert seen[-1].headers["authorization"] == "Bearer t1"
        assert seen[-1].url.raw_path == b"/api/messages/5/reactions/%F0%9F%91%8D"
        await client.react_http(5, ":+1:")
        assert seen[-1].url.raw_path == b"/api/messages/5/reactions/%3A%2B1%3A"
        await client.leave(3)
        with pytest.raises(ApiError) as info:
            await client.rooms(kind="topic")
        assert (info.value.code, info.value.status, info.value.retry_after) == (
            "rate_limited",
            429,
            2.0,
        )
        assert seen[-1].url.params["kind"] == "topic" and "q" not in seen[-1].url.params
        await client.close()
        assert not http.is_closed  # not ours to close
