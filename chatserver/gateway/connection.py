"""Connection: one WebSocket's outbound side, a bounded queue drained by one writer task."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from chatserver.domain.models import User

log = logging.getLogger(__name__)

SendText = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]

SLOW_CONSUMER = 4008
_serials = itertools.count(1)


class Connection:
    """What the hub pushes frames into.

    `push` never awaits: fan-out appends the same str object to each recipient's
    queue and moves on, and each connection's writer task drains its own queue at
    whatever pace its client reads. A client that falls `limit` frames behind is
    closed (4008) rather than allowed to hold memory or slow anyone down.
    """

    __slots__ = (
        "_close",
        "_closing",
        "_idle",
        "_limit",
        "_queue",
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

    def __init__(self, user: User, token_id: int, send: SendText, close: Close, limit: int) -> None:
        self.user = user
        self.token_id = token_id
        self.serial = next(_serials)
        self.rooms: set[int] = set()
        self.closed = False
        self.close_code: int | None = None
        self._send = send
        self._close = close
        self._limit = limit
        self._queue: deque[str] = deque()
        self._wake = asyncio.Event()
        self._idle = True
        self._writer: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._writer = asyncio.create_task(self._drain(), name=f"ws-writer-{self.user.id}")

    def push(self, frame: str) -> None:
        if self.closed:
            return
        queue = self._queue
        queue.append(frame)
        if len(queue) > self._limit:
            self.close(SLOW_CONSUMER, "too slow: send queue full")
        elif self._idle:
            self._idle = False
            self._wake.set()

    def close(self, code: int, reason: str) -> None:
        """Close from any context: stops the writer and closes the socket in the background."""
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        self._queue.clear()
        if self._writer is not None and self._writer is not asyncio.current_task():
            self._writer.cancel()
        self._closing = asyncio.get_running_loop().create_task(self._close_socket(code, reason))

    def discard(self) -> None:
        """The client is gone: stop the writer, which would otherwise wait for frames forever."""
        self.closed = True
        self._queue.clear()
        if self._writer is not None and self._writer is not asyncio.current_task():
            self._writer.cancel()

    async def flush_and_close(self, code: int, reason: str, timeout: float = 2.0) -> None:
        """Let queued frames go out first (a shutdown, a flood), then close."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._queue and not self.closed:  # noqa: ASYNC110 - rare closes only
                    await asyncio.sleep(0.01)
        self.close(code, reason)
        if self._closing is not None:
            await self._closing

    async def wait_closed(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer

    async def _close_socket(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await self._close(code, reason)

    async def _drain(self) -> None:
        queue = self._queue
        send = self._send
        try:
            while not self.closed:
                while queue:
                    await send(queue.popleft())
                self._idle = True
                self._wake.clear()
                await self._wake.wait()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the socket went away under us: the reader sees it too
            log.debug("writer for user %s stopped: %s", self.user.id, exc)
            self.closed = True
