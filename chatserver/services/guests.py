"""Guests for open days: accounts without a password that end, their upgrade to a
student, and the sweep that ends and later forgets them.

A guest is created by one cheap insert (no password, so no argon2), which is what lets
a school hall of visitors in at once. The account ends at its `expires_at`: its tokens
are refused from then on, and the re-check of open sockets closes them. After
CHAT_GUEST_RETENTION the sweep anonymises it like a deleted account: its messages stay,
under "Deleted user".
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass

from chatserver.domain import text
from chatserver.domain.errors import BadRequest, Forbidden, Unauthorized
from chatserver.domain.invites import Invite
from chatserver.domain.models import Room, User, now_ms
from chatserver.protocol import wire
from chatserver.protocol.envelope import MembershipChanged, RevokeUser, RoleChanged
from chatserver.protocol.events import MemberLeft
from chatserver.services.accounts import AccountService, hash_token
from chatserver.services.invites import InviteService
from chatserver.services.room_events import Outbox, RoomEvents
from chatserver.store import accounts as account_store
from chatserver.store import guests as store
from chatserver.store import lifecycle as lifecycle_store
from chatserver.store import rooms as room_store
from chatserver.store.engine import Database

log = logging.getLogger(__name__)

SWEEP_BATCH = 200
"""Ended guests one sweep round erases; the next round takes the rest."""


@dataclass(frozen=True, slots=True)
class GuestPolicy:
    """How long a guest lasts and how long their name is kept after that, in ms."""

    ttl_ms: int
    retention_ms: int


@dataclass(frozen=True, slots=True)
class Swept:
    """What one sweep did: tokens of ended guests removed, guests anonymised."""

    tokens: int
    erased: int


class GuestService:
    def __init__(
        self,
        db: Database,
        events: RoomEvents,
        accounts: AccountService,
        invites: InviteService,
        policy: GuestPolicy,
    ) -> None:
        self._db = db
        self._events = events
        self._accounts = accounts
        self._invites = invites
        self._policy = policy

    async def create(self, display_name: str, code: str | None) -> tuple[User, str, Room | None]:
        """A new guest and their token, in the invite's room when one is given.

        Under CHAT_REGISTRATION=invite a guest needs an invite too: a closed server stays
        closed to visitors. The invite's room must allow guests, whatever the invite's
        role; nothing is created otherwise.
        """
        if not display_name.strip():
            raise BadRequest("display_name is empty")
        shown = text.validate_display_name(display_name, fallback="")
        if code is None and self._accounts.invite_only:
            raise Forbidden("this server lets guests in by invite only")
        now = now_ms()
        ends = now + self._policy.ttl_ms

        async def enter(outbox: Outbox) -> tuple[User, str, Room | None]:
            conn = outbox.conn
            invite: Invite | None = None
            if code is not None:
                invite = await self._invites.guest_invite(conn, code)
            user = await store.create(
                conn,
                username=account_store.GUEST_PREFIX + secrets.token_hex(6),
                display_name=shown,
                now=now,
                expires_at_ms=ends,
            )
            token = secrets.token_urlsafe(32)
            await account_store.add_token(conn, user.id, hash_token(token), now, ends)
            room = await self._invites.enter(outbox, invite, user) if invite else None
            return user, token, room

        # A hall of visitors arrives at once: their inserts share commits (on SQLite).
        return await self._events.write_shared(enter)

    async def upgrade(
        self, user: User, username: str, password: str, code: str | None
    ) -> tuple[User, Room | None]:
        """The guest becomes a student: same id, rooms, messages and token (which now
        lasts as long as any login's). Under CHAT_REGISTRATION=invite it takes a valid
        student invite, whose room the student then joins."""
        if user.role != "guest":
            raise Forbidden("only a guest account is upgraded")
        if code is None and self._accounts.invite_only:
            raise Forbidden("this server registers new accounts by invite only")
        account = await self._accounts.prepare(username, password, user.display_name)
        now = now_ms()
        async with self._events.write() as outbox:
            conn = outbox.conn
            invite = await self._invites.upgrade_invite(conn, code) if code else None
            if not await store.upgrade(
                conn, user.id, username=account.username, password_hash=account.password_hash
            ):
                raise Unauthorized("this guest account has ended")
            await store.extend_tokens(conn, user.id, now + self._accounts.token_ttl_ms)
            upgraded = await account_store.get_user(conn, user.id)
            assert upgraded is not None
            room = await self._invites.enter(outbox, invite, upgraded) if invite else None
            outbox.control(RoleChanged(user_id=user.id, role="student"))
        return upgraded, room

    async def sweep(self) -> Swept:
        """Remove ended guests' tokens, then anonymise those ended more than the
        retention ago. Safe on every node at once: each guest is claimed by one."""
        now = now_ms()
        async with self._db.write() as conn:
            dropped = await store.drop_ended_tokens(conn, now)
        erased = 0
        async with self._db.read() as conn:
            due = await store.ended_before(conn, now - self._policy.retention_ms, SWEEP_BATCH)
        for user_id in due:
            erased += await self._erase(user_id, now)
        return Swept(dropped, erased)

    async def _erase(self, user_id: int, now: int) -> int:
        """Anonymise one ended guest as account deletion does (1), unless another node
        claimed them first (0)."""
        async with self._events.write() as outbox:
            conn = outbox.conn
            if not await store.claim_erasure(conn, user_id, now):
                return 0
            gone = await account_store.anonymise(conn, user_id, now)
            await lifecycle_store.erase_personal_data(conn, user_id)
            for room, _ in await room_store.user_rooms(conn, user_id):
                await room_store.remove_member(conn, room.id, user_id)
                seq = await outbox.next_seq(room.id)
                await outbox.log(MemberLeft(room=room.id, seq=seq, user=wire.user_out(gone)))
                outbox.control(
                    MembershipChanged(user_id=user_id, room_id=room.id, joined=False, seq=seq)
                )
            outbox.control(RevokeUser(user_id=user_id))
        return 1


async def sweep_periodically(guests: GuestService, every: float) -> None:
    """The guest sweep, every `every` seconds, on every node."""
    while True:
        await asyncio.sleep(every)
        try:
            done = await guests.sweep()
        except Exception as exc:  # the database may be restarting; the next round retries
            log.warning("guest sweep failed: %s", exc)
            continue
        if done.erased:
            log.info("guest sweep: %d ended guests anonymised", done.erased)
