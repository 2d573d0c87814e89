"""Hot reads straight through the database driver, past SQLAlchemy's execution.

Every `hello` and every authenticated request run a few reads whose SQL never changes
(the token lookup, the ready state, the rooms' last seqs, pins). Through
`AsyncConnection.execute` each pays, on top of what SQLite or PostgreSQL spend on it,
SQLAlchemy's own work: the statement's cache key (a walk of the whole statement, long
for the ready state's), the compiled-cache lookup, an execution context, parameter and
row processing, and greenlet switches around each driver call; on PostgreSQL also a
BEGIN and a ROLLBACK, each a round trip, around a lone read. A `Prepared` read is
compiled once per dialect (and per length of each list parameter) into its SQL text and
the order of its parameters; running it hands that text to the driver as it is (the
in-loop SQLite connection, `store/inloop_sqlite.py`; asyncpg's `fetch`, which keeps the
server-side prepared statement per connection) and returns the driver's rows.

For reads of plain columns only: nothing processes the rows, so a Boolean column comes
back from SQLite as 0 or 1 (the callers convert), and a read must not rely on type
conversions of SQLAlchemy's. A read runs in the connection's transaction if one was
begun, else on its own (PostgreSQL's READ COMMITTED gives each statement its own
snapshot either way). Connection trouble is reported as SQLAlchemy reports it, as an
`OperationalError` after the pooled connection is invalidated, so that `Database`
turns it into `unavailable` as for any other statement.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

Row = Sequence[Any]

_SCALAR, _ITEM, _CONSTANT = 0, 1, 2

_CONNECTION_TROUBLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    sqlite3.OperationalError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # the server is shutting down
    asyncpg.exceptions.InternalClientError,  # the connection dropped mid-statement
)
"""What the drivers raise when the database, not the statement, is the problem (the
errors SQLAlchemy reports as `OperationalError` or `InterfaceError`)."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """One compilation: the SQL text, and where each positional parameter comes from."""

    sql: str
    sources: tuple[tuple[int, str, Any], ...]
    """(kind, name, detail) per parameter: a caller's scalar `name`; item `detail` of the
    caller's list `name`; or the constant `detail` written in the statement."""

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        out = []
        for kind, name, detail in self.sources:
            if kind == _SCALAR:
                out.append(params[name])
            elif kind == _ITEM:
                out.append(params[name][detail])
            else:
                out.append(detail)
        return out


class Prepared:
    """A read statement, compiled once per dialect and shape, run by the driver."""

    __slots__ = ("_lists", "_plans", "_statement")

    def __init__(self, statement: Select[Any], lists: tuple[str, ...] = ()) -> None:
        """`lists` names the statement's expanding parameters (`IN` lists) the caller
        gives: there is one compilation per power of two of their lengths (a list is
        padded with its last item, which changes nothing to an `IN`)."""
        self._statement = statement
        self._lists = lists
        self._plans: dict[tuple[str, tuple[int, ...]], _Plan] = {}

    async def rows(self, conn: AsyncConnection, **params: Any) -> Sequence[Row]:
        """The rows, as the driver returns them (tuples, or asyncpg's records)."""
        for name in self._lists:
            params[name] = _padded(params[name])
        dialect = conn.dialect
        key = (dialect.name, tuple(len(params[name]) for name in self._lists))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._compile(dialect, params)
        args = plan.arguments(params)
        sync = conn.sync_connection
        if sync is None or sync.closed or sync.invalidated:
            raw = await conn.get_raw_connection()  # reconnects, or raises, as SQLAlchemy does
        else:
            raw = sync.connection  # an attribute of an open connection: no greenlet switch
        driver: Any = raw.driver_connection
        if sync is not None:
            announce = sync.dispatch.before_cursor_execute
            if announce:  # someone listens (statement tracing, counts): they see it too
                announce(sync, None, plan.sql, args, None, False)
        try:
            if dialect.name == "sqlite":
                rows: Sequence[Row] = await driver.rows(plan.sql, args)
            else:
                rows = await driver.fetch(plan.sql, *args)
        except _CONNECTION_TROUBLE as exc:
            if not isinstance(exc, sqlite3.OperationalError):  # SQLite's stays usable
                await conn.invalidate(exc)
            raise OperationalError(plan.sql, args, exc, hide_parameters=True) from exc
        return rows

    def _compile(self, dialect: Dialect, params: dict[str, Any]) -> _Plan:
        state = self._statement.compile(dialect=dialect).construct_expanded_state(params)
        items = {
            f"{name}_{at + 1}": (name, at)
            for name in self._lists
            for at in range(len(params[name]))
        }
        sources: list[tuple[int, str, Any]] = []
        for name in state.positiontup or ():
            if name in items:
                sources.append((_ITEM, *items[name]))
            elif name in params and name not in self._lists:
                sources.append((_SCALAR, name, None))
            else:
                sources.append((_CONSTANT, name, state.parameters[name]))
        plan = _Plan(state.statement, tuple(sources))
        # The names of a list's items are SQLAlchemy's to choose: check they were read right.
        if plan.arguments(params) != list(state.positional_parameters or ()):
            raise ValueError(f"cannot map the parameters of {state.statement!r}")
        return plan


def _padded(values: Sequence[Any]) -> Sequence[Any]:
    """`values` up to the next power of two, repeating the last: a few compilations of
    a list's statement serve every length (and SQLite's and asyncpg's statement caches
    hold a few statements, not one per length)."""
    count = len(values)
    if count & (count - 1) == 0:  # 0, 1, 2, 4, ...
        return values
    return [*values, *[values[-1]] * ((1 << count.bit_length()) - count)]
