"""MemoryBroker: the single-node broker, a bounded queue drained by one dispatcher task."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

from chatserver.broker.base import MessageHandler, ResetHandler


class MemoryBroker:
    """In-process pub/sub for the embedded default.

    Messages go through a bounded queue so a publisher never runs the fan-out
    itself and a runaway publisher is slowed down (backpressure) instead of
    growing memory without limit.
    """

    def __init__(self, max_pending: int = 10_000) -> None:
        self._queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(max_pending)
        self._refs: Counter[str] = Counter()
        self._on_message: MessageHandler | None = None
        self._task: asyncio.Task[None] | None = None

    def set_handlers(self, on_message: MessageHandler, on_reset: ResetHandler) -> None:
        self._on_message = on_message

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._dispatch(), name="memory-broker")

    async def publish(self, channel: str, data: bytes) -> None:
        if self._refs[channel] > 0:
            await self._queue.put((channel, data))

    async def subscribe(self, channel: str) -> None:
        self._refs[channel] += 1

    async def unsubscribe(self, channel: str) -> None:
        self._refs[channel] -= 1
        if self._refs[channel] <= 0:
            del self._refs[channel]

    async def ping(self) -> bool:
        return self._task is not None and not self._task.done()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _dispatch(self) -> None:
        handler = self._on_message
        assert handler is not None, "set_handlers() must be called before start()"
        queue = self._queue
        while True:
            channel, data = await queue.get()
            # Routing is checked again at delivery: an unsubscribe between publish and
            # delivery means nobody on this node wants the message any more.
            if self._refs[channel] > 0:
                handler(channel, data)
