"""SQLite on the event loop's own thread, behind SQLAlchemy's aiosqlite dialect.

aiosqlite runs every call on a helper thread: creating a cursor, executing, fetching
and closing are four round trips, each a queue put, a thread wake-up and a
`call_soon_threadsafe` back to the loop. A message send runs about nine statements,
so ~36 round trips, which cost more CPU than SQLite itself (a statement on an
indexed, WAL-mode local file takes tens of microseconds). This module hands
SQLAlchemy's aiosqlite adapter (through `create_async_engine(async_creator=...)`) a
connection with aiosqlite's interface whose coroutines run `sqlite3` directly and
complete without suspending. The exceptions are sqlite3's, as aiosqlite's are.

The price is that a statement blocks the loop while it runs, so everything that can
be slow must stay bounded: queries are indexed and paged, and the busy timeout is
short (`BUSY_TIMEOUT_MS`) because within one process writes already queue on the
database's lock; only another process (a CLI command writing while the server runs)
can make SQLite wait, and that wait is retried off the loop (`execute` below).

The other wait is the disk's: with `synchronous=FULL` a commit returns only once the
write-ahead log is synced, which takes from a tenth of a millisecond to tens on a busy
disk. Such commits run on a helper thread (`commit_off_loop`), so that the loop serves
everyone else meanwhile; the writer's transaction, and the write lock, are held until
the sync is done, as they must be.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from sqlalchemy.engine import make_url

BUSY_TIMEOUT_MS = 50
"""How long a statement may block the loop waiting for another process's lock."""

BUSY_RETRY_SECONDS = 10.0
"""How long a locked statement is retried on a helper thread before it fails."""


async def _run(call: Callable[..., Any], *args: Any, off_loop: bool = False) -> Any:
    """Run a sqlite3 call now (or, `off_loop`, on a helper thread); if another process
    holds the lock, wait for it on a helper thread so that the loop keeps serving
    everyone else."""
    if not off_loop:
        try:
            return call(*args)
        except sqlite3.OperationalError as exc:
            if not _worth_waiting(exc):
                raise
    deadline = asyncio.get_running_loop().time() + BUSY_RETRY_SECONDS
    while True:
        try:
            return await _in_thread(call, *args)
        except sqlite3.OperationalError as exc:
            if not _worth_waiting(exc) or asyncio.get_running_loop().time() > deadline:
                raise


async def _in_thread(call: Callable[..., Any], *args: Any) -> Any:
    """`call` on a helper thread. A caller cancelled meanwhile still waits for the call
    to end before it unwinds: its connection must not be used (rolled back, closed)
    while the thread is still inside it."""
    done = asyncio.ensure_future(asyncio.to_thread(call, *args))
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        await asyncio.wait([done])
        raise


def _worth_waiting(exc: sqlite3.OperationalError) -> bool:
    """Busy means another process holds the lock: it will let go. A stale snapshot
    (another process wrote since this transaction read) never heals by waiting."""
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    if code is None or code == sqlite3.SQLITE_BUSY_SNAPSHOT:
        return False
    return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class Cursor:
    """aiosqlite's cursor interface over a `sqlite3.Cursor`, without a thread."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        await _run(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Cursor:
        await _run(self._cursor.executemany, sql, parameters)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _ImmediateQueue:
    """SQLAlchemy sets the isolation level by queueing a call on aiosqlite's thread
    (`_tx`); here there is no thread, so the call runs at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # handed back to the awaiting caller
            future.set_exception(exc)


class Connection:
    """aiosqlite's connection interface over a `sqlite3.Connection`, without a thread."""

    def __init__(self, conn: sqlite3.Connection, commit_off_loop: bool = False) -> None:
        self._conn = conn
        self._connection: sqlite3.Connection | None = conn  # SQLAlchemy checks it is open
        self._tx = _ImmediateQueue()
        self._commit_off_loop = commit_off_loop

    def cursor(self) -> Cursor:
        """A cursor, used by the adapter as `async with`."""
        return Cursor(self._conn.cursor())

    async def rows(self, sql: str, parameters: Sequence[Any]) -> list[Any]:
        """A read's rows, for `store/driver.py`: one sqlite3 call, no cursor of ours."""
        cursor: sqlite3.Cursor = await _run(self._conn.execute, sql, parameters)
        return cursor.fetchall()

    async def commit(self) -> None:
        await _run(self._conn.commit, off_loop=self._commit_off_loop)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Forced close, for a connection SQLAlchemy invalidates outside the loop."""
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def set_trace_callback(self, handler: Callable[[str], object] | None) -> None:
        """Every statement's SQL to `handler`, on the thread that runs it (as aiosqlite)."""
        self._conn.set_trace_callback(handler)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level


def database_path(url: str) -> str:
    return make_url(url).database or ":memory:"


def creator(url: str, commit_off_loop: bool = False) -> Callable[[], Awaitable[Connection]]:
    """The `async_creator` for `create_async_engine`: connections to the URL's file,
    committing on a helper thread when a commit waits for the disk (`synchronous=FULL`)."""
    database = database_path(url)

    async def connect() -> Connection:
        # check_same_thread off: a write that waits for another process's lock, and a
        # commit that waits for the disk, finish on a helper thread (see `_run`).
        conn = sqlite3.connect(database, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        return Connection(conn, commit_off_loop)

    return connect


class Checkpointer:
    """Copies the write-ahead log back into the database file, on a helper thread.

    SQLite does this by itself on the commit that finds the log over 1,000 pages, which
    here would be on the event loop: copying megabytes there stalls every socket for
    milliseconds. The server's connections turn that off (`wal_autocheckpoint=0`) and
    this runs a PASSIVE checkpoint, which never waits for readers or writers, every
    second and at shutdown."""

    def __init__(self, database: str) -> None:
        self._database = database
        self._conn: sqlite3.Connection | None = None

    def run(self) -> None:
        if self._conn is None:
            self._conn = sqlite3.connect(
                self._database, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
