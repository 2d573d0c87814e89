"""Users and login tokens."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain.errors import Conflict
from chatserver.domain.models import DmPolicy, Level, Role, User
from chatserver.store.driver import Prepared
from chatserver.store.tables import AnyRow, password_resets, tokens, users
from chatserver.store.unique import insert_unique

USER_COLUMNS = (
    users.c.id,
    users.c.username,
    users.c.display_name,
    users.c.role,
    users.c.region,
    users.c.dm_policy,
    users.c.expires_at_ms,
    users.c.avatar,
)
"""In `User`'s field order: the hot reads (`user_for_token`, `store/ready.py`) build a
User from a row's first columns by position."""


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
        expires_at_ms=row.expires_at_ms,
        avatar=row.avatar,
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
        expires_at_ms=row.author_expires_at_ms,
        avatar=row.author_avatar,
    )


async def count_users(conn: AsyncConnection) -> int:
    """Accounts but guests: a visitor first on an empty server does not make the first
    registration a student's instead of the admin's."""
    query = select(func.count()).select_from(users).where(users.c.role != "guest")
    return int((await conn.execute(query)).scalar_one())


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


_GET_USER = select(*USER_COLUMNS).where(users.c.id == bindparam("user_id"))
_NOTIFY_DEFAULT = select(users.c.notify_default).where(users.c.id == bindparam("user_id"))
"""Built once: every `hello` runs them (see `store/rooms.py` on the cost of building)."""


async def get_user(conn: AsyncConnection, user_id: int) -> User | None:
    row = (await conn.execute(_GET_USER, {"user_id": user_id})).first()
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
            ),
            users.c.deleted_at_ms.is_(None),
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
    value = (await conn.execute(_NOTIFY_DEFAULT, {"user_id": user_id})).scalar_one()
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


_USER_FOR_TOKEN = Prepared(
    select(*USER_COLUMNS, tokens.c.id)
    .join(tokens, tokens.c.user_id == users.c.id)
    .where(
        tokens.c.token_hash == bindparam("token_hash"),
        tokens.c.expires_at_ms > bindparam("now"),
        users.c.deactivated_at_ms.is_(None),
        or_(users.c.expires_at_ms.is_(None), users.c.expires_at_ms > bindparam("now")),
    )
)
"""Through the driver (`store/driver.py`): every `hello` and every authenticated HTTP
request runs it."""


async def user_for_token(
    conn: AsyncConnection, token_hash: str, now: int
) -> tuple[User, int] | None:
    """The token's user and token id, unless the token is unknown or expired."""
    for row in await _USER_FOR_TOKEN.rows(conn, token_hash=token_hash, now=now):
        return User(*row[: len(USER_COLUMNS)]), int(row[len(USER_COLUMNS)])
    return None


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


# -- account lifecycle: deactivation, deletion, password changes and reset links ---------

DELETED_PREFIX = "deleted-"
"""A deleted account's username is this prefix and its id; registration refuses it."""

GUEST_PREFIX = "guest-"
"""A guest's username is this prefix and random letters; registration refuses it."""

UNUSABLE_HASH = "!"
"""A password hash no password verifies against (it is not an argon2 hash at all)."""


async def password_hash_of(conn: AsyncConnection, user_id: int) -> str | None:
    """The stored hash of an account that may log in (not deactivated or deleted)."""
    found: str | None = (
        await conn.execute(
            select(users.c.password_hash).where(
                users.c.id == user_id, users.c.deactivated_at_ms.is_(None)
            )
        )
    ).scalar_one_or_none()
    return found


async def is_deactivated(conn: AsyncConnection, user_id: int) -> bool:
    at = (
        await conn.execute(select(users.c.deactivated_at_ms).where(users.c.id == user_id))
    ).scalar_one_or_none()
    return at is not None


async def live_user_by_name(conn: AsyncConnection, username: str) -> User | None:
    """A user by name, unless the account was deleted."""
    row = (
        await conn.execute(
            select(*USER_COLUMNS).where(
                users.c.username == username, users.c.deleted_at_ms.is_(None)
            )
        )
    ).first()
    return user_from_row(row) if row else None


async def live_user(conn: AsyncConnection, user_id: int) -> User | None:
    """A user by id, unless the account was deleted."""
    row = (
        await conn.execute(
            select(*USER_COLUMNS).where(users.c.id == user_id, users.c.deleted_at_ms.is_(None))
        )
    ).first()
    return user_from_row(row) if row else None


async def set_deactivated(conn: AsyncConnection, user_id: int, at: int | None) -> None:
    await conn.execute(update(users).where(users.c.id == user_id).values(deactivated_at_ms=at))


async def delete_tokens(conn: AsyncConnection, user_id: int, keep: int = 0) -> None:
    """Every token of the user but `keep` (0 keeps none)."""
    await conn.execute(delete(tokens).where(tokens.c.user_id == user_id, tokens.c.id != keep))


async def anonymise(conn: AsyncConnection, user_id: int, now: int) -> User:
    """Turn the row into a deleted account's: the author its messages keep, nothing more."""
    values = {
        "username": f"{DELETED_PREFIX}{user_id}",
        "display_name": "Deleted user",
        "password_hash": UNUSABLE_HASH,
        "region": None,
        "bio": None,
        "pronouns": None,
        "avatar": None,
        "dm_policy": "friends",
        "notify_default": "none",
        "deactivated_at_ms": now,
        "deleted_at_ms": now,
    }
    await conn.execute(update(users).where(users.c.id == user_id).values(**values))
    user = await get_user(conn, user_id)
    assert user is not None
    return user


async def standing(conn: AsyncConnection, user_ids: Iterable[int], now: int) -> dict[int, Role]:
    """The role of each of these users whose account is still active (a guest's ends
    at its `expires_at_ms`)."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = await conn.execute(
        select(users.c.id, users.c.role).where(
            users.c.id.in_(ids),
            users.c.deactivated_at_ms.is_(None),
            or_(users.c.expires_at_ms.is_(None), users.c.expires_at_ms > now),
        )
    )
    return {row.id: row.role for row in rows}


async def existing_tokens(conn: AsyncConnection, token_ids: Iterable[int]) -> set[int]:
    """Those of `token_ids` that were not revoked."""
    ids = list(set(token_ids))
    if not ids:
        return set()
    rows = await conn.execute(select(tokens.c.id).where(tokens.c.id.in_(ids)))
    return {row.id for row in rows}


async def add_password_reset(
    conn: AsyncConnection, user_id: int, token_hash: str, now: int, expires: int
) -> None:
    await conn.execute(
        insert(password_resets).values(
            user_id=user_id, token_hash=token_hash, created_at_ms=now, expires_at_ms=expires
        )
    )


async def take_password_reset(conn: AsyncConnection, token_hash: str, now: int) -> int | None:
    """The user a valid reset link is for, consuming the link (and their others)."""
    row = (
        await conn.execute(
            select(password_resets.c.user_id).where(
                password_resets.c.token_hash == token_hash,
                password_resets.c.expires_at_ms > now,
            )
        )
    ).first()
    if row is None:
        return None
    done = await conn.execute(
        delete(password_resets).where(password_resets.c.token_hash == token_hash)
    )
    if done.rowcount != 1:  # a concurrent use consumed it first
        return None
    await delete_password_resets(conn, row.user_id)
    return int(row.user_id)


async def delete_password_resets(conn: AsyncConnection, user_id: int) -> None:
    await conn.execute(delete(password_resets).where(password_resets.c.user_id == user_id))
