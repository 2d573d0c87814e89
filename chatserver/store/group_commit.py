"""Group commit: the message sends that arrive together share one transaction.

On SQLite every write already waits for the one process-wide write lock, and a
transaction of its own costs a message ~110–130 µs of CPU (BEGIN, COMMIT, the lock and
SQLAlchemy's transaction objects; `benchmarks/transaction_cost.py`), about an eighth of
all it costs the server. Sends that arrive in the same loop iteration are therefore run
one after the other in one transaction and committed once; each caller gets its result
only after that commit, so nothing is acknowledged before it is durable.

On PostgreSQL a transaction of its own costs a send more still: the pool's checkout and
its liveness ping, BEGIN and COMMIT are each a round trip, and each commit waits for its
own flush of the write-ahead log. There, several batches run at once (`drainers`), since
every statement waits for the server and one batch at a time would leave the pool idle;
a batch of one is simply a send on its own, so under light load nothing changes. A
shared transaction holds the row lock of every room it has written in until it commits:
to keep two batches (on this node or another) from each holding a room the other waits
for, a batch runs its sends in ascending order of their room (`key`), and so takes the
rooms' locks in one order everywhere. Sends of one room keep their arrival order.

There is no savepoint per send: one costs as much as the transaction it would save. If
any send in a batch fails, for whatever reason (on PostgreSQL an error also aborts the
rest of the transaction), the batch is rolled back and every send in it is run again in
a transaction of its own, so one failure reaches only its sender and every other result
is exactly what it would have been alone. A send is a function of the connection, not a
block of code, so that it can be run twice.

A send waits in the queue within the node's bounds on waiting writes
(`store/write_queue.py`): refused at once when too many wait, refused when it has waited
`max_wait` (one timer for the whole queue: the deadlines are in the queue's order), and
skipped when its batch is formed if its HTTP client has gone or its caller was
cancelled. Once in a batch it is no longer refused: the batch's transaction waits for
SQLite's lock as long as it takes.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.errors import Unavailable
from chatserver.store.write_queue import Client, WriteQueue

T = TypeVar("T")
Work = Callable[[AsyncConnection], Awaitable[Any]]
Entry = tuple[int, Work, "asyncio.Future[Any]"]
Queued = tuple[int, Work, "asyncio.Future[Any]", float, Client | None]
"""A send waiting: its key, work and future, when it stops waiting, and its HTTP client."""
OpenTransaction = Callable[[], AbstractAsyncContextManager[AsyncConnection]]

MAX_BATCH = 64
"""Sends per transaction at most: bounds how long one commit holds the others back."""


class GroupCommit:
    def __init__(
        self,
        transaction: OpenTransaction,
        max_batch: int = MAX_BATCH,
        drainers: int = 1,
        queue: WriteQueue | None = None,
    ) -> None:
        self._transaction = transaction
        self._max_batch = max_batch
        self._max_drainers = drainers
        self._queue = queue if queue is not None else WriteQueue()
        self._pending: deque[Queued] = deque()
        self._drainers: set[asyncio.Task[None]] = set()
        self._expiry: asyncio.TimerHandle | None = None
        self.batches = 0
        """Transactions committed with more than one send in them (for tests and stats)."""
        self.retried = 0
        """Batches rolled back and run again one send at a time (for tests and stats)."""

    async def run(self, work: Callable[[AsyncConnection], Awaitable[T]], key: int = 0) -> T:
        """Run `work` in a transaction, possibly shared; return once it is committed.
        `key` orders a batch: the room whose row `work` locks (see above)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        queue = self._queue
        idle = len(self._drainers) < self._max_drainers  # taken at once: nothing to watch
        client = queue.enter(watch=not idle)
        deadline = loop.time() + queue.max_wait
        self._pending.append((key, work, future, deadline, client))
        if self._expiry is None:
            self._expiry = loop.call_at(deadline, self._expire)
        if idle:
            task = loop.create_task(self._drain(), name="group-commit")
            self._drainers.add(task)
        return await future

    def _expire(self) -> None:
        """Refuse the sends at the head of the queue that have waited `max_wait`."""
        pending, queue = self._pending, self._queue
        loop = asyncio.get_running_loop()
        now = loop.time()
        while pending and pending[0][3] <= now:
            future = pending.popleft()[2]
            queue.waiting -= 1
            if not future.done():
                future.set_exception(queue.overloaded())
        self._expiry = loop.call_at(pending[0][3], self._expire) if pending else None

    def _take(self) -> list[Entry]:
        """The next batch: up to `max_batch` sends still wanted, in the order of their key
        (stable: a room's sends keep their order). The others are answered here."""
        pending, queue = self._pending, self._queue
        now = asyncio.get_running_loop().time()
        batch: list[Entry] = []
        while pending and len(batch) < self._max_batch:
            key, work, future, deadline, client = pending.popleft()
            queue.waiting -= 1
            if future.done():  # its caller was cancelled: nobody waits for it
                continue
            if now >= deadline:  # its timer is due in this very loop turn
                future.set_exception(queue.overloaded())
            elif client is not None and client.gone:
                future.set_exception(queue.gone())
            else:
                batch.append((key, work, future))
        batch.sort(key=lambda item: item[0])
        return batch

    async def _drain(self) -> None:
        batch: list[Entry] = []
        try:
            while self._pending:
                batch = self._take()
                if batch:
                    await self._commit(batch)
                batch = []
        finally:
            task = asyncio.current_task()
            assert task is not None
            self._drainers.discard(task)
            # Only reached with work in hand if this task was cancelled (shutdown).
            left = [*batch, *(item[:3] for item in self._pending)] if not self._drainers else batch
            for _, _, future in left:
                if not future.done():
                    future.set_exception(Unavailable("the server is shutting down"))
            if not self._drainers:
                self._queue.waiting -= len(self._pending)
                self._pending.clear()

    async def _commit(self, batch: list[Entry]) -> None:
        if len(batch) == 1:
            await self._alone(*batch[0][1:])
            return
        results = []
        try:
            async with self._transaction() as conn:
                for _, work, _ in batch:
                    results.append(await work(conn))
        except Exception:  # rolled back: each send again, on its own
            self.retried += 1
            for _, work, future in batch:
                await self._alone(work, future)
            return
        self.batches += 1
        for (_, _, future), result in zip(batch, results, strict=True):
            if not future.done():  # its caller may have gone away meanwhile
                future.set_result(result)

    async def _alone(self, work: Work, future: asyncio.Future[Any]) -> None:
        try:
            async with self._transaction() as conn:
                result = await work(conn)
        except Exception as exc:  # the caller's own error, raised in the caller
            if not future.done():
                future.set_exception(exc)
        else:
            if not future.done():
                future.set_result(result)
