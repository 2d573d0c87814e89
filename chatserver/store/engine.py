"""Database: the async engine, SQLite tuning, and the write/read transaction scopes."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from typing import Any, Literal, TypeVar, get_args

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from chatserver.domain.errors import Unavailable
from chatserver.store import inloop_sqlite, search_index
from chatserver.store.group_commit import GroupCommit
from chatserver.store.write_queue import MAX_WAIT, MAX_WAITING, QueuedLock, WriteQueue

T = TypeVar("T")
TransactionObserver = Callable[[Literal["read", "write"], float], None]
"""Told how long each transaction stayed open (the server's metrics)."""
Synchronous = Literal["full", "normal"]
SYNCHRONOUS_LEVELS: tuple[Synchronous, ...] = get_args(Synchronous)


class Database:
    """One engine per node, and the only place that opens transactions.

    SQLite allows one writer at a time; rather than letting connections race for
    the file lock (and time out under load), writes queue on an in-process lock
    and reads run concurrently thanks to WAL. PostgreSQL needs no such lock: the
    row lock on `rooms.last_seq` serialises writers of one room.

    Both group-commit message sends (`write_shared`, `store/group_commit.py`): SQLite
    one batch at a time, PostgreSQL up to half the pool's connections' worth at once.
    The writes waiting for the lock or in the group commit's queue are bounded in number
    (`max_waiting`) and in time (`max_wait`), past which they are refused with
    `unavailable` before they begin (`store/write_queue.py`).

    `synchronous` is SQLite's: with `full` (the default) a commit returns once it is on
    the disk, so nothing acknowledged is lost to a power cut or a kernel crash; with
    `normal`, in WAL mode, the last commits before such a crash may be lost (a crash of
    the server process alone loses nothing either way). Group commit makes `full`
    cheap: one sync per batch of sends (docs/benchmarks.md, "Durability").
    """

    def __init__(
        self,
        url: str,
        pool_size: int = 10,
        observe: TransactionObserver | None = None,
        synchronous: Synchronous = "full",
        pool_timeout: float = 10.0,
        max_waiting: int = MAX_WAITING,
        max_wait: float = MAX_WAIT,
    ) -> None:
        if synchronous not in SYNCHRONOUS_LEVELS:
            raise ValueError(f"synchronous is one of {SYNCHRONOUS_LEVELS}, not {synchronous!r}")
        self.url = url
        self._observe = observe
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            # A synced commit waits for the disk: not on the loop.
            kwargs["async_creator"] = inloop_sqlite.creator(url, synchronous == "full")
        else:
            kwargs.update(
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                pool_timeout=pool_timeout,
                connect_args={"timeout": 5},
            )
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        self.write_queue = WriteQueue(max_waiting, max_wait)
        lock = asyncio.Lock()
        self._write_lock = QueuedLock(lock, self.write_queue, bounded=True)
        self._batch_lock = QueuedLock(lock, self.write_queue, bounded=False)
        path = inloop_sqlite.database_path(url) if self.is_sqlite else ":memory:"
        # PostgreSQL, and an in-memory SQLite database, have no WAL file to fold in.
        self._checkpointer = None if path == ":memory:" else inloop_sqlite.Checkpointer(path)
        self.group_commit = GroupCommit(
            partial(self.write, bounded=False),
            drainers=1 if self.is_sqlite else max(1, pool_size // 2),
            queue=self.write_queue,
        )
        if self.is_sqlite:
            pragmas = partial(_sqlite_pragmas, synchronous.upper())
            event.listen(self.engine.sync_engine, "connect", pragmas)

    @asynccontextmanager
    async def write(self, bounded: bool = True) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits when the block exits without an exception.

        On SQLite, `unavailable` when the write would wait beyond the queue's bounds;
        `bounded=False` is the group commit's, whose sends were bounded as they queued."""
        with self._guarded("write"):
            if not self.is_sqlite:
                async with self.engine.begin() as conn:
                    yield conn
            else:
                # The search index's rows are inserted at the end (see there).
                async with (
                    self._write_lock if bounded else self._batch_lock,
                    self.engine.begin() as conn,
                    search_index.rows_at_commit(conn),
                ):
                    yield conn

    async def write_shared(
        self, work: Callable[[AsyncConnection], Awaitable[T]], room_id: int | None = None
    ) -> T:
        """`work` in a transaction that concurrent callers may share (group commit, see
        `store/group_commit.py`); `work` may run twice and must only touch `conn`.
        Returns after the commit.

        On PostgreSQL, `room_id` names the one room `work` writes in (whose seq row it
        locks): without it, `work` runs in a transaction of its own, since a batch could
        otherwise take two rooms' locks in another batch's opposite order.
        """
        if not self.is_sqlite and room_id is None:
            async with self.write() as conn:
                return await work(conn)
        return await self.group_commit.run(work, room_id or 0)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; nothing it does is committed.

        On SQLite the connection goes back to the pool as the block ends, not a loop
        turn later from a task of its own as `async with engine.connect()` does: under a
        burst of reads (a reconnect storm) the pool would otherwise find none idle, open
        overflow connections, each paying SQLite's pragmas and schema load, and close
        them again (a tenth of a storm's CPU). An in-loop SQLite connection closes
        without waiting, so a cancellation cannot cut the close short.
        """
        with self._guarded("read"):
            if self.is_sqlite:
                conn = await self.engine.connect()
                try:
                    yield conn
                finally:
                    await conn.close()
            else:
                async with self.engine.connect() as conn:
                    yield conn

    @contextmanager
    def _guarded(self, kind: Literal["read", "write"]) -> Iterator[None]:
        """Connection trouble becomes a retryable `unavailable`; the time is observed."""
        started = time.perf_counter()
        try:
            yield
        except DBAPIError as exc:
            if _is_connection_problem(exc):
                raise Unavailable("the database is unavailable, try again shortly") from exc
            raise
        except (OSError, PoolTimeout) as exc:
            raise Unavailable("the database is unavailable, try again shortly") from exc
        finally:
            if self._observe is not None:
                self._observe(kind, time.perf_counter() - started)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    async def checkpoint(self) -> None:
        """SQLite: fold the write-ahead log into the database file, off the loop."""
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.run)

    async def close(self) -> None:
        await self.engine.dispose()
        if self._checkpointer is not None:
            with contextlib.suppress(sqlite3.Error):
                await self.checkpoint()
            self._checkpointer.close()


def _is_connection_problem(exc: DBAPIError) -> bool:
    """Connection trouble is a retryable 503; integrity errors are bugs to surface."""
    return exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError))


def _sqlite_pragmas(synchronous: str, dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA synchronous={synchronous}")  # FULL or NORMAL: checked above
    cursor.execute(f"PRAGMA busy_timeout={inloop_sqlite.BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA wal_autocheckpoint=0")  # Database.checkpoint does it off the loop
    # Deleted text is overwritten in the file, not left in free pages (deleted means gone).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()
