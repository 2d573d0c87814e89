"""Account lifecycle: password changes and resets, signing out everywhere, deactivation,
roles, deletion and export: so that nobody keeps a compromised or abusive account alive.

Every change that takes rights away is committed first and then announced on the
control channel, so the user's open WebSockets on every node close (4001) or act with
the new role at once, not at their next reconnect.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from chatserver.domain import text
from chatserver.domain.errors import BadRequest, Forbidden, NotFound, Unauthorized
from chatserver.domain.models import ROLES, Role, Room, User, now_ms
from chatserver.protocol import wire
from chatserver.protocol.envelope import MembershipChanged, RevokeUser, RoleChanged
from chatserver.protocol.events import MemberLeft
from chatserver.services import hashing
from chatserver.services.accounts import hash_token
from chatserver.services.publisher import Publisher
from chatserver.services.room_events import RoomEvents
from chatserver.store import accounts as store
from chatserver.store import audit
from chatserver.store import lifecycle as lifecycle_store
from chatserver.store import rooms as room_store
from chatserver.store.engine import Database
from chatserver.store.lifecycle import WrittenMessage

RESET_TTL_MS = 24 * 3_600_000
"""A password-reset link works once, within a day of being issued."""

EXPORT_PAGE = 500
"""Messages an export reads per transaction; the loop runs other work between pages."""


@dataclass(frozen=True, slots=True)
class Standing:
    """What the open connections of some users may still do: the roles of the active
    accounts among them and which of their tokens are still valid."""

    roles: dict[int, Role]
    tokens: set[int]


class AccountLifecycle:
    def __init__(self, db: Database, events: RoomEvents, publisher: Publisher) -> None:
        self._db = db
        self._events = events
        self._publisher = publisher
        self._hasher = PasswordHasher()

    # -- the account's owner ---------------------------------------------------------

    async def change_password(self, user: User, token_id: int, old: str, new: str) -> None:
        """Set a new password; every other session of the user ends, this one stays."""
        secret = text.validate_password(new)
        await self._check_password(user, old)
        new_hash = await hashing.run(self._hasher.hash, secret)
        async with self._db.write() as conn:
            await store.set_password_hash(conn, user.id, new_hash)
            await store.delete_tokens(conn, user.id, keep=token_id)
            await store.delete_password_resets(conn, user.id)
        await self._publisher.control(RevokeUser(user_id=user.id, keep_token_id=token_id))

    async def sign_out_everywhere(self, user: User) -> None:
        """Revoke every token of the user and close all their WebSockets."""
        async with self._db.write() as conn:
            await store.delete_tokens(conn, user.id)
        await self._publisher.control(RevokeUser(user_id=user.id))

    async def delete_account(self, user: User, password: str) -> None:
        """Delete the account: it leaves every room (members see `member.left`), its
        personal data goes, and its messages stay under an anonymous "deleted user"."""
        await self._check_password(user, password)
        async with self._events.write() as outbox:
            conn = outbox.conn
            gone = await store.anonymise(conn, user.id, now_ms())
            await lifecycle_store.erase_personal_data(conn, user.id)
            for room, _ in await room_store.user_rooms(conn, user.id):
                await room_store.remove_member(conn, room.id, user.id)
                seq = await outbox.next_seq(room.id)
                await outbox.log(MemberLeft(room=room.id, seq=seq, user=wire.user_out(gone)))
                outbox.control(
                    MembershipChanged(user_id=user.id, room_id=room.id, joined=False, seq=seq)
                )
            outbox.control(RevokeUser(user_id=user.id))

    async def written_messages(self, user: User) -> AsyncIterator[list[WrittenMessage]]:
        """Every message the user wrote, oldest first, a page per read transaction, so a
        prolific account's export never holds a connection or the loop for long."""
        after = 0
        while True:
            async with self._db.read() as conn:
                page = await lifecycle_store.messages_by_author(conn, user.id, after, EXPORT_PAGE)
            if not page:
                return
            yield page
            if len(page) < EXPORT_PAGE:
                return
            after = page[-1].id
            await asyncio.sleep(0)

    async def rooms_of(self, user: User) -> list[Room]:
        async with self._db.read() as conn:
            return [room for room, _ in await room_store.user_rooms(conn, user.id)]

    # -- reset links -----------------------------------------------------------------

    async def issue_reset(self, username: str) -> str:
        """For the CLI: a one-time reset token for the account (256 random bits; only
        its hash is stored), valid for a day."""
        async with self._db.write() as conn:
            user = await store.live_user_by_name(conn, username.strip().lower())
            if user is None:
                raise NotFound(f"no user named {username!r}")
            token = secrets.token_urlsafe(32)
            now = now_ms()
            await store.add_password_reset(
                conn, user.id, hash_token(token), now, now + RESET_TTL_MS
            )
        return token

    async def reset_password(self, token: str, new: str) -> None:
        """Use a reset link: set the password and end every session of the account."""
        secret = text.validate_password(new)
        if not token or len(token) > 256:
            raise Unauthorized("this reset link is unknown, used or expired")
        new_hash = await hashing.run(self._hasher.hash, secret)
        async with self._db.write() as conn:
            user_id = await store.take_password_reset(conn, hash_token(token), now_ms())
            if user_id is None:
                raise Unauthorized("this reset link is unknown, used or expired")
            await store.set_password_hash(conn, user_id, new_hash)
            await store.delete_tokens(conn, user_id)
        await self._publisher.control(RevokeUser(user_id=user_id))

    # -- administration --------------------------------------------------------------

    async def set_role(self, actor: User, user_id: int, role: Role) -> User:
        """An admin changes someone's role; their open connections use it at once."""
        _require_admin(actor)
        if role not in ROLES:
            raise BadRequest(f"role must be one of {', '.join(ROLES)}")
        async with self._db.write() as conn:
            target = await store.live_user(conn, user_id)
            if target is None:
                raise NotFound("no such user")
            await store.set_role(conn, user_id, role)
            if target.role != role:
                await audit.record(
                    conn,
                    "user.role",
                    actor_id=actor.id,
                    now=now_ms(),
                    target_user_id=user_id,
                    details={"role": role, "previous": target.role},
                )
        await self._publisher.control(RoleChanged(user_id=user_id, role=role))
        return User(
            target.id, target.username, target.display_name, role, target.region, target.dm_policy
        )

    async def deactivate(self, actor: User | None, user_id: int) -> User:
        """Refuse the account's tokens and logins and close its sockets now (`actor` is
        None for the operator's CLI)."""
        if actor is not None:
            _require_admin(actor)
            if actor.id == user_id:
                raise BadRequest("you cannot deactivate your own account")
        async with self._db.write() as conn:
            target = await store.live_user(conn, user_id)
            if target is None:
                raise NotFound("no such user")
            await store.set_deactivated(conn, user_id, now_ms())
            await store.delete_tokens(conn, user_id)
        await self._publisher.control(RevokeUser(user_id=user_id))
        return target

    async def reactivate(self, actor: User | None, user_id: int) -> User:
        """Let a deactivated account log in again (its old tokens stay revoked)."""
        if actor is not None:
            _require_admin(actor)
        async with self._db.write() as conn:
            target = await store.live_user(conn, user_id)
            if target is None:
                raise NotFound("no such user")
            await store.set_deactivated(conn, user_id, None)
        return target

    async def find(self, username: str) -> User:
        """For the CLI: an account by name (a deleted one is not found)."""
        async with self._db.read() as conn:
            user = await store.live_user_by_name(conn, username.strip().lower())
        if user is None:
            raise NotFound(f"no user named {username!r}")
        return user

    async def standing(self, user_ids: set[int], token_ids: set[int]) -> Standing:
        """Re-read what open connections may still do (for changes made by the CLI,
        which may not reach this node's control channel)."""
        async with self._db.read() as conn:
            roles = await store.standing(conn, user_ids, now_ms())
            tokens = await store.existing_tokens(conn, token_ids)
        return Standing(roles, tokens)

    # -- helpers ---------------------------------------------------------------------

    async def _check_password(self, user: User, password: str) -> None:
        async with self._db.read() as conn:
            stored = await store.password_hash_of(conn, user.id)
        if stored is None:
            raise Unauthorized("this account is deactivated")
        if not await hashing.run(self._verify, stored, password):
            raise Forbidden("the password is wrong")

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(stored_hash, password))
        except (VerificationError, InvalidHashError):
            return False


def _require_admin(actor: User) -> None:
    if actor.role != "admin":
        raise Forbidden("only admins may do this")
