"""Frames as connections take them: a run of frames pushed at once reaches the client as
the same frames, in order, on the direct path, through ASGI, and when held until `ready`."""

from __future__ import annotations

import asyncio
from typing import cast

from chatserver.domain.models import User
from chatserver.gateway.connection import Connection
from chatserver.gateway.direct import DirectWriter
from chatserver.gateway.framing import FrameRun, Outgoing, ws_text_frame

PAYLOADS = [b'{"n":1}', b'{"n":2,"pad":"' + b"x" * 300 + b'"}', b'{"n":3}']


def _run(payloads: list[bytes]) -> FrameRun:
    """A run of all of `payloads`, picked out of a window that has one more frame."""
    window = [b'{"n":"other"}', *payloads]
    framed = [ws_text_frame(payload) for payload in window]
    return FrameRun(window, framed, range(1, len(window)))


def _frames(data: bytes) -> list[bytes]:
    """The payloads of unmasked text frames, back to back, as a client parses them."""
    out = []
    while data:
        assert data[0] == 0x81, "a final text frame"
        size, head = data[1], 2
        if size == 126:
            size, head = int.from_bytes(data[2:4], "big"), 4
        elif size == 127:
            size, head = int.from_bytes(data[2:10], "big"), 10
        out.append(data[head : head + size])
        data = data[head + size :]
    return out


class _Writer:
    """What a directly written connection needs of its socket's writer."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, frame: bytes) -> bool:
        self.written.append(frame)
        return True

    def congested(self) -> bool:
        return False

    def buffered(self) -> int:
        return 0


class _Asgi:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.changed = asyncio.Event()

    async def send(self, text: str) -> None:
        self.sent.append(text)
        self.changed.set()

    async def close(self, code: int, reason: str) -> None:
        pass

    async def until(self, count: int) -> list[str]:
        async with asyncio.timeout(5):
            while len(self.sent) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.sent


USER = User(1, "ann", "Ann", "student")


def test_a_run_is_its_frames_back_to_back() -> None:
    run = _run(PAYLOADS)
    assert run.count == 3
    assert _frames(run.framed) == PAYLOADS
    assert run.size == sum(map(len, PAYLOADS))
    assert [part.payload for part in run.parts()] == PAYLOADS


def test_a_directly_written_connection_writes_a_run_in_one_write() -> None:
    writer = _Writer()
    conn = Connection(USER, 1, _Asgi().send, _Asgi().close, 1 << 20, cast(DirectWriter, writer))
    conn.start()
    conn.push(Outgoing(b'{"n":0}'))
    conn.push(_run(PAYLOADS))
    assert len(writer.written) == 2
    assert _frames(b"".join(writer.written)) == [b'{"n":0}', *PAYLOADS]


async def test_an_asgi_connection_sends_each_frame_of_a_run_on_its_own() -> None:
    asgi = _Asgi()
    conn = Connection(USER, 1, asgi.send, asgi.close, 1 << 20)
    conn.start()
    conn.push(_run(PAYLOADS))
    conn.push(Outgoing(b'{"n":4}'))
    assert await asgi.until(4) == [p.decode() for p in [*PAYLOADS, b'{"n":4}']]
    assert conn.pending() == 0
    conn.discard()
    await conn.wait_closed()


async def test_a_run_held_until_ready_follows_it_and_keep_judges_each_frame() -> None:
    asgi = _Asgi()
    conn = Connection(USER, 1, asgi.send, asgi.close, 1 << 20)
    conn.start()
    conn.hold()
    conn.push(_run(PAYLOADS))
    await asyncio.sleep(0)
    assert asgi.sent == []
    conn.release(b'{"ready":1}', lambda out: out.payload != PAYLOADS[1])
    sent = await asgi.until(3)
    assert sent == ['{"ready":1}', PAYLOADS[0].decode(), PAYLOADS[2].decode()]
    conn.discard()
    await conn.wait_closed()


async def test_a_run_counts_towards_the_send_queue_limit() -> None:
    asgi = _Asgi()
    closed: list[int] = []

    async def close(code: int, reason: str) -> None:
        closed.append(code)

    limit = sum(map(len, PAYLOADS)) - 1
    conn = Connection(USER, 1, asgi.send, close, limit)
    conn.start()
    conn.push(_run(PAYLOADS))
    assert conn.closed
    assert conn.close_code == 4008
    await conn.wait_closed()
