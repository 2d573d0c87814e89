"""Connection: one WebSocket's outbound side, which fan-out feeds without ever waiting."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from chatserver.domain.models import User
from chatserver.gateway.direct import DirectWriter
from chatserver.gateway.framing import Outgoing, Pushed
from chatserver.protocol.closecodes import CloseCode

log = logging.getLogger(__name__)

SendText = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]

_serials = itertools.count(1)
_HELD_MAX = 10_000
"""Events held for one handshake at most: it lasts milliseconds, so more means the
database is stuck; the client is closed and reconnects, rather than held without bound."""
_NO_QUEUE: deque[Pushed] = deque(maxlen=0)
"""Shared by every directly written connection: they never queue, so they need no deque."""


class Connection:
    """What the hub pushes frames into; `push` never awaits.

    With a `DirectWriter` (the normal case under `chatserver serve`), a push writes the
    event's shared, pre-framed bytes into the socket's buffer: no task, no queue, no
    per-recipient encoding. Otherwise frames wait in a deque that one writer task
    drains through ASGI, a frame per `send`. A push may carry a run of frames
    (`FrameRun`, a presence window's): written as one, sent through ASGI one by one.
    Either way, a client that lets more than `limit_bytes` pile up is closed (4008)
    rather than allowed to hold memory or slow anyone down.
    """

    __slots__ = (
        "_close",
        "_closing",
        "_direct",
        "_held",
        "_idle",
        "_limit",
        "_on_slow",
        "_queue",
        "_queued_bytes",
        "_send",
        "_wake",
        "_writer",
        "close_code",
        "closed",
        "rooms",
        "serial",
        "token_id",
        "user",
    )

    def __init__(
        self,
        user: User,
        token_id: int,
        send: SendText,
        close: Close,
        limit_bytes: int,
        direct: DirectWriter | None = None,
        on_slow: Callable[[], object] | None = None,
    ) -> None:
        self.user = user
        self.token_id = token_id
        self.serial = next(_serials)
        self.rooms: set[int] = set()
        self.closed = False
        self.close_code: int | None = None
        self._send = send
        self._close = close
        self._limit = limit_bytes
        self._direct = direct
        self._on_slow = on_slow
        self._queue: deque[Pushed] = _NO_QUEUE
        self._queued_bytes = 0
        self._wake: asyncio.Event | None = None
        self._idle = True
        self._writer: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None
        self._held: list[Pushed] | None = None

    def start(self) -> None:
        if self._direct is None:
            self._queue = deque()
            self._wake = asyncio.Event()
            self._writer = asyncio.create_task(self._drain(), name=f"ws-writer-{self.user.id}")

    def send(self, payload: bytes) -> None:
        """Queue a frame meant for this connection only (a reply, a replay)."""
        self.push(Outgoing(payload))

    def hold(self) -> None:
        """Keep what is pushed from now on, until `release`.

        The gateway subscribes the user's channel before it reads the `ready` state, so
        that nothing committed meanwhile is missed; what arrives in between must reach
        the client after `ready` (PROTOCOL: events follow it), and only if `ready` did
        not already count it.
        """
        self._held = []

    def release(self, first: bytes, keep: Callable[[Outgoing], bool]) -> None:
        """Send `first` (the `ready` frame), then what was held and `keep` accepts, in
        the order it came (`keep` judges each frame of a run on its own); from then on
        pushes go out at once."""
        held, self._held = self._held or [], None
        self.send(first)
        for pushed in held:
            for out in pushed.parts():
                if keep(out):
                    self.push(out)

    def push(self, out: Pushed) -> None:
        if self.closed:
            return
        held = self._held
        if held is not None:
            held.append(out)
            if len(held) > _HELD_MAX:
                self.close(CloseCode.TRY_AGAIN_LATER, "too many events before ready")
            return
        direct = self._direct
        if direct is not None:
            if direct.write(out.framed) and direct.congested() and direct.buffered() > self._limit:
                self._too_slow("too slow: send buffer full")
            return
        self._queue.append(out)
        self._queued_bytes += out.size
        if self._queued_bytes > self._limit:
            self._too_slow("too slow: send queue full")
        elif self._idle and self._wake is not None:
            self._idle = False
            self._wake.set()

    def _too_slow(self, reason: str) -> None:
        """Close a client that does not read its events; `on_slow` is told (metrics)."""
        self.close(CloseCode.POLICY, reason)
        if self._on_slow is not None:
            self._on_slow()

    def pending(self) -> int:
        """Bytes accepted for this client and not yet sent."""
        if self._direct is not None:
            return self._direct.buffered()
        return self._queued_bytes

    def close(self, code: int, reason: str) -> None:
        """Close from any context: stops the writer and closes the socket in the background."""
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        self._drop_queue()
        if self._direct is not None:
            self._direct.close_now(code, reason)
        else:
            self._closing = asyncio.get_running_loop().create_task(self._close_socket(code, reason))

    def discard(self) -> None:
        """The client is gone: stop the writer, which would otherwise wait for frames forever."""
        self.closed = True
        self._drop_queue()

    async def flush_and_close(self, code: int, reason: str, timeout: float = 2.0) -> None:
        """Let what is pending go out first (a shutdown, a flood), then close."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self.pending() and not self.closed:  # noqa: ASYNC110 - rare closes only
                    await asyncio.sleep(0.01)
        self.close(code, reason)
        if self._closing is not None:
            await self._closing

    async def wait_closed(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer

    def _drop_queue(self) -> None:
        self._held = None
        self._queue.clear()
        self._queued_bytes = 0
        if self._writer is not None and self._writer is not asyncio.current_task():
            self._writer.cancel()

    async def _close_socket(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await self._close(code, reason)

    async def _drain(self) -> None:
        queue = self._queue
        send = self._send
        wake = self._wake
        assert wake is not None
        try:
            while not self.closed:
                while queue:
                    out = queue.popleft()
                    self._queued_bytes -= out.size
                    for text in out.texts():
                        await send(text)
                self._idle = True
                wake.clear()
                await wake.wait()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the socket went away under us: the reader sees it too
            log.debug("writer for user %s stopped: %s", self.user.id, exc)
            self.closed = True
