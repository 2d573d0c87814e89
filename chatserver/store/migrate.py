"""Schema migrations, run from code: `chatserver migrate` and `chatserver serve`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from chatserver.store.engine import Database

# Any constant works; it only has to be the same for every node of a deployment.
MIGRATION_LOCK_ID = 726_345_901


def migrations_dir() -> Path:
    """Bundled in the wheel as chatserver/_migrations; `migrations/` in a source tree."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_migrations", here.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("the migrations folder is missing from this installation")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(url: str) -> None:
    """Bring the schema to the newest revision.

    On PostgreSQL the work happens under a transaction-scoped advisory lock, so
    several nodes starting at once migrate one after the other (the later ones
    find nothing to do) instead of racing on DDL.
    """
    db = Database(url, pool_size=1)
    try:
        async with db.engine.begin() as conn:
            if not db.is_sqlite:
                await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
            await conn.run_sync(_upgrade, alembic_config(url))
    finally:
        await db.close()


async def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    db = Database(url, pool_size=1)
    try:
        async with db.engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await db.close()


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
