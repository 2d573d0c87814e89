"""The writes waiting for the database: a queue bounded in length and in time, which
skips a write whose HTTP client has gone.

SQLite has one writer: a write waits for the node's write lock, and a message send
first waits in the group commit's queue (`store/group_commit.py`), whose batch then
waits for the lock as one write. On PostgreSQL sends wait in the group commit's queue
for one of its transactions. Those queues used to be bounded by nothing but the number
of sockets: on a server starved of CPU, a soak left ~720 HTTP requests (7.4 MiB) queued
after their clients had given up, and the server kept running them, two a second, for
nobody (docs/benchmarks.md, "What grows, and what is bounded"). Now:

- a write that finds `max_waiting` writes already waiting is refused at once;
- a write that has waited `max_wait` seconds without starting is refused;
- a write of an HTTP request whose client disconnected while it waited is not run.

A refusal is `unavailable` (HTTP 503 with `Retry-After`, or the op's `error` frame),
which clients retry. It is decided before the write's transaction begins (for a send,
before it is taken into a batch), by the code that would otherwise start it: a refused
write is never committed, and a write that has started is never refused, so what is
acknowledged is committed. The count is of writes waiting, not running: up to a batch
per group-commit transaction runs beyond it.

A write that does not wait (the lock is free and nobody queues) pays one comparison.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

from chatserver.domain.errors import Unavailable

Receive = Callable[[], Awaitable[Mapping[str, Any]]]
"""An ASGI `receive`: the request's next message (its body, then `http.disconnect`)."""

MAX_WAITING = 1000
"""Writes waiting at most, by default (CHAT_WRITE_QUEUE_MAX)."""
MAX_WAIT = 5.0
"""Seconds a write waits at most, by default (CHAT_WRITE_WAIT_MAX)."""


class Overloaded(Unavailable):
    """Too many writes wait, or this one waited too long: nothing of it was written."""


class ClientGone(Unavailable):
    """The request's client disconnected before its write began: it was not run. Nobody
    reads the answer; the code says what happened in the server's request log."""


class Client:
    """An HTTP request's client, as much as its waiting writes need to know: whether it
    has disconnected. `with Client(receive):` around the request's work.

    The ASGI server says so only through `receive` (an `http.disconnect` message), so a
    listener awaits it, and only once a write has to wait: a request that never waits
    pays for an object, not a task. The listener ends with the response (the server then
    answers `receive` with `http.disconnect` too), or when the block is left.
    """

    __slots__ = ("_listener", "_receive", "_token", "gone")

    def __init__(self, receive: Receive) -> None:
        self._receive: Receive | None = receive
        self._listener: asyncio.Task[None] | None = None
        self._token: contextvars.Token[Client | None] | None = None
        self.gone = False

    def __enter__(self) -> Client:
        self._token = _client.set(self)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _client.reset(self._token)
        if self._listener is not None:
            self._listener.cancel()
        # A task started during the request (which copied the context) outlives it: its
        # writes are not the client's.
        self._receive = None
        self.gone = False

    def watch(self) -> None:
        """Start listening for the disconnect (a write is about to wait)."""
        if self._listener is None and self._receive is not None:
            self._listener = asyncio.get_running_loop().create_task(
                self._listen(self._receive), name="http-disconnect"
            )

    async def _listen(self, receive: Receive) -> None:
        # The body has been read: what comes now is the disconnect (or the response's end).
        while (await receive())["type"] != "http.disconnect":
            pass
        self.gone = True


_client: contextvars.ContextVar[Client | None] = contextvars.ContextVar(
    "write_client", default=None
)


class WriteQueue:
    """The node's count of waiting writes and their bounds; one per `Database`."""

    __slots__ = ("max_wait", "max_waiting", "refused", "waiting")

    def __init__(self, max_waiting: int = MAX_WAITING, max_wait: float = MAX_WAIT) -> None:
        self.max_waiting = max_waiting
        self.max_wait = max_wait
        self.waiting = 0
        """Writes waiting now: for the lock (SQLite), or in the group commit's queue."""
        self.refused = 0
        """Writes refused or skipped so far (for tests and stats)."""

    def enter(self, watch: bool = True) -> Client | None:
        """Count one more waiting write, or refuse it when `max_waiting` already wait.
        Returns the HTTP client it is for (None over the WebSocket), watched if `watch`
        (the write will wait)."""
        if self.waiting >= self.max_waiting:
            raise self.overloaded()
        self.waiting += 1
        client = _client.get()
        if client is not None and watch:
            client.watch()
        return client

    def overloaded(self) -> Overloaded:
        self.refused += 1
        return Overloaded("the server is overloaded: too many writes are waiting; retry shortly")

    def gone(self) -> ClientGone:
        self.refused += 1
        return ClientGone("the client went away while its request waited; it was not run")


class QueuedLock:
    """SQLite's write lock, entered through the queue: `async with` it around a write.

    With `bounded`, a write is refused when too many wait, after `max_wait` seconds, or
    when its client has gone by its turn. Without, it waits as long as it takes but is
    still counted: the group commit's batch, whose sends were bounded while they queued.
    """

    __slots__ = ("_bounded", "_lock", "_queue")

    def __init__(self, lock: asyncio.Lock, queue: WriteQueue, bounded: bool) -> None:
        self._lock = lock
        self._queue = queue
        self._bounded = bounded

    async def __aenter__(self) -> None:
        lock, queue = self._lock, self._queue
        if not queue.waiting and not lock.locked():
            # Nobody waits (every waiter is counted): the lock is taken without a pause.
            await lock.acquire()
            return
        if not self._bounded:
            queue.waiting += 1
            try:
                await lock.acquire()
            finally:
                queue.waiting -= 1
            return
        client = queue.enter(watch=lock.locked())
        try:
            async with asyncio.timeout(queue.max_wait):
                await lock.acquire()
        except TimeoutError:
            raise queue.overloaded() from None
        finally:
            queue.waiting -= 1
        if client is not None and client.gone:
            lock.release()
            raise queue.gone()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._lock.release()
