"""One load-test connection: handshake, the lean receive loop, and what it counted.

The receive loop is the tester's hot path (it runs once per delivery, tens of thousands
of times a second on one core), so it reads raw bytes (`recv(decode=False)` skips UTF-8
decoding), finds the body marker with byte scans, and records into flat arrays and one
bitmap per connection: bit k set means message k arrived, so a second arrival is a
duplicate, and after the run every expected bit still clear is a loss.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from chatserver.loadtest import wire

_GROW = 4096  # bitmap bytes added at a time (32k message ids)


class ReadyRoom(msgspec.Struct):
    id: int
    last_seq: int = 0


class Ready(msgspec.Struct):
    op: str
    rooms: list[ReadyRoom] = []


_ready = msgspec.json.Decoder(Ready)


@dataclass
class Shared:
    """State every connection of a run writes into (one event loop: no locks needed)."""

    latencies: array[int] = field(default_factory=lambda: array("q"))
    rooms: int = 1
    acked: bytearray = field(default_factory=bytearray)
    acked_count: int = 0
    acked_per_room: list[int] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    waiters: dict[int, asyncio.Future[bytes]] = field(default_factory=dict)
    track_seq: bool = False
    background: set[asyncio.Task[None]] = field(default_factory=set)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Fire and forget, but keep a reference: the loop holds tasks only weakly."""
        task = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def __post_init__(self) -> None:
        self.acked_per_room = [0] * self.rooms

    def ack(self, ref: int) -> None:
        index = ref >> 3
        if index >= len(self.acked):
            self.acked.extend(bytes(index - len(self.acked) + _GROW))
        bit = 1 << (ref & 7)
        if not self.acked[index] & bit:
            self.acked[index] |= bit
            self.acked_count += 1
            self.acked_per_room[ref % self.rooms] += 1


class Client:
    """One WebSocket connection, its room, and its counters."""

    __slots__ = (
        "closed_code",
        "connect_s",
        "dups",
        "final_at",
        "index",
        "last_rx_ns",
        "last_seq",
        "reactions",
        "received",
        "replaying",
        "room",
        "room_index",
        "seen",
        "slow",
        "synced_at",
        "token",
        "url",
        "ws",
    )

    def __init__(self, index: int, url: str, token: str, room: int, room_index: int) -> None:
        self.index = index
        self.url = url
        self.token = token
        self.room = room
        self.room_index = room_index
        self.ws: ClientConnection | None = None
        self.seen = bytearray(_GROW)
        self.received = 0
        self.dups = 0
        self.last_rx_ns = 0
        self.last_seq = 0
        self.slow = False
        self.replaying = False
        self.synced_at = 0.0
        self.reactions = 0
        self.final_at = 0.0
        self.connect_s = 0.0
        self.closed_code: int | None = None

    async def open(self, target: str, deflate: bool, since: dict[int, int] | None = None) -> None:
        """Connect and complete the handshake (`ready`, or Socket.IO's CONNECT reply)."""
        started = time.perf_counter()
        ws = await connect(
            self.url,
            compression="deflate" if deflate else None,
            max_size=2**22,
            max_queue=16 if self.slow else 256,
            ping_interval=None,  # the server pings; answering is automatic
            open_timeout=60,
            close_timeout=2,
            user_agent_header=None,
        )
        try:
            if target == "socketio":
                await ws.recv()  # Engine.IO OPEN: {"sid", "pingInterval", ...}
                await ws.send(wire.sio_connect([self.room]))
                while not (await ws.recv(decode=False)).startswith(b"40"):
                    pass
            else:
                rooms = [self.room] if target == "ws" else []
                await ws.send(wire.hello_frame(self.token, rooms, since))
                self.replaying = bool(since)
                raw = await ws.recv(decode=False)
                ready = _ready.decode(raw)
                if ready.op != "ready":
                    raise RuntimeError(f"expected ready, got {raw[:200]!r}")
                for room in ready.rooms:
                    if room.id == self.room and not since:
                        self.last_seq = room.last_seq
        except BaseException:
            await ws.close()
            raise
        self.ws = ws
        self.closed_code = None
        self.connect_s = time.perf_counter() - started

    async def read(self, shared: Shared) -> None:
        """Receive until the connection closes, recording every delivery."""
        ws = self.ws
        assert ws is not None
        recv = ws.recv
        append = shared.latencies.append
        time_ns = time.time_ns
        seen = self.seen
        created, body_start = wire.CREATED, wire.body_start
        track_seq = shared.track_seq
        try:
            while True:
                data = await recv(decode=False)
                pos = data.find(created)
                if pos >= 0 and (start := body_start(data, pos)) >= 0:
                    now = time_ns()
                    parts = data[start : data.find(b'"', start)].split(b" ", 2)
                    ident = int(parts[0])
                    if not self.replaying:
                        append((now - int(parts[1])) // 1000)
                    index = ident >> 3
                    if index >= len(seen):
                        seen.extend(bytes(index - len(seen) + _GROW))
                    bit = 1 << (ident & 7)
                    byte = seen[index]
                    if byte & bit:
                        self.dups += 1
                    else:
                        seen[index] = byte | bit
                        self.received += 1
                    self.last_rx_ns = now
                    if track_seq:
                        self.last_seq = wire.scan_int(data[pos:], wire.SEQ_MARK) or self.last_seq
                    continue
                self._other(data, shared, ws)
        except ConnectionClosed:
            self.closed_code = ws.close_code

    def _other(self, data: bytes, shared: Shared, ws: ClientConnection) -> None:
        """Everything that is not a delivery: acks, errors, reactions, syncs, pings."""
        if data[:1] == b"2":  # Engine.IO ping: answer, or the server drops us
            shared.spawn(ws.send(wire.SIO_PONG))
            return
        if data.startswith(b"43"):
            ref = wire.sio_ack_id(data)
            if ref is not None:
                self._acked(ref, data, shared)
            return
        if data.find(wire.REACTION) >= 0:
            count = wire.scan_int(data, wire.COUNT_MARK) or 0
            if count > self.reactions:
                self.reactions = count
                self.final_at = time.monotonic()
            return
        if data.find(wire.SYNCED) >= 0:
            self.replaying = False
            self.synced_at = time.monotonic()
            self.last_seq = max(self.last_seq, wire.scan_int(data, wire.SEQ_MARK) or 0)
            return
        if data.startswith(wire.EVENT_PREFIX):  # votes and answers: nothing to count
            return
        reply = wire.decode_reply(data)
        if reply is None or not isinstance(reply.ref, int):
            return
        if reply.op == "error":
            code = reply.code or "error"
            shared.errors[code] = shared.errors.get(code, 0) + 1
            waiter = shared.waiters.pop(reply.ref, None)
            if waiter is not None and not waiter.done():
                waiter.set_exception(RuntimeError(f"{code}: {data[:200]!r}"))
            return
        self._acked(reply.ref, data, shared)

    @staticmethod
    def _acked(ref: int, data: bytes, shared: Shared) -> None:
        waiter = shared.waiters.pop(ref, None)
        if waiter is not None:
            if not waiter.done():
                waiter.set_result(data)
            return
        shared.ack(ref)

    def bits(self, first: int, end: int) -> int:
        """The seen-bitmap for ids first..end-1 as an int (bit 0 = id `first`)."""
        return (int.from_bytes(self.seen, "little") >> first) & ((1 << (end - first)) - 1)

    async def drain_closed(self, timeout: float) -> int | None:
        """Read whatever is left (a stalled client) until the close; the close code."""
        ws = self.ws
        if ws is None:
            return self.closed_code
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await ws.recv(decode=False)
        except ConnectionClosed:
            self.closed_code = ws.close_code
        except TimeoutError:
            return None
        return self.closed_code
