"""Hostile input at the edge, over HTTP and WebSocket: deep nesting, integers past int64,
non-JSON bodies, non-ASCII digits and wrong types are refused with the protocol's codes,
never a 500 or a dropped socket, and the server keeps serving."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.server import ServerProcess

PASSWORD = "correct horse battery"
DEEP = b"[" * 100_000 + b"]" * 100_000
BIG = 2**63


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Size limits raised to 1 MiB, so that deep nesting meets the nesting check itself."""
    env = {"CHAT_MAX_HTTP_BODY_BYTES": "1048576", "CHAT_MAX_FRAME_BYTES": "1048576"}
    with ServerProcess(tmp_path_factory.mktemp("edges"), env=env) as process:
        yield process


@pytest.fixture
async def api(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        yield client


@pytest.fixture
async def token(api: httpx.AsyncClient) -> str:
    name = f"edge{uuid.uuid4().hex[:10]}"
    resp = await api.post("/api/auth/register", json={"username": name, "password": PASSWORD})
    assert resp.status_code == 201
    value: str = resp.json()["token"]
    return value


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code


async def still_serving(api: httpx.AsyncClient, token: str) -> None:
    assert (await api.get("/api/me", headers=bearer(token))).status_code == 200


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        b"[" * 100_000,
        b'{"username": "alice", "password": ' + DEEP + b"}",
        b'{"username": ' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"}",
    ],
)
async def test_deep_nesting_is_a_bad_request_on_anonymous_and_authenticated_bodies(
    api: httpx.AsyncClient, token: str, body: bytes
) -> None:
    for path in ("/api/auth/register", "/api/auth/login"):
        assert_error(await api.post(path, content=body, headers=JSON), 400, "bad_request")
    headers = {**JSON, **bearer(token)}
    assert_error(await api.post("/api/rooms", content=body, headers=headers), 400, "bad_request")
    assert_error(await api.patch("/api/me", content=body, headers=headers), 400, "bad_request")
    await still_serving(api, token)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (json.dumps({"username": "mallory", "password": PASSWORD}), "text/plain"),
        (json.dumps({"username": "mallory", "password": PASSWORD}), "text/plain;charset=UTF-8"),
        (f"username=mallory&password={PASSWORD}", "application/x-www-form-urlencoded"),
        (json.dumps({"username": "mallory", "password": PASSWORD}), None),
    ],
)
async def test_bodies_that_a_cross_site_form_can_send_are_refused(
    api: httpx.AsyncClient, content: str, content_type: str | None
) -> None:
    """A browser sends these cross-site without asking: they must not log anyone in."""
    headers = {"Content-Type": content_type} if content_type else {}
    for path in ("/api/auth/register", "/api/auth/login"):
        resp = await api.post(path, content=content.encode(), headers=headers)
        assert_error(resp, 400, "bad_request")


async def test_json_with_a_charset_or_a_json_suffix_is_accepted(api: httpx.AsyncClient) -> None:
    name = f"edge{uuid.uuid4().hex[:10]}"
    body = json.dumps({"username": name, "password": PASSWORD}).encode()
    headers = {"Content-Type": "application/json; charset=utf-8"}
    assert (await api.post("/api/auth/register", content=body, headers=headers)).status_code == 201
    headers = {"Content-Type": "application/vnd.chat+json"}
    assert (await api.post("/api/auth/login", content=body, headers=headers)).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        f"/api/rooms/{BIG}",
        f"/api/rooms/{BIG * 1000}/messages",
        "/api/users/0",
        "/api/rooms/-3",
        "/api/rooms/abc",
        "/api/rooms/١٢",
        f"/api/rooms/1/messages?before={BIG}",
        "/api/rooms/1/messages?after=-1",
        "/api/rooms/1/messages?limit=١٢",
        "/api/rooms/1/messages?limit=1e1",
        "/api/rooms/1/messages?limit=12.0",
        "/api/rooms?limit=201",
        "/api/rooms?kind=castle",
        "/api/emoji?lang=de",
        "/api/notifications?limit=0",
    ],
)
async def test_path_and_query_numbers_must_be_ascii_int64_in_range(
    api: httpx.AsyncClient, token: str, path: str
) -> None:
    assert_error(await api.get(path, headers=bearer(token)), 400, "bad_request")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/rooms/1/messages", {"body": "hi", "reply_to": BIG}),
        ("POST", "/api/rooms/1/members", {"user_id": BIG}),
        ("POST", "/api/rooms/1/members", {"user_id": "600"}),
        ("POST", "/api/rooms/1/members", {"user_id": 6.0}),
        ("POST", "/api/rooms/1/messages", {"body": "hi", "nonce": True}),
        ("POST", "/api/rooms/1/messages", {"body": 600}),
        ("POST", "/api/notifications/read", {"ids": [1, BIG]}),
        ("POST", "/api/notifications/read", {"ids": ["1"]}),
        ("POST", "/api/notifications/read", {"all": "true"}),
        ("PUT", "/api/settings/notifications", {"rooms": {"١٢": "all"}}),
        ("PUT", "/api/settings/notifications", {"rooms": {str(BIG): "all"}}),
        ("PUT", "/api/settings/notifications", {"rooms": {"+1": "all"}}),
        ("PUT", "/api/settings/notifications", {"default": "loud"}),
        ("PATCH", "/api/me", {"dm_policy": "nobody"}),
        ("POST", "/api/rooms", {"slug": "ok-slug", "name": "Ok", "kind": "castle"}),
    ],
)
async def test_body_fields_are_typed_strictly(
    api: httpx.AsyncClient, token: str, method: str, path: str, body: dict[str, Any]
) -> None:
    resp = await api.request(method, path, json=body, headers=bearer(token))
    assert_error(resp, 400, "bad_request")


async def test_unknown_body_fields_are_ignored(api: httpx.AsyncClient, token: str) -> None:
    resp = await api.patch(
        "/api/me", json={"region": "Namur", "op": "edit", "ref": [1]}, headers=bearer(token)
    )
    assert resp.status_code == 200
    assert resp.json()["user"]["region"] == "Namur"


# -- WebSocket ---------------------------------------------------------------------------


async def closed_with(ws: ClientConnection, timeout: float = 10.0) -> int | None:
    async with asyncio.timeout(timeout):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed:
            pass
    return ws.close_code


async def reply(ws: ClientConnection) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame.get("op") != "event":
            return frame


@pytest.mark.parametrize(
    "frame",
    [
        DEEP,
        b"[" * 100_000,
        b'{"op": "hello", "token": "t", "junk": ' + DEEP + b"}",
    ],
)
async def test_a_deeply_nested_first_frame_is_closed_as_a_bad_frame(
    server: ServerProcess, frame: bytes
) -> None:
    async with connect(server.ws_url, max_size=None) as ws:
        await ws.send(frame.decode())
        assert await closed_with(ws) == 4000


async def test_a_non_ascii_room_id_in_since_is_an_invalid_hello(
    server: ServerProcess, token: str
) -> None:
    async with connect(server.ws_url) as ws:
        await ws.send(json.dumps({"op": "hello", "v": 1, "token": token, "since": {"١٢": 3}}))
        assert await closed_with(ws) == 4001


async def test_bad_frames_in_a_session_are_answered_and_the_socket_stays(
    server: ServerProcess, token: str
) -> None:
    async with connect(server.ws_url, max_size=None) as ws:
        await ws.send(json.dumps({"op": "hello", "v": 1, "token": token}))
        assert (await reply(ws))["op"] == "ready"
        bad = [
            b'{"op": "ping", "ref": 1, "junk": ' + DEEP + b"}",
            DEEP,
            json.dumps({"op": "send", "ref": 3, "room": BIG, "body": "hi"}).encode(),
            json.dumps({"op": "history", "ref": 4, "room": 1, "before": BIG * 4}).encode(),
            json.dumps({"op": "read", "ref": 5, "room": 1, "seq": "600"}).encode(),
        ]
        for frame in bad:
            await ws.send(frame.decode())
            answer = await reply(ws)
            assert (answer["op"], answer["code"]) == ("error", "bad_request")
        await ws.send(json.dumps({"op": "ping", "ref": "still-here"}))
        assert await reply(ws) == {"op": "pong", "ref": "still-here"}
