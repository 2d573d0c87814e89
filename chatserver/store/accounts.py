"""Users and login tokens."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.errors import Conflict
from chatserver.domain.models import DmPolicy, Level, Role, User
from chatserver.store.tables import AnyRow, tokens, users
from chatserver.store.unique import insert_unique

USER_COLUMNS = (
    users.c.id,
    users.c.username,
    users.c.display_name,
    users.c.role,
    users.c.region,
    users.c.dm_policy,
)


AUTHOR_COLUMNS = tuple(column.label(f"author_{column.name}") for column in USER_COLUMNS)
"""The user columns under `author_` names, for rows that join users to messages."""


def user_from_row(row: AnyRow) -> User:
    """A User from a row that selected USER_COLUMNS (among others), by column name."""
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        region=row.region,
        dm_policy=row.dm_policy,
    )


def author_from_row(row: AnyRow) -> User:
    """A message's author from a row that selected AUTHOR_COLUMNS."""
    return User(
        id=row.author_id,
        username=row.author_username,
        display_name=row.author_display_name,
        role=row.author_role,
        region=row.author_region,
        dm_policy=row.author_dm_policy,
    )


async def count_users(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(users))).scalar_one())


async def create_user(
    conn: AsyncConnection,
    *,
    username: str,
    display_name: str,
    password_hash: str,
    role: Role,
    now: int,
) -> User:
    """Insert a user; a taken username (already folded to lower case) is a Conflict."""
    result = await insert_unique(
        conn,
        insert(users)
        .values(
            username=username,
            display_name=display_name,
            password_hash=password_hash,
            role=role,
            created_at_ms=now,
        )
        .returning(users.c.id),
    )
    if result is None:
        raise Conflict(f"the username {username!r} is taken")
    return User(id=result.scalar_one(), username=username, display_name=display_name, role=role)


async def get_user(conn: AsyncConnection, user_id: int) -> User | None:
    row = (await conn.execute(select(*USER_COLUMNS).where(users.c.id == user_id))).first()
    return user_from_row(row) if row else None


async def get_users(conn: AsyncConnection, user_ids: Iterable[int]) -> dict[int, User]:
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = await conn.execute(select(*USER_COLUMNS).where(users.c.id.in_(ids)))
    return {row.id: user_from_row(row) for row in rows}


async def get_user_by_name(conn: AsyncConnection, username: str) -> User | None:
    row = (await conn.execute(select(*USER_COLUMNS).where(users.c.username == username))).first()
    return user_from_row(row) if row else None


async def get_credentials(conn: AsyncConnection, username: str) -> tuple[User, str] | None:
    row = (
        await conn.execute(
            select(*USER_COLUMNS, users.c.password_hash).where(users.c.username == username)
        )
    ).first()
    if row is None:
        return None
    return user_from_row(row), row.password_hash


async def set_password_hash(conn: AsyncConnection, user_id: int, password_hash: str) -> None:
    await conn.execute(
        update(users).where(users.c.id == user_id).values(password_hash=password_hash)
    )


async def search_users(conn: AsyncConnection, query: str, limit: int) -> list[User]:
    """Prefix search on username and display name, usernames first."""
    pattern = _escape_like(query.lower()) + "%"
    rows = await conn.execute(
        select(*USER_COLUMNS)
        .where(
            or_(
                users.c.username.like(pattern, escape="\\"),
                func.lower(users.c.display_name).like(pattern, escape="\\"),
            )
        )
        .order_by(users.c.username)
        .limit(limit)
    )
    return [user_from_row(row) for row in rows]


async def update_profile(
    conn: AsyncConnection, user_id: int, changes: dict[str, str | None]
) -> None:
    if changes:
        await conn.execute(update(users).where(users.c.id == user_id).values(**changes))


async def set_role(conn: AsyncConnection, user_id: int, role: Role) -> None:
    await conn.execute(update(users).where(users.c.id == user_id).values(role=role))


async def get_notify_default(conn: AsyncConnection, user_id: int) -> Level:
    value = (
        await conn.execute(select(users.c.notify_default).where(users.c.id == user_id))
    ).scalar_one()
    return value  # type: ignore[no-any-return]


async def set_notify_default(conn: AsyncConnection, user_id: int, level: Level) -> None:
    await conn.execute(update(users).where(users.c.id == user_id).values(notify_default=level))


async def get_dm_policy(conn: AsyncConnection, user_id: int) -> DmPolicy:
    value = (
        await conn.execute(select(users.c.dm_policy).where(users.c.id == user_id))
    ).scalar_one()
    return value  # type: ignore[no-any-return]


async def add_token(
    conn: AsyncConnection, user_id: int, token_hash: str, now: int, expires: int
) -> int:
    result = await conn.execute(
        insert(tokens)
        .values(user_id=user_id, token_hash=token_hash, created_at_ms=now, expires_at_ms=expires)
        .returning(tokens.c.id)
    )
    return int(result.scalar_one())


async def user_for_token(
    conn: AsyncConnection, token_hash: str, now: int
) -> tuple[User, int] | None:
    """The token's user and token id, unless the token is unknown or expired."""
    row = (
        await conn.execute(
            select(*USER_COLUMNS, tokens.c.id.label("token_id"))
            .join(tokens, tokens.c.user_id == users.c.id)
            .where(tokens.c.token_hash == token_hash, tokens.c.expires_at_ms > now)
        )
    ).first()
    if row is None:
        return None
    return user_from_row(row), int(row.token_id)


async def delete_token(conn: AsyncConnection, token_id: int) -> None:
    await conn.execute(delete(tokens).where(tokens.c.id == token_id))


_BY_NAMES = select(*USER_COLUMNS).where(  # built once: every mention looks names up
    users.c.username.in_(bindparam("names", expanding=True))
)


async def users_by_names(conn: AsyncConnection, usernames: Sequence[str]) -> dict[str, User]:
    if not usernames:
        return {}
    rows = await conn.execute(_BY_NAMES, {"names": list(usernames)})
    return {row.username: user_from_row(row) for row in rows}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
