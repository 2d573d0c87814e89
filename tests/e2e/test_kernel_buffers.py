"""What a client that stops reading costs the server's host, kernel buffers included.

CHAT_SEND_BUFFER_BYTES bounds what may wait for one connection. Left alone, Linux lets a
socket's send buffer grow to `tcp_wmem`'s maximum (4 MiB by default), so a slow reader
used to hold about 2.7 MB of kernel memory on top of the server's own bound. The server
now sizes each accepted socket's send buffer so that both together stay within it.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatserver.sdk import ChatClient
from tests.e2e.test_slow_consumer import _stalled_socket
from tests.support.server import ServerProcess

BOUND = 1_048_576  # CHAT_SEND_BUFFER_BYTES's default


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs Linux's /proc/net/tcp")
    env = {"CHAT_RATE_LIMIT_SCALE": "1000"}
    with ServerProcess(Path(tmp_path_factory.mktemp("buffers")), env=env) as process:
        yield process


def _send_queue(server_port: int, client_port: int) -> int | None:
    """Bytes queued in the kernel for the server's end of one TCP connection (the
    tx_queue column of /proc/net/tcp), or None if the connection is gone."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        remote_port = int(fields[2].split(":")[1], 16)
        if (local_port, remote_port) == (server_port, client_port):
            return int(fields[4].split(":")[0], 16)
    return None


async def test_a_slow_readers_kernel_send_queue_stays_within_half_the_bound(
    server: ServerProcess,
) -> None:
    writer, stalled = ChatClient(server.base_url), ChatClient(server.base_url)
    for client in (writer, stalled):
        await client.register(f"k{uuid.uuid4().hex[:10]}", "correct horse battery")
    room = await writer.create_room(f"buf-{uuid.uuid4().hex[:8]}", "Buffers", "topic")
    await stalled.join(room["id"])
    assert stalled.token is not None
    sock: socket.socket = await asyncio.to_thread(_stalled_socket, server.port, stalled.token)
    client_port = sock.getsockname()[1]
    await asyncio.sleep(0.3)

    peak = 0
    body = "x" * 3900
    for start in range(0, 1000, 50):  # 3.9 MB: more than Linux's autotuning would hold
        await asyncio.gather(
            *(writer.post_message(room["id"], f"{i} {body}") for i in range(start, start + 50))
        )
        queued = await asyncio.to_thread(_send_queue, server.port, client_port)
        peak = max(peak, queued or 0)
    assert peak > 0, "the connection was not observed"
    assert peak <= BOUND // 2, f"{peak} bytes queued in the kernel for one slow reader"
    sock.close()
    for client in (writer, stalled):
        await client.close()
