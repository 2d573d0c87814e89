"""Accounts: registration, login, tokens, profiles and roles."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from msgspec import UNSET
from sqlalchemy.ext.asyncio import AsyncConnection

from chatserver.domain import text
from chatserver.domain.errors import BadRequest, Forbidden, NotFound, Unauthorized
from chatserver.domain.models import ROLES, Role, User, now_ms
from chatserver.protocol.envelope import RevokeToken, RoleChanged
from chatserver.protocol.requests import ProfileChanges
from chatserver.services import hashing
from chatserver.services.publisher import Publisher
from chatserver.store import accounts as store
from chatserver.store import audit
from chatserver.store.engine import Database

# Verified against when the username does not exist, so that a wrong username
# costs as much time as a wrong password and usernames cannot be probed.
_DUMMY_HASH = PasswordHasher().hash("not-a-real-password")


def hash_token(token: str) -> str:
    """Tokens are stored as SHA-256: they are random, so no salt or slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


Registration = Literal["open", "invite"]


@dataclass(frozen=True, slots=True)
class NewAccount:
    """A registration whose fields are checked and whose password is hashed: what is
    left is writing it, in whichever transaction the caller opens."""

    username: str
    display_name: str
    password_hash: str


class AccountService:
    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        token_ttl_days: int,
        registration: Registration = "open",
    ) -> None:
        self._db = db
        self._publisher = publisher
        self._hasher = PasswordHasher()  # argon2id with the library's RFC 9106 defaults
        self.token_ttl_ms = token_ttl_days * 86_400_000
        self.invite_only = registration == "invite"

    async def register(
        self, username: str, password: str, display_name: str | None = None
    ) -> tuple[User, str]:
        """Create an account and log it in. The first account on a server is the admin."""
        if self.invite_only:
            # Refused before the costly hash; `create_in` decides again in its transaction.
            async with self._db.read() as conn:
                self._check_open(await store.count_users(conn) == 0, admitted=False)
        account = await self.prepare(username, password, display_name)
        async with self._db.write() as conn:
            return await self.create_in(conn, account)

    async def prepare(self, username: str, password: str, display_name: str | None) -> NewAccount:
        """Check a registration's fields and hash its password (off the event loop)."""
        name = text.normalize_username(username)
        for prefix in (store.DELETED_PREFIX, store.GUEST_PREFIX):
            if name.startswith(prefix):
                raise BadRequest(f"usernames starting with {prefix!r} are reserved")
        secret = text.validate_password(password)
        shown = text.validate_display_name(display_name, fallback=name)
        return NewAccount(name, shown, await hashing.run(self._hasher.hash, secret))

    async def create_in(
        self, conn: AsyncConnection, account: NewAccount, *, admitted: bool = False
    ) -> tuple[User, str]:
        """Write the account and its first token in the caller's transaction.

        Under CHAT_REGISTRATION=invite only the first account (the admin, so that a new
        server can be set up from a browser) and `admitted` ones (a valid invite, or the
        operator's CLI) are created.
        """
        first = await store.count_users(conn) == 0
        self._check_open(first, admitted=admitted)
        user = await store.create_user(
            conn,
            username=account.username,
            display_name=account.display_name,
            password_hash=account.password_hash,
            role="admin" if first else "student",
            now=now_ms(),
        )
        token = await self._issue_token(conn, user.id)
        return user, token

    def _check_open(self, first: bool, *, admitted: bool) -> None:
        if self.invite_only and not first and not admitted:
            raise Forbidden("this server registers new accounts by invite only")

    async def create_user(self, username: str, password: str, role: Role) -> User:
        """For the CLI: create an account with a given role, no token."""
        if role not in ROLES:
            raise BadRequest(f"role must be one of {', '.join(ROLES)}")
        account = await self.prepare(username, password, None)
        async with self._db.write() as conn:
            user, _ = await self.create_in(conn, account, admitted=True)
        if user.role != role:
            await self.set_role(user.username, role)
        return User(user.id, user.username, user.display_name, role, user.region)

    async def set_role(self, username: str, role: Role) -> User:
        if role not in ROLES:
            raise BadRequest(f"role must be one of {', '.join(ROLES)}")
        async with self._db.write() as conn:
            user = await store.get_user_by_name(conn, username.lower())
            if user is None:
                raise NotFound(f"no user named {username!r}")
            await store.set_role(conn, user.id, role)
            if user.role != role:  # the operator's change: an entry without an actor
                await audit.record(
                    conn,
                    "user.role",
                    actor_id=None,
                    now=now_ms(),
                    target_user_id=user.id,
                    details={"role": role, "previous": user.role},
                )
        await self._publisher.control(RoleChanged(user_id=user.id, role=role))
        return User(user.id, user.username, user.display_name, role, user.region, user.dm_policy)

    async def login(self, username: str, password: str) -> tuple[User, str]:
        async with self._db.read() as conn:
            found = await store.get_credentials(conn, username.strip().lower())
        stored_hash = found[1] if found else _DUMMY_HASH
        if not await hashing.run(self._verify, stored_hash, password) or found is None:
            raise Unauthorized("wrong username or password")
        user = found[0]
        async with self._db.write() as conn:
            if await store.is_deactivated(conn, user.id):
                raise Unauthorized("this account is deactivated")
            if self._hasher.check_needs_rehash(stored_hash):
                new_hash = await hashing.run(self._hasher.hash, password)
                await store.set_password_hash(conn, user.id, new_hash)
            token = await self._issue_token(conn, user.id)
        return user, token

    async def authenticate(self, token: str) -> tuple[User, int]:
        """The user and token id behind a bearer token, or `unauthorized`."""
        if not token or len(token) > 256:
            raise Unauthorized("a valid token is required")
        async with self._db.read() as conn:
            found = await store.user_for_token(conn, hash_token(token), now_ms())
        if found is None:
            raise Unauthorized("the token is unknown, expired or revoked")
        return found

    async def logout(self, token_id: int) -> None:
        """Revoke the token and close the WebSockets opened with it, on every node."""
        async with self._db.write() as conn:
            await store.delete_token(conn, token_id)
        await self._publisher.control(RevokeToken(token_id=token_id))

    async def update_profile(self, user: User, changes: ProfileChanges) -> User:
        """Apply the fields given; one left out (UNSET) keeps its value."""
        values: dict[str, str | None] = {}
        if changes.display_name is not UNSET:
            values["display_name"] = text.validate_display_name(
                changes.display_name, fallback=user.username
            )
        if changes.region is not UNSET:
            values["region"] = text.validate_region(changes.region)
        if changes.dm_policy is not UNSET:
            values["dm_policy"] = changes.dm_policy
        async with self._db.write() as conn:
            await store.update_profile(conn, user.id, values)
            updated = await store.get_user(conn, user.id)
        assert updated is not None
        return updated

    async def get_user(self, user_id: int) -> User:
        async with self._db.read() as conn:
            user = await store.get_user(conn, user_id)
        if user is None:
            raise NotFound("no such user")
        return user

    async def search(self, query: str, limit: int) -> list[User]:
        query = query.strip().lstrip("@")[:32]
        if not query:
            return []
        async with self._db.read() as conn:
            return await store.search_users(conn, query, limit)

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(stored_hash, password))
        except (VerificationError, InvalidHashError):
            return False

    async def _issue_token(self, conn: AsyncConnection, user_id: int) -> str:
        token = secrets.token_urlsafe(32)
        now = now_ms()
        await store.add_token(conn, user_id, hash_token(token), now, now + self.token_ttl_ms)
        return token
