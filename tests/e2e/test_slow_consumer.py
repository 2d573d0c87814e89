"""A client that stops reading is cut off at its send-buffer bound; nobody else waits."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatserver.sdk import ChatClient
from tests.support.server import ServerProcess

BUFFER_BYTES = 65_536


@pytest.fixture(scope="module")
def tight_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"CHAT_SEND_BUFFER_BYTES": str(BUFFER_BYTES), "CHAT_RATE_LIMIT_SCALE": "1000"}
    with ServerProcess(Path(tmp_path_factory.mktemp("slow")), env=env) as server:
        yield server


def _masked(payload: bytes) -> bytes:
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes((0x81, 0x80 | 126)) + struct.pack("!H", len(payload)) + mask + body


def _stalled_socket(port: int, token: str) -> socket.socket:
    """A WebSocket that says hello, then never reads: a tiny receive window, never drained."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101")
    hello = json.dumps({"op": "hello", "v": 1, "token": token}).encode()
    sock.sendall(_masked(hello.ljust(130)))
    return sock


def _close_code(sock: socket.socket) -> int | None:
    """Read every frame the server queued; the code of its close frame, if it sent one."""
    sock.settimeout(10)
    data = b""
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    offset = 0
    while offset + 2 <= len(data):
        opcode, length = data[offset] & 0x0F, data[offset + 1] & 0x7F
        offset += 2
        if length == 126:
            (length,) = struct.unpack("!H", data[offset : offset + 2])
            offset += 2
        elif length == 127:
            (length,) = struct.unpack("!Q", data[offset : offset + 8])
            offset += 8
        if opcode == 0x8 and length >= 2:
            return int(struct.unpack("!H", data[offset : offset + 2])[0])
        offset += length
    return None


async def test_a_client_that_stops_reading_is_closed_with_4008_and_others_get_everything(
    tight_server: ServerProcess,
) -> None:
    writer, reader, stalled, gone = (ChatClient(tight_server.base_url) for _ in range(4))
    for client in (writer, reader, stalled, gone):
        await client.register(f"s{uuid.uuid4().hex[:10]}", "correct horse battery")
    room = await writer.create_room(f"slow-{uuid.uuid4().hex[:8]}", "Slow", "topic")
    for client in (reader, stalled, gone):
        await client.join(room["id"])
    await reader.connect()
    assert stalled.token is not None and gone.token is not None
    sock = await asyncio.to_thread(_stalled_socket, tight_server.port, stalled.token)
    # `gone` stops reading too, and never reads again.
    gone_sock = await asyncio.to_thread(_stalled_socket, tight_server.port, gone.token)
    await asyncio.sleep(0.5)

    # Several times the bound, which covers the server's buffer and the kernel's (the
    # server sizes each socket's kernel send buffer to half of it).
    body = "x" * 3900
    count = 50 * -(-(8 * BUFFER_BYTES) // (len(body) * 50))
    sent: list[int] = []
    for start in range(0, count, 50):
        posted = await asyncio.gather(
            *(writer.post_message(room["id"], f"{i} {body}") for i in range(start, start + 50))
        )
        sent += [m["id"] for m in posted]

    received: set[int] = set()
    async with asyncio.timeout(60):
        while len(received) < len(sent):
            event = await reader.next_event("message.created", room=room["id"], timeout=60)
            received.add(event["message"]["id"])
    assert received == set(sent)
    done_sending = time.monotonic()
    # Once it reads again, the stalled client gets what was already on its way, then the
    # close frame: it learns why it was cut off.
    assert await asyncio.to_thread(_close_code, sock) == 4008
    sock.close()

    # A client that never reads again does not keep its buffers: after the keep-alive
    # timeout (CHAT_PING_INTERVAL, 20 s) the server resets the connection.
    await asyncio.sleep(max(0.0, done_sending + 22 - time.monotonic()))
    gone_sock.settimeout(5)
    with pytest.raises(ConnectionResetError):
        while gone_sock.recv(1 << 16):
            pass
    gone_sock.close()
    for client in (writer, reader, stalled, gone):
        await client.close()
