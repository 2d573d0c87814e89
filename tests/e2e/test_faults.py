"""Faults as clear, retryable errors: a database or broker outage is `unavailable` with
`retry_after` on HTTP and the WebSocket, never `internal`; it is logged in a few lines,
not one per request; and everything works again once the dependency is back."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.postgres import PostgresProcess, postgres_process
from tests.support.server import ServerProcess
from tests.support.services import redis_process

pytestmark = pytest.mark.postgres

PASSWORD = "correct horse battery"


@pytest.fixture
def database() -> Iterator[PostgresProcess]:
    with postgres_process() as server:
        yield server


async def _next_reply(ws: ClientConnection) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["op"] != "event":
            return frame


def _assert_unavailable(resp: httpx.Response) -> None:
    assert resp.status_code == 503, resp.text
    error = resp.json()["error"]
    assert error["code"] == "unavailable"
    assert error["retry_after"] > 0
    assert int(resp.headers["Retry-After"]) >= 1


async def test_a_database_outage_is_unavailable_everywhere_then_heals(
    tmp_path: Path, database: PostgresProcess
) -> None:
    server = ServerProcess(tmp_path, database_url=database.url)
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as api:
            name = f"pg{uuid.uuid4().hex[:8]}"
            registered = await api.post(
                "/api/auth/register", json={"username": name, "password": PASSWORD}
            )
            token = registered.json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            room = (
                await api.post(
                    "/api/rooms",
                    json={"slug": f"f{uuid.uuid4().hex[:8]}", "name": "Faults", "kind": "topic"},
                    headers=auth,
                )
            ).json()["room"]["id"]
            ws = await connect(server.ws_url)
            await ws.send(json.dumps({"op": "hello", "v": 1, "token": token}))
            assert json.loads(await ws.recv())["op"] == "ready"
            log_before = server.log_path.stat().st_size

            # Requests in flight while PostgreSQL shuts down get 201 or 503, never 500.
            stopping = asyncio.create_task(asyncio.to_thread(database.stop))
            answers: list[int] = []

            async def keep_posting() -> None:
                while not stopping.done():
                    resp = await api.post(
                        f"/api/rooms/{room}/messages", json={"body": "busy"}, headers=auth
                    )
                    answers.append(resp.status_code)

            await asyncio.gather(*(keep_posting() for _ in range(4)), stopping)
            assert 503 in answers and set(answers) <= {201, 503}

            for _ in range(20):
                _assert_unavailable(
                    await api.post(f"/api/rooms/{room}/messages", json={"body": "x"}, headers=auth)
                )
            _assert_unavailable(
                await api.post("/api/auth/login", json={"username": name, "password": PASSWORD})
            )
            await ws.send(json.dumps({"op": "send", "ref": 7, "room": room, "body": "down"}))
            error = await _next_reply(ws)
            assert (error["op"], error["ref"], error["code"]) == ("error", 7, "unavailable")
            assert error["retry_after"] > 0
            # A client reconnecting meanwhile is told to come back, not that its token is bad.
            again = await connect(server.ws_url)
            await again.send(json.dumps({"op": "hello", "v": 1, "token": token}))
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(again.recv(), 10)
            assert again.close_code == 1013

            log = server.log_path.read_bytes()[log_before:].decode(errors="replace")
            assert "Traceback" not in log
            assert "internal" not in log
            assert len(log.splitlines()) < 20, log

            await asyncio.to_thread(database.start)
            async with asyncio.timeout(30):
                while True:
                    resp = await api.post(
                        f"/api/rooms/{room}/messages", json={"body": "back"}, headers=auth
                    )
                    if resp.status_code == 201:
                        break
                    _assert_unavailable(resp)
                    await asyncio.sleep(0.5)
            await ws.send(json.dumps({"op": "send", "ref": 8, "room": room, "body": "ws back"}))
            assert (await _next_reply(ws))["op"] == "ok"
            await ws.close()
    finally:
        server.stop()


@pytest.mark.redis
async def test_a_broker_outage_is_logged_once_with_its_duration(tmp_path: Path) -> None:
    with redis_process(tmp_path) as redis:
        server = ServerProcess(tmp_path, env={"CHAT_REDIS_URL": redis.url})
        server.start()
        try:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as api:
                registered = await api.post(
                    "/api/auth/register",
                    json={"username": f"rd{uuid.uuid4().hex[:8]}", "password": PASSWORD},
                )
                auth = {"Authorization": f"Bearer {registered.json()['token']}"}
                room = (
                    await api.post(
                        "/api/rooms",
                        json={"slug": f"b{uuid.uuid4().hex[:8]}", "name": "B", "kind": "topic"},
                        headers=auth,
                    )
                ).json()["room"]["id"]
                log_before = server.log_path.stat().st_size
                redis.kill()
                for i in range(100):  # stored, acknowledged; only the publish fails
                    resp = await api.post(
                        f"/api/rooms/{room}/messages", json={"body": f"r{i}"}, headers=auth
                    )
                    assert resp.status_code == 201, resp.text
                await asyncio.to_thread(redis.start)
                async with asyncio.timeout(30):
                    while "reconnected after" not in server.log():  # noqa: ASYNC110 - a file
                        await asyncio.sleep(0.2)
                resp = await api.post(
                    f"/api/rooms/{room}/messages", json={"body": "back"}, headers=auth
                )
                assert resp.status_code == 201
            await asyncio.sleep(0.5)
            log = server.log_path.read_bytes()[log_before:].decode(errors="replace")
            lines = log.splitlines()
            assert len(lines) <= 10, log
            assert "Traceback" not in log
            assert any("available again after" in line for line in lines), log
        finally:
            server.stop()


def _send_invalid_utf8_frame(port: int) -> None:
    """A WebSocket handshake, then one text frame that is not UTF-8 (closed with 1007)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        assert sock.recv(4096).startswith(b"HTTP/1.1 101")
        mask, payload = os.urandom(4), b"\xff\xfe\xfd"
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        sock.sendall(bytes((0x81, 0x80 | len(payload))) + mask + masked)
        while sock.recv(4096):
            pass


def test_a_client_repeating_what_the_server_logs_leaves_one_line(tmp_path: Path) -> None:
    with ServerProcess(tmp_path, env={"CHAT_LOG_LEVEL": "info"}) as server:
        for _ in range(30):
            _send_invalid_utf8_frame(server.port)
        log = server.log_path.read_text(errors="replace")
    assert log.count("Invalid UTF-8") == 1, log
    assert "Traceback" not in log, log  # the client's fault: a warning line, no traceback
