"""Group commit: the message sends that arrive together share one SQLite transaction.

On SQLite every write already waits for the one process-wide write lock, and a
transaction of its own costs a message ~110–130 µs of CPU (BEGIN, COMMIT, the lock and
SQLAlchemy's transaction objects; `benchmarks/transaction_cost.py`), about an eighth of
all it costs the server. Sends that arrive in the same loop iteration are therefore run
one after the other in one transaction and committed once; each caller gets its result
only after that commit, so nothing is acknowledged before it is durable.

There is no savepoint per send: one costs as much as the transaction it would save. If
any send in a batch fails, for whatever reason, the batch is rolled back and every send
in it is run again in a transaction of its own, so one failure reaches only its sender
and every other result is exactly what it would have been alone. A send is a function of
the connection, not a block of code, so that it can be run twice.

PostgreSQL does not use this: there, writers to different rooms run in parallel, and a
shared transaction would hold several rooms' row locks at once (and could deadlock with
another node's batch).
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
    def __init__(self, transaction: OpenTransaction, max_batch: int = MAX_BATCH) -> None:
        self._transaction = transaction
        self._max_batch = max_batch
        self._pending: deque[tuple[Work, asyncio.Future[Any]]] = deque()
        self._drainer: asyncio.Task[None] | None = None
        self.batches = 0
        """Transactions committed with more than one send in them (for tests and stats)."""

    async def run(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run `work` in a transaction, possibly shared; return once it is committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((work, future))
        if self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(
                self._drain(), name="group-commit"
            )
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[Work, asyncio.Future[Any]]] = []
        try:
            while self._pending:
                batch = [self._pending.popleft() for _ in range(self._max_batch) if self._pending]
                await self._commit(batch)
                batch = []
        finally:
            self._drainer = None
            # Only reached with work left if this task was cancelled (shutdown).
            for _, future in [*batch, *self._pending]:
                if not future.done():
                    future.set_exception(Unavailable("the server is shutting down"))
            self._pending.clear()

    async def _commit(self, batch: list[tuple[Work, asyncio.Future[Any]]]) -> None:
        if len(batch) == 1:
            await self._alone(*batch[0])
            return
        results = []
        try:
            async with self._transaction() as conn:
                for work, _ in batch:
                    results.append(await work(conn))
        except Exception:  # rolled back: each send again, on its own
            for work, future in batch:
                await self._alone(work, future)
            return
        self.batches += 1
        for (_, future), result in zip(batch, results, strict=True):
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
