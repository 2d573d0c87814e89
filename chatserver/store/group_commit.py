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
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.errors import Unavailable

T = TypeVar("T")
Work = Callable[[AsyncConnection], Awaitable[Any]]
OpenTransaction = Callable[[], AbstractAsyncContextManager[AsyncConnection]]

MAX_BATCH = 64
"""Sends per transaction at most: bounds how long one commit holds the others back."""


class GroupCommit:
    def __init__(
        self, transaction: OpenTransaction, max_batch: int = MAX_BATCH, drainers: int = 1
    ) -> None:
        self._transaction = transaction
        self._max_batch = max_batch
        self._max_drainers = drainers
        self._pending: deque[tuple[int, Work, asyncio.Future[Any]]] = deque()
        self._drainers: set[asyncio.Task[None]] = set()
        self.batches = 0
        """Transactions committed with more than one send in them (for tests and stats)."""
        self.retried = 0
        """Batches rolled back and run again one send at a time (for tests and stats)."""

    async def run(self, work: Callable[[AsyncConnection], Awaitable[T]], key: int = 0) -> T:
        """Run `work` in a transaction, possibly shared; return once it is committed.
        `key` orders a batch: the room whose row `work` locks (see above)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((key, work, future))
        if len(self._drainers) < self._max_drainers:
            task = asyncio.get_running_loop().create_task(self._drain(), name="group-commit")
            self._drainers.add(task)
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[int, Work, asyncio.Future[Any]]] = []
        try:
            while self._pending:
                batch = [self._pending.popleft() for _ in range(self._max_batch) if self._pending]
                batch.sort(key=lambda item: item[0])  # stable: a room's sends keep their order
                await self._commit(batch)
                batch = []
        finally:
            task = asyncio.current_task()
            assert task is not None
            self._drainers.discard(task)
            # Only reached with work in hand if this task was cancelled (shutdown).
            left = [*batch, *self._pending] if not self._drainers else batch
            for _, _, future in left:
                if not future.done():
                    future.set_exception(Unavailable("the server is shutting down"))
            if not self._drainers:
                self._pending.clear()

    async def _commit(self, batch: list[tuple[int, Work, asyncio.Future[Any]]]) -> None:
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
