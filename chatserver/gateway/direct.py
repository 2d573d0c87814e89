"""Direct writes: a uvicorn WebSocket protocol that lets the hub write framed bytes.

Through ASGI, every frame to every recipient costs a `send` coroutine, a message dict,
and a fresh frame encoding in the protocol library. Fan-out sends the same bytes to
thousands of sockets, so this protocol (uvicorn's sans-I/O WebSocket protocol, plus
one scope extension) hands the application a writer that puts a pre-framed message
straight into the socket's transport. Everything else — handshake, reading, pings,
closing — is uvicorn's own code path.

The protocol relies on uvicorn internals that are not its documented API (listed below,
checked against this code by `tests/unit/test_direct_uvicorn.py`, and pinned to the tested
uvicorn release in `pyproject.toml`). Should they change anyway, the first connection
notices, one warning is logged, and every socket takes the ASGI path instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import weakref
from collections.abc import Mapping
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import Protocol, State

log = logging.getLogger(__name__)

EXTENSION = "chatserver.direct_write"
_LINGER_OFF = struct.pack("ii", 1, 0)  # SO_LINGER on, timeout 0: close() sends a reset

UVICORN_METHODS = ("handle_connect", "keepalive_timeout", "send")
"""Methods of uvicorn's protocol that `DirectWriteProtocol` extends through `super()`."""

UVICORN_STATE = (
    "close_sent",
    "close_timeout",
    "close_timer",
    "config",
    "conn",
    "disconnected",
    "loop",
    "ping_timeout",
    "queue",
    "read_paused",
    "transport",
    "writable",
)
"""Attributes of a uvicorn protocol instance that this module reads or sets."""

CONN_INTERNALS = ("data_to_send", "parser", "reader", "send_close", "state")
"""Methods and attributes of the protocol's `conn` (the websockets sans-I/O connection)
used here."""


def missing_internals(protocol: WebSocketsSansIOProtocol) -> list[str]:
    """The internals this module needs that `protocol` lacks: empty when compatible."""
    missing = [name for name in UVICORN_METHODS if not hasattr(WebSocketsSansIOProtocol, name)]
    missing += [name for name in UVICORN_STATE if not hasattr(protocol, name)]
    conn = getattr(protocol, "conn", None)
    missing += [f"conn.{name}" for name in CONN_INTERNALS if not hasattr(conn, name)]
    return missing


class _Flusher:
    """Hands each socket the frames of one event-loop turn in one `transport.write`.

    uvloop writes to the socket as soon as `transport.write` is called, so a frame per
    call is a `send()` system call per recipient per event — most of the fan-out's cost
    (see docs/benchmarks.md). Frames pushed to a socket during one turn are kept in a
    list instead, and one callback at the start of the next turn writes each socket's
    list at once. An event alone in its turn costs one extra list and callback; when
    events crowd together (a group commit's messages, a burst of reactions, a loaded
    server) the system calls per event fall with the size of the crowd. No timer is
    involved: nothing waits longer than the turn already in progress.
    """

    __slots__ = ("_dirty", "_loop", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._dirty: list[DirectWriter] = []
        self._scheduled = False

    def add(self, writer: DirectWriter) -> None:
        self._dirty.append(writer)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        dirty, self._dirty = self._dirty, []
        for writer in dirty:
            writer.flush()


_flushers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Flusher] = (
    weakref.WeakKeyDictionary()
)


def _flusher(loop: asyncio.AbstractEventLoop) -> _Flusher:
    flusher = _flushers.get(loop)
    if flusher is None:
        flusher = _flushers[loop] = _Flusher(loop)
    return flusher


class DirectWriter:
    """Writes complete frames to one socket, unless it is closing or closed.

    Frames written during one event-loop turn reach the transport together at the start
    of the next (`_Flusher`), in the order they were written; everything this server
    sends on a directly written socket goes through here, so the order of replies and
    events is kept.
    """

    __slots__ = ("_flusher", "_pending", "_pending_bytes", "_protocol")

    def __init__(self, protocol: DirectWriteProtocol) -> None:
        self._protocol = protocol
        self._flusher = _flusher(protocol.loop)
        self._pending: list[bytes] | None = None
        self._pending_bytes = 0

    def write(self, frame: bytes) -> bool:
        protocol = self._protocol
        if protocol.close_sent or protocol.disconnected:
            return False
        pending = self._pending
        if pending is None:
            if protocol.transport.is_closing():
                return False
            self._pending = [frame]
            self._flusher.add(self)
        else:
            pending.append(frame)
        self._pending_bytes += len(frame)
        return True

    def flush(self) -> None:
        """Write what this turn gave the socket (called by the flusher, and before a close)."""
        pending = self._pending
        if pending is None:
            return
        self._pending = None
        self._pending_bytes = 0
        protocol = self._protocol
        if protocol.close_sent or protocol.disconnected:
            return
        transport = protocol.transport
        if not transport.is_closing():
            transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close_now(self, code: int, reason: str) -> None:
        """Close without waiting for the client to read (see `DirectWriteProtocol`);
        frames written before go out first, as they would have unbatched."""
        self.flush()
        self._protocol.close_unread(code, reason)

    def congested(self) -> bool:
        """True once the transport asked to pause writing (over its high-water mark):
        a flag read, so the hot path need not ask for the exact size every time."""
        return not self._protocol.writable.is_set()

    def buffered(self) -> int:
        """Bytes written but not yet taken by the client's TCP window (this turn's too)."""
        return int(self._protocol.transport.get_write_buffer_size()) + self._pending_bytes


class _ReceiveQueue:
    """What uvicorn's receive side needs of an `asyncio.Queue`, for its one consumer.

    An `asyncio.Queue` allocates four deques (three of its own and its `Event`'s), each
    624 bytes while empty, for waiters a socket never has more than one of: 2.5 KiB of
    every idle connection. A list and at most one future do the same job.
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


class _Flag:
    """An `asyncio.Event` whose waiters' list exists only while someone waits (uvicorn's
    `writable`: set, except while the transport asks to pause writing)."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class DirectWriteProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O protocol with a `DirectWriter` in the ASGI scope's extensions.

    Only valid without per-message compression (frames are shared verbatim), which
    the server configures off.
    """

    compatible: ClassVar[bool | None] = None
    """Whether the installed uvicorn has every internal used here; learnt on the first
    connection, and when False the protocol behaves exactly as uvicorn's own."""

    def handle_connect(self, event: Any) -> None:
        if self._compatible():  # an idle socket's memory: see `_ReceiveQueue` and `_Flag`
            writable = _Flag()
            if not self.writable.is_set():
                writable.clear()
            self.queue = _ReceiveQueue()  # type: ignore[assignment]
            self.writable = writable  # type: ignore[assignment]
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the handshake was refused
        if scope is not None and not self.config.ws_per_message_deflate and self._compatible():
            scope["extensions"][EXTENSION] = DirectWriter(self)

    def _compatible(self) -> bool:
        compatible = DirectWriteProtocol.compatible
        if compatible is None:
            missing = missing_internals(self)
            compatible = DirectWriteProtocol.compatible = not missing
            if missing:
                log.warning(
                    "uvicorn %s lacks %s: direct writes are off, WebSockets use ASGI send",
                    uvicorn.__version__,
                    ", ".join(missing),
                )
        return compatible

    def close_unread(self, code: int, reason: str) -> None:
        """Close a client that may not be reading.

        An ASGI `websocket.close` first waits for the transport to drain, which a client
        that stopped reading never lets happen: its buffers would stay allocated until the
        keep-alive gave up, and then `transport.close()` would wait for the flush forever.
        Here the close frame goes out behind what is already buffered, as uvicorn's own
        close does, and if the client has not taken it all within the keep-alive timeout
        the socket is aborted and its buffers freed.
        """
        if self.close_sent or self.disconnected or self.transport.is_closing():
            return
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if self.read_paused:  # the client's answering close frame must be read
            self.read_paused = False
            self.transport.resume_reading()
        grace = self.ping_timeout or self.close_timeout
        self.close_timer = self.loop.call_later(grace, self._abort_unless_gone)

    def keepalive_timeout(self) -> None:
        """uvicorn closes a client that did not answer a ping with `transport.close()`,
        which waits to flush what is buffered; a client that stopped reading would keep
        those buffers forever, so it gets `close_timeout` to take them, then an abort."""
        super().keepalive_timeout()
        if self._compatible() and self.close_timer is None and not self.disconnected:
            self.close_timer = self.loop.call_later(self.close_timeout, self._abort_unless_gone)

    def _abort_unless_gone(self) -> None:
        """Reset the connection: with lingering off, the kernel drops its send buffer
        (up to several MiB) too, instead of keeping it for an orphaned socket."""
        self.close_timer = None
        if self.disconnected:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_OFF)
        self.transport.abort()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept":
            # The handshake's request and response (with all their headers) are only
            # needed to answer the upgrade; an idle socket should not carry them for hours.
            for name in ("request", "response"):
                if hasattr(self, name):
                    delattr(self, name)
            self._restart_frame_parser()

    def _restart_frame_parser(self) -> None:
        """websockets parses frames with a generator that began by parsing the handshake
        and keeps that request — every header, some 2 KiB — as a local variable for the
        socket's life. Right after the handshake, with no data waiting, a fresh frame
        parser is in exactly the state the old one is in, without the request."""
        if self.conn.state is not State.OPEN or self.conn.reader.buffer or self.conn.reader.eof:
            return
        self.conn.parser = Protocol.parse(self.conn)
        next(self.conn.parser)


def direct_writer(scope: Mapping[str, Any]) -> DirectWriter | None:
    writer = scope.get("extensions", {}).get(EXTENSION)
    return writer if isinstance(writer, DirectWriter) else None
