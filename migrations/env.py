"""Alembic environment: migrates the database named by CHAT_DATABASE_URL (or the caller)."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from chatserver.settings import DEFAULT_DATABASE_URL
from chatserver.store.tables import metadata

config = context.config


def _url() -> str:
    return (
        config.get_main_option("sqlalchemy.url")
        or os.environ.get("CHAT_DATABASE_URL")
        or DEFAULT_DATABASE_URL
    )


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        # SQLite cannot ALTER most things in place; batch mode copies the table.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url())
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)  # `chatserver migrate` passes a connection holding the migration lock
    else:
        asyncio.run(_run_async())
