"""The Alembic migrations build exactly the schema the code describes, on SQLite and PostgreSQL,
so `chatserver migrate` on a real database gives the server the tables it expects."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from chatserver.store.migrate import current_revision, upgrade
from chatserver.store.search_index import ENGINE_MANAGED_PREFIX
from chatserver.store.tables import metadata
from tests.integration.conftest import unavailable

POSTGRES_URL = os.environ.get(
    "CHAT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def _described(name: str | None, kind: str, parents: Any) -> bool:
    """What `tables.py` describes: not the search index, made by its migration alone."""
    return not (kind == "table" and (name or "").startswith(ENGINE_MANAGED_PREFIX))


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": _described}
    )
    return list(compare_metadata(context, metadata))


async def schema_differences(url: str) -> list[Any]:
    """Migrate `url` to head, then what autogenerate would still want to change."""
    await upgrade(url)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_differences)
    finally:
        await engine.dispose()


async def test_sqlite_migrations_match_the_models(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    assert await schema_differences(url) == []
    head = await current_revision(url)
    assert head is not None
    # Migrating again is a no-op, as every `chatserver serve` start does it.
    assert await schema_differences(url) == []
    assert await current_revision(url) == head


@pytest.fixture
async def fresh_postgres() -> AsyncIterator[str]:
    """A uniquely named, empty PostgreSQL database for one test, dropped afterwards."""
    url = make_url(POSTGRES_URL)
    params = {
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username or "postgres",
        "password": url.password,
    }
    try:
        admin = await asyncpg.connect(database="postgres", timeout=3, **params)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        unavailable(f"PostgreSQL at {url.host}:{url.port} is unreachable: {exc}")
    name = f"chat_migrations_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.mark.postgres
async def test_postgresql_migrations_match_the_models(fresh_postgres: str) -> None:
    assert await schema_differences(fresh_postgres) == []
    assert await current_revision(fresh_postgres) is not None
    assert await schema_differences(fresh_postgres) == []
